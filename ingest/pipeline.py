"""File → attributed transcript → turns → chunks: everything ingest does before embedding."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.chunking import ChunkingConfig, chunk_turns
from ingest.models import Chunk, Transcript, Turn
from ingest.parse import parse_file, sidecar_path
from ingest.turns import group_turns

if TYPE_CHECKING:  # attribution's modules load on first use: parsing alone stays light
    from ingest.speakers.refine import ChatModel, RefineReport

# Bump when parsing, attribution or chunking changes what an unchanged file produces: forces a re-index.
PIPELINE_VERSION = "11"
# Appended to the version of an episode whose speaker LLM pass stopped on an endpoint failure: that version never
# equals a freshly computed one, so the next ingest of the unchanged file tries the pass again.
PARTIAL = "-partial"


@dataclass
class PreparedEpisode:
    transcript: Transcript
    turns: list[Turn]
    chunks: list[Chunk]
    version: str
    refine: RefineReport | None = None  # what the optional speaker LLM pass did


def corrections_path(path: Path) -> Path:
    """Human speaker corrections that travel beside a transcript: `<file>.corrections.tsv`."""
    return path.with_name(path.name + ".corrections.tsv")


def sidecars(path: Path) -> list[Path]:
    """Files whose content changes what `path` ingests to."""
    return [sidecar_path(path), corrections_path(path)]


def content_version(path: Path, source_url: str | None = None, salt: str = "") -> str:
    """A short hash of everything that determines the episode's index content."""
    digest = hashlib.sha256(PIPELINE_VERSION.encode() + salt.encode())
    for part in [path, *sidecars(path)]:
        if part.is_file():
            digest.update(part.name.encode() + b"\0" + part.read_bytes())
    digest.update((source_url or "").encode())
    return digest.hexdigest()[:16]


def attribute_speakers(transcript: Transcript, path: Path, chat: ChatModel | None = None) -> RefineReport | None:
    """Infer speakers where the file has no labels (in place); with `chat`, let an LLM relabel the unsure
    stretches (`speakers.refine`); then apply the human corrections sidecar, which overrides both.
    Returns what the LLM pass did, or None without one."""
    from ingest.speakers import attribute

    attribute(transcript)
    report = None
    if chat is not None and not transcript.labelled:
        from ingest.speakers.refine import refine_speakers

        report = refine_speakers(transcript, chat)
    side = corrections_path(path)
    if side.is_file():
        from ingest.speakers.corrections import apply, load

        apply(transcript, load(side))
    return report


def prepare(
    path: Path,
    format: str | None = None,
    source_url: str | None = None,
    chunking: ChunkingConfig | None = None,
    salt: str = "",
    speaker_llm: ChatModel | None = None,
) -> PreparedEpisode:
    """Parse, attribute (with the optional speaker LLM pass), group and chunk one file. Raises TranscriptError
    on bad input. `salt` must name everything else that shapes the output (embedder, chunking, the LLM)."""
    version = content_version(path, source_url, salt)
    transcript = parse_file(path, format=format, source_url=source_url)
    report = attribute_speakers(transcript, path, speaker_llm)
    if report is not None and report.failure:
        version += PARTIAL
    turns = group_turns(transcript.lines)
    chunks = chunk_turns(transcript.meta, turns, version, chunking)
    return PreparedEpisode(transcript=transcript, turns=turns, chunks=chunks, version=version, refine=report)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to ingest: directories expand to their transcript files; sidecars and hidden files are skipped."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            names = {f.name for f in found}
            files.extend(f for f in found if not _is_sidecar(f.name, names))
        else:
            files.append(p)
    return files


def _is_sidecar(name: str, names: set[str]) -> bool:
    """`x.txt.json` and `x.txt.corrections.tsv` belong to `x.txt`."""
    return any(name != other and name.startswith(other + ".") for other in names)

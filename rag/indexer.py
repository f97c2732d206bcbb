"""Ingest files into the index: prepare, embed, swap in atomically; unchanged files are a no-op."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.chunking import ChunkingConfig
from ingest.errors import TranscriptError
from ingest.pipeline import PIPELINE_VERSION, content_version, expand_paths, prepare
from rag.embedders import Embedder
from rag.store import EpisodeRecord, VectorStore
from rag.types import IngestResult

if TYPE_CHECKING:
    from ingest.speakers.refine import ChatModel

Progress = Callable[[int, int, str], None]


def embedding_text(text: str, context: str) -> str:
    """What we embed for a chunk: the speaker's words, preceded by the host's question when there is one,
    so that a question naming only the topic of the host's question still finds the answer."""
    return f"{context}\n{text}" if context else text


class Indexer:
    """Puts transcripts into a VectorStore with one embedder."""

    def __init__(self, store: VectorStore, embedder: Embedder, chunking: ChunkingConfig | None = None,
                 speaker_llm: ChatModel | None = None, speaker_llm_name: str = "") -> None:
        """`speaker_llm`: the optional LLM that relabels unsure speaker stretches; `speaker_llm_name` (its model)
        enters every episode's version, so turning the pass on, off or to another model re-attributes."""
        self.store = store
        self.embedder = embedder
        self.chunking = chunking or ChunkingConfig()
        self.speaker_llm = speaker_llm
        self.salt = f"{embedder.name}|{self.chunking}" + (f"|speakers-llm:{speaker_llm_name}" if speaker_llm else "")

    def ingest(
        self,
        paths: list[Path],
        progress: Progress | None = None,
        source_url: str | None = None,
        format: str | None = None,
    ) -> list[IngestResult]:
        """Ingest every file under `paths`. A bad file is reported as `failed` and changes nothing."""
        files = expand_paths(paths)
        self.store.sweep()  # finish what an interrupted ingest left
        results = []
        for i, path in enumerate(files):
            if progress:
                progress(i, len(files), path.name)
            results.append(self._ingest_one(path, source_url, format))
        if progress:
            progress(len(files), len(files), "done")
        return results

    def _ingest_one(self, path: Path, source_url: str | None, format: str | None) -> IngestResult:
        try:
            version = content_version(path, source_url, self.salt) if path.is_file() else ""
            known = {rec.version: rec for rec in self.store.catalog().values()}
            if version in known:
                rec = known[version]
                return IngestResult(path=str(path), episode_id=rec.episode_id, status="unchanged",
                                    turns=0, chunks=0)
            prepared = prepare(path, format=format, source_url=source_url, chunking=self.chunking, salt=self.salt,
                               speaker_llm=self.speaker_llm)
        except TranscriptError as exc:
            return IngestResult(path=str(path), episode_id="", status="failed", error=str(exc))
        texts = [embedding_text(c.text, c.context) for c in prepared.chunks]
        vectors = self.embedder.embed_passages(texts)
        episode_id = prepared.transcript.meta.episode_id
        existed = episode_id in self.store.catalog()
        turns_by_speaker: dict[str, int] = {}
        for turn in prepared.turns:
            turns_by_speaker[turn.speaker] = turns_by_speaker.get(turn.speaker, 0) + 1
        record = EpisodeRecord(version=prepared.version, meta=prepared.transcript.meta,
                               labelled=prepared.transcript.labelled, lines=len(prepared.transcript.lines),
                               speaker_turns=turns_by_speaker, pipeline=PIPELINE_VERSION)
        self.store.replace_episode(record, prepared.transcript, prepared.chunks, vectors)
        return IngestResult(path=str(path), episode_id=episode_id, status="replaced" if existed else "added",
                            turns=len(prepared.turns), chunks=len(prepared.chunks),
                            notice=prepared.refine.summary() if prepared.refine else None)

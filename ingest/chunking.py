"""Speaker turns → chunks to embed: one per turn, long turns cut at sentence ends, interjections dropped."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.models import Chunk, EpisodeMeta, SpeechLine, Turn

SENTENCE_END = re.compile(r"[.?!…»]\s*$")


@dataclass(frozen=True)
class ChunkingConfig:
    max_chars: int = 900
    # A turn shorter than this ("Bonjour.", "Oui, tout à fait.") carries no retrievable content.
    min_chars: int = 40
    # How much of the host's preceding question to keep as context.
    context_chars: int = 400


def chunk_turns(meta: EpisodeMeta, turns: list[Turn], version: str, config: ChunkingConfig | None = None) -> list[Chunk]:
    """Cut turns into chunks. Each guest chunk carries the host's question just before it as `context`."""
    config = config or ChunkingConfig()
    host = meta.host.name if meta.host else None
    chunks: list[Chunk] = []
    for index, turn in enumerate(turns):
        if len(turn.text) < config.min_chars:
            continue
        context = _question_before(turns, index, host, config.context_chars)
        for piece in _split(turn.lines, config.max_chars):
            text = " ".join(line.text for line in piece)
            end = piece[-1].end if piece[-1].end is not None else piece[-1].start
            chunks.append(
                Chunk(
                    chunk_id=f"{meta.episode_id}@{version}:{piece[0].line}",
                    episode_id=meta.episode_id,
                    speaker=turn.speaker,
                    start=piece[0].start,
                    end=end,
                    first_line=piece[0].line,
                    last_line=piece[-1].line,
                    text=text,
                    context=context,
                    confidence=min(line.confidence for line in piece),
                    turn_index=index,
                    line_map=_line_map(piece),
                )
            )
    return chunks


def _question_before(turns: list[Turn], index: int, host: str | None, limit: int) -> str:
    """The host's words just before a guest's turn (skipping a one-word interjection), else ''."""
    if host is None or turns[index].speaker == host:
        return ""
    for back in (index - 1, index - 2):
        if back < 0:
            return ""
        prev = turns[back]
        if prev.speaker == host:
            return prev.text[-limit:]
        if len(prev.text) >= 40:
            return ""
    return ""


def _split(lines: list[SpeechLine], max_chars: int) -> list[list[SpeechLine]]:
    """Pack lines into pieces under `max_chars`, preferring to break after a sentence end."""
    pieces: list[list[SpeechLine]] = []
    current: list[SpeechLine] = []
    size = 0
    for line in lines:
        if current and size + len(line.text) > max_chars:
            cut = _last_sentence_end(current)
            pieces.append(current[:cut])
            current = current[cut:]
            size = sum(len(x.text) + 1 for x in current)
        current.append(line)
        size += len(line.text) + 1
    if current:
        pieces.append(current)
    return pieces


def _last_sentence_end(lines: list[SpeechLine]) -> int:
    """Index just after the last line ending a sentence in the second half of `lines`, else all of them."""
    for i in range(len(lines) - 1, len(lines) // 2 - 1, -1):
        if SENTENCE_END.search(lines[i].text):
            return i + 1
    return len(lines)


def _line_map(lines: list[SpeechLine]) -> list[tuple[int, float, int, float]]:
    """(line number, start seconds, char offset in the chunk text, attribution confidence) per line."""
    rows, offset = [], 0
    for line in lines:
        rows.append((line.line, line.start, offset, round(line.confidence, 3)))
        offset += len(line.text) + 1
    return rows

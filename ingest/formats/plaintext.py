"""Plain text with a timestamp on every line: `[00:06:54] Julien Pillot: ...` or `00:06:54 Julien Pillot: ...`.

`Julien Pillot: ...` without timestamps is recognised only to be refused clearly: citations need seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.errors import TranscriptError
from ingest.formats.episode import episode_meta, metadata_line
from ingest.formats.labels import NAME as LABEL
from ingest.formats.labels import Piece, resolve, strip_tags, text_pieces
from ingest.formats.timecode import TIMECODE, to_seconds
from ingest.models import SpeechLine, Transcript

NAME = "plaintext"

# '[00:06:54]', '(06:54)' or a bare '00:06:54' followed by a space; then an optional '-' or '|'.
TIMED = re.compile(
    rf"^(?:\[(?P<bracket>{TIMECODE})\]|\((?P<paren>{TIMECODE})\)|(?P<bare>{TIMECODE})(?=\s))\s*(?:[-–—|]\s+)?(?P<rest>.*)$"
)
_UNTIMED_LABEL = re.compile(rf"^{LABEL}\s*:\s+\S")


def looks_like(text: str) -> bool:
    """Most lines timed and some labelled (or bracketed); or most lines `Name: text`, to be refused in parse."""
    lines = [ln.strip() for ln in text.split("\n")[:300] if ln.strip()][:200]
    if not lines:
        return False
    timed = [m for m in (TIMED.match(ln) for ln in lines) if m]
    if len(timed) >= max(2, len(lines) // 2):
        bracketed = sum(1 for m in timed if not m.group("bare"))
        named = sum(1 for m in timed if _UNTIMED_LABEL.match(m.group("rest")))
        return named >= 1 or bracketed >= len(timed) // 2
    untimed = sum(1 for ln in lines if _UNTIMED_LABEL.match(ln))
    return untimed >= max(2, len(lines) // 2)


def parse(text: str, path: Path) -> Transcript:
    """Every speech line carries its own timestamp; header lines like 'Title: ...' may precede them."""
    fields: dict[str, str] = {}
    pieces: list[Piece] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        m = TIMED.match(line)
        if not m:
            kv = metadata_line(line) if not pieces else None
            if kv:
                fields.setdefault(*kv)
                continue
            raise TranscriptError(
                path, "line has no timestamp: plain-text transcripts need one on every line, "
                      "like '[00:06:54] Julien Pillot: ...' (we cite speech by the second)", number)
        start = to_seconds(m.group("bracket") or m.group("paren") or m.group("bare"))
        pieces.extend(text_pieces([(number, strip_tags(m.group("rest")))], start, None))
    resolved, labelled = resolve(pieces)
    lines = [SpeechLine(line=p.line, start=p.start, text=p.text, speaker=label, label=label)
             for p, label in resolved if p.text]
    for prev, cur in zip(lines, lines[1:], strict=False):
        prev.end = cur.start
    meta = episode_meta(path, fields, (label for _, label in resolved), NAME)
    return Transcript(meta=meta, lines=lines, labelled=labelled)

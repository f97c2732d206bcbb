"""SubRip (.srt) subtitles: index line, `hh:mm:ss,mmm --> hh:mm:ss,mmm`, text; speakers as `NAME:` prefixes."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.errors import TranscriptError
from ingest.formats.episode import episode_meta
from ingest.formats.labels import Piece, blocks, resolve, strip_tags, text_pieces
from ingest.formats.timecode import TIMECODE, to_seconds
from ingest.models import SpeechLine, Transcript

NAME = "srt"

# Some writers add display coordinates after the end time ('X1:100 X2:600 Y1:50 Y2:80').
TIMING = re.compile(rf"^(?P<start>{TIMECODE})[ \t]*-->[ \t]*(?P<end>{TIMECODE})(?:[ \t]+.*)?$")
_CUE_START = re.compile(rf"^[ \t]*{TIMECODE}[ \t]*-->", re.MULTILINE)
_INDEX = re.compile(r"^\d+$")


def looks_like(text: str) -> bool:
    """Cue timing lines near the top, and no WEBVTT signature (that format is tried first)."""
    head = text[:5000]
    return not head.lstrip("\ufeff\n").startswith("WEBVTT") and len(_CUE_START.findall(head)) >= 1


def parse(text: str, path: Path) -> Transcript:
    """Cues → speech lines, one per speaker within a cue, at the physical line where its text starts."""
    pieces: list[Piece] = []
    for block in ([(n, line.strip()) for n, line in cue] for cue in blocks(text)):
        pieces.extend(_cue(block, path))
    resolved, labelled = resolve(pieces)
    lines = [SpeechLine(line=p.line, start=p.start, end=p.end, text=p.text, speaker=label, label=label)
             for p, label in resolved if p.text]
    meta = episode_meta(path, {}, (label for _, label in resolved), NAME)
    return Transcript(meta=meta, lines=lines, labelled=labelled)


def _cue(block: list[tuple[int, str]], path: Path) -> list[Piece]:
    if "-->" in block[0][1]:
        at = 0
    elif len(block) > 1 and "-->" in block[1][1]:
        if not _INDEX.match(block[0][1]):
            raise TranscriptError(path, f"expected a cue number before the timing line, got {block[0][1]!r}",
                                  block[0][0])
        at = 1
    else:
        blame = block[1] if len(block) > 1 and _INDEX.match(block[0][1]) else block[0]
        raise TranscriptError(
            path, f"expected a cue timing line like '00:06:36,000 --> 00:06:39,000', got {blame[1]!r}", blame[0])
    number, timing = block[at]
    m = TIMING.match(timing)
    if not m:
        raise TranscriptError(path, f"malformed cue timing line {timing!r} (expected 'hh:mm:ss,mmm --> hh:mm:ss,mmm')",
                              number)
    start, end = to_seconds(m.group("start")), to_seconds(m.group("end"))
    if end < start:
        raise TranscriptError(path, f"cue ends ({m.group('end')}) before it starts ({m.group('start')})", number)
    return text_pieces([(n, strip_tags(line)) for n, line in block[at + 1:]], start, end)

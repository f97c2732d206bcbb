"""WebVTT subtitles, with or without `<v Name>` voice tags; NOTE lines and header lines may carry metadata."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.errors import TranscriptError
from ingest.formats.episode import episode_meta, metadata_line
from ingest.formats.labels import Piece, resolve, strip_tags, text_pieces
from ingest.formats.labels import blocks as cue_blocks
from ingest.formats.timecode import TIMECODE, to_seconds
from ingest.models import SpeechLine, Transcript

NAME = "webvtt"

_SIGNATURE = re.compile(r"^\ufeff?WEBVTT(?:[ \t].*)?$")
# Cue settings ('align:start position:10%') may follow the end time.
TIMING = re.compile(rf"^(?P<start>{TIMECODE})[ \t]+-->[ \t]+(?P<end>{TIMECODE})(?:[ \t]+.*)?$")
# `<v Name>`, `<v.loud Name>`, `<v>` and the closing `</v>`.
_VOICE = re.compile(r"<v(?:\.[^\s>]*)*(?:[ \t]+(?P<name>[^>]*))?>|</v\s*>")
_SKIPPED_BLOCKS = ("STYLE", "REGION")

Numbered = tuple[int, str]


def looks_like(text: str) -> bool:
    """A WebVTT file announces itself on its first line."""
    first = text.lstrip("\n").split("\n", 1)[0].rstrip()
    return bool(_SIGNATURE.match(first))


def parse(text: str, path: Path) -> Transcript:
    """Cues → speech lines at the physical line where each voice's text starts."""
    blocks = cue_blocks(text)
    if not blocks or not _SIGNATURE.match(blocks[0][0][1].rstrip()):
        first = blocks[0][0][0] if blocks else 1
        raise TranscriptError(path, "not a WebVTT file: the first line must be 'WEBVTT'", first)
    timed = [i for i, (_, line) in enumerate(blocks[0]) if "-->" in line]
    if timed:
        # No blank line after the header: the first cue (and its id line, if any) starts inside it.
        cut = timed[0] - 1 if timed[0] >= 2 else timed[0]
        blocks[1:1] = [blocks[0][cut:]]
        blocks[0] = blocks[0][:cut]
    fields: dict[str, str] = {}
    for _, line in blocks[0][1:]:
        _note_field(line, fields)
    pieces: list[Piece] = []
    for block in blocks[1:]:
        head = block[0][1].strip()
        if head == "NOTE" or head.startswith(("NOTE ", "NOTE\t")):
            for _, line in [(block[0][0], head[4:])] + block[1:]:
                _note_field(line, fields)
            continue
        if head in _SKIPPED_BLOCKS:
            continue
        pieces.extend(_cue(block, path))
    resolved, labelled = resolve(pieces)
    lines = [SpeechLine(line=p.line, start=p.start, end=p.end, text=p.text, speaker=label, label=label)
             for p, label in resolved if p.text]
    meta = episode_meta(path, fields, (label for _, label in resolved), NAME)
    return Transcript(meta=meta, lines=lines, labelled=labelled)


def _note_field(line: str, fields: dict[str, str]) -> None:
    kv = metadata_line(line)
    if kv and kv[0] not in fields:
        fields[kv[0]] = kv[1]


def _cue(block: list[Numbered], path: Path) -> list[Piece]:
    """One cue block: optional id line, timing line, payload."""
    if "-->" in block[0][1]:
        at = 0
    elif len(block) > 1 and "-->" in block[1][1]:
        at = 1  # the first line is the cue id
    else:
        raise TranscriptError(
            path, f"expected a cue timing line like '00:06:36.000 --> 00:06:39.000', got {block[0][1].strip()!r}",
            block[0][0])
    number, timing = block[at]
    m = TIMING.match(timing.strip())
    if not m:
        raise TranscriptError(path, f"malformed cue timing line {timing.strip()!r} "
                                    "(expected 'hh:mm:ss.mmm --> hh:mm:ss.mmm')", number)
    start, end = to_seconds(m.group("start")), to_seconds(m.group("end"))
    if end < start:
        raise TranscriptError(path, f"cue ends ({m.group('end')}) before it starts ({m.group('start')})", number)
    payload = block[at + 1:]
    if not any(_VOICE.search(line) for _, line in payload):
        return text_pieces([(n, strip_tags(line)) for n, line in payload], start, end)
    return _voiced(payload, start, end)


def _voiced(payload: list[Numbered], start: float, end: float) -> list[Piece]:
    """Cut a cue at each voice tag; a voice lasts until the next tag or the end of the cue."""
    pieces: list[Piece] = []
    voice: str | None = None
    current: Piece | None = None
    for number, line in payload:
        pos = 0
        for m in [*_VOICE.finditer(line), None]:
            chunk = strip_tags(line[pos:m.start() if m else len(line)])
            if chunk:
                if current is None:
                    current = Piece(line=number, start=start, end=end, text=chunk, voice=voice)
                    pieces.append(current)
                else:
                    current.text += " " + chunk
            if m:
                name = (m.group("name") or "").strip()
                voice = None if m.group(0).startswith("</") else (name or None)
                current = None
                pos = m.end()
    return pieces

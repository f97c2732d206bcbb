"""Transcript formats: each module has `NAME`, `looks_like(text) -> bool` and `parse(text, path) -> Transcript`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ingest.errors import TranscriptError
from ingest.formats import plaintext, showpage, srt, webvtt, whisperx
from ingest.models import Transcript


class Format(Protocol):
    NAME: str

    def looks_like(self, text: str) -> bool: ...

    def parse(self, text: str, path: Path) -> Transcript: ...


# Order matters: the most specific signatures are tried first, the show page last.
# WebVTT announces itself; JSON is unmistakable; SRT has `-->` cue timings; plain text needs labels or
# brackets after its timestamps, which the show page (timestamps glued to text) never has.
FORMATS: dict[str, Format] = {  # type: ignore[dict-item]
    webvtt.NAME: webvtt,
    whisperx.NAME: whisperx,
    srt.NAME: srt,
    plaintext.NAME: plaintext,
    showpage.NAME: showpage,
}


def detect(text: str, path: Path) -> str:
    """The name of the format `text` is written in, or a TranscriptError."""
    for name, fmt in FORMATS.items():
        if fmt.looks_like(text):
            return name
    # Say "no timestamps" only when that is true: a two-line show page has them but is too short to detect.
    stamped = re.search(r"\d{1,2}:\d{2}", text)
    why = "no supported layout recognised" if stamped else "no timestamps found"
    raise TranscriptError(path, f"unrecognised transcript format ({why}); pass --format to force one", 1)


def parser_for(name: str, path: Path) -> Callable[[str, Path], Transcript]:
    if name not in FORMATS:
        raise TranscriptError(path, f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return FORMATS[name].parse

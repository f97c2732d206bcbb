"""Transcript formats: each module has `NAME`, `looks_like(text) -> bool` and `parse(text, path) -> Transcript`."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Protocol

from ingest.errors import TranscriptError
from ingest.formats import showpage
from ingest.models import Transcript


class Format(Protocol):
    NAME: str

    def looks_like(self, text: str) -> bool: ...

    def parse(self, text: str, path: Path) -> Transcript: ...


# Order matters: the most specific signatures are tried first, the show page last.
FORMATS: dict[str, Format] = {showpage.NAME: showpage}  # type: ignore[dict-item]


def detect(text: str, path: Path) -> str:
    """The name of the format `text` is written in, or a TranscriptError."""
    for name, fmt in FORMATS.items():
        if fmt.looks_like(text):
            return name
    raise TranscriptError(path, "unrecognised transcript format (no timestamps found); pass --format to force one", 1)


def parser_for(name: str, path: Path) -> Callable[[str, Path], Transcript]:
    if name not in FORMATS:
        raise TranscriptError(path, f"unknown format {name!r}; known: {', '.join(FORMATS)}")
    return FORMATS[name].parse

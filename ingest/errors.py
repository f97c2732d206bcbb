"""Errors that name the file and line a person must look at."""

from __future__ import annotations

from pathlib import Path


class TranscriptError(ValueError):
    """Bad input: says which file, which line (when one is to blame) and what is wrong."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")

"""Reading a transcript file safely: size, binary content and encoding are checked before any parsing."""

from __future__ import annotations

from pathlib import Path

from ingest.errors import TranscriptError

# A 30-minute show is ~40 KB of subtitles; 20 MB is hundreds of hours: anything larger is not a transcript.
MAX_BYTES = 20 * 1024 * 1024


def read_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, decoded as UTF-8 (BOM allowed), or a TranscriptError naming file and line."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TranscriptError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise TranscriptError(path, f"file is too large ({size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB)")
    data = path.read_bytes()
    if not data.strip():
        raise TranscriptError(path, "file is empty")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise TranscriptError(path, "binary content (NUL byte): not a text transcript", line)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise TranscriptError(
            path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8", line
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")

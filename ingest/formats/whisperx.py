"""WhisperX JSON (`{"segments": [{start, end, text, speaker, words}]}`) and pyannote-style segment lists.

Speech lines point at the physical line of each segment's `"text"` key, so the JSON is decoded with a
scanner that remembers where every object starts and ends.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from pathlib import Path
from typing import Any

from ingest.errors import TranscriptError
from ingest.formats.episode import KEYS, episode_meta
from ingest.formats.labels import clean_label
from ingest.formats.timecode import to_seconds
from ingest.models import SpeechLine, Transcript

NAME = "whisperx"

_REQUIRED = ("start", "end", "text")
# The pure-Python decoder pieces are public but untyped in typeshed.
_pyjson: Any = json.decoder
_pyscanner: Any = json.scanner
_OPENING = re.compile(r"^\s*[\[{]")
_COLON = re.compile(r"\s*:")
_KEYS = re.compile(r'"(?:segments|start)"\s*:')


class _Located(dict[str, Any]):
    """A decoded JSON object that knows its span [start, end) in the source text."""

    start: int = 0
    end: int = 0


def looks_like(text: str) -> bool:
    """A JSON document whose first few KB mention segments or segment timings."""
    head = text[:20000]
    return bool(_OPENING.match(head) and _KEYS.search(head))


def parse(text: str, path: Path) -> Transcript:
    """Segments → speech lines; `speaker` labels (SPEAKER_00 or names) are kept as given."""
    data = _decode(text, path)
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect.bisect_left(newlines, pos) + 1

    fields: dict[str, str] = {}
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        segments: list[Any] = data["segments"]
        for key, value in data.items():
            if key in KEYS and isinstance(value, str | int | float) and not isinstance(value, bool):
                fields.setdefault(KEYS[key], str(value))
    elif isinstance(data, list):
        segments = data
    else:
        raise TranscriptError(path, 'expected {"segments": [...]} or a list of segments '
                                    '({"speaker", "start", "end", "text"})', 1)
    lines: list[SpeechLine] = []
    for index, segment in enumerate(segments, start=1):
        if not isinstance(segment, _Located):
            raise TranscriptError(path, f"segment {index} is not an object: {segment!r:.60}")
        lines.extend(_segment(segment, index, text, line_of, path))
    labelled = any(line.label for line in lines)
    meta = episode_meta(path, fields, (line.label for line in lines), NAME)
    return Transcript(meta=meta, lines=lines, labelled=labelled)


def _decode(text: str, path: Path) -> Any:
    """json.loads, but every object comes back as a `_Located` dict."""

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
        obj, end = _pyjson.JSONObject(s_and_end, *args)
        located = _Located(obj)
        located.start, located.end = s_and_end[1] - 1, end
        return located, end

    decoder: Any = json.JSONDecoder()
    decoder.parse_object = parse_object
    decoder.scan_once = _pyscanner.py_make_scanner(decoder)
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(path, f"malformed JSON: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    except RecursionError as exc:
        raise TranscriptError(path, "malformed JSON: nested too deeply") from exc


def _segment(seg: _Located, index: int, text: str, line_of: Any, path: Path) -> list[SpeechLine]:
    at = line_of(_key_position(text, seg.start, seg.end, "text"))
    missing = [k for k in _REQUIRED if k not in seg]
    if missing:
        keys = ", ".join(repr(k) for k in missing)
        raise TranscriptError(path, f"segment {index} has no {keys} (each segment needs start, end and text)", at)
    start, end = _seconds(seg["start"], "start", index, at, path), _seconds(seg["end"], "end", index, at, path)
    if end < start:
        raise TranscriptError(path, f"segment {index} ends ({end}) before it starts ({start})", at)
    if not isinstance(seg["text"], str):
        raise TranscriptError(path, f"segment {index}: 'text' must be a string, got {seg['text']!r:.40}", at)
    words = " ".join(seg["text"].split())
    if not words:
        return []
    raw = seg.get("speaker")
    label = clean_label(str(raw)) if isinstance(raw, str | int) and str(raw).strip() else None
    return [SpeechLine(line=at, start=start, end=end, text=words, speaker=label, label=label)]


def _seconds(value: Any, key: str, index: int, line: int, path: Path) -> float:
    """Seconds as a number, or a numeric / timecode string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return to_seconds(value)
            except ValueError:
                pass
    raise TranscriptError(path, f"segment {index}: {key!r} must be a number of seconds, got {value!r:.40}", line)


def _key_position(text: str, start: int, end: int, key: str) -> int:
    """Where `"key"` sits directly inside the object spanning text[start:end]; the object's start if absent."""
    depth, i = 0, start + 1
    while i < end:
        c = text[i]
        if c == '"':
            value, after = _pyjson.scanstring(text, i + 1)
            if depth == 0 and value == key and _COLON.match(text, after):
                return i
            i = after
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        i += 1
    return start

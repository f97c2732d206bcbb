"""Timestamps as the formats write them."""

from __future__ import annotations

import re

# MM:SS or H:MM:SS, optionally with a fraction (",123" in SRT, ".123" in WebVTT).
TIMECODE = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_PARTS = re.compile(r"^(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?$")


def to_seconds(code: str) -> float:
    """'1:02:03' -> 3723.0, '06:54' -> 414.0, '00:01:02,500' -> 62.5."""
    m = _PARTS.match(code.strip())
    if not m:
        raise ValueError(f"not a timestamp: {code!r}")
    hours, minutes, seconds, frac = m.groups()
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if frac:
        value += int(frac) / 10 ** len(frac)
    return float(value)


def format_seconds(seconds: float) -> str:
    """414 -> '06:54', 3723 -> '1:02:03'."""
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"

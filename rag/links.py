"""Links that open a cited segment at the right second."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from ingest.models import EpisodeMeta


def segment_url(meta: EpisodeMeta, start: float, first_line: int, public_url: str) -> str:
    """The episode video at `start` seconds when its source is known, else our transcript viewer at that line."""
    seconds = int(start)
    if meta.source_url:
        url = urlparse(meta.source_url)
        host = (url.hostname or "").lower()
        if "youtube.com" in host or "youtu.be" in host:
            return _with_param(meta.source_url, "t", f"{seconds}s")
        # Dailymotion and most players take ?start=SECONDS.
        return _with_param(meta.source_url, "start", str(seconds))
    return f"{public_url.rstrip('/')}/episode/{meta.episode_id}#L{first_line}"


def _with_param(url: str, key: str, value: str) -> str:
    """`url` with query parameter `key` set to `value` (replacing any previous one)."""
    parts = urlparse(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != key] + [(key, value)]
    return urlunparse(parts._replace(query=urlencode(query)))

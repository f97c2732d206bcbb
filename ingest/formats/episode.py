"""Episode metadata for the labelled formats: what the file says about itself, else its name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from ingest.models import EpisodeMeta, Person
from ingest.names import slug

# Metadata keys a file may carry (WebVTT header or NOTE lines, JSON top-level keys, plain-text header lines).
KEYS = {
    "title": "title", "date": "date", "show": "show", "episode_id": "episode_id", "episode": "episode_id",
    "id": "episode_id", "source_url": "source_url", "url": "source_url", "language": "language", "lang": "language",
}
_KEY_VALUE = re.compile(r"^\s*(?P<key>[A-Za-z_ ]{2,20}?)\s*[:=]\s*(?P<value>\S.*?)\s*$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def metadata_line(line: str) -> tuple[str, str] | None:
    """'Title: SMART TECH' -> ('title', 'SMART TECH') when the key is one we know, else None."""
    m = _KEY_VALUE.match(line)
    if not m:
        return None
    key = KEYS.get(m.group("key").strip().lower().replace(" ", "_").replace("-", "_"))
    return (key, m.group("value")) if key else None


def parse_date(value: str) -> date | None:
    """'2025-12-11' or '11/12/2025' (day first, as French pages write it); None when neither."""
    value = value.strip()
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        pass
    m = _DMY.match(value)
    if m:
        try:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            return None
    return None


def episode_meta(path: Path, fields: Mapping[str, str], labels: Iterable[str | None], format_name: str) -> EpisodeMeta:
    """Metadata from the file's own fields; the episode id is the slug of the file stem when they give none.

    Without a known roster, the distinct labels (in order of first appearance) stand in for the guests.
    """
    day = parse_date(fields["date"]) if fields.get("date") else None
    show = fields.get("show", "").strip()
    if fields.get("episode_id"):
        episode_id = slug(fields["episode_id"])
    elif show and day:
        episode_id = f"{slug(show)}-{day.isoformat()}"
    else:
        episode_id = slug(path.stem)
    title = fields.get("title") or (f"{show} — {day.isoformat()}" if show and day else path.stem)
    guests: list[Person] = []
    for label in labels:
        if label and all(g.name != label for g in guests):
            guests.append(Person(name=label))
    meta = EpisodeMeta(episode_id=episode_id or "episode", title=title, show=show, date=day, guests=guests,
                       source_file=str(path), format=format_name, source_url=fields.get("source_url") or None)
    if fields.get("language"):
        meta.language = fields["language"].strip().lower()[:2]
    return meta

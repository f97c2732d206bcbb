"""The show's video page, copied as text: a date line, a description naming host and guests,
then `MM:SS` glued to each subtitle line, then page noise. No speaker labels."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from ingest.errors import TranscriptError
from ingest.formats.timecode import to_seconds
from ingest.models import EpisodeMeta, Person, SpeechLine, Transcript
from ingest.names import slug

NAME = "showpage"

LINE = re.compile(r"^((?:\d{1,2}:)?\d{1,2}:\d{2})(.*)$")
ABSOLUTE_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
RELATIVE_DATE = re.compile(r"\bil y a\s+\d+\s+\w+", re.IGNORECASE)
MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12,
}
SPOKEN_DATE = re.compile(r"\b(\d{1,2})(?:er)?\s+(" + "|".join(MONTHS) + r")\s+(\d{4})\b", re.IGNORECASE)
DESCRIPTION = re.compile(r"retrouvez\s+(?P<guests>.+?)\s+dans\s+(?P<show>.+?),\s+une émission présentée par\s+(?P<host>[^.,]+)")
# Page furniture after the last subtitle: a heading, the comment box.
FOOTER = re.compile(r"^(Recommandations|Écris le tout premier commentaire|Ecris le tout premier commentaire|Commentaires?)\b")


def looks_like(text: str) -> bool:
    """True when most non-empty lines are `MM:SS` glued to text, with no `-->` cue timings."""
    lines = [ln for ln in text.split("\n")[:200] if ln.strip()]
    if not lines or "-->" in text[:5000]:
        return False
    glued = sum(1 for ln in lines if (m := LINE.match(ln)) and m.group(2).strip())
    return glued >= max(3, len(lines) // 2)


def parse(text: str, path: Path) -> Transcript:
    """Parse the show page text; metadata from its header, speech lines with their physical numbers."""
    raw_lines = text.split("\n")
    header: list[str] = []
    speech: list[SpeechLine] = []
    for number, raw in enumerate(raw_lines, start=1):
        line = raw.strip()
        if FOOTER.match(line) and speech:
            break
        m = LINE.match(line)
        if not m:
            if not speech:
                header.append(line)
            # A stray untimed line in the middle of speech is page noise; keeping it would misplace text.
            continue
        words = m.group(2).strip()
        if not words:
            continue  # a bare duration: page noise, or an empty cue
        speech.append(SpeechLine(line=number, start=to_seconds(m.group(1)), text=words))
    if not speech:
        raise TranscriptError(path, "no timestamped speech lines found (expected lines like '00:13Bonjour à tous')")
    for prev, cur in zip(speech, speech[1:]):
        prev.end = cur.start
    return Transcript(meta=_metadata(header, path), lines=speech, labelled=False)


def _metadata(header: list[str], path: Path) -> EpisodeMeta:
    text = "\n".join(header)
    day = _absolute_date(text) or _spoken_date(text)
    host: Person | None = None
    guests: list[Person] = []
    show = ""
    m = DESCRIPTION.search(text)
    if m:
        show = m.group("show").strip()
        host = Person(name=m.group("host").strip(), role="présentatrice", is_host=True)
        guests = [_guest(g) for g in _split_guests(m.group("guests"))]
    show = show or "SMART TECH"
    episode_id = f"{slug(show)}-{day.isoformat()}" if day else slug(path.stem)
    title = f"{show} — {day.isoformat()}" if day else f"{show} — {path.stem}"
    return EpisodeMeta(episode_id=episode_id, title=title, show=show, date=day, host=host, guests=guests,
                       source_file=str(path), format=NAME)


def _absolute_date(text: str) -> date | None:
    m = ABSOLUTE_DATE.search(text)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def _spoken_date(text: str) -> date | None:
    """'Jeudi 11 décembre 2025': used when the date line is relative ('il y a 17 heures')."""
    m = SPOKEN_DATE.search(text)
    if not m:
        return None
    try:
        return date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
    except ValueError:
        return None


def _split_guests(text: str) -> list[str]:
    """Split 'A (x, y), B (z) et C (w)' at top-level commas and the final 'et'."""
    parts, depth, current = [], 0, ""
    i = 0
    while i < len(text):
        c = text[i]
        depth += (c == "(") - (c == ")")
        if depth == 0 and (c == "," or text.startswith(" et ", i)):
            parts.append(current)
            current = ""
            i += 1 if c == "," else 4
            continue
        current += c
        i += 1
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _guest(text: str) -> Person:
    """'Julien Pillot (Consultant, Enseignant-chercheur, Inseec)' -> name, role, affiliation (last part)."""
    m = re.match(r"^(?P<name>[^(]+?)\s*(?:\((?P<details>.*)\))?$", text)
    name = (m.group("name") if m else text).strip()
    details = [d.strip() for d in ((m.group("details") or "") if m else "").split(",") if d.strip()]
    role = ", ".join(details[:-1]) if len(details) > 1 else (details[0] if details else "")
    affiliation = details[-1] if len(details) > 1 else ""
    return Person(name=name, role=role, affiliation=affiliation)

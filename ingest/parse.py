"""File → Transcript: read safely, detect the format, parse, merge sidecar metadata, validate."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from ingest.errors import TranscriptError
from ingest.formats import detect, parser_for
from ingest.loader import read_text
from ingest.models import Person, Transcript
from ingest.names import canonical

# Going back in time by more than this between consecutive lines is a broken file, not jitter.
BACKWARDS_TOLERANCE_S = 1.0


def parse_file(path: str | Path, format: str | None = None, source_url: str | None = None) -> Transcript:
    """Parse one transcript file. Raises TranscriptError naming the file and line on bad input."""
    path = Path(path)
    text = read_text(path)
    name = format or detect(text, path)
    transcript = parser_for(name, path)(text, path)
    transcript.meta.format = name
    transcript.meta.source_file = str(path)
    # Labelled formats list their labels as guests when they know no roster; a sidecar roster supersedes that.
    from_labels = {id(p) for p in transcript.meta.guests} if transcript.labelled else set()
    _apply_sidecar(transcript, path)
    if transcript.labelled:
        _canonical_speakers(transcript, from_labels)
    if source_url:
        transcript.meta.source_url = source_url
    _validate(transcript, path)
    return transcript


def sidecar_path(path: Path) -> Path:
    """Metadata that travels beside a transcript: `<file>.json`."""
    return path.with_name(path.name + ".json")


def _apply_sidecar(transcript: Transcript, path: Path) -> None:
    side = sidecar_path(path)
    if not side.is_file():
        return
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise TranscriptError(side, f"bad metadata sidecar: {exc}", line) from exc
    if not isinstance(data, dict):
        raise TranscriptError(side, "metadata sidecar must be a JSON object", 1)
    meta = transcript.meta
    for key in ("episode_id", "title", "show", "language", "source_url"):
        if isinstance(data.get(key), str):
            setattr(meta, key, data[key])
    if isinstance(data.get("date"), str):
        try:
            meta.date = date.fromisoformat(data["date"])
        except ValueError as exc:
            raise TranscriptError(side, f"bad date {data['date']!r} (expected YYYY-MM-DD)") from exc
    if isinstance(data.get("host"), (str, dict)):
        meta.host = _person(data["host"], side, is_host=True)
    if isinstance(data.get("guests"), list):
        meta.guests = [_person(g, side) for g in data["guests"]]
    if "speakers" in data:
        _apply_speaker_map(transcript, data["speakers"], side)


def _apply_speaker_map(transcript: Transcript, mapping: object, side: Path) -> None:
    """`"speakers": {"SPEAKER_00": "Delphine Sabattier"}`: names for diarisation labels."""
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise TranscriptError(side, '"speakers" must map labels to names, like {"SPEAKER_00": "Delphine Sabattier"}')
    for line in transcript.lines:
        if line.label in mapping:
            line.speaker = mapping[line.label]


def _canonical_speakers(transcript: Transcript, from_labels: set[int]) -> None:
    """Map each labelled line's speaker to its canonical roster name; speakers on no roster become guests."""
    meta = transcript.meta
    roster = [p for p in meta.roster if id(p) not in from_labels]
    names: dict[str, str] = {}
    for line in transcript.lines:
        if line.speaker is None:
            continue
        if line.speaker not in names:
            names[line.speaker] = (canonical(line.speaker, roster) if roster else None) or line.speaker
        line.speaker = names[line.speaker]
    guests = [p for p in meta.guests if id(p) not in from_labels]
    known = {p.name for p in roster}
    for name in dict.fromkeys(line.speaker for line in transcript.lines if line.speaker):
        if name not in known:
            # A remote guest the roster forgot, or a 'SPEAKER_03' nobody named: still someone who spoke.
            guests.append(next((p for p in meta.guests if p.name == name), Person(name=name)))
            known.add(name)
    meta.guests = guests


def _person(value: object, side: Path, is_host: bool = False) -> Person:
    if isinstance(value, str):
        return Person(name=value, is_host=is_host)
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        aliases = tuple(a for a in value.get("aliases", []) if isinstance(a, str))
        return Person(name=value["name"], role=str(value.get("role", "")),
                      affiliation=str(value.get("affiliation", "")), is_host=is_host, aliases=aliases)
    raise TranscriptError(side, f"a person must be a name or {{name, role, affiliation}}, got {value!r}")


def _validate(transcript: Transcript, path: Path) -> None:
    if not transcript.lines:
        raise TranscriptError(path, "no speech lines found")
    for prev, cur in zip(transcript.lines, transcript.lines[1:]):
        if cur.start < prev.start - BACKWARDS_TOLERANCE_S:
            raise TranscriptError(
                path, f"timestamps go backwards ({cur.start:.0f}s after {prev.start:.0f}s at line {prev.line})", cur.line
            )

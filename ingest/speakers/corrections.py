"""Human fixes to attribution: a `<transcript file>.corrections.tsv` sidecar.

Columns: first_line, last_line, speaker (tab-separated, physical line numbers, inclusive). Lines
starting with `#` and blank lines are ignored; an optional header row `first_line\tlast_line\tspeaker`
is allowed. The corrected lines get that speaker with confidence 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.errors import TranscriptError
from ingest.models import Transcript
from ingest.names import match_person

SUFFIX = ".corrections.tsv"


@dataclass(frozen=True)
class Correction:
    """Lines first_line..last_line (inclusive, physical numbers) are `speaker`'s."""

    first_line: int
    last_line: int
    speaker: str
    source: str = ""
    source_line: int = 0


def sidecar_path(transcript_path: str | Path) -> Path:
    """Where the corrections for a transcript file live."""
    p = Path(transcript_path)
    return p.with_name(p.name + SUFFIX)


def load(path: str | Path) -> list[Correction]:
    """Parse a corrections file; raises TranscriptError(path, message, line) on a malformed row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(path, f"cannot read corrections: {exc}") from exc
    out: list[Correction] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        row = raw.strip()
        if not row or row.startswith("#"):
            continue
        cols = [c.strip() for c in raw.rstrip("\r\n").split("\t")]
        if cols[:2] == ["first_line", "last_line"]:
            continue
        if len(cols) < 3 or not cols[2]:
            raise TranscriptError(path, "expected 3 tab-separated columns: first_line, last_line, speaker", number)
        if not (cols[0].isdigit() and cols[1].isdigit()):
            raise TranscriptError(path, f"line numbers must be positive integers, got {cols[0]!r}, {cols[1]!r}",
                                  number)
        first, last = int(cols[0]), int(cols[1])
        if first < 1 or last < first:
            raise TranscriptError(path, f"bad range {first}-{last} (need 1 <= first_line <= last_line)", number)
        out.append(Correction(first, last, cols[2], str(path), number))
    return out


def apply(transcript: Transcript, corrections: list[Correction]) -> Transcript:
    """Set the corrected lines' speaker (canonical roster name) with confidence 1.0; returns the transcript.

    A speaker who is not on the roster is an error naming the roster, so a typo cannot invent a person.
    """
    roster = transcript.meta.roster
    for c in corrections:
        person = next((p for p in roster if p.name == c.speaker), None) or match_person(c.speaker, roster)
        if person is None:
            known = ", ".join(p.name for p in roster) or "(empty roster)"
            raise TranscriptError(c.source or transcript.meta.source_file,
                                  f"unknown speaker {c.speaker!r}; the roster is: {known}", c.source_line or None)
        for sl in transcript.lines:
            if c.first_line <= sl.line <= c.last_line:
                sl.speaker, sl.confidence = person.name, 1.0
    return transcript

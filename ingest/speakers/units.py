"""Sentences rebuilt from subtitle fragments: the units the model scores and decodes.

Subtitles cut speech into lines of 1-15 words; a speaker almost never changes inside a sentence.
A unit runs until a line ends with terminal punctuation. Some stretches of automatic subtitles
carry no punctuation at all: there every line is its own unit, and the decoder's transitions
(learned per boundary kind) keep speakers from flickering.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.models import SpeechLine
from ingest.speakers.text import ends_sentence

# A line sits in an unpunctuated stretch when no line this close on either side ends a sentence.
UNPUNCTUATED_WINDOW = 4
# A sentence longer than this many lines is cut anyway: two speakers may hide in a run-on.
MAX_UNIT_LINES = 12


@dataclass
class Unit:
    """Consecutive lines (indexes into transcript.lines) taken as one utterance of one speaker."""

    first: int
    last: int
    text: str
    # True when the unit is one line of an unpunctuated stretch, not a rebuilt sentence.
    loose: bool = False

    @property
    def indexes(self) -> range:
        return range(self.first, self.last + 1)


def _unpunctuated(lines: list[SpeechLine]) -> list[bool]:
    ends = [ends_sentence(sl.text) for sl in lines]
    n = len(lines)
    return [not any(ends[max(0, i - UNPUNCTUATED_WINDOW):i + UNPUNCTUATED_WINDOW + 1]) for i in range(n)]


def build_units(lines: list[SpeechLine]) -> list[Unit]:
    """Group lines into units: sentences where there is punctuation, single lines where there is none."""
    loose = _unpunctuated(lines)
    units: list[Unit] = []
    start = 0
    for i, sl in enumerate(lines):
        cut = (ends_sentence(sl.text) or loose[i] or i + 1 >= len(lines) or loose[i + 1]
               or i - start + 1 >= MAX_UNIT_LINES)
        if cut:
            text = " ".join(x.text.strip() for x in lines[start:i + 1])
            units.append(Unit(start, i, text, loose=loose[i] and start == i))
            start = i + 1
    return units

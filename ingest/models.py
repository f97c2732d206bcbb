"""Typed data passed between the ingest stages: parse → attribute speakers → turns → chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Person:
    """Someone on the show's roster, under the one canonical spelling we keep for them."""

    name: str
    role: str = ""
    affiliation: str = ""
    is_host: bool = False
    # How the subtitles or labels may spell them (Imen, Morel, Sorris...); matched fuzzily too.
    aliases: tuple[str, ...] = ()

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    @property
    def last_name(self) -> str:
        return self.name.split()[-1]


@dataclass
class EpisodeMeta:
    """What we know about an episode besides its speech."""

    episode_id: str
    title: str
    show: str = ""
    date: date | None = None
    language: str = "fr"
    host: Person | None = None
    guests: list[Person] = field(default_factory=list)
    source_url: str | None = None
    source_file: str = ""
    format: str = ""

    @property
    def roster(self) -> list[Person]:
        """Host first, then guests in the order the description names them."""
        return ([self.host] if self.host else []) + list(self.guests)

    def person(self, name: str) -> Person | None:
        """The roster entry whose canonical name is `name`."""
        return next((p for p in self.roster if p.name == name), None)


@dataclass
class SpeechLine:
    """One line of speech as it stands in the file, with its 1-based physical line number.

    `speaker` is the canonical name, from a trusted label or from attribution; `label`
    keeps the raw label the file gave, if any.
    """

    line: int
    start: float
    text: str
    end: float | None = None
    speaker: str | None = None
    confidence: float = 1.0
    label: str | None = None


@dataclass
class Transcript:
    """A parsed file: episode metadata plus its speech lines in file order."""

    meta: EpisodeMeta
    lines: list[SpeechLine]
    # True when the file carried speaker labels (VTT voices, JSON speakers, `Name:`), which we trust.
    labelled: bool = False


@dataclass
class Turn:
    """Consecutive lines of one speaker."""

    speaker: str
    lines: list[SpeechLine]

    @property
    def start(self) -> float:
        return self.lines[0].start

    @property
    def end(self) -> float:
        last = self.lines[-1]
        return last.end if last.end is not None else last.start

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float:
        return min(line.confidence for line in self.lines)

    @property
    def first_line(self) -> int:
        return self.lines[0].line

    @property
    def last_line(self) -> int:
        return self.lines[-1].line


@dataclass
class Chunk:
    """The unit we embed and retrieve: one speaker turn, or a sentence-aligned piece of a long one."""

    chunk_id: str
    episode_id: str
    speaker: str
    start: float
    end: float
    first_line: int
    last_line: int
    text: str
    # The host's question just before this turn: retrieval context, never the speaker's words.
    context: str = ""
    confidence: float = 1.0
    turn_index: int = 0
    # (line number, start seconds, char offset in `text`, attribution confidence) for each line, so a quote
    # inside the chunk can be timed and its speaker's certainty known.
    line_map: list[tuple[int, float, int, float]] = field(default_factory=list)

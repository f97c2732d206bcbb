"""Typed values the service API hands to its callers (CLI, UI, Slack bot, evals)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass
class Filters:
    """Restrict an answer to some speakers and/or episodes (canonical names, episode ids)."""

    speakers: list[str] = field(default_factory=list)
    episodes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.speakers or self.episodes)


@dataclass
class Message:
    """One exchange of the chat history, oldest first."""

    role: Literal["user", "assistant"]
    content: str


@dataclass
class Citation:
    """A cited segment: who said it, in which episode, at which second, and a link that opens it."""

    n: int
    episode_id: str
    episode_title: str
    date: str  # YYYY-MM-DD, "" when unknown
    speaker: str
    start: float  # seconds from the start of the episode
    end: float
    url: str
    quote: str
    first_line: int = 0
    last_line: int = 0
    confidence: float = 1.0

    def to_json(self) -> dict[str, Any]:
        keys = ("n", "episode_id", "episode_title", "date", "speaker", "start", "end", "url", "quote")
        data = asdict(self)
        return {k: data[k] for k in keys}


@dataclass
class Answer:
    """An answer whose every claim points at a citation `[n]`; `refused` when the evidence is not there."""

    answer: str
    refused: bool
    citations: list[Citation]
    mode: Literal["extractive", "llm"] = "extractive"
    # Said to the reader when something degraded, e.g. the LLM endpoint failed and we quote instead.
    notice: str | None = None
    speakers: list[str] = field(default_factory=list)  # speaker filter the question resolved to
    episodes: list[str] = field(default_factory=list)  # episode filter the question resolved to

    def to_json(self) -> dict[str, Any]:
        """The `debrief ask --json` object."""
        return {
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
        }


@dataclass
class SpeakerSummary:
    name: str
    role: str = ""
    affiliation: str = ""
    is_host: bool = False
    turns: int = 0


@dataclass
class EpisodeSummary:
    """A line of the episode list."""

    episode_id: str
    title: str
    date: str
    speakers: list[SpeakerSummary]
    turns: int
    lines: int
    source_url: str | None = None


@dataclass
class TurnView:
    """A speaker turn as the transcript viewer shows it."""

    index: int
    speaker: str
    start: float
    end: float
    first_line: int
    last_line: int
    text: str
    confidence: float
    anchor: str  # stable id within the episode page, e.g. "t-0412" (first line)


@dataclass
class EpisodeDetail:
    summary: EpisodeSummary
    turns: list[TurnView]


@dataclass
class IngestResult:
    """What ingesting one file did."""

    path: str
    episode_id: str
    status: Literal["added", "replaced", "unchanged", "failed"]
    turns: int = 0
    chunks: int = 0
    error: str | None = None
    notice: str | None = None  # e.g. what the speaker LLM pass did, or why it stopped

"""Answer-quality metrics: pure functions over gold questions, retrieved segments and cited segments.

Nothing here touches the index or a model: the runner (`evals/run.py`) turns what the service API returns
into `Segment`s and hands them over, so every rule below can be unit-tested on a handful of hand-made cases.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Subtitle timecodes are whole seconds and a chunk or quote may start a line or two before the gold passage:
# a segment counts as inside a window when their time spans overlap once widened by this much.
SLACK_S = 5.0
HIT_KS = (1, 3, 5)


@dataclass(frozen=True)
class Window:
    """A gold passage: where `speaker` says what a good answer cites."""

    episode_id: str
    speaker: str
    start: float
    end: float
    first_line: int
    last_line: int


@dataclass(frozen=True)
class Question:
    """One line of `evals/data/questions.jsonl`."""

    id: str
    question: str
    language: str
    kind: str
    speakers: tuple[str, ...]
    episode: str | None
    windows: tuple[Window, ...]
    key_facts: tuple[str, ...]
    answerable: bool
    notes: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        windows = tuple(
            Window(w["episode_id"], w["speaker"], float(w["start"]), float(w["end"]), int(w["lines"][0]),
                   int(w["lines"][1]))
            for w in data.get("windows", [])
        )
        return cls(id=data["id"], question=data["question"], language=data["language"], kind=data["kind"],
                   speakers=tuple(data.get("speakers", [])), episode=data.get("episode"), windows=windows,
                   key_facts=tuple(data.get("key_facts", [])), answerable=bool(data["answerable"]),
                   notes=data.get("notes", ""))


def load_questions(path: Path) -> list[Question]:
    """Every question of a JSON Lines file; blank lines are skipped."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            out.append(Question.from_json(json.loads(raw)))
    return out


@dataclass(frozen=True)
class Segment:
    """Something the system points at: a retrieved chunk or a citation (who, which episode, when, which lines)."""

    episode_id: str
    speaker: str
    start: float
    end: float
    first_line: int = 0
    last_line: int = 0


# -- retrieval ---------------------------------------------------------------------------------------------

def overlaps(seg: Segment, window: Window, slack: float = SLACK_S) -> bool:
    """Same episode and the time spans overlap once widened by `slack` seconds (speaker not checked)."""
    return (seg.episode_id == window.episode_id
            and seg.start <= window.end + slack and window.start <= seg.end + slack)


def in_window(seg: Segment, window: Window, slack: float = SLACK_S) -> bool:
    """The segment overlaps the window and is credited to the window's speaker."""
    return seg.speaker == window.speaker and overlaps(seg, window, slack)


def matches_any(seg: Segment, windows: Iterable[Window], slack: float = SLACK_S) -> bool:
    """The segment lies in at least one gold window, with that window's speaker."""
    return any(in_window(seg, w, slack) for w in windows)


def first_hit_rank(ranked: Sequence[Segment], windows: Sequence[Window], slack: float = SLACK_S) -> int | None:
    """1-based rank of the first segment inside a gold window with the right speaker; None when there is none."""
    for rank, seg in enumerate(ranked, start=1):
        if matches_any(seg, windows, slack):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    """1.0 when the first hit is within the top k."""
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None) -> float:
    """1/rank of the first hit, 0 when nothing hit (averaged over questions, this is MRR)."""
    return 1.0 / rank if rank else 0.0


def window_recall(ranked: Sequence[Segment], windows: Sequence[Window], k: int | None = None,
                  slack: float = SLACK_S) -> float:
    """Share of gold windows that at least one of the top-k segments lands in (right speaker, overlapping time)."""
    if not windows:
        return 0.0
    top = ranked[:k] if k is not None else ranked
    return sum(any(in_window(s, w, slack) for s in top) for w in windows) / len(windows)


# -- citations -----------------------------------------------------------------------------------------------

def citation_precision(citations: Sequence[Segment], windows: Sequence[Window], slack: float = SLACK_S) -> float:
    """Share of citations inside a gold window with the right speaker (0 when there are no citations)."""
    if not citations:
        return 0.0
    return sum(matches_any(c, windows, slack) for c in citations) / len(citations)


def gold_speaker_of(citation: Segment, gold: dict[int, str]) -> str | None:
    """Who the gold labels say speaks most of the citation's lines; None when gold labels none of them.

    Ties go to the citation's own speaker: a quote that is half theirs is not credited to the wrong person.
    """
    counts: dict[str, int] = {}
    for line in range(citation.first_line, citation.last_line + 1):
        if line in gold:
            counts[gold[line]] = counts.get(gold[line], 0) + 1
    if not counts:
        return None
    best = max(counts.values())
    leaders = [name for name, n in counts.items() if n == best]
    return citation.speaker if citation.speaker in leaders else sorted(leaders)[0]


def wrong_speaker(citation: Segment, gold: dict[int, str] | None, named: Sequence[str] = ()) -> str | None:
    """Why this citation credits words to the wrong person, or None when it does not.

    Two ways to be wrong: the gold labels say most of the quoted lines are someone else's; or the question asks
    about exactly one person (`named`) and the citation quotes somebody else as the answer.
    """
    if gold:
        said_by = gold_speaker_of(citation, gold)
        if said_by is not None and said_by != citation.speaker:
            return f"lines {citation.first_line}-{citation.last_line} are {said_by}'s, cited as {citation.speaker}'s"
    if len(named) == 1 and citation.speaker != named[0]:
        return f"question asks about {named[0]}, citation quotes {citation.speaker}"
    return None


def named_speakers(question: str, people: Iterable[str]) -> list[str]:
    """Canonical names among `people` whose full or last name appears in the question (accent/case-insensitive).

    Deliberately simple and independent of the system's own name resolution: it decides what the question
    asks, so that the system's resolution can be judged against it.
    """
    text = f" {fold(question)} "
    found = []
    for name in people:
        full, last = fold(name), fold(name.split()[-1])
        if f" {full} " in text or (len(last) >= 4 and f" {last} " in text):
            found.append(name)
    return found


# -- refusal and answer text ---------------------------------------------------------------------------

def fold(text: str) -> str:
    """Lowercase, accents off, punctuation to single spaces: "Hyperscalaires Américains," -> "hyperscalaires americains"."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", bare.lower()).strip()


def fact_found(fact: str, text: str) -> bool:
    """The key fact appears in the text as whole words, ignoring case, accents and punctuation."""
    needle = fold(fact)
    return bool(needle) and f" {needle} " in f" {fold(text)} "


def key_fact_score(facts: Sequence[str], text: str) -> float:
    """Share of key facts found in the answer text; 0 when the question has none."""
    if not facts:
        return 0.0
    return sum(fact_found(f, text) for f in facts) / len(facts)


@dataclass
class RefusalCounts:
    """Refusal decisions against whether the question is answerable."""

    right: int = 0  # unanswerable and refused
    missed: int = 0  # unanswerable but answered
    wrong: int = 0  # answerable but refused
    answered: int = 0  # answerable and answered

    def add(self, answerable: bool, refused: bool) -> None:
        if answerable:
            if refused:
                self.wrong += 1
            else:
                self.answered += 1
        elif refused:
            self.right += 1
        else:
            self.missed += 1

    @property
    def right_rate(self) -> float:
        """Share of unanswerable questions refused (higher is better)."""
        n = self.right + self.missed
        return self.right / n if n else 0.0

    @property
    def wrong_rate(self) -> float:
        """Share of answerable questions refused (lower is better)."""
        n = self.wrong + self.answered
        return self.wrong / n if n else 0.0


def answer_language(text: str) -> str:
    """'en' or 'fr' by function words, for checking that the answer speaks the question's language."""
    words = fold(text).split()
    en = sum(w in _EN for w in words)
    fr = sum(w in _FR for w in words)
    return "en" if en > fr else "fr"


_EN = {"the", "and", "of", "to", "is", "that", "said", "about", "in", "episode", "what", "he", "she", "they", "was"}
_FR = {"le", "la", "les", "et", "de", "des", "est", "que", "qui", "dit", "sur", "une", "il", "elle", "pas", "a"}


# -- aggregation -----------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Running means of named values, for one group of questions (a kind, a language, a speaker)."""

    n: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, values: dict[str, float | None]) -> None:
        """Add one question's values; None means "does not apply to this question"."""
        self.n += 1
        for key, value in values.items():
            if value is None:
                continue
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in sorted(self.sums)}


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean, 0 for nothing."""
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0

"""What each guest talks about, as TF-IDF stem profiles, to tell guests apart when no name is said.

The first profile is the host's introduction of the guest plus their role and affiliation; the
second adds the lines a first decoding gave them, leaving out the line's own turn so that a turn
never votes for itself.
"""

from __future__ import annotations

import math
from collections import Counter

from ingest.models import Person, SpeechLine
from ingest.speakers.text import content_stems

Vector = dict[str, float]


class TopicModel:
    """TF-IDF over the transcript's lines; cosine between a line and a speaker's profile."""

    def __init__(self, lines: list[SpeechLine]) -> None:
        self.stems = [content_stems(sl.text) for sl in lines]
        df: Counter[str] = Counter()
        for st in self.stems:
            df.update(set(st))
        n = len(lines)
        self.idf = {s: math.log((1 + n) / (1 + c)) for s, c in df.items()}

    def vector(self, stems: list[str]) -> Vector:
        """Unit-length TF-IDF vector of a bag of stems."""
        v = {s: c * self.idf.get(s, math.log(1 + len(self.stems))) for s, c in Counter(stems).items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {s: x / norm for s, x in v.items()}

    def line_vector(self, index: int) -> Vector:
        """The TF-IDF vector of line `index`."""
        return self.vector(self.stems[index])


def cosine(a: Vector, b: Vector) -> float:
    """Cosine of two unit vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(s, 0.0) for s, x in a.items())


def intro_profiles(model: TopicModel, guests: list[Person], intro: dict[str, list[str]]) -> dict[str, Vector]:
    """Each guest's first profile: role, affiliation and the host's words introducing them."""
    from ingest.speakers.text import content_stems as cs

    out = {}
    for p in guests:
        stems = cs(f"{p.role} {p.affiliation}") * 2
        for text in intro.get(p.name, []):
            stems += cs(text)
        out[p.name] = model.vector(stems)
    return out


def similarities(model: TopicModel, path: list[str], guests: list[str]) -> list[dict[str, float]]:
    """For each line, cosine with each guest's lines elsewhere (outside the line's own turn in `path`)."""
    n = len(path)
    # Turn spans in the current decoding.
    turn_of = [0] * n
    for t in range(1, n):
        turn_of[t] = turn_of[t - 1] + (path[t] != path[t - 1])
    totals: dict[str, Counter[str]] = {g: Counter() for g in guests}
    per_turn: dict[int, Counter[str]] = {}
    for t, who in enumerate(path):
        if who in totals:
            totals[who].update(model.stems[t])
            per_turn.setdefault(turn_of[t], Counter()).update(model.stems[t])
    whole = {g: model.vector(list(totals[g].elements())) for g in guests}
    without_turn: dict[tuple[int, str], Vector] = {}
    out = []
    for t in range(n):
        line = model.line_vector(t)
        sims = {}
        for g in guests:
            if path[t] == g:
                key = (turn_of[t], g)
                if key not in without_turn:
                    rest = totals[g] - per_turn.get(turn_of[t], Counter())
                    without_turn[key] = model.vector(list(rest.elements())) if rest else {}
                vec = without_turn[key]
            else:
                vec = whole[g]
            sims[g] = cosine(line, vec)
        out.append(sims)
    return out

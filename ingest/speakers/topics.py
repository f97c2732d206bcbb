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
    cs = content_stems
    out = {}
    for p in guests:
        stems = cs(f"{p.role} {p.affiliation}") * 2
        for text in intro.get(p.name, []):
            stems += cs(text)
        out[p.name] = model.vector(stems)
    return out


def turn_similarities(model: TopicModel, path: list[str], guests: list[str],
                      seed: dict[str, list[str]]) -> list[dict[str, float]]:
    """For each line, how much its whole turn (in `path`) sounds like each guest's other turns.

    A turn says more than a line: twelve lines about quantum sensors point at the quantum guest
    even if no single line does. `seed` stems (role, affiliation, introduction) start each profile.
    """
    n = len(path)
    spans: list[tuple[int, int]] = []
    start = 0
    for t in range(1, n + 1):
        if t == n or path[t] != path[start]:
            spans.append((start, t))
            start = t
    totals: dict[str, Counter[str]] = {g: Counter(seed.get(g, [])) for g in guests}
    bags = []
    for a, b in spans:
        bag: Counter[str] = Counter()
        for t in range(a, b):
            bag.update(model.stems[t])
        bags.append(bag)
        if path[a] in totals:
            totals[path[a]].update(bag)
    whole = {g: model.vector(list(totals[g].elements())) for g in guests}
    out: list[dict[str, float]] = [{} for _ in range(n)]
    for (a, b), bag in zip(spans, bags):
        vec = model.vector(list(bag.elements()))
        sims = {}
        for g in guests:
            prof = whole[g]
            if path[a] == g:
                rest = totals[g] - bag
                prof = model.vector(list(rest.elements())) if rest else {}
            sims[g] = cosine(vec, prof)
        for t in range(a, b):
            out[t] = sims
    return out

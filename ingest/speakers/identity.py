"""Which guest speaks each guest turn: the careful listener's second pass, turn by turn.

The unit-level chain (`model`) is good at telling host from guest but remembers only the last guest,
so every "which guest?" it decides rests on a name in the unit just before. A listener uses the whole
exchange instead: the name the host gave anywhere in her turn, a role she points at ("interroger
l'avocat"), a guest describing themselves ("en tant qu'avocat"), a short interjection after which the
same guest goes on, and the host's habit of going round the table so that nobody is left out for long.
This module scores those cues per guest turn and keeps the best sequence of guests by beam search
(the "who spoke last" and "who has waited longest" cues depend on earlier choices).

Given the true host/guest split it names the right guest for 88 % (06-19) / 71 % (12-11) of guest lines
where the chain gets 57 / 67 %, but alone on the chain's own split (85-88 % right) spurious guest turns
cascade through "who spoke last" and it does worse than the chain. So `attribute()` runs it on the chain's
split with the chain's own opinion as a prior (`attribution.second_opinion`): it then overrides only the
turns the chain is unsure of. `diagnose` line (e) tracks it on the true split.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ingest.models import Person
from ingest.names import fold
from ingest.speakers.features import UnitInfo
from ingest.speakers.model import FLOOR_MIN
from ingest.speakers.pointers import profiles, stems
from ingest.speakers.text import words
from ingest.speakers.units import Unit

if TYPE_CHECKING:
    from ingest.speakers.attribution import Prepared

BEAM = 64


@dataclass(frozen=True)
class Weights:
    """Log-score of each cue for a candidate guest of a guest turn (hand-set on the gold episodes with
    `python -m ingest.speakers.diagnose`; a bonus for the remote guest during their topic cost 06-19 20 points)."""

    floor_last: float = 4.0     # named in the host's last naming unit of the turn before
    floor_earlier: float = 1.5  # named earlier in that turn
    self_desc: float = 2.5      # "moi, en tant qu'avocat" -> the lawyer
    named_inside: float = -2.0  # a guest does not name themselves
    quoted: float = -3.0        # ... nor quote themselves ("ce que dit Emine"), anywhere in the turn
    role_ref: float = 2.0       # the host points at a role or company ("interroger l'avocat")
    reply: float = 6.0          # a one-word reply answers the guest the host greeted or thanked
    stay_short: float = 3.0     # the same guest goes on after a short interjection
    stay_medium: float = 1.0    # ... after a follow-up question
    stay_long: float = -0.5     # ... after a long host turn, the floor usually goes round
    stay_round: float = -2.0    # ... but not in a round where everyone answers once
    waited: float = 1.2         # per rank of waiting (the guest silent longest gets the most)
    short_words: int = 12
    medium_words: int = 45


@dataclass
class Turn:
    """Consecutive units given to one side (host, or one guest) by the first pass."""

    units: list[int]
    guest: bool
    first_guest: int = -1  # the first pass's guest, kept only to split guest runs


def split_turns(path: list[int]) -> list[Turn]:
    """Runs of units with the same first-pass speaker (-1 host, else guest index)."""
    turns: list[Turn] = []
    for k, who in enumerate(path):
        if turns and turns[-1].first_guest == who:
            turns[-1].units.append(k)
        else:
            turns.append(Turn([k], who >= 0, who))
    return turns


def _floor(infos: list[UnitInfo], units: list[int], guests: list[str]) -> tuple[dict[int, float], dict[int, float]]:
    """Guests handed the floor in a turn: by its last naming unit, and earlier."""
    last: dict[int, float] = {}
    earlier: dict[int, float] = {}
    for k in units:
        named = {guests.index(n): s for n, s in infos[k].floor.items() if s >= FLOOR_MIN and n in guests}
        if named:
            for g in last:
                earlier[g] = max(earlier.get(g, 0.0), last[g])
            last = named
    return last, earlier


# The host opening a round where everyone answers in turn: nobody speaks twice before all have.
ROUND = re.compile(r"\b(tour de table|chacun|chacune|tous les trois|tous les quatre|cartons?)\b")


@dataclass
class TurnCues:
    """Per-candidate cue scores of one guest turn that do not depend on earlier choices."""

    fixed: np.ndarray            # [guest] log-score
    host_words: int              # words the host spoke just before (0: a guest spoke just before)
    after_guest: bool            # the turn follows another guest's turn directly
    in_round: bool               # the host opened a round lately


def turn_cues(turns: list[Turn], t: int, units: list[Unit], infos: list[UnitInfo], guests: list[Person],
              profile: list[set[str]], available: list[list[bool]], w: Weights) -> TurnCues:
    """The cues of guest turn `t` that are fixed whoever spoke before."""
    names = [p.name for p in guests]
    n = len(guests)
    fixed = np.zeros(n)
    turn = turns[t]
    before = turns[t - 1] if t > 0 else None
    after_guest = before is not None and before.guest
    # The host turn the floor comes from: the one just before, or the one before a guest's brief
    # word ("Merci à tous" from a guest being thanked while the host hands over to the next).
    host_turn = before if before is not None and not before.guest else None
    carried = False
    if before is not None and before.guest and t >= 2 and len(before.units) <= 2 and not turns[t - 2].guest:
        host_turn, carried = turns[t - 2], True
    host_words = 0
    asks = False
    if host_turn is not None:
        last, earlier = _floor(infos, host_turn.units, names)
        for g, s in last.items():
            fixed[g] += w.floor_last * s * (0.5 if carried else 1.0)
        for g, s in earlier.items():
            if g not in last:
                fixed[g] += w.floor_earlier * s
        if not carried:
            host_words = sum(len(words(units[k].text)) for k in host_turn.units)
            asks = any(infos[k].question for k in host_turn.units[-2:])
        if not carried and not last:
            # Nobody named: the host may point at a role or company instead.
            pointed = stems(" ".join(units[k].text for k in host_turn.units))
            for g in range(n):
                fixed[g] += w.role_ref * bool(profile[g] & pointed)
    for j, k in enumerate(turn.units):
        for g, name in enumerate(names):
            # A guest does not name themselves as they start; later in a turn a name is more often
            # the host's interjection that a subtitle line swallowed.
            if j < 2 and name in infos[k].named:
                fixed[g] += w.named_inside
            fixed[g] += w.self_desc * infos[k].self_desc.get(name, 0.0)
            if name in infos[k].quoted:
                fixed[g] += w.quoted
            if j == 0 and infos[k].answers == name:
                fixed[g] += w.reply
    for g in range(n):
        if not available[turn.units[0]][g] and not available[turn.units[-1]][g]:
            fixed[g] -= 50.0
    recent_host = [tu for tu in turns[max(0, t - 6):t] if not tu.guest]
    # In a round, a bare "Ok." moves on to the next guest; a follow-up question keeps the same one.
    in_round = not asks and any(ROUND.search(fold(units[k].text)) for tu in recent_host[-3:] for k in tu.units)
    return TurnCues(fixed, host_words, after_guest, in_round)


@dataclass
class Hypothesis:
    score: float
    choice: list[int]
    spoke: list[int]  # per guest, the index of the guest turn they last spoke in (-1: never)


def identify(prep: Prepared, path: list[int], w: Weights | None = None,
             prior: np.ndarray | None = None, prior_weight: float = 0.0) -> tuple[list[int], list[float]]:
    """Re-decide which guest speaks each guest turn of a first-pass `path` (-1 host, else guest index).

    `prior` [unit, guest] is a first opinion on which guest speaks each unit (e.g. the chain's
    posterior); its mean log over a turn's units, times `prior_weight`, joins the turn's cues.
    Returns the new path and, per unit, the confidence in its guest (1.0 for host units).
    """
    w = w or Weights()
    units, infos, guests, available = prep.units, prep.infos, prep.people, prep.available
    turns = split_turns(path)
    n = len(guests)
    guest_turns = [t for t, tu in enumerate(turns) if tu.guest]
    if not guest_turns or n == 0:
        return list(path), [1.0] * len(path)
    profile = profiles(guests, prep.seeds, prep.roster)
    beam = [Hypothesis(0.0, [], [-1] * n)]
    for j, t in enumerate(guest_turns):
        cues = turn_cues(turns, t, units, infos, guests, profile, available, w)
        if prior is not None and prior_weight:
            share = prior[turns[t].units] / np.maximum(prior[turns[t].units].sum(axis=1, keepdims=True), 1e-12)
            cues.fixed = cues.fixed + prior_weight * np.log(np.maximum(share, 1e-6)).mean(axis=0)
        grown: list[Hypothesis] = []
        for h in beam:
            prev = h.choice[-1] if h.choice else -1
            order = sorted(range(n), key=lambda g: h.spoke[g])  # longest silent first
            for g in range(n):
                s = cues.fixed[g]
                if g == prev:
                    if cues.after_guest:
                        continue  # the first pass saw a change of voice: not the same guest
                    s += (w.stay_round if cues.in_round else w.stay_short if cues.host_words <= w.short_words else
                          w.stay_medium if cues.host_words <= w.medium_words else w.stay_long)
                else:
                    s += w.waited * (n - 1 - order.index(g)) / max(1, n - 1)
                spoke = list(h.spoke)
                spoke[g] = j
                grown.append(Hypothesis(h.score + s, [*h.choice, g], spoke))
        grown.sort(key=lambda h: h.score, reverse=True)
        beam = grown[:BEAM]
    best = beam[0]
    top = max(h.score for h in beam)
    weights = [math.exp(h.score - top) for h in beam]
    total = sum(weights)
    out = list(path)
    conf = [1.0] * len(path)
    for j, t in enumerate(guest_turns):
        g = best.choice[j]
        agree = sum(wt for h, wt in zip(beam, weights, strict=True) if h.choice[j] == g) / total
        for k in turns[t].units:
            out[k] = g
            conf[k] = agree
    return out, conf



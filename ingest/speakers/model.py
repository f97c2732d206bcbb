"""The learned model: a logistic regression for "host or guest?" per unit, and a hidden Markov
chain over units whose states remember the last guest who spoke.

States: H(m) = the host speaking, m = the last guest who spoke (or nobody yet), and G(g) = guest g
speaking. Remembering m is what lets the chain hand the floor back to the guest the host just
interrupted, the most common move of the show. Transition probabilities are counted on labelled
episodes per boundary kind (after a question or not, inside an unpunctuated stretch or not) and
bent by the floor: a guest named by the previous unit is likely next.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ingest.speakers.features import UnitInfo, feature_names
from ingest.speakers.units import Unit

WEIGHTS_FILE = Path(__file__).with_name("model_weights.json")
CONTEXTS = ("sent", "sent?", "sent@", "loose", "loose?", "loose@")
# Floor strengths under this are mentions, not hand-overs.
FLOOR_MIN = 0.4
# Log-bonus: "Bonjour." / "Merci à tous." answers the guest the host just greeted or thanked.
REPLY_BONUS = 4.0
# Decisive conventions (feature -> logit offset towards the host), see `prior_logits`.
PRIOR_LOGITS = {"names_host": -4.0, "greets": 2.0}


@dataclass
class Params:
    """Everything learned: classifier weights, transition probabilities, emission scale, temperature."""

    weights: list[float] = field(default_factory=list)
    host_prior: float = 0.35
    switch_host: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CONTEXTS, 0.3))
    switch_guest: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CONTEXTS, 0.3))
    to_named: float = 0.8      # host -> guest: it is the guest the host just named
    to_last: float = 0.6       # host -> guest, nobody named: it is the guest who spoke last
    guest_to_host: float = 0.8  # a guest stops: the host speaks (not another guest)
    guest_to_named: float = 0.7  # guest -> guest: it is the guest the speaker just named
    emission_scale: float = 1.0
    self_named: float = 2.0    # log-penalty: a unit naming g is rarely g's own
    self_desc: float = 1.0     # log-bonus: "moi, en tant qu'avocat" -> the lawyer
    content: float = 0.0       # weight of the second pass's topic similarity (see `content`)
    switch_scale: float = 1.0  # multiplies every switch probability: how readily speakers change
    turn_weight: float = 0.0   # the chain's opinion in the turn-level second pass (0: no second pass)
    temperature: float = 1.0

    def save(self, path: Path = WEIGHTS_FILE) -> None:
        """Write the parameters as JSON (shipped inside the package)."""
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Params:
        """Read parameters written by `save`."""
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def host_probability(x: np.ndarray, params: Params) -> np.ndarray:
    """P(host) per unit: the logistic regression plus the fixed show conventions (`PRIOR_LOGITS`)."""
    w = np.asarray(params.weights)
    return 1.0 / (1.0 + np.exp(-(x @ w + prior_logits(x))))


def prior_logits(x: np.ndarray) -> np.ndarray:
    """Fixed logit offsets for rare but decisive conventions that two episodes cannot teach a
    classifier: a guest names the host ("Bonjour Delphine"), the host greets guests by name."""
    names = feature_names()
    out = np.zeros(x.shape[0])
    for feature, logit in PRIOR_LOGITS.items():
        out += logit * x[:, names.index(feature)]
    return out


def context(units: list[Unit], infos: list[UnitInfo], t: int, floor: str | None = None) -> str:
    """The kind of boundary between unit t-1 and unit t: "@" a guest was just handed the floor by
    name, "?" the previous unit asked a question (an opening "Oui"/"Non" did not help: tried)."""
    kind = "loose" if units[t].loose and units[t - 1].loose else "sent"
    return kind + ("@" if floor else "?" if infos[t - 1].question else "")


def floor_of(info: UnitInfo) -> str | None:
    """The guest a unit hands the floor to by name, if any."""
    best = max(info.floor.items(), key=lambda kv: kv[1], default=None)
    return best[0] if best and best[1] >= FLOOR_MIN else None


def floors(units: list[Unit], infos: list[UnitInfo]) -> list[str | None]:
    """The guest handed the floor by name in the unit before each unit (the chain's N states
    remember it while the host goes on talking)."""
    return [None] + [floor_of(infos[t - 1]) for t in range(1, len(units))]


@dataclass
class Chain:
    """The state space for one episode's roster.

    H(m): the host speaking, m the last guest who spoke (-1: nobody yet); N(g): the host speaking
    after handing guest g the floor by name; G(g): guest g speaking.
    """

    guests: list[str]

    @property
    def size(self) -> int:
        return 3 * len(self.guests) + 1

    def host(self, memory: int) -> int:
        """State index of H(memory); memory -1 = no guest yet."""
        return memory + 1

    def named(self, g: int) -> int:
        """State index of N(g)."""
        return len(self.guests) + 1 + g

    def guest(self, g: int) -> int:
        return 2 * len(self.guests) + 1 + g

    @property
    def host_states(self) -> range:
        return range(2 * len(self.guests) + 1)

    def speaker(self, state: int) -> int:
        """-1 for the host, else the guest index."""
        return -1 if state < 2 * len(self.guests) + 1 else state - 2 * len(self.guests) - 1


def _share(p: float, n_others: int) -> float:
    return (1.0 - p) / n_others if n_others > 0 else 0.0


def transitions(chain: Chain, ctx: str, named: str | None, available: list[bool], params: Params,
                answers_other: bool = False) -> np.ndarray:
    """Log transition matrix [from, to] into a unit, given the guest the previous unit named and whether the
    unit answers what another guest said (then the guest speaking before does not go on)."""
    n = len(chain.guests)
    tr = np.full((chain.size, chain.size), 1e-12)
    live = [g for g in range(n) if available[g]]
    f = chain.guests.index(named) if named in chain.guests else -1

    def pick(favoured: int, p: float, exclude: int = -2) -> dict[int, float]:
        cands = [g for g in live if g != exclude]
        if not cands:
            return {}
        if favoured in cands:
            return {g: (p if g == favoured else _share(p, len(cands) - 1)) or 1e-6 for g in cands}
        return {g: 1.0 / len(cands) for g in cands}

    sh = min(0.95, params.switch_host[ctx] * params.switch_scale)
    sg = min(0.95, params.switch_guest[ctx] * params.switch_scale)
    for s in chain.host_states:
        if f >= 0:
            stay, choice = chain.named(f), pick(f, params.to_named)
        elif s > n:  # N(m): the floor handed to m is still pending
            m = s - n - 1
            stay, choice = s, pick(m, params.to_named)
        else:
            stay, choice = s, pick(s - 1, params.to_last)
        tr[s, stay] += 1.0 - sh
        for g, p in choice.items():
            tr[s, chain.guest(g)] += sh * p
    for g in range(n):
        s = chain.guest(g)
        tr[s, chain.host(g)] += sg * params.guest_to_host
        if answers_other:  # whatever stays with the guests goes to another one
            for h, p in pick(f, params.guest_to_named, exclude=g).items():
                tr[s, chain.guest(h)] += (1.0 - sg * params.guest_to_host) * p
            continue
        tr[s, s] += 1.0 - sg
        for h, p in pick(f, params.guest_to_named, exclude=g).items():
            tr[s, chain.guest(h)] += sg * (1.0 - params.guest_to_host) * p
    tr /= tr.sum(axis=1, keepdims=True)
    return np.log(tr)


def emissions(chain: Chain, p_host: np.ndarray, infos: list[UnitInfo],
              available: list[list[bool]], params: Params, content: np.ndarray | None = None) -> np.ndarray:
    """Log emission score [unit, state]."""
    n = len(chain.guests)
    ph = np.clip(p_host, 1e-4, 1 - 1e-4)
    host_ll = params.emission_scale * (np.log(ph) - math.log(params.host_prior))
    guest_ll = params.emission_scale * (np.log(1 - ph) - math.log(1 - params.host_prior))
    out = np.zeros((len(infos), chain.size))
    for t, info in enumerate(infos):
        out[t, :2 * n + 1] = host_ll[t]
        for g, name in enumerate(chain.guests):
            s = guest_ll[t]
            if name in info.named or name in info.quoted:
                s -= params.self_named
            s += params.self_desc * info.self_desc.get(name, 0.0)
            if info.answers == name:
                s += REPLY_BONUS
            if content is not None:
                s += params.content * content[t, g]
            if not available[t][g]:
                s -= 30.0
            out[t, chain.guest(g)] = s
    return out


def _lse(a: np.ndarray, axis: int) -> np.ndarray:
    m = a.max(axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True)), axis=axis)


@dataclass
class Decoded:
    """Per-unit speaker index (-1 host, else guest index) and posterior over [host, guests...]."""

    path: list[int]
    posterior: np.ndarray


def decode(units: list[Unit], infos: list[UnitInfo], p_host: np.ndarray, guests: list[str],
           available: list[list[bool]], params: Params, content: np.ndarray | None = None) -> Decoded:
    """Forward-backward marginals (at the fitted temperature) and the Viterbi path."""
    chain = Chain(guests)
    em = emissions(chain, p_host, infos, available, params, content)
    k = chain.size
    start = np.full(k, -30.0)
    start[chain.host(-1)] = 0.0
    fl = floors(units, infos)
    trs = [np.zeros((k, k))] + [transitions(chain, context(units, infos, t, fl[t]), fl[t], available[t], params,
                                            infos[t].answers_other) for t in range(1, len(units))]
    temp = params.temperature
    # Forward-backward on tempered potentials: confidences.
    T = len(units)
    alpha = np.zeros((T, k))
    beta = np.zeros((T, k))
    alpha[0] = (start + em[0]) / temp
    for t in range(1, T):
        alpha[t] = _lse(alpha[t - 1][:, None] + trs[t] / temp, axis=0) + em[t] / temp
    for t in range(T - 2, -1, -1):
        beta[t] = _lse(trs[t + 1] / temp + (em[t + 1] / temp + beta[t + 1])[None, :], axis=1)
    post = alpha + beta
    post = np.exp(post - _lse(post, axis=1)[:, None])
    n = len(guests)
    marg = np.zeros((T, n + 1))
    marg[:, 0] = post[:, :2 * n + 1].sum(axis=1)
    marg[:, 1:] = post[:, 2 * n + 1:]
    # Viterbi on the untempered potentials: the labels.
    score = start + em[0]
    back = np.zeros((T, k), dtype=int)
    for t in range(1, T):
        cand = score[:, None] + trs[t]
        back[t] = cand.argmax(axis=0)
        score = cand.max(axis=0) + em[t]
    states = [int(score.argmax())]
    for t in range(T - 1, 0, -1):
        states.append(int(back[t][states[-1]]))
    states.reverse()
    return Decoded([chain.speaker(s) for s in states], marg)

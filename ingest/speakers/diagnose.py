"""Where attribution goes wrong, part by part, cross-episode (fitted on the other gold episode).

`python -m ingest.speakers.diagnose` prints, per gold episode:
(a) segmentation: units, gold turns, how pure units are (majority speaker labels);
(b) host or guest per unit from the classifier alone, and after decoding;
(c/d) which guest, given the true host/guest split fed to the decoder as emissions, and the
    simplest rule (the guest named last by the host, else the guest who spoke last);
(e) which guest, given the true split, by the turn-level pass (`identity`): what the unit chain would
    reach with a perfect host/guest split;
and the line error split: host lines given to a guest, guest lines given to the host, wrong guest.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ingest.speakers.attribution import run
from ingest.speakers.identity import identify
from ingest.speakers.model import decode, floor_of, host_probability
from ingest.speakers.train import Episode, fit, gold_episodes


def _line_share(e: Episode, path: list[int], guest_lines_only: bool = False) -> float:
    ok = n = 0
    for k, u in enumerate(e.prep.units):
        for i in u.indexes:
            if i in e.line_gold and (not guest_lines_only or e.line_gold[i] >= 0):
                ok += path[k] == e.line_gold[i]
                n += 1
    return ok / n if n else 0.0


def named_else_last(e: Episode) -> list[int]:
    """Per unit, with the true host/guest split: the guest the host named last, else the previous guest."""
    guests, infos = e.prep.guests, e.prep.infos
    out, prev, pending = [-1] * len(e.unit_gold), -1, -1
    for k, gold in enumerate(e.unit_gold):
        if gold == -1:
            f = floor_of(infos[k])
            pending = guests.index(f) if f in guests else pending
            continue
        if k == 0 or e.unit_gold[k - 1] == -1:
            prev, pending = (pending if pending >= 0 else prev), -1
        out[k] = prev
    return out


def report(name: str, e: Episode, others: list[Episode]) -> list[str]:
    """The decomposition of one episode's errors, as printable lines."""
    params = fit(others)
    prep, gold = e.prep, e.unit_gold
    seq = [e.line_gold[i] for i in sorted(e.line_gold)]
    turns = 1 + sum(a != b for a, b in zip(seq, seq[1:], strict=False))
    pure = _line_share(e, gold)
    is_host = np.array([g == -1 for g in gold])
    weights = np.array([sum(i in e.line_gold for i in u.indexes) for u in prep.units])
    p_host = host_probability(prep.x, params)
    out = run(prep, params)
    decoded_host = np.array([s == -1 for s in out.path])
    turn_pass, _ = identify(prep, gold)
    oracle = decode(prep.units, prep.infos, np.where(is_host, 0.999, 0.001), prep.guests, prep.available, params)
    split: Counter[str] = Counter()
    for k, u in enumerate(prep.units):
        for i in u.indexes:
            if i in e.line_gold:
                g, p = e.line_gold[i], out.path[k]
                split["right" if g == p else "host->guest" if g == -1 else "guest->host" if p == -1
                      else "wrong guest"] += 1
    total = sum(split.values())
    return [
        f"== {name}: {total} lines, {len(prep.units)} units ({sum(u.loose for u in prep.units)} loose), "
        f"{turns} gold turns",
        f"(a) units labelled by their majority speaker: {pure:.1%}",
        f"(b) host/guest, classifier alone (lines): {((p_host > 0.5) == is_host) @ weights / weights.sum():.1%}; "
        f"after decoding: {(decoded_host == is_host) @ weights / weights.sum():.1%}",
        f"(c) which guest with the true split, decoder: {_line_share(e, oracle.path, True):.1%}; "
        f"named-else-last rule: {_line_share(e, named_else_last(e), True):.1%}",
        f"(d) all lines with the true split fed to the decoder: {_line_share(e, oracle.path):.1%}",
        f"(e) which guest with the true split, turn-level pass: {_line_share(e, turn_pass, True):.1%}; "
        f"all lines: {_line_share(e, turn_pass):.1%}",
        f"line accuracy {_line_share(e, out.path):.1%}; errors: "
        + ", ".join(f"{k} {v / total:.1%}" for k, v in split.items() if k != "right"),
    ]


def main() -> int:
    """Print the decomposition for every gold episode, each fitted on the others."""
    eps = gold_episodes()
    for name, e in eps:
        print("\n".join(report(name, e, [o for n, o in eps if n != name])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

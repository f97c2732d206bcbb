"""What each guest talks about: a second-pass hint for "which guest?" when nobody is named.

After a first decoding, each guest gets a profile: the TF-IDF vectors of the units the chain gave
them (weighted by its posterior), plus the words the host used to introduce them and their
role/affiliation. A unit then leans towards the guest whose profile its neighbourhood resembles.
Units near the one scored are left out of the profiles so a stretch cannot vouch for itself.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ingest.speakers.text import content_stems
from ingest.speakers.units import Unit

# Units pooled on each side into a unit's vector, and left out of the profiles it is compared to.
WINDOW = 2
LOOSE_WINDOW = 4


def _tfidf(docs: list[Counter[str]]) -> tuple[np.ndarray, dict[str, int]]:
    vocab: dict[str, int] = {}
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
        for w in d:
            vocab.setdefault(w, len(vocab))
    m = np.zeros((len(docs), len(vocab)))
    n = len(docs)
    for i, d in enumerate(docs):
        for w, c in d.items():
            m[i, vocab[w]] = (1 + math.log(c)) * math.log((1 + n) / (1 + df[w]))
    return m, vocab


def _normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(norms > 0, norms, 1.0)


def content_scores(units: list[Unit], guest_weight: np.ndarray, seeds: list[str]) -> np.ndarray:
    """[unit, guest] similarity of each unit's neighbourhood to each guest's profile, centred per unit.

    `guest_weight[t, g]` is the first pass's posterior that guest g says unit t; `seeds[g]` is text
    known to be about guest g (role, affiliation, the host's introduction).
    """
    n, k = guest_weight.shape
    docs = [Counter(content_stems(u.text)) for u in units]
    seed_docs = [Counter(content_stems(s)) for s in seeds]
    m, vocab = _tfidf(docs + seed_docs)
    unit_vecs, seed_vecs = m[:n], _normalise(m[n:])
    cums = np.vstack([np.zeros((1, m.shape[1])), np.cumsum(unit_vecs, axis=0)])
    weighted = np.vstack([np.zeros((1, m.shape[1], k)),
                          np.cumsum(unit_vecs[:, :, None] * guest_weight[:, None, :], axis=0)])
    total = weighted[-1]
    out = np.zeros((n, k))
    for t, u in enumerate(units):
        w = LOOSE_WINDOW if u.loose else WINDOW
        lo, hi = max(0, t - w), min(n, t + w + 1)
        vec = cums[hi] - cums[lo]
        norm = np.linalg.norm(vec)
        if norm == 0:
            continue
        profile = total - (weighted[hi] - weighted[lo])  # leave the neighbourhood out
        profile = _normalise(profile.T) + seed_vecs
        sims = _normalise(profile) @ (vec / norm)
        out[t] = sims - sims.mean()
    return out

"""The attribution pipeline for unlabelled transcripts: roster, units, features, decoding."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ingest.models import Person, Transcript
from ingest.speakers.content import content_scores
from ingest.speakers.features import UnitInfo, subject_openings, unit_features
from ingest.speakers.identity import identify
from ingest.speakers.model import WEIGHTS_FILE, Decoded, Params, decode, host_probability
from ingest.speakers.pointers import add_pointers
from ingest.speakers.roster import extend_roster, presence
from ingest.speakers.units import Unit, build_units

# Logit towards the host while she presents a subject (see `subject_openings`); 1 to 5 measured the same.
SUBJECT_LOGIT = 2.0
# Highest confidence of a line whose guest the turn pass alone disputes (see `second_opinion`).
DISAGREE_CAP = 0.49


@lru_cache(maxsize=1)
def shipped_params() -> Params:
    """The parameters trained on the labelled episodes (`python -m ingest.speakers.train`)."""
    return Params.load(WEIGHTS_FILE)


@dataclass
class Prepared:
    """An episode turned into what the model reads: units, features, facts, who may speak when."""

    units: list[Unit]
    x: np.ndarray
    infos: list[UnitInfo]
    guests: list[str]
    available: list[list[bool]]
    seeds: list[str]
    people: list[Person]   # the guests, in the order of `guests`
    roster: list[Person]


def prepare(transcript: Transcript) -> Prepared:
    """Extend the roster, rebuild units and compute their features (no learned parameter involved)."""
    extend_roster(transcript)
    meta = transcript.meta
    units = build_units(transcript.lines)
    x, infos = unit_features(units, meta.roster, meta.host, len(transcript.lines))
    guests = [p.name for p in meta.guests]
    pres = presence(transcript)
    available = [[pres.available(g, u.last) for g in guests] for u in units]
    seeds = [" ".join([p.role, p.affiliation, *pres.intro.get(p.name, [])]) for p in meta.guests]
    add_pointers(units, infos, meta.guests, seeds, meta.roster)
    return Prepared(units, x, infos, guests, available, seeds, list(meta.guests), meta.roster)


def run(prep: Prepared, params: Params, p_host: np.ndarray | None = None) -> Decoded:
    """Decode a prepared episode: a first pass, then (if its weight is set) a second pass that also
    weighs how much each unit sounds like what each guest said in the first pass, then (if
    `params.turn_weight` is set) the turn-level second opinion on which guest speaks (`second_opinion`).
    `p_host` replaces the classifier's P(host) per unit (training scores hyper-parameters on
    out-of-fold values)."""
    p_host = host_probability(prep.x, params) if p_host is None else p_host
    logit = np.log(p_host / (1 - p_host)) + SUBJECT_LOGIT * subject_openings(prep.units, prep.infos, p_host)
    p_host = 1.0 / (1.0 + np.exp(-logit))
    content = None
    if params.content:
        # The first pass at temperature 1, so that the temperature only ever changes confidences.
        first = decode(prep.units, prep.infos, p_host, prep.guests, prep.available, replace(params, temperature=1.0))
        content = content_scores(prep.units, first.posterior[:, 1:], prep.seeds)
    out = decode(prep.units, prep.infos, p_host, prep.guests, prep.available, params, content)
    if not params.turn_weight:
        return out
    untempered = out if params.temperature == 1.0 else decode(
        prep.units, prep.infos, p_host, prep.guests, prep.available, replace(params, temperature=1.0), content)
    return second_opinion(prep, out, untempered.posterior, params.turn_weight)


def second_opinion(prep: Prepared, out: Decoded, posterior: np.ndarray, weight: float) -> Decoded:
    """Re-decide which guest speaks each of the chain's guest turns with the turn-level pass
    (`identity`: the floor anywhere in the host's turn, a stay after a short interjection, the guest
    who has waited longest), the chain's own untempered opinion (`posterior`) weighing `weight` per
    unit of log-probability. Alone on the chain's split the turn pass is worse than the chain (its
    spurious guest turns cascade); with the chain's opinion it only overrides turns where the chain
    is unsure. The host/guest split stays the chain's, and each line keeps the chain's (tempered)
    posterior for the speaker it ends up with, so a changed guest mostly comes out flagged.

    Where the turn pass alone would name another guest, the confidence is capped under 0.5 (the rest
    goes to that guest): cross-episode, the chain is right on 42-50 % of such lines against 60-74 %
    where the two agree."""
    path, _ = identify(prep, out.path, prior=posterior[:, 1:], prior_weight=weight)
    alone, _ = identify(prep, out.path)
    post = out.posterior.copy()
    for k, (who, alt) in enumerate(zip(path, alone, strict=True)):
        if who != alt and post[k, who + 1] > DISAGREE_CAP:
            post[k, alt + 1] += post[k, who + 1] - DISAGREE_CAP
            post[k, who + 1] = DISAGREE_CAP
    return Decoded(path, post)


def attribute_unlabelled(transcript: Transcript, params: Params | None = None) -> Transcript:
    """Attribute every line of an unlabelled transcript in place; returns it."""
    meta = transcript.meta
    if not meta.host or not transcript.lines:
        for sl in transcript.lines:
            sl.speaker, sl.confidence = (meta.host.name if meta.host else None), 0.0
        return transcript
    prep = prepare(transcript)
    if not prep.guests:
        for sl in transcript.lines:
            sl.speaker, sl.confidence = meta.host.name, 1.0
        return transcript
    return apply_decoded(transcript, prep, run(prep, params or shipped_params()))


def apply_decoded(transcript: Transcript, prep: Prepared, out: Decoded) -> Transcript:
    """Write the decoded speaker and its posterior onto every line of each unit."""
    host = transcript.meta.host.name if transcript.meta.host else ""
    names = [host, *prep.guests]
    for u, who, post in zip(prep.units, out.path, out.posterior, strict=True):
        for i in u.indexes:
            sl = transcript.lines[i]
            sl.speaker = names[who + 1]
            sl.confidence = round(float(post[who + 1]), 4)
    return transcript

"""The attribution pipeline for unlabelled transcripts: roster, cues, two decoding passes."""

from __future__ import annotations

import dataclasses
import math

from ingest.models import Transcript
from ingest.speakers.cues import LineCues, line_cues
from ingest.speakers.model import Weights, decode
from ingest.speakers.roster import Presence, extend_roster, presence
from ingest.speakers.text import content_stems
from ingest.speakers.topics import TopicModel, cosine, intro_profiles, turn_similarities


def emissions(cues: list[LineCues], names: list[str], host_index: int, pres: Presence,
              topic: list[dict[str, float]], w: Weights) -> list[list[float]]:
    """Score of each speaker for each line from that line's cues alone.

    Two separate questions: is it the host or a guest (style cues), and if a guest, which one
    (names, self-descriptions, topic, presence). The second is a softmax over the guests present,
    so evidence about *which* guest never moves the host-versus-guest balance.
    """
    out = []
    for t, c in enumerate(cues):
        logits: dict[int, float] = {}
        for i, name in enumerate(names):
            if i == host_index or not pres.available(name, t):
                continue
            s = w.topic * topic[t].get(name, 0.0) + w.self_desc * c.self_desc.get(name, 0.0)
            if name in c.named:
                s -= w.named_self
            logits[i] = s
        norm = max(logits.values()) - w.guest_bias if logits else 0.0
        row = []
        for i in range(len(names)):
            if i == host_index:
                row.append(w.host_style * c.host_style)
            elif i in logits:
                row.append(logits[i] - norm)
            else:
                row.append(-w.absent)
        out.append(row)
    return out


def _lse(xs: list[float]) -> float:
    m = max(xs)
    return m + math.log(sum(math.exp(x - m) for x in xs))


def attribute_unlabelled(transcript: Transcript, w: Weights) -> Transcript:
    """Attribute every line of an unlabelled transcript in place; returns it."""
    extend_roster(transcript)
    meta = transcript.meta
    roster = meta.roster
    if not roster:
        for sl in transcript.lines:
            sl.speaker, sl.confidence = None, 0.0
        return transcript
    names = [p.name for p in roster]
    host_index = 0 if meta.host else -1
    guests = [p.name for p in meta.guests]
    pres = presence(transcript)
    cues = line_cues(transcript.lines, roster, meta.host)
    model = TopicModel(transcript.lines)
    # Pass 1: guests known only by the host's introduction of them.
    profiles = intro_profiles(model, meta.guests, pres.intro)
    topic = [{g: cosine(model.line_vector(t), profiles[g]) for g in guests} for t in range(len(cues))]
    path, post = decode(emissions(cues, names, host_index, pres, topic, w), cues, names, host_index, w)
    # Pass 2: guests known by what pass 1 gave them to say.
    seed = {p.name: content_stems(" ".join([p.role, p.affiliation, *pres.intro.get(p.name, [])]))
            for p in meta.guests}
    topic = turn_similarities(model, [names[i] for i in path], guests, seed)
    turn_w = dataclasses.replace(w, topic=w.topic_turn)
    path, post = decode(emissions(cues, names, host_index, pres, topic, turn_w), cues, names, host_index, w)
    for t, sl in enumerate(transcript.lines):
        sl.speaker = names[path[t]]
        sl.confidence = round(post[t][path[t]], 4)
    return transcript

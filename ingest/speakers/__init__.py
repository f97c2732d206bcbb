"""Speaker attribution: give every speech line of a transcript a roster speaker and a confidence.

Labelled transcripts keep their labels (mapped to canonical roster names when they match).
Unlabelled ones: subtitle fragments are rebuilt into sentence units (`units`), each unit gets
general style features (`features`), a logistic regression says host or guest, and a hidden
Markov chain that remembers the last guest decodes who speaks (`model`). Its parameters are
learned on labelled episodes (`train`) and shipped in `model_weights.json`.
"""

from __future__ import annotations

from ingest.models import Person, Transcript
from ingest.names import canonical
from ingest.speakers.attribution import attribute_unlabelled
from ingest.speakers.model import Params

__all__ = ["Params", "attribute", "canonical_labels"]


def attribute(transcript: Transcript, params: Params | None = None) -> Transcript:
    """Give every SpeechLine a `speaker` (canonical roster name) and a `confidence` in [0, 1].

    Extends `transcript.meta.guests` with remote guests the host introduces but the description
    omits. `params` defaults to the shipped trained model. Returns the same transcript, modified.
    """
    if transcript.labelled:
        return canonical_labels(transcript)
    return attribute_unlabelled(transcript, params)


def canonical_labels(transcript: Transcript) -> Transcript:
    """Trusted labels stay; a label that fuzzily names a roster member becomes their canonical name."""
    roster: list[Person] = transcript.meta.roster
    for sl in transcript.lines:
        raw = sl.speaker or sl.label
        if raw:
            sl.speaker = canonical(raw, roster) or raw
            sl.confidence = 1.0
    return transcript

"""Speaker attribution: give every speech line of a transcript a roster speaker and a confidence.

Labelled transcripts keep their labels (mapped to canonical roster names when they match).
Unlabelled ones go through a scored sequence model (see `model`): cues per line (`cues`), who is
present when (`roster`), what each guest talks about (`topics`), then Viterbi and forward-backward.
"""

from __future__ import annotations

from ingest.models import Person, Transcript
from ingest.names import canonical
from ingest.speakers.attribution import attribute_unlabelled
from ingest.speakers.model import Weights

__all__ = ["Weights", "attribute", "canonical_labels"]


def attribute(transcript: Transcript, weights: Weights | None = None) -> Transcript:
    """Give every SpeechLine a `speaker` (canonical roster name) and a `confidence` in [0, 1].

    Extends `transcript.meta.guests` with remote guests the host introduces but the description
    omits. Returns the same transcript object, modified.
    """
    if transcript.labelled:
        return canonical_labels(transcript)
    return attribute_unlabelled(transcript, weights or Weights())


def canonical_labels(transcript: Transcript) -> Transcript:
    """Trusted labels stay; a label that fuzzily names a roster member becomes their canonical name."""
    roster: list[Person] = transcript.meta.roster
    for sl in transcript.lines:
        raw = sl.speaker or sl.label
        if raw:
            sl.speaker = canonical(raw, roster) or raw
            sl.confidence = 1.0
    return transcript

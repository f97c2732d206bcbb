"""Calibration the product promises (`ingest.speakers.train`): on an episode the model was not trained on, the
shipped temperature puts most wrong lines under 0.5 confidence, where answers flag them "speaker uncertain"."""

from __future__ import annotations

from evals.attribution import GOLD_DIR, calibration, load_gold, pair_up
from ingest.speakers.attribution import shipped_params
from ingest.speakers.train import FLAGGED_TARGET, cross_validated


def test_the_shipped_temperature_flags_most_errors_on_an_unseen_episode() -> None:
    shipped = shipped_params().temperature
    unseen = dict(cross_validated(shipped))
    assert set(unseen) == {"smart-tech-2025-06-19", "smart-tech-2025-12-11"}
    for name, transcript in unseen.items():
        c = calibration(pair_up(transcript.lines, load_gold(GOLD_DIR / f"{name}.speakers.tsv")))
        assert c.errors >= 100  # the model is far from perfect on an unseen episode: this is a real test
        assert c.errors_low_share >= FLAGGED_TARGET, name

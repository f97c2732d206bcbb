"""A tiny end-to-end bench run: one synthetic episode, two queries. Behaviour only, never timings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from benchmarks.run import main, targets


@pytest.mark.slow
def test_a_tiny_run_writes_a_report_and_a_plot(tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert main(["--sizes", "1", "--queries", "2", "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    reports = list(out.glob("*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text(encoding="utf-8"))
    (row,) = report["sizes"]
    assert row["episodes"] == 1 and row["chunks"] > 0 and row["lines"] > 0
    assert row["ingest_cached"] is False and row["ingest_hours_per_min"] > 0
    for part in ("retrieve", "ask", "ask_nocache", "baseline"):
        assert row[part]["warm"]["n"] == 2 and row[part]["cold_ms"] > 0
        # The same warm questions, split by language (an English one also pays for its translation).
        split = row[part]["by_language"]
        assert set(split) <= {"en", "fr"} and sum(v["n"] for v in split.values()) == 2
    assert row["baseline_build"]["chunks"] > 0 and not row["baseline_build"]["stand_in_vectors"]
    assert row["index_mb"] > 0 and row["startup_s"] > 0
    assert {t["target"].split(" ")[0] for t in report["targets"]} >= {"retrieval", "full", "ingest"}
    assert all(isinstance(t["pass"], bool) for t in report["targets"])
    svg = ET.parse(out / f"{report['timestamp']}.svg").getroot()
    assert svg.tag.endswith("svg") and len(list(svg.iter("{http://www.w3.org/2000/svg}polyline"))) == 6

    # --reuse queries the same indexes again without re-ingesting or rebuilding the baseline.
    sizes = tmp_path / "cache" / "runs" / "1"
    markers = [sizes / "ours" / "marker", sizes / "baseline" / "marker"]  # an ingest or build would wipe these
    for marker in markers:
        marker.write_text("kept", encoding="utf-8")
    again = tmp_path / "again"
    assert main(["--sizes", "1", "--queries", "2", "--cache", str(tmp_path / "cache"), "--out", str(again),
                 "--reuse"]) == 0
    (reused,) = json.loads(next(again.glob("*.json")).read_text(encoding="utf-8"))["sizes"]
    assert reused["ingest_reused"] is True and reused["ingest_hours_per_min"] is None
    assert reused["chunks"] == row["chunks"] and reused["baseline_build"] is None
    assert reused["retrieve"]["warm"]["n"] == 2 and reused["baseline"]["warm"]["n"] == 2
    assert all(marker.is_file() for marker in markers)


def _row(label: str, episodes: int, retrieve: float, ask: float, base: float, ingest: float | None) -> dict:
    def lat(p95: float) -> dict:
        return {"warm": {"p50": p95 / 2, "p95": p95}, "cold_ms": p95 * 3, "maxrss_mb": 300.0}

    return {"label": label, "episodes": episodes, "retrieve": lat(retrieve), "ask": lat(ask), "ask_nocache": lat(ask),
            "baseline": lat(base), "ingest_hours_per_min": ingest}


def test_targets_are_judged_at_the_largest_size_and_the_slowest_ingest() -> None:
    rows = [_row("samples", 2, 500.0, 900.0, 10.0, 5.0), _row("1000", 1000, 80.0, 250.0, 90.0, None),
            _row("10", 10, 20.0, 100.0, 10.0, 1.5)]
    rows[0]["quality"] = {"ours_hit5": 0.8, "baseline_hit5": 0.5}
    verdicts = {v["target"].split(" (")[0]: v["pass"] for v in targets(rows)}
    assert verdicts["retrieval p95 ≤ 100 ms warm"] is True  # at 1000 episodes, not the slow samples row
    assert verdicts["ingest ≥ 2 episode-hours/min"] is False  # the 10-episode size ingested at 1.5
    assert verdicts["hit@5 right speaker above baseline"] is True
    assert verdicts["retrieval latency no worse than baseline"] is True

"""The `debrief` command's contracts: exit codes, JSON shapes, errors naming file and line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from evals.attribution import GOLD_DIR, load_gold
from tests.conftest import JUNE
from tests.fakes.openai_server import start_fake_openai


def debrief(*args: str, index: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DEBRIEF_INDEX_DIR": str(index), **(env or {})}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=full,
                          timeout=300)


def test_turns_json_is_one_object_per_speech_line(tmp_path: Path) -> None:
    out = debrief("turns", str(JUNE), "--json", index=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 408
    assert [r["line"] for r in rows] == sorted(r["line"] for r in rows)
    assert rows[0] == {"line": 6, "start": 0.0, "speaker": rows[0]["speaker"], "confidence": rows[0]["confidence"]}
    assert rows[-1]["line"] == 413 and rows[-1]["start"] == 28 * 60 + 18
    speakers = {r["speaker"] for r in rows}
    assert speakers <= {"Delphine Sabattier", "Louis Soris", "Marc Kaplan", "Dorothée Decrop", "Alain Staron"}
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)


def test_ingest_ask_json_and_episodes(sample_index: Path) -> None:
    out = debrief("ask", "Qu'a dit Marc Kaplan sur le campus quantique ?", "--json", index=sample_index)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert set(answer) == {"answer", "refused", "citations"} and answer["refused"] is False
    cite = answer["citations"][0]
    assert set(cite) == {"n", "episode_id", "episode_title", "date", "speaker", "start", "end", "url", "quote"}
    assert cite["speaker"] == "Marc Kaplan" and cite["date"] == "2025-06-19" and cite["end"] >= cite["start"]

    listed = json.loads(debrief("episodes", "--json", index=sample_index).stdout)
    assert {e["episode_id"] for e in listed} == {"smart-tech-2025-06-19", "smart-tech-2025-12-11"}


def test_a_bad_file_exits_non_zero_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "backwards.txt"
    bad.write_text("01:00Bonjour Delphine\n01:05Bonjour Alain\n00:10Merci beaucoup\n", encoding="utf-8")
    out = debrief("ingest", str(bad), index=tmp_path / "index")
    assert out.returncode == 1
    assert f"{bad}:3: timestamps go backwards" in out.stderr


def test_removing_an_unknown_episode_says_so(tmp_path: Path) -> None:
    out = debrief("remove", "nope", index=tmp_path)
    assert out.returncode == 1 and "no episode 'nope'" in out.stderr



def test_turns_llm_relabels_through_the_configured_endpoint_and_needs_one(tmp_path: Path) -> None:
    missing = debrief("turns", str(JUNE), "--json", "--llm", index=tmp_path)
    assert missing.returncode == 2 and "DEBRIEF_LLM_MODEL" in missing.stderr and not missing.stdout

    gold = load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv")

    def model(body: dict[str, Any]) -> str:  # follows the show: answers the human labels
        asked = re.findall(r"^(\d+) \[", body["messages"][1]["content"].split("LABEL:")[1], re.MULTILINE)
        return json.dumps({n: gold[int(n)].speaker if int(n) in gold else "Delphine Sabattier" for n in asked})

    offline = [json.loads(r) for r in debrief("turns", str(JUNE), "--json", index=tmp_path).stdout.splitlines()]
    with start_fake_openai(model) as fake:
        out = debrief("turns", str(JUNE), "--json", "--llm", index=tmp_path,
                      env={"DEBRIEF_LLM_MODEL": "fake-model", "OPENAI_BASE_URL": fake.base_url})
    assert out.returncode == 0, out.stderr
    assert "speaker LLM pass:" in out.stderr and fake.requests
    rows = [json.loads(r) for r in out.stdout.splitlines()]
    assert [r["line"] for r in rows] == [r["line"] for r in offline]
    by_line = {r["line"]: r for r in rows}
    before = {r["line"]: r for r in offline}
    assert before[297]["speaker"] == "Louis Soris" and by_line[297]["speaker"] == "Alain Staron"
    assert all(by_line[n]["speaker"] == r["speaker"] for n, r in before.items() if r["confidence"] >= 0.5)

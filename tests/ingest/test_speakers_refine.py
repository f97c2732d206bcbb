"""The optional speaker LLM pass, against a real OpenAI-compatible HTTP server on 127.0.0.1.

The fake model is scripted (it stands in for a remote LLM): it can answer from the human-checked gold labels
(a model that follows the show), or like a broken or careless model. What is tested is our side: which lines are
sent, what comes back, which replies are trusted, and that a failing endpoint never costs the offline labels.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from evals.attribution import GOLD_DIR, line_accuracy, load_gold, pair_up
from ingest.models import Transcript
from ingest.parse import parse_file
from ingest.pipeline import PARTIAL, attribute_speakers, prepare
from ingest.speakers import attribute
from ingest.speakers.refine import MIN_SURE, REACH, UNSURE, WINDOW, refine_speakers, windows
from rag.llm import OpenAICompatibleChat, speaker_chat_model
from rag.settings import Settings
from tests.conftest import JUNE
from tests.fakes.openai_server import FakeOpenAI, start_fake_openai

GOLD = {n: g.speaker for n, g in load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv").items()}
HOST = "Delphine Sabattier"


@pytest.fixture(scope="module")
def june_attributed() -> Transcript:
    """The June sample as the offline chain attributes it (copied per test: refine works in place)."""
    return attribute(parse_file(JUNE))


@pytest.fixture()
def june(june_attributed: Transcript) -> Transcript:
    return copy.deepcopy(june_attributed)


def asked_lines(body: dict[str, Any]) -> list[int]:
    """The physical line numbers a request asks the model to label."""
    to_label = body["messages"][1]["content"].split("LABEL:")[1]
    return [int(n) for n in re.findall(r"^(\d+) \[", to_label, re.MULTILINE)]


def from_gold(body: dict[str, Any]) -> str:
    """A model that follows the show: it answers what the human labels say."""
    return json.dumps({str(n): GOLD.get(n, HOST) for n in asked_lines(body)}, ensure_ascii=False)


def chat(fake: FakeOpenAI) -> OpenAICompatibleChat:
    """The client the speaker pass gets at ingest, pointed at the fake."""
    return speaker_chat_model(Settings(llm_model="fake-model", llm_base_url=fake.base_url, llm_api_key="test-key",
                                       llm_timeout_s=5.0, _env_file=None))  # type: ignore[call-arg]


def test_windows_cover_every_unsure_line_once_and_hold_sure_lines_to_check_against(june: Transcript) -> None:
    found = windows(june.lines)
    cores = [i for w in found for i in range(w.core_start, w.core_end)]
    assert len(cores) == len(set(cores))  # no line is relabelled twice
    assert all(w.core_end - w.core_start <= WINDOW for w in found)
    unsure = {i for i, ln in enumerate(june.lines) if ln.confidence < UNSURE}
    assert unsure and unsure <= set(cores)
    # Every core starts on a line the chain is unsure of: sure stretches alone are never sent.
    assert all(june.lines[w.core_start].confidence < UNSURE for w in found)
    for w in found:
        assert w.core_start - REACH <= w.start <= w.core_start and w.core_end <= w.end <= w.core_end + REACH
        assert sum(ln.confidence >= UNSURE for ln in june.lines[w.start:w.end]) >= MIN_SURE


def test_a_model_that_follows_the_show_fixes_unsure_lines_and_leaves_sure_ones(june: Transcript) -> None:
    before = {ln.line: (ln.speaker, ln.confidence) for ln in june.lines}
    offline = line_accuracy(pair_up(june.lines, load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv")))

    with start_fake_openai(from_gold) as fake:
        report = refine_speakers(june, chat(fake))

    after = line_accuracy(pair_up(june.lines, load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv")))
    assert report.failure is None and report.accepted == report.windows == len(fake.requests) > 0
    assert report.changed > 50
    assert offline < 0.8 and after > 0.95
    for ln in june.lines:
        speaker, confidence = before[ln.line]
        assert ln.confidence == confidence  # the model's labels are not calibrated: confidence never rises
        if confidence >= UNSURE:
            assert ln.speaker == speaker  # sure lines are the exam, never the answer


def test_the_request_carries_the_roster_the_context_and_only_speech_lines(june: Transcript) -> None:
    with start_fake_openai(from_gold) as fake:
        refine_speakers(june, chat(fake))
    first, second = fake.requests[0], fake.requests[1]
    system, user = first["messages"][0]["content"], first["messages"][1]["content"]
    assert "Delphine Sabattier (the host)" in system
    assert "Louis" in system and "Avocat" in system  # guests with their roles, from the description line
    assert first["stream"] is True and first["temperature"] == 0.0
    speech = {ln.line for ln in june.lines}
    assert set(asked_lines(first)) <= speech and len(asked_lines(first)) <= WINDOW
    # Later windows show the lines before them, labelled, so the model knows who had the floor.
    assert "BEFORE:" in second["messages"][1]["content"]
    assert re.search(r"^\d+ \[\d\d:\d\d\] \((Delphine Sabattier|[A-ZÉ][\w-]+ [\w-]+)\) ",
                     second["messages"][1]["content"].split("LABEL:")[0], re.MULTILINE)
    assert "LABEL:" in user


def _contradict_the_sure_lines(june: Transcript) -> Any:
    sure = {ln.line for ln in june.lines if ln.confidence >= UNSURE}
    guests = [p.name for p in june.meta.guests]

    def model(body: dict[str, Any]) -> str:
        labels = {}
        for n in asked_lines(body):
            right = GOLD.get(n, HOST)
            labels[str(n)] = next(g for g in guests if g != right) if n in sure else right
        return json.dumps(labels)

    return model


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("Je pense que c'est Delphine qui parle, puis Alain.", "no JSON object"),
        ('{"17": "Delphine Sabattier", ', "no JSON object"),
        (lambda body: json.dumps({str(n): "Emmanuel Macron" for n in asked_lines(body)}), "not on the roster"),
        (lambda body: json.dumps({str(n): HOST for n in asked_lines(body)[:3]}), "labelled 3 of"),
        ("contradict", "lines the chain is sure of"),
        ("", "no JSON object"),  # an empty reply is a bad window, not an endpoint down: the pass goes on
    ],
)
def test_a_reply_that_fails_a_check_changes_nothing(june: Transcript, reply: Any, reason: str) -> None:
    before = [(ln.speaker, ln.confidence) for ln in june.lines]
    script = _contradict_the_sure_lines(june) if reply == "contradict" else reply
    with start_fake_openai(script) as fake:
        report = refine_speakers(june, chat(fake))
    assert [(ln.speaker, ln.confidence) for ln in june.lines] == before
    assert report.accepted == 0 and report.changed == 0 and report.windows > 0
    assert len(report.rejected) == report.windows and reason in report.rejected[0]


def test_a_model_that_calls_everyone_the_host_is_stopped_by_the_host_guest_check(june: Transcript) -> None:
    # The lines the chain is sure of are mostly the host's, so this lazy model passes that exam; the host/guest
    # agreement over the whole window is what stops it (a window of host talk only may rightly pass).
    offline = line_accuracy(pair_up(june.lines, load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv")))
    with start_fake_openai(lambda body: json.dumps({str(n): HOST for n in asked_lines(body)})) as fake:
        report = refine_speakers(june, chat(fake))
    after = line_accuracy(pair_up(june.lines, load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv")))
    assert report.accepted <= 1 < report.windows
    assert all("host or guest" in why for why in report.rejected)
    assert after > offline - 0.02


def test_a_fenced_json_reply_with_first_names_is_understood(june: Transcript) -> None:
    def model(body: dict[str, Any]) -> str:
        labels = {str(n): GOLD.get(n, HOST).split()[0] for n in asked_lines(body)}
        return "Voici les locuteurs :\n```json\n" + json.dumps(labels, ensure_ascii=False) + "\n```"

    with start_fake_openai(model) as fake:
        report = refine_speakers(june, chat(fake))
    assert report.accepted == report.windows and report.changed > 50


@pytest.mark.parametrize("mode", ["down", "fail"])
def test_a_failing_endpoint_stops_the_pass_and_keeps_the_offline_labels(june: Transcript, mode: Any) -> None:
    before = [(ln.speaker, ln.confidence) for ln in june.lines]
    with start_fake_openai(from_gold, mode=mode) as fake:
        report = refine_speakers(june, chat(fake))
    assert [(ln.speaker, ln.confidence) for ln in june.lines] == before
    assert report.failure and report.windows == 0
    assert len(fake.requests) <= 1  # it stops at the first failure instead of trying every window
    assert "stopped" in report.summary()


def test_human_corrections_override_the_llm(tmp_path: Path) -> None:
    path = tmp_path / JUNE.name
    shutil.copyfile(JUNE, path)
    # Lines 85-93 are Marc Kaplan's; the correction says otherwise, and the human wins over the model.
    (tmp_path / f"{JUNE.name}.corrections.tsv").write_text("85\t93\tAlain Staron\n", encoding="utf-8")
    transcript = parse_file(path)
    with start_fake_openai(from_gold) as fake:
        report = attribute_speakers(transcript, path, chat(fake))
    assert report is not None and report.accepted > 0
    by_line = {ln.line: ln for ln in transcript.lines}
    assert {by_line[n].speaker for n in range(85, 94) if n in by_line} == {"Alain Staron"}
    assert by_line[85].confidence == 1.0


def test_a_version_whose_pass_failed_is_marked_partial_so_the_next_ingest_retries(tmp_path: Path) -> None:
    path = tmp_path / JUNE.name
    shutil.copyfile(JUNE, path)
    with start_fake_openai(from_gold, mode="down") as fake:
        failed = prepare(path, speaker_llm=chat(fake))
    with start_fake_openai(from_gold) as fake:
        done = prepare(path, speaker_llm=chat(fake))
    assert failed.version.endswith(PARTIAL) and failed.refine is not None and failed.refine.failure
    assert done.version == failed.version.removesuffix(PARTIAL)
    assert done.refine is not None and done.refine.accepted > 0
    # Chunks carry the version they were made under: the partial episode's never pass for the complete one.
    assert all(PARTIAL in c.chunk_id for c in failed.chunks)

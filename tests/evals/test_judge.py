"""The LLM judge against a real OpenAI-compatible HTTP server on 127.0.0.1 (the fake at the system edge)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from evals.judge import Judge
from rag.types import Citation

fake_server = pytest.importorskip("tests.fakes.openai_server")

QUOTE = ("Si à la sortie, la commande publique continue à passer auprès d'hyperscalaires américains, "
         "je ne vois pas trop ce qu'on y gagne.")
CITATION = Citation(n=1, episode_id="smart-tech-2025-12-11", episode_title="SMART TECH — 2025-12-11",
                    date="2025-12-11", speaker="Julien Pillot", start=433.0, end=437.0,
                    url="http://127.0.0.1:7860/episode/smart-tech-2025-12-11#L126", quote=QUOTE,
                    first_line=126, last_line=127)
ANSWER = "Julien Pillot warned that public procurement still goes to American hyperscalers [1]."
FACTS = ["commande publique", "hyperscalaires américains", "acteurs français"]


def grade(judge: Judge) -> Any:
    return judge.grade("What did Julien Pillot say about public procurement?", "en", ANSWER, [CITATION], FACTS)


def test_judge_sends_question_answer_segments_and_facts_and_reads_the_verdict() -> None:
    reply = ('{"faithfulness": 1.0, "correctness": 0.67, "language_match": true, '
             '"reason": "supported by [1]; misses acteurs français"}')
    with fake_server.start_fake_openai(reply) as fake:
        verdict = grade(Judge(fake.base_url, "test", "judge-model"))
        body = fake.last_request
    assert verdict.error is None
    assert (verdict.faithfulness, verdict.correctness, verdict.language_match) == (1.0, 0.67, True)
    assert body["model"] == "judge-model"
    sent = body["messages"][-1]["content"]
    assert "What did Julien Pillot say about public procurement?" in sent
    assert "[1] Julien Pillot" in sent and QUOTE in sent
    assert "acteurs français" in sent and ANSWER in sent


def test_unanswerable_question_tells_the_judge_there_are_no_key_facts() -> None:
    with fake_server.start_fake_openai('{"faithfulness": 1, "correctness": 1, "language_match": true}') as fake:
        Judge(fake.base_url, "test", "judge-model").grade(
            "What did Louis Soris say about data centers?", "en",
            "The transcripts do not say what Louis Soris thinks about data centers.", [], [])
        sent = fake.last_request["messages"][-1]["content"]
    assert "no key facts" in sent.lower() or "do not answer" in sent


@pytest.mark.parametrize("mode", ["fail", "garbage", "down"])
def test_endpoint_failures_become_verdict_errors_not_exceptions(mode: str) -> None:
    with fake_server.start_fake_openai("{}", mode=mode) as fake:
        verdict = grade(Judge(fake.base_url, "test", "judge-model", timeout_s=5))
    assert verdict.error
    assert verdict.faithfulness is None and verdict.correctness is None


def test_judge_reply_without_json_is_an_error() -> None:
    with fake_server.start_fake_openai("I think this answer is quite good.") as fake:
        verdict = grade(Judge(fake.base_url, "test", "judge-model"))
    assert verdict.error and "no JSON" in verdict.error


def _answer_or_grade(body: dict[str, Any]) -> str:
    """Plays both roles on one endpoint: the answering model (cites segment 1 by its speaker) and the judge."""
    system = body["messages"][0]["content"]
    if system.startswith("You grade answers"):
        return '{"faithfulness": 0.75, "correctness": 0.5, "language_match": true, "reason": "partly"}'
    user = body["messages"][-1]["content"]
    speaker = re.search(r'<segment id="1" speaker="([^"]+)"', user)
    if speaker is None:
        return "The segments do not answer this question."
    return f"{speaker.group(1)} en a parlé dans l'émission [1]."


def test_llm_suite_answers_with_the_model_and_grades_with_the_judge(
        sample_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evals import metrics as m
    from evals import run

    # Pillot on procurement (EN, FR twin), NumSpot's president (EN, FR twin), an unanswerable topic.
    wanted = {"q01", "q02", "q04", "q05", "q72"}
    questions = [q for q in m.load_questions(run.QUESTIONS) if q.id in wanted]
    with fake_server.start_fake_openai(_answer_or_grade) as fake:
        monkeypatch.setenv("DEBRIEF_LLM_MODEL", "fake-model")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        report = run.run_suite(run.load_config(run.DEFAULT_CONFIG), "llm", index_dir=sample_index,
                               questions=questions, env_file=False)
        graded = [b for b in fake.requests if b["messages"][0]["content"].startswith("You grade answers")]
    assert report["settings"]["llm_model"] == "fake-model"
    by_id = {q["id"]: q for q in report["questions"]}
    # The model is only asked when the evidence supports an answer; its answers name the cited speaker.
    written = [q for q in report["questions"] if q["mode"] == "llm"]
    assert written, "no question reached the language model"
    for q in written:
        assert q["answer"].startswith(q["citations"][0]["speaker"])
    assert by_id["q72"]["refused"]
    assert len(graded) == len(wanted)
    assert report["metrics"]["judge.faithfulness"] == pytest.approx(0.75)
    assert report["metrics"]["judge.correctness"] == pytest.approx(0.5)
    assert report["metrics"]["judge.errors"] == 0
    assert by_id["q72"]["verdict"]["faithfulness"] == 0.75

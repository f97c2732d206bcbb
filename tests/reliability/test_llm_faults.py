"""LLM endpoint faults, end to end: `OPENAI_BASE_URL` points at a fake OpenAI-compatible server that fails, stalls,
answers too slowly, sends garbage or is not there. Through the UI's `/api/ask` and the Slack bot's HTTP endpoint,
every question still gets the extractive answer with a notice saying why, and both servers keep serving.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.assistant import Assistant
from rag.embedders import Embedder
from rag.settings import Settings
from tests.fakes.openai_server import FakeOpenAI, start_fake_openai
from tests.fakes.slack_api import FakeSlackAPI
from tests.reliability.conftest import PILLOT_QUESTION, serve_app
from tests.reliability.http import call
from tests.ui.test_slack_http import BOT_TOKEN, SECRET, BotServer, block_text, has, mention
from ui.app import build_app
from ui.slack.app import SlackCredentials, make_http_server
from ui.slack.app import build_app as build_slack_app

TIMEOUT_S = 1.5  # the client's LLM timeout; "slow" and "stall" wait longer than this
# A reply the verifier accepts: names the cited speaker and cites segment 1.
GOOD_REPLY = "Julien Pillot parle de la commande publique [1]."
FAULTS = ["fail", "slow", "stall", "garbage", "down"]


@pytest.fixture()
def fake_llm() -> Iterator[FakeOpenAI]:
    with start_fake_openai(GOOD_REPLY, delay_s=TIMEOUT_S * 3) as fake:
        yield fake


@pytest.fixture()
def llm_assistant(sample_index: Path, embedder: Embedder, fake_llm: FakeOpenAI,
                  monkeypatch: pytest.MonkeyPatch) -> Assistant:
    """An Assistant configured the way a user configures one: from the environment."""
    fake_llm.mode = "ok"
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("DEBRIEF_LLM_MODEL", "fake-model")
    monkeypatch.setenv("DEBRIEF_LLM_TIMEOUT_S", str(TIMEOUT_S))
    monkeypatch.setenv("DEBRIEF_INDEX_DIR", str(sample_index))
    assistant = Assistant(Settings(_env_file=None), embedder=embedder)  # type: ignore[call-arg]
    assert assistant.llm_enabled and assistant.settings.llm_base_url == fake_llm.base_url
    return assistant


def set_mode(fake: FakeOpenAI, mode: str) -> None:
    """Switch the fake's mode; "down" (always last) stops it, so its port refuses connections."""
    if mode == "down":
        fake.close()
    else:
        fake.mode = mode  # type: ignore[assignment]


def _get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_api_ask_falls_back_to_quotes_with_a_notice_on_every_llm_fault(
    llm_assistant: Assistant, fake_llm: FakeOpenAI
) -> None:
    with serve_app(build_app(llm_assistant)) as base:
        status, ok = call(f"{base}/api/ask", {"question": PILLOT_QUESTION})
        assert status == 200 and ok["mode"] == "llm" and ok["notice"] is None
        assert ok["answer"].startswith("Julien Pillot parle de la commande publique [1]")

        expected_reason = {"fail": "HTTP 500", "slow": f"within {TIMEOUT_S:g} s", "stall": "stalled",
                           "garbage": "unreadable stream", "down": "cannot reach the LLM endpoint"}
        for fault in FAULTS:
            set_mode(fake_llm, fault)
            status, body = call(f"{base}/api/ask", {"question": PILLOT_QUESTION})
            assert status == 200, (fault, body)
            assert body["mode"] == "extractive" and not body["refused"], fault
            assert body["notice"].startswith("The language model failed"), fault
            assert expected_reason[fault] in body["notice"], (fault, body["notice"])
            assert body["citations"] and {c["speaker"] for c in body["citations"]} == {"Julien Pillot"}
            assert _get_json(f"{base}/healthz")[0] == 200  # the server is still up
        status, episodes = _get_json(f"{base}/api/episodes")
        assert status == 200 and len(episodes) == 2


@pytest.fixture()
def slack_fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as api:
        yield api


def test_slack_bot_falls_back_to_quotes_with_a_notice_on_every_llm_fault(
    llm_assistant: Assistant, fake_llm: FakeOpenAI, slack_fake: FakeSlackAPI
) -> None:
    credentials = SlackCredentials(bot_token=BOT_TOKEN, signing_secret=SECRET, api_url=slack_fake.url + "/api/")
    server = make_http_server(build_slack_app(llm_assistant, credentials), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    bot = BotServer(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        for fault in FAULTS:
            slack_fake.reset()
            set_mode(fake_llm, fault)
            assert bot.event(mention(PILLOT_QUESTION))[0] == 200, fault
            calls = slack_fake.wait_for(has("chat.update"))
            [update] = [c for c in calls if c.method == "chat.update"]
            text = block_text(update.body["blocks"])
            assert ":warning: The language model failed" in text, (fault, text)
            assert "*Julien Pillot* · 2025-12-11 · <http" in text, fault
            assert not text.startswith("Sorry"), fault
            with urllib.request.urlopen(bot.url + "/healthz", timeout=10) as response:
                assert response.read() == b"ok"
    finally:
        server.shutdown()
        server.server_close()

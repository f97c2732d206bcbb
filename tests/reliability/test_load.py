"""Load, short form (the full 60 s run is `scripts/loadtest.py`): 20 users asking for 10 s through the UI's JSON API
and through the Slack bot's signed HTTP endpoint; every answer valid, no errors. And an ingest while users ask:
their answers stay valid throughout, and the new episode is answerable afterwards.

No latency is asserted (the machine's load is not the code's fault); the figures are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.embedders import Embedder
from rag.types import Filters, IngestResult
from tests.conftest import JUNE
from tests.fakes.slack_api import FakeSlackAPI
from tests.reliability.conftest import QUESTIONS, make_assistant, serve_app
from tests.reliability.load import api_asker, run_users, slack_asker
from tests.ui.test_slack_http import BOT_TOKEN, SECRET, BotServer, mention
from ui.app import build_app
from ui.slack import blocks as kit
from ui.slack.app import SlackCredentials, make_http_server
from ui.slack.app import build_app as build_slack_app

USERS = 20
DURATION_S = 10.0
NEW_EPISODE = "smart-tech-2025-07-03"


@pytest.fixture(scope="module")
def shared_assistant(sample_index: Path, embedder: Embedder) -> Assistant:
    """The Assistant both servers use, each question asked once first: the load runs measure the steady state,
    not the first answers' cold caches (scripts/loadtest.py reports those separately)."""
    assistant = make_assistant(sample_index, embedder)
    for question in QUESTIONS:
        assistant.ask(question)
    return assistant


@pytest.mark.slow
def test_ui_api_serves_20_users_without_errors(shared_assistant: Assistant) -> None:
    with serve_app(build_app(shared_assistant)) as base:
        result = run_users("UI /api/ask", api_asker(base, QUESTIONS), USERS, DURATION_S)
    print("\n" + result.summary())
    assert result.errors == []
    assert len(result.latencies) >= USERS  # every user got at least one answer


@pytest.fixture()
def slack_bot(shared_assistant: Assistant) -> Iterator[tuple[BotServer, FakeSlackAPI]]:
    with FakeSlackAPI() as fake:
        credentials = SlackCredentials(bot_token=BOT_TOKEN, signing_secret=SECRET, api_url=fake.url + "/api/")
        server = make_http_server(build_slack_app(shared_assistant, credentials), "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield BotServer(f"http://127.0.0.1:{server.server_address[1]}"), fake
        finally:
            server.shutdown()
            server.server_close()


@pytest.mark.slow
def test_slack_endpoint_serves_20_users_without_errors(slack_bot: tuple[BotServer, FakeSlackAPI]) -> None:
    bot, fake = slack_bot
    result = run_users("Slack /slack/events", slack_asker(bot, fake, QUESTIONS, mention, kit.ERROR_TEXT),
                       USERS, DURATION_S)
    print("\n" + result.summary())
    assert result.errors == []
    assert len(result.latencies) >= USERS


@pytest.mark.slow
def test_ingesting_while_users_ask_breaks_no_answer(index_copy: Path, tmp_path: Path, embedder: Embedder) -> None:
    assistant = make_assistant(index_copy, embedder)
    folder = tmp_path / "third"
    folder.mkdir()
    third = folder / f"{NEW_EPISODE}.txt"
    shutil.copyfile(JUNE, third)  # the June show again, as another episode on another date
    (folder / f"{NEW_EPISODE}.txt.json").write_text(json.dumps({"date": "2025-07-03", "episode_id": NEW_EPISODE}))

    ingest_done = threading.Event()
    during: list[int] = []  # requests completed while the ingest was running

    with serve_app(build_app(assistant)) as base:
        ask = api_asker(base, QUESTIONS)

        def counting(uid: int, i: int) -> None:
            ask(uid, i)
            if not ingest_done.is_set():
                during.append(1)

        results: list[IngestResult] = []

        def ingest() -> None:
            try:
                results.extend(assistant.ingest([folder]))
            finally:
                ingest_done.set()

        ingester = threading.Thread(target=ingest)
        ingester.start()
        # Users ask until the ingest is over (time and request caps bound the run either way).
        load = run_users("asks during ingest", counting, users=4, duration_s=300, max_requests=400, stop=ingest_done)
        ingester.join()
    print("\n" + load.summary() + f"; {len(during)} completed while ingesting")
    assert load.errors == []
    assert during, "no question was answered while the ingest ran"
    [result] = results
    assert result.status == "added" and result.episode_id == NEW_EPISODE
    # After the ingest, the same users' questions reach the new episode too.
    answer = assistant.ask("Qu'a dit Marc Kaplan sur le campus quantique ?", Filters(episodes=[NEW_EPISODE]))
    assert not answer.refused and {c.episode_id for c in answer.citations} == {NEW_EPISODE}
    assert {c.speaker for c in answer.citations} == {"Marc Kaplan"}

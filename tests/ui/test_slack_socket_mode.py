"""The Slack bot in Socket Mode end to end: envelopes in over a real websocket, acks back, Web API calls out.

`tests.fakes.slack_socket.FakeSocketMode` plays Slack's side: `apps.connections.open` on the fake Web API (which
checks the `xapp-` token) and a websocket speaking RFC 6455 that greets with `hello`, pushes envelopes, records the
bot's acks and can ask it to reconnect. The bot is the one `run()` starts: `build_app` plus `socket_mode_handler`.
Answers come from a real `Assistant` over the two real sample episodes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from slack_sdk.errors import SlackApiError

from rag.settings import Settings
from rag.types import Answer, Filters, Message
from tests.fakes.slack_api import Call, FakeSlackAPI
from tests.fakes.slack_socket import APP_TOKEN, Ack, FakeSocketMode
from tests.ui.test_slack_http import (
    ASKER,
    BOT_TOKEN,
    CHANNEL,
    PILLOT_QUESTION,
    assert_looking_then_update,
    assert_pillot_answer,
    block_text,
    chat_calls,
    event_callback,
    has,
    mention,
    slash_command,
)
from ui.slack.app import SlackCredentials, build_app, socket_mode_handler

if TYPE_CHECKING:  # the real import waits for the fixture: it loads Chroma and the embedder
    from rag.assistant import Assistant


class GatedAssistant:
    """The real Assistant behind a gate a test can close, to hold an answer back while it looks at the acks."""

    def __init__(self, inner: Assistant) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.gate.set()
        self.asked = threading.Event()

    def ask(self, question: str, filters: Filters | None = None, history: list[Message] | None = None) -> Answer:
        self.asked.set()
        if not self.gate.wait(timeout=60):
            raise TimeoutError("the test never opened the gate")
        return self.inner.ask(question, filters, history)


# -- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_assistant(sample_index: Path) -> Assistant:
    from rag.assistant import Assistant

    settings = Settings(index_dir=sample_index, llm_model=None, llm_base_url=None, llm_api_key=None, _env_file=None)  # type: ignore[call-arg]
    return Assistant(settings)


@pytest.fixture()
def assistant(real_assistant: Assistant) -> Iterator[GatedAssistant]:
    gated = GatedAssistant(real_assistant)
    yield gated
    gated.gate.set()  # never leave a Bolt worker stuck behind a failed test


@pytest.fixture()
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture()
def slack(api: FakeSlackAPI) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(api) as fake:
        yield fake


@pytest.fixture()
def bot(assistant: GatedAssistant, api: FakeSlackAPI, slack: FakeSocketMode) -> Iterator[None]:
    """The bot connected over Socket Mode; closed (threads and socket) before the fakes stop."""
    credentials = SlackCredentials(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=api.url + "/api/")
    handler = socket_mode_handler(build_app(assistant, credentials), APP_TOKEN)
    try:
        handler.connect()
        slack.wait_for(lambda s: len(s.sessions) == 1)
        yield
    finally:
        # Hanging up first wakes the client's reader, which otherwise holds `close()` for its 3 s receive timeout;
        # closing while it still handles the hang-up races in slack_sdk (`Connection.disconnect` is check-then-lock).
        slack.hang_up()
        deadline = time.monotonic() + 10
        while handler.client.is_connected() and time.monotonic() < deadline:
            time.sleep(0.01)
        handler.close()


# -- helpers ------------------------------------------------------------------------------------------------
def acked(*envelope_ids: str) -> Callable[[FakeSocketMode], bool]:
    return lambda s: all(s.ack_for(e) for e in envelope_ids)


def only_ack(slack: FakeSocketMode, envelope_id: str) -> Ack:
    """The single ack of `envelope_id`: a bare `{"envelope_id": ...}` (no inline payload)."""
    acks = slack.ack_for(envelope_id)
    assert len(acks) == 1, acks
    assert acks[0].message == {"envelope_id": envelope_id}
    return acks[0]


def posts_in_thread(calls: list[Call], thread_ts: str) -> list[Call]:
    return [c for c in calls if c.method == "chat.postMessage" and c.body.get("thread_ts") == thread_ts]


def assert_answers_pillot_on_current_session(slack: FakeSocketMode, api: FakeSlackAPI, session: int) -> None:
    api.reset()
    event = mention(PILLOT_QUESTION)
    envelope = slack.push_event(event_callback(event))
    slack.wait_for(acked(envelope))
    assert only_ack(slack, envelope).session == session
    calls = api.wait_for(has("chat.update"))
    assert_pillot_answer(assert_looking_then_update(calls, CHANNEL, event["ts"]))


# -- tests --------------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("bot")
def test_connects_with_the_app_token_and_does_not_ack_hello(api: FakeSlackAPI, slack: FakeSocketMode) -> None:
    opens = api.calls_to("apps.connections.open")
    assert [c.headers["token"] for c in opens] == [APP_TOKEN]  # the app-level token, not the bot token
    assert opens[0].response["ok"] is True
    assert slack.sessions[0].ticket == slack.opened[0] and not slack.rejected
    assert slack.acks == []  # `hello` carries no envelope_id and must not be answered


@pytest.mark.usefixtures("bot")
def test_mention_is_acked_before_answering_then_answered_in_its_thread(
    assistant: GatedAssistant, api: FakeSlackAPI, slack: FakeSocketMode
) -> None:
    assistant.gate.clear()  # the answer cannot be ready until the ack has been checked
    event = mention(PILLOT_QUESTION)
    envelope = slack.push_event(event_callback(event))
    slack.wait_for(acked(envelope))
    assert only_ack(slack, envelope).session == 1
    assert assistant.asked.wait(timeout=60)
    assert not api.calls_to("chat.update")  # acked within Slack's 3 s, not after the seconds an answer takes
    assistant.gate.set()
    calls = api.wait_for(has("chat.update"))
    update = assert_looking_then_update(calls, CHANNEL, event["ts"])
    assert_pillot_answer(update)
    assert "Julien Pillot" in update.body["text"]


@pytest.mark.usefixtures("bot")
def test_slash_command_is_acked_bare_and_answered_under_the_posted_question(
    api: FakeSlackAPI, slack: FakeSocketMode
) -> None:
    envelope = slack.push_command(slash_command(PILLOT_QUESTION, api.url + "/hooks/T0SMARTECH/1/abc"))
    slack.wait_for(acked(envelope))
    only_ack(slack, envelope)  # accepts_response_payload, but the answer is posted, not put in the ack
    calls = api.wait_for(has("chat.update"))
    echo = chat_calls(calls)[0]
    assert echo.method == "chat.postMessage" and echo.body["channel"] == CHANNEL and "thread_ts" not in echo.body
    assert block_text(echo.body["blocks"]) == f"<@{ASKER}> asked: {PILLOT_QUESTION}"
    update = assert_looking_then_update(calls[calls.index(echo) + 1 :], CHANNEL, echo.response["ts"])
    assert_pillot_answer(update)
    assert not [c for c in calls if c.method.startswith("hook:")]  # the bot could post, so no response_url


@pytest.mark.usefixtures("bot")
def test_empty_slash_command_gets_help_through_the_response_url(api: FakeSlackAPI, slack: FakeSocketMode) -> None:
    envelope = slack.push_command(slash_command("  ", api.url + "/hooks/T0SMARTECH/3/empty"))
    slack.wait_for(acked(envelope))
    only_ack(slack, envelope)
    calls = api.wait_for(has("hook:/hooks/T0SMARTECH/3/empty"))
    assert "public procurement" in block_text(chat_calls(calls)[0].body["blocks"])
    assert not api.calls_to("chat.postMessage")


@pytest.mark.usefixtures("bot")
def test_redelivered_envelope_is_acked_but_answered_once(api: FakeSlackAPI, slack: FakeSocketMode) -> None:
    event = mention(PILLOT_QUESTION)
    body = event_callback(event)
    first = slack.push_event(body)
    again = slack.push_event(body, retry_attempt=1, retry_reason="timeout")  # same event_id, new envelope
    slack.wait_for(acked(first, again))  # Slack keeps redelivering what is not acked, so both must be
    only_ack(slack, first)
    only_ack(slack, again)
    api.wait_for(has("chat.update"))
    # A later question, answered, shows any second answer to the first would have started by now.
    later = mention("")
    slack.wait_for(acked(slack.push_event(event_callback(later))))
    calls = api.wait_for(lambda calls: bool(posts_in_thread(calls, later["ts"])))
    assert len(posts_in_thread(calls, event["ts"])) == 1
    assert len(api.calls_to("chat.update")) == 1


@pytest.mark.usefixtures("bot")
def test_refresh_requested_disconnect_reconnects_with_a_new_ticket_and_keeps_answering(
    api: FakeSlackAPI, slack: FakeSocketMode
) -> None:
    slack.disconnect("refresh_requested")
    slack.wait_for(lambda s: len(s.sessions) == 2 and s.sessions[0].closed)  # new socket, old one let go
    opens = api.calls_to("apps.connections.open")
    assert [c.headers["token"] for c in opens] == [APP_TOKEN, APP_TOKEN]
    assert [s.ticket for s in slack.sessions] == slack.opened and len(set(slack.opened)) == 2
    assert not slack.rejected  # never retried the spent URL
    assert not slack.sessions[1].closed
    assert_answers_pillot_on_current_session(slack, api, session=2)


@pytest.mark.slow
@pytest.mark.usefixtures("bot")
def test_server_hang_up_without_warning_reconnects_and_keeps_answering(
    api: FakeSlackAPI, slack: FakeSocketMode
) -> None:
    # slack_sdk's client only notices on its next health check (`ping_interval`, 10 s under Bolt), hence slow.
    slack.drop()
    slack.wait_for(lambda s: len(s.sessions) == 2, timeout=60)
    assert len(api.calls_to("apps.connections.open")) == 2 and not slack.rejected
    assert_answers_pillot_on_current_session(slack, api, session=2)


def test_revoked_app_token_fails_to_connect_loudly(
    assistant: GatedAssistant, api: FakeSlackAPI, slack: FakeSocketMode
) -> None:
    credentials = SlackCredentials(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=api.url + "/api/")
    handler = socket_mode_handler(build_app(assistant, credentials), "xapp-1-A0DEBRIEF-revoked-0000")
    try:
        with pytest.raises(SlackApiError) as caught:
            handler.connect()
        assert caught.value.response["error"] == "invalid_auth"
    finally:
        handler.close()
    assert not slack.sessions


@pytest.mark.slow
def test_debrief_slack_command_answers_over_socket_mode(
    sample_index: Path, api: FakeSlackAPI, slack: FakeSocketMode, tmp_path: Path
) -> None:
    """`debrief slack` as a user runs it, with SLACK_API_URL pointing its Web API (and so Socket Mode) at the fakes."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": api.url + "/api/",
        "DEBRIEF_INDEX_DIR": str(sample_index),
        "DEBRIEF_LLM_MODEL": "",
    }
    env.pop("SLACK_SIGNING_SECRET", None)
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "slack"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 180
            while True:  # the embedder and index load before the bot connects
                try:
                    slack.wait_for(lambda s: len(s.sessions) == 1, timeout=1)
                    break
                except TimeoutError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.flush()
                        pytest.fail("bot did not connect:\n" + log_path.read_text())
            assert [c.headers["token"] for c in api.calls_to("apps.connections.open")] == [APP_TOKEN]
            assert_answers_pillot_on_current_session(slack, api, session=1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

"""The Slack bot end to end over real HTTP: signed Events API and slash-command requests in, Web API calls out.

The bot serves its HTTP mode on 127.0.0.1; its WebClient talks to `tests.fakes.slack_api.FakeSlackAPI`, which
records what would have been posted. Answers come from a real `Assistant` over the two real episodes (where the
2025-12-11 one says "commande publique", injected markup follows, to prove it reaches Slack inert).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from rag.settings import REPO_ROOT, Settings
from rag.types import Answer, Filters, Message
from tests.fakes.slack_api import BOT_USER_ID, TEAM_ID, Call, FakeSlackAPI
from tests.servers import free_port
from ui.slack import blocks as kit
from ui.slack.app import (
    SLASH_COMMAND,
    SlackConfigError,
    SlackCredentials,
    build_app,
    credentials_from_env,
    make_http_server,
    run,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1234-5678-debrief"
CHANNEL = "C0SMARTECH"
ASKER = "U024BE7LH"
PILLOT_QUESTION = "What did Julien Pillot say about public procurement?"
REFUSED_QUESTION = "Quelle est la recette de la tarte tatin ?"
# Every "commande publique" of smart-tech-2025-12-11.txt gets markup a hostile or garbled transcript could carry,
# so whichever of Julien Pillot's lines on public procurement gets cited carries it.
TOPIC = "commande publique"
INJECTED = "commande publique <script>alert(1)</script> *bold* <!channel>"

_event_ids = itertools.count(1)
_ts = itertools.count(1)


def slash_command(text: str, response_url: str) -> dict[str, str]:
    """What Slack sends for `/debrief <text>`: a form over HTTP, the same fields as a JSON object in Socket Mode."""
    return {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": TEAM_ID,
        "team_domain": "smarttech",
        "channel_id": CHANNEL,
        "channel_name": "debrief",
        "user_id": ASKER,
        "user_name": "delphine",
        "command": "/debrief",
        "text": text,
        "api_app_id": "A0DEBRIEF",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }


# -- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("transcripts")
    shutil.copy(REPO_ROOT / "data/transcripts/smart-tech-2025-06-19.txt", folder)
    text = (REPO_ROOT / "data/transcripts/smart-tech-2025-12-11.txt").read_text(encoding="utf-8")
    assert text.count(TOPIC) == 5
    (folder / "smart-tech-2025-12-11.txt").write_text(text.replace(TOPIC, INJECTED), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="module")
def assistant(samples: Path, index_dir: Path) -> Any:
    from rag.assistant import Assistant

    settings = Settings(index_dir=index_dir, samples_dir=samples, llm_model=None, llm_base_url=None)
    helper = Assistant(settings)
    helper.ensure_samples()
    return helper


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as api:
        yield api


@dataclass
class BotServer:
    url: str

    def post(
        self,
        body: str,
        content_type: str,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST a request to /slack/events signed the way Slack signs it (v0 HMAC-SHA256 of `v0:ts:body`)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            self.url + "/slack/events",
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def event(self, event: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        return self.post(json.dumps(event_callback(event)), "application/json", **kwargs)

    def command(self, text: str, response_url: str, **kwargs: Any) -> tuple[int, str]:
        form = slash_command(text, response_url)
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kwargs)


def serve(app: Any) -> Iterator[BotServer]:
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield BotServer(f"http://{host!s}:{port}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def bot(assistant: Any, fake: FakeSlackAPI) -> Iterator[BotServer]:
    credentials = SlackCredentials(bot_token=BOT_TOKEN, signing_secret=SECRET, api_url=fake.url + "/api/")
    yield from serve(build_app(assistant, credentials))


@pytest.fixture(autouse=True)
def clean_fake(fake: FakeSlackAPI) -> None:
    fake.reset()


# -- payload helpers ----------------------------------------------------------------------------------------
def new_ts() -> str:
    return f"1765451{next(_ts):03d}.000{next(_ts):03d}"


def event_callback(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": TEAM_ID,
        "api_app_id": "A0DEBRIEF",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev0DEBRIEF{next(_event_ids):04d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def mention(text: str, thread_ts: str | None = None) -> dict[str, Any]:
    ts = new_ts()
    event = {
        "type": "app_mention",
        "user": ASKER,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct_message(text: str, **extra: Any) -> dict[str, Any]:
    ts = new_ts()
    return {
        "type": "message",
        "channel_type": "im",
        "user": ASKER,
        "text": text,
        "ts": ts,
        "channel": "D0DELPHINE",
        "event_ts": ts,
        **extra,
    }


def chat_calls(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method.startswith("chat.") or c.method.startswith("hook:")]


def has(method: str, count: int = 1) -> Any:
    return lambda calls: sum(c.method == method for c in calls) >= count


def block_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(
        b["text"]["text"] if "text" in b else " ".join(e.get("text", "") for e in b.get("elements", [])) for b in blocks
    )


def assert_looking_then_update(calls: list[Call], channel: str, thread_ts: str) -> Call:
    """The placeholder goes into the question's thread first; the answer then replaces exactly that message."""
    chats = chat_calls(calls)
    looking, update = chats[0], chats[1]
    assert looking.method == "chat.postMessage"
    assert looking.body["text"] == kit.LOOKING_TEXT
    assert looking.body["channel"] == channel and looking.body["thread_ts"] == thread_ts
    assert looking.headers["token"] == BOT_TOKEN
    assert update.method == "chat.update"
    assert update.body["channel"] == channel
    assert update.body["ts"] == looking.response["ts"]  # replaces exactly the placeholder
    return update


def assert_pillot_answer(update: Call) -> None:
    text = block_text(update.body["blocks"])
    assert "*Julien Pillot*" in text
    citations = [b["text"]["text"] for b in update.body["blocks"] if b.get("text", {}).get("text", "").startswith("*[")]
    assert citations, text
    assert any("*Julien Pillot* · 2025-12-11 · <http" in c for c in citations)
    assert all("|" in c and ">" in c for c in citations)  # every citation carries a <url|mm:ss> link
    assert "commande publique" in text


# -- tests --------------------------------------------------------------------------------------------------
def test_mention_posts_placeholder_then_answer_citing_julien_pillot(bot: BotServer, fake: FakeSlackAPI) -> None:
    event = mention(PILLOT_QUESTION)
    status, _ = bot.event(event)
    assert status == 200
    calls = fake.wait_for(has("chat.update"))
    update = assert_looking_then_update(calls, CHANNEL, event["ts"])
    assert_pillot_answer(update)
    assert "Julien Pillot" in update.body["text"]  # the notification fallback


def test_mention_inside_a_thread_answers_in_that_thread(bot: BotServer, fake: FakeSlackAPI) -> None:
    parent = "1765449999.000001"
    event = mention(PILLOT_QUESTION, thread_ts=parent)
    bot.event(event)
    calls = fake.wait_for(has("chat.update"))
    assert_looking_then_update(calls, CHANNEL, parent)


def test_injected_markup_in_the_transcript_reaches_slack_inert(bot: BotServer, fake: FakeSlackAPI) -> None:
    bot.event(mention(PILLOT_QUESTION))
    fake.wait_for(has("chat.update"))
    update = fake.calls_to("chat.update")[0]
    text = block_text(update.body["blocks"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # the injected line is quoted...
    assert "&lt;!channel&gt;" in text
    assert "<script>" not in text and "<!channel>" not in text and "*bold*" not in text  # ...and inert
    assert "<script>" not in update.body["text"] and "<!channel>" not in update.body["text"]


def test_direct_message_is_answered_and_bot_posts_edits_are_ignored(bot: BotServer, fake: FakeSlackAPI) -> None:
    edit = direct_message("", subtype="message_changed", message={"text": PILLOT_QUESTION})
    from_a_bot = direct_message(PILLOT_QUESTION, bot_id="B0OTHER", subtype="bot_message")
    in_a_channel = {**direct_message(PILLOT_QUESTION), "channel_type": "channel", "channel": CHANNEL}
    for ignored in (edit, from_a_bot, in_a_channel):
        assert bot.event(ignored)[0] == 200
    dm = direct_message(PILLOT_QUESTION)
    assert bot.event(dm)[0] == 200
    calls = fake.wait_for(has("chat.update"))
    update = assert_looking_then_update(calls, "D0DELPHINE", dm["ts"])
    assert_pillot_answer(update)
    assert len(fake.calls_to("chat.postMessage")) == 1  # only the DM's placeholder


FOLLOW_UP = "and what did he say about data centers?"


def ask_in_slack(bot: BotServer, fake: FakeSlackAPI, event: dict[str, Any], updates: int) -> Call:
    """Post `event` as a person would (Slack stores the message, then sends the event); the answer's update."""
    fake.said(event["channel"], {k: v for k, v in event.items() if k in ("type", "user", "text", "ts", "thread_ts")})
    bot.event(event)
    return [c for c in fake.wait_for(has("chat.update", updates)) if c.method == "chat.update"][-1]


def test_follow_up_in_a_thread_is_read_against_the_thread(bot: BotServer, fake: FakeSlackAPI, assistant: Any) -> None:
    alone = assistant.ask(FOLLOW_UP)
    assert not alone.refused and "Julien Pillot" not in {c.speaker for c in alone.citations}, \
        "precondition: on its own the follow-up is about anybody's data centers"
    first = mention(PILLOT_QUESTION)
    assert_pillot_answer(ask_in_slack(bot, fake, first, 1))
    update = ask_in_slack(bot, fake, mention(FOLLOW_UP, thread_ts=first["ts"]), 2)
    replies = fake.calls_to("conversations.replies")
    assert [(c.body["channel"], c.body["ts"]) for c in replies] == [(CHANNEL, first["ts"])]
    # "he" is Julien Pillot: the answer is about him only (he never discussed data centers: said so, nothing cited).
    assert "Julien Pillot" in update.body["text"] and "data centers" in update.body["text"]
    assert "Audrey Maurel" not in block_text(update.body["blocks"])


def test_follow_up_in_a_direct_message_is_read_against_the_conversation(bot: BotServer, fake: FakeSlackAPI) -> None:
    assert_pillot_answer(ask_in_slack(bot, fake, direct_message(PILLOT_QUESTION), 1))
    update = ask_in_slack(bot, fake, direct_message("And Audrey Maurel?"), 2)
    history = fake.calls_to("conversations.history")
    assert history and history[-1].body["channel"] == "D0DELPHINE"
    # The person changes, the topic carries over.
    assert "Audrey Maurel" in update.body["text"] and "public procurement" in update.body["text"]


def test_without_the_history_scope_a_follow_up_is_answered_on_its_own(bot: BotServer, fake: FakeSlackAPI) -> None:
    first = mention(PILLOT_QUESTION)
    ask_in_slack(bot, fake, first, 1)
    fake.fail("conversations.replies", "missing_scope")
    update = ask_in_slack(bot, fake, mention(FOLLOW_UP, thread_ts=first["ts"]), 2)
    assert fake.calls_to("conversations.replies")
    text = block_text(update.body["blocks"])
    assert update.body["text"] != kit.ERROR_TEXT and "Julien Pillot" not in update.body["text"]
    assert "*Audrey Maurel*" in text or "*Imène Kabouya*" in text  # anybody's words on data centers


def test_slash_command_posts_the_question_then_threads_the_answer(bot: BotServer, fake: FakeSlackAPI) -> None:
    status, body = bot.command(PILLOT_QUESTION, fake.url + "/hooks/T0SMARTECH/1/abc")
    assert status == 200 and body == ""  # a bare ack within Slack's 3 s
    calls = fake.wait_for(has("chat.update"))
    chats = chat_calls(calls)
    echo = chats[0]
    assert echo.method == "chat.postMessage" and "thread_ts" not in echo.body
    assert block_text(echo.body["blocks"]) == f"<@{ASKER}> asked: {PILLOT_QUESTION}"
    echo_ts = echo.response["ts"]
    update = assert_looking_then_update(calls[calls.index(echo) + 1 :], CHANNEL, echo_ts)
    assert_pillot_answer(update)


def test_slash_command_where_the_bot_cannot_post_answers_via_response_url(bot: BotServer, fake: FakeSlackAPI) -> None:
    fake.fail("chat.postMessage", "not_in_channel")
    bot.command(PILLOT_QUESTION, fake.url + "/hooks/T0SMARTECH/2/private")
    calls = fake.wait_for(has("hook:/hooks/T0SMARTECH/2/private", 2))
    hooks = [c for c in calls if c.method.startswith("hook:")]
    assert hooks[0].body["text"] == kit.LOOKING_TEXT
    assert hooks[1].body["response_type"] == "ephemeral" and hooks[1].body["replace_original"] is False
    assert "*Julien Pillot* · 2025-12-11 · <http" in block_text(hooks[1].body["blocks"])


def test_empty_slash_command_gets_help(bot: BotServer, fake: FakeSlackAPI) -> None:
    bot.command("   ", fake.url + "/hooks/T0SMARTECH/3/empty")
    calls = fake.wait_for(has("hook:/hooks/T0SMARTECH/3/empty"))
    assert "public procurement" in block_text(chat_calls(calls)[0].body["blocks"])
    assert not fake.calls_to("chat.postMessage")


def test_empty_mention_gets_help_not_silence(bot: BotServer, fake: FakeSlackAPI) -> None:
    event = mention("")
    bot.event(event)
    calls = fake.wait_for(has("chat.postMessage"))
    help_post = chat_calls(calls)[0]
    assert help_post.body["thread_ts"] == event["ts"]
    assert "/debrief" in block_text(help_post.body["blocks"])


def test_refused_question_gets_the_assistants_polite_refusal(
    bot: BotServer, fake: FakeSlackAPI, assistant: Any
) -> None:
    expected = assistant.ask(REFUSED_QUESTION)
    assert expected.refused, "precondition: neither episode talks about tarte tatin"
    event = mention(REFUSED_QUESTION)
    bot.event(event)
    calls = fake.wait_for(has("chat.update"))
    update = assert_looking_then_update(calls, CHANNEL, event["ts"])
    assert block_text(update.body["blocks"]) == kit.escape_mrkdwn(expected.answer)
    assert "tarte tatin" in update.body["text"]


def test_redelivered_event_is_answered_once(bot: BotServer, fake: FakeSlackAPI) -> None:
    payload = json.dumps(event_callback(mention(PILLOT_QUESTION)))
    assert bot.post(payload, "application/json")[0] == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert bot.post(payload, "application/json", headers=retry)[0] == 200
    fake.wait_for(has("chat.update"))
    assert len(fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("why", "kwargs"),
    [
        ("wrong secret", {"secret": "not-the-signing-secret"}),
        ("stale, 6 minutes old", {"timestamp": int(time.time()) - 360}),
    ],
)
def test_badly_signed_or_stale_requests_are_rejected(
    bot: BotServer, fake: FakeSlackAPI, why: str, kwargs: dict[str, Any]
) -> None:
    status, _ = bot.event(mention(PILLOT_QUESTION), **kwargs)
    assert status == 401, why
    status, _ = bot.command(PILLOT_QUESTION, fake.url + "/hooks/x", **kwargs)
    assert status == 401, why
    # Bolt rejects before any listener starts, so nothing can be posted later either.
    assert not chat_calls(fake.calls)


def test_unsigned_request_is_rejected(bot: BotServer, fake: FakeSlackAPI) -> None:
    request = urllib.request.Request(
        bot.url + "/slack/events",
        data=json.dumps(event_callback(mention("x"))).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 401
    assert not chat_calls(fake.calls)


def test_url_verification_echoes_the_challenge(bot: BotServer) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    status, body = bot.post(
        json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"}),
        "application/json",
    )
    assert status == 200 and challenge in body


def test_health_and_unknown_paths(bot: BotServer) -> None:
    with urllib.request.urlopen(bot.url + "/healthz", timeout=10) as response:
        assert response.read() == b"ok"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(bot.url + "/nope", timeout=10)
    assert caught.value.code == 404


class BrokenAssistant:
    """An Assistant whose index is unreadable: the one internal failure the bot must turn into an apology."""

    def ask(self, question: str, filters: Filters | None = None, history: list[Message] | None = None) -> Answer:
        raise RuntimeError("Chroma collection 'debrief' is unreadable")


def test_assistant_exception_gets_a_polite_apology(fake: FakeSlackAPI) -> None:
    credentials = SlackCredentials(bot_token=BOT_TOKEN, signing_secret=SECRET, api_url=fake.url + "/api/")
    for broken in serve(build_app(BrokenAssistant(), credentials)):
        event = mention(PILLOT_QUESTION)
        assert broken.event(event)[0] == 200
        calls = fake.wait_for(has("chat.update"))
        update = assert_looking_then_update(calls, CHANNEL, event["ts"])
        assert update.body["text"].startswith("Sorry, something went wrong")


def test_rejected_blocks_fall_back_to_a_plain_apology(bot: BotServer, fake: FakeSlackAPI) -> None:
    fake.fail("chat.update", "invalid_blocks")
    bot.event(mention(PILLOT_QUESTION))
    calls = fake.wait_for(has("chat.update", 2))
    updates = [c for c in calls if c.method == "chat.update"]
    assert updates[1].body["ts"] == updates[0].body["ts"]
    assert updates[1].body["text"] == kit.ERROR_TEXT


# -- configuration ------------------------------------------------------------------------------------------
def test_missing_tokens_are_named() -> None:
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN"):
        credentials_from_env({}, http=True)
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        credentials_from_env({"SLACK_BOT_TOKEN": BOT_TOKEN}, http=True)
    with pytest.raises(SlackConfigError, match="SLACK_APP_TOKEN"):
        credentials_from_env({"SLACK_BOT_TOKEN": BOT_TOKEN}, http=False)
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN should be .* 'xoxb-'"):
        credentials_from_env({"SLACK_BOT_TOKEN": "xapp-1-A0-1-abc"}, http=False)
    ok = credentials_from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-A0-1-abc"}, http=False)
    assert ok.app_token == "xapp-1-A0-1-abc" and ok.signing_secret is None


def test_run_fails_fast_naming_the_missing_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    with pytest.raises(SlackConfigError, match="SLACK_SIGNING_SECRET"):
        run(Settings(index_dir=tmp_path), http=True, port=0)
    assert not any(tmp_path.iterdir())  # failed before opening an index


@pytest.mark.slow
def test_debrief_slack_http_command_serves_signed_events(
    assistant: Any, index_dir: Path, samples: Path, fake: FakeSlackAPI, tmp_path: Path
) -> None:
    """`debrief slack --http --port N` as a user runs it, on the index the fixture already built."""
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url + "/api/",
        "DEBRIEF_INDEX_DIR": str(index_dir),
        "DEBRIEF_SAMPLES_DIR": str(samples),
        "DEBRIEF_HOST": "127.0.0.1",
        "DEBRIEF_LLM_MODEL": "",
    }
    env.pop("SLACK_APP_TOKEN", None)
    log = (tmp_path / "bot.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "slack", "--http", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:  # wait for the embedder and index to load
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("bot did not start:\n" + (tmp_path / "bot.log").read_text())
                time.sleep(0.2)
        event = mention(PILLOT_QUESTION)
        assert BotServer(base).event(event)[0] == 200
        calls = fake.wait_for(has("chat.update"))
        update = assert_looking_then_update(calls, CHANNEL, event["ts"])
        assert_pillot_answer(update)
        assert BotServer(base).event(mention("x"), secret="wrong")[0] == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_manifest_declares_what_the_bot_listens_to() -> None:
    import yaml

    manifest = yaml.safe_load((REPO_ROOT / "slack/manifest.yaml").read_text(encoding="utf-8"))
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [SLASH_COMMAND]
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "chat:write.public", "commands", "im:history"} <= scopes
    assert {"channels:history", "groups:history"} <= scopes  # follow-ups read their thread

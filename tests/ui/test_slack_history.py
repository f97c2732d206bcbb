"""What a follow-up's history is made of, read back from a fake Slack over real HTTP (`ui.slack.history`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from rag.types import Message
from tests.fakes.slack_api import BOT_ID, BOT_USER_ID, FakeSlackAPI
from ui.slack import blocks as kit
from ui.slack.history import MAX_MESSAGES, earlier_messages

CHANNEL = "C0SMARTECH"
PARENT = "1765451000.000100"


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlackAPI, WebClient]]:
    with FakeSlackAPI() as fake:
        yield fake, WebClient(token="xoxb-1234-5678-debrief", base_url=fake.url + "/api/")


def said(fake: FakeSlackAPI, ts: str, text: str, **extra: str) -> dict[str, str]:
    message = {"type": "message", "user": "U024BE7LH", "text": text, "ts": ts, **extra}
    fake.said(CHANNEL, message)
    return message


def test_thread_history_keeps_the_people_and_this_bot_and_drops_the_rest(
    slack: tuple[FakeSlackAPI, WebClient],
) -> None:
    fake, client = slack
    said(fake, PARENT, f"<@{BOT_USER_ID}> Qu'a dit Julien Pillot sur la commande publique ?")
    said(fake, "1765451000.000200", kit.LOOKING_TEXT, user=BOT_USER_ID, bot_id=BOT_ID, thread_ts=PARENT)
    said(fake, "1765451000.000300", "Julien Pillot a parlé de la commande publique [1].", user=BOT_USER_ID,
         bot_id=BOT_ID, thread_ts=PARENT)
    said(fake, "1765451000.000400", "Build failed on main", user="UOTHERBOT", bot_id="BOTHER", thread_ts=PARENT)
    said(fake, "1765451000.000500", "<@U024BE7LH> has joined the channel", subtype="channel_join", thread_ts=PARENT)
    now = said(fake, "1765451000.000600", f"<@{BOT_USER_ID}> et Audrey Maurel ?", thread_ts=PARENT)
    said(fake, "1765451000.000700", "a later message is not history", thread_ts=PARENT)
    event = {**now, "channel": CHANNEL}
    assert earlier_messages(client, event, BOT_USER_ID) == [
        Message("user", "Qu'a dit Julien Pillot sur la commande publique ?"),
        Message("assistant", "Julien Pillot a parlé de la commande publique [1]."),
    ]


def test_a_channel_mention_outside_a_thread_has_no_history(slack: tuple[FakeSlackAPI, WebClient]) -> None:
    fake, client = slack
    said(fake, PARENT, "What did Julien Pillot say about public procurement?")
    event = {**said(fake, "1765451000.000900", f"<@{BOT_USER_ID}> And Audrey Maurel?"), "channel": CHANNEL}
    assert earlier_messages(client, event, BOT_USER_ID) == []
    assert not fake.calls  # not even asked: a new top-level mention starts afresh


def test_a_direct_message_reads_the_latest_messages_oldest_first(slack: tuple[FakeSlackAPI, WebClient]) -> None:
    fake, client = slack
    for i in range(MAX_MESSAGES + 5):
        fake.said("D0DELPHINE", {"type": "message", "user": "U024BE7LH", "text": f"question {i}",
                                 "ts": f"1765452000.{i:06d}"})
    event = {"type": "message", "channel_type": "im", "channel": "D0DELPHINE", "user": "U024BE7LH",
             "text": "et Audrey ?", "ts": "1765452001.000000"}
    got = earlier_messages(client, event, BOT_USER_ID)
    assert [m.content for m in got] == [f"question {i}" for i in range(5, MAX_MESSAGES + 5)]


def test_a_slack_error_gives_no_history_rather_than_no_answer(slack: tuple[FakeSlackAPI, WebClient]) -> None:
    fake, client = slack
    said(fake, PARENT, "What did Julien Pillot say about public procurement?")
    fake.fail("conversations.replies", "missing_scope")
    event = {**said(fake, "1765451000.000800", "and about data centers?", thread_ts=PARENT), "channel": CHANNEL}
    assert earlier_messages(client, event, BOT_USER_ID) == []

"""The earlier exchange a Slack follow-up refers to ("and what did she say about data centers?").

In a thread it is the thread's messages (`conversations.replies`); in a direct message, the conversation's latest
messages (`conversations.history`). A channel mention outside a thread starts afresh. Reading them needs the
`channels:history` / `groups:history` / `im:history` scopes: without one, Slack answers `missing_scope` and the
question is answered on its own, as before.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from rag.types import Message
from ui.slack import blocks as kit

log = logging.getLogger("debrief.slack")

# Messages read back: the Assistant resolves a follow-up against the last few questions only.
MAX_MESSAGES = 20


def earlier_messages(client: WebClient, event: dict[str, Any], bot_user_id: str | None) -> list[Message]:
    """The messages before `event` in its thread or direct-message conversation, oldest first.

    The bot's own posts become assistant messages (its placeholder is skipped), people's become user messages with
    mentions removed; other apps' posts, edits, joins and other subtypes are left out. Any Slack error gives an empty history."""
    channel, ts, thread_ts = event.get("channel"), event.get("ts"), event.get("thread_ts")
    if not channel or not ts:
        return []
    try:
        if thread_ts and thread_ts != ts:
            page = client.conversations_replies(channel=channel, ts=thread_ts, limit=MAX_MESSAGES * 5)
            raw = list(page.get("messages") or [])
        elif event.get("channel_type") == "im":
            page = client.conversations_history(channel=channel, latest=ts, inclusive=False, limit=MAX_MESSAGES)
            raw = list(reversed(page.get("messages") or []))  # newest first from Slack
        else:
            return []
    except SlackApiError as error:
        reason = error.response.get("error", "") if error.response is not None else ""
        log.info("no history for the follow-up in %s (%s); answering it on its own", channel, reason or error)
        return []
    return _as_messages([m for m in raw if _before(m, ts)], bot_user_id)[-MAX_MESSAGES:]


def _before(message: dict[str, Any], ts: str) -> bool:
    try:
        return float(message.get("ts", "inf")) < float(ts)
    except (TypeError, ValueError):
        return False


def _as_messages(raw: list[dict[str, Any]], bot_user_id: str | None) -> list[Message]:
    out: list[Message] = []
    for m in raw:
        if m.get("subtype") not in (None, "thread_broadcast"):
            continue
        text = m.get("text") or ""
        if m.get("bot_id"):
            # Another app's posts are not this conversation's answers.
            if (bot_user_id is None or m.get("user") == bot_user_id) and text and text != kit.LOOKING_TEXT:
                out.append(Message(role="assistant", content=text))
        elif question := kit.question_from_slack(text):
            out.append(Message(role="user", content=question))
    return out

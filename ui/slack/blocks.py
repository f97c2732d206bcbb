"""Pure functions turning an `Answer` into Slack messages: mrkdwn escaping, Block Kit sections, splitting.

Nothing here talks to Slack; `ui.slack.app` posts what these functions build.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from rag.types import Answer, Citation

# Slack's documented limits: a section's text is at most 3000 characters, a message at most 50 blocks.
SECTION_MAX_CHARS = 3000
MESSAGE_MAX_BLOCKS = 50
# Slack also rejects messages whose blocks are too long in total (`msg_blocks_too_long`); the exact figure is not
# documented, so stay well under it and let the rest overflow into follow-up messages in the thread.
MESSAGE_MAX_CHARS = 12_000
# A citation quotes the segment briefly; the link opens the full passage.
QUOTE_MAX_CHARS = 400
# The `text` fallback shows in notifications and screen readers, not in the channel.
FALLBACK_MAX_CHARS = 300

LOOKING_TEXT = "Looking through the transcripts…"
ERROR_TEXT = "Sorry, something went wrong while looking through the transcripts. Please try again in a moment."
REFUSAL_DEFAULT = "I couldn't find anything about that in the transcripts."
HELP_TEXT = (
    "Ask me what was said on the show, for example: "
    "_What did Julien Pillot say about public procurement?_ "
    "Mention me in a channel, send me a direct message, or use `/debrief <question>`."
)

Block = dict[str, Any]

# Lookalike characters: Slack mrkdwn has no backslash escape, so formatting markers in transcript text are swapped
# for characters that read the same but do not toggle bold / italic / strike / code.
_FORMATTING = str.maketrans(
    {
        "*": "\u2217",  # ASTERISK OPERATOR
        "_": "\u02cd",  # MODIFIER LETTER LOW MACRON
        "~": "\u223c",  # TILDE OPERATOR
        "`": "\u02cb",  # MODIFIER LETTER GRAVE ACCENT
    }
)
# A word joiner after "@" keeps the text readable while Slack no longer sees a broadcast keyword.
_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass
class SlackMessage:
    """One message to post: `text` is the notification fallback, `blocks` what the channel shows."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def escape_mrkdwn(text: str) -> str:
    """Make arbitrary text (transcript quotes, LLM output, questions) inert in Slack mrkdwn.

    `&`, `<`, `>` become entities as Slack requires (which also disarms `<!channel>`, `<@U…>` and `<url|label>`
    injected by the text); `* _ ~ `` ` become lookalikes so they cannot start formatting; `@here`-style broadcast
    words get a word joiner after the `@`.
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.translate(_FORMATTING)
    return _BROADCAST.sub("@\u2060\\1", escaped)


_MD_BOLD = re.compile(r"\*\*([^*\n]{1,200}?)\*\*")
_MD_BULLET = re.compile(r"^([ \t]*)[-*] ", re.MULTILINE)


def answer_mrkdwn(text: str) -> str:
    """The Assistant's Markdown answer as safe Slack mrkdwn.

    The Assistant marks speaker names `**bold**` and lists quotes as `- ` bullets; those become Slack's `*bold*`
    and `•`. Everything else, the quoted transcript text included, goes through `escape_mrkdwn`.
    """
    text = _MD_BULLET.sub(lambda m: m.group(1) + "\u2022 ", text)
    out: list[str] = []
    last = 0
    for match in _MD_BOLD.finditer(text):
        out.append(escape_mrkdwn(text[last : match.start()]))
        inner = match.group(1).strip()
        out.append(f"*{escape_mrkdwn(inner)}*" if inner else "")
        last = match.end()
    out.append(escape_mrkdwn(text[last:]))
    return "".join(out)


def link(url: str, label: str) -> str:
    """A mrkdwn link `<url|label>`; characters that would end the link early are encoded, the label escaped."""
    safe_url = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    safe_label = escape_mrkdwn(label).replace("|", "\u2223")
    return f"<{safe_url}|{safe_label}>"


def format_time(seconds: float) -> str:
    """`mm:ss`, or `h:mm:ss` past the hour."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def split_text(text: str, limit: int = SECTION_MAX_CHARS) -> list[str]:
    """Split already-escaped mrkdwn into pieces of at most `limit` characters.

    Cuts at the latest paragraph break, else line break, else sentence end, else space, that keeps a piece at least
    half full; a hard cut never lands inside an `&amp;`-style entity.
    """
    if limit < 16:
        raise ValueError("limit too small to split mrkdwn safely")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_position(rest, limit)
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces


def _cut_position(text: str, limit: int) -> int:
    for sep in ("\n\n", "\n", ". ", "? ", "! ", " "):
        pos = text.rfind(sep, 0, limit - len(sep) + 1)
        if pos >= limit // 2:
            return pos + len(sep)
    for sep in ("\n", " "):
        pos = text.rfind(sep, 0, limit)
        if pos > 0:
            return pos + 1
    cut = limit
    amp = text.rfind("&", cut - 6, cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return cut


def section(text: str) -> Block:
    """A mrkdwn section block (text must already be escaped and at most 3000 characters)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    """A small grey context line (mrkdwn, already escaped)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def citation_text(citation: Citation) -> str:
    """`*[1]* *Speaker* · 2025-12-11 · <url|07:13>` then the quote as a blockquote."""
    when = citation.date or citation.episode_title or citation.episode_id
    stamp = format_time(citation.start)
    parts = [
        f"*{escape_mrkdwn(citation.speaker or 'Unknown speaker')}*",
        escape_mrkdwn(when),
        link(citation.url, stamp) if citation.url else stamp,
    ]
    head = f"*[{citation.n}]* " + " · ".join(parts)
    quote = " ".join(citation.quote.split())
    if len(quote) > QUOTE_MAX_CHARS:
        quote = quote[: QUOTE_MAX_CHARS - 1].rstrip() + "…"
    if not quote:
        return head
    return f"{head}\n>{escape_mrkdwn(quote)}"


def answer_blocks(answer: Answer) -> list[Block]:
    """Every block of an answer: the text in ≤3000-char sections, any notice, then the numbered citations."""
    body = answer.answer.strip() or (REFUSAL_DEFAULT if answer.refused else "")
    blocks = [section(piece) for piece in split_text(answer_mrkdwn(body))]
    if answer.notice:
        blocks.append(context(":warning: " + escape_mrkdwn(answer.notice)))
    if answer.citations:
        blocks.append({"type": "divider"})
        blocks.append(context("*Sources*"))
        for citation in answer.citations:
            for piece in split_text(citation_text(citation)):
                blocks.append(section(piece))
    return blocks


def paginate(
    blocks: list[Block], max_blocks: int = MESSAGE_MAX_BLOCKS, max_chars: int = MESSAGE_MAX_CHARS
) -> list[list[Block]]:
    """Group blocks into messages of at most `max_blocks` blocks and about `max_chars` characters of text."""
    pages: list[list[Block]] = []
    page: list[Block] = []
    size = 0
    for block in blocks:
        length = _block_chars(block)
        if page and (len(page) >= max_blocks or size + length > max_chars):
            pages.append(page)
            page, size = [], 0
        page.append(block)
        size += length
    if page:
        pages.append(page)
    return pages


def _block_chars(block: Block) -> int:
    if "text" in block:
        return len(block["text"]["text"])
    return sum(len(element.get("text", "")) for element in block.get("elements", []))


def fallback_text(text: str) -> str:
    """A short plain preview for notifications: first characters of the text, whitespace collapsed, escaped."""
    flat = " ".join(text.split())
    if len(flat) > FALLBACK_MAX_CHARS:
        flat = flat[: FALLBACK_MAX_CHARS - 1].rstrip() + "…"
    return escape_mrkdwn(flat)


def answer_messages(answer: Answer) -> list[SlackMessage]:
    """The answer as one or more messages: the first replaces the placeholder, the rest follow in the thread."""
    pages = paginate(answer_blocks(answer))
    body = answer.answer.strip() or REFUSAL_DEFAULT
    messages = [SlackMessage(text=fallback_text(_MD_BOLD.sub(r"\1", body)), blocks=pages[0] if pages else [])]
    for number, page in enumerate(pages[1:], start=2):
        messages.append(SlackMessage(text=f"(continued, part {number} of {len(pages)})", blocks=page))
    return messages


def looking_message() -> SlackMessage:
    """The placeholder posted at once, replaced by the answer."""
    return SlackMessage(text=LOOKING_TEXT, blocks=[context(f":mag: {LOOKING_TEXT}")])


def error_message() -> SlackMessage:
    """The polite reply when answering failed."""
    return SlackMessage(text=ERROR_TEXT, blocks=[section(ERROR_TEXT)])


def help_message() -> SlackMessage:
    """The reply to an empty question."""
    return SlackMessage(text="Ask me a question about the show.", blocks=[section(HELP_TEXT)])


def question_message(user_id: str, question: str) -> SlackMessage:
    """The channel message a slash command posts so the answer can be threaded under the question."""
    who = f"<@{user_id}>" if _USER_ID.match(user_id) else "Someone"
    quoted = escape_mrkdwn(" ".join(question.split()))
    text = f"{who} asked: {quoted}"
    return SlackMessage(text=fallback_text(f"Question: {question}"), blocks=[section(split_text(text)[0])])


_MENTION = re.compile(r"<[@!](?:[^<>|]*)(?:\|([^<>]*))?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+(?:\|([^<>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^<>|]*)(?:\|([^<>]*))?>")


def question_from_slack(text: str) -> str:
    """The plain question inside an incoming Slack message.

    Drops user mentions (including the bot's own `<@U…>`) and broadcasts, keeps link labels and channel names,
    and undoes Slack's `&amp;`/`&lt;`/`&gt;` encoding.
    """
    text = _MENTION.sub(" ", text or "")
    text = _CHANNEL.sub(lambda m: "#" + (m.group(1) or "channel"), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return " ".join(html.unescape(text).split())

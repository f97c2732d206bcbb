"""Answer -> Block Kit: escaping, citations, Slack's size limits. Fixtures quote the 2025-12-11 SMART TECH episode."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from rag.types import Answer, Citation
from ui.slack import blocks as kit

# Real lines of data/transcripts/smart-tech-2025-12-11.txt (11:16-11:19 and 07:13-07:17).
PILLOT_QUOTE = "quand même, c'est que, vous parlez de commande publique, et moi, je pense que cette plateforme"
HYPERSCALERS = (
    "Si à la sortie, la commande publique continue à passer auprès d'hyperscalaires américains, "
    "je ne vois pas trop ce qu'on y gagne."
)
EPISODE_URL = "http://127.0.0.1:7860/episode/smart-tech-2025-12-11#L257"


def pillot_citation(n: int = 1, quote: str = PILLOT_QUOTE, url: str = EPISODE_URL) -> Citation:
    return Citation(
        n=n,
        episode_id="smart-tech-2025-12-11",
        episode_title="SMART TECH — 2025-12-11",
        date="2025-12-11",
        speaker="Julien Pillot",
        start=676.0,
        end=680.0,
        url=url,
        quote=quote,
        first_line=257,
        last_line=260,
    )


def pillot_answer() -> Answer:
    text = (
        "Julien Pillot raised public procurement in the 2025-12-11 episode:\n\n"
        "**Julien Pillot** (2025-12-11):\n"
        f"- « {PILLOT_QUOTE} » [1] (11:16)"
    )
    return Answer(answer=text, refused=False, citations=[pillot_citation()])


def all_text(blocks: list[kit.Block]) -> str:
    return "\n".join(
        b["text"]["text"] if "text" in b else " ".join(e["text"] for e in b.get("elements", [])) for b in blocks
    )


def test_escape_neutralises_markup_and_mentions_from_transcript_text() -> None:
    raw = "il a tapé <script>alert(1)</script> puis *bold* _it_ ~del~ `code` & <!channel> <@U123> @here <https://x.y|z>"
    out = kit.escape_mrkdwn(raw)
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out and "&lt;!channel&gt;" in out and "&amp; " in out
    for marker in "*_~`":
        assert marker not in out
    assert "@here" not in out and "@\u2060here" in out
    # The words themselves stay readable.
    assert "bold" in out and "alert(1)" in out


def test_escape_does_not_double_escape_its_own_entities() -> None:
    assert kit.escape_mrkdwn("R&D <3") == "R&amp;D &lt;3"


def test_answer_blocks_render_bold_speaker_bullets_and_numbered_citation() -> None:
    blocks = kit.answer_blocks(pillot_answer())
    assert blocks[0]["type"] == "section" and blocks[0]["text"]["type"] == "mrkdwn"
    body = blocks[0]["text"]["text"]
    assert "*Julien Pillot* (2025-12-11):" in body  # Markdown bold became Slack bold
    assert "**" not in body and "\u2217" not in body
    assert "\u2022 « quand même" in body
    assert {"type": "divider"} in blocks
    citation = blocks[-1]["text"]["text"]
    assert citation.startswith("*[1]* *Julien Pillot* · 2025-12-11 · ")
    assert f"<{EPISODE_URL}|11:16>" in citation
    assert citation.endswith(">" + PILLOT_QUOTE)


def test_citation_link_cannot_be_broken_by_its_url() -> None:
    url = "https://www.dailymotion.com/video/x9xyz?start=676&a=<b>|c"
    text = kit.citation_text(pillot_citation(url=url))
    assert "<https://www.dailymotion.com/video/x9xyz?start=676&amp;a=%3Cb%3E%7Cc|11:16>" in text


def test_transcript_injection_inside_an_answer_stays_inert() -> None:
    quote = "<script>alert('x')</script> *bold* <!channel> @channel"
    answer = Answer(
        answer=f"**Julien Pillot** (2025-12-11):\n- « {quote} » [1] (11:16)",
        refused=False,
        citations=[pillot_citation(quote=quote)],
    )
    text = all_text(kit.answer_blocks(answer))
    assert "<script>" not in text and "<!channel>" not in text and "*bold*" not in text
    assert "&lt;script&gt;" in text and "&lt;!channel&gt;" in text
    assert "@channel" not in text


def test_refusal_shows_the_assistants_text_without_sources() -> None:
    refusal = "I found nothing about Emmanuel Macron cooking recipes in the indexed episodes."
    messages = kit.answer_messages(Answer(answer=refusal, refused=True, citations=[]))
    assert len(messages) == 1
    assert messages[0].blocks == [kit.section(refusal)]
    assert messages[0].text == refusal


def test_empty_refusal_gets_a_default_sentence() -> None:
    messages = kit.answer_messages(Answer(answer="", refused=True, citations=[]))
    assert kit.REFUSAL_DEFAULT in all_text(messages[0].blocks)


def test_notice_is_shown_as_context() -> None:
    answer = pillot_answer()
    answer.notice = "The language model failed (timeout); showing quotes from the transcripts instead."
    blocks = kit.answer_blocks(answer)
    notices = [b for b in blocks if b["type"] == "context" and "language model failed" in all_text([b])]
    assert len(notices) == 1


def test_long_answer_is_split_within_slack_limits() -> None:
    # 60 paragraphs of real speech, 60 citations: more than one section and more than 50 blocks.
    paragraph = f"**Julien Pillot** (2025-12-11):\n- « {HYPERSCALERS} » [1] (07:13)"
    answer = Answer(
        answer="\n\n".join([paragraph] * 60),
        refused=False,
        citations=[pillot_citation(n, quote=HYPERSCALERS) for n in range(1, 61)],
    )
    messages = kit.answer_messages(answer)
    assert len(messages) >= 2
    for message in messages:
        assert 1 <= len(message.blocks) <= kit.MESSAGE_MAX_BLOCKS
        assert len(json.dumps(message.blocks)) < 60_000
        for block in message.blocks:
            if "text" in block:
                assert len(block["text"]["text"]) <= kit.SECTION_MAX_CHARS
    # Nothing lost: every citation number appears once, in order, across the messages.
    numbers = [b["text"]["text"].split("*")[1] for m in messages for b in m.blocks if "[" in all_text([b])[:4]]
    assert numbers == [f"[{n}]" for n in range(1, 61)]
    assert messages[1].text.startswith("(continued, part 2 of")


def test_split_prefers_paragraphs_then_sentences() -> None:
    text = f"{HYPERSCALERS}\n\n{PILLOT_QUOTE}"
    assert kit.split_text(text, limit=len(HYPERSCALERS) + 5) == [HYPERSCALERS, PILLOT_QUOTE]
    long_line = " ".join([HYPERSCALERS] * 4)
    pieces = kit.split_text(long_line, limit=len(HYPERSCALERS) * 2 + 3)
    assert all(p.endswith("gagne.") for p in pieces[:-1])


def test_hard_split_never_cuts_an_entity() -> None:
    text = "&amp;" * 100  # no spaces at all
    pieces = kit.split_text(text, limit=23)
    assert "".join(pieces) == text
    assert all(p.startswith("&amp;") and p.endswith(";") for p in pieces)


@given(st.text(alphabet=st.sampled_from(list("ab &<>*\n.")), max_size=400), st.integers(min_value=16, max_value=80))
def test_split_respects_limit_and_keeps_words(text: str, limit: int) -> None:
    escaped = kit.escape_mrkdwn(text)
    pieces = kit.split_text(escaped, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join(escaped.split()) == "".join("".join(pieces).split())


def test_paginate_obeys_block_count_and_size() -> None:
    blocks = [kit.section("x" * 100) for _ in range(120)]
    pages = kit.paginate(blocks)
    assert [len(p) for p in pages] == [50, 50, 20]
    big = [kit.section("y" * 3000) for _ in range(9)]
    assert [len(p) for p in kit.paginate(big, max_chars=12_000)] == [4, 4, 1]


def test_format_time() -> None:
    assert kit.format_time(676.4) == "11:16"
    assert kit.format_time(5) == "00:05"
    assert kit.format_time(3725) == "1:02:05"


def test_question_from_slack_strips_the_bot_mention_and_decodes_entities() -> None:
    text = "<@UDEBRIEF1> What did Julien Pillot say about public procurement &amp; <https://www.bsmart.fr|BSmart>?"
    assert kit.question_from_slack(text) == "What did Julien Pillot say about public procurement & BSmart?"
    assert kit.question_from_slack("<@UDEBRIEF1>   ") == ""
    assert kit.question_from_slack("<!here> dans <#C024BE7LR|general> qui parle de Numspot ?") == (
        "dans #general qui parle de Numspot ?"
    )


def test_question_message_mentions_only_real_user_ids() -> None:
    ok = kit.question_message("U024BE7LH", "Qui parle de la commande publique ?")
    assert ok.blocks[0]["text"]["text"] == "<@U024BE7LH> asked: Qui parle de la commande publique ?"
    forged = kit.question_message("U1> <!channel", "<!channel> *x*")
    assert "<!channel>" not in forged.blocks[0]["text"]["text"]
    assert forged.blocks[0]["text"]["text"].startswith("Someone asked:")

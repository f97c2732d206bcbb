"""The web UI end to end: the real server (`python -m ui.app`) over both real episodes, driven by headless Chromium.

A person types a question, reads the streamed answer, follows a citation to the transcript viewer and finds the
cited segment highlighted in the right speaker's turn; uploads a broken file and a good one. Debian's
/usr/bin/chromium only (scripts/install-browser.sh); Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.settings import REPO_ROOT
from tests.servers import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
SCREENSHOT = REPO_ROOT / "docs" / "screenshot-chat.png"
QUESTION = "What did Julien Pillot say about public procurement?"
DECEMBER = "smart-tech-2025-12-11"
NO_LLM = "No LLM configured: answers are verbatim quotes from the transcripts."
# The label of a citation link: speaker · episode date · mm:ss.
LABEL = re.compile(r"^Julien Pillot · 11 Dec 2025 · \d{2}:\d{2}$")
ANSWER_TIMEOUT_MS = 120_000

# Real lines of smart-tech-2025-12-11.txt (06:39-07:19), as a labelled plain-text upload with its own episode id.
UPLOAD = """Title: SMART TECH — extrait commande publique
Date: 2025-12-11
Show: SMART TECH
Episode: smart-tech-extrait-upload

[00:06:34] Delphine Sabattier: Ok, c'est intéressant ce virage stratégique.
[00:06:36] Delphine Sabattier: Julien, une question pour Éric Haddad ou un commentaire ?
[00:06:39] Julien Pillot: Bonjour Éric. Un commentaire ? Oui.
[00:06:41] Julien Pillot: Moi, j'applaudis plutôt tout ce qui est fait autour de Newspot.
[00:07:13] Julien Pillot: Si à la sortie, la commande publique continue à passer auprès d'hyperscalaires américains,
[00:07:17] Julien Pillot: je ne vois pas trop ce qu'on y gagne.
[00:07:19] Delphine Sabattier: C'est une question pour Éric Haddad.
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium: run scripts/install-browser.sh"),
]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def _serve(sample_index: Path, work: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m ui.app` on a free 127.0.0.1 port over a copy of the two-episode index; yields its base URL."""
    index = work / "index"
    shutil.copytree(sample_index, index)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEBRIEF_", "OPENAI_"))}
    env.update(DEBRIEF_INDEX_DIR=str(index), DEBRIEF_HOST="127.0.0.1", DEBRIEF_PORT=str(port),
               DEBRIEF_PUBLIC_URL=base, GRADIO_ANALYTICS_ENABLED="False", **(extra_env or {}))
    log_path = work / "server.log"
    with log_path.open("w") as log:
        # cwd is an empty folder so no developer .env (an LLM endpoint, another index) leaks in.
        proc = subprocess.Popen([sys.executable, "-m", "ui.app"], cwd=work, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"server exited with {proc.returncode}:\n{log_path.read_text()}")
                try:
                    if _status(base + "/") == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"server did not come up in 180 s:\n{log_path.read_text()}")
                time.sleep(0.5)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def server(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI over both sample episodes, offline (no LLM)."""
    with _serve(sample_index, tmp_path_factory.mktemp("ui-server")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _context(browser: Any, base_url: str) -> Any:
    ctx = browser.new_context(viewport={"width": 1360, "height": 1000}, base_url=base_url)
    ctx.set_default_timeout(30_000)
    return ctx


@pytest.fixture()
def context(browser: Any, server: str) -> Iterator[Any]:
    ctx = _context(browser, server)
    try:
        yield ctx
    finally:
        ctx.close()


def _open_chat(context: Any) -> Any:
    page = context.new_page()
    page.goto("/", wait_until="load")
    page.locator("#question textarea").wait_for()
    return page


def _target(viewer: Any) -> dict[str, Any]:
    """What the viewer's URL fragment points at: the element id, its turn's speaker, and its background."""
    result: dict[str, Any] = viewer.evaluate(
        """() => {
            const t = document.querySelector(':target');
            if (!t) return {};
            const turn = t.closest('article.turn');
            return {id: t.id, speaker: turn && turn.dataset.speaker, lines: turn && turn.dataset.lines,
                    background: getComputedStyle(t).backgroundColor,
                    turnBackground: turn && getComputedStyle(turn).backgroundColor};
        }"""
    )
    return result


def test_ask_stream_cite_and_open_the_viewer(context: Any, server: str) -> None:
    from playwright.sync_api import expect

    page = _open_chat(context)
    expect(page.get_by_text(NO_LLM)).to_be_visible()
    # The empty chat offers the example questions, in English and French.
    expect(page.locator("#chat").get_by_text("Qu'a dit Audrey Maurel sur le DSA ?")).to_be_visible()

    page.locator("#question textarea").fill(QUESTION)
    page.locator("#question textarea").press("Enter")

    # The final answer replaces the streamed text: its sources are links labelled speaker · date · time.
    chat_links = page.locator("#chat").get_by_role("link", name=LABEL)
    expect(chat_links.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#chat").get_by_text("Sources")).to_be_visible()
    href = chat_links.first.get_attribute("href") or ""
    assert re.fullmatch(rf"{re.escape(server)}/episode/{DECEMBER}#L\d+", href), href

    # The panel beside the chat lists the cited segments, each naming its speaker.
    cards = page.locator("#cites .cite")
    expect(cards.first).to_be_visible()
    speakers = cards.locator(".cite-who").all_inner_texts()
    assert speakers and set(speakers) == {"Julien Pillot"}, speakers
    assert page.locator("#question textarea").input_value() == ""

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Following the link in the answer opens the viewer on that line, inside Julien Pillot's turn, highlighted.
    with context.expect_page() as opened:
        chat_links.first.click()
    viewer = opened.value
    viewer.wait_for_load_state("load")
    first_line = href.rsplit("#L", 1)[1]
    target = _target(viewer)
    assert target["id"] == f"L{first_line}"
    assert target["speaker"] == "Julien Pillot"
    assert target["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), target
    expect(viewer.locator(f"#L{first_line}")).to_be_in_viewport()

    # Clicking a card of the panel opens the viewer with the cited lines highlighted (?hl=first-last).
    card_href = cards.first.locator("a.cite-open").get_attribute("href") or ""
    span = re.fullmatch(rf"/episode/{DECEMBER}\?hl=(\d+)-(\d+)#L(\d+)", card_href)
    assert span, card_href
    with context.expect_page() as opened:
        cards.first.locator(".cite-quote").click()
    viewer = opened.value
    viewer.wait_for_load_state("load")
    lo, hi = int(span.group(1)), int(span.group(2))
    highlighted = [int(i[1:]) for i in viewer.locator(".ln.hl").evaluate_all("els => els.map(e => e.id)")]
    assert highlighted and all(lo <= n <= hi for n in highlighted), (highlighted, lo, hi)
    owners = viewer.locator(".ln.hl").evaluate_all("els => els.map(e => e.closest('article').dataset.speaker)")
    assert set(owners) == {"Julien Pillot"}
    assert _target(viewer)["speaker"] == "Julien Pillot"
    quote = cards.first.locator(".cite-quote").inner_text()
    assert quote.split(",")[0].strip() in viewer.locator(f"article.turn:has(#L{lo})").inner_text()


def test_example_question_new_chat_and_unknown_episode(context: Any) -> None:
    from playwright.sync_api import expect

    page = _open_chat(context)
    page.locator("#chat").get_by_text("What did the guests think of the quantum defence campus?").click()
    cards = page.locator("#cites .cite")
    expect(cards.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    assert all(re.fullmatch(r"\d+ \w{3} 2025 · \d{2}:\d{2}", t) for t in cards.locator(".cite-when").all_inner_texts())

    # "New chat" empties the conversation and the panel, and the examples come back.
    page.locator("#new-chat").click()
    expect(cards).to_have_count(0)
    expect(page.locator("#cites .cites-empty")).to_be_visible()
    expect(page.locator("#chat").get_by_text("Qu'a dit Audrey Maurel sur le DSA ?")).to_be_visible()

    resp = page.request.get("/episode/%3Cscript%3Enope")
    assert resp.status == 404
    assert "&lt;script&gt;nope" in resp.text() and "<script>nope" not in resp.text()


def test_follow_up_uses_the_chat_history(context: Any) -> None:
    """A follow-up ("And Audrey Maurel?") means something only with the previous question: its topic carries over."""
    from playwright.sync_api import expect

    page = _open_chat(context)
    box = page.locator("#question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    expect(page.locator("#chat").get_by_role("link", name=LABEL).first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    box.fill("And Audrey Maurel?")
    box.press("Enter")
    # Answered or refused, the reply is about Audrey Maurel *and* public procurement, which only the history gives.
    expect(page.locator("#chat")).to_contain_text(
        re.compile(r"And Audrey Maurel\?[\s\S]*Audrey Maurel[^\n]*public procurement"), timeout=ANSWER_TIMEOUT_MS
    )
    expect(page.locator("#cites .cite-who").filter(has_text="Julien Pillot")).to_have_count(0)


def test_speaker_filter_restricts_the_citations(context: Any) -> None:
    from playwright.sync_api import expect

    page = _open_chat(context)
    page.locator("#filter-speakers input").click()
    page.get_by_role("option", name="Julien Pillot").click()
    page.keyboard.press("Escape")
    box = page.locator("#question textarea")
    # Unfiltered, this question also cites Eric Haddad: the filter is what keeps only Julien Pillot.
    box.fill("Qu'est-ce qui a été dit sur la commande publique ?")
    box.press("Enter")
    who = page.locator("#cites .cite-who")
    expect(who.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    assert set(who.all_inner_texts()) == {"Julien Pillot"}


def test_upload_bad_file_changes_nothing_then_good_file_is_listed(context: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = _open_chat(context)
    page.get_by_role("tab", name="Episodes").click()
    rows = page.locator("#episode-list table.episodes tbody tr")
    expect(rows).to_have_count(2)

    # The same real lines, with a NUL byte on line 8: not a text transcript.
    lines = UPLOAD.splitlines(keepends=True)
    lines[7] = lines[7].replace("Bonjour", "Bon\x00jour")
    bad = tmp_path / "extrait-casse.txt"
    bad.write_bytes("".join(lines).encode("utf-8"))
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    expect(page.locator("#upload").get_by_text("extrait-casse.txt")).to_be_visible()
    page.locator("#ingest").click()
    status = page.locator("#ingest-status")
    expect(status).to_contain_text("extrait-casse.txt", timeout=ANSWER_TIMEOUT_MS)
    expect(status).to_contain_text("8")  # the line to look at
    expect(status).to_contain_text("nothing was changed")
    expect(rows).to_have_count(2)

    good = tmp_path / "extrait-commande-publique.txt"
    good.write_text(UPLOAD, encoding="utf-8")
    page.locator("#upload input[type=file]").set_input_files(str(good))
    expect(page.locator("#upload").get_by_text("extrait-commande-publique.txt")).to_be_visible()
    page.locator("#ingest").click()
    expect(status).to_contain_text("smart-tech-extrait-upload", timeout=ANSWER_TIMEOUT_MS)
    expect(status).to_contain_text("added")
    expect(rows).to_have_count(3)
    expect(page.locator("#episode-list")).to_contain_text("smart-tech-extrait-upload")
    # The filters learn the new episode too.
    page.get_by_role("tab", name="Chat").click()
    page.locator("#filter-episodes input").click()
    expect(page.get_by_role("option", name=re.compile("extrait commande publique"))).to_be_visible()


def test_llm_answer_streams_in_and_a_dropped_stream_falls_back_to_quotes(
    browser: Any, sample_index: Path, tmp_path: Path
) -> None:
    """With an OpenAI-compatible endpoint (a fake one on 127.0.0.1), deltas show as they arrive."""
    from playwright.sync_api import expect

    from tests.fakes.openai_server import start_fake_openai

    reply = ("Julien Pillot souhaite que la commande publique profite davantage aux acteurs européens [1]. "
             "Il décrit l'accès aux marchés publics comme un parcours du combattant [2].")
    # The stall lasts long enough for a loaded CI machine to render the half-written state before it ends.
    with start_fake_openai(reply, mode="stall", delay_s=20.0) as fake, _serve(
        sample_index, tmp_path,
        {"DEBRIEF_LLM_MODEL": fake.model, "DEBRIEF_LLM_BASE_URL": fake.base_url, "DEBRIEF_LLM_API_KEY": "test"},
    ) as base:
        ctx = _context(browser, base)
        try:
            page = _open_chat(ctx)
            expect(page.get_by_text(NO_LLM)).to_have_count(0)
            chat = page.locator("#chat")
            box = page.locator("#question textarea")
            box.fill(QUESTION)
            box.press("Enter")
            # The endpoint sends half its reply and stalls: that half is on screen, still being written.
            expect(chat).to_contain_text("Julien Pillot souhaite que", timeout=ANSWER_TIMEOUT_MS)
            expect(chat).to_contain_text("▍")
            # Then it drops the connection: the answer falls back to cited quotes and says why.
            expect(chat).to_contain_text("language model failed", timeout=ANSWER_TIMEOUT_MS)
            expect(chat.get_by_role("link", name=LABEL).first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            expect(chat).not_to_contain_text("▍")

            fake.mode = "ok"
            page.locator("#new-chat").click()
            # Wait for the new chat to be empty: typing before "New chat" has cleared the box loses the question.
            expect(chat.get_by_text("Qu'a dit Audrey Maurel sur le DSA ?")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            expect(box).to_have_value("")
            box.fill(QUESTION)
            box.press("Enter")
            expect(chat).to_contain_text("parcours du combattant", timeout=ANSWER_TIMEOUT_MS)
            expect(chat.get_by_role("link", name=LABEL).first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
            expect(chat).not_to_contain_text("▍")
            assert page.locator("#cites .cite-who").all_inner_texts()
            assert fake.last_request["stream"] is True
        finally:
            ctx.close()

"""The web UI: a Gradio chat over the transcripts, mounted on a FastAPI app that also serves the transcript viewer.

Layout of the server (one process, one port):
- `GET /episode/{episode_id}` : the transcript viewer page (plain HTML, `?hl=<first>-<last>` highlights lines);
- `/api/ask`, `/api/episodes`, `/api/ingest`, `/healthz` : the JSON API (`ui.api`);
- `/` : the Gradio app (chat with streamed, cited answers; cited-segment panel; episode list; upload).

The UI holds no retrieval or answering logic: every question, listing and ingest goes through `Assistant`.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from ingest.errors import TranscriptError
from rag.assistant import Assistant
from rag.settings import Settings
from rag.types import Answer, Citation, EpisodeSummary, Filters, Message
from ui import viewer
from ui.access import TOKEN_VAR, ingest_refusal, loopback_only, token_required
from ui.api import api_router

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_TYPES = [".txt", ".vtt", ".srt", ".json"]

EXAMPLES = [
    "What did Julien Pillot say about public procurement?",
    "Qu'a dit Audrey Maurel sur le DSA ?",
    "What did the guests think of the quantum defence campus?",
    "What was discussed in the December episode?",
    "Qui est Marc Kaplan ?",
]
NO_LLM_NOTICE = "No LLM configured: answers are verbatim quotes from the transcripts."

_CITE_MARK = re.compile(r"\[(\d+)\](?!\()")


# --- rendering answers for the chat (Markdown; transcript text is HTML-escaped first) -------------------------


def answer_markdown(answer: Answer) -> str:
    """The chat bubble for a final Answer: its text with `[n]` linked, a notice if any, then the sources."""
    by_n = {c.n: c for c in answer.citations}

    def link(match: re.Match[str]) -> str:
        c = by_n.get(int(match.group(1)))
        return f"[\\[{c.n}\\]](<{c.url}> {_md_title(viewer.citation_label(c))})" if c else match.group(0)

    body = _CITE_MARK.sub(link, html.escape(answer.answer, quote=False))
    parts = [body]
    if answer.notice:
        parts.append(f"> ⚠ {html.escape(answer.notice, quote=False)}")
    if answer.citations:
        parts.append("**Sources**")
        parts.append("\n".join(_source_line(c) for c in answer.citations))
    return "\n\n".join(parts)


def _source_line(c: Citation) -> str:
    label = html.escape(viewer.citation_label(c), quote=False).replace("[", "\\[").replace("]", "\\]")
    return f"{c.n}. [{label}](<{c.url}>)"


def _md_title(text: str) -> str:
    return '"' + html.escape(text, quote=True) + '"'


def _streaming_markdown(text: str) -> str:
    return html.escape(text, quote=False) + " ▍"


# --- the Gradio handlers -----------------------------------------------------------------------------------


class ChatUI:
    """The Gradio event handlers, bound to one Assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        # Ingest rewrites the index: questions and ingests take turns rather than race on the store.
        self._lock = threading.Lock()

    # choices and lists

    def episode_choices(self, episodes: list[EpisodeSummary] | None = None) -> list[tuple[str, str]]:
        eps = episodes if episodes is not None else self.assistant.episodes()
        return [
            (f"{viewer.human_date(e.date) if e.date else '?'} · {e.title}", e.episode_id)
            for e in sorted(eps, key=lambda e: e.date, reverse=True)
        ]

    def speaker_choices(self, episodes: list[EpisodeSummary] | None = None) -> list[str]:
        eps = episodes if episodes is not None else self.assistant.episodes()
        hosts = {p.name for e in eps for p in e.speakers if p.is_host}
        names = {p.name for e in eps for p in e.speakers}
        # Guests first (what people ask about), then the host(s), each alphabetically.
        return sorted(names - hosts) + sorted(hosts)

    def refresh(self, episodes_sel: list[str] | None, speakers_sel: list[str] | None) -> tuple[Any, Any, str]:
        """New choices for both filters (keeping what is still valid) and the episode list."""
        eps = self.assistant.episodes()
        ep_choices = self.episode_choices(eps)
        sp_choices = self.speaker_choices(eps)
        ep_ids = {v for _, v in ep_choices}
        return (
            gr.update(choices=ep_choices, value=[e for e in (episodes_sel or []) if e in ep_ids]),
            gr.update(choices=sp_choices, value=[s for s in (speakers_sel or []) if s in sp_choices]),
            viewer.render_episode_list(eps),
        )

    # chat

    def respond(
        self,
        question: str,
        chat: list[Any] | None,
        history: list[dict[str, str]] | None,
        episodes_sel: list[str] | None,
        speakers_sel: list[str] | None,
    ) -> Iterator[tuple[list[Any], str, str, list[dict[str, str]]]]:
        """Stream an answer into the chat; the last yield carries the linked citations and the new history."""
        chat = list(chat or [])
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            yield chat, "", gr.skip(), history
            return
        chat.append({"role": "user", "content": html.escape(question, quote=False)})
        chat.append({"role": "assistant", "content": "…"})
        yield chat, "", viewer.render_citations([]), history

        filters = Filters(speakers=list(speakers_sel or []), episodes=list(episodes_sel or []))
        past = [Message(role=m["role"], content=m["content"]) for m in history]  # type: ignore[arg-type]
        text = ""
        final: Answer | None = None
        try:
            with self._lock:
                for item in self.assistant.stream(question, filters=filters or None, history=past):
                    if isinstance(item, Answer):
                        final = item
                        break
                    text += item
                    chat[-1] = {"role": "assistant", "content": _streaming_markdown(text)}
                    yield chat, "", gr.skip(), history
        except Exception as exc:  # shown to the reader: a failed answer must not look like an empty one
            chat[-1] = {"role": "assistant", "content": f"⚠ Could not answer: {html.escape(str(exc), quote=False)}"}
            yield chat, "", viewer.render_citations([]), history
            return
        if final is None:
            final = Answer(answer=text, refused=not text, citations=[])
        chat[-1] = {"role": "assistant", "content": answer_markdown(final)}
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": final.answer}]
        yield chat, "", viewer.render_citations(final.citations, self.assistant.episodes()), history

    @staticmethod
    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return str(value.get("text", "")) if isinstance(value, dict) else str(value)

    @staticmethod
    def new_chat() -> tuple[list[Any], list[dict[str, str]], str, str]:
        return [], [], viewer.render_citations([]), ""

    # ingest

    def ingest(
        self,
        files: list[str] | str | None,
        episodes_sel: list[str] | None,
        speakers_sel: list[str] | None,
        token: str | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's documented way to ask for a tracker
    ) -> tuple[str, Any, Any, str]:
        """Ingest uploaded transcripts; report each file's outcome (a bad file names its line and changes nothing).
        `token`: what the uploader typed in the ingest-token field (see `ui.access`)."""
        refused = ingest_refusal(self.assistant.settings, token or None)
        if refused:
            return (f"✗ {html.escape(refused.message, quote=False)}; nothing ingested",
                    *self.refresh(episodes_sel, speakers_sel))
        paths = [files] if isinstance(files, str) else list(files or [])
        if not paths:
            return ("Choose one or more transcript files first.", *self.refresh(episodes_sel, speakers_sel))
        report: list[str] = []
        staging = Path(tempfile.mkdtemp(prefix="debrief-upload-"))
        try:
            staged: list[Path] = []
            for upload in paths:
                name = safe_name(upload)
                problem = upload_path_problem(str(upload))
                if problem:
                    shown = name or repr(PurePosixPath(str(upload)).name)
                    report.append(f"✗ `{html.escape(shown)}`: {html.escape(problem.message, quote=False)}; nothing ingested")
                elif (staging / name).exists():
                    report.append(f"✗ `{html.escape(name)}`: uploaded twice; ingested once")
                else:
                    target = staging / name
                    shutil.copyfile(upload, target)
                    staged.append(target)
            if staged:
                progress((0, len(staged)), desc="Reading transcripts")

                def tick(done: int, total: int, what: str) -> None:
                    progress((done, max(total, 1)), desc=_strip(what, staging))

                with self._lock:
                    try:
                        results = self.assistant.ingest(staged, progress=tick)
                    except TranscriptError as exc:
                        report.append(f"✗ {_describe_error(exc, staging)}; nothing was changed")
                        results = []
                for r in results:
                    name = PurePosixPath(r.path).name or r.path
                    if r.status == "failed":
                        # The error already names file and line (`name.txt:8: ...`); only our staging folder is cut.
                        error = _strip(r.error or f"{name}: failed", staging)
                        report.append(f"✗ {html.escape(error, quote=False)}; nothing was changed")
                    else:
                        notice = f"; {html.escape(r.notice, quote=False)}" if r.notice else ""
                        report.append(
                            f"✓ `{html.escape(name)}` → **{html.escape(r.episode_id)}**: {r.status} "
                            f"({r.turns} turns, {r.chunks} chunks{notice})"
                        )
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return ("\n\n".join(report), *self.refresh(episodes_sel, speakers_sel))


def safe_name(upload: str | Path) -> str:
    """The file's own name, without any directory part a browser or a crafted request may have put in it;
    "" for names no file should have (hidden, `..`, control characters such as NUL)."""
    raw = str(upload)
    name = PureWindowsPath(PurePosixPath(raw).name).name
    if name in {"", ".", ".."} or name.startswith(".") or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return ""
    return name


@dataclass(frozen=True)
class UploadProblem:
    """Why an upload is refused before it is read, and the HTTP status the JSON API answers with."""

    message: str
    status: int


def upload_problem(raw_name: str, data: bytes) -> UploadProblem | None:
    """Check a file sent over HTTP: its name must be a bare file name (a client has no business sending
    directories: `../../etc/passwd`, `/etc/passwd`, `C:\\x` are refused), then its type, size and content."""
    if raw_name != safe_name(raw_name):
        return UploadProblem("not a usable file name (a bare name like episode.srt is expected)", 400)
    return _name_problem(raw_name) or _content_problem(len(data), data[:8192])


def upload_path_problem(path: str) -> UploadProblem | None:
    """Check a file the UI received (Gradio hands over a path in its upload cache): no `..` or control characters
    in the path, a supported type, then its size; a refused file is not read at all. Binary or badly encoded
    content is left to the ingest, whose error names the line to look at."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if ".." in parts or any(ord(ch) < 32 for ch in path):
        return UploadProblem("not a usable file name", 400)
    problem = _name_problem(safe_name(path))
    if problem:
        return problem
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        return UploadProblem(f"cannot read the upload ({exc.strerror or exc})", 400)
    return _content_problem(size, b"")


def _name_problem(name: str) -> UploadProblem | None:
    if not name:
        return UploadProblem("not a usable file name", 400)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        kinds = ", ".join(UPLOAD_TYPES)
        return UploadProblem(f"unsupported file type {suffix or '(none)'!r}: upload one of {kinds}", 415)
    return None


def _content_problem(size: int, head: bytes) -> UploadProblem | None:
    if size > MAX_UPLOAD_BYTES:
        return UploadProblem(f"{size / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB limit", 413)
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        return UploadProblem(f"binary content (NUL byte on line {line}): not a text transcript", 415)
    return None


def _strip(text: str, staging: Path) -> str:
    return text.replace(str(staging) + "/", "").replace(str(staging), "")


def _describe_error(exc: TranscriptError, staging: Path) -> str:
    where = PurePosixPath(exc.path).name or exc.path
    line = f", line {exc.line}" if exc.line is not None else ""
    return f"`{html.escape(where)}`{line}: {html.escape(_strip(exc.reason, staging))}"


# --- building the app --------------------------------------------------------------------------------------


def build_blocks(assistant: Assistant) -> gr.Blocks:
    """The Gradio interface: chat + cited segments, filters, episode list and upload."""
    ui = ChatUI(assistant)
    episodes = assistant.episodes()
    with gr.Blocks(title="debrief · SMART TECH transcripts", analytics_enabled=False, fill_width=False) as blocks:
        gr.Markdown(
            "## debrief\nAsk what was said on **SMART TECH**, in English or French. "
            "Every answer cites who said it, in which episode and when.",
            elem_id="intro",
        )
        if not assistant.llm_enabled:
            gr.Markdown(f"ℹ️ {NO_LLM_NOTICE}", elem_id="no-llm-notice", elem_classes=["notice"])
        history = gr.State([])
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=420):
                    with gr.Row():
                        ep_filter = gr.Dropdown(
                            choices=ui.episode_choices(episodes), value=[], multiselect=True,
                            label="Episodes", info="Empty = all episodes", elem_id="filter-episodes",
                        )
                        sp_filter = gr.Dropdown(
                            choices=ui.speaker_choices(episodes), value=[], multiselect=True,
                            label="Speakers", info="Empty = everyone", elem_id="filter-speakers",
                        )
                    chatbot = gr.Chatbot(
                        elem_id="chat", label="Chat", show_label=False, height=540, layout="bubble",
                        examples=[{"text": q} for q in EXAMPLES],
                        placeholder="**Ask about an episode** — or try one of these:",
                        buttons=["copy"], feedback_options=None, sanitize_html=True,
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="What did Julien Pillot say about public procurement?",
                            show_label=False, scale=8, elem_id="question", lines=1,
                        )
                        send = gr.Button("Ask", variant="primary", scale=0, min_width=90, elem_id="ask")
                        clear = gr.Button("New chat", scale=0, min_width=110, elem_id="new-chat")
                with gr.Column(scale=2, min_width=300):
                    gr.Markdown("### Cited segments", elem_id="cites-title")
                    cites = gr.HTML(viewer.render_citations([]), elem_id="cites")
            with gr.Tab("Episodes", id="episodes"):
                episode_list = gr.HTML(viewer.render_episode_list(episodes), elem_id="episode-list")
                gr.Markdown(
                    "### Add transcripts\nShow pages, plain text, SRT, WebVTT or WhisperX JSON, up to 20 MB each. "
                    "A file that cannot be read is reported with its line and changes nothing."
                )
                upload = gr.File(
                    label="Transcript files", file_count="multiple", file_types=UPLOAD_TYPES, type="filepath",
                    elem_id="upload",
                )
                settings = assistant.settings
                token = gr.Textbox(label="Ingest token", type="password", elem_id="ingest-token",
                                   visible=token_required(settings))
                if not token_required(settings) and not loopback_only(settings):
                    gr.Markdown(f"Uploads are off: this server listens on `{settings.host}` and no "
                                f"`{TOKEN_VAR}` is set.", elem_id="uploads-off")
                ingest_btn = gr.Button("Ingest", variant="primary", elem_id="ingest")
                ingest_status = gr.Markdown(elem_id="ingest-status")

        ask_io: dict[str, Any] = {
            "fn": ui.respond,
            "inputs": [box, chatbot, history, ep_filter, sp_filter],
            "outputs": [chatbot, box, cites, history],
        }
        box.submit(**ask_io)
        send.click(**ask_io)
        chatbot.example_select(ui.pick_example, None, [box], queue=False).then(**ask_io)
        clear.click(ui.new_chat, None, [chatbot, history, cites, box], queue=False)
        chatbot.clear(ui.new_chat, None, [chatbot, history, cites, box], queue=False)
        ingest_btn.click(
            ui.ingest, [upload, ep_filter, sp_filter, token], [ingest_status, ep_filter, sp_filter, episode_list]
        ).then(lambda: None, None, [upload], queue=False)
        blocks.load(ui.refresh, [ep_filter, sp_filter], [ep_filter, sp_filter, episode_list], queue=False)
    return blocks


def build_app(assistant: Assistant) -> FastAPI:
    """FastAPI app with the viewer route first, then Gradio mounted at `/` (so it cannot shadow the viewer)."""
    app = FastAPI(title="debrief", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(api_router(assistant))  # /api/* and /healthz, before Gradio claims `/`

    @app.get("/episode/{episode_id}", response_class=HTMLResponse)
    def episode_page(episode_id: str, hl: str | None = None) -> HTMLResponse:
        try:
            detail = assistant.episode(episode_id)
        except KeyError:
            return HTMLResponse(viewer.render_not_found(episode_id), status_code=404)
        # Line-level speech lets a citation's own lines be addressed and highlighted inside a long turn.
        lines = assistant.transcript(episode_id).lines
        return HTMLResponse(viewer.render_episode_page(detail, viewer.parse_hl(hl), lines))

    blocks = build_blocks(assistant)
    return gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        max_file_size=MAX_UPLOAD_BYTES,
        footer_links=[],
        run_history=False,
        ssr_mode=False,
        theme=gr.themes.Soft(primary_hue="indigo", neutral_hue="slate"),
        css_paths=[STATIC_DIR / "app.css"],
    )


def serve(settings: Settings | None = None) -> None:
    """Ingest the bundled samples if the index is empty, then serve the UI on settings.host:settings.port."""
    import uvicorn

    settings = settings or Settings()
    assistant = Assistant(settings)
    assistant.ensure_samples()
    notice = assistant.outdated_notice()
    if notice:
        print(f"note: {notice}", file=sys.stderr, flush=True)
    app = build_app(assistant)
    print(f"debrief UI on http://{settings.host}:{settings.port}/", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def main() -> None:
    """`python -m ui.app`: serve with settings from the environment."""
    serve(Settings())


if __name__ == "__main__":
    main()

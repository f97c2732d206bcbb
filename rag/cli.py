"""`debrief`: a thin shell over the service API. Each sub-command parses arguments, calls one thing, prints."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from ingest.errors import TranscriptError
from ingest.formats.timecode import format_seconds
from rag.settings import Settings

# soft_wrap: long quotes and URLs stay whole when piped, instead of being cut at 80 columns.
console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `debrief` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # `eval` and `bench` own their options (`--suite`, `--quick`...): hand them over untouched.
    passthrough = {"eval": cmd_eval, "bench": cmd_bench}
    if argv and argv[0] in passthrough:
        return int(passthrough[argv[0]](argparse.Namespace(rest=argv[1:])) or 0)
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except TranscriptError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        return 1
    except RuntimeError as exc:
        if not _is_user_facing(exc):
            raise
        # One line, no traceback: the message says what is wrong and where (the Chroma URL, the variable name).
        errors.print(f"[red]error:[/red] {escape(' '.join(str(exc).split()))}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `debrief turns --json | head`
        sys.stderr.close()
        return 0


def _is_user_facing(exc: BaseException) -> bool:
    """A store that cannot be reached or a Slack token that is missing: the user's to fix, not a bug.
    Looked up in `sys.modules` so the CLI does not import chromadb or slack_bolt just to name their errors."""
    kinds = [getattr(sys.modules.get(mod), name, None) for mod, name in
             (("rag.store", "StoreUnavailable"), ("ui.slack.app", "SlackConfigError"))]
    return any(isinstance(kind, type) and isinstance(exc, kind) for kind in kinds)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="debrief", description="Ask what was said in show transcripts, with citations.")
    sub = p.add_subparsers(metavar="COMMAND")

    s = sub.add_parser("ingest", help="index transcript files or folders (default: the bundled samples)")
    s.add_argument("paths", nargs="*", type=Path)
    s.add_argument("--format", help="force a format instead of detecting it")
    s.add_argument("--source-url", help="video page of the episode, for links that open the exact second")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("episodes", help="list indexed episodes")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_episodes)

    s = sub.add_parser("remove", help="remove an episode from the index")
    s.add_argument("episode")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("turns", help="who speaks when in a transcript file (speaker attribution)")
    s.add_argument("file", type=Path)
    s.add_argument("--format")
    s.add_argument("--json", action="store_true", help="JSON Lines, one object per speech line")
    s.add_argument("--llm", action="store_true",
                   help="let the configured LLM endpoint relabel the unsure stretches (see DEBRIEF_LLM_SPEAKERS)")
    s.set_defaults(func=cmd_turns)

    s = sub.add_parser("ask", help="ask a question")
    s.add_argument("question")
    s.add_argument("--speaker", action="append", default=[], help="only this speaker (repeatable)")
    s.add_argument("--episode", action="append", default=[], help="only this episode id (repeatable)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("serve", help="start the chat UI")
    s.add_argument("--port", type=int)
    s.add_argument("--host")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("slack", help="run the Slack bot (Socket Mode, or --http for the Events API)")
    s.add_argument("--http", action="store_true")
    s.add_argument("--port", type=int, default=3000)
    s.set_defaults(func=cmd_slack)

    s = sub.add_parser("eval", help="run the answer-quality evals")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("bench", help="run the benchmarks")
    s.add_argument("rest", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench)
    return p


def _assistant() -> Any:
    from rag.assistant import Assistant

    return Assistant(Settings())


def cmd_ingest(args: argparse.Namespace) -> int:
    assistant = _assistant()
    paths = args.paths or [assistant.settings.samples_dir]
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=errors, transient=True, disable=args.json) as progress:
        task = progress.add_task("ingesting", total=None)

        def report(done: int, total: int, name: str) -> None:
            progress.update(task, completed=done, total=total, description=f"ingesting {name}")

        results = assistant.ingest(paths, report, source_url=args.source_url, format=args.format)
    if args.json:
        print(json.dumps([r.__dict__ for r in results], ensure_ascii=False))
    else:
        for r in results:
            if r.status == "failed":
                errors.print(f"[red]failed[/red]    {r.error}")
            else:
                detail = f"{r.turns} turns, {r.chunks} chunks" if r.status != "unchanged" else "already indexed"
                if r.notice:
                    detail += f" ({r.notice})"
                console.print(f"[green]{r.status:<9}[/green] {r.episode_id}  ({detail})  {r.path}")
    return 1 if any(r.status == "failed" for r in results) else 0


def cmd_episodes(args: argparse.Namespace) -> int:
    episodes = _assistant().episodes()
    if args.json:
        print(json.dumps([_as_dict(e) for e in episodes], ensure_ascii=False))
        return 0
    table = Table("episode", "date", "speakers (turns)", "turns", "lines")
    for e in episodes:
        people = ", ".join(f"{s.name}{' (host)' if s.is_host else ''} ({s.turns})" for s in e.speakers)
        table.add_row(e.episode_id, e.date, people, str(e.turns), str(e.lines))
    console.print(table if episodes else "No episodes indexed yet: run `debrief ingest`.")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    if _assistant().remove(args.episode):
        console.print(f"removed {args.episode}")
        return 0
    errors.print(f"[red]error:[/red] no episode {args.episode!r} in the index (see `debrief episodes`)")
    return 1


def cmd_turns(args: argparse.Namespace) -> int:
    from ingest.parse import parse_file
    from ingest.pipeline import attribute_speakers
    from ingest.turns import group_turns

    chat = None
    if args.llm:
        settings = Settings()
        if not settings.llm_enabled:
            errors.print("[red]error:[/red] --llm needs an LLM endpoint: set DEBRIEF_LLM_MODEL and OPENAI_BASE_URL "
                         "(or OPENAI_API_KEY)")
            return 2
        from rag.llm import speaker_chat_model

        chat = speaker_chat_model(settings)
    transcript = parse_file(args.file, format=args.format)
    report = attribute_speakers(transcript, args.file, chat)
    if report is not None:
        errors.print(report.summary())
    if args.json:
        for ln in transcript.lines:
            row = {"line": ln.line, "start": ln.start, "speaker": ln.speaker, "confidence": round(ln.confidence, 3)}
            print(json.dumps(row, ensure_ascii=False))
        return 0
    meta = transcript.meta
    console.print(f"[bold]{meta.title}[/bold]  ({len(transcript.lines)} speech lines)")
    for t in group_turns(transcript.lines):
        words = t.text if len(t.text) <= 90 else t.text[:87] + "..."
        flag = "[yellow]?[/yellow]" if t.confidence < 0.5 else " "
        console.print(f"{format_seconds(t.start)}-{format_seconds(t.end)}  {flag} [cyan]{t.speaker:<20}[/cyan] "
                      f"{t.confidence:.2f}  {words}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.types import Filters

    assistant = _assistant()
    answer = assistant.ask(args.question, Filters(speakers=args.speaker, episodes=args.episode))
    outdated = assistant.outdated_notice()
    if outdated:
        errors.print(f"[yellow]note: {outdated}[/yellow]")
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    if answer.notice:
        errors.print(f"[yellow]{answer.notice}[/yellow]")
    console.print(answer.answer)
    if answer.citations:
        console.print()
    for c in answer.citations:
        console.print(f"[{c.n}] {c.speaker} · {c.date or c.episode_title} · {format_seconds(c.start)}  {c.url}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import serve

    overrides = {k: v for k, v in (("port", args.port), ("host", args.host)) if v}
    serve(Settings(**overrides))
    return 0


def cmd_slack(args: argparse.Namespace) -> int:
    from ui.slack.app import run

    run(Settings(), http=args.http, port=args.port)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from evals.run import main as eval_main

    return int(eval_main(args.rest) or 0)


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks.run import main as bench_main

    return int(bench_main(args.rest) or 0)


def _as_dict(obj: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


if __name__ == "__main__":
    sys.exit(main())

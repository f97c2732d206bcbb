"""Load test of the UI's JSON API and the Slack bot's HTTP endpoint, on 127.0.0.1 only.

    .venv/bin/python scripts/loadtest.py                      # 20 users x 60 s against each, the full form
    .venv/bin/python scripts/loadtest.py --users 5 --duration 10 --json results.json

Each server runs as its own process, the way a user starts it (`python -m ui.app`, `debrief slack --http`), over a
fresh index of the two sample episodes; the Slack bot posts to a local fake of Slack's Web API. Before measuring,
each question is asked once (cold caches: reported separately), then `--users` closed-loop users ask in turn for
`--duration` seconds. Prints requests, errors, p50/p95 latency per target; exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.slack_api import FakeSlackAPI  # noqa: E402
from tests.reliability.conftest import QUESTIONS  # noqa: E402
from tests.reliability.load import LoadResult, api_asker, run_users, slack_asker  # noqa: E402
from tests.ui.test_slack_http import BOT_TOKEN, SECRET, BotServer, mention  # noqa: E402
from ui.slack.blocks import ERROR_TEXT  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(args: list[str], env: dict[str, str], health: str, log: Path) -> Iterator[None]:
    """Start a server process, wait for its health URL, stop it afterwards."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, *args], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    with urllib.request.urlopen(health, timeout=5):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"{' '.join(args)} did not start; see {log}") from None
                    time.sleep(0.5)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def warm_up(name: str, request: object) -> LoadResult:
    """Ask each question once, one at a time: the cold-cache latencies."""
    return run_users(f"{name} (warm-up, 1 user, each question once)", request, users=1,  # type: ignore[arg-type]
                     duration_s=3600, max_requests=len(QUESTIONS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per target")
    parser.add_argument("--max-requests", type=int, default=5000, help="cap per target")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="debrief-load-"))
    env = {**os.environ, "DEBRIEF_INDEX_DIR": str(work / "index"), "DEBRIEF_HOST": "127.0.0.1",
           "PYTHONPATH": str(REPO)}
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "DEBRIEF_LLM_MODEL", "DEBRIEF_CHROMA_URL", "SLACK_APP_TOKEN"):
        env.pop(var, None)
    print(f"building the index in {work} ...", flush=True)
    subprocess.run([sys.executable, "-m", "rag.cli", "ingest"], env=env, cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)
    results: list[LoadResult] = []

    port = free_port()
    ui_env = {**env, "DEBRIEF_PORT": str(port), "DEBRIEF_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    base = f"http://127.0.0.1:{port}"
    with server(["-m", "ui.app"], ui_env, f"{base}/healthz", work / "ui.log"):
        ask = api_asker(base, QUESTIONS)
        results.append(warm_up("UI /api/ask", ask))
        print(results[-1].summary(), flush=True)
        results.append(run_users("UI /api/ask", ask, args.users, args.duration, args.max_requests))
        print(results[-1].summary(), flush=True)

    with FakeSlackAPI() as fake:
        port = free_port()
        slack_env = {**env, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                     "SLACK_API_URL": fake.url + "/api/"}
        bot = BotServer(f"http://127.0.0.1:{port}")
        with server(["-m", "rag.cli", "slack", "--http", "--port", str(port)], slack_env, f"{bot.url}/healthz",
                    work / "slack.log"):
            ask = slack_asker(bot, fake, QUESTIONS, mention, ERROR_TEXT)
            results.append(warm_up("Slack /slack/events", ask))
            print(results[-1].summary(), flush=True)
            results.append(run_users("Slack /slack/events", ask, args.users, args.duration, args.max_requests))
            print(results[-1].summary(), flush=True)

    figures = {"cpus": os.cpu_count(), "load_average_after": os.getloadavg(), "questions": QUESTIONS,
               "results": [r.to_dict() for r in results]}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    failed = sum(len(r.errors) for r in results)
    for r in results:
        for e in r.errors[:5]:
            print(f"  {r.name}: {e}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

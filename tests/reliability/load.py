"""Load generation for the UI's JSON API and the Slack bot's HTTP endpoint, 127.0.0.1 only.

Closed loop: each simulated user sends a question, waits for the full answer, checks it, and asks again, until the
time budget or the request cap is reached (a request in flight at the deadline is still awaited and counted).
Used in a short form by `tests/reliability/test_load.py` and in full by `scripts/loadtest.py`.
"""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack_api import Call, FakeSlackAPI

# One request of one user: raises (any exception) when the answer is missing or invalid.
Request = Callable[[int, int], None]


@dataclass
class LoadResult:
    """What a load run measured: requests completed, errors, latencies in seconds."""

    name: str
    users: int
    duration_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    def percentile(self, q: float) -> float:
        """The q-th percentile (0-100) of successful requests' latencies, 0 when there are none."""
        if not self.latencies:
            return 0.0
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[max(0, min(98, round(q) - 1))]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "users": self.users, "duration_s": round(self.duration_s, 1),
                "requests": self.requests, "errors": len(self.errors),
                "throughput_rps": round(self.requests / self.duration_s, 2) if self.duration_s else 0.0,
                "p50_s": round(self.percentile(50), 3), "p95_s": round(self.percentile(95), 3),
                "max_s": round(max(self.latencies), 3) if self.latencies else 0.0,
                "error_samples": self.errors[:5]}

    def summary(self) -> str:
        d = self.to_dict()
        return (f"{self.name}: {d['users']} users, {d['duration_s']} s, {d['requests']} requests, "
                f"{d['errors']} errors, {d['throughput_rps']} req/s, p50 {d['p50_s']} s, p95 {d['p95_s']} s, "
                f"max {d['max_s']} s")


def run_users(name: str, request: Request, users: int, duration_s: float, max_requests: int | None = None,
              stop: threading.Event | None = None) -> LoadResult:
    """Run `users` closed-loop users for `duration_s` seconds, at most `max_requests` requests in all, and until
    `stop` is set if given."""
    result = LoadResult(name=name, users=users)
    lock = threading.Lock()
    issued = itertools.count()
    start = time.monotonic()
    deadline = start + duration_s

    def user(uid: int) -> None:
        for i in itertools.count():
            if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                return
            if max_requests is not None and next(issued) >= max_requests:
                return
            t0 = time.monotonic()
            try:
                request(uid, i)
            except Exception as exc:  # every failure is counted, none stops the run
                with lock:
                    result.errors.append(f"user {uid} request {i}: {type(exc).__name__}: {exc}"[:300])
                continue
            with lock:
                result.latencies.append(time.monotonic() - t0)

    threads = [threading.Thread(target=user, args=(u,), name=f"load-user-{u}", daemon=True) for u in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.duration_s = time.monotonic() - start
    return result


# -- the UI's JSON API ----------------------------------------------------------------------------------------
def check_answer(body: dict[str, Any]) -> None:
    """An /api/ask answer is valid: text, a refusal flag, and (unless refused) citations with speaker and link."""
    assert isinstance(body.get("answer"), str) and body["answer"].strip(), body
    assert isinstance(body.get("refused"), bool), body
    citations = body.get("citations")
    assert isinstance(citations, list), body
    if not body["refused"]:
        assert citations, f"an answer without citations: {body['answer'][:100]!r}"
    for c in citations:
        assert c["speaker"] and c["episode_id"] and c["url"].startswith("http"), c


def api_asker(base_url: str, questions: list[str], timeout_s: float = 300.0) -> Request:
    """POST /api/ask with the questions in turn (each user starts at a different one)."""

    def request(uid: int, i: int) -> None:
        question = questions[(uid + i) % len(questions)]
        data = json.dumps({"question": question}).encode()
        req = urllib.request.Request(f"{base_url}/api/ask", data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as response:
                status, body = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"HTTP {error.code}: {error.read()[:200]!r}") from error
        assert status == 200, status
        check_answer(body)

    return request


# -- the Slack bot's HTTP endpoint -------------------------------------------------------------------------------
def slack_asker(bot: Any, fake: FakeSlackAPI, questions: list[str], mention: Callable[[str], dict[str, Any]],
                error_text: str, timeout_s: float = 300.0) -> Request:
    """Send a signed `app_mention` to the bot and wait until the fake Slack receives the answer replacing its
    placeholder; `bot` is a `tests.ui.test_slack_http.BotServer`. Latency = mention sent -> answer posted."""

    def request(uid: int, i: int) -> None:
        event = mention(questions[(uid + i) % len(questions)])
        status, _ = bot.event(event)
        assert status == 200, f"the bot answered HTTP {status} to a signed event"

        def answered(calls: list[Call]) -> bool:
            return _answer_for(calls, event["channel"], event["ts"]) is not None

        calls = fake.wait_for(answered, timeout=timeout_s)
        update = _answer_for(calls, event["channel"], event["ts"])
        assert update is not None
        text = update.body.get("text", "")
        assert text and text != error_text, f"the bot apologised instead of answering: {text[:100]!r}"
        assert update.body.get("blocks"), "an answer without blocks"

    return request


def _answer_for(calls: list[Call], channel: str, thread_ts: str) -> Call | None:
    placeholder = next((c for c in calls if c.method == "chat.postMessage" and c.body.get("channel") == channel
                        and c.body.get("thread_ts") == thread_ts), None)
    if placeholder is None:
        return None
    ts = placeholder.response.get("ts")
    return next((c for c in calls if c.method == "chat.update" and c.body.get("ts") == ts), None)

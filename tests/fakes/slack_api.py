"""A local stand-in for Slack's Web API and response URLs, speaking real HTTP on 127.0.0.1.

Point a `slack_sdk.WebClient(base_url=fake.url + "/api/")` at it. Every call is recorded with its decoded body
(form or JSON; `blocks` given as a JSON string are decoded too) and answered the way Slack answers:
`{"ok": true, "channel": ..., "ts": ...}`. `fail(method, error)` makes a method answer `{"ok": false, "error": ...}`;
`serve(method, responder)` lets another fake answer a method (`tests.fakes.slack_socket` adds `apps.connections.open`).
POSTs to `/hooks/...` play the role of a slash command's `response_url`.
It keeps each channel's messages like Slack: what the bot posts or updates, plus what people said (`said`), so
`conversations.replies` (a thread) and `conversations.history` (a channel or DM, newest first) read them back
(both GET with query parameters, as `slack_sdk` sends them).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER_ID = "UDEBRIEF1"
BOT_ID = "BDEBRIEF1"
TEAM_ID = "T0SMARTECH"

# Answers one Web API method from its decoded body and the token of its Authorization header.
Responder = Callable[[dict[str, Any], str], dict[str, Any]]


@dataclass
class Call:
    """One request the fake received: the API method (or `hook:<path>`), its decoded body and headers."""

    method: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)  # what the fake answered (Web API calls only)


class FakeSlackAPI:
    """Threaded HTTP server recording Web API calls; use as a context manager or call `start()` / `stop()`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._failures: dict[str, str] = {}
        self._responders: dict[str, Responder] = {}
        self._ts = itertools.count(1)
        self._changed = threading.Condition()
        self._messages: dict[str, list[dict[str, Any]]] = {}  # channel -> messages, in posting order
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                body = _decode(raw, self.headers.get("Content-Type", ""))
                if self.path.startswith("/hooks/"):
                    fake._record(Call(f"hook:{self.path}", body, dict(self.headers)))
                    self._send(200, "ok", "text/plain")
                    return
                method = self.path.split("?")[0].removeprefix("/api/")
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                answer = fake._respond(method, body, token)
                fake._record(Call(method, body, {**dict(self.headers), "token": token}, answer))
                self._send(200, json.dumps(answer), "application/json; charset=utf-8")

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                method = parts.path.removeprefix("/api/")
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                body = dict(parse_qsl(parts.query, keep_blank_values=True))
                answer = fake._respond(method, body, token)
                fake._record(Call(method, body, {**dict(self.headers), "token": token}, answer))
                self._send(200, json.dumps(answer), "application/json; charset=utf-8")

            def _send(self, status: int, payload: str, content_type: str) -> None:
                data = payload.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack-api", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeSlackAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, method: str, error: str) -> None:
        """Answer every later call to `method` with `{"ok": false, "error": error}`."""
        self._failures[method] = error

    def serve(self, method: str, responder: Responder) -> None:
        """Answer later calls to `method` with `responder(body, token)`; `fail` still takes precedence."""
        self._responders[method] = responder

    def reset(self) -> None:
        """Forget recorded calls, stored messages and injected failures (methods added with `serve` stay)."""
        with self._changed:
            self.calls.clear()
            self._failures.clear()
            self._messages.clear()

    def said(self, channel: str, message: dict[str, Any]) -> None:
        """Store a message a person posted (the event the bot receives for it is the test's to send)."""
        with self._changed:
            self._messages.setdefault(channel, []).append(dict(message))

    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 60.0) -> list[Call]:
        """Block until `predicate(calls)` holds (the bot answers in a background thread); raise on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.calls):
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [c.method for c in self.calls]
                    raise TimeoutError(f"Slack fake: condition not met; calls so far: {methods}")
                self._changed.wait(left)
            return list(self.calls)

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _next_ts(self) -> str:
        # Called from several handler threads; itertools.count is atomic under the GIL.
        return f"{1765450000 + next(self._ts)}.{next(self._ts):06d}"

    def _respond(self, method: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        if method in self._failures:
            return {"ok": False, "error": self._failures[method]}
        if method in self._responders:
            return self._responders[method](body, token)
        channel = body.get("channel", "")
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://smarttech.slack.com/",
                "team": "SMART TECH",
                "user": "debrief",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {"type": "message", "text": body.get("text", ""), "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
            if body.get("thread_ts"):
                message["thread_ts"] = body["thread_ts"]
            self.said(channel, message)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.update":
            with self._changed:
                for stored in self._messages.get(channel, []):
                    if stored["ts"] == body.get("ts"):
                        stored["text"] = body.get("text", "")
            return {"ok": True, "channel": channel, "ts": body.get("ts"), "text": body.get("text", "")}
        if method in ("conversations.replies", "conversations.history"):
            return self._read(method, channel, body)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        return {"ok": True}


    def _read(self, method: str, channel: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._changed:
            stored = sorted(self._messages.get(channel, []), key=lambda m: float(m["ts"]))
        if method == "conversations.replies":
            parent = body.get("ts", "")
            found = [m for m in stored if m["ts"] == parent or m.get("thread_ts") == parent]
            if not found:
                return {"ok": False, "error": "thread_not_found"}
            return {"ok": True, "messages": found[: int(body.get("limit") or 1000)], "has_more": False}
        latest = float(body.get("latest") or "inf")
        inclusive = body.get("inclusive") in ("1", "true", True)
        top = [m for m in stored if m.get("thread_ts") in (None, m["ts"])
               and (float(m["ts"]) < latest or (inclusive and float(m["ts"]) == latest))]
        return {"ok": True, "messages": list(reversed(top))[: int(body.get("limit") or 100)], "has_more": False}


def _decode(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        body: dict[str, Any] = json.loads(raw)
    else:
        body = dict(parse_qsl(raw, keep_blank_values=True))
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        body["blocks"] = json.loads(blocks)
    return body

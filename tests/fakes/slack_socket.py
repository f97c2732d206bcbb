"""A local stand-in for Slack's Socket Mode endpoint, speaking the real protocol on 127.0.0.1.

Socket Mode, as a Bolt app sees it:
1. `apps.connections.open` on the Web API, authorised with the app-level token (`xapp-...`), answers
   `{"ok": true, "url": "wss://wss-primary.slack.com/link/?ticket=...&app_id=..."}`; each ticket works once.
2. The app opens that websocket; Slack greets it with `{"type": "hello", ...}`.
3. Slack pushes envelopes, `{"envelope_id", "type": "events_api" | "slash_commands" | "interactive", "payload",
   "accepts_response_payload", ...}`, and the app acks each one with `{"envelope_id": ...}` (plus a `payload`
   when it answers a slash command or interaction inline); unacked envelopes are redelivered with a `retry_attempt`.
4. Before recycling a connection Slack sends `{"type": "disconnect", "reason": "refresh_requested"}`: the app
   opens a new websocket (a new `apps.connections.open`) and lets the old one go.

`FakeSocketMode` plugs `apps.connections.open` into a `FakeSlackAPI` (the bot's `WebClient` already points there)
and serves the websocket with the `websockets` library, an independent implementation of RFC 6455, so whatever the
bot's client gets wrong about framing, masking or the handshake fails here as it would against Slack. Only the URL
scheme differs: `ws://` on a local port instead of `wss://` on 443.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.fakes.slack_api import FakeSlackAPI

APP_ID = "A0DEBRIEF"
APP_TOKEN = "xapp-1-A0DEBRIEF-8470523645111-6b3f0c9e2d4a71e58c0f93b2a6d4e1f7c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5"


@dataclass
class Session:
    """One websocket the bot opened with a ticket; `closed` once either side hung up."""

    number: int  # 1 for the first connection, 2 after a reconnect...
    ticket: str
    connection: ServerConnection
    closed: bool = False


@dataclass
class Ack:
    """A message the bot sent back: an envelope's ack, with the session it came on."""

    session: int
    envelope_id: str | None
    payload: dict[str, Any] | None
    message: dict[str, Any] = field(default_factory=dict)


class FakeSocketMode:
    """`apps.connections.open` on `api` plus the websocket it hands out; `start()` / `stop()` or a `with` block."""

    def __init__(self, api: FakeSlackAPI, app_token: str = APP_TOKEN) -> None:
        self.app_token = app_token
        self.opened: list[str] = []  # tickets issued by apps.connections.open, in order
        self.sessions: list[Session] = []
        self.acks: list[Ack] = []
        self.rejected: list[str] = []  # websocket paths refused (unknown or reused ticket)
        self._used: set[str] = set()
        self._envelopes = itertools.count(1)
        self._changed = threading.Condition()
        self._server: Server = serve(
            self._handle, "127.0.0.1", 0, process_request=self._check_ticket, logger=logging.getLogger(__name__)
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket-mode", daemon=True)
        api.serve("apps.connections.open", self._connections_open)

    @property
    def ws_url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    def start(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every open websocket (code 1001, as a Slack restart would) and wait for the handlers to end."""
        self._server.shutdown()
        self._thread.join(timeout=30)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the test drives ---------------------------------------------------------------------------------
    def push(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send an envelope on the newest open session and return its envelope_id."""
        envelope_id = f"{uuid.uuid4()}-{next(self._envelopes)}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":  # Slack adds these to Events API envelopes only
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        self.current().connection.send(json.dumps(envelope))
        return envelope_id

    def push_event(self, event_callback: dict[str, Any], retry_attempt: int = 0, retry_reason: str = "") -> str:
        """An Events API envelope around an `event_callback` body."""
        return self.push("events_api", event_callback, retry_attempt=retry_attempt, retry_reason=retry_reason)

    def push_command(self, form: dict[str, str]) -> str:
        """A slash command envelope; its payload is the form an HTTP request would carry, as a JSON object."""
        return self.push("slash_commands", form, accepts_response_payload=True)

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the bot to move to a new connection, as Slack does every few hours."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}}
        self.current().connection.send(json.dumps(message))

    def drop(self) -> None:
        """Close the newest session from the server side (code 1001) without a `disconnect` message first."""
        self.current().connection.close(code=1001, reason="going away")

    def hang_up(self) -> None:
        """Close every open session from the server side (code 1001)."""
        with self._changed:
            open_sessions = [s for s in self.sessions if not s.closed]
        for session in open_sessions:
            session.connection.close(code=1001, reason="going away")

    def current(self) -> Session:
        """The newest session that is still open."""
        with self._changed:
            open_sessions = [s for s in self.sessions if not s.closed]
        if not open_sessions:
            raise RuntimeError("no open Socket Mode session")
        return open_sessions[-1]

    def ack_for(self, envelope_id: str) -> list[Ack]:
        with self._changed:
            return [a for a in self.acks if a.envelope_id == envelope_id]

    def wait_for(self, predicate: Callable[[FakeSocketMode], bool], timeout: float = 60.0) -> None:
        """Block until `predicate(self)` holds (the bot works in background threads); raise on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"Socket Mode fake: condition not met; tickets {len(self.opened)}, "
                        f"sessions {[(s.number, s.closed) for s in self.sessions]}, acks {self.acks}"
                    )
                self._changed.wait(left)

    # -- the protocol -----------------------------------------------------------------------------------------
    def _connections_open(self, body: dict[str, Any], token: str) -> dict[str, Any]:
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}  # e.g. the bot token by mistake
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        ticket = str(uuid.uuid4())
        with self._changed:
            self.opened.append(ticket)
            self._changed.notify_all()
        return {"ok": True, "url": f"{self.ws_url}/link/?ticket={ticket}&app_id={APP_ID}"}

    def _ticket(self, path: str) -> str | None:
        parts = urlsplit(path)
        tickets = parse_qs(parts.query).get("ticket", [])
        if parts.path != "/link/" or len(tickets) != 1:
            return None
        return tickets[0]

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = self._ticket(request.path)
        with self._changed:
            if ticket is None or ticket not in self.opened or ticket in self._used:
                self.rejected.append(request.path)
                self._changed.notify_all()
                return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
            self._used.add(ticket)
        return None

    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None  # the handshake went through _check_ticket
        ticket = self._ticket(connection.request.path) or ""
        with self._changed:
            session = Session(len(self.sessions) + 1, ticket, connection)
            self.sessions.append(session)
            open_count = sum(not s.closed for s in self.sessions)
            self._changed.notify_all()
        hello = {
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {"host": "applink-fake-1", "build_number": 118, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        try:
            connection.send(json.dumps(hello))
            for raw in connection:
                message = json.loads(raw)
                ack = Ack(session.number, message.get("envelope_id"), message.get("payload"), message)
                with self._changed:
                    self.acks.append(ack)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass  # the bot's client hangs up without a close frame; that is how it leaves an old connection
        finally:
            with self._changed:
                session.closed = True
                self._changed.notify_all()

"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: scripted replies, SSE streaming, failure modes.

It stands in for a remote LLM endpoint (OpenAI, Mistral, vLLM, Ollama, llama.cpp server) at the true system edge,
so the code under test uses its real HTTP client against the real wire protocol. Standard library only.

    with start_fake_openai(lambda body: "Julien Pillot parle de la commande publique [1].") as fake:
        client = OpenAI(base_url=fake.base_url, api_key="test")
        ...
        fake.requests[-1]["messages"]  # what the client sent

Modes (settable per server, and changeable between calls through `fake.mode`):
  ok       answer with the script's reply, streamed (`stream: true`) or whole
  fail     HTTP 500 with an OpenAI-style error body
  slow     wait `delay_s` before sending anything (use a client timeout below it)
  stall    stream the first half of the reply, then wait `delay_s` and drop the connection (mid-stream failure)
  garbage  HTTP 200 whose body is neither JSON nor well-formed SSE
  down     nothing listens on the port: connections are refused
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from tests.servers import free_port

Mode = Literal["ok", "fail", "slow", "stall", "garbage", "down"]
# A reply is the whole text (streamed word by word) or the exact list of deltas to stream.
Reply = str | list[str]
Script = Callable[[dict[str, Any]], Reply]

GARBAGE = b"<html>\x00\xff\xfe not json {\"choices\": [\ndata: {\"id\": \"chatcmpl-x\", \"choices\": [{\"delta\": \n\n"


def split_deltas(text: str) -> list[str]:
    """Cut a reply into word-sized deltas the way a model streams tokens; joining them gives `text` back."""
    parts = re.split(r"(?<=\s)(?=\S)", text)
    return [p for p in parts if p]


class FakeOpenAI:
    """A running fake endpoint: `base_url` ends in `/v1`; `requests` holds every JSON body POSTed, oldest first."""

    def __init__(self, script: Script | str | None = None, mode: Mode = "ok", delay_s: float = 3.0,
                 model: str = "fake-model") -> None:
        if script is None:
            script = "OK"
        self.script: Script = _constant(script) if isinstance(script, str) else script
        self.mode: Mode = mode
        self.delay_s = delay_s
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # request headers, parallel to `requests`
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if mode == "down":
            self.port = free_port()
        else:
            self._server = _Server(("127.0.0.1", 0), _Handler, self)
            self.port = int(self._server.server_address[1])
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-openai",
                                            daemon=True)
            self._thread.start()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    @property
    def last_request(self) -> dict[str, Any]:
        """The most recent chat-completion body (KeyError-free: AssertionError when nothing was received)."""
        assert self.requests, "the fake OpenAI server received no request"
        return self.requests[-1]

    def close(self) -> None:
        """Stop serving; handlers asleep in `slow`/`stall` wake up and return at once."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_fake_openai(script: Script | str | None = None, mode: Mode = "ok", delay_s: float = 3.0,
                      model: str = "fake-model") -> FakeOpenAI:
    """Start a fake OpenAI-compatible server in a background thread; use it as a context manager or `.close()` it."""
    return FakeOpenAI(script, mode=mode, delay_s=delay_s, model=model)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for a handler sleeping in slow/stall mode

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], fake: FakeOpenAI) -> None:
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        pass  # keep test output clean

    # --- routing -------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        fake = self.server.fake
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list",
                             "data": [{"id": fake.model, "object": "model", "created": 0, "owned_by": "fake"}]})
        else:
            self._json(404, _error(f"no route for GET {self.path}", "not_found"))

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, _error(f"no route for POST {self.path}", "not_found"))
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, _error("request body is not JSON", "invalid_request_error"))
            return
        fake.requests.append(body)
        fake.headers.append({k.lower(): v for k, v in self.headers.items()})
        # The client may give up (its timeout) before we finish: that is the point of slow/stall.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(fake, body)

    def _answer(self, fake: FakeOpenAI, body: dict[str, Any]) -> None:
        mode = fake.mode
        if mode == "slow" and fake.stopping.wait(fake.delay_s):
            return
        if mode == "fail":
            self._json(500, _error("the fake server was told to fail", "server_error"))
            return
        streaming = bool(body.get("stream"))
        if mode == "garbage":
            ctype = "text/event-stream" if streaming else "application/json"
            self._raw(200, ctype, GARBAGE)
            return
        reply = fake.script(body)
        deltas = split_deltas(reply) if isinstance(reply, str) else list(reply)
        model = str(body.get("model") or fake.model)
        if not streaming:
            self._json(200, _completion(model, "".join(deltas)))
            return
        self._stream(fake, model, deltas, stall=(mode == "stall"))

    # --- responses -----------------------------------------------------------------------------------------
    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._raw(status, "application/json", json.dumps(payload).encode())

    def _raw(self, status: int, ctype: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _stream(self, fake: FakeOpenAI, model: str, deltas: list[str], stall: bool) -> None:
        """Server-sent events over chunked transfer encoding, as OpenAI and vLLM send them."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        cid, created = f"chatcmpl-fake{len(fake.requests)}", int(time.time())

        def event(delta: dict[str, str], finish: str | None = None) -> None:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self._chunk(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())

        event({"role": "assistant", "content": ""})
        cut = (len(deltas) + 1) // 2 if stall else len(deltas)
        for d in deltas[:cut]:
            event({"content": d})
        if stall:
            fake.stopping.wait(fake.delay_s)
            self.close_connection = True  # hang up without the terminating chunk: a broken stream
            return
        event({}, finish="stop")
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")  # zero-length chunk ends the body

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _constant(text: str) -> Script:
    def reply(_body: dict[str, Any]) -> Reply:
        return text

    return reply


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _completion(model: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(split_deltas(text)), "total_tokens": 0},
    }

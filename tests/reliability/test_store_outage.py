"""The Chroma server goes away and comes back: a clear error naming its URL while it is gone (StoreUnavailable,
a 503 JSON error from the API, one line from the CLI), and answers again once it returns, with the same objects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag.embedders import Embedder
from rag.store import StoreUnavailable
from tests.conftest import DECEMBER
from tests.reliability.conftest import PILLOT_QUESTION, make_assistant, serve_app
from tests.reliability.http import call
from tests.servers import ChromaServer, free_port
from ui.app import build_app


def _assert_pillot(answer: Any) -> None:
    assert not answer.refused and answer.citations
    assert {c.speaker for c in answer.citations} == {"Julien Pillot"}


@pytest.mark.slow
def test_server_down_gives_a_clear_error_and_the_same_assistant_recovers(
    chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    assistant = make_assistant(tmp_path / "unused", embedder, chroma_url=chroma_server.url)
    [result] = assistant.ingest([DECEMBER])
    assert result.status == "added"
    _assert_pillot(assistant.ask(PILLOT_QUESTION))

    with serve_app(build_app(assistant)) as base:
        assert call(f"{base}/healthz") == (200, {"status": "ok", "episodes": 1, "llm": False})

        chroma_server.kill()
        with pytest.raises(StoreUnavailable, match=f"cannot reach the Chroma server at {chroma_server.url}"):
            assistant.ask(PILLOT_QUESTION)
        with pytest.raises(StoreUnavailable, match=chroma_server.url):
            assistant.ingest([DECEMBER])
        status, body = call(f"{base}/api/ask", {"question": PILLOT_QUESTION})
        assert status == 503 and body["error"].startswith(f"cannot reach the Chroma server at {chroma_server.url}")
        status, body = call(f"{base}/healthz")
        assert status == 503 and body["status"] == "unavailable" and chroma_server.url in body["error"]

        chroma_server.start()  # same port, same data path
        status, body = call(f"{base}/api/ask", {"question": PILLOT_QUESTION})
        assert status == 200 and {c["speaker"] for c in body["citations"]} == {"Julien Pillot"}
        assert call(f"{base}/healthz")[0] == 200
        _assert_pillot(assistant.ask(PILLOT_QUESTION))
        assert [r.status for r in assistant.ingest([DECEMBER])] == ["unchanged"]


@pytest.mark.slow
def test_server_that_comes_back_empty_is_reopened_not_an_error(
    chroma_server: ChromaServer, tmp_path: Path, embedder: Embedder
) -> None:
    """A server restarted on a fresh path has new collection ids: the store reopens its collections."""
    assistant = make_assistant(tmp_path / "unused", embedder, chroma_url=chroma_server.url)
    assistant.ingest([DECEMBER])
    chroma_server.kill()
    with pytest.raises(StoreUnavailable):
        assistant.ask(PILLOT_QUESTION)
    chroma_server.path = tmp_path / "fresh-server-data"
    chroma_server.start()
    assert assistant.store.catalog() == {}
    assert [r.status for r in assistant.ingest([DECEMBER])] == ["added"]
    _assert_pillot(assistant.ask(PILLOT_QUESTION))


@pytest.mark.slow
def test_cli_prints_one_line_naming_the_url_and_exits_1(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**os.environ, "DEBRIEF_CHROMA_URL": url, "DEBRIEF_INDEX_DIR": str(tmp_path / "index")}
    for args in (["ask", PILLOT_QUESTION], ["ingest", str(DECEMBER)]):
        proc = subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 1, (args, proc.stderr)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1, (args, proc.stderr)
        assert lines[0].startswith(f"error: cannot reach the Chroma server at {url}"), lines[0]
        assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_cli_names_a_missing_slack_token_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from rag import cli

    for var in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(var, raising=False)
    assert cli.main(["slack", "--http", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "error: SLACK_BOT_TOKEN is not set: export SLACK_BOT_TOKEN=<the Bot User OAuth Token from OAuth & "
        "Permissions> (see docs/slack.md)."
    ]

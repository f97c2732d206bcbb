"""The same ingest and search through a Chroma server (`chroma run`) instead of the embedded store."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.settings import Settings
from tests.conftest import JUNE

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[str]:
    exe = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
    if not exe:
        pytest.skip("the `chroma` CLI from the chromadb package is not installed")
    port = _free_port()
    proc = subprocess.Popen([exe, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("chroma server did not start")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_ingest_and_ask_through_a_chroma_server(chroma_server: str, tmp_path: Path) -> None:
    settings = Settings(chroma_url=chroma_server, index_dir=tmp_path / "unused", _env_file=None)  # type: ignore[call-arg]
    assistant = Assistant(settings)

    [result] = assistant.ingest([JUNE])
    assert result.status == "added" and result.chunks > 20
    # Nothing was written to the embedded store: the server holds the index.
    assert not (tmp_path / "unused" / "chroma").exists()

    again = Assistant(settings)  # a second process-like client sees the same index
    assert [e.episode_id for e in again.episodes()] == ["smart-tech-2025-06-19"]
    assert [r.status for r in again.ingest([JUNE])] == ["unchanged"]
    answer = again.ask("Qu'a dit Marc Kaplan sur le campus quantique ?")
    assert not answer.refused
    assert {c.speaker for c in answer.citations} == {"Marc Kaplan"}

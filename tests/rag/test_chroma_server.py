"""The same ingest and search through a Chroma server (`chroma run`) instead of the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.settings import Settings
from tests.conftest import JUNE
from tests.servers import ChromaServer


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[str]:
    server = ChromaServer(tmp_path / "server-data")
    server.start()
    try:
        yield server.url
    finally:
        server.kill()


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

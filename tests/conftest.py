"""Shared fixtures: real sample transcripts and isolated indexes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "transcripts"
JUNE = SAMPLES / "smart-tech-2025-06-19.txt"
DECEMBER = SAMPLES / "smart-tech-2025-12-11.txt"


@pytest.fixture(scope="session", autouse=True)
def _shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What does not depend on the corpus (English words' vectors, ~10 s to build) is shared by the session's
    indexes, in a directory of its own: never the developer's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEBRIEF_CACHE_DIR", str(tmp_path_factory.mktemp("shared-cache")))
        yield


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's .env, index or LLM endpoint by accident."""
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "DEBRIEF_LLM_MODEL", "DEBRIEF_CHROMA_URL",
                "DEBRIEF_LLM_BASE_URL", "DEBRIEF_LLM_API_KEY", "DEBRIEF_LLM_SPEAKERS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DEBRIEF_INDEX_DIR", str(tmp_path_factory.mktemp("index")))


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of both sample episodes, built once per session; tests must not modify it."""
    index = tmp_path_factory.mktemp("samples-index")
    Assistant(Settings(index_dir=index, _env_file=None)).ensure_samples()  # type: ignore[call-arg]
    return index


@pytest.fixture()
def assistant(sample_index: Path) -> Assistant:
    """A read-only assistant over both samples, offline (no LLM)."""
    return Assistant(Settings(index_dir=sample_index, llm_model=None, llm_base_url=None, llm_api_key=None,
                              _env_file=None))  # type: ignore[call-arg]


@pytest.fixture()
def fresh_assistant(tmp_path: Path) -> Assistant:
    """An assistant over an empty index of its own."""
    return Assistant(Settings(index_dir=tmp_path / "index", _env_file=None))  # type: ignore[call-arg]


@pytest.fixture()
def june_copy(tmp_path: Path) -> Iterator[Path]:
    """A writable copy of the June sample."""
    folder = tmp_path / "in"
    folder.mkdir()
    target = folder / JUNE.name
    shutil.copyfile(JUNE, target)
    yield target

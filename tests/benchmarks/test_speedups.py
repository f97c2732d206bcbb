"""The speed-ups the benchmarks led to change nothing but speed: same hits, same quotes."""

from __future__ import annotations

from pathlib import Path

from rag import extractive
from rag.assistant import Assistant
from rag.retrieve import Retriever
from rag.settings import Settings
from tests.conftest import JUNE

QUESTION = "Qu'a dit Julien Pillot sur la commande publique ?"


def _ids(assistant: Assistant, question: str) -> list[str]:
    return [r.hit.chunk.chunk_id for r in assistant.retrieve(assistant.understand(question))]


def test_bm25_is_saved_once_and_reloaded_by_a_new_process(sample_index: Path, tmp_path: Path) -> None:
    # A copy: the session's sample index must stay untouched.
    import shutil

    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    settings = Settings(index_dir=index, llm_model=None, _env_file=None)  # type: ignore[call-arg]
    first = Assistant(settings)
    built = first.retriever.sparse_index()
    saved = list((index / "cache").glob("bm25-*.pickle"))
    assert len(saved) == 1
    second = Assistant(settings)  # as a new `debrief ask` would
    loaded = second.retriever.sparse_index()
    assert loaded is not built and [c.chunk_id for c in loaded.chunks] == [c.chunk_id for c in built.chunks]
    assert _ids(second, QUESTION) == _ids(first, QUESTION)
    # Without a cache directory the retriever builds from the store, with the same results.
    plain = Retriever(type("NoCacheDir", (), {"catalog": first.store.catalog, "chunks": first.store.chunks})(),
                      first.embedder)
    assert [c.chunk_id for c in plain.sparse_index().chunks] == [c.chunk_id for c in built.chunks]


def test_a_new_episode_version_gets_a_new_bm25_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / JUNE.name).write_bytes(JUNE.read_bytes())
    assistant = Assistant(Settings(index_dir=tmp_path / "index", _env_file=None))  # type: ignore[call-arg]
    assistant.ingest([folder])
    before = assistant.retriever.sparse_index()
    old = {p.name for p in (tmp_path / "index" / "cache").glob("bm25-*.pickle")}
    with (folder / JUNE.name).open("a", encoding="utf-8") as fh:
        fh.write("28:40Merci à tous, et à la semaine prochaine pour un nouveau débrief.\n")
    assistant.ingest([folder])
    after = assistant.retriever.sparse_index()
    new = {p.name for p in (tmp_path / "index" / "cache").glob("bm25-*.pickle")}
    assert after is not before and new and new.isdisjoint(old)  # the stale file is gone, not reused
    # Built from the new version's chunks, not loaded from the old file.
    assert {c.chunk_id for c in after.chunks}.isdisjoint(c.chunk_id for c in before.chunks)


def test_quotes_are_the_same_with_and_without_the_window_cache(assistant: Assistant) -> None:
    query = assistant.understand(QUESTION)
    ranked = assistant.retrieve(query)
    size = extractive.WINDOW_CACHE_SIZE
    try:
        extractive.WINDOW_CACHE_SIZE = 0
        plain = extractive.select_quotes(query, ranked, assistant.embedder, assistant.thresholds)
        extractive.WINDOW_CACHE_SIZE = size
        cold = extractive.select_quotes(query, ranked, assistant.embedder, assistant.thresholds)
        warm = extractive.select_quotes(query, ranked, assistant.embedder, assistant.thresholds)
    finally:
        extractive.WINDOW_CACHE_SIZE = size
    assert plain, "Julien Pillot did speak about public procurement"

    def key(quotes: list[extractive.Quote]) -> list[tuple[str, int, int, float]]:
        return [(q.chunk.chunk_id, q.first_line, q.last_line, round(q.similarity, 6)) for q in quotes]

    assert key(plain) == key(cold) == key(warm)

"""Ingest into Chroma: idempotent, atomic replacement, bad input changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.assistant import Assistant


def _chunk_versions(assistant: Assistant) -> set[str]:
    return {c.chunk_id.split("@")[1].split(":")[0] for c in assistant.store.chunks()}


def _raw_chunk_count(assistant: Assistant) -> int:
    return assistant.store._chunks.count()  # type: ignore[attr-defined]


def test_ingesting_the_same_file_twice_is_a_no_op(fresh_assistant: Assistant, june_copy: Path) -> None:
    first = fresh_assistant.ingest([june_copy])
    count = _raw_chunk_count(fresh_assistant)
    second = fresh_assistant.ingest([june_copy])
    assert [r.status for r in first] == ["added"]
    assert [r.status for r in second] == ["unchanged"]
    assert _raw_chunk_count(fresh_assistant) == count > 20


def test_a_changed_file_replaces_its_episode_and_leaves_no_old_chunk(
    fresh_assistant: Assistant, june_copy: Path
) -> None:
    fresh_assistant.ingest([june_copy])
    old_versions = _chunk_versions(fresh_assistant)
    text = june_copy.read_text(encoding="utf-8")
    june_copy.write_text(text.replace("campus quantique défense", "campus zorglub défense"), encoding="utf-8")

    result = fresh_assistant.ingest([june_copy])

    assert [r.status for r in result] == ["replaced"]
    new_versions = _chunk_versions(fresh_assistant)
    assert len(new_versions) == 1 and not (new_versions & old_versions)
    # Every stored chunk belongs to the new version: nothing of the old one is left behind.
    assert _raw_chunk_count(fresh_assistant) == sum(1 for _ in fresh_assistant.store.chunks())
    assert any("zorglub" in c.text for c in fresh_assistant.store.chunks())
    assert [e.episode_id for e in fresh_assistant.episodes()] == ["smart-tech-2025-06-19"]


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        (b"", "file is empty", None),
        (b"00:01Bonjour\n00:02Salut\x00\x01", "binary content", 2),
        ("00:01Bonjour Delphine\n00:02Ça va très bien\n".encode("latin-1"), "not valid UTF-8", 2),
        (b"Bonjour tout le monde\nPas d'horodatage ici\n", "no timestamp", 1),
        (b"01:00Bonjour Delphine\n01:05Bonjour Alain\n00:10Merci beaucoup\n", "timestamps go backwards", 3),
    ],
)
def test_bad_input_fails_naming_file_and_line_and_changes_nothing(
    fresh_assistant: Assistant, june_copy: Path, tmp_path: Path, content: bytes, message: str, line: int | None
) -> None:
    fresh_assistant.ingest([june_copy])
    before = (_raw_chunk_count(fresh_assistant), {e.episode_id for e in fresh_assistant.episodes()})
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)

    [result] = fresh_assistant.ingest([bad])

    assert result.status == "failed"
    assert result.error is not None and str(bad) in result.error and message in result.error
    if line is not None:
        assert f"{bad}:{line}:" in result.error
    after = (_raw_chunk_count(fresh_assistant), {e.episode_id for e in fresh_assistant.episodes()})
    assert after == before


def test_a_huge_file_is_refused_before_it_is_read(fresh_assistant: Assistant, tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    [result] = fresh_assistant.ingest([big])
    assert result.status == "failed" and "too large" in (result.error or "")
    assert fresh_assistant.episodes() == []


def test_an_ingest_interrupted_before_the_catalog_flip_keeps_the_old_version(
    fresh_assistant: Assistant, june_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_assistant.ingest([june_copy])
    old_versions = _chunk_versions(fresh_assistant)
    june_copy.write_text(june_copy.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    store = fresh_assistant.store

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed between writing chunks and flipping the catalog")

    monkeypatch.setattr(store._catalog, "upsert", crash)  # type: ignore[attr-defined]
    with pytest.raises(KeyboardInterrupt):
        fresh_assistant.ingest([june_copy])
    monkeypatch.undo()

    # The half-written version's chunks exist but are invisible: readers see only the old version.
    assert _raw_chunk_count(fresh_assistant) > sum(1 for _ in store.chunks())
    assert _chunk_versions(fresh_assistant) == old_versions
    hits = store.search(fresh_assistant.embedder.embed_query("campus quantique"), 50, [], [])
    assert hits and all(h.chunk.chunk_id.split("@")[1].split(":")[0] in old_versions for h in hits)

    # Running ingest again completes it and sweeps the orphans.
    [result] = fresh_assistant.ingest([june_copy])
    assert result.status == "replaced"
    assert _raw_chunk_count(fresh_assistant) == sum(1 for _ in store.chunks())


def test_remove_drops_the_episode_and_its_chunks(fresh_assistant: Assistant, june_copy: Path) -> None:
    fresh_assistant.ingest([june_copy])
    assert fresh_assistant.remove("smart-tech-2025-06-19")
    assert fresh_assistant.episodes() == []
    assert _raw_chunk_count(fresh_assistant) == 0
    assert not fresh_assistant.remove("smart-tech-2025-06-19")

"""Ingest into Chroma: idempotent, atomic replacement, bad input changes nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from evals.attribution import GOLD_DIR, load_gold
from rag.assistant import Assistant
from rag.settings import Settings
from tests.conftest import DECEMBER
from tests.fakes.openai_server import start_fake_openai


def _chunk_versions(assistant: Assistant) -> set[str]:
    return {c.chunk_id.split("@")[1].split(":")[0] for c in assistant.store.chunks()}


def _raw_chunk_count(assistant: Assistant) -> int:
    return assistant.store._chunks.count()  # type: ignore[attr-defined]


def _process(index: Path) -> Assistant:
    """An Assistant of its own over `index`, as another process (the UI, the CLI) would open it."""
    return Assistant(Settings(index_dir=index, _env_file=None))  # type: ignore[call-arg]


def _december_copy(tmp_path: Path) -> Path:
    december = tmp_path / "more" / DECEMBER.name
    december.parent.mkdir()
    shutil.copyfile(DECEMBER, december)
    return december


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


def _labels_from_gold(body: dict[str, Any]) -> str:
    """A scripted model that follows the show: it answers the June episode's human labels."""
    gold = load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv")
    to_label = body["messages"][1]["content"].split("LABEL:")[1]
    lines = [int(n) for n in re.findall(r"^(\d+) \[", to_label, re.MULTILINE)]
    return json.dumps({str(n): gold[n].speaker if n in gold else "Delphine Sabattier" for n in lines})


def test_the_speaker_llm_pass_runs_at_ingest_and_is_part_of_the_version(tmp_path: Path, june_copy: Path) -> None:
    index = tmp_path / "index"
    offline = Assistant(Settings(index_dir=index, _env_file=None))  # type: ignore[call-arg]
    [plain] = offline.ingest([june_copy])
    chain_label = {ln.line: ln.speaker for ln in offline.transcript("smart-tech-2025-06-19").lines}

    with start_fake_openai(_labels_from_gold) as fake:
        with_llm = Assistant(Settings(index_dir=index, llm_model="fake-model", llm_base_url=fake.base_url,
                                      llm_speakers=True, _env_file=None))  # type: ignore[call-arg]
        [first] = with_llm.ingest([june_copy])
        [again] = with_llm.ingest([june_copy])
        sent = len(fake.requests)

    # Turning the pass on re-attributes the unchanged file; running it twice is a no-op.
    assert (plain.status, first.status, again.status) == ("added", "replaced", "unchanged")
    assert first.notice and "windows accepted" in first.notice and sent > 0
    lines = {ln.line: ln.speaker for ln in with_llm.transcript("smart-tech-2025-06-19").lines}
    # 19:04 "Google, Microsoft et tous les autres qui utilisent les services de ScaliEye": Alain Staron goes on
    # after the host's "C'est-à-dire ?"; the chain keeps Louis Soris, who spoke before him, and the model that
    # follows the show gives the line to Alain, and the index now says so.
    assert chain_label[297] == "Louis Soris" and lines[297] == "Alain Staron"
    # And turning it off again goes back to the offline labels.
    [back] = offline.ingest([june_copy])
    assert back.status == "replaced" and back.notice is None


def test_an_ingest_keeps_what_another_process_ingested_since_it_last_read_the_catalog(
    tmp_path: Path, june_copy: Path
) -> None:
    index = tmp_path / "index"
    ui = _process(index)
    ui.ingest([june_copy])
    assert [e.episode_id for e in ui.episodes()] == ["smart-tech-2025-06-19"]  # the UI's catalog is now cached

    # Meanwhile another process (the CLI) ingests a new episode into the same index.
    cli = _process(index)
    [added] = cli.ingest([_december_copy(tmp_path)])
    december_chunks = sum(c.episode_id == "smart-tech-2025-12-11" for c in cli.store.chunks())

    # The UI ingests again: its sweep must not take the CLI's fresh chunks for an interrupted ingest's orphans.
    june_copy.write_text(june_copy.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    ui.ingest([june_copy])
    cli.store.refresh()  # type: ignore[attr-defined]
    assert added.status == "added" and december_chunks > 20
    assert sum(c.episode_id == "smart-tech-2025-12-11" for c in cli.store.chunks()) == december_chunks


def test_a_reader_rereads_the_catalog_only_when_another_process_has_written(
    tmp_path: Path, june_copy: Path
) -> None:
    index = tmp_path / "index"
    writer = _process(index)
    writer.ingest([june_copy])
    reader = _process(index)
    cached = reader.store.catalog()

    # Nothing written since: a refresh keeps the catalog it has (re-reading 1,000 episodes costs ~0.3 s).
    reader.store.refresh()  # type: ignore[attr-defined]
    assert reader.store.catalog() is cached

    writer.ingest([_december_copy(tmp_path)])
    reader.store.refresh()  # type: ignore[attr-defined]
    assert set(reader.store.catalog()) == {"smart-tech-2025-06-19", "smart-tech-2025-12-11"}

    writer.remove("smart-tech-2025-06-19")
    reader.store.refresh()  # type: ignore[attr-defined]
    assert set(reader.store.catalog()) == {"smart-tech-2025-12-11"}


def test_an_ingest_waits_while_another_process_is_writing_the_index(tmp_path: Path, june_copy: Path) -> None:
    index = tmp_path / "index"
    assistant = _process(index)
    # Another process holds the writer lock, as its own ingest would.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1], 'a+b'); fcntl.flock(f, fcntl.LOCK_EX); "
         "print('locked', flush=True); sys.stdin.readline()", str(index / "ingest.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    results: list[Any] = []
    started = threading.Event()  # the indexer reports progress as soon as it holds the lock
    worker = threading.Thread(target=lambda: results.extend(assistant.ingest([june_copy], lambda *_: started.set())))
    worker.start()
    blocked = not started.wait(timeout=3.0)
    holder.stdin.write("\n")
    holder.stdin.flush()
    holder.wait(timeout=10)
    worker.join(timeout=300)
    assert blocked, "the ingest went ahead while another process held the writer lock"
    assert [r.status for r in results] == ["added"]


def test_episodes_indexed_by_an_older_pipeline_are_reported_until_ingested_again(
        fresh_assistant: Assistant, june_copy: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import ingest.pipeline
    import rag.indexer
    from rag import cli

    current = ingest.pipeline.PIPELINE_VERSION
    for module in (ingest.pipeline, rag.indexer):  # an index built by the previous release
        monkeypatch.setattr(module, "PIPELINE_VERSION", "1")
    [old] = fresh_assistant.ingest([june_copy])
    for module in (ingest.pipeline, rag.indexer):
        monkeypatch.setattr(module, "PIPELINE_VERSION", current)
    assert old.status == "added" and fresh_assistant.outdated() == ["smart-tech-2025-06-19"]
    notice = fresh_assistant.outdated_notice()
    assert notice and "smart-tech-2025-06-19" in notice and "debrief ingest" in notice

    # `debrief ask` says so on stderr and keeps its JSON on stdout clean.
    monkeypatch.setattr(cli, "_assistant", lambda: fresh_assistant)
    assert cli.main(["ask", "What did Marc Kaplan say about quantum sensors?", "--json"]) == 0
    out = capsys.readouterr()
    assert "older version of debrief" in out.err and json.loads(out.out)["answer"]

    # Ingesting the unchanged file again re-attributes it with today's pipeline, and the notice goes.
    [again] = fresh_assistant.ingest([june_copy])
    assert again.status == "replaced" and fresh_assistant.outdated() == [] and fresh_assistant.outdated_notice() is None

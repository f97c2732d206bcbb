"""`kill -9` in the middle of `debrief ingest`: the index shows each episode's old or new version, never a mix, and
the next `debrief ingest` finishes the job.

The kill lands at the most delicate point, timed with the debug hook `DEBRIEF_DEBUG_PAUSE_BEFORE_FLIP` (rag/store.py):
the new version's chunks are written, the catalog still names the old version.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from chromadb.api.client import SharedSystemClient

from rag.embedders import Embedder
from rag.store import DEBUG_PAUSE_VAR
from tests.conftest import DECEMBER, JUNE
from tests.reliability.conftest import make_assistant

KAPLAN_QUESTION = "Qu'a dit Marc Kaplan sur le campus quantique ?"
NEW_TITLE = "SMART TECH — 19 juin 2025, édition corrigée"


def _raw_versions(assistant: Any, episode_id: str) -> set[str]:
    """Versions of every chunk stored for the episode, visible or not (the store's own collection, read raw)."""
    got = assistant.store._chunks.get(where={"episode_id": episode_id}, include=["metadatas"])
    return {str(m["version"]) for m in got["metadatas"]}


def _forget_clients() -> None:
    """Another process writes the index next: drop this process's cached Chroma systems so we re-read it."""
    SharedSystemClient.clear_system_cache()


def _cli(args: list[str], index: Path, cwd: Path, **env: str) -> subprocess.Popen[str]:
    full_env = {**os.environ, "DEBRIEF_INDEX_DIR": str(index), **env}
    return subprocess.Popen([sys.executable, "-m", "rag.cli", *args], env=full_env, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_kill_9_between_chunk_write_and_catalog_flip_leaves_old_version_then_ingest_completes(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    june = folder / JUNE.name
    shutil.copyfile(JUNE, june)
    index = tmp_path / "index"
    before = make_assistant(index, embedder)
    [first] = before.ingest([june])
    assert first.status == "added"
    old = before.store.catalog()[first.episode_id]
    del before
    _forget_clients()

    # A new version of June (its sidecar renames it) and a new episode, ingested by a process we kill.
    (folder / (JUNE.name + ".json")).write_text(json.dumps({"title": NEW_TITLE}), encoding="utf-8")
    shutil.copyfile(DECEMBER, folder / DECEMBER.name)
    proc = _cli(["ingest", str(folder)], index, tmp_path, **{DEBUG_PAUSE_VAR: "120"})
    paused = threading.Event()
    seen: list[str] = []

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if line.startswith(f"debug: chunks of {first.episode_id}@"):
                paused.set()

    threading.Thread(target=watch, daemon=True).start()
    assert paused.wait(timeout=240), "".join(seen)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    after = make_assistant(index, embedder)
    catalog = after.store.catalog()
    assert set(catalog) == {first.episode_id}  # December was never reached
    assert catalog[first.episode_id].version == old.version and catalog[first.episode_id].meta.title == old.meta.title
    raw = _raw_versions(after, first.episode_id)
    assert len(raw) == 2 and old.version in raw  # the kill did land mid-ingest: the new chunks are on disk...
    visible = {c.chunk_id.split("@")[1].split(":")[0] for c in after.store.chunks()}  # id = episode@version:line
    assert visible == {old.version}  # ...but only the old version is visible
    answer = after.ask(KAPLAN_QUESTION)
    assert not answer.refused and {c.speaker for c in answer.citations} == {"Marc Kaplan"}
    assert all(c.episode_title == old.meta.title for c in answer.citations)
    del after
    _forget_clients()

    done = _cli(["ingest", str(folder)], index, tmp_path)
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    statuses = sorted(line.split()[0] for line in out.splitlines() if line.strip())
    assert statuses == ["added", "replaced"], out

    final = make_assistant(index, embedder)
    catalog = final.store.catalog()
    assert set(catalog) == {first.episode_id, "smart-tech-2025-12-11"}
    new = catalog[first.episode_id]
    assert new.version != old.version and new.meta.title == NEW_TITLE
    assert _raw_versions(final, first.episode_id) == {new.version}  # the orphans were swept
    answer = final.ask(KAPLAN_QUESTION)
    assert not answer.refused and all(c.episode_title == NEW_TITLE for c in answer.citations)
    _forget_clients()

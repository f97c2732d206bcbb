"""Shared pieces of the reliability suite: one embedder for the session, servers on 127.0.0.1, hostile transcripts."""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.assistant import Assistant
from rag.embedders import Embedder, get_embedder
from rag.settings import Settings
from tests.servers import ChromaServer, free_port

PILLOT_QUESTION = "Qu'a dit Julien Pillot sur la commande publique ?"
QUESTIONS = [
    PILLOT_QUESTION,
    "What did Julien Pillot say about public procurement?",
    "Qu'a dit Audrey Maurel sur le DSA ?",
    "What did the guests think of the quantum defence campus?",
    "Qu'a dit Marc Kaplan sur le campus quantique ?",
    "Quelle est la recette de la tarte tatin ?",  # refused: neither episode answers it
]

# Real lines of smart-tech-2025-12-11.txt (06:34-07:19) as a labelled plain-text transcript; `{inject}` marks
# where a hostile line goes, inside Julien Pillot's turn on public procurement (the one a question cites).
PILLOT_EXCERPT = """Title: {title}
Date: 2025-12-11
Show: SMART TECH
Episode: {episode_id}

[00:06:34] Delphine Sabattier: Ok, c'est intéressant ce virage stratégique.
[00:06:36] Delphine Sabattier: Julien, une question pour Éric Haddad ou un commentaire ?
[00:06:39] Julien Pillot: Bonjour Éric. Un commentaire ? Oui.
[00:06:41] Julien Pillot: Moi, j'applaudis plutôt tout ce qui est fait autour de Newspot.
[00:06:54] Julien Pillot: Non, le point d'interrogation, c'est que structurellement, il y a toujours cette difficulté de transformer l'essai en réussissant à finalement capter plus de commandes publiques que ce n'est le cas actuellement.
[00:07:13] Julien Pillot: Si à la sortie, la commande publique continue à passer auprès d'hyperscalaires américains, {inject}
[00:07:17] Julien Pillot: je ne vois pas trop ce qu'on y gagne.
[00:07:19] Delphine Sabattier: C'est une question pour Éric Haddad.
"""


def excerpt(episode_id: str, inject: str = "", title: str = "SMART TECH — extrait commande publique") -> str:
    """The Pillot excerpt as a plain-text transcript with `inject` in his public-procurement line."""
    return PILLOT_EXCERPT.format(episode_id=episode_id, inject=inject, title=title)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """One loaded embedder for every Assistant of the suite (loading it is the slow part of building one)."""
    return get_embedder(Settings(_env_file=None).embedder)  # type: ignore[call-arg]


def make_assistant(index_dir: Path, embedder: Embedder, **overrides: Any) -> Assistant:
    """An Assistant over `index_dir`; LLM off unless `overrides` configure it."""
    values: dict[str, Any] = {"index_dir": index_dir, "llm_model": None}
    values.update(overrides)
    # These two fields are read by their aliases only (`Settings(llm_base_url=...)` would be silently ignored).
    for field, alias in (("llm_base_url", "DEBRIEF_LLM_BASE_URL"), ("llm_api_key", "DEBRIEF_LLM_API_KEY")):
        if field in values:
            values[alias] = values.pop(field)
    return Assistant(Settings(_env_file=None, **values), embedder=embedder)  # type: ignore[call-arg]


@pytest.fixture()
def index_copy(sample_index: Path, tmp_path: Path) -> Path:
    """A writable copy of the session's two-episode index."""
    target = tmp_path / "index"
    shutil.copytree(sample_index, target)
    return target


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        yield server
    finally:
        server.kill()

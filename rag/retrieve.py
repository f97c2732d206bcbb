"""Hybrid retrieval: dense (bundled multilingual embedder, in Chroma) + BM25 (French stems), fused by RRF."""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rag.crosslingual import PhraseBridge
from rag.embedders import Embedder
from rag.sparse import SparseIndex
from rag.store import Hit, VectorStore

Mode = Literal["hybrid", "dense", "sparse"]
# Bump when SparseIndex or Chunk change shape: older pickles are then ignored.
SPARSE_CACHE_VERSION = 1


@dataclass
class Ranked:
    """A fused result, with the evidence each retriever gave (for refusal decisions and evals)."""

    hit: Hit
    fused: float
    dense: float = 0.0  # cosine-derived similarity, 0 when dense did not return it
    sparse: float = 0.0  # BM25 score, 0 when absent
    sources: set[str] = field(default_factory=set)


def reciprocal_rank_fusion(ranked_lists: dict[str, list[Hit]], k: int = 60) -> list[Ranked]:
    """Sum of 1/(k + rank) over the lists a chunk appears in; ties keep the dense order."""
    fused: dict[str, Ranked] = {}
    for source, hits in ranked_lists.items():
        for rank, hit in enumerate(hits):
            entry = fused.setdefault(hit.chunk.chunk_id, Ranked(hit=hit, fused=0.0))
            entry.fused += 1.0 / (k + rank + 1)
            entry.sources.add(source)
            if source == "dense":
                entry.dense = hit.score
            else:
                entry.sparse = hit.score
    return sorted(fused.values(), key=lambda r: r.fused, reverse=True)


class Retriever:
    """Finds the chunks that best answer a search text, within speaker/episode filters."""

    def __init__(self, store: VectorStore, embedder: Embedder, dense_k: int = 40, sparse_k: int = 40,
                 rrf_k: int = 60, mode: Mode = "hybrid") -> None:
        self.store = store
        self.embedder = embedder
        self.dense_k = dense_k
        self.sparse_k = sparse_k
        self.rrf_k = rrf_k
        self.mode = mode
        self._sparse: SparseIndex | None = None
        self._sparse_state: tuple[tuple[str, str], ...] = ()
        self._bridge: PhraseBridge | None = None
        self._bridge_for: SparseIndex | None = None
        self._lock = threading.Lock()

    def sparse_index(self) -> SparseIndex:
        """The BM25 index, rebuilt when the catalog's episode versions changed since it was built."""
        state = tuple(sorted((eid, rec.version) for eid, rec in self.store.catalog().items()))
        with self._lock:
            if self._sparse is None or state != self._sparse_state:
                self._sparse = self._load_or_build(state)
                self._sparse_state = state
            return self._sparse

    def _load_or_build(self, state: tuple[tuple[str, str], ...]) -> SparseIndex:
        """Building BM25 means scanning every chunk out of Chroma and tokenising it (tens of seconds at a
        thousand episodes), which every new process (each `debrief ask`) would pay on its first question:
        keep the built index on disk, under a name derived from the episode versions it covers."""
        cache_dir = getattr(self.store, "cache_dir", None)
        if cache_dir is None:
            return SparseIndex(list(self.store.chunks()))
        key = hashlib.sha256(repr((SPARSE_CACHE_VERSION, state)).encode()).hexdigest()[:24]
        path = Path(cache_dir) / f"bm25-{key}.pickle"
        if path.is_file():
            try:
                with path.open("rb") as fh:
                    # Our own file in the index directory (whoever can write there can rewrite the index too).
                    loaded = pickle.load(fh)
                if isinstance(loaded, SparseIndex):
                    return loaded
            except Exception:  # noqa: S110 - a torn or outdated file is rebuilt below
                pass
        index = SparseIndex(list(self.store.chunks()))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)  # readers see the whole file or none
            for old in path.parent.glob("bm25-*.pickle"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only index directory still answers, it just rebuilds per process
        return index

    def bridge(self) -> PhraseBridge:
        """The corpus's French phrases for translating English questions, built with the BM25 index."""
        index = self.sparse_index()
        with self._lock:
            if self._bridge is None or self._bridge_for is not index:
                self._bridge = PhraseBridge((c.text for c in index.chunks), self.embedder)
                self._bridge_for = index
            return self._bridge

    def retrieve(self, text: str, speakers: list[str], episodes: list[str], k: int = 8,
                 expansions: list[str] | None = None) -> list[Ranked]:
        """Top-k fused results for `text`; `expansions` (French phrases for an English question) join BM25's query."""
        lists: dict[str, list[Hit]] = {}
        if self.mode in ("hybrid", "dense"):
            lists["dense"] = self.store.search(self.embedder.embed_query(text), self.dense_k, speakers, episodes)
        if self.mode in ("hybrid", "sparse"):
            sparse_text = " ".join([text, *(expansions or [])])
            lists["sparse"] = self.sparse_index().search(sparse_text, self.sparse_k, speakers, episodes)
        return reciprocal_rank_fusion(lists, self.rrf_k)[:k]

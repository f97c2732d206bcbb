"""Hybrid retrieval: dense (bundled multilingual embedder, in Chroma) + BM25 (French stems), fused by RRF."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from rag.embedders import Embedder
from rag.sparse import SparseIndex
from rag.store import Hit, VectorStore

Mode = Literal["hybrid", "dense", "sparse"]


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
        self._lock = threading.Lock()

    def sparse_index(self) -> SparseIndex:
        """The BM25 index, rebuilt when the catalog's episode versions changed since it was built."""
        state = tuple(sorted((eid, rec.version) for eid, rec in self.store.catalog().items()))
        with self._lock:
            if self._sparse is None or state != self._sparse_state:
                self._sparse = SparseIndex(list(self.store.chunks()))
                self._sparse_state = state
            return self._sparse

    def retrieve(self, text: str, speakers: list[str], episodes: list[str], k: int = 8) -> list[Ranked]:
        """Top-k fused results for `text`."""
        lists: dict[str, list[Hit]] = {}
        if self.mode in ("hybrid", "dense"):
            lists["dense"] = self.store.search(self.embedder.embed_query(text), self.dense_k, speakers, episodes)
        if self.mode in ("hybrid", "sparse"):
            lists["sparse"] = self.sparse_index().search(text, self.sparse_k, speakers, episodes)
        return reciprocal_rank_fusion(lists, self.rrf_k)[:k]

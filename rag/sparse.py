"""BM25 over chunk text with French stemming (bm25s + PyStemmer), filterable by speaker and episode."""

from __future__ import annotations

import bm25s
import numpy as np
import Stemmer

from ingest.models import Chunk
from rag.rowfilter import RowFilter
from rag.store import Hit

_STEMMER = Stemmer.Stemmer("french")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lowercased, French-stopword-free, stemmed tokens."""
    return bm25s.tokenize(texts, stopwords="fr", stemmer=_STEMMER, return_ids=False, show_progress=False)  # type: ignore[return-value]


class SparseIndex:
    """An in-memory BM25 index over a fixed set of chunks."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        self.rows = RowFilter(chunks)
        self._bm25 = bm25s.BM25()
        if chunks:
            # The host's question counts towards the guest's answer, as it does for the dense vector.
            self._bm25.index(tokenize([f"{c.context} {c.text}" for c in chunks]), show_progress=False)

    def search(self, query: str, k: int, speakers: list[str], episodes: list[str]) -> list[Hit]:
        """Up to k chunks with a positive BM25 score, best first."""
        if not self.chunks:
            return []
        tokens = [t for t in tokenize([query])[0] if t in self._bm25.vocab_dict]
        if not tokens:
            return []
        mask = self.rows.mask(speakers, episodes)
        if not mask.any():
            return []
        scores = self._bm25.get_scores(tokens) * mask
        top = np.argsort(-scores)[:k]
        return [Hit(chunk=self.chunks[i], score=float(scores[i])) for i in top if scores[i] > 0]

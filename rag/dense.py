"""Exact dense search over every active chunk's vector, held in one float32 matrix, filterable by speaker/episode.

Chroma stays the store of record; this is a read cache of its vectors (saved next to the BM25 index, see
`rag.retrieve`). Chroma's HNSW search with a speaker `where` filter took 40-300 ms at 1,000 episodes (75k
chunks) and was approximate (on the synthetic corpus, full of repeated turns, it missed the true nearest chunks
by up to 0.24 cosine, and with a filter it often returned nothing). Here every allowed row is scored.

The rows are held sorted by (speaker, episode), so a speaker's rows, or a speaker's rows in an episode, are one
contiguous block: a filtered question scores only its block (a speaker is ~1/10 of the rows) instead of the
whole matrix and a mask. An unfiltered scan (75k x 512, memory-bound: ~6 ms on one core) is split in two halves
scored in parallel (numpy releases the GIL in BLAS). Memory: 4 bytes per dimension per chunk (150 MB at 75k).
"""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np

from ingest.models import Chunk
from rag.pools import lazy_pool
from rag.rowfilter import RowFilter
from rag.store import Hit

# OpenBLAS's matrix-vector kernel scores rows in groups, and rows left over at the end of a call go through
# another code path, which can differ in the last bit. Scoring every block in a multiple of this many rows
# (reaching into the neighbouring rows when needed) gives each chunk the same score whatever the filters.
ALIGN = 16
# Below this many rows a second thread costs more than it saves.
SPLIT_ROWS = 16384

Range = tuple[int, int]

# The second half of an unfiltered scan runs here.
_helper = lazy_pool("dense-scan", 1)


class DenseIndex:
    """Cosine similarity of a query against a fixed list of chunks' vectors (chunk i has vector i)."""

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, rows: RowFilter | None = None,
                 *, presorted: bool = False) -> None:
        """`vectors`: one row per chunk, in chunk order; or, when `presorted`, the `matrix` of an index saved by
        `rag.retrieve` (rows in `sorted_order(rows)`, already unit length: checking 75k norms took 0.5 s).
        `rows`: the filter columns of these very chunks when already computed (BM25's)."""
        if len(vectors) != len(chunks) or (rows is not None and len(rows) != len(chunks)):
            raise ValueError(f"{len(vectors)} vectors for {len(chunks)} chunks")
        self.chunks = chunks
        self.rows = rows or RowFilter(chunks)
        self._order = sorted_order(self.rows)  # sorted position -> chunk index
        self.matrix = np.asarray(vectors, dtype=np.float32) if presorted else \
            np.ascontiguousarray(normalised(vectors)[self._order])
        if len(self.matrix) and not self.matrix.flags.c_contiguous:
            self.matrix = np.ascontiguousarray(self.matrix)
        # A chunk whose vector the store no longer had (replaced while we read) is never returned.
        self._present = np.asarray(self.matrix.any(axis=1)) if self.matrix.size else np.zeros(len(chunks), bool)
        self._complete = bool(self._present.all())
        self._blocks(self.rows.speaker_column[self._order], self.rows.episode_column[self._order])

    def _blocks(self, speakers: np.ndarray, episodes: np.ndarray) -> None:
        """Where each (speaker, episode) pair's rows start and end, and each speaker's and episode's."""
        self._pairs: dict[tuple[int, int], Range] = {}
        self._by_speaker: dict[int, Range] = {}
        self._by_episode: dict[int, list[Range]] = {}
        if not len(speakers):
            return
        change = np.flatnonzero((speakers[1:] != speakers[:-1]) | (episodes[1:] != episodes[:-1])) + 1
        starts = np.concatenate([[0], change]).tolist()
        ends = [*starts[1:], len(speakers)]
        for start, end in zip(starts, ends):
            s, e = int(speakers[start]), int(episodes[start])
            self._pairs[(s, e)] = (start, end)
            first = self._by_speaker.get(s, (start, end))[0]
            self._by_speaker[s] = (first, end)
            self._by_episode.setdefault(e, []).append((start, end))

    @property
    def vectors(self) -> np.ndarray:
        """The unit vectors in chunk order (a copy: the index holds them sorted by speaker and episode)."""
        out = np.empty_like(self.matrix)
        out[self._order] = self.matrix
        return out

    @property
    def complete(self) -> bool:
        """True when every chunk has a vector."""
        return self._complete

    def ranges(self, speakers: list[str], episodes: list[str]) -> list[Range]:
        """The blocks of sorted rows the filters keep (an empty list keeps every row), in order, merged."""
        if not speakers and not episodes:
            found = [(0, len(self.matrix))] if len(self.matrix) else []
        elif not episodes:
            found = [self._by_speaker[s] for s in self.rows.speaker_codes(speakers) if s in self._by_speaker]
        elif not speakers:
            found = [r for e in self.rows.episode_codes(episodes) for r in self._by_episode.get(e, [])]
        else:
            found = [self._pairs[(s, e)] for s in self.rows.speaker_codes(speakers)
                     for e in self.rows.episode_codes(episodes) if (s, e) in self._pairs]
        merged: list[Range] = []
        for start, end in sorted(found):
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    def search(self, vector: np.ndarray, k: int, speakers: list[str], episodes: list[str]) -> list[Hit]:
        """The k chunks nearest `vector` among those the filters keep, best first (ties: chunk order);
        score = cosine similarity."""
        blocks = self.ranges(speakers, episodes)
        if k <= 0 or not blocks:
            return []
        query = normalised(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        positions, scores = self._score(blocks, query)
        if not self._complete:
            present = self._present[positions]
            positions, scores = positions[present], scores[present]
        n = len(scores)
        if n == 0:
            return []
        k = min(k, n)
        # Every row scoring at least the k-th best, then the best k by score and, among equal scores, chunk
        # order: deterministic even where a corpus repeats a turn word for word (equal vectors, equal scores).
        kth = np.partition(scores, n - k)[n - k] if k < n else scores.min()
        pick = np.flatnonzero(scores >= kth)
        rows = self._order[positions[pick]]
        best = pick[np.lexsort((rows, -scores[pick]))][:k]
        return [Hit(chunk=self.chunks[int(self._order[p])], score=float(s))
                for p, s in zip(positions[best], scores[best])]

    def _score(self, blocks: list[Range], query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted positions of the rows in `blocks` and their scores against `query`."""
        total = sum(end - start for start, end in blocks)
        if total >= SPLIT_ROWS:
            first, second = _halve(blocks, total)
            later: Future[np.ndarray] = _helper().submit(self._dot, second, query)
            scores = np.concatenate([self._dot(first, query), later.result()])
        elif total == 0:
            scores = np.zeros(0, dtype=np.float32)
        else:
            scores = self._dot(blocks, query)
        positions = np.concatenate([np.arange(start, end) for start, end in blocks]) if len(blocks) > 1 else \
            np.arange(*blocks[0])
        return positions, scores

    def _dot(self, blocks: list[Range], query: np.ndarray) -> np.ndarray:
        parts = []
        size = len(self.matrix)
        for start, end in blocks:
            length = end - start
            padded = -(-length // ALIGN) * ALIGN
            if start + padded <= size:
                parts.append((self.matrix[start : start + padded] @ query)[:length])
            elif end - padded >= 0:
                parts.append((self.matrix[end - padded : end] @ query)[padded - length :])
            else:
                parts.append(self.matrix[start:end] @ query)
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def sorted_order(rows: RowFilter) -> np.ndarray:
    """Chunk indexes sorted by speaker, then episode, then chunk order: the order DenseIndex holds rows in."""
    n = len(rows)
    return np.lexsort((np.arange(n), rows.episode_column, rows.speaker_column)) if n else np.zeros(0, np.int64)


def _halve(blocks: list[Range], total: int) -> tuple[list[Range], list[Range]]:
    """Two lists of blocks with about half the rows each, cut at a multiple of ALIGN into a block."""
    first: list[Range] = []
    want = total // 2
    for i, (start, end) in enumerate(blocks):
        if end - start < want:
            first.append((start, end))
            want -= end - start
            continue
        cut = start + max(ALIGN, -(-want // ALIGN) * ALIGN)
        if cut >= end:
            return [*first, (start, end)], blocks[i + 1 :]
        return [*first, (start, cut)], [(cut, end), *blocks[i + 1 :]]
    return first, []


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32: a dot product is then the cosine similarity."""
    out = np.asarray(vectors, dtype=np.float32)
    if not out.size:
        return out
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    if np.all((np.abs(norms - 1) < 1e-5) | (norms == 0)):
        return out  # already unit rows (the embedders' output, a saved index): no 150 MB copy
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

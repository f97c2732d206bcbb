"""Exact dense search over every active chunk's vector, held in one float32 matrix, filterable by speaker/episode.

Chroma stays the store of record; this is a read cache of its vectors (saved next to the BM25 index, see
`rag.retrieve`). Chroma's HNSW search with a speaker `where` filter took 40-300 ms at 1,000 episodes (75k
chunks) and was approximate (on the synthetic corpus, full of repeated turns, it missed the true nearest chunks
by up to 0.24 cosine, and with a filter it often returned nothing). Here every allowed row is scored.

The rows are held sorted by (speaker, episode), so a speaker's rows, or a speaker's rows in an episode, are one
contiguous block: a filtered question scores only its block (a speaker is ~1/10 of the rows) instead of the
whole matrix and a mask. An unfiltered scan (75k x 512, memory-bound: ~6 ms on one core) is split in two halves
scored in parallel (numpy releases the GIL in BLAS). Memory: 4 bytes per dimension per chunk (150 MB at 75k).
Large indexes add a narrow projection for an exact first pass (`rag.projection`), and an 8-bit copy of it for
searches over at least half the rows (`rag.int8pass`).
"""

from __future__ import annotations

import queue
from concurrent.futures import Future

import numpy as np

from ingest.models import Chunk
from rag.int8pass import Int8Pass
from rag.pools import lazy_pool
from rag.projection import MARGIN, Projection
from rag.rowfilter import RowFilter
from rag.store import Hit

# OpenBLAS's matrix-vector kernel scores rows in groups, and rows left over at the end of a call go through
# another code path, which can differ in the last bit. Scoring every block in a multiple of this many rows
# (reaching into the neighbouring rows when needed) gives each chunk the same score whatever the filters.
ALIGN = 16
# Below this many values (rows x width) a second thread costs more than it saves.
SPLIT_VALUES = 16384 * 512
# From this many rows on, a search (when the index has a projection) shortlists rows in the projection first.
PROJECT_FROM_ROWS = 4096

Range = tuple[int, int]

# The second half of an unfiltered scan runs here.
_helper = lazy_pool("dense-scan", 1)
# The rows a projected search rescores are gathered into a scratch block (`DenseIndex._rescore`; at 1,000 episodes
# ~500-2,000 rows), lent out and given back. Fresh memory's pages are only mapped when first written: on this VM
# ~1,000 page faults for 4 MB, 10-20 ms inside a question. So blocks are written through once when made, and a
# large index puts a few aside when it opens (`prefault`).
SCRATCH_ROWS = 2048
SPARE_BLOCKS = 4
_spare: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()


class DenseIndex:
    """Cosine similarity of a query against a fixed list of chunks' vectors (chunk i has vector i)."""

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, rows: RowFilter | None = None,
                 *, presorted: bool = False, projection: Projection | None = None) -> None:
        """`vectors`: one row per chunk, in chunk order; or, when `presorted`, the `matrix` of an index saved by
        `rag.retrieve` (rows in `sorted_order(rows)`, already unit length: checking 75k norms took 0.5 s).
        `rows`: the filter columns of these very chunks when already computed (BM25's). `projection`: of
        `matrix` (`Projection.fit(index.matrix)`), for a faster exact first pass over large blocks."""
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
        if projection is not None and len(projection.rows) != len(self.matrix):
            raise ValueError(f"a projection of {len(projection.rows)} rows for {len(self.matrix)}")
        self.projection = projection
        # The 8-bit copy of the projection for wide searches (`rag.int8pass`), when the caller attaches one.
        self.int8: Int8Pass | None = None

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
        total = sum(end - start for start, end in blocks)
        if self.projection is not None and self._complete and total >= PROJECT_FROM_ROWS and k < total:
            positions, scores = self._shortlist(blocks, total, query, k)
        else:
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
        kth = kth_largest(scores, k)
        pick = np.flatnonzero(scores >= kth)
        rows = self._order[positions[pick]]
        best = pick[np.lexsort((rows, -scores[pick]))][:k]
        return [Hit(chunk=self.chunks[int(self._order[p])], score=float(s))
                for p, s in zip(positions[best], scores[best])]

    def _score(self, blocks: list[Range], query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sorted positions of the rows in `blocks` and their scores against `query`."""
        return _positions(blocks), _scan(self.matrix, blocks, query)

    def _shortlist(self, blocks: list[Range], total: int, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted positions of the rows in `blocks` that may be among the k best, with their exact scores (the
        ones `_score` gives them): every row the projection's bounds cannot rule out (see rag.projection)."""
        projection = self.projection
        assert projection is not None
        inside, missed = projection.query(query)
        positions = _positions(blocks)
        radius = projection.residual[positions] if len(blocks) > 1 else projection.residual[blocks[0][0]:blocks[0][1]]
        radius = radius * missed
        radius += MARGIN
        if self.int8 is not None and 2 * total >= len(self.matrix):
            # A wide search: the 8-bit pass over every row (a quarter of the bytes) rules out most rows, and only
            # the rest are scored in the float32 projection.
            coarse, slack = self.int8.scores(inside)
            if total < len(self.matrix):
                coarse, slack = coarse[positions], slack[positions]
            slack += radius
            keep = _within(coarse, slack, k)
            positions, radius = positions[keep], radius[keep]
            approx = projection.rows[positions] @ inside
        else:
            # One thread: the narrow scan is short (~1.7 ms at 75k rows), and handing half of it to a thread
            # that has to wait for a core held by another process would cost more than it saves.
            approx = _dot(projection.rows, blocks, inside)
        shortlist = positions[_within(approx, radius, k)]
        return shortlist, self._rescore(shortlist, query)

    def _rescore(self, positions: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The full vectors' scores of these rows, gathered into whole groups of ALIGN rows: bit for bit what
        scoring them in place gives (checked by tests/rag/test_projection.py)."""
        n = len(positions)
        padded = -(-n // ALIGN) * ALIGN
        block = _borrow(padded, self.matrix.shape[1])
        try:
            rows = block[:padded]
            # mode="clip" (the positions are all in range): with the default "raise", numpy gathers into a hidden
            # temporary and copies it over, a fresh 1-4 MB whose pages faulted in on most searches.
            np.take(self.matrix, positions, axis=0, out=rows[:n], mode="clip")
            rows[n:] = 0
            return (rows @ query)[:n]  # a new array: the block can go back
        finally:
            _give_back(block)


def prefault(width: int) -> None:
    """Put scratch blocks for rows of `width` aside, written through, up to SPARE_BLOCKS (a large index calls this
    when it opens, so that its first searches do not fault their pages in)."""
    while _spare.qsize() < SPARE_BLOCKS:
        _spare.put(_resident(SCRATCH_ROWS, width))


def _borrow(rows: int, width: int) -> np.ndarray:
    """A scratch block of at least `rows` rows of `width` (one set aside, or a new one)."""
    while True:
        try:
            block = _spare.get_nowait()
        except queue.Empty:
            return _resident(max(rows, SCRATCH_ROWS), width)
        if len(block) >= rows and block.shape[1] == width:
            return block
        # Too short for this search, or for another embedder's vectors: dropped, a new one is made instead.


def _give_back(block: np.ndarray) -> None:
    if len(block) <= 8 * SCRATCH_ROWS and _spare.qsize() < SPARE_BLOCKS:  # a rare huge shortlist's is not kept
        _spare.put(block)


def _resident(rows: int, width: int) -> np.ndarray:
    block = np.empty((rows, width), dtype=np.float32)
    block.fill(0)  # maps every page now, not inside a question
    return block


def _within(approx: np.ndarray, radius: np.ndarray, k: int) -> np.ndarray:
    """Where a row whose score lies within `radius` of `approx` may be among the k best (`approx` is changed).

    At least k rows score at least their lower bound, so at least the k-th best lower bound: a row whose upper
    bound is below that is beaten by k others and cannot be among the k best."""
    floor = kth_largest(approx - radius, k)
    approx += radius
    return np.flatnonzero(approx >= floor)


def _positions(blocks: list[Range]) -> np.ndarray:
    return np.concatenate([np.arange(start, end) for start, end in blocks]) if len(blocks) > 1 else \
        np.arange(*blocks[0])


def _scan(matrix: np.ndarray, blocks: list[Range], query: np.ndarray) -> np.ndarray:
    """The scores of `matrix`'s rows in `blocks` against `query`; a large scan in two halves on two threads."""
    total = sum(end - start for start, end in blocks)
    if total * matrix.shape[1] >= SPLIT_VALUES:
        first, second = _halve(blocks, total)
        later: Future[np.ndarray] = _helper().submit(_dot, matrix, second, query)
        return np.concatenate([_dot(matrix, first, query), later.result()])
    return _dot(matrix, blocks, query)


def _dot(matrix: np.ndarray, blocks: list[Range], query: np.ndarray) -> np.ndarray:
    parts = []
    size = len(matrix)
    for start, end in blocks:
        length = end - start
        padded = -(-length // ALIGN) * ALIGN
        if start + padded <= size:
            parts.append((matrix[start : start + padded] @ query)[:length])
        elif end - padded >= 0:
            parts.append((matrix[end - padded : end] @ query)[padded - length :])
        elif size >= ALIGN:  # (nearly) the whole matrix: its whole groups, then the last ALIGN rows for the rest
            whole = length // ALIGN * ALIGN
            window = min(start + whole, size - ALIGN)
            parts.append(matrix[start : start + whole] @ query)
            parts.append((matrix[window : window + ALIGN] @ query)[start + whole - window : end - window])
        else:  # fewer rows than a group in all: scored as a zero-padded group
            rows = np.zeros((ALIGN, matrix.shape[1]), dtype=matrix.dtype)
            rows[:length] = matrix[start:end]
            parts.append((rows @ query)[:length])
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest of `values` (1 <= k <= len(values)): `np.partition`'s answer, without partitioning
    75k values (0.4 ms) when k is small: the k-th largest of every 16th value is a floor no higher than the
    answer, and few values reach it."""
    n = len(values)
    if k >= n:
        return float(values.min())
    if n >= 64 * k:
        sample = values[::16]
        floor = np.partition(sample, len(sample) - k)[len(sample) - k]
        values = values[values >= floor]  # at least k of them: the sample's best k
        n = len(values)
    return float(np.partition(values, n - k)[n - k])


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

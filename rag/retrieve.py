"""Hybrid retrieval: dense (bundled multilingual embedder, in Chroma) + BM25 (French stems), fused by RRF."""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from ingest.models import Chunk
from rag import blas, lexicon
from rag.crosslingual import MAX_PHRASES, PhraseBridge
from rag.dense import PROJECT_FROM_ROWS, DenseIndex, prefault
from rag.embedders import Embedder
from rag.int8pass import Int8Pass, Int8Rows
from rag.pools import lazy_pool
from rag.projection import RESIDUAL_SHARE, Projection
from rag.rowfilter import RowFilter
from rag.sparse import SparseIndex, tokenize
from rag.store import Hit, VectorStore

Mode = Literal["hybrid", "dense", "sparse"]
# Bump when SparseIndex or Chunk change shape: older pickles are then ignored.
SPARSE_CACHE_VERSION = 3  # 3: the corpus's names (`SparseIndex._names`)
# Bump when the saved dense matrix changes meaning (row order, normalisation). 2: rows sorted by speaker, episode.
DENSE_CACHE_VERSION = 2
# Bump when the saved projection (rag.projection) changes meaning; it is keyed by the dense matrix's key too.
PROJECTION_CACHE_VERSION = 1
# Bump when the phrase bridge's choice of phrases changes (rag.crosslingual._phrases, the df cut-off).
BRIDGE_CACHE_VERSION = 1

_T = TypeVar("_T")


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
                 rrf_k: int = 60, mode: Mode = "hybrid", lexicon_dir: Path | None = None) -> None:
        """`lexicon_dir`: where the table of common English words' vectors is kept (`rag.lexicon`; shared by
        every index); None: English words are embedded as questions bring them."""
        self.store = store
        self.embedder = embedder
        self.dense_k = dense_k
        self.sparse_k = sparse_k
        self.rrf_k = rrf_k
        self.mode = mode
        self._sparse: SparseIndex | None = None
        self._sparse_state: tuple[tuple[str, str], ...] = ()
        self._state: tuple[object, tuple[tuple[str, str], ...]] | None = None
        self._dense: DenseIndex | None = None
        self._dense_for: SparseIndex | None = None
        self._bridge: PhraseBridge | None = None
        self._bridge_for: SparseIndex | None = None
        self.lexicon_dir = lexicon_dir
        self._lexicon: lexicon.Lexicon | None = None
        self._lexicon_opened = False
        self._lock = threading.Lock()
        self._prefetched: tuple[_Key, Future[list[Hit]]] | None = None

    def catalog_state(self) -> tuple[tuple[str, str], ...]:
        """(episode id, version) of every indexed episode, sorted: what the saved indexes are keyed by.

        Derived once per catalog object: the store hands out the same dict until the catalog changes (a
        write or a refresh), and sorting 1,000 episodes twice a question cost ~1 ms."""
        catalog = self.store.catalog()
        known = self._state
        if known is None or known[0] is not catalog:
            known = self._state = (catalog, tuple(sorted((eid, rec.version) for eid, rec in catalog.items())))
        return known[1]

    def sparse_index(self) -> SparseIndex:
        """The BM25 index, rebuilt when the catalog's episode versions changed since it was built."""
        state = self.catalog_state()
        with self._lock:
            if self._sparse is None or state != self._sparse_state:
                # Building BM25 means scanning every chunk out of Chroma and tokenising it (tens of seconds at
                # a thousand episodes), which every new process (each `debrief ask`) would pay on its first
                # question: keep the built index on disk, under a name derived from the episode versions.
                self._sparse = self._load_or_build(
                    "bm25", "pickle", (SPARSE_CACHE_VERSION, state), lambda: SparseIndex(list(self.store.chunks())),
                    _read_pickle(SparseIndex), _write_pickle)
                self._sparse_state = state
            return self._sparse

    def dense_index(self) -> DenseIndex:
        """The vectors of the BM25 index's chunks (same rows, same order), for exact filtered dense search."""
        sparse = self.sparse_index()
        with self._lock:
            if self._dense is None or self._dense_for is not sparse:
                chunks, rows = sparse.chunks, sparse.rows
                ids = [c.chunk_id for c in chunks]
                # Keyed by the chunk ids in row order, so a matrix can only ever meet the chunk list it was
                # built for, and by the embedder: another one's vectors share the cache directory.
                key = (DENSE_CACHE_VERSION, self.embedder.name, self.embedder.dim, ids)
                dense = self._load_or_build(
                    f"dense-{self.embedder.name}", "npy", key, lambda: DenseIndex(chunks, self.store.vectors(ids), rows),
                    lambda path: _read_matrix(path, chunks, rows), _write_matrix)
                if len(dense.matrix) >= PROJECT_FROM_ROWS and dense.complete:
                    # Fitting it takes ~1 s at 75k rows: saved next to the matrix, under the matrix's own key.
                    dense.projection = self._load_or_build(
                        f"projection-{self.embedder.name}", "npz", (PROJECTION_CACHE_VERSION, RESIDUAL_SHARE, key),
                        lambda: Projection.fit(dense.matrix), lambda path: _read_projection(path, dense.matrix),
                        _write_projection)
                    if dense.projection is not None:
                        # ~0.3 s at 75k rows (0.13 s quantizing, the rest onnxruntime packing the codes), at open.
                        dense.int8 = Int8Pass.build(Int8Rows.of(dense.projection.rows))
                        prefault(dense.matrix.shape[1])
                self._dense, self._dense_for = dense, sparse
            return self._dense

    def prepare(self, bridge: bool = False) -> None:
        """Build (and save) the indexes this mode searches, and the phrase bridge when English questions are
        translated (`bridge`), so the next question does not pay for them."""
        if self.mode in ("hybrid", "dense"):
            self.dense_index()
        else:
            self.sparse_index()
        if bridge:
            self.bridge()

    def prepare_lexicon(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Build (once per machine: ~10 s) or open the table of common English words' vectors that translating
        English questions reads (`rag.lexicon`); `progress(done, total)` follows its words."""
        if self.lexicon_dir is None or self._lexicon is not None:
            return
        # Outside the lock: questions go on meanwhile (without the table).
        built = lexicon.build(self.lexicon_dir, self.embedder, progress=progress)
        with self._lock:
            self._lexicon, self._lexicon_opened = built, True
            if self._bridge is not None:
                self._bridge.lexicon = built

    def _load_or_build(self, prefix: str, suffix: str, key: Any, build: Callable[[], _T],
                       read: Callable[[Path], _T | None], write: Callable[[_T, Path], bool]) -> _T:
        """The index saved under `<cache_dir>/<prefix>-<hash of key>.<suffix>`, or a new one from `build`,
        saved there atomically (older files of the same prefix removed). A store without a cache directory
        builds every time; a torn or outdated file is rebuilt; a read-only directory just is not written."""
        cache_dir = getattr(self.store, "cache_dir", None)
        if cache_dir is None:
            return build()
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
        path = Path(cache_dir) / f"{prefix}-{digest}.{suffix}"
        if path.is_file():
            try:
                loaded = read(path)
                if loaded is not None:
                    return loaded
            except Exception:  # noqa: S110 - a torn or outdated file is rebuilt below
                pass
        index = build()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            if not write(index, tmp):
                return index
            os.replace(tmp, path)  # readers see the whole file or none
            for old in path.parent.glob(f"{prefix}-*.{suffix}"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass
        return index

    def bridge(self) -> PhraseBridge:
        """The corpus's French phrases for translating English questions, from the BM25 index's chunks."""
        index = self.sparse_index()
        with self._lock:
            if self._bridge is None or self._bridge_for is not index:
                # Embedding the corpus's 6,000 most frequent phrases took 6-14 s at 1,000 episodes, paid by the
                # first English question of every process: saved like the BM25 index, under the same episode
                # versions (the phrases come from those chunks) and the embedder (the vectors come from it).
                state = self._sparse_state if self._sparse is index else tuple(c.chunk_id for c in index.chunks)
                key = (BRIDGE_CACHE_VERSION, MAX_PHRASES, self.embedder.name, self.embedder.dim, state)
                self._bridge = self._load_or_build(
                    f"bridge-{self.embedder.name}", "npz", key,
                    lambda: PhraseBridge.build((c.text for c in index.chunks), self.embedder),
                    self._read_bridge, _write_bridge)
                self._bridge_for = index
            if not self._lexicon_opened and self.lexicon_dir is not None:
                # Only opened here (a memory map), once: building it is ingest's work (`prepare_lexicon`), not a question's.
                self._lexicon = lexicon.load(self.lexicon_dir, self.embedder)
                self._lexicon_opened = True
            self._bridge.lexicon = self._lexicon
            return self._bridge

    def _read_bridge(self, path: Path) -> PhraseBridge | None:
        with np.load(path, allow_pickle=False) as saved:
            phrases = [str(p) for p in saved["phrases"]]
            vectors = saved["vectors"]
        if vectors.ndim != 2 or len(vectors) != len(phrases) or (len(phrases) and vectors.shape[1] != self.embedder.dim):
            return None
        return PhraseBridge(phrases, vectors, self.embedder)

    def retrieve(self, text: str, speakers: list[str], episodes: list[str], k: int = 8,
                 expansions: list[str] | None = None, spellings: list[str] | None = None) -> list[Ranked]:
        """Top-k fused results for `text`; `expansions` (French phrases for an English question) join BM25's query,
        and so do `spellings` (vocabulary tokens for names the corpus spells otherwise, see `spellings`)."""
        # Both indexes are in-memory copies of the store: when it cannot be reached (a Chroma server down), fail
        # as searching it did, rather than answer from a copy that nothing can refresh. One heartbeat per question.
        ping = getattr(self.store, "ping", None)
        if ping is not None:
            ping()
        with self._lock:
            prefetched, self._prefetched = self._prefetched, None
        lists: dict[str, list[Hit]] = {}
        with blas.single_threaded():
            dense: Future[list[Hit]] | None = None
            if self.mode in ("hybrid", "dense"):
                key = (text, tuple(speakers), tuple(episodes), self.dense_index())
                # A prefetch for another question, or from before the catalog changed, is not this search.
                dense = prefetched[1] if prefetched is not None and prefetched[0] == key else \
                    self._start_dense(text, speakers, episodes)[1]
            if self.mode in ("hybrid", "sparse"):
                sparse_text = " ".join([text, *(expansions or [])])
                sparse = self.sparse_index().search(sparse_text, self.sparse_k, speakers, episodes, spellings)
            if dense is not None:
                lists["dense"] = dense.result()
            if self.mode in ("hybrid", "sparse"):
                lists["sparse"] = sparse  # after dense: fusion breaks ties in the order the lists come
        return reciprocal_rank_fusion(lists, self.rrf_k)[:k]

    def chunks(self, speakers: list[str], episodes: list[str]) -> list[Chunk]:
        """The indexed chunks of these speakers in these episodes (an empty list keeps all), in index order."""
        index = self.sparse_index()
        return [index.chunks[i] for i in np.flatnonzero(index.rows.mask(speakers, episodes))]

    def spellings(self, words: list[str], speakers: list[str] | None = None,
                  episodes: list[str] | None = None) -> dict[str, list[str]]:
        """For each word's token, the corpus's other spellings: for a token the corpus never uses, the tokens one
        or two edits away (`SparseIndex.spellings`); for one it uses but never within the search's filters, the
        names spelt one or two letters apart that it does use (`SparseIndex.variants`)."""
        index = self.sparse_index()
        # The filters' row mask (~0.25 ms at 1,000 episodes) only when a token needs it: most topics name nothing.
        rows: np.ndarray | None = None
        out: dict[str, list[str]] = {}
        for token in dict.fromkeys(t for tokens in tokenize(words) for t in tokens):
            found = index.spellings(token)
            if not found and (speakers or episodes):
                if rows is None:
                    rows = index.rows.mask(speakers or [], episodes or [])
                found = index.variants(token, rows)
            if found:
                out[token] = found
        return out

    def elsewhere(self, groups: list[list[str]], speakers: list[str], episodes: list[str]) -> dict[str, list[str]]:
        """When, for some group of names (`understand.name_groups`: alternatives, any one of which would do),
        none is said within the search's scope (the episodes of `speakers`, within `episodes`) but some are said
        elsewhere: those names, each with (up to three) episodes that say it. Otherwise (or when nothing filters
        the search) empty."""
        if not speakers and not episodes:
            return {}
        index = self.sparse_index()
        scope = index.rows.episodes_kept(speakers, episodes)
        out: dict[str, list[str]] = {}
        for group in groups:
            said: dict[str, list[str]] = {}
            for word in group:
                found = index.said_outside(word, scope)
                if found is None:
                    break
                if found:
                    said[word] = found
            else:
                out.update(said)
        return out

    def prefetch(self, text: str, speakers: list[str], episodes: list[str]) -> None:
        """Start the dense search `retrieve(text, speakers, episodes)` will need, in the background.

        Embedding the question and scanning the matrix mostly run in BLAS, outside the GIL: they proceed while
        the caller translates the question (`rag.crosslingual`) and, in `retrieve`, while BM25 searches.
        Same work, same results."""
        if self.mode not in ("hybrid", "dense"):
            return
        started = self._start_dense(text, speakers, episodes)
        with self._lock:
            self._prefetched = started

    def _start_dense(self, text: str, speakers: list[str], episodes: list[str]) -> tuple[_Key, Future[list[Hit]]]:
        index = self.dense_index()
        future = _background().submit(_search, index, self.embedder, text, self.dense_k, speakers, episodes)
        return (text, tuple(speakers), tuple(episodes), index), future


_Key = tuple[str, tuple[str, ...], tuple[str, ...], DenseIndex]


def _search(index: DenseIndex, embedder: Embedder, text: str, k: int, speakers: list[str],
            episodes: list[str]) -> list[Hit]:
    with blas.single_threaded():
        return index.search(embedder.embed_query(text), k, speakers, episodes)


# The threads dense scans run on while the caller does the rest of the question's work.
_background = lazy_pool("dense-search", 2)


def _read_pickle(kind: type[_T]) -> Callable[[Path], _T | None]:
    def read(path: Path) -> _T | None:
        with path.open("rb") as fh:
            # Our own file in the index directory (whoever can write there can rewrite the index too).
            loaded = pickle.load(fh)
        return loaded if isinstance(loaded, kind) else None

    return read


def _write_pickle(index: object, path: Path) -> bool:
    with path.open("wb") as fh:
        pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return True


def _read_matrix(path: Path, chunks: list[Chunk], rows: RowFilter) -> DenseIndex | None:
    matrix = np.load(path, allow_pickle=False)
    if matrix.ndim != 2 or len(matrix) != len(chunks):
        return None
    return DenseIndex(chunks, matrix, rows, presorted=True)


def _write_bridge(bridge: PhraseBridge, path: Path) -> bool:
    with path.open("wb") as fh:  # a file object: np.savez would append ".npz" to a name
        np.savez(fh, phrases=np.array(bridge.phrases, dtype=str), vectors=bridge.vectors)
    return True


def _write_matrix(index: DenseIndex, path: Path) -> bool:
    """Saved only when the store had every chunk's vector: rows of zeros (chunks replaced while they were
    read) would otherwise outlive the moment, under a key that still names those chunks."""
    if not index.complete:
        return False
    with path.open("wb") as fh:  # a file object: np.save would append ".npy" to a name
        np.save(fh, index.matrix, allow_pickle=False)  # in the index's own row order: loaded without a copy
    return True


def _read_projection(path: Path, matrix: np.ndarray) -> Projection | None:
    with np.load(path, allow_pickle=False) as saved:
        basis, rows, residual = saved["basis"], saved["rows"], saved["residual"]
    if basis.ndim != 2 or basis.shape[0] != matrix.shape[1] or rows.ndim != 2 or len(rows) != len(matrix):
        return None
    return Projection(basis, rows, residual)


def _write_projection(projection: Projection | None, path: Path) -> bool:
    if projection is None:  # not worth one for these vectors: fitted again (cheaply) by the next process
        return False
    with path.open("wb") as fh:
        np.savez(fh, basis=projection.basis, rows=projection.rows, residual=projection.residual)
    return True

"""The index: chunk vectors in Chroma (through llama-index's Chroma integration) plus an episode catalog.

Atomic replacement without transactions: a new version's chunks are written under new ids first, then the
catalog record (one upsert, atomic in Chroma) flips the episode to the new version, then old chunks are
deleted. Readers only trust chunks whose version the catalog names, so a crash at any point leaves either
the old or the new version visible, never a mix; `sweep()` removes what a crash left behind.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from llama_index.core.schema import BaseNode, TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from ingest.models import Chunk, EpisodeMeta, Person, SpeechLine, Transcript
from rag.settings import Settings


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached (e.g. the Chroma server is down); the message names its URL."""


# Debug hook for crash tests only: seconds to sleep after a new version's chunks are written and before the catalog
# flips to it, announced on stderr, so a test can `kill -9` an ingest at its most delicate point. Never set in use.
DEBUG_PAUSE_VAR = "DEBRIEF_DEBUG_PAUSE_BEFORE_FLIP"
# The catalog collection's metadata key for its write stamp (`ChromaStore._stamped`).
_STAMP_KEY = "catalog_stamp"

_F = TypeVar("_F", bound=Callable[..., Any])


def _unreachable() -> tuple[type[BaseException], ...]:
    """What chromadb's HTTP client raises when the server is gone: refused, reset, timed out."""
    import httpx

    return (httpx.TransportError, ConnectionError)


def _guarded(method: _F) -> _F:
    """Turn a lost Chroma server into StoreUnavailable naming its URL. The collections are reopened on the next
    call, so a server that comes back (even with new collection ids) is used again without a restart."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: ChromaStore, *args: Any, **kwargs: Any) -> Iterator[Any]:
            self._ensure_open()
            try:
                yield from method(self, *args, **kwargs)
            except _unreachable() as exc:
                raise self._unavailable(exc) from exc

        return cast(_F, generator)

    @functools.wraps(method)
    def call(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
        self._ensure_open()
        try:
            return method(self, *args, **kwargs)
        except _unreachable() as exc:
            raise self._unavailable(exc) from exc

    return cast(_F, call)


def _debug_pause(record: EpisodeRecord) -> None:
    raw = os.environ.get(DEBUG_PAUSE_VAR)
    if not raw:
        return
    print(f"debug: chunks of {record.episode_id}@{record.version} written; pausing {raw} s before the catalog flip",
          file=sys.stderr, flush=True)
    time.sleep(float(raw))


@dataclass
class EpisodeRecord:
    """The catalog's view of one indexed episode: its active version, metadata and per-speaker turn counts.
    The full attributed transcript is fetched on demand (`VectorStore.transcript`), not kept in memory."""

    version: str
    meta: EpisodeMeta
    labelled: bool = False
    lines: int = 0
    speaker_turns: dict[str, int] = field(default_factory=dict)
    pipeline: str = ""  # the PIPELINE_VERSION that parsed and attributed it ("" before records carried it)

    @property
    def episode_id(self) -> str:
        return self.meta.episode_id


@dataclass
class Hit:
    """A chunk found by a search, with the retriever's score (higher is better)."""

    chunk: Chunk
    score: float


class VectorStore(Protocol):
    """Where chunks and their vectors live.

    `replace_episode(record, chunks, vectors)` makes `record` the episode's active version atomically;
    `catalog()` maps episode id -> EpisodeRecord; `transcript(id)` is the attributed transcript (KeyError if
    unknown); `chunks()` yields every active chunk and `vectors(chunk_ids)` their stored vectors: retrieval
    searches both in memory (`rag.sparse`, `rag.dense`).
    """

    def catalog(self) -> dict[str, EpisodeRecord]: ...

    def transcript(self, episode_id: str) -> Transcript: ...

    def replace_episode(
        self, record: EpisodeRecord, transcript: Transcript, chunks: list[Chunk], vectors: np.ndarray
    ) -> None: ...

    def remove_episode(self, episode_id: str) -> bool: ...

    def chunks(self) -> Iterator[Chunk]: ...

    def vectors(self, chunk_ids: list[str]) -> np.ndarray: ...

    def sweep(self) -> int: ...


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock (`<index_dir>/ingest.lock`): one ingest at a time across processes.

    An ingest writes the new version's chunks before it flips the catalog to them, and every ingest starts by
    sweeping chunks no catalog record points at: without the lock, one process's sweep could delete another's
    chunks between those two steps. Blocks until the other writer is done. Readers never take it. (POSIX
    `flock`; elsewhere a no-op.)"""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / "ingest.lock", "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; concurrent ingests there are the caller's business
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def connect(settings: Settings) -> chromadb.ClientAPI:
    """An embedded PersistentClient under `index_dir`, or an HttpClient when `chroma_url` is set."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises several types for a refused connection
            raise StoreUnavailable(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from exc
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir / "chroma"), settings=chroma_settings)


class ChromaStore:
    """The default VectorStore: Chroma, embedded or remote."""

    def __init__(self, settings: Settings, embedder_name: str) -> None:
        self._settings = settings
        self._embedder_name = embedder_name
        self._stale = False
        self._cached_catalog: dict[str, EpisodeRecord] | None = None
        # The catalog's write stamp when the cached catalog was read (see `_stamp`); None: unknown.
        self._cached_stamp: str | None = None
        self._open()

    def _open(self) -> None:
        """Connect and open (or create) the collections; StoreUnavailable when the server cannot be reached."""
        settings = self._settings
        self._client = connect(settings)
        # Vectors from different embedders are not comparable: one collection per embedder.
        base = f"{settings.collection}_{self._embedder_name}"
        try:
            self._chunks = self._client.get_or_create_collection(
                f"{base}_chunks", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            self._catalog = self._client.get_or_create_collection(f"{base}_catalog", embedding_function=None)
        except Exception as exc:
            where = f"the Chroma server at {settings.chroma_url}" if settings.chroma_url else "the Chroma collections"
            raise StoreUnavailable(f"cannot open {where}: {exc}") from exc
        self._vectors = ChromaVectorStore(chroma_collection=self._chunks)
        self._cached_catalog = None
        self._stale = False

    def _ensure_open(self) -> None:
        if self._stale:
            self._open()

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        self._stale = True  # reconnect on the next call
        where = self._settings.chroma_url or str(self._settings.index_dir)
        return StoreUnavailable(f"cannot reach the Chroma server at {where}: {exc}")

    @property
    def cache_dir(self) -> Path:
        """Local directory for derived data that is faster to load than to rebuild (the BM25 index)."""
        return self._settings.index_dir / "cache"

    @_guarded
    def ping(self) -> None:
        """Raise StoreUnavailable when the store cannot be reached (health checks)."""
        self._client.heartbeat()

    # -- catalog ---------------------------------------------------------------------------------------
    @_guarded
    def catalog(self) -> dict[str, EpisodeRecord]:
        """Every indexed episode by id. Cached; refreshed after our own writes and by `refresh()`."""
        if self._cached_catalog is None:
            # The stamp first: a write landing between the two reads then looks like a change, and the next
            # refresh reads again, rather than a stale catalog passing for current.
            self._cached_stamp = self._stamp()
            got = self._catalog.get(include=["metadatas"])
            records = {}
            for meta in got["metadatas"] or []:
                record = _record_from_json(str((meta or {}).get("record", "{}")))
                records[record.episode_id] = record
            self._cached_catalog = records
        return self._cached_catalog

    @_guarded
    def transcript(self, episode_id: str) -> Transcript:
        """The episode's attributed transcript as indexed."""
        got = self._catalog.get(ids=[episode_id], include=["documents"])
        if not got["ids"]:
            raise KeyError(episode_id)
        return _transcript_from_json((got["documents"] or ["{}"])[0] or "{}")

    @_guarded
    def refresh(self) -> None:
        """Forget the cached catalog if another process has written the index since it was read.

        Re-reading the catalog costs 150-400 ms at 1,000 episodes; the write stamp costs ~0.4 ms. An index no
        writer has stamped yet (made before stamps existed) is re-read every time, as it always was."""
        if self._cached_catalog is not None and (self._cached_stamp is None or self._stamp() != self._cached_stamp):
            self._cached_catalog = None

    def _stamp(self) -> str | None:
        """The catalog's write stamp: a new random value after each write (`_stamped`), from any process."""
        stamp = (self._client.get_collection(self._catalog.name).metadata or {}).get(_STAMP_KEY)
        return None if stamp is None else str(stamp)

    def _stamped(self) -> None:
        """Tell readers in every process that the catalog changed (a collection metadata write)."""
        self._catalog.modify(metadata={_STAMP_KEY: uuid.uuid4().hex})
        self._cached_catalog = None

    @_guarded
    def replace_episode(
        self, record: EpisodeRecord, transcript: Transcript, chunks: list[Chunk], vectors: np.ndarray
    ) -> None:
        """Write the new version's chunks, flip the catalog to it, then delete the old version's chunks."""
        nodes: list[BaseNode] = [_node(c, record, vec) for c, vec in zip(chunks, vectors)]
        for start in range(0, len(nodes), 1000):
            self._vectors.add(nodes[start : start + 1000])
        _debug_pause(record)
        self._catalog.upsert(
            ids=[record.episode_id],
            documents=[_transcript_to_json(transcript)],
            metadatas=[{"version": record.version, "record": _record_to_json(record)}],
            embeddings=np.ones((1, 1), dtype=np.float32),
        )
        self._stamped()
        self._delete_stale(record.episode_id, record.version)

    @_guarded
    def remove_episode(self, episode_id: str) -> bool:
        """Drop an episode: catalog first (it disappears at once), then its chunks."""
        if episode_id not in self.catalog():
            return False
        self._catalog.delete(ids=[episode_id])
        self._stamped()
        self._chunks.delete(where={"episode_id": episode_id})
        return True

    @_guarded
    def sweep(self) -> int:
        """Delete chunks no catalog record points at (left by an interrupted ingest). Returns how many."""
        # Re-read the catalog, stamp or not: with a cached one, the episodes another process ingested since
        # would look like orphans, and their chunks would be deleted under their catalog records.
        self._cached_catalog = None
        catalog = self.catalog()
        stale: list[str] = []
        offset = 0
        while True:
            got = self._chunks.get(include=["metadatas"], limit=5000, offset=offset)
            ids = got["ids"]
            if not ids:
                break
            for cid, meta in zip(ids, got["metadatas"] or []):
                rec = catalog.get(str((meta or {}).get("episode_id")))
                if rec is None or (meta or {}).get("version") != rec.version:
                    stale.append(cid)
            offset += len(ids)
        for start in range(0, len(stale), 5000):
            self._chunks.delete(ids=stale[start : start + 5000])
        return len(stale)

    def _delete_stale(self, episode_id: str, version: str) -> None:
        where: Any = {"$and": [{"episode_id": episode_id}, {"version": {"$ne": version}}]}
        self._chunks.delete(where=where)

    # -- reading ---------------------------------------------------------------------------------------
    @_guarded
    def search(self, vector: np.ndarray, k: int, speakers: list[str], episodes: list[str]) -> list[Hit]:
        """Nearest active chunks by Chroma's own (HNSW) search, optionally only some speakers/episodes.

        Retrieval does not use it: with a speaker filter it took 40-300 ms at 75k chunks, against 3-6 ms for
        `rag.dense.DenseIndex` over the same vectors. It stays as the reference that index is tested against."""
        catalog = self.catalog()
        if not catalog:
            return []
        where = _where(speakers, episodes) if (speakers or episodes) else None
        return self._query(vector.astype(np.float32), k, where, catalog)

    def _query(self, embedding: np.ndarray, n: int, where: Any, catalog: dict[str, EpisodeRecord]) -> list[Hit]:
        got = self._chunks.query(query_embeddings=[embedding], n_results=n, where=where,
                                 include=["metadatas", "documents", "distances"])
        hits = []
        for doc, meta, dist in zip((got["documents"] or [[]])[0], (got["metadatas"] or [[]])[0],
                                   (got["distances"] or [[]])[0]):
            m = dict(meta or {})
            rec = catalog.get(str(m.get("episode_id")))
            if rec is None or m.get("version") != rec.version:
                continue  # a half-written or superseded version: invisible by design
            hits.append(Hit(chunk=_chunk_from_metadata(m, doc or ""), score=1.0 - float(dist)))
        return hits

    @_guarded
    def chunks(self) -> Iterator[Chunk]:
        """Every active chunk, in pages (the whole collection may not fit one response)."""
        catalog = self.catalog()
        offset = 0
        while True:
            got = self._chunks.get(include=["metadatas", "documents"], limit=5000, offset=offset)
            if not got["ids"]:
                return
            for doc, meta in zip(got["documents"] or [], got["metadatas"] or []):
                m = dict(meta or {})
                rec = catalog.get(str(m.get("episode_id")))
                if rec is not None and m.get("version") == rec.version:
                    yield _chunk_from_metadata(m, doc or "")
            offset += len(got["ids"])

    @_guarded
    def vectors(self, chunk_ids: list[str]) -> np.ndarray:
        """The stored vectors of these chunks, one float32 row each in the same order; a row of zeros for an id
        that is not stored (any more: an episode replaced meanwhile)."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(chunk_ids), 5000):
            got = self._chunks.get(ids=chunk_ids[start : start + 5000], include=["embeddings"])
            embeddings = got["embeddings"]
            for cid, vec in zip(got["ids"], embeddings if embeddings is not None else []):
                found[cid] = np.asarray(vec, dtype=np.float32)
        dim = len(next(iter(found.values()))) if found else 0
        out = np.zeros((len(chunk_ids), dim), dtype=np.float32)
        for row, cid in enumerate(chunk_ids):
            if cid in found:
                out[row] = found[cid]
        return out


def _where(speakers: list[str], episodes: list[str]) -> Any:
    clauses: list[dict[str, Any]] = []
    if speakers:
        clauses.append({"speaker": {"$in": list(speakers)}})
    if episodes:
        clauses.append({"episode_id": {"$in": list(episodes)}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


# -- (de)serialisation ---------------------------------------------------------------------------------
_CHUNK_KEYS = ("episode_id", "speaker", "start", "end", "first_line", "last_line", "context", "confidence", "turn_index")


def _node(chunk: Chunk, record: EpisodeRecord, vector: np.ndarray) -> TextNode:
    metadata: dict[str, Any] = {k: getattr(chunk, k) for k in _CHUNK_KEYS}
    metadata["version"] = record.version
    metadata["date"] = _iso(record.meta.date)
    # Where each line starts in the chunk text, so a quote can be timed without loading the transcript.
    metadata["line_map"] = json.dumps(chunk.line_map)
    node = TextNode(id_=chunk.chunk_id, text=chunk.text, metadata=metadata, embedding=[float(x) for x in vector])
    # Keep the metadata out of what llama-index would embed or show an LLM; we build prompts ourselves.
    node.excluded_embed_metadata_keys = list(metadata)
    node.excluded_llm_metadata_keys = list(metadata)
    return node


def _chunk_from_metadata(meta: dict[str, Any], text: str) -> Chunk:
    episode_id = str(meta.get("episode_id", ""))
    return Chunk(
        chunk_id=f"{episode_id}@{meta.get('version', '')}:{meta.get('first_line', 0)}",
        episode_id=episode_id,
        speaker=str(meta.get("speaker", "")),
        start=float(meta.get("start", 0.0)),
        end=float(meta.get("end", 0.0)),
        first_line=int(meta.get("first_line", 0)),
        last_line=int(meta.get("last_line", 0)),
        text=text,
        context=str(meta.get("context", "")),
        confidence=float(meta.get("confidence", 1.0)),
        turn_index=int(meta.get("turn_index", 0)),
        line_map=[(int(r[0]), float(r[1]), int(r[2]), float(r[3]) if len(r) > 3 else 1.0)
                  for r in json.loads(str(meta.get("line_map", "[]")))],
    )


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _meta_to_dict(meta: EpisodeMeta) -> dict[str, Any]:
    return {**asdict(meta), "date": _iso(meta.date)}


def _meta_from_dict(m: dict[str, Any]) -> EpisodeMeta:
    return EpisodeMeta(
        episode_id=m["episode_id"],
        title=m.get("title", m["episode_id"]),
        show=m.get("show", ""),
        date=date.fromisoformat(m["date"]) if m.get("date") else None,
        language=m.get("language", "fr"),
        host=_person(m["host"]) if m.get("host") else None,
        guests=[_person(g) for g in m.get("guests", [])],
        source_url=m.get("source_url"),
        source_file=m.get("source_file", ""),
        format=m.get("format", ""),
    )


def _record_to_json(record: EpisodeRecord) -> str:
    return json.dumps({"version": record.version, "meta": _meta_to_dict(record.meta), "labelled": record.labelled,
                       "lines": record.lines, "speaker_turns": record.speaker_turns, "pipeline": record.pipeline},
                      ensure_ascii=False)


def _record_from_json(text: str) -> EpisodeRecord:
    data = json.loads(text)
    return EpisodeRecord(version=data["version"], meta=_meta_from_dict(data["meta"]), labelled=data["labelled"],
                         lines=data["lines"], speaker_turns=data["speaker_turns"], pipeline=data.get("pipeline", ""))


def _transcript_to_json(transcript: Transcript) -> str:
    # Compact rows: [line, start, end, speaker, confidence, text]
    rows = [[ln.line, ln.start, ln.end, ln.speaker, round(ln.confidence, 3), ln.text] for ln in transcript.lines]
    return json.dumps({"meta": _meta_to_dict(transcript.meta), "labelled": transcript.labelled, "lines": rows},
                      ensure_ascii=False)


def _transcript_from_json(text: str) -> Transcript:
    data = json.loads(text)
    lines = [SpeechLine(line=r[0], start=r[1], end=r[2], speaker=r[3], confidence=r[4], text=r[5]) for r in data["lines"]]
    return Transcript(meta=_meta_from_dict(data["meta"]), lines=lines, labelled=data["labelled"])


def _person(p: dict[str, Any]) -> Person:
    return Person(name=p["name"], role=p.get("role", ""), affiliation=p.get("affiliation", ""),
                  is_host=p.get("is_host", False), aliases=tuple(p.get("aliases", ())))

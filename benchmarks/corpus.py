"""Synthetic corpora for the benchmarks: real French speech from the two sample episodes, recombined.

Each synthetic episode takes one source episode's roster and a shuffled sequence of that source's real
*exchanges* (a host turn and the guest turns that answer it, speakers from the human-checked gold labels),
re-timed from 00:00 and written as WebVTT with `<v Name>` voice tags plus a `<file>.json` sidecar (id, date,
title, roster with roles). So the text is real speech, every line keeps its true speaker, and a guest's answer
keeps the host question before it (which our chunker uses as retrieval context). Labelled files skip
speaker inference at ingest: the samples (show-page format, unlabelled) are what measures that cost.

Corpora are generated once into `.debrief/bench/corpora/<n>-seed<seed>-v<version>/` and reused.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ingest.models import Person
from ingest.parse import parse_file
from rag.settings import REPO_ROOT

SAMPLES_DIR = REPO_ROOT / "data" / "transcripts"
GOLD_DIR = REPO_ROOT / "evals" / "data" / "gold"
CACHE_DIR = REPO_ROOT / ".debrief" / "bench"
CORPUS_VERSION = "1"
FIRST_DATE = date(2020, 1, 2)
# A line lasts until the next one starts, within these bounds (subtitle gaps and pauses are not speech).
MIN_LINE_S, MAX_LINE_S, DEFAULT_LINE_S = 0.5, 12.0, 2.0


@dataclass
class Line:
    """One real speech line: who said it, what, and for how long."""

    speaker: str
    text: str
    seconds: float


@dataclass
class Source:
    """A sample episode cut into exchanges, with its roster."""

    episode_id: str
    host: Person
    guests: list[Person]
    exchanges: list[list[Line]] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(len(x) for x in self.exchanges)


@dataclass
class CorpusInfo:
    """What a generated corpus holds."""

    path: Path
    episodes: int
    lines: int
    hours: float
    files: list[Path]


def load_gold(path: Path) -> dict[int, str]:
    """Gold speaker per physical line (`NONE` rows left out)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return {int(r["line"]): r["speaker"] for r in rows if r["speaker"] and r["speaker"] != "NONE"}


def load_source(transcript: Path, gold: Path) -> Source:
    """A sample transcript with gold speakers, cut into exchanges that each open on a host turn."""
    parsed = parse_file(transcript)
    meta = parsed.meta
    labels = load_gold(gold)
    host = meta.host or Person(name="Delphine Sabattier", is_host=True)
    guests = list(meta.guests)
    known = {host.name, *(g.name for g in guests)}
    lines: list[Line] = []
    for i, ln in enumerate(parsed.lines):
        speaker = labels.get(ln.line)
        if speaker is None:
            continue
        if speaker not in known:
            guests.append(Person(name=speaker))  # e.g. a remote guest the page description forgot
            known.add(speaker)
        nxt = parsed.lines[i + 1].start if i + 1 < len(parsed.lines) else None
        seconds = DEFAULT_LINE_S if nxt is None or nxt <= ln.start else min(max(nxt - ln.start, MIN_LINE_S), MAX_LINE_S)
        lines.append(Line(speaker=speaker, text=ln.text, seconds=seconds))
    exchanges: list[list[Line]] = []
    for line in lines:
        # A new exchange opens where the host takes the floor back.
        if not exchanges or (line.speaker == host.name and exchanges[-1][-1].speaker != host.name):
            exchanges.append([])
        exchanges[-1].append(line)
    return Source(episode_id=meta.episode_id, host=host, guests=guests, exchanges=exchanges)


def load_sources() -> list[Source]:
    """Both sample episodes, in file order."""
    out = []
    for path in sorted(SAMPLES_DIR.glob("*.txt")):
        gold = GOLD_DIR / f"{path.stem}.speakers.tsv"
        if gold.is_file():
            out.append(load_source(path, gold))
    return out


def _timecode(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _person_json(p: Person) -> dict[str, str]:
    return {"name": p.name, "role": p.role, "affiliation": p.affiliation}


def write_episode(source: Source, index: int, rng: random.Random, out_dir: Path) -> tuple[Path, int, float]:
    """Write synthetic episode number `index` (WebVTT + sidecar). Returns (path, lines, seconds)."""
    episode_id = f"synth-{index:04d}"
    day = FIRST_DATE + timedelta(days=7 * index)
    title = f"SMART TECH (synthetic {index:04d}, from {source.episode_id})"
    order = list(source.exchanges)
    rng.shuffle(order)
    out = ["WEBVTT", "", f"NOTE Title: {title}", f"NOTE Date: {day.isoformat()}", f"NOTE Episode: {episode_id}", ""]
    clock, count = 0.0, 0
    for exchange in order:
        for line in exchange:
            out += [f"{_timecode(clock)} --> {_timecode(clock + line.seconds)}", f"<v {line.speaker}>{line.text}", ""]
            clock += line.seconds
            count += 1
    path = out_dir / f"{episode_id}.vtt"
    path.write_text("\n".join(out), encoding="utf-8")
    sidecar = {"episode_id": episode_id, "title": title, "show": "SMART TECH", "date": day.isoformat(),
               "language": "fr", "host": {**_person_json(source.host)},
               "guests": [_person_json(g) for g in source.guests]}
    path.with_name(path.name + ".json").write_text(json.dumps(sidecar, ensure_ascii=False, indent=1), encoding="utf-8")
    return path, count, clock


def generate(n: int, seed: int = 0, cache_dir: Path = CACHE_DIR, sources: list[Source] | None = None) -> CorpusInfo:
    """The corpus of `n` synthetic episodes, generated on first use and then reused from the cache."""
    out_dir = cache_dir / "corpora" / f"{n}-seed{seed}-v{CORPUS_VERSION}"
    manifest = out_dir / ".manifest.json"  # hidden: ingest skips it
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return CorpusInfo(path=out_dir, episodes=data["episodes"], lines=data["lines"], hours=data["hours"],
                          files=[out_dir / f for f in data["files"]])
    sources = sources or load_sources()
    if not sources:
        raise FileNotFoundError(f"no sample transcripts with gold speakers under {SAMPLES_DIR}")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rng = random.Random(seed)
    files, lines, seconds = [], 0, 0.0
    for i in range(n):
        path, count, length = write_episode(sources[i % len(sources)], i + 1, rng, tmp)
        files.append(path.name)
        lines += count
        seconds += length
    (tmp / ".manifest.json").write_text(json.dumps({"episodes": n, "lines": lines, "hours": seconds / 3600,
                                                   "files": files, "seed": seed}), encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)  # a half-written corpus is never mistaken for a complete one
    return generate(n, seed, cache_dir)


def samples_info() -> CorpusInfo:
    """The two real sample transcripts as a corpus (show-page format, speakers inferred at ingest)."""
    files = sorted(SAMPLES_DIR.glob("*.txt"))
    lines, seconds = 0, 0.0
    for f in files:
        t = parse_file(f)
        lines += len(t.lines)
        seconds += max(ln.end if ln.end is not None else ln.start for ln in t.lines)
    return CorpusInfo(path=SAMPLES_DIR, episodes=len(files), lines=lines, hours=seconds / 3600, files=files)

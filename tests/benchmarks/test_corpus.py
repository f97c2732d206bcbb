"""The synthetic corpus generator: real sample speech, recombined, speakers kept, cached."""

from __future__ import annotations

from pathlib import Path

from benchmarks import corpus
from benchmarks.baseline import contains_window, window_lines
from ingest.parse import parse_file
from tests.conftest import DECEMBER, JUNE


def _sample_texts() -> set[str]:
    return {ln.text for path in (JUNE, DECEMBER) for ln in parse_file(path).lines}


def test_synthetic_episodes_recombine_real_lines_with_their_gold_speakers(tmp_path: Path) -> None:
    info = corpus.generate(3, seed=1, cache_dir=tmp_path)
    assert info.episodes == 3 and len(info.files) == 3
    real = _sample_texts()
    gold = {p.stem: corpus.load_gold(corpus.GOLD_DIR / f"{p.stem}.speakers.tsv") for p in (JUNE, DECEMBER)}
    december = {ln.text: gold[DECEMBER.stem][ln.line] for ln in parse_file(DECEMBER).lines
                if ln.line in gold[DECEMBER.stem]}
    ids, dates = set(), set()
    for path in info.files:
        t = parse_file(path)
        assert t.labelled and t.meta.format == "webvtt"
        assert t.meta.host is not None and t.meta.host.name == "Delphine Sabattier"
        roster = {p.name for p in t.meta.roster}
        assert all(ln.speaker in roster for ln in t.lines)
        assert all(ln.text in real for ln in t.lines)  # real French speech, never invented
        starts = [ln.start for ln in t.lines]
        assert starts == sorted(starts) and starts[0] == 0.0
        ids.add(t.meta.episode_id)
        dates.add(t.meta.date)
    assert len(ids) == 3 and len(dates) == 3
    # Episode 2 comes from the December sample: its lines keep their gold speaker and its roster has the
    # remote guest the page description forgot.
    second = parse_file(info.files[1])
    assert "Eric Haddad" in {p.name for p in second.meta.guests}
    keyed = [ln for ln in second.lines if ln.text in december and len(ln.text) > 60]
    assert keyed and all(ln.speaker == december[ln.text] for ln in keyed)


def test_lines_are_shuffled_across_episodes_from_the_same_source(tmp_path: Path) -> None:
    info = corpus.generate(4, seed=0, cache_dir=tmp_path)
    first, third = (parse_file(info.files[i]) for i in (0, 2))  # both recombine the June sample
    assert sorted(ln.text for ln in first.lines) == sorted(ln.text for ln in third.lines)
    assert [ln.text for ln in first.lines] != [ln.text for ln in third.lines]


def test_a_generated_corpus_is_reused_not_rewritten(tmp_path: Path) -> None:
    info = corpus.generate(2, cache_dir=tmp_path)
    stamp = info.files[0].stat().st_mtime_ns
    again = corpus.generate(2, cache_dir=tmp_path)
    assert again.files == info.files and again.lines == info.lines
    assert again.files[0].stat().st_mtime_ns == stamp


def test_exchanges_open_on_the_host() -> None:
    sources = corpus.load_sources()
    assert [s.episode_id for s in sources] == ["smart-tech-2025-06-19", "smart-tech-2025-12-11"]
    for s in sources:
        assert all(x[0].speaker == s.host.name for x in s.exchanges[1:])


def test_baseline_hit_needs_the_window_text() -> None:
    # q01's first window: Julien Pillot on public procurement, lines 122-127 of the December sample.
    lines = window_lines(DECEMBER, 122, 127)
    assert lines[0] == "Non, le point d'interrogation, c'est que structurellement,"  # timecode stripped
    chunk = "\n".join(f"06:5{i}{ln}" for i, ln in enumerate(lines))
    assert contains_window(chunk, lines)
    assert not contains_window("Bonjour à tous, Smartech dans un nouveau studio.", lines)

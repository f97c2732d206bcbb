"""Parsers fuzzed with hypothesis: whatever the bytes, a parser returns a Transcript or raises TranscriptError, and
never hangs (each example has a deadline). Inputs are format-shaped (timings, cues, labels, JSON segments built from
real lines of the sample episodes, mutated) as well as arbitrary text, so the fuzzer gets past each format's
signature into its parsing code. Example counts are bounded for CI; examples are derived deterministically.
"""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import TranscriptError
from ingest.formats import FORMATS
from ingest.parse import parse_file
from ingest.pipeline import attribute_speakers

FUZZ = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),  # a parse of a few KB takes milliseconds; seconds means a hang
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Real lines and names of the two sample episodes.
WORDS = [
    "Bonjour à tous, Smartech dans un nouveau studio.", "Julien Pillot", "Delphine Sabattier", "Marc Kaplan",
    "Si à la sortie, la commande publique continue à passer auprès d'hyperscalaires américains,",
    "je ne vois pas trop ce qu'on y gagne.", "Bonjour Marc.", "Imène Kabouya", "Audrey Maurel", "SPEAKER_00",
    "campus quantique défense", "Et puis, attention...", "<v Julien Pillot>", "</v>", "<i>", "- ", "—", ":", "[",
    "]", "-->", "NOTE", "WEBVTT", "Title:", "Date:", "Episode:", "\ufeff", "\u200b", "🗞", "\t", "\\", "{", "}",
]
timecode = st.builds(
    lambda h, m, s, ms, sep: (f"{h:02d}:" if h is not None else "") + f"{m:02d}:{s:02d}" + (f"{sep}{ms:03d}" if ms is not None else ""),
    st.none() | st.integers(0, 99), st.integers(0, 99), st.integers(0, 99), st.none() | st.integers(0, 999),
    st.sampled_from([",", "."]),
)
noise = st.text(max_size=30)
fragment = st.one_of(st.sampled_from(WORDS), timecode, noise)
text_line = st.lists(fragment, max_size=6).map(" ".join)


def _lines(items: list[str]) -> str:
    return "\n".join(items)


showpage_text = st.builds(
    lambda head, body: _lines([*head, *body]),
    st.lists(st.sampled_from(["- 19/06/2025", "Jeudi 19 juin 2025, retrouvez Marc Kaplan (dirigeant, VeriQloud) "
                              "dans SMART TECH, une émission présentée par Delphine Sabattier.", "Catégorie",
                              "NewsTranscription", "il y a 3 jours", "Recommandations"]), max_size=4),
    st.lists(st.builds(lambda t, x: t + x, timecode, text_line), max_size=25),
)
cue = st.builds(
    lambda ident, a, b, settings_, text: _lines([ident, f"{a} --> {b}{settings_}", *text, ""]),
    st.sampled_from(["", "1", "intro", "NOTE x"]), timecode, timecode,
    st.sampled_from(["", " align:start", " position:10%", "-->"]), st.lists(text_line, max_size=3),
)
webvtt_text = st.builds(lambda head, cues: _lines([head, "", *cues]),
                        st.sampled_from(["WEBVTT", "WEBVTT - SMART TECH", "WEBVTT\nNOTE roster", "\ufeffWEBVTT"]),
                        st.lists(cue, max_size=12))
srt_text = st.builds(
    lambda cues: _lines(cues),
    st.lists(st.builds(lambda n, a, b, text: _lines([str(n), f"{a} --> {b}", *text, ""]),
                       st.integers(-1, 1000), timecode, timecode, st.lists(text_line, max_size=3)), max_size=12),
)
plaintext_text = st.builds(
    lambda head, body: _lines([*head, "", *body]),
    st.lists(st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["Title", "Date", "Show", "Episode", "Host"]),
                       st.one_of(noise, st.sampled_from(["2025-12-11", "2025-13-45", "smart-tech-x"]))), max_size=4),
    st.lists(st.builds(lambda t, who, x: f"{t} {who}: {x}",
                       st.one_of(timecode.map(lambda t: f"[{t}]"), timecode.map(lambda t: f"({t})"), timecode),
                       st.sampled_from(WORDS[1:4] + ["", "X"]), text_line), max_size=20),
)
number = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**12), 10**12), st.none(),
                   st.text(max_size=5), st.booleans())
json_value = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=4), max_leaves=12)
segment = st.fixed_dictionaries(
    {"start": number, "end": number, "text": st.one_of(text_line, number)},
    optional={"speaker": st.one_of(st.sampled_from(["SPEAKER_00", "SPEAKER_01", "Julien Pillot"]), number),
              "words": st.lists(st.fixed_dictionaries({"word": noise, "start": number, "end": number}), max_size=3),
              "extra": json_value},
)
whisperx_text = st.one_of(
    st.lists(segment, max_size=10).map(lambda segs: json.dumps({"segments": segs, "language": "fr"})),
    st.lists(segment, max_size=10).map(json.dumps),
    json_value.map(json.dumps),
    st.lists(segment, min_size=1, max_size=5).map(json.dumps).flatmap(
        lambda s: st.integers(0, len(s)).map(lambda cut: s[:cut])),  # truncated JSON
)
SHAPED = {
    "showpage": showpage_text, "webvtt": webvtt_text, "srt": srt_text, "plaintext": plaintext_text,
    "whisperx": whisperx_text,
}
SUFFIX = {"showpage": ".txt", "webvtt": ".vtt", "srt": ".srt", "plaintext": ".txt", "whisperx": ".json"}


def test_every_registered_format_is_fuzzed() -> None:
    assert set(SHAPED) == set(FORMATS)


def _inputs(name: str) -> st.SearchStrategy[str]:
    # Mostly format-shaped, sometimes another format's shape or plain noise.
    return st.one_of(SHAPED[name], SHAPED[name], st.sampled_from(sorted(SHAPED)).flatmap(SHAPED.__getitem__),
                     st.text(max_size=400))


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_format_parse_raises_only_transcript_error(name: str) -> None:
    fmt = FORMATS[name]

    @FUZZ
    @given(text=_inputs(name))
    def check(text: str) -> None:
        fmt.looks_like(text)
        try:
            transcript = fmt.parse(text, Path(f"fuzz{SUFFIX[name]}"))
        except TranscriptError:
            return
        assert all(isinstance(ln.text, str) for ln in transcript.lines)

    check()


@pytest.mark.parametrize("name", sorted(SHAPED))
def test_parse_file_raises_only_transcript_error(name: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))

    @FUZZ
    @given(text=_inputs(name), raw=st.binary(max_size=64), as_bytes=st.booleans(), forced=st.booleans())
    def check(text: str, raw: bytes, as_bytes: bool, forced: bool) -> None:
        path = folder / f"episode{SUFFIX[name]}"
        data = text.encode("utf-8", "surrogatepass") + (raw if as_bytes else b"")
        path.write_bytes(data)
        try:
            transcript = parse_file(path, format=name if forced else None)
        except TranscriptError as exc:
            assert str(exc).startswith(str(path)) or str(exc).startswith(str(path.with_name(path.name + ".json")))
            return
        # What parses must also survive speaker attribution (the next step of every ingest).
        try:
            attribute_speakers(transcript, path)
        except TranscriptError:
            return

    check()

"""parse_file on the two real show pages, sidecars, format overrides, and the bad input it must refuse."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from ingest.errors import TranscriptError
from ingest.parse import parse_file

SAMPLES = Path(__file__).parents[2] / "data" / "transcripts"
JUNE = SAMPLES / "smart-tech-2025-06-19.txt"
DECEMBER = SAMPLES / "smart-tech-2025-12-11.txt"


# --- the real samples ------------------------------------------------------------------------------------


def test_june_episode_date_from_the_absolute_date_line() -> None:
    meta = parse_file(JUNE).meta
    assert meta.date == date(2025, 6, 19)
    assert meta.episode_id == "smart-tech-2025-06-19"
    assert meta.format == "showpage" and meta.show == "SMART TECH"


def test_december_episode_date_from_the_description_when_the_date_line_is_relative() -> None:
    assert JUNE.read_text(encoding="utf-8").startswith("- 19/06/2025")
    assert DECEMBER.read_text(encoding="utf-8").startswith("- il y a 17 heures")
    meta = parse_file(DECEMBER).meta
    assert meta.date == date(2025, 12, 11)
    assert meta.episode_id == "smart-tech-2025-12-11"


def test_rosters_with_roles_and_affiliations() -> None:
    june, december = parse_file(JUNE).meta, parse_file(DECEMBER).meta
    for meta in (june, december):
        assert meta.host is not None and meta.host.name == "Delphine Sabattier" and meta.host.is_host
    assert [g.name for g in june.guests] == ["Louis Soris", "Marc Kaplan", "Dorothée Decrop", "Alain Staron"]
    soris = june.person("Louis Soris")
    assert soris is not None and (soris.role, soris.affiliation) == ("avocat et fondateur", "cabinet Soris Avocats")
    assert [g.name for g in december.guests] == ["Imène Kabouya", "Audrey Maurel", "Julien Pillot"]
    pillot = december.person("Julien Pillot")
    assert pillot is not None
    assert pillot.role == "Consultant, Enseignant-chercheur en économie"
    assert pillot.affiliation == "Inseec - Groupe Omnes Education"
    maurel = december.person("Audrey Maurel")
    assert maurel is not None and (maurel.role, maurel.affiliation) == ("Avocate", "")


def test_june_speech_lines_and_their_physical_numbers() -> None:
    t = parse_file(JUNE)
    assert not t.labelled
    assert len(t.lines) == 408
    assert (t.lines[0].line, t.lines[0].start) == (6, 0.0)
    assert t.lines[0].text.startswith("Bonjour à tous, Smartech dans un nouveau studio")
    assert (t.lines[-1].line, t.lines[-1].start, t.lines[-1].text) == (413, 1698.0, "Excellente journée.")
    physical = JUNE.read_text(encoding="utf-8").split("\n")
    # Each speech line's text is on the physical line it claims.
    assert all(ln.text in physical[ln.line - 1] for ln in t.lines)


def test_december_speech_lines_and_their_physical_numbers() -> None:
    t = parse_file(DECEMBER)
    assert len(t.lines) == 1225
    assert (t.lines[0].line, t.lines[-1].line) == (6, 1230)
    assert (t.lines[-1].start, t.lines[-1].text) == (1710.0, "jeudi prochain en direct")
    procurement = next(ln for ln in t.lines if "capter plus de commandes publiques" in ln.text)
    assert (procurement.line, procurement.start, procurement.end) == (124, 422.0, 427.0)


def test_page_footer_is_not_speech() -> None:
    june, december = parse_file(JUNE), parse_file(DECEMBER)
    june_lines = JUNE.read_text(encoding="utf-8").split("\n")
    footer = june_lines.index("Recommandations") + 1
    assert footer == 414
    # 'Recommandations' and the bare durations of the recommended videos after it.
    assert all(ln.line < footer for ln in june.lines)
    assert not any(ln.text == "Recommandations" for ln in june.lines)
    assert not any(ln.start == 28 * 60 + 58 for ln in june.lines)
    assert not any("premier commentaire" in ln.text for ln in december.lines)


# --- sidecar, source_url, --format ---------------------------------------------------------------------


def test_sidecar_metadata_is_applied(tmp_path: Path) -> None:
    path = tmp_path / DECEMBER.name
    shutil.copy(DECEMBER, path)
    (tmp_path / f"{DECEMBER.name}.json").write_text(json.dumps({
        "source_url": "https://www.dailymotion.com/video/x9smarttech1211",
        "title": "SMART TECH — régulation numérique, cloud de confiance et data centers",
    }, ensure_ascii=False), encoding="utf-8")
    meta = parse_file(path).meta
    assert meta.source_url == "https://www.dailymotion.com/video/x9smarttech1211"
    assert meta.title == "SMART TECH — régulation numérique, cloud de confiance et data centers"
    # What the sidecar does not mention still comes from the page.
    assert meta.date == date(2025, 12, 11) and [g.name for g in meta.guests][-1] == "Julien Pillot"
    assert parse_file(path, source_url="https://www.youtube.com/watch?v=smarttech").meta.source_url == (
        "https://www.youtube.com/watch?v=smarttech")


def test_bad_sidecar_is_named(tmp_path: Path) -> None:
    path = tmp_path / JUNE.name
    shutil.copy(JUNE, path)
    side = tmp_path / f"{JUNE.name}.json"
    side.write_text('{\n  "title": "SMART TECH",\n  "date": 2025-06-19\n}\n', encoding="utf-8")
    with pytest.raises(TranscriptError) as err:
        parse_file(path)
    assert err.value.path == str(side) and err.value.line == 3


def test_format_override(tmp_path: Path) -> None:
    forced = parse_file(JUNE, format="showpage")
    assert forced.meta.format == "showpage" and len(forced.lines) == 408
    with pytest.raises(TranscriptError, match="WEBVTT") as err:
        parse_file(JUNE, format="webvtt")
    assert err.value.line == 1
    with pytest.raises(TranscriptError, match="unknown format 'docx'"):
        parse_file(JUNE, format="docx")


# --- bad input -----------------------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("content", ["", "\n\n   \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path, "empty.txt", content)
    with pytest.raises(TranscriptError, match="empty") as err:
        parse_file(path)
    assert err.value.path == str(path)


def test_binary_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "cover.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x02\x80")
    with pytest.raises(TranscriptError, match="binary") as err:
        parse_file(path)
    # '\x89PNG\r\n' is line 1, '\x1a\n' line 2: the first NUL starts line 3.
    assert err.value.line == 3


def test_latin1_file_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    text = "- 19/06/2025\n00:00Bonjour à tous, Smartech dans un nouveau studio.\n"
    path = _write(tmp_path, "latin1.txt", text.encode("latin-1"))
    with pytest.raises(TranscriptError, match="UTF-8") as err:
        parse_file(path)
    assert err.value.line == 2


def test_text_without_timestamps(tmp_path: Path) -> None:
    path = _write(tmp_path, "prose.txt", "Bonjour à tous, Smartech dans un nouveau studio, nouveau décor.\n"
                                         "On va passer 28 minutes ensemble pour débriefer les actus de la tech.\n")
    with pytest.raises(TranscriptError, match="no timestamps") as err:
        parse_file(path)
    assert err.value.line == 1


def test_timestamps_going_backwards(tmp_path: Path) -> None:
    lines = JUNE.read_text(encoding="utf-8").split("\n")
    lines[9] = "00:02" + lines[9][5:]  # line 10 ('00:28On va commenter...') now claims 00:02
    path = _write(tmp_path, "backwards.txt", "\n".join(lines))
    with pytest.raises(TranscriptError, match="backwards") as err:
        parse_file(path)
    assert err.value.line == 10


def test_srt_cues_out_of_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "swapped.srt",
                  "1\n00:07:13,000 --> 00:07:18,000\nJULIEN PILLOT: Si à la sortie, la commande publique continue\n\n"
                  "2\n00:06:39,000 --> 00:06:41,000\nJULIEN PILLOT: Bonjour Éric. Un commentaire ? Oui.\n")
    with pytest.raises(TranscriptError, match="backwards") as err:
        parse_file(path)
    assert err.value.line == 7


def test_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = JUNE.read_bytes()
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        for _ in range(50 * 1024 * 1024 // len(sample) + 1):
            f.write(sample)
    assert path.stat().st_size >= 50 * 1024 * 1024

    def refuse(self: Path) -> bytes:
        raise AssertionError(f"{self} was read")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(TranscriptError, match="too large") as err:
        parse_file(path)
    assert err.value.path == str(path)


def test_malformed_vtt_timing_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.vtt", "WEBVTT\n\n1\n00:06:36.000 --> 00:06:3x.000\n"
                                       "<v Delphine Sabattier>Julien, une question pour Éric Haddad ?\n")
    with pytest.raises(TranscriptError, match="malformed cue timing") as err:
        parse_file(path)
    assert err.value.line == 4


def test_vtt_cue_without_a_timing_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "arrow.vtt", "WEBVTT\n\n00:06:36.000 --> 00:06:39.000\nJulien, une question ?\n\n"
                                         "00:06:39.000 -> 00:06:41.000\nBonjour Éric. Un commentaire ? Oui.\n")
    with pytest.raises(TranscriptError, match="expected a cue timing line") as err:
        parse_file(path)
    assert err.value.line == 6


def test_malformed_json_reports_the_decoder_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.json",
                  '{\n  "segments": [\n    {"start": 399.05, "end": 401.2, "speaker": "SPEAKER_00",\n'
                  '     "text": " Bonjour Éric. Un commentaire ? Oui."\n    {"start": 401.2}\n  ]\n}\n')
    with pytest.raises(TranscriptError, match="malformed JSON") as err:
        parse_file(path)
    assert err.value.line == 5


def test_json_segment_missing_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, "missing.json", json.dumps({"segments": [
        {"start": 399.05, "end": 401.2, "text": " Bonjour Éric. Un commentaire ? Oui.", "speaker": "SPEAKER_00"},
        {"start": 401.2, "speaker": "SPEAKER_00", "text": " Moi, j'applaudis plutôt tout ce qui est fait."},
    ]}, ensure_ascii=False, indent=2))
    with pytest.raises(TranscriptError, match="segment 2 has no 'end'") as err:
        parse_file(path)
    # The line of the segment's "text" key.
    assert err.value.line == 12


def test_json_of_the_wrong_shape(tmp_path: Path) -> None:
    path = _write(tmp_path, "shape.json", '{"start": 12, "transcript": "Bonjour à tous"}\n')
    with pytest.raises(TranscriptError, match="segments"):
        parse_file(path)


def test_an_undetectable_file_with_timestamps_is_not_said_to_have_none(tmp_path: Path) -> None:
    short = tmp_path / "court.txt"
    short.write_text("01:00Bonjour Delphine\n00:10Merci beaucoup\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="no supported layout recognised") as err:
        parse_file(short)
    assert "no timestamps" not in str(err.value) and f"{short}:1:" in str(err.value)
    # Forced to the show-page format, the real problem is named at its line.
    with pytest.raises(TranscriptError, match=f"{short}:2: timestamps go backwards"):
        parse_file(short, format="showpage")

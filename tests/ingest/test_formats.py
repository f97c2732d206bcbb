"""The labelled transcript formats, on short real passages of the two SMART TECH episodes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.errors import TranscriptError
from ingest.formats import FORMATS, detect, plaintext, srt, webvtt, whisperx
from ingest.formats.labels import clean_label, split_prefix
from ingest.loader import read_text
from ingest.models import Transcript
from ingest.parse import parse_file

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = Path(__file__).parents[2] / "data" / "transcripts"
ROSTER_12_11 = FIXTURES / "pillot-procurement.vtt.json"


def _parse(module: object, name: str) -> Transcript:
    path = FIXTURES / name
    return module.parse(read_text(path), path)  # type: ignore[attr-defined, no-any-return]


def _copy(name: str, tmp_path: Path, sidecar: dict | None = None) -> Path:
    """A fixture alone in tmp_path (no sidecar unless given), so the test controls the roster."""
    target = tmp_path / name
    shutil.copy(FIXTURES / name, target)
    if sidecar is not None:
        (tmp_path / f"{name}.json").write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
    return target


# --- detection -------------------------------------------------------------------------------------------


def test_registry_tries_specific_formats_first_and_show_page_last() -> None:
    assert list(FORMATS) == ["webvtt", "whisperx", "srt", "plaintext", "showpage"]


@pytest.mark.parametrize(("path", "expected"), [
    (FIXTURES / "pillot-procurement.vtt", "webvtt"),
    (FIXTURES / "opening-0619-unlabelled.vtt", "webvtt"),
    (FIXTURES / "pillot-procurement.srt", "srt"),
    (FIXTURES / "opening-0619.srt", "srt"),
    (FIXTURES / "opening-0619-unlabelled.srt", "srt"),
    (FIXTURES / "pillot-procurement.whisperx.json", "whisperx"),
    (FIXTURES / "opening-0619.pyannote.json", "whisperx"),
    (FIXTURES / "pillot-procurement.txt", "plaintext"),
    (FIXTURES / "audrey-green-card.txt", "plaintext"),
    (SAMPLES / "smart-tech-2025-06-19.txt", "showpage"),
    (SAMPLES / "smart-tech-2025-12-11.txt", "showpage"),
])
def test_format_is_detected_from_content(path: Path, expected: str, tmp_path: Path) -> None:
    # Renamed to .dat: detection must not lean on the extension.
    blind = tmp_path / "transcript.dat"
    blind.write_bytes(path.read_bytes())
    assert detect(read_text(blind), blind) == expected


# --- WebVTT ----------------------------------------------------------------------------------------------


def test_webvtt_voices_become_labelled_lines_at_their_physical_lines() -> None:
    t = _parse(webvtt, "pillot-procurement.vtt")
    assert t.labelled
    assert [ln.line for ln in t.lines] == [17, 21, 25, 29, 33, 36, 40, 44, 48, 49, 52, 52]
    assert [ln.label for ln in t.lines[:4]] == ["Delphine Sabattier", "Delphine Sabattier", "Julien", "Julien"]
    # Without a roster the cleaned label is the speaker.
    assert all(ln.speaker == ln.label for ln in t.lines)
    assert (t.lines[2].start, t.lines[2].end) == (399.0, 401.0)


def test_webvtt_cue_text_is_joined_and_stripped_of_markup() -> None:
    t = _parse(webvtt, "pillot-procurement.vtt")
    by_line = {ln.line: ln for ln in t.lines if ln.line != 52}
    assert by_line[29].text == ("Moi, j'applaudis plutôt tout ce qui est fait autour de Newspot. "
                                "Je trouve qu'il y a vraiment des choses assez intéressantes qui sont faites,")
    assert "<i>" not in by_line[33].text and "certifications Secland Cloud, auxquelles" in by_line[33].text
    # `<v.loud Julien>` is Julien's voice too, closed by `</v>` on the next line.
    assert by_line[36].label == "Julien"
    assert by_line[36].text.endswith("difficulté de transformer l'essai")


def test_webvtt_splits_a_cue_with_several_voices() -> None:
    t = _parse(webvtt, "pillot-procurement.vtt")
    two_lines = [ln for ln in t.lines if ln.start == 438.0]
    assert [(ln.line, ln.label, ln.text) for ln in two_lines] == [
        (48, "Julien", "Et puis, attention..."),
        (49, "Delphine Sabattier", "C'est une question pour Éric Haddad."),
    ]
    same_line = [ln for ln in t.lines if ln.line == 52]
    assert [(ln.label, ln.text) for ln in same_line] == [
        ("Delphine Sabattier", "Éric."), ("Éric Haddad", "Ce que je peux raconter, effectivement..."),
    ]
    assert all((ln.start, ln.end) == (477.0, 479.0) for ln in same_line)


def test_webvtt_metadata_comes_from_note_and_header_lines() -> None:
    meta = _parse(webvtt, "pillot-procurement.vtt").meta
    assert meta.episode_id == "smart-tech-2025-12-11"
    assert meta.title == "SMART TECH — le grand débrief du 11 décembre 2025"
    assert meta.date is not None and meta.date.isoformat() == "2025-12-11"
    assert meta.language == "fr"
    # No roster known: the distinct labels, in order of appearance.
    assert [g.name for g in meta.guests] == ["Delphine Sabattier", "Julien", "Éric Haddad"]


def test_webvtt_labels_map_to_canonical_roster_names_with_a_sidecar() -> None:
    t = parse_file(FIXTURES / "pillot-procurement.vtt")
    julien = [ln for ln in t.lines if ln.label == "Julien"]
    assert len(julien) == 7 and {ln.speaker for ln in julien} == {"Julien Pillot"}
    assert t.meta.host is not None and t.meta.host.name == "Delphine Sabattier"
    pillot = t.meta.person("Julien Pillot")
    assert pillot is not None and pillot.affiliation == "Inseec - Groupe Omnes Education"
    # The remote guest is on no roster yet spoke: kept under his label, listed after the known guests.
    assert [g.name for g in t.meta.guests] == ["Imène Kabouya", "Audrey Maurel", "Julien Pillot", "Éric Haddad"]
    assert t.meta.source_url == "https://www.dailymotion.com/video/x9smarttech1211"


def test_webvtt_without_voices_is_unlabelled_and_dashes_split_speakers() -> None:
    t = _parse(webvtt, "opening-0619-unlabelled.vtt")
    assert not t.labelled
    assert all(ln.speaker is None and ln.label is None for ln in t.lines)
    assert [ln.line for ln in t.lines] == [4, 8, 12, 15, 18, 19, 22]
    assert [ln.text for ln in t.lines[4:6]] == ["Bonjour.", "Vous êtes la déléguée générale d'Exatrust,"]
    assert t.meta.episode_id == "opening-0619-unlabelled" and t.meta.guests == []


def test_webvtt_first_cue_right_after_the_header(tmp_path: Path) -> None:
    path = tmp_path / "direct.vtt"
    path.write_text("WEBVTT\n00:00:00.000 --> 00:00:13.000\n<v Delphine Sabattier>Bonjour à tous, Smartech dans "
                    "un nouveau studio.\n", encoding="utf-8")
    t = parse_file(path)
    assert [(ln.line, ln.speaker) for ln in t.lines] == [(3, "Delphine Sabattier")]


# --- SRT -------------------------------------------------------------------------------------------------


def test_srt_uppercase_name_prefixes_are_labels() -> None:
    t = _parse(srt, "pillot-procurement.srt")
    assert t.labelled
    assert [ln.line for ln in t.lines] == [3, 8, 13, 18, 23, 28, 33, 38, 43, 48, 53, 57, 58, 62]
    assert t.lines[0].label == "Delphine Sabattier"
    assert t.lines[0].text == "Ok, c'est intéressant ce virage stratégique."
    # An unprefixed cue continues the speaker before it.
    assert t.lines[1].label == "Delphine Sabattier" and t.lines[1].text.startswith("Julien, une question")
    assert {ln.label for ln in t.lines[2:11]} == {"Julien Pillot"}
    # ',mmm' milliseconds.
    assert (t.lines[10].start, t.lines[10].end) == (437.5, 438.9)


def test_srt_dash_lines_split_a_cue_between_speakers() -> None:
    t = _parse(srt, "pillot-procurement.srt")
    assert [(ln.line, ln.label, ln.text) for ln in t.lines[11:13]] == [
        (57, "Julien Pillot", "Et puis, attention..."),
        (58, "Delphine Sabattier", "C'est une question pour Éric Haddad."),
    ]
    # 'JULIEN PILLOT :' with the French space before the colon.
    assert (t.lines[13].label, t.lines[13].text) == ("Julien Pillot", "Et puis, peut-être une alerte, peut-être également,")


def test_srt_title_case_first_names_map_to_the_roster() -> None:
    t = parse_file(FIXTURES / "opening-0619.srt")
    assert [(ln.line, ln.label, ln.speaker) for ln in t.lines if ln.speaker != "Delphine Sabattier"] == [
        (16, "Dorothée", "Dorothée Decrop"),
        (36, "Louis Sorris", "Louis Soris"),
    ]
    assert {ln.label for ln in t.lines if ln.speaker == "Delphine Sabattier"} == {"Delphine"}
    assert t.meta.date is not None and t.meta.date.isoformat() == "2025-06-19"
    assert [g.name for g in t.meta.guests] == ["Louis Soris", "Marc Kaplan", "Dorothée Decrop", "Alain Staron"]


def test_srt_without_prefixes_is_unlabelled() -> None:
    t = _parse(srt, "opening-0619-unlabelled.srt")
    assert not t.labelled and all(ln.speaker is None for ln in t.lines)
    assert [(ln.line, ln.start) for ln in t.lines] == [(3, 0.0), (8, 13.0), (13, 19.0), (17, 55.0), (21, 57.0)]
    assert t.lines[4].text == ("Meta et son équipe super intelligente, avec aussi cette stratégie "
                               "d'intelligence artificielle d'Apple qui pose question.")


def test_surname_only_label_maps_to_the_roster(tmp_path: Path) -> None:
    path = tmp_path / "pillot.srt"
    path.write_text(
        "1\n00:06:36,000 --> 00:06:39,000\nDELPHINE: Julien, une question pour Éric Haddad ou un commentaire ?\n\n"
        "2\n00:06:39,000 --> 00:06:41,000\nPILLOT: Bonjour Éric. Un commentaire ? Oui.\n", encoding="utf-8")
    shutil.copy(ROSTER_12_11, tmp_path / "pillot.srt.json")
    t = parse_file(path)
    assert [(ln.label, ln.speaker) for ln in t.lines] == [("Delphine", "Delphine Sabattier"), ("Pillot", "Julien Pillot")]


def test_prefix_rules() -> None:
    assert split_prefix("JULIEN PILLOT : Et puis, peut-être une alerte,") == (
        "JULIEN PILLOT", "Et puis, peut-être une alerte,", False)
    assert split_prefix("- Delphine: C'est une question pour Éric Haddad.") == (
        "Delphine", "C'est une question pour Éric Haddad.", True)
    # French typography's space before a colon does not make a Title Case word a speaker.
    assert split_prefix("Attention : la commande publique continue")[0] is None
    assert split_prefix("Julien, une question pour Éric Haddad ou un commentaire ?")[0] is None
    assert clean_label("JULIEN  PILLOT") == "Julien Pillot"
    assert clean_label("SPEAKER_00") == "SPEAKER_00"


# --- WhisperX and pyannote JSON --------------------------------------------------------------------------


def test_whisperx_segments_point_at_their_text_lines() -> None:
    t = _parse(whisperx, "pillot-procurement.whisperx.json")
    assert t.labelled
    # One line per segment: the word-level entries (and top-level word_segments) are ignored.
    assert [ln.line for ln in t.lines] == [6, 20, 38, 52, 84, 105, 129, 152, 182]
    assert [ln.label for ln in t.lines] == ["SPEAKER_01"] * 2 + ["SPEAKER_00"] * 6 + ["SPEAKER_01"]
    assert (t.lines[0].start, t.lines[0].end) == (394.01, 396.12)
    assert t.lines[0].text == "Ok, c'est intéressant ce virage stratégique."
    assert t.meta.language == "fr"
    assert [g.name for g in t.meta.guests] == ["SPEAKER_01", "SPEAKER_00"]


def test_whisperx_diarisation_labels_named_by_the_sidecar(tmp_path: Path) -> None:
    roster = json.loads(ROSTER_12_11.read_text(encoding="utf-8"))
    path = _copy("pillot-procurement.whisperx.json", tmp_path,
                 {**roster, "speakers": {"SPEAKER_00": "Julien", "SPEAKER_01": "Delphine"}})
    t = parse_file(path)
    assert [ln.speaker for ln in t.lines] == ["Delphine Sabattier"] * 2 + ["Julien Pillot"] * 6 + ["Delphine Sabattier"]
    assert t.lines[2].label == "SPEAKER_00"
    assert [g.name for g in t.meta.guests] == ["Imène Kabouya", "Audrey Maurel", "Julien Pillot"]


def test_pyannote_list_of_segments() -> None:
    t = _parse(whisperx, "opening-0619.pyannote.json")
    assert t.labelled
    assert [(ln.line, ln.speaker) for ln in t.lines] == [
        (2, "Delphine Sabattier"), (3, "Delphine Sabattier"), (4, "Delphine Sabattier"), (5, "Dorothée Decrop"),
        (6, "Delphine Sabattier"), (7, "Delphine Sabattier"), (8, "Louis Soris"),
    ]
    assert (t.lines[3].start, t.lines[3].end, t.lines[3].text) == (32.0, 32.6, "Bonjour.")
    assert t.meta.episode_id == "opening-0619-pyannote"


def test_plain_whisper_json_without_speakers_is_unlabelled(tmp_path: Path) -> None:
    # Whisper's own output: the whole text first, at top level, then the segments.
    path = tmp_path / "whisper.json"
    path.write_text(json.dumps({
        "text": " Bonjour à tous, Smartech dans un nouveau studio. On va passer 28 minutes ensemble.",
        "segments": [
            {"id": 0, "start": 0.0, "end": 13.0, "text": " Bonjour à tous, Smartech dans un nouveau studio."},
            {"id": 1, "start": 13.0, "end": 19.0, "text": " On va passer 28 minutes ensemble."},
        ],
        "language": "fr", "title": "SMART TECH — 19 juin 2025", "date": "2025-06-19", "show": "SMART TECH",
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    t = parse_file(path)
    assert not t.labelled and all(ln.speaker is None for ln in t.lines)
    assert [ln.line for ln in t.lines] == [8, 14]
    assert (t.meta.episode_id, t.meta.title) == ("smart-tech-2025-06-19", "SMART TECH — 19 juin 2025")


# --- plain text ------------------------------------------------------------------------------------------


def test_plaintext_bracketed_timestamps_and_names() -> None:
    t = _parse(plaintext, "pillot-procurement.txt")
    assert t.labelled
    assert [ln.line for ln in t.lines] == [5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 18]
    assert [ln.start for ln in t.lines[:3]] == [394.0, 396.0, 399.0]
    # Timestamped lines without a name continue the speaker before them.
    assert {ln.speaker for ln in t.lines[2:12]} == {"Julien Pillot"}
    assert t.lines[4].text == "Je trouve qu'il y a vraiment des choses assez intéressantes qui sont faites,"
    assert t.lines[0].end == 396.0 and t.lines[-1].end is None
    assert t.meta.episode_id == "smart-tech-2025-12-11" and t.meta.show == "SMART TECH"


def test_plaintext_bare_timestamps_map_misspelt_names_to_the_roster() -> None:
    t = parse_file(FIXTURES / "audrey-green-card.txt")
    assert [(ln.line, ln.start, ln.label, ln.speaker) for ln in t.lines[2:4]] == [
        (3, 1586.0, "Delphine Sabattier", "Delphine Sabattier"),
        (4, 1587.0, "Audrey Morel", "Audrey Maurel"),
    ]
    assert {ln.speaker for ln in t.lines[:2]} == {"Imène Kabouya"}
    assert {ln.speaker for ln in t.lines[3:]} == {"Audrey Maurel"}


def test_plaintext_names_without_timestamps_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "untimed.txt"
    path.write_text("Delphine Sabattier: Julien, une question pour Éric Haddad ou un commentaire ?\n"
                    "Julien Pillot: Bonjour Éric. Un commentaire ? Oui.\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="no timestamp") as err:
        parse_file(path)
    assert err.value.line == 1 and err.value.path == str(path)


def test_plaintext_line_missing_its_timestamp_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gap.txt"
    path.write_text("[00:06:36] Delphine Sabattier: Julien, une question pour Éric Haddad ou un commentaire ?\n"
                    "[00:06:39] Julien Pillot: Bonjour Éric. Un commentaire ? Oui.\n"
                    "Julien Pillot: Moi, j'applaudis plutôt tout ce qui est fait autour de Newspot.\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="no timestamp") as err:
        parse_file(path)
    assert err.value.line == 3

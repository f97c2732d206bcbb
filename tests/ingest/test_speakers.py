"""Speaker attribution on the real sample transcripts, and the human corrections sidecar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.attribution import GOLD_DIR, calibration, line_accuracy, load_gold, pair_up
from ingest.errors import TranscriptError
from ingest.models import EpisodeMeta, Person, SpeechLine, Transcript
from ingest.names import fold
from ingest.parse import parse_file
from ingest.speakers import attribute
from ingest.speakers.corrections import apply, load, sidecar_path
from ingest.speakers.cues import ANSWERS_OTHER
from ingest.speakers.features import feature_names, unit_features
from ingest.speakers.model import CONTEXTS, WEIGHTS_FILE, Params
from ingest.speakers.text import mentions, quoted
from ingest.speakers.train import switch_rates
from ingest.speakers.units import Unit, build_units

ROOT = Path(__file__).resolve().parents[2]
JUNE = ROOT / "data" / "transcripts" / "smart-tech-2025-06-19.txt"
DECEMBER = ROOT / "data" / "transcripts" / "smart-tech-2025-12-11.txt"
# Measured with the shipped model (trained on both gold episodes): 76.7% line accuracy on 06-19,
# 74.4% on 12-11; cross-episode (trained on the other one only) 67.6% and 72.8%. Regression guards only.
JUNE_MIN_ACCURACY = 0.70
DECEMBER_MIN_ACCURACY = 0.70
# Measured: 96% (06-19) and 89% (12-11) of the wrong lines have confidence under 0.5 (T=3.0).
MIN_ERRORS_FLAGGED = 0.88


@pytest.fixture(scope="module")
def june() -> Transcript:
    return attribute(parse_file(JUNE))


@pytest.fixture(scope="module")
def december() -> Transcript:
    return attribute(parse_file(DECEMBER))


def by_line(transcript: Transcript, number: int) -> SpeechLine:
    return next(sl for sl in transcript.lines if sl.line == number)


def test_every_line_gets_a_roster_speaker_and_a_probability(june: Transcript, december: Transcript) -> None:
    for t in (june, december):
        names = {p.name for p in t.meta.roster}
        assert all(sl.speaker in names for sl in t.lines)
        assert all(0.0 <= sl.confidence <= 1.0 for sl in t.lines)


def test_floor_given_by_first_name_goes_to_that_guest(june: Transcript) -> None:
    # 02:10 "Alain ?" then 02:11 "Ça dépend de ce qu'on met derrière campus."
    assert by_line(june, 41).text == "Alain ?"
    assert by_line(june, 41).speaker == "Delphine Sabattier"
    # The model misses Alain's answer here, but flags it for review instead of being sure.
    assert by_line(june, 42).speaker == "Alain Staron" or by_line(june, 42).confidence < 0.5
    # 02:16 "Dorothée ?" then her answer about the campus cyber.
    assert by_line(june, 47).speaker == "Dorothée Decrop"


def test_bonjour_delphine_is_a_guest_answering_the_host(december: Transcript) -> None:
    # "Et puis Julien Pillot aussi est avec nous, bonjour Julien." / "Bonjour Delphine."
    assert by_line(december, 13).text == "Bonjour Delphine."
    assert by_line(december, 12).speaker == "Delphine Sabattier"
    assert by_line(december, 13).speaker == "Julien Pillot"


def test_remote_guest_missing_from_the_description_joins_the_roster(december: Transcript) -> None:
    eric = december.meta.person("Eric Haddad")
    assert eric is not None and not eric.is_host
    # "Vous êtes le président exécutif de NumSpot, donc co-entreprise."
    assert eric.role == "président exécutif"
    assert eric.affiliation == "NumSpot"
    # "Bonjour Eric." is answered by him.
    assert by_line(december, 25).speaker == "Eric Haddad"


def test_description_guests_are_not_duplicated(june: Transcript) -> None:
    # Marc Kaplan is "connecté" too, but the description already names him.
    assert [p.name for p in june.meta.guests] == ["Louis Soris", "Marc Kaplan", "Dorothée Decrop", "Alain Staron"]


def test_line_accuracy_on_june_gold_does_not_regress(june: Transcript) -> None:
    gold = load_gold(GOLD_DIR / "smart-tech-2025-06-19.speakers.tsv")
    assert line_accuracy(pair_up(june.lines, gold)) >= JUNE_MIN_ACCURACY


def test_line_accuracy_on_december_fragments_does_not_regress(december: Transcript) -> None:
    gold = load_gold(GOLD_DIR / "smart-tech-2025-12-11.speakers.tsv")
    assert line_accuracy(pair_up(december.lines, gold)) >= DECEMBER_MIN_ACCURACY


def test_low_confidence_is_where_the_errors_are(june: Transcript, december: Transcript) -> None:
    for t, name in ((june, "smart-tech-2025-06-19"), (december, "smart-tech-2025-12-11")):
        cal = calibration(pair_up(t.lines, load_gold(GOLD_DIR / f"{name}.speakers.tsv")))
        assert cal.errors_low_share >= MIN_ERRORS_FLAGGED
        # Measured 96 vs 70 % (06-19) and 88 vs 71 % (12-11): cues that fixed many lines the model is
        # still unsure of (a quoted name, a guest answering another) narrowed the gaps from 31 / 25 points.
        assert cal.high_accuracy > cal.low_accuracy + 0.15


def test_fragments_are_rebuilt_into_sentences() -> None:
    # 12-11 at 12:09-12:11: one question cut into four subtitle lines.
    lines = [SpeechLine(1, 729.0, "Et du coup,"), SpeechLine(2, 730.0, "par rapport à ça,"),
             SpeechLine(3, 730.0, "moi, ma question,"), SpeechLine(4, 731.0, "c'est..."),
             SpeechLine(5, 732.0, "Alors c'est super,"), SpeechLine(6, 732.0, "cette technologie.")]
    units = build_units(lines)
    assert [(u.first, u.last) for u in units] == [(0, 3), (4, 5)]
    assert units[0].text == "Et du coup, par rapport à ça, moi, ma question, c'est..."


def test_labelled_transcripts_keep_labels_mapped_to_canonical_names() -> None:
    meta = EpisodeMeta(episode_id="x", title="x", host=Person("Delphine Sabattier", is_host=True),
                       guests=[Person("Imène Kabouya"), Person("Audrey Maurel")])
    lines = [SpeechLine(1, 0.0, "Bonjour, bienvenue à tous", label="Delphine"),
             SpeechLine(2, 5.0, "Oui, tout à fait.", label="Imen Kabouya"),
             SpeechLine(3, 9.0, "Clairement.", label="Audrey Morel"),
             SpeechLine(4, 12.0, "Bonjour.", label="Régie")]
    out = attribute(Transcript(meta=meta, lines=lines, labelled=True))
    assert [sl.speaker for sl in out.lines] == ["Delphine Sabattier", "Imène Kabouya", "Audrey Maurel", "Régie"]
    assert all(sl.confidence == 1.0 for sl in out.lines)


def test_corrections_set_speaker_with_full_confidence(tmp_path: Path) -> None:
    transcript = attribute(parse_file(JUNE))
    side = sidecar_path(tmp_path / JUNE.name)
    assert side.name == "smart-tech-2025-06-19.txt.corrections.tsv"
    side.write_text("# checked by ear\nfirst_line\tlast_line\tspeaker\n50\t54\tLouis Sorris\n"
                    "203\t203\tMarc Kaplan\n", encoding="utf-8")
    apply(transcript, load(side))
    assert {by_line(transcript, n).speaker for n in range(50, 55)} == {"Louis Soris"}
    assert by_line(transcript, 203).speaker == "Marc Kaplan"
    assert by_line(transcript, 54).confidence == 1.0


@pytest.mark.parametrize("row, message", [
    ("50\t54", "3 tab-separated columns"),
    ("fifty\t54\tLouis Soris", "positive integers"),
    ("54\t50\tLouis Soris", "bad range"),
])
def test_bad_correction_rows_name_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    side = tmp_path / "ep.txt.corrections.tsv"
    side.write_text(f"# header comment\n12\t12\tDorothée Decrop\n{row}\n", encoding="utf-8")
    with pytest.raises(TranscriptError) as info:
        load(side)
    assert info.value.path == str(side)
    assert info.value.line == 3
    assert message in str(info.value)


def test_unknown_speaker_in_corrections_names_the_roster(tmp_path: Path) -> None:
    transcript = attribute(parse_file(JUNE))
    side = tmp_path / "ep.txt.corrections.tsv"
    side.write_text("12\t12\tDorothée Decrop\n45\t45\tSébastien Lecornu\n", encoding="utf-8")
    with pytest.raises(TranscriptError) as info:
        apply(transcript, load(side))
    assert info.value.line == 2
    assert "Sébastien Lecornu" in str(info.value)
    assert "Alain Staron" in str(info.value)  # the roster is listed


def test_shipped_weights_match_the_features() -> None:
    # A feature added without retraining (`python -m ingest.speakers.train`) would misalign every weight.
    params = Params.load(WEIGHTS_FILE)
    assert len(params.weights) == len(feature_names())
    assert 0.5 <= params.temperature <= 8.0
    assert set(params.switch_host) == set(CONTEXTS)


def test_subtitle_spelling_of_a_first_name_still_names_the_guest(december: Transcript) -> None:
    # 09:20 "Ymen, une question ou une réaction ?": the subtitles' spelling of Imène.
    said = mentions("Ymen, une question ou une réaction ?", december.meta.roster)
    assert [m.person.name for m in said] == ["Imène Kabouya"]


def test_a_quoted_guest_is_not_the_speaker(december: Transcript) -> None:
    # 11:13 Audrey Maurel: "pour vous dire sur ce que dit Emine," (the subtitles' spelling of Imène, which no
    # roster name matches strictly). Quoted, Imène is who is *not* speaking: the turn is Audrey's.
    roster = december.meta.roster
    assert quoted("pour vous dire sur ce que dit Emine,", roster) == {"Imène Kabouya"}
    assert mentions("pour vous dire sur ce que dit Emine,", roster) == []
    assert quoted("comme le disait Julien tout à l'heure", roster) == {"Julien Pillot"}
    assert quoted("Julien, une question pour Éric Haddad ?", roster) == set()  # named, not quoted
    assert quoted("ce que dit Bernard", roster) == set()  # nobody on the roster is close
    assert by_line(december, 255).speaker == "Audrey Maurel"
    assert by_line(december, 270).speaker == "Audrey Maurel"


def test_answering_what_another_said_starts_another_guests_turn(june: Transcript) -> None:
    # 13:10 Louis Soris, after Dorothée Decrop: "Juste pour rebondir à ce que vous disiez, les Américains..."
    assert by_line(june, 176).speaker == "Dorothée Decrop"
    assert by_line(june, 177).text.startswith("Juste pour rebondir à ce que vous disiez")
    assert all(by_line(june, n).speaker == "Louis Soris" for n in range(177, 193))
    # Agreeing in the middle of one's own turn is not answering someone else (27:30, Dorothée Decrop).
    assert not ANSWERS_OTHER.search(fold("mais là où je vous rejoins, on ne doit pas jouer avec la sécurité."))
    assert by_line(june, 405).speaker == "Dorothée Decrop"


def test_a_question_for_someone_is_not_handing_them_the_floor(december: Transcript) -> None:
    # 06:36 the host turns to Julien; Éric is who the question is for, and Julien answers.
    text = "Julien, une question pour Éric Haddad ou un commentaire ?"
    units = [Unit(0, 0, text)]
    _, infos = unit_features(units, december.meta.roster, december.meta.host, 1)
    assert infos[0].floor["Julien Pillot"] == 1.0
    assert infos[0].floor["Eric Haddad"] < 0.4


def test_fragments_without_training_data_switch_speaker_less_often_than_sentences() -> None:
    # Trained on 06-19 alone (whole-sentence subtitles), no loose boundary was ever counted; a 12-11
    # fragment ("du combattant", "et dans toutes les initiatives") must not hand the floor over as
    # readily as a whole sentence does, or the chain flickers between speakers every line.
    counts = {c: [0.0, 0.0] for c in CONTEXTS}
    counts["sent"], counts["sent?"], counts["sent@"] = [20.0, 100.0], [45.0, 100.0], [60.0, 100.0]
    base = dict.fromkeys(CONTEXTS, 0.3)
    rates = switch_rates(counts, base)
    for kind in ("", "?", "@"):
        assert rates["loose" + kind] < rates["sent" + kind] / 2
    assert rates["sent"] == pytest.approx(20.6 / 102)


def test_counted_fragment_boundaries_outweigh_the_sentence_derived_prior() -> None:
    # 12-11 itself: 20 speaker changes over 587 fragment boundaries; the count decides, not the prior.
    counts = {c: [0.0, 0.0] for c in CONTEXTS}
    counts["sent"], counts["loose"] = [20.0, 100.0], [20.0, 587.0]
    rates = switch_rates(counts, dict.fromkeys(CONTEXTS, 0.3))
    assert rates["loose"] == pytest.approx(20 / 587, abs=0.002)


def test_a_bare_greeting_answers_the_guest_the_host_just_greeted(june: Transcript) -> None:
    # 00:31 "Dorothée Décrope, bonjour." / 00:32 "Bonjour." ; 01:37 "Bonjour Marc." / 01:39 "Bonjour."
    assert by_line(june, 12).text == by_line(june, 33).text == "Bonjour."
    assert by_line(june, 12).speaker == "Dorothée Decrop"
    assert by_line(june, 33).speaker == "Marc Kaplan"


def test_pointers_come_from_what_sets_one_guest_apart() -> None:
    from ingest.speakers.attribution import prepare
    from ingest.speakers.pointers import profiles

    prep = prepare(parse_file(JUNE))
    found = dict(zip(prep.guests, profiles(prep.people, prep.seeds, prep.roster), strict=True))
    assert "avocat" in found["Louis Soris"]
    assert "startup" in found["Alain Staron"]  # "start-up" and "startup" meet
    assert "quantiqu" in found["Marc Kaplan"]
    # Shared words and names point at nobody.
    assert not any("sabattier" in st or "delphin" in st for st in found.values())


def test_pointing_at_a_role_hands_the_floor_and_describing_oneself_counts(june: Transcript) -> None:
    from ingest.speakers.attribution import prepare

    prep = prepare(parse_file(JUNE))
    by_first = {prep.units[k].text[:40]: info for k, info in enumerate(prep.infos)}
    asks_lawyer = next(i for t, i in by_first.items() if t.startswith("Alors, je voulais quand même aussi inter"))
    assert asks_lawyer.floor == {"Louis Soris": 0.5}
    start_up = next(i for t, i in by_first.items() if t.startswith("Nous, on est une petite start-up"))
    assert start_up.self_desc.get("Alain Staron") == 1.0
    # The lawyer's answer to that question is his.
    assert by_line(june, 277).speaker == "Louis Soris"
    # 09:09 "De quels capteurs quantiques parlent-ils ? De quoi s'agit-il ? Expliquez-nous." asks the quantum guest.
    explain = next(i for t, i in by_first.items() if t.startswith("De quels capteurs quantiques"))
    assert explain.floor == {"Marc Kaplan": 0.5}
    assert [by_line(june, n).speaker for n in (127, 128, 129)] == ["Delphine Sabattier", "Marc Kaplan", "Marc Kaplan"]
    # 05:58 "Ou toutes les forces... ?" does not point at Alain Staron, whose introduction says "réinvente forcément":
    # the floor stays with Marc Kaplan, named at 05:50, and the answer at 06:10 is his.
    forces = next(i for t, i in by_first.items() if t.startswith("C'est un bon accélérateur ? Ou toutes"))
    assert forces.floor == {}
    assert by_line(june, 85).speaker == "Marc Kaplan"


def test_a_subject_opening_holds_the_floor_until_a_question_but_not_one_announced_for_later() -> None:
    import numpy as np

    from ingest.speakers.features import subject_openings

    lines = [SpeechLine(line=i + 1, start=float(i), text=t) for i, t in enumerate([
        "Merci beaucoup.", "On enchaîne.", "On va parler régulation numérique.",
        "Ce lundi même huit pays ont signé une lettre.", "Ils veulent des sanctions.",
        "Qui veut commencer ?", "Moi je pense que oui.",
        "On va parler de X tout à l'heure.", "la procédure a duré deux ans."])]
    units = build_units(lines)
    _, infos = unit_features(units, [Person(name="Delphine Sabattier", role="présentatrice")], None, len(lines))
    opened = subject_openings(units, infos, np.full(len(units), 0.9))
    texts = [u.text for u, o in zip(units, opened, strict=True) if o]
    assert texts[0] == "On enchaîne." and texts[-1] == "Qui veut commencer ?"
    assert "Moi je pense que oui." not in texts
    assert not any("tout à l'heure" in t or "deux ans" in t for t in texts)
    # Nothing opens where the host classifier says it is a guest talking.
    assert not subject_openings(units, infos, np.full(len(units), 0.2)).any()


def test_turn_level_pass_on_the_true_split_names_most_guests() -> None:
    """The diagnostic (`python -m ingest.speakers.diagnose`, line (e)): given the gold host/guest split,
    the turn-level pass picks the right guest for 88% of 06-19's guest lines (the unit chain: 57%)."""
    from ingest.speakers.identity import identify
    from ingest.speakers.train import gold_episodes

    name, e = next((n, e) for n, e in gold_episodes() if n.endswith("06-19"))
    path, conf = identify(e.prep, e.unit_gold)
    guest_lines = [(path[k], e.line_gold[i]) for k, u in enumerate(e.prep.units) for i in u.indexes
                   if e.line_gold.get(i, -1) >= 0]
    assert sum(p == g for p, g in guest_lines) / len(guest_lines) >= 0.85
    assert all(0.0 <= c <= 1.0 for c in conf)


def test_out_of_fold_host_probabilities_never_see_their_own_stretch() -> None:
    """Hyper-parameters are tuned on out-of-fold P(host) (`train.out_of_fold`): a unit's probability
    must not depend on its own block's labels, or tuning is back to the overconfident in-sample fit."""
    from dataclasses import replace

    from ingest.speakers.train import gold_episodes, out_of_fold

    _, e = next((n, e) for n, e in gold_episodes() if n.endswith("06-19"))
    half = len(e.unit_gold) // 2
    before = out_of_fold([e], 2)[0]
    # Relabel the first block entirely: host <-> guest.
    flipped = replace(e, unit_gold=[0 if g == -1 else -1 for g in e.unit_gold[:half]] + e.unit_gold[half:])
    after = out_of_fold([flipped], 2)[0]
    assert np.allclose(before[:half], after[:half])      # the first block never sees its own labels
    assert not np.allclose(before[half:], after[half:])  # the second block is predicted from them
    assert ((before > 0.5) == np.array([g == -1 for g in e.unit_gold])).mean() > 0.6

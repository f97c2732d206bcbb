"""The eval metrics on small hand-made cases built from real passages of the sample transcripts.

Reference passage (smart-tech-2025-12-11, gold lines 122-127, Julien Pillot, 06:54-07:17):
    "Non, le point d'interrogation, c'est que structurellement, [...] Si à la sortie, la commande publique
     continue à passer auprès d'hyperscalaires américains, je ne vois pas trop ce qu'on y gagne."
Line 129 (07:19) "C'est une question pour Éric Haddad." is the host's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import metrics as m
from evals.judge import parse_verdict

E12 = "smart-tech-2025-12-11"
E6 = "smart-tech-2025-06-19"
PILLOT = m.Window(E12, "Julien Pillot", 414, 437, 122, 127)
PILLOT_LATER = m.Window(E12, "Julien Pillot", 974, 980, 531, 538)
# Gold labels around the passage, as in evals/data/gold/smart-tech-2025-12-11.speakers.tsv.
GOLD = {n: "Julien Pillot" for n in range(118, 129)} | {129: "Delphine Sabattier", 130: "Julien Pillot"}

PILLOT_ANSWER = ("Julien Pillot a parlé de la commande publique : « Si à la sortie, la commande publique continue à "
                 "passer auprès d'hyperscalaires américains, je ne vois pas trop ce qu'on y gagne. » [1]")


def seg(speaker: str, start: float, end: float, lines: tuple[int, int] = (0, 0), episode: str = E12) -> m.Segment:
    return m.Segment(episode, speaker, start, end, lines[0], lines[1])


# -- windows and hits ----------------------------------------------------------------------------------------

def test_segment_inside_window_with_right_speaker_is_a_hit() -> None:
    assert m.in_window(seg("Julien Pillot", 420, 430), PILLOT)


def test_right_time_wrong_speaker_is_not_a_hit() -> None:
    # The host's interjection at 07:19 sits inside the window's time span, but the window is Pillot's words.
    assert not m.in_window(seg("Delphine Sabattier", 439, 440), PILLOT)


def test_same_seconds_in_the_other_episode_is_not_a_hit() -> None:
    assert not m.in_window(seg("Julien Pillot", 420, 430, episode=E6), PILLOT)


def test_slack_accepts_a_chunk_ending_just_before_the_window_but_not_far_before() -> None:
    assert m.in_window(seg("Julien Pillot", 401, 410), PILLOT)  # ends 4 s before 414
    assert not m.in_window(seg("Julien Pillot", 395, 407), PILLOT)  # ends 7 s before
    assert not m.in_window(seg("Julien Pillot", 401, 410), PILLOT, slack=0)


def test_first_hit_rank_hit_at_k_and_reciprocal_rank() -> None:
    ranked = [seg("Delphine Sabattier", 87, 92), seg("Audrey Maurel", 420, 430), seg("Julien Pillot", 975, 979)]
    rank = m.first_hit_rank(ranked, [PILLOT, PILLOT_LATER])
    assert rank == 3
    assert [m.hit_at(rank, k) for k in (1, 3, 5)] == [0.0, 1.0, 1.0]
    assert m.reciprocal_rank(rank) == pytest.approx(1 / 3)


def test_no_hit_scores_zero_everywhere() -> None:
    rank = m.first_hit_rank([seg("Audrey Maurel", 420, 430)], [PILLOT])
    assert rank is None
    assert m.hit_at(rank, 5) == 0.0 and m.reciprocal_rank(rank) == 0.0


def test_window_recall_counts_windows_covered_within_top_k() -> None:
    ranked = [seg("Julien Pillot", 420, 430), seg("Imène Kabouya", 500, 510), seg("Julien Pillot", 975, 979)]
    assert m.window_recall(ranked, [PILLOT, PILLOT_LATER]) == 1.0
    assert m.window_recall(ranked, [PILLOT, PILLOT_LATER], k=2) == 0.5
    # Two chunks in the same window still cover one window only.
    assert m.window_recall([seg("Julien Pillot", 414, 420), seg("Julien Pillot", 421, 437)],
                           [PILLOT, PILLOT_LATER]) == 0.5
    assert m.window_recall(ranked, []) == 0.0


# -- citations ------------------------------------------------------------------------------------------------

def test_citation_precision_is_the_share_of_citations_in_a_gold_window() -> None:
    cites = [seg("Julien Pillot", 433, 437, (126, 127)), seg("Julien Pillot", 676, 680, (257, 259))]
    assert m.citation_precision(cites, [PILLOT, PILLOT_LATER]) == 0.5
    assert m.citation_precision([], [PILLOT]) == 0.0


def test_quote_of_the_hosts_line_credited_to_the_guest_is_wrong_speaker() -> None:
    # Line 129 "C'est une question pour Éric Haddad." is Delphine's; citing it as Pillot's credits the wrong person.
    why = m.wrong_speaker(seg("Julien Pillot", 439, 439, (129, 129)), GOLD)
    assert why is not None and "Delphine Sabattier" in why


def test_quote_mostly_by_its_speaker_with_one_interjection_is_not_wrong() -> None:
    # Lines 127-130: three of Pillot's lines around the host's one-line interjection.
    assert m.wrong_speaker(seg("Julien Pillot", 437, 440, (127, 130)), GOLD) is None
    # ... but the same lines credited to the host are mostly someone else's.
    assert m.wrong_speaker(seg("Delphine Sabattier", 437, 440, (127, 130)), GOLD) is not None


def test_half_and_half_quote_goes_to_the_citations_speaker() -> None:
    assert m.gold_speaker_of(seg("Delphine Sabattier", 438, 439, (128, 129)), GOLD) == "Delphine Sabattier"
    assert m.gold_speaker_of(seg("Julien Pillot", 438, 439, (128, 129)), GOLD) == "Julien Pillot"


def test_lines_outside_the_gold_file_are_not_judged_by_it() -> None:
    assert m.gold_speaker_of(seg("Julien Pillot", 1, 2, (2000, 2001)), GOLD) is None
    assert m.wrong_speaker(seg("Julien Pillot", 1, 2, (2000, 2001)), GOLD) is None


def test_question_about_one_person_answered_with_someone_elses_words_is_wrong_speaker() -> None:
    # "What did Julien Pillot say about public procurement?" answered with Audrey Maurel's (correctly labelled) words.
    cite = seg("Audrey Maurel", 1000, 1005)
    assert m.wrong_speaker(cite, None, ["Julien Pillot"]) is not None
    assert m.wrong_speaker(cite, None, ["Julien Pillot", "Audrey Maurel"]) is None
    assert m.wrong_speaker(seg("Julien Pillot", 420, 430), None, ["Julien Pillot"]) is None


def test_named_speakers_finds_full_and_last_names_without_accents() -> None:
    people = ["Julien Pillot", "Imène Kabouya", "Audrey Maurel", "Dorothée Decrop", "Delphine Sabattier"]
    assert m.named_speakers("Qu'a pensé Dorothée Decrop d'Elon Musk ?", people) == ["Dorothée Decrop"]
    assert m.named_speakers("What did Pillot say about the SFR outage?", people) == ["Julien Pillot"]
    assert m.named_speakers("what did imene kabouya say?", people) == ["Imène Kabouya"]
    assert m.named_speakers("What was said about cryptocurrency regulation in Brazil?", people) == []


# -- answers -------------------------------------------------------------------------------------------------------

def test_key_facts_match_ignoring_case_accents_and_punctuation() -> None:
    facts = ["commande publique", "hyperscalaires américains", "acteurs français"]
    assert m.key_fact_score(facts, PILLOT_ANSWER) == pytest.approx(2 / 3)
    assert m.fact_found("Hyperscalaires Americains", PILLOT_ANSWER)
    assert m.fact_found("14,3 milliards de dollars", "Meta a mis 14.3 milliards de dollars sur la table")


def test_key_facts_need_whole_words() -> None:
    # "DSA" must not match inside another word.
    assert not m.fact_found("DSA", "les DSAR des utilisateurs")
    assert m.fact_found("DSA", "une amende au titre du DSA, le 5 décembre")
    assert m.key_fact_score([], PILLOT_ANSWER) == 0.0


def test_refusal_counts() -> None:
    counts = m.RefusalCounts()
    for answerable, refused in [(False, True), (False, True), (False, False), (True, True), (True, False),
                                (True, False), (True, False)]:
        counts.add(answerable, refused)
    assert counts.right_rate == pytest.approx(2 / 3)
    assert counts.wrong_rate == pytest.approx(1 / 4)
    assert m.RefusalCounts().right_rate == 0.0


def test_answer_language() -> None:
    assert m.answer_language("Julien Pillot said that public procurement is the issue [1].") == "en"
    assert m.answer_language("Julien Pillot a dit que la commande publique est le sujet [1].") == "fr"


def test_tally_means_skip_values_that_do_not_apply() -> None:
    tally = m.Tally()
    tally.add({"hit@5": 1.0, "citation_precision": None})
    tally.add({"hit@5": 0.0, "citation_precision": 0.5})
    assert tally.n == 2
    assert tally.means() == {"citation_precision": 0.5, "hit@5": 0.5}


def test_questions_load_from_jsonl(tmp_path: Path) -> None:
    row = {"id": "q01", "question": "What did Julien Pillot say about public procurement?", "language": "en",
           "kind": "speaker_topic", "speakers": ["Julien Pillot"], "episode": E12,
           "windows": [{"episode_id": E12, "speaker": "Julien Pillot", "start": 414, "end": 437, "lines": [122, 127]}],
           "key_facts": ["commande publique"], "answerable": True, "notes": ""}
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(row) + "\n\n", encoding="utf-8")
    [q] = m.load_questions(path)
    assert q.windows == (PILLOT,)
    assert q.speakers == ("Julien Pillot",) and q.answerable


# -- judge replies ----------------------------------------------------------------------------------------------

def test_judge_reply_parsed_from_fenced_json() -> None:
    verdict = parse_verdict('```json\n{"faithfulness": 0.9, "correctness": 1, "language_match": true, '
                            '"reason": "cites Pillot on commande publique"}\n```')
    assert (verdict.faithfulness, verdict.correctness, verdict.language_match) == (0.9, 1.0, True)
    assert verdict.error is None


def test_judge_reply_out_of_ten_is_rescaled_and_garbage_is_an_error() -> None:
    assert parse_verdict('{"faithfulness": 8, "correctness": 4, "language_match": "no"}').faithfulness == 0.8
    assert parse_verdict('{"faithfulness": 8, "correctness": 4, "language_match": "no"}').language_match is False
    bad = parse_verdict("The answer is faithful.")
    assert bad.error and bad.faithfulness is None
    assert parse_verdict('{"faithfulness": "high"}').error

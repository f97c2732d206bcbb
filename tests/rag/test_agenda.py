"""'What was discussed in the June episode?' over both real episodes: the host's own announcements, cited."""

from __future__ import annotations

from rag.agenda import PER_EPISODE
from rag.assistant import Assistant

HOST = "Delphine Sabattier"


def test_what_an_episode_covered_is_the_hosts_menu_and_hand_overs_in_order(assistant: Assistant) -> None:
    answer = assistant.ask("What was discussed in the June episode?")
    assert answer.answer.splitlines()[0] == "What the host announced in the 2025-06-19 episode:"
    assert {(c.speaker, c.episode_id) for c in answer.citations} == {(HOST, "smart-tech-2025-06-19")}
    quotes = " ".join(c.quote for c in answer.citations)
    # The menu (00:55-01:18) and the hand-over to the Vivatech subject (14:57), as said on air.
    for said in ("On va parler ensemble de Meta", "On va s'intéresser aussi à l'actu cyber",
                 "on commence avec les annonces dans le quantique", "on va passer à un sujet peut-être plus léger"):
        assert said in quotes
    assert [c.start for c in answer.citations] == sorted(c.start for c in answer.citations)
    assert "28 minutes" not in quotes  # "On va passer 28 minutes ensemble" announces no subject


def test_a_french_question_about_the_december_subjects(assistant: Assistant) -> None:
    answer = assistant.ask("Quels sont les sujets de l'émission du 11 décembre ?")
    assert answer.answer.splitlines()[0] == "Les sujets annoncés à l'antenne dans l'épisode du 2025-12-11 :"
    quotes = " ".join(c.quote for c in answer.citations)
    assert "guide d'implémentation des data centers" in quotes and "plateforme de confiance portable" in quotes
    assert "on termine avec la direction générale des entreprises" in quotes


def test_without_an_episode_every_episode_gets_its_menu(assistant: Assistant) -> None:
    answer = assistant.ask("What topics did the show cover?")
    assert answer.answer.splitlines()[0] == "What the host announced across 2 episodes:"
    per_episode = [sum(c.episode_id == e for c in answer.citations)
                   for e in ("smart-tech-2025-06-19", "smart-tech-2025-12-11")]
    assert all(1 <= n <= PER_EPISODE for n in per_episode)

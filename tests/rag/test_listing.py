"""'Which episodes do you have?': the catalog, newest first, in the question's language."""

from __future__ import annotations

from datetime import date

from ingest.models import EpisodeMeta, Person
from rag.assistant import Assistant
from rag.listing import MAX_LISTED, episodes_held
from rag.understand import Query


def test_the_indexed_episodes_are_listed_newest_first_with_their_guests(assistant: Assistant) -> None:
    answer = assistant.ask("Which episodes do you have?")
    assert not answer.refused and answer.citations == []
    lines = answer.answer.splitlines()
    assert lines[0] == "2 indexed episode(s), newest first:"
    assert lines[2].startswith("- 2025-12-11 · ") and "Julien Pillot" in lines[2]
    assert lines[3].startswith("- 2025-06-19 · ") and "Marc Kaplan" in lines[3]
    assert assistant.ask("Combien d'épisodes as-tu ?").answer.startswith("2 épisode(s) indexé(s)")


def test_a_long_catalog_is_cut_with_how_many_more_and_back_to_when() -> None:
    metas = [EpisodeMeta(f"ep-{i:02d}", f"Episode {i}", date=date(2024, 1, 1 + i), host=Person("Host", is_host=True))
             for i in range(MAX_LISTED + 3)]
    text = episodes_held(Query(question="Which episodes?", topic="", language="en"), metas)
    assert text.splitlines()[2].startswith(f"- 2024-01-{MAX_LISTED + 3:02d} · Episode {MAX_LISTED + 2}")
    assert text.splitlines()[-1] == "- … and 3 more, back to 2024-01-01"

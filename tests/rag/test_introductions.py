"""'Who is X?' over both real episodes: the roster's words for them, and the host introducing them, cited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rag.assistant import Assistant
from rag.settings import Settings
from tests.fakes.openai_server import start_fake_openai

HOST = "Delphine Sabattier"


@pytest.mark.parametrize(("question", "facts", "episode", "said"), [
    # Marc Kaplan joins remotely at 01:35; the host then says what he does (01:39-01:50).
    ("What does Marc Kaplan do?", "Marc Kaplan (dirigeant et fondateur, VeriQloud) is a guest in the 2025-06-19 episode",
     "smart-tech-2025-06-19", "dirigeant fondateur"),
    ("Qui est Eric Haddad ?", "Eric Haddad (président exécutif, NumSpot) participe à l'épisode du 2025-12-11",
     "smart-tech-2025-12-11", "président exécutif de NumSpot"),
    ("Who is Julien Pillot?", "Julien Pillot (Consultant, Enseignant-chercheur en économie, Inseec - Groupe Omnes "
     "Education) is a guest in the 2025-12-11 episode", "smart-tech-2025-12-11", "chercheur en économie"),
])
def test_who_is_x_answers_from_the_roster_and_cites_the_host_introducing_them(
        assistant: Assistant, question: str, facts: str, episode: str, said: str) -> None:
    answer = assistant.ask(question)
    assert not answer.refused
    assert facts in answer.answer.splitlines()[0]
    [citation] = answer.citations
    # The host's words, credited to the host: never the guest's own turns.
    assert citation.speaker == HOST and citation.episode_id == episode
    assert said in citation.quote and citation.start < 120  # the opening minutes, where guests are introduced


def test_who_is_the_lawyer_introduces_both_lawyers(assistant: Assistant) -> None:
    answer = assistant.ask("Who is the lawyer?")
    lead = answer.answer.splitlines()[0]
    assert "Louis Soris (avocat et fondateur, cabinet Soris Avocats)" in lead and "Audrey Maurel (Avocate)" in lead
    assert {c.episode_id for c in answer.citations} == {"smart-tech-2025-06-19", "smart-tech-2025-12-11"}
    assert all(c.speaker == HOST and ("Sorris" in c.quote or "Morel" in c.quote) for c in answer.citations)


def test_someone_on_no_roster_of_the_episode_asked_about_is_a_refusal(assistant: Assistant) -> None:
    answer = assistant.ask("Who is Marc Kaplan?", filters=None)
    assert not answer.refused
    answer = assistant.ask("Qui est Marc Kaplan dans l'épisode du 11 décembre ?")
    assert answer.refused and answer.citations == []


@pytest.mark.parametrize(("question", "lead", "said"), [
    ("What is Hexatrust?", "Hexatrust is the organisation of Dorothée Decrop (déléguée générale)",
     "groupement des champions français"),  # the subtitles spell it "Exatrust"
    ("Qu'est-ce que NumSpot ?", "NumSpot est la structure d'Eric Haddad (président exécutif)", "co-entreprise"),
])
def test_what_is_an_organisation_on_the_roster_cites_the_host_describing_it(
        assistant: Assistant, question: str, lead: str, said: str) -> None:
    answer = assistant.ask(question)
    assert lead in answer.answer.splitlines()[0]
    [citation] = answer.citations
    assert citation.speaker == HOST and said in citation.quote


def test_retrieval_for_an_identity_question_is_what_the_answer_quotes(assistant: Assistant) -> None:
    query = assistant.understand("Who is Marc Kaplan?")
    ranked = assistant.retrieve(query)
    answer = assistant.ask("Who is Marc Kaplan?")
    assert [(r.hit.chunk.episode_id, r.hit.chunk.first_line) for r in ranked][:1] == \
        [(c.episode_id, next(r.hit.chunk.first_line for r in ranked)) for c in answer.citations]
    assert all(r.hit.chunk.speaker == HOST for r in ranked)


def test_with_an_llm_the_roster_facts_lead_and_the_model_writes_from_the_introduction(
        sample_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reply = "Delphine Sabattier le présente comme le dirigeant fondateur de Vericlock [1]."
    with start_fake_openai(reply) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("DEBRIEF_LLM_MODEL", "fake-model")
        assistant = Assistant(Settings(index_dir=sample_index, _env_file=None))  # type: ignore[call-arg]
        streamed = [item for item in assistant.stream("Who is Marc Kaplan?") if isinstance(item, str)]
        answer = assistant.ask("Who is Marc Kaplan?")
        sent = fake.requests[-1]["messages"][-1]["content"]
    lead = "According to the episode description, Marc Kaplan (dirigeant et fondateur, VeriQloud)"
    assert answer.mode == "llm" and answer.answer.startswith(lead) and answer.answer.endswith(reply)
    assert streamed[0].startswith(lead)  # the roster's words come first, before the model's
    assert "dirigeant fondateur de Vericlock" in sent and 'speaker="Delphine Sabattier"' in sent
    [citation] = answer.citations
    assert citation.speaker == HOST


@pytest.mark.parametrize(("question", "lead", "episode"), [
    ("Who were the guests in the December episode?", "the guests of the 2025-12-11 episode were Imène Kabouya "
     "(Partner, Wavestone), Audrey Maurel (Avocate), Julien Pillot", "smart-tech-2025-12-11"),
    ("Quels étaient les invités en juin ?", "les invités de l'épisode du 2025-06-19 étaient Louis Soris",
     "smart-tech-2025-06-19"),
    ("Who are the guests?", "the guests of the 2025-12-11 episode were", "smart-tech-2025-12-11"),  # the newest
])
def test_who_the_guests_were_comes_from_the_roster_with_the_hosts_introductions(
        assistant: Assistant, question: str, lead: str, episode: str) -> None:
    answer = assistant.ask(question)
    assert lead in answer.answer.splitlines()[0]
    assert answer.citations and {(c.speaker, c.episode_id) for c in answer.citations} == {(HOST, episode)}
    # Guests introduced in one breath share a quote, cited once.
    spans = [(c.first_line, c.last_line) for c in answer.citations]
    assert all(a[1] < b[0] or b[1] < a[0] for i, a in enumerate(spans) for b in spans[i + 1:])


@pytest.mark.parametrize(("question", "lead", "said"), [
    # Marc Kaplan never states his background or his company's product: the host does, presenting him at 01:39.
    ("Quel est le parcours de Marc Kaplan et que développe sa société Vericlock ?",
     "Les interventions de Marc Kaplan ne le disent pas ; d'après la présentation qu'en fait Delphine Sabattier dans "
     "l'épisode du 2025-06-19 :", "cryptographie quantique"),
    ("What does Marc Kaplan's company Vericlock develop?",
     "Marc Kaplan's own turns do not say it; from how Delphine Sabattier presented them in the 2025-06-19 episode:",
     "cryptographie quantique"),
])
def test_a_fact_about_a_guest_only_the_host_states_is_quoted_as_hers(
        assistant: Assistant, question: str, lead: str, said: str) -> None:
    answer = assistant.ask(question)
    assert not answer.refused
    assert answer.answer.splitlines()[0] == lead
    assert answer.citations and all(c.speaker == HOST for c in answer.citations)
    assert any(said in c.quote for c in answer.citations)


@pytest.mark.parametrize("question", [
    # Asked what he said: the host's words about him are no answer.
    "Qu'a dit Marc Kaplan de son parcours et de ce que développe sa société Vericlock ?",
    # Eric Haddad left before the card round; the host's thanks to him moves on to the e-commerce subject, which
    # shares the question's words: an announcement, not a presentation of him.
    "Did Eric Haddad give a red or green card on Serge Papin's e-commerce initiative?",
])
def test_the_hosts_words_about_a_guest_do_not_answer_what_the_guest_said_or_did(
        assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused and answer.citations == []


def test_presenting_a_guest_means_naming_them_with_their_role_not_giving_them_the_floor(assistant: Assistant) -> None:
    from rag.introductions import presenting

    meta = assistant.transcript("smart-tech-2025-12-11").meta
    haddad = next(p for p in meta.roster if p.name == "Eric Haddad")
    host_chunks = assistant.retriever.chunks([HOST], [meta.episode_id])
    naming = [c for c in host_chunks if "Haddad" in c.text]
    found = presenting([haddad], host_chunks, {})
    ids = {c.chunk_id for c in found}
    assert ids and ids < {c.chunk_id for c in naming}
    assert all("président exécutif" in c.text for c in found)
    # "C'est une question pour Éric Haddad." hands him the floor: no role, no presentation.
    assert any("question pour Éric Haddad" in c.text and "président" not in c.text for c in naming)


def test_a_guest_fact_is_found_where_the_host_spells_the_company_otherwise(assistant: Assistant) -> None:
    # "Merci Erika Haddad. Je rappelle que vous êtes le président exécutif de Newspot. Vous avez quand même passé
    # 10 ans au développement de Google Cloud..." (14:24): the question says "NumSpot", this chunk "Newspot".
    answer = assistant.ask("Where did Eric Haddad work before NumSpot?")
    assert not answer.refused
    assert answer.answer.startswith("Eric Haddad's own turns do not say it; from how Delphine Sabattier presented")
    assert answer.citations and all(c.speaker == HOST and 860 <= c.start <= 880 for c in answer.citations)


def test_respelt_finds_the_spelling_a_chunk_uses_instead_of_the_asked_one(assistant: Assistant) -> None:
    from rag.introductions import presenting, respelt

    meta = assistant.transcript("smart-tech-2025-12-11").meta
    haddad = next(p for p in meta.roster if p.name == "Eric Haddad")
    chunks = presenting([haddad], assistant.retriever.chunks([HOST], [meta.episode_id]), {})
    assert any("NumSpot" in c.text for c in chunks) and any("Newspot" in c.text for c in chunks)
    assert respelt(["NumSpot"], chunks) == {"numspot": ["newspot"]}
    # Only chunks that never write the name as asked lend it a spelling; a name nobody respells gets none.
    assert respelt(["NumSpot"], [c for c in chunks if "NumSpot" in c.text and "Newspot" not in c.text]) == {}
    assert respelt(["Hexatrust"], chunks) == {}


def test_skipping_chunks_that_say_none_of_the_words_changes_no_introduction(assistant: Assistant) -> None:
    # `introduction` only tokenizes the windows of chunks that say a wanted word: the window it picks must be the
    # one scoring every window of every chunk picks, for every person, episode and organisation asked about.
    from rag import introductions
    from rag.extractive import share, to_sentences, windows
    from rag.sparse import tokenize

    def every_window(person: Any, chunks: list[Any], spellings: dict[str, list[str]], about: str) -> Any:
        name = set() if about else set(tokenize([person.name])[0])
        wanted = set(tokenize([about or f"{person.role} {person.affiliation}"])[0]) - name
        best = None
        for chunk in sorted(chunks, key=lambda c: c.first_line):
            for w in windows(chunk):
                tokens = set(tokenize([w.text])[0])
                w.overlap = introductions.NAME_WEIGHT * len(name) * share(name, tokens, spellings) + \
                    len(wanted) * share(wanted, tokens, spellings)
                if w.overlap > 0 and (best is None or w.overlap > best.overlap):
                    best = w
        return to_sentences(best) if best is not None else None

    checked = found = 0
    for meta in assistant._catalog_views()[1]:
        chunks = assistant._host_chunks(meta)
        for person in meta.roster:
            for about in ("", person.affiliation.split(",")[0] if person.affiliation else ""):
                spellings = assistant.retriever.spellings([person.name, person.affiliation or "", about])
                want = every_window(person, chunks, spellings, about)
                got = introductions.introduction(person, chunks, spellings, about)
                assert (got.first_line, got.last_line, got.text) == (want.first_line, want.last_line, want.text) \
                    if want is not None else got is None
                checked += 1
                found += want is not None
    assert checked >= 16 and found >= 12

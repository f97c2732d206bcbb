"""BM25 over the real samples (`rag.sparse`): names the subtitles spell otherwise still match."""

from __future__ import annotations

import numpy as np
import pytest

from rag.assistant import Assistant
from rag.sparse import SparseIndex


@pytest.fixture()
def index(assistant: Assistant) -> SparseIndex:
    return assistant.retriever.sparse_index()


@pytest.mark.parametrize(("token", "expected"), [
    ("hexatrust", ["exatrust"]),  # the show page says Hexatrust, the subtitles "d'Exatrust"
    ("artifeel", ["artifil"]),    # Artifeel, "président d'Artifil"
])
def test_a_misspelt_name_finds_the_subtitles_spelling(index: SparseIndex, token: str, expected: list[str]) -> None:
    assert index.spellings(token) == expected


@pytest.mark.parametrize("token", ["numspot", "cloud", "quantiqu", "ia", "dsa"])  # stems, as BM25 holds them
def test_known_or_short_tokens_get_no_variants(index: SparseIndex, token: str) -> None:
    assert index.spellings(token) == []


def test_a_name_a_speaker_never_says_as_asked_finds_their_spelling(index: SparseIndex) -> None:
    # The subtitles write NumSpot as "NumSpot", "NewSpot" and "Newspot"; Julien Pillot's turns only hold the last.
    pillot = index.rows.mask(["Julien Pillot"], [])
    assert index.variants("numspot", pillot) == ["newspot"]
    # Eric Haddad says "NumSpot" as asked: his search is left as it was.
    assert index.variants("numspot", index.rows.mask(["Eric Haddad"], [])) == []
    # Only names: "franch" (franchement) and "franco" (franco-allemand) are one edit from "franc" (France) but
    # never written capitalised inside a sentence, so even a search that never says "France" gets neither.
    nobody = np.zeros(len(index.rows), dtype=bool)
    assert {"franch", "franco"} <= set(index._bm25.vocab_dict)
    assert index.variants("franc", nobody) == []
    assert index.variants("numspot", nobody) == ["newspot"]


def test_the_spelling_finds_the_line_that_bm25_alone_misses(index: SparseIndex) -> None:
    assert index.search("Hexatrust", 5, [], []) == []
    hits = index.search("Hexatrust", 5, [], [], tokens_too=["exatrust"])
    assert hits and hits[0].chunk.speaker == "Delphine Sabattier" and "Exatrust" in hits[0].chunk.text


def test_the_assistant_searches_the_corpus_spelling_of_a_named_organisation(assistant: Assistant) -> None:
    query = assistant.understand("What is Hexatrust?")
    assert query.spellings == {"hexatrust": ["exatrust"]}
    top = assistant.retrieve(query)[0].hit.chunk
    assert top.episode_id == "smart-tech-2025-06-19" and top.start == 32.0  # "la déléguée générale d'Exatrust"


def test_tokenize_gives_bm25s_tokens_on_every_sample_line() -> None:
    """The index was built with bm25s's tokenizer; the fast one must split, filter and stem exactly as it does."""
    import bm25s

    from ingest.parse import parse_file
    from rag.sparse import _STEMMER, tokenize
    from tests.conftest import SAMPLES

    texts = [sl.text for path in sorted(SAMPLES.glob("*.txt")) for sl in parse_file(path).lines]
    texts += ["L'IA générative, c'est ÇA !", "", "x", "NIS2, l'œuvre des États-Unis d'Amérique en 2025 : _a_ b"]
    expected = bm25s.tokenize(texts, stopwords="fr", stemmer=_STEMMER, return_ids=False, show_progress=False)
    assert len(texts) > 1500
    assert tokenize(texts) == expected




def test_a_name_is_said_where_its_text_has_the_word_not_just_the_stem(index: SparseIndex) -> None:
    june, december = "smart-tech-2025-06-19", "smart-tech-2025-12-11"

    def said(word: str, speakers: list[str], episodes: list[str]) -> list[str] | None:
        return index.said_outside(word, index.rows.episodes_kept(speakers, episodes))

    # "Meta" stems to "met", which "nous met en position de faiblesse" (12-11, 07:31, Julien Pillot) gives too.
    assert said("met", ["Julien Pillot"], []) is None
    assert said("Meta", ["Julien Pillot"], []) == [june]
    assert said("Meta", ["Alain Staron"], []) is None
    assert said("NumSpot", ["Marc Kaplan"], []) == [december]
    assert said("NumSpot", [], [december]) is None
    assert said("Cybersécurité", [], [december]) == [june]
    assert said("Zanzibar", ["Marc Kaplan"], []) == []  # said nowhere: no evidence either way


def test_an_empty_index_has_no_spellings_and_no_variants() -> None:
    empty = SparseIndex([])
    assert empty.spellings("hexatrust") == []
    assert empty.variants("numspot", np.zeros(0, dtype=bool)) == []

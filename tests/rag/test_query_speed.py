"""The retrieval speed-ups of issue 8 change nothing but speed and cold start: the phrase bridge saved on disk,
the precomputed roster, the speaker-sorted dense matrix, BM25's scoring and top-k, one BLAS thread, the
background dense search."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from evals.metrics import load_questions
from ingest.names import name_score
from rag import blas, dense
from rag.assistant import Assistant
from rag.crosslingual import MIN_SIMILARITY, PER_QUERY_PHRASE, PhraseBridge
from rag.dense import DenseIndex
from rag.settings import Settings
from rag.sparse import top_rows
from rag.understand import WORD, Roster
from tests.rag.test_understand import PEOPLE

QUESTIONS_FILE = Path(__file__).resolve().parents[2] / "evals" / "data" / "questions.jsonl"
JUNE_ID = "smart-tech-2025-06-19"
DECEMBER_ID = "smart-tech-2025-12-11"
QUESTIONS = [
    "What did Julien Pillot say about public procurement?",
    "Qu'a dit Julien Pillot sur la commande publique ?",
    "What did the guests think of the quantum defence campus announced by the minister?",
    "Does the lawyer in the 11 December episode believe X will actually pay its fine?",
    "Who are NumSpot's shareholders?",
]


def _settings(index: Path) -> Settings:
    return Settings(index_dir=index, llm_model=None, _env_file=None)  # type: ignore[call-arg]


def _bridges(index: Path) -> set[str]:
    return {p.name for p in (index / "cache").glob("bridge-*.npz")}


# -- the phrase bridge on disk ----------------------------------------------------------------------------
def test_the_phrase_bridge_is_saved_and_a_new_process_loads_the_same_one(sample_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    first = Assistant(_settings(index))
    built = first.retriever.bridge()
    assert len(_bridges(index)) == 1
    # What the first English question of every process used to build from the chunks.
    fresh = PhraseBridge.build((c.text for c in first.retriever.sparse_index().chunks), first.embedder)
    assert built.phrases == fresh.phrases and np.array_equal(built.vectors, fresh.vectors)
    loaded = Assistant(_settings(index)).retriever.bridge()  # a new `debrief ask`
    assert loaded is not built and loaded.phrases == built.phrases
    assert np.array_equal(loaded.vectors, built.vectors)
    for topic in ["public procurement", "digital sovereignty", "quantum defence campus", "fine"]:
        assert loaded.translate(topic) == built.translate(topic) == fresh.translate(topic)
    assert "commande publique" in loaded.translate("public procurement")


def _translate_over_every_phrase(bridge: PhraseBridge, text: str) -> list[str]:
    """The translation as first written: one product against every bridge phrase, then each query phrase's
    rows of its own size (a pair's vector: its two words' vectors summed, then normalised)."""
    words = bridge.words(text)
    queries = list(dict.fromkeys(words + [f"{a} {b}" for a, b in zip(words, words[1:])]))
    if not queries:
        return []
    vectors = []
    for phrase in queries:
        v = bridge.embedder.embed_passages(phrase.split(" ")).sum(axis=0)
        vectors.append(v / np.linalg.norm(v))
    sims = np.stack(vectors).astype(np.float32) @ bridge.vectors.T
    found: list[str] = []
    for phrase, row in zip(queries, sims):
        rows = bridge._rows_by_size.get(phrase.count(" ") + 1)
        if rows is None:
            continue
        near = rows[row[rows] >= MIN_SIMILARITY]
        for i in near[np.argsort(-row[near], kind="stable")][:PER_QUERY_PHRASE]:
            if bridge.phrases[i] not in found:
                found.append(bridge.phrases[i])
    return found


def test_translation_by_phrase_size_gives_what_comparing_with_every_phrase_gave(assistant: Assistant) -> None:
    bridge = assistant.retriever.bridge()
    topics = [assistant.understand(q.question).topic for q in load_questions(QUESTIONS_FILE)]
    with blas.single_threaded():  # as questions are translated
        for topic in [*topics, "public procurement", "quantum defence campus", "NumSpot", "the of"]:
            assert bridge.translate(topic) == _translate_over_every_phrase(bridge, topic), topic
    assert "commande publique" in bridge.translate("public procurement")


def test_a_new_episode_gets_a_new_bridge_built_at_ingest(fresh_assistant: Assistant, june_copy: Path) -> None:
    index = fresh_assistant.settings.index_dir
    fresh_assistant.ingest([june_copy])
    first = _bridges(index)
    assert len(first) == 1  # built with the search indexes, not by the first English question
    before = fresh_assistant.retriever.bridge()
    december = june_copy.parent / f"{DECEMBER_ID}.txt"
    shutil.copyfile(Path(__file__).resolve().parents[2] / "data" / "transcripts" / december.name, december)
    fresh_assistant.ingest([june_copy.parent])
    after = fresh_assistant.retriever.bridge()
    assert len(_bridges(index)) == 1 and _bridges(index).isdisjoint(first)  # the stale file is gone
    assert after is not before and set(after.phrases) != set(before.phrases)
    # December's words are in the new bridge: "commande publique" is said only in December.
    assert "commande publique" in after.translate("public procurement")
    assert "commande publique" not in before.translate("public procurement")


def test_a_torn_bridge_file_is_rebuilt(sample_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    built = Assistant(_settings(index)).retriever.bridge()
    (saved,) = (index / "cache").glob("bridge-*.npz")
    saved.write_bytes(saved.read_bytes()[:1000])
    again = Assistant(_settings(index)).retriever.bridge()
    assert again.phrases == built.phrases and np.array_equal(again.vectors, built.vectors)


# -- question understanding ---------------------------------------------------------------------------------
def test_the_roster_scores_every_mention_as_name_score_does() -> None:
    roster = Roster(PEOPLE)
    mentions = ["Julien Pillot", "pillot", "Pilot", "Imen", "Maître Morel", "Sorris", "marché", "Marcaplan",
                "Dorothée Descroppes", "Décrope", "Delphine", "Eric Haddad", "Haddad", "l'avocate", "Kaplan Marc",
                "What did Julien", "commande publique", "Staron", "Alain", "Me", "NumSpot", "Audrey Maurel ?"]
    for mention in mentions:
        assert roster.scores(mention) == [name_score(mention, p) for p in PEOPLE], mention
        assert roster.scores(mention) == [name_score(mention, p) for p in PEOPLE], mention  # remembered


def test_the_roster_scores_every_mention_of_the_eval_questions_as_name_score_does() -> None:
    # Every span find_speakers scores (1 to 3 words) of every gold question, against the samples' people.
    roster = Roster(PEOPLE)
    mentions = 0
    for q in load_questions(QUESTIONS_FILE):
        words = WORD.findall(q.question)
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                mention = " ".join(words[i : i + size])
                assert roster.scores(mention) == [name_score(mention, p) for p in PEOPLE], mention
                mentions += 1
    assert mentions > 2000


# -- dense --------------------------------------------------------------------------------------------------
def _reference(index: DenseIndex, vector: np.ndarray, k: int, speakers: list[str], episodes: list[str]
               ) -> list[tuple[str, float]]:
    """Brute force over every chunk: score all, keep the filtered ones, best k (ties in chunk order)."""
    unit = index.vectors
    scores = unit @ (vector / np.linalg.norm(vector))
    keep = [i for i, c in enumerate(index.chunks)
            if (not speakers or c.speaker in speakers) and (not episodes or c.episode_id in episodes)
            and unit[i].any()]
    keep.sort(key=lambda i: (-scores[i], i))
    return [(index.chunks[i].chunk_id, float(scores[i])) for i in keep[:k]]


@pytest.mark.parametrize("split_values", [dense.SPLIT_VALUES, 1])
def test_dense_search_is_the_brute_force_search(assistant: Assistant, monkeypatch: pytest.MonkeyPatch,
                                                split_values: int) -> None:
    monkeypatch.setattr(dense, "SPLIT_VALUES", split_values)  # 1: every scan in two halves, on two threads
    index = assistant.retriever.dense_index()
    filters = [([], []), (["Julien Pillot"], []), (["Audrey Maurel", "Louis Soris"], []), ([], [JUNE_ID]),
               (["Julien Pillot"], [DECEMBER_ID]), (["Delphine Sabattier"], [JUNE_ID, DECEMBER_ID]),
               (["Nobody Atall"], [])]
    for question in QUESTIONS:
        vector = assistant.embedder.embed_query(assistant.understand(question).search_text)
        for speakers, episodes in filters:
            got = [(h.chunk.chunk_id, h.score) for h in index.search(vector, 40, speakers, episodes)]
            want = _reference(index, vector, 40, speakers, episodes)
            assert [c for c, _ in got] == [c for c, _ in want], (question, speakers, episodes)
            assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-6)


def test_a_chunk_scores_the_same_whatever_the_filters(assistant: Assistant) -> None:
    index = assistant.retriever.dense_index()
    vector = assistant.embedder.embed_query("souveraineté numérique")
    everyone = {h.chunk.chunk_id: h.score for h in index.search(vector, len(index.chunks), [], [])}
    for speakers, episodes in [(["Julien Pillot"], []), ([], [JUNE_ID]), (["Delphine Sabattier"], [DECEMBER_ID])]:
        for hit in index.search(vector, 40, speakers, episodes):
            assert hit.score == pytest.approx(everyone[hit.chunk.chunk_id], abs=1e-6)


def test_equal_vectors_come_back_in_chunk_order(assistant: Assistant) -> None:
    # A corpus that repeats a turn word for word (the synthetic benchmark episodes do) has equal scores.
    full = assistant.retriever.dense_index()
    vectors = full.vectors.copy()
    vectors[[3, 40, 77]] = vectors[60]
    copy = DenseIndex(full.chunks, vectors)
    hits = copy.search(vectors[60], 4, [], [])
    assert [h.chunk.chunk_id for h in hits[:4]] == [full.chunks[i].chunk_id for i in (3, 40, 60, 77)]


# -- BM25 ---------------------------------------------------------------------------------------------------
def test_bm25_scores_are_bm25s_own(assistant: Assistant) -> None:
    from rag.sparse import tokenize

    index = assistant.retriever.sparse_index()
    for text in ["commande publique", "souveraineté numérique cloud", "campus quantique défense"]:
        tokens = [t for t in tokenize([text])[0] if t in index._bm25.vocab_dict]
        assert np.array_equal(index.scores(tokens), index._bm25.get_scores(tokens))
    # Repeated stems, as a translated question gives them: each counts as often as it is said.
    for text in ["cloud cloud souveraineté", "stratégie défense stratégies stratégique cloud stratégie stratégique"]:
        tokens = [t for t in tokenize([text])[0] if t in index._bm25.vocab_dict]
        assert len(set(tokens)) < len(tokens)
        want = index._bm25.get_scores(tokens)
        assert np.any(want > 0) and np.allclose(index.scores(tokens), want, rtol=1e-6, atol=0)
        assert not np.allclose(index.scores(list(dict.fromkeys(tokens))), want, rtol=1e-3)


def test_top_rows_keeps_positive_scores_best_first_ties_in_row_order() -> None:
    scores = np.array([0.0, 2.0, 5.0, 2.0, -1.0, 5.0, 2.0, 0.5], dtype=np.float32)
    assert top_rows(scores, 4) == [2, 5, 1, 3]
    assert top_rows(scores, 100) == [2, 5, 1, 3, 6, 7]
    assert top_rows(np.zeros(5, dtype=np.float32), 3) == [] and top_rows(scores, 0) == []


# -- threads ------------------------------------------------------------------------------------------------
def test_one_blas_thread_inside_and_the_count_restored_after() -> None:
    if not blas.available():
        pytest.skip("numpy is not linked to OpenBLAS here")
    before = blas.threads()
    with blas.single_threaded():
        assert blas.threads() == 1
        with blas.single_threaded():
            assert blas.threads() == 1
        assert blas.threads() == 1
    assert blas.threads() == before


def test_a_prefetched_search_gives_what_a_plain_one_gives(assistant: Assistant) -> None:
    retriever = assistant.retriever

    def ids(question: str, prefetch: bool) -> list[str]:
        query = assistant.understand(question)
        retriever._prefetched = None if not prefetch else retriever._prefetched
        return [r.hit.chunk.chunk_id for r in assistant.retrieve(query)]

    for question in QUESTIONS:
        assert ids(question, prefetch=True) == ids(question, prefetch=False)
    # A prefetch for another question (or other filters) is not used for this one.
    query = assistant.understand(QUESTIONS[0])
    assistant.understand(QUESTIONS[1])
    assert [r.hit.chunk.chunk_id for r in assistant.retrieve(query)] == ids(QUESTIONS[0], prefetch=False)


class _CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim  # type: ignore[attr-defined]
        self.embedded: list[str] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self.inner.embed_passages(texts)  # type: ignore[attr-defined,no-any-return]

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)  # type: ignore[attr-defined,no-any-return]


def test_known_words_are_not_embedded_again_and_translate_the_same(assistant: Assistant,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    shared = assistant.retriever.bridge()
    assert "public" in shared.phrases and "procurement" not in shared.phrases
    counting = _CountingEmbedder(assistant.embedder)
    bridge = PhraseBridge(shared.phrases, shared.vectors, counting)  # type: ignore[arg-type]
    cold = bridge.translate("public procurement")
    # "public" is one of the corpus's own words: its vector is the bridge's, only "procurement" is embedded.
    assert "commande publique" in cold and counting.embedded == ["procurement"]
    # A later question sharing a word embeds only the new ones (function words not at all), and translates as
    # a fresh bridge does.
    assert bridge.translate("the procurement rules between") == PhraseBridge(
        shared.phrases, shared.vectors, assistant.embedder).translate("the procurement rules between")
    assert counting.embedded == ["procurement", "rules"]
    assert bridge.translate("public procurement") == cold and len(counting.embedded) == 2
    # Bounded: the least recently used word goes first.
    monkeypatch.setattr("rag.crosslingual.WORD_CACHE", 2)
    bridge.translate("sovereignty")  # keeps "procurement" and "sovereignty" ("rules" drops)
    bridge.translate("rules procurement")
    assert counting.embedded[2:] == ["sovereignty", "rules"]


def test_questions_translated_at_once_share_the_word_cache_safely(assistant: Assistant,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    shared = assistant.retriever.bridge()
    topics = ["public procurement", "digital sovereignty", "quantum defence campus", "procurement rules",
              "sovereign cloud providers", "data centers energy"] * 8
    expected = {t: PhraseBridge(shared.phrases, shared.vectors, assistant.embedder).translate(t) for t in set(topics)}
    monkeypatch.setattr("rag.crosslingual.WORD_CACHE", 3)  # evictions while other threads read
    bridge = PhraseBridge(shared.phrases, shared.vectors, assistant.embedder)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(bridge.translate, topics))
    assert got == [expected[t] for t in topics]
    assert len(bridge._words) <= 3

"""The table of common English words' vectors: the embedder's own vectors, built once, opened by later processes,
and translations unchanged by it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.metrics import load_questions
from rag import lexicon
from rag.assistant import Assistant
from rag.crosslingual import PhraseBridge
from rag.settings import Settings
from tests.rag.test_query_speed import _CountingEmbedder

WORDS = ["procurement", "sovereignty", "quantum", "European", "lawyers"]
EVALS = Path(__file__).resolve().parents[2] / "evals" / "data"


def test_the_default_words_are_common_english_then_the_commonest_capitalised() -> None:
    words = lexicon.english_words()
    assert len(words) == lexicon.WORDS + lexicon.TITLED == len(set(words))
    lower, titled = words[: lexicon.WORDS], words[lexicon.WORDS :]
    assert all(len(w) >= 3 and w.islower() for w in lower)
    assert titled == [w.title() for w in lower[: lexicon.TITLED]]
    for word in ("procurement", "sovereignty", "quantum", "outage", "lawyer"):
        assert word in lower
    for word in ("European", "France", "Europe", "Meta", "China"):
        assert word in titled


def test_the_table_holds_each_words_own_vector_and_is_built_once(assistant: Assistant, tmp_path: Path) -> None:
    counting = _CountingEmbedder(assistant.embedder)
    built = lexicon.build(tmp_path, counting, WORDS)  # type: ignore[arg-type]
    assert built is not None and counting.embedded == WORDS
    for word in WORDS:
        alone = assistant.embedder.embed_passages([word])[0]
        np.testing.assert_allclose(built.get(word), alone, atol=1e-6)  # type: ignore[arg-type]
    assert built.get("procurements") is None and "quantum" in built
    # A later process opens it: nothing is embedded again.
    again = lexicon.build(tmp_path, counting, WORDS)  # type: ignore[arg-type]
    assert again is not None and again.words == WORDS and counting.embedded == WORDS
    # Another list of words is another table.
    assert lexicon.load(tmp_path, assistant.embedder, WORDS[:2]) is None


def test_a_torn_table_is_not_read_and_is_built_again(assistant: Assistant, tmp_path: Path) -> None:
    assert lexicon.build(tmp_path, assistant.embedder, WORDS) is not None
    [vectors] = tmp_path.glob("lexicon-*.npy")
    vectors.write_bytes(vectors.read_bytes()[:3000])  # cut mid-way
    assert lexicon.load(tmp_path, assistant.embedder, WORDS) is None
    rebuilt = lexicon.build(tmp_path, assistant.embedder, WORDS)
    assert rebuilt is not None and len(rebuilt) == len(WORDS)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".npy", ".txt"]  # no temporary left


def test_a_cache_directory_that_cannot_be_written_means_no_table(assistant: Assistant, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    assert lexicon.build(blocked / "cache", assistant.embedder, WORDS) is None


def test_translations_are_the_same_with_the_table_and_it_spares_the_embedder(assistant: Assistant) -> None:
    shared = assistant.retriever.bridge()
    # Ingesting the samples built the default table in the (session's) cache directory; the bridge reads it.
    assert shared.lexicon is not None and len(shared.lexicon) == lexicon.WORDS + lexicon.TITLED
    topics = []
    for path in sorted(EVALS.glob("*.jsonl")):
        for q in load_questions(path):
            query = assistant.understand(q.question)
            if query.language == "en" and query.topic:
                topics.append(query.topic)
    assert len(topics) > 100
    counting = _CountingEmbedder(assistant.embedder)
    with_table = PhraseBridge(shared.phrases, shared.vectors, counting)  # type: ignore[arg-type]
    with_table.lexicon = shared.lexicon
    without = PhraseBridge(shared.phrases, shared.vectors, assistant.embedder)
    assert [with_table.translate(t) for t in topics] == [without.translate(t) for t in topics]
    # Only words the table does not have reach the embedder ("hyperscalers", "NumSpot", acronyms).
    assert counting.embedded and not any(w in shared.lexicon for w in counting.embedded)
    assert len(counting.embedded) < len({w for t in topics for w in t.split()}) / 4
    assert with_table.translate("public procurement") == without.translate("public procurement")
    assert "commande publique" in with_table.translate("public procurement")


def test_ingest_builds_the_table_once_per_cache_directory(tmp_path: Path, june_copy: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexicon, "WORDS", 300)
    monkeypatch.setattr(lexicon, "TITLED", 20)
    cache = tmp_path / "cache"
    first = Assistant(Settings(index_dir=tmp_path / "one", cache_dir=cache, _env_file=None))  # type: ignore[call-arg]
    steps: list[tuple[int, int, str]] = []
    first.ingest([june_copy], lambda done, total, name: steps.append((done, total, name)))
    assert ("English word vectors" in {name for _, _, name in steps}) and steps[-1][0] == steps[-1][1] == 320
    assert len(list(cache.glob("lexicon-*.npy"))) == 1
    # Another index on the same machine opens the same table: its ingest embeds no word.
    counting = _CountingEmbedder(first.embedder)
    second = Assistant(Settings(index_dir=tmp_path / "two", cache_dir=cache, _env_file=None),  # type: ignore[call-arg]
                       embedder=counting)  # type: ignore[arg-type]
    second.ingest([june_copy])
    # (The corpus's phrases are embedded, but never 3-letter words: those would be the table's.)
    assert counting.embedded and not {"the", "you", "and", "for"} & set(counting.embedded)
    assert second.retriever.bridge().lexicon is not None


def test_names_no_word_list_has_are_not_translated(assistant: Assistant) -> None:
    shared = assistant.retriever.bridge()
    # Capitalised common words are English to translate ("European" -> "européen"); a name the table lacks is
    # written the same in French, and BM25 searches it as asked.
    assert shared.words("NumSpot European Commission Lecornu sovereignty") == ["European", "Commission", "sovereignty"]
    counting = _CountingEmbedder(assistant.embedder)
    bridge = PhraseBridge(shared.phrases, shared.vectors, counting)  # type: ignore[arg-type]
    bridge.lexicon = shared.lexicon
    assert bridge.translate("NumSpot sovereignty") == bridge.translate("sovereignty") != []
    assert counting.embedded == []
    # Without a table, the same words are names: the translations do not depend on it.
    assert PhraseBridge(shared.phrases, shared.vectors, assistant.embedder).words("NumSpot European DGE") == \
        ["European"]

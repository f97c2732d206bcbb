"""The projected first pass of dense search (rag.projection) changes nothing but speed: on the samples' real
chunks it returns exactly the full scan's top k (same chunks, same float32 scores, same order), whatever the
basis, the filters or k; its bounds hold for every row; it is saved next to the dense matrix."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals.metrics import load_questions
from rag import dense
from rag.assistant import Assistant
from rag.dense import DenseIndex, kth_largest
from rag.projection import MARGIN, Projection
from rag.settings import Settings
from rag.store import Hit

QUESTIONS_FILE = Path(__file__).resolve().parents[2] / "evals" / "data" / "questions.jsonl"
JUNE_ID = "smart-tech-2025-06-19"
DECEMBER_ID = "smart-tech-2025-12-11"
FILTERS: list[tuple[list[str], list[str]]] = [
    ([], []), (["Delphine Sabattier"], []), (["Julien Pillot"], []), (["Audrey Maurel", "Louis Soris"], []),
    ([], [JUNE_ID]), (["Julien Pillot"], [DECEMBER_ID]), (["Delphine Sabattier"], [JUNE_ID, DECEMBER_ID]),
]


def _settings(index: Path) -> Settings:
    return Settings(index_dir=index, llm_model=None, _env_file=None)  # type: ignore[call-arg]


def _hits(hits: list[Hit]) -> list[tuple[str, float]]:
    return [(h.chunk.chunk_id, h.score) for h in hits]


@pytest.fixture(scope="module")
def query_vectors(sample_index: Path) -> list[np.ndarray]:
    """The search text of every question of the eval set, embedded as retrieval embeds it."""
    assistant = Assistant(_settings(sample_index))
    texts = [assistant.understand(q.question).search_text for q in load_questions(QUESTIONS_FILE)]
    return [assistant.embedder.embed_query(t) for t in texts]


@pytest.mark.parametrize("width", [16, 64, 160, None])  # None: the width `fit` chooses
def test_the_projected_search_returns_the_exact_top_k(assistant: Assistant, query_vectors: list[np.ndarray],
                                                      monkeypatch: pytest.MonkeyPatch, width: int | None) -> None:
    monkeypatch.setattr(dense, "PROJECT_FROM_ROWS", 1)  # the samples are small: project every search
    exact = assistant.retriever.dense_index()
    projection = Projection.fit(exact.matrix, width=width)
    assert projection is not None
    projected = DenseIndex(exact.chunks, exact.matrix, exact.rows, presorted=True, projection=projection)
    searches = 0
    for vector in query_vectors:
        for speakers, episodes in FILTERS:
            for k in (1, 8, 40):
                want = exact.search(vector, k, speakers, episodes)
                got = projected.search(vector, k, speakers, episodes)
                assert _hits(got) == _hits(want)  # float32 scores equal bit for bit, not approximately
                searches += 1
    assert searches == len(query_vectors) * len(FILTERS) * 3 > 1000


def test_the_bounds_hold_for_every_row(assistant: Assistant, query_vectors: list[np.ndarray]) -> None:
    matrix = assistant.retriever.dense_index().matrix
    for width in (16, 64, 160):
        projection = Projection.fit(matrix, width=width)
        assert projection is not None
        for vector in query_vectors[::5]:
            inside, missed = projection.query(vector)
            error = np.abs(matrix @ vector - projection.rows @ inside)
            assert np.all(error <= missed * projection.residual + MARGIN)
            # The margin is slack, not what makes the bound: without it the bound still holds to 1e-5.
            assert np.all(error <= missed * projection.residual + 1e-5)


def test_the_fitted_basis_keeps_almost_all_of_the_real_vectors(assistant: Assistant) -> None:
    matrix = assistant.retriever.dense_index().matrix
    projection = Projection.fit(matrix)
    assert projection is not None and projection.width <= matrix.shape[1] // 2
    basis = projection.basis.astype(np.float64)
    assert np.allclose(basis.T @ basis, np.eye(projection.width), atol=1e-5)  # orthonormal
    # What the basis leaves out of the real chunks' vectors is small: the bounds are tight.
    assert float(np.mean(projection.residual**2)) < 0.01


def test_equal_vectors_come_back_in_chunk_order(assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    # The synthetic benchmark episodes repeat turns word for word: many rows tie, and ties go by chunk order.
    monkeypatch.setattr(dense, "PROJECT_FROM_ROWS", 1)
    full = assistant.retriever.dense_index()
    vectors = full.vectors.copy()
    copies = [3, 40, 77, 100, 101]
    vectors[copies] = vectors[60]
    plain = DenseIndex(full.chunks, vectors)
    projected = DenseIndex(full.chunks, vectors, projection=Projection.fit(plain.matrix, width=32))
    for k in (2, 4, 6, 10):
        want = plain.search(vectors[60], k, [], [])
        assert _hits(projected.search(vectors[60], k, [], [])) == _hits(want)
    assert [h.chunk.chunk_id for h in want[:6]] == [full.chunks[i].chunk_id for i in (3, 40, 60, 77, 100, 101)]


def test_the_projection_is_saved_and_loaded_with_the_matrix(sample_index: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rag.retrieve.PROJECT_FROM_ROWS", 1)
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    built = Assistant(_settings(index)).retriever.dense_index()
    assert built.projection is not None
    (saved,) = (index / "cache").glob("projection-usem3-*.npz")
    loaded = Assistant(_settings(index)).retriever.dense_index()  # a new process
    assert loaded.projection is not None and loaded.projection is not built.projection
    for name in ("basis", "rows", "residual"):
        assert np.array_equal(getattr(loaded.projection, name), getattr(built.projection, name))
    saved.write_bytes(saved.read_bytes()[:1000])  # torn: rebuilt, the same
    again = Assistant(_settings(index)).retriever.dense_index()
    assert again.projection is not None and np.array_equal(again.projection.rows, built.projection.rows)
    # The dense matrix file is the one the code before projections wrote and read: untouched.
    assert len(list((index / "cache").glob("dense-usem3-*.npy"))) == 1


def test_a_small_index_has_no_projection(assistant: Assistant) -> None:
    # Below PROJECT_FROM_ROWS a full scan is already short: nothing is fitted, nothing saved.
    assert len(assistant.retriever.dense_index().matrix) < dense.PROJECT_FROM_ROWS
    assert assistant.retriever.dense_index().projection is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=3000), st.integers(1, 60))
def test_kth_largest_is_partitions_answer(values: list[int], k: int) -> None:
    # Few distinct values: many ties, as in a corpus of repeated turns.
    array = np.asarray(values, dtype=np.float32) / 4
    k = min(k, len(array))
    assert kth_largest(array, k) == np.partition(array, len(array) - k)[len(array) - k]


def test_scratch_blocks_are_lent_and_given_back_under_concurrent_searches(assistant: Assistant,
                                                                       query_vectors: list[np.ndarray],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Searches on several threads borrow the same few scratch blocks: none may read rows another search gathered.
    monkeypatch.setattr(dense, "PROJECT_FROM_ROWS", 1)
    exact = assistant.retriever.dense_index()
    projected = DenseIndex(exact.chunks, exact.matrix, exact.rows, presorted=True,
                           projection=Projection.fit(exact.matrix, width=16))
    dense.prefault(exact.matrix.shape[1])
    assert dense._spare.qsize() >= dense.SPARE_BLOCKS
    jobs = [(v, f) for v in query_vectors for f in FILTERS]
    want = [_hits(exact.search(v, 40, *f)) for v, f in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda job: _hits(projected.search(job[0], 40, *job[1])), jobs))
    assert got == want
    block = dense._borrow(10, exact.matrix.shape[1])
    dense._give_back(block)
    assert any(dense._borrow(10, exact.matrix.shape[1]) is block for _ in range(dense.SPARE_BLOCKS + 1))

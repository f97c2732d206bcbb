"""The 8-bit first pass of wide dense searches (rag.int8pass) changes nothing but speed: its error bound holds for
every row, searches through it return exactly the full scan's top k, and it does rule rows out. Where onnxruntime
cannot run it, searches take the float32 pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from evals.metrics import load_questions
from rag import dense, int8pass
from rag.assistant import Assistant
from rag.dense import DenseIndex
from rag.int8pass import Int8Pass, Int8Rows
from rag.projection import MARGIN, Projection
from rag.settings import Settings
from rag.store import Hit

QUESTIONS_FILE = Path(__file__).resolve().parents[2] / "evals" / "data" / "questions.jsonl"
JUNE_ID = "smart-tech-2025-06-19"
DECEMBER_ID = "smart-tech-2025-12-11"
# Unfiltered and one episode (half the rows or more: through the 8-bit pass), the host, a guest, a mix (not).
FILTERS: list[tuple[list[str], list[str]]] = [
    ([], []), (["Delphine Sabattier"], []), ([], [DECEMBER_ID]), (["Julien Pillot"], []),
    (["Delphine Sabattier", "Audrey Maurel"], [JUNE_ID, DECEMBER_ID]),
]


def _hits(hits: list[Hit]) -> list[tuple[str, float]]:
    return [(h.chunk.chunk_id, h.score) for h in hits]


def _settings(index: Path) -> Settings:
    return Settings(index_dir=index, llm_model=None, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def query_vectors(sample_index: Path) -> list[np.ndarray]:
    """The search text of every question of the eval set, embedded as retrieval embeds it."""
    assistant = Assistant(_settings(sample_index))
    texts = [assistant.understand(q.question).search_text for q in load_questions(QUESTIONS_FILE)]
    return [assistant.embedder.embed_query(t) for t in texts]


@pytest.fixture(scope="module")
def projection(sample_index: Path) -> Projection:
    fitted = Projection.fit(Assistant(_settings(sample_index)).retriever.dense_index().matrix, width=160)
    assert fitted is not None
    return fitted


@pytest.fixture(scope="module")
def passes(projection: Projection) -> Int8Pass:
    built = Int8Pass.build(Int8Rows.of(projection.rows))
    assert built is not None, "onnxruntime runs MatMulInteger on every platform it ships for"
    return built


def test_the_error_bound_holds_for_every_row(projection: Projection, passes: Int8Pass,
                                             query_vectors: list[np.ndarray]) -> None:
    rng = np.random.default_rng(7)
    width = projection.width
    awkward = [np.eye(width, dtype=np.float32)[3],  # one component: the query's own rounding is exact
               rng.standard_normal(width).astype(np.float32) * np.logspace(0, -4, width, dtype=np.float32),
               np.zeros(width, dtype=np.float32)]
    queries = [projection.query(v)[0] for v in query_vectors] + awkward
    for inside in queries:
        approx, bound = passes.scores(inside)
        error = np.abs(projection.rows @ inside - approx)
        assert np.all(error <= bound + 1e-5)  # float32 rounding of the two products: what MARGIN covers
        # The bound is tight enough to matter: well under the spread of the scores it separates.
        assert float(np.median(bound)) < 0.05


@pytest.mark.parametrize("width", [32, 160])  # 32: the projection's own bounds are loose too, and add up with these
def test_searches_through_it_return_the_exact_top_k(assistant: Assistant, query_vectors: list[np.ndarray],
                                                    monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    monkeypatch.setattr(dense, "PROJECT_FROM_ROWS", 1)  # the samples are small: project every search
    exact = assistant.retriever.dense_index()
    projection = Projection.fit(exact.matrix, width=width)
    assert projection is not None
    fast = DenseIndex(exact.chunks, exact.matrix, exact.rows, presorted=True, projection=projection)
    fast.int8 = Int8Pass.build(Int8Rows.of(projection.rows))
    used = 0
    real_scores = Int8Pass.scores

    def counted(self: Int8Pass, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nonlocal used
        used += 1
        return real_scores(self, query)

    monkeypatch.setattr(Int8Pass, "scores", counted)
    for vector in query_vectors:
        for speakers, episodes in FILTERS:
            for k in (1, 8, 40):
                assert _hits(fast.search(vector, k, speakers, episodes)) == _hits(exact.search(vector, k, speakers,
                                                                                                 episodes))
    # Searches over at least half the rows go through it (unfiltered; December's half of the chunks), others not.
    wide = [2 * sum(end - start for start, end in fast.ranges(s, e)) >= len(fast.matrix) for s, e in FILTERS]
    assert wide[0] and wide[2] and not wide[1] and not wide[3]
    assert used == len(query_vectors) * 3 * sum(wide)


def test_it_rules_out_most_rows(assistant: Assistant, projection: Projection, passes: Int8Pass,
                                query_vectors: list[np.ndarray]) -> None:
    kept = []
    for vector in query_vectors:
        inside, missed = projection.query(vector)
        approx, bound = passes.scores(inside)
        bound += projection.residual * missed + MARGIN
        kept.append(len(dense._within(approx, bound, 40)) / len(approx))
    assert float(np.median(kept)) < 0.5


def test_zero_rows_quantize_to_zero_with_no_error() -> None:
    rows = np.zeros((5, 32), dtype=np.float32)
    rows[2] = np.linspace(-0.5, 0.25, 32)
    quantized = Int8Rows.of(rows)
    assert np.all(quantized.codes[[0, 1, 3, 4]] == 0) and np.all(quantized.error[[0, 1, 3, 4]] == 0)
    assert int(np.abs(quantized.codes[2]).max()) == 127
    assert np.allclose(quantized.codes[2] * quantized.scale[2], rows[2], atol=float(quantized.scale[2]) / 2 + 1e-7)


def test_the_retriever_attaches_it_and_searches_stay_exact_without_it(sample_index: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      query_vectors: list[np.ndarray]) -> None:
    monkeypatch.setattr("rag.retrieve.PROJECT_FROM_ROWS", 1)
    monkeypatch.setattr(dense, "PROJECT_FROM_ROWS", 1)
    index = tmp_path / "index"
    shutil.copytree(sample_index, index)
    with_it = Assistant(_settings(index)).retriever.dense_index()
    assert with_it.int8 is not None and len(with_it.int8) == len(with_it.matrix)

    def broken(codes_t: np.ndarray) -> None:
        raise RuntimeError("MatMulInteger is not implemented")

    monkeypatch.setattr(int8pass, "_session", broken)
    without = Assistant(_settings(index)).retriever.dense_index()
    assert without.projection is not None and without.int8 is None
    for vector in query_vectors[::4]:
        assert _hits(without.search(vector, 40, [], [])) == _hits(with_it.search(vector, 40, [], []))

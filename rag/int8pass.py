"""An 8-bit copy of the projection's rows for the first pass of a wide dense search, with a bound on its error.

At 1,000 episodes an unfiltered search reads the whole float32 projection (75k x 160: 48 MB). Inside the
question path that read finds the rows evicted (the embedder has just run) and takes ~3.7 ms, DRAM-bound. The
same rows in int8 are 12 MB, and onnxruntime multiplies them with the CPU's integer dot-product instructions
(numpy has no 8-bit product).

Exactness, as in `rag.projection`: with row p = s c + E (c the int8 codes, s the row's scale, |E_i| <= s/2) and
the query written as t r1 + t2 r2 + e (two int8 passes, the second coding what the first missed),
  p.q = s (t c.r1 + t2 c.r2) + s c.e + E.q,   |s c.e| <= s|c| |e|,   |E.q| <= |E| |q|.
So each row's projected score lies within that sum of the 8-bit one (`Int8Pass.scores` returns it), and the
search widens its bounds by it: every row it drops scores below k others, whatever the rounding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Rows quantized at a time (a float32 temporary of this many rows).
BLOCK = 8192


@dataclass
class Int8Rows:
    """A matrix's rows as int8 codes with one scale per row, and what that rounding can cost a score."""

    codes: np.ndarray  # (n, d) int8: round(row / scale)
    scale: np.ndarray  # (n,) float32: max |row| / 127 (1 for a zero row)
    code_norm: np.ndarray  # (n,) float32: scale * |codes|, the factor of the query's rounding error
    error: np.ndarray  # (n,) float32: |row - scale * codes|, the factor of the query's length

    @classmethod
    def of(cls, rows: np.ndarray) -> Int8Rows:
        """Quantize `rows` (float32, (n, d))."""
        n, d = rows.shape
        codes = np.empty((n, d), dtype=np.int8)
        scale = np.empty(n, dtype=np.float32)
        code_norm = np.empty(n, dtype=np.float32)
        error = np.empty(n, dtype=np.float32)
        for start in range(0, n, BLOCK):
            block = rows[start : start + BLOCK]
            s = np.abs(block).max(axis=1) / 127 if d else np.zeros(len(block), np.float32)
            s[s == 0] = 1
            c = np.rint(block / s[:, None])
            codes[start : start + BLOCK] = c
            scale[start : start + BLOCK] = s
            code_norm[start : start + BLOCK] = s * np.sqrt(np.einsum("ij,ij->i", c, c))
            # Measured against the float32 rows themselves: the bound is on what the 8-bit pass misses of them.
            error[start : start + BLOCK] = np.linalg.norm(block - c * s[:, None], axis=1)
        return cls(codes, scale, code_norm, error)


class Int8Pass:
    """Scores against every row of an `Int8Rows`, through onnxruntime's MatMulInteger (one thread)."""

    def __init__(self, rows: Int8Rows, session: Any, buffer: Any) -> None:
        # The per-row factors only: the codes live on in `buffer`, which the session reads (not a copy of it).
        self.scale, self.code_norm, self.error = rows.scale, rows.code_norm, rows.error
        self._session = session
        self._buffer = buffer

    @classmethod
    def build(cls, rows: Int8Rows) -> Int8Pass | None:
        """The pass over `rows`, or None where onnx or onnxruntime cannot run it (then searches keep the float32
        pass: same results, a little slower)."""
        try:
            session, buffer = _session(np.ascontiguousarray(rows.codes.T))
        except Exception as exc:  # an optional accelerator: any failure means "not here"
            log.info("no 8-bit dense pass: %s", exc)
            return None
        return cls(rows, session, buffer)

    def __len__(self) -> int:
        return len(self.scale)

    def scores(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every row's 8-bit score against `query` (float32, in the rows' space), and how far each may be from
        the float32 product (add it to both sides of the row's other bounds)."""
        query = np.asarray(query, dtype=np.float32)
        top = float(np.abs(query).max()) if query.size else 0.0
        t = top / 127 if top > 0 else 1.0
        first = np.rint(query / t)
        rest = query - first * t
        t2 = t / 127  # |rest| <= t/2: a second code of 127 steps covers it
        second = np.clip(np.rint(rest / t2), -127, 127)
        left = float(np.linalg.norm(rest - second * t2))
        # MatMulInteger takes unsigned activations with a zero point: codes shifted by 128.
        coded = (np.stack([first, second]) + 128).astype(np.uint8)
        products = self._session.run(None, {"query": coded})[0]
        score = products[0].astype(np.float32)
        score *= t
        score += products[1].astype(np.float32) * np.float32(t2)
        score *= self.scale
        bound = self.code_norm * np.float32(left)
        bound += self.error * np.float32(np.linalg.norm(query))
        return score, bound


def _session(codes_t: np.ndarray) -> tuple[Any, Any]:
    """An onnxruntime session computing (2, d) uint8 query codes x (d, n) int8 row codes -> (2, n) int32, and
    the buffer it reads the codes from."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    d = codes_t.shape[0]
    # The graph holds a one-column placeholder; the real codes come in as an initializer of the session, so the
    # 12 MB are not copied into a protobuf. onnxruntime packs a constant right-hand side once, at load.
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["query", "codes", "zero"], ["scores"])], "int8pass",
        [helper.make_tensor_value_info("query", TensorProto.UINT8, [2, d])],
        [helper.make_tensor_value_info("scores", TensorProto.INT32, None)],
        initializer=[numpy_helper.from_array(np.zeros((d, 1), np.int8), "codes"),
                     numpy_helper.from_array(np.array(128, np.uint8), "zero")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the placeholder's shape differs from the real codes': not worth a warning
    value = ort.OrtValue.ortvalue_from_numpy(codes_t)
    options.add_initializer("codes", value)
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session, value

"""Per-question linear algebra on one BLAS thread.

A question's matrix products are small (a 512-wide query against the index, a few phrases through the
embedder): OpenBLAS splits each over every core and makes the calling thread wait for the others. On a
2-core machine where another process holds one core, that wait is a scheduler time slice per product:
embedding a question went from 2 ms to 140 ms, and retrieval at 1,000 episodes from 16 ms to 160-480 ms.
One thread does the same work with no hand-off: measured 2 ms / 7 ms for the question and the dense scan,
loaded or not. Ingest keeps the default (large batches do gain from a second core).

numpy's OpenBLAS is found by its exported symbols; without it (another BLAS) this is a no-op.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# The names OpenBLAS builds export its thread setters under (numpy's wheels prefix them `scipy_`, ILP64 `64_`).
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
            "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads64_",
            "openblas_get_num_threads")


def _find() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("*openblas*")) if libs.is_dir() else []:
        try:
            lib = ctypes.CDLL(str(path))  # already loaded by numpy: the same library and thread pool
        except OSError:
            continue
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        if setter is not None and getter is not None:
            setter.argtypes, setter.restype = [ctypes.c_int], None
            getter.argtypes, getter.restype = [], ctypes.c_int
            return setter, getter
    return None


_API = _find()
_lock = threading.Lock()
_depth = 0
_saved = 0


def available() -> bool:
    """True when numpy's OpenBLAS was found (the thread count can be set)."""
    return _API is not None


def threads() -> int:
    """OpenBLAS's current thread count (0 when unknown)."""
    return _API[1]() if _API else 0


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run the block's BLAS calls on the calling thread. Nested and concurrent blocks share one setting: the
    count is restored when the last block ends. The setting is process-wide (OpenBLAS has no per-thread one):
    an ingest running meanwhile in another thread embeds on one thread too, slower but unchanged."""
    global _depth, _saved
    if _API is None:
        yield
        return
    setter, getter = _API
    with _lock:
        if _depth == 0:
            _saved = getter()
            if _saved != 1:
                setter(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved != 1:
                setter(_saved)

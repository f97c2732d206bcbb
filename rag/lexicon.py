"""Common English words with their vectors, embedded once per machine, so translating a question embeds nothing.

An English question is translated by embedding its topic words one by one (`rag.crosslingual`): ~0.8 ms a call
plus ~0.25 ms a word on 2 cores, beside the dense search, which it slows. Most of those words are common English
("procurement", "sovereignty", "European"), so their vectors can be computed ahead, like the corpus's phrases.
A word's vector does not depend on the corpus, so the table is shared by every index on the machine, under the
user's cache directory (`Settings.cache_dir`). It is read through a memory map: only the rows questions touch
are loaded. The vectors are the embedder's own (float32, embedded alone), so translations are the same with or
without the table.

The words: pyspellchecker's English frequency list (subtitle English, MIT), its `WORDS` most frequent words, and
the `TITLED` most frequent of them capitalised ("European", "France", "Since" opening a question). Over the 72
English questions the benchmark times, the table and the corpus's own words hold 88 % of the topic words, and
every word of 37 questions.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.resources
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag.embedders import Embedder

WORDS = 30000
# Capitalised too: questions write "France", "Europe", "Meta", which subtitle English mostly writes so
# (the list is lower-cased: "france" ranks 23,365th). 60,000 words: 123 MB on disk, ~10 s to build.
TITLED = 30000
# Bump when the choice of words or the file layout changes.
VERSION = 1
# Words per embedder call while building (a progress step).
BATCH = 2048
_CONTENT = re.compile(r"[a-z][a-z-]*[a-z]")


def _source() -> bytes:
    return (importlib.resources.files("spellchecker") / "resources" / "en.json.gz").read_bytes()


def english_words(words: int | None = None, titled: int | None = None) -> list[str]:
    """The `words` (default `WORDS`) most frequent English words of 3+ letters (lower case), then the `titled`
    (default `TITLED`) most frequent of them capitalised."""
    words = WORDS if words is None else words
    titled = TITLED if titled is None else titled
    counts: dict[str, int] = json.loads(gzip.decompress(_source()))
    # Most frequent first; equal counts in alphabetical order, so the list does not depend on the file's order.
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    chosen = [w for w in ranked if len(w) >= 3 and _CONTENT.fullmatch(w)][:words]
    return chosen + [w.title() for w in chosen[:titled]]


@functools.cache
def common_words() -> frozenset[str]:
    """The default table's words (`english_words()`), without their vectors: what a question's capitalised word
    must be to be translated when no table was built (~0.3 s, once per process)."""
    return frozenset(english_words())


class Lexicon:
    """Words and their vectors: `get(word)` is the word's vector as the embedder gives it, or None."""

    def __init__(self, words: list[str], vectors: np.ndarray) -> None:
        if vectors.ndim != 2 or len(vectors) != len(words):
            raise ValueError(f"{len(vectors)} vectors for {len(words)} words")
        self.words = words
        self.vectors = vectors
        self._rows = {w: i for i, w in enumerate(words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._rows

    def get(self, word: str) -> np.ndarray | None:
        """The word's vector (a copy, in memory), or None when the table does not have it."""
        row = self._rows.get(word)
        return None if row is None else np.array(self.vectors[row], dtype=np.float32)


def _paths(cache_dir: Path, embedder: Embedder, words: list[str] | None) -> tuple[Path, Path]:
    """Where the table is saved, named after what it holds: the embedder, and the words (the default words by
    what they come from, so that opening the table does not rank the frequency list again: ~0.3 s)."""
    chosen: object = words if words is not None else (WORDS, TITLED, hashlib.sha256(_source()).hexdigest())
    key = repr((VERSION, embedder.name, embedder.dim, chosen)).encode()
    stem = f"lexicon-{embedder.name}-{hashlib.sha256(key).hexdigest()[:16]}"
    return cache_dir / f"{stem}.npy", cache_dir / f"{stem}.txt"


def load(cache_dir: Path, embedder: Embedder, words: list[str] | None = None) -> Lexicon | None:
    """The table of `words` (default: `english_words()`) for `embedder`, if built; None otherwise (missing,
    torn, or not this embedder's)."""
    vectors_path, words_path = _paths(cache_dir, embedder, words)
    try:
        text = words_path.read_text(encoding="utf-8")
        saved = text.split("\n") if text else []
        vectors = np.load(vectors_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if (words is not None and saved != words) or vectors.dtype != np.float32 \
            or vectors.shape != (len(saved), embedder.dim):
        return None
    return Lexicon(saved, vectors)


def build(cache_dir: Path, embedder: Embedder, words: list[str] | None = None,
          progress: Callable[[int, int], None] | None = None) -> Lexicon | None:
    """The table of `words` for `embedder`: loaded when built before, otherwise embedded (~10 s for the default
    60,000 words on 2 cores) and saved atomically. None when the cache directory cannot be written: questions
    then embed their words as they come, with the same results."""
    given = words
    found = load(cache_dir, embedder, given)
    if found is not None:
        return found
    vectors_path, words_path = _paths(cache_dir, embedder, given)
    words = english_words() if given is None else given
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        vectors = np.lib.format.open_memmap(_tmp(vectors_path), mode="w+", dtype=np.float32,
                                            shape=(len(words), embedder.dim))
    except OSError:
        return None
    try:
        for start in range(0, len(words), BATCH):
            vectors[start : start + BATCH] = embedder.embed_passages(words[start : start + BATCH])
            if progress is not None:
                progress(min(start + BATCH, len(words)), len(words))
        vectors.flush()
    except BaseException:
        _tmp(vectors_path).unlink(missing_ok=True)
        raise
    finally:
        del vectors
    try:
        _tmp(words_path).write_text("\n".join(words), encoding="utf-8")
        # The vectors first, then the words: a reader that finds the words finds their vectors.
        os.replace(_tmp(vectors_path), vectors_path)
        os.replace(_tmp(words_path), words_path)
        for old in cache_dir.glob(f"lexicon-{embedder.name}-*"):
            if old not in (vectors_path, words_path) and not old.name.endswith(".tmp"):
                old.unlink(missing_ok=True)
    except OSError:
        return None
    return load(cache_dir, embedder, given)


def _tmp(path: Path) -> Path:
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")

"""BM25 over chunk text with French stemming (bm25s + PyStemmer), filterable by speaker and episode."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_FRENCH
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from ingest.models import Chunk
from ingest.names import fold
from rag.rowfilter import RowFilter
from rag.store import Hit

_STEMMER = Stemmer.Stemmer("french")
# bm25s.tokenize's defaults with stopwords="fr": what the index was built with.
_SPLIT = re.compile(r"(?u)\b\w\w+\b").findall
_STOPWORDS = frozenset(STOPWORDS_FRENCH)
# `SparseIndex.said_outside`: the episodes an answer names at most, and the rows it reads per side for a word whose
# stem is not the word itself (a name the corpus says once per episode is found well within them).
MAX_ELSEWHERE = 3
MAX_SAID_CHECKS = 200
# A capitalised word after a word and a space (not at a line's or sentence's start): a name.
_MID_CAPITAL = re.compile(r"(?<=[\w,] )[A-ZÀ-Ý][\w-]+")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lowercased, French-stopword-free, stemmed tokens: `bm25s.tokenize(texts, stopwords="fr", stemmer=...)`'s
    output, token for token. bm25s builds three progress bars and a stopword set per call (0.044 ms a call against
    0.004), and an answer tokenizes a hundred short texts (its topic, name spellings, every candidate quote window)."""
    return [_STEMMER.stemWords([t for t in _SPLIT(text.lower()) if t not in _STOPWORDS]) for text in texts]


def written_names(texts: Iterable[str]) -> set[str]:
    """The tokens of the words `texts` write capitalised inside a sentence: their names ("NumSpot", "Newspot")."""
    written = {w for text in texts for w in _MID_CAPITAL.findall(text)}
    return {t for tokens in tokenize(sorted(written)) for t in tokens}


def name_edits(token: str) -> int:
    """How many edits apart two spellings of a name (a stemmed token) may be: one from 5 letters, two from 7."""
    return 2 if len(token) >= 7 else 1 if len(token) >= 5 else 0


class SparseIndex:
    """An in-memory BM25 index over a fixed set of chunks."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks
        self.rows = RowFilter(chunks)
        self._bm25 = bm25s.BM25()
        if chunks:
            # The host's question counts towards the guest's answer, as it does for the dense vector.
            self._bm25.index(tokenize([f"{c.context} {c.text}" for c in chunks]), show_progress=False)
        # The tokens of words written capitalised inside a sentence: the corpus's names (see `variants`). Found
        # here, at ingest: ~0.4 s at 1,000 episodes, which the first question would otherwise pay.
        self._names = written_names(c.text for c in chunks)

    def spellings(self, token: str) -> list[str]:
        """Vocabulary tokens the subtitles may have written for `token` (a stemmed token the corpus never uses):
        "hexatrust" -> "exatrust", "artifeel" -> "artifil". Names are what speech recognition misspells, and a
        name spelt one way in a question and another in the transcript would otherwise match nothing. One edit
        from 5 letters on, two from 8; none for shorter tokens or tokens the corpus has."""
        vocab = self._bm25.vocab_dict if self.chunks else {}
        edits = 2 if len(token) >= 8 else 1 if len(token) >= 5 else 0
        if not edits or token in vocab or not token.isalpha():
            return []
        return self._near(token, edits, 3)

    def variants(self, token: str, rows: np.ndarray) -> list[str]:
        """Other spellings of a name the corpus does use (`token`, stemmed), for a search whose `rows` (a mask)
        never use it: vocabulary tokens written as names (capitalised inside a sentence) one edit away from 5
        letters on, two from 7. Speech recognition spells one company two ways ("NumSpot", "NewSpot"): Julien
        Pillot only ever says the second. Empty when the rows do use the token, so that a search that finds the
        name as asked ranks as before (adding the variant everywhere pushed other passages up)."""
        vocab = self._bm25.vocab_dict if self.chunks else {}
        edits = name_edits(token)
        if not edits or token not in vocab or not token.isalpha():
            return []
        if rows[self._postings(vocab[token])].any():
            return []
        return [term for term in self._near(token, edits, 5) if term != token and term in self._names]

    def _near(self, token: str, edits: int, limit: int) -> list[str]:
        """Up to `limit` vocabulary tokens at most `edits` edits from `token`, nearest first (ties by token)."""
        vocab = self._bm25.vocab_dict if self.chunks else {}
        terms = getattr(self, "_terms", None)
        if terms is None or len(terms) != len(vocab):
            terms = self._terms = list(vocab)
        found = process.extract(token, terms, scorer=Levenshtein.distance, score_cutoff=edits, limit=limit)
        return [term for term, _, _ in sorted(found, key=lambda f: (f[1], f[0]))]

    def search(self, query: str, k: int, speakers: list[str], episodes: list[str],
               tokens_too: list[str] | None = None) -> list[Hit]:
        """Up to k chunks with a positive BM25 score, best first (ties: chunk order, as in the dense index).
        `tokens_too`: vocabulary tokens searched as well (already stemmed: not tokenised again)."""
        if not self.chunks:
            return []
        tokens = [t for t in [*tokenize([query])[0], *(tokens_too or [])] if t in self._bm25.vocab_dict]
        if not tokens:
            return []
        scores = self.scores(tokens)
        if speakers or episodes:  # (an all-true mask and its product cost ~0.1 ms at 75k rows for nothing)
            mask = self.rows.mask(speakers, episodes)
            if not mask.any():
                return []
            scores *= mask
        return [Hit(chunk=self.chunks[i], score=float(scores[i])) for i in top_rows(scores, k)]

    def said_outside(self, word: str, scope: np.ndarray) -> list[str] | None:
        """Where `word` is said, against a search's scope (`scope`: per episode code, whether the search looks
        there; `rows.episodes_kept`): None when it is (or may be) said in scope; otherwise up to MAX_ELSEWHERE
        episodes that say it, in index order (empty when no episode does).

        A word is said as written (case and accents aside): its stem's postings first, then the word itself in those
        rows when stemming changed it ("Meta" and "il met" share "met"). Counting by episode codes keeps it cheap
        at 1,000 episodes; at most MAX_SAID_CHECKS rows are read for the word itself on each side."""
        tokens = [t for t in tokenize([word])[0] if t in self._bm25.vocab_dict] if self.chunks else []
        if len(tokens) != 1:
            return []
        rows = self._postings(self._bm25.vocab_dict[tokens[0]])
        inside = scope[self.rows.episode_column[rows]]
        folded = fold(word)
        if tokens[0] == folded:  # the stem is the word: its postings are where it is said
            if inside.any():
                return None
            said: Iterable[int] = rows  # (in index order: the loop below stops at MAX_ELSEWHERE episodes)
        else:
            pattern = re.compile(rf"\b{re.escape(folded)}\b")

            def says(i: int) -> bool:
                return bool(pattern.search(fold(f"{self.chunks[i].context} {self.chunks[i].text}")))

            if any(says(i) for i in rows[inside][:MAX_SAID_CHECKS].tolist()):
                return None
            said = [i for i in rows[~inside][:MAX_SAID_CHECKS].tolist() if says(i)]
        found: list[str] = []
        for i in said:
            if self.chunks[i].episode_id not in found:
                found.append(self.chunks[i].episode_id)
                if len(found) == MAX_ELSEWHERE:
                    break
        return found

    def _postings(self, token_id: int) -> np.ndarray:
        """The rows whose text holds the vocabulary token `token_id`."""
        index = self._bm25.scores
        return np.asarray(index["indices"][index["indptr"][token_id]:index["indptr"][token_id + 1]])

    def scores(self, tokens: list[str]) -> np.ndarray:
        """Every row's BM25 score for these (vocabulary) tokens: `bm25s.BM25.get_scores`'s, a token said n times
        counting n times (bit for bit when no token repeats; otherwise within float32 rounding).

        bm25s adds each token's postings with `np.add.at`, 1-2 ms a question at 75k chunks; a token's postings
        name each row once, so a plain indexed add does the same additions, ~10x faster. A translated English
        question repeats stems ("stratégie", "stratégies", "stratégique": one stem five times): each token's
        postings are read once and added times its count, not once per repeat."""
        bm25 = self._bm25
        index = bm25.scores
        data, indices, indptr = index["data"], index["indices"], index["indptr"]
        ids = [bm25.vocab_dict[t] for t in tokens]
        scores = np.zeros(index["num_docs"], dtype=np.dtype(bm25.dtype))
        for token, count in Counter(ids).items():  # in first-said order, as bm25s adds them
            start, end = indptr[token], indptr[token + 1]
            scores[indices[start:end]] += data[start:end] if count == 1 else data[start:end] * scores.dtype.type(count)
        if bm25.nonoccurrence_array is not None:  # the BM25 variants that score absent terms too
            scores += bm25.nonoccurrence_array[np.asarray(ids, dtype=np.dtype(bm25.int_dtype))].sum()
        return scores


def top_rows(scores: np.ndarray, k: int) -> list[int]:
    """The rows of the k highest positive scores, best first; equal scores in row order.

    A full sort of 75k scores took 2-5 ms a question; this partitions the positive ones. Ties are broken by
    row, not left to the sort: a corpus that repeats a turn word for word has many equal scores, and the dense
    index breaks them the same way, so both retrievers pick the same copies and fusion sees them agree."""
    positive = np.flatnonzero(scores > 0)
    if k <= 0 or not len(positive):
        return []
    values = scores[positive]
    if len(values) > k:
        kth = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= kth
        positive, values = positive[keep], values[keep]
    order = np.lexsort((positive, -values))[:k]
    return [int(i) for i in positive[order]]

"""English questions, French speech: map the question's phrases to the corpus's own French phrases.

BM25 cannot match "public procurement" to "commande publique", and the dense model matches a short English
query to a long French turn only weakly. But the multilingual embedder maps a short phrase to its French
equivalent well (measured: "public procurement" -> "marchés publics" 0.87, "digital sovereignty" ->
"souveraineté numérique" 0.86). So we embed the corpus's frequent phrases once, and expand an English
question with the French phrases nearest to its own: offline query translation restricted to words the
corpus actually uses.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable

import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

from rag.embedders import Embedder
from rag.lexicon import Lexicon, common_words

# Phrases that must be near-synonyms to count as a translation of the question's phrase.
MIN_SIMILARITY = 0.70
MAX_PHRASES = 6000
PER_QUERY_PHRASE = 3
# English words whose vectors a bridge keeps (2 KB each): questions share much of their vocabulary.
WORD_CACHE = 4096
# English function words, which have no French content phrase to find (the corpus's phrases leave French ones out):
# translating "between" or "right now" only found noise ("parmi", "maintenant"). NLTK's list, as bm25s ships it, but
# for "won" and "don", which are also words.
_EN_STOP = ({w for w in STOPWORDS_EN_PLUS if len(w) >= 3} - {"won", "don"}) | {
    "being", "been", "under", "over", "with", "about", "from", "into", "than", "that", "this", "what", "which", "their",
    "there", "these", "those", "they", "them", "have", "has", "had", "does", "did", "will", "would", "could", "should",
    "also", "just", "only", "very", "more", "most"}
_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_FR_STOP = set(
    ["alors", "au", "aux", "avec", "ce", "ces", "cette", "c'est", "dans", "de", "des", "du", "elle", "en", "et", "est", "il", "ils", "je", "la", "le", "les", "leur", "lui", "mais", "me", "même", "mes", "moi", "mon", "ne", "nos", "notre", "nous", "on", "ou", "où", "par", "pas", "pour", "qu", "que", "qui", "sa", "se", "ses", "si", "son", "sont", "sur", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "y", "à", "été", "être", "avoir", "fait", "faire", "plus", "très", "tout", "tous", "toute", "toutes", "bien", "aussi", "donc", "encore", "comme", "quand", "quoi", "peut", "peu", "cela", "ça", "ceux", "celle", "celles", "celui", "voilà", "effectivement", "oui", "non", "parce", "entre", "chez", "avant", "après", "sans", "sous", "vers", "déjà", "ici", "là", "cet", "autre", "autres", "quelque", "quelques", "beaucoup", "vraiment", "juste", "enfin", "puis", "ainsi", "assez", "certains", "certaines", "chose", "choses", "faut", "fois", "moins", "trop"]
)


def _phrases(text: str) -> list[str]:
    """Content words and adjacent pairs of content words ("commande publique", "campus quantique")."""
    words = [w.lower().strip("'’-") for w in _WORD.findall(text)]
    out: list[str] = []
    prev: str | None = None
    for w in words:
        if len(w) < 4 or w in _FR_STOP or "'" in w or "’" in w:
            prev = None
            continue
        out.append(w)
        if prev:
            out.append(f"{prev} {w}")
        prev = w
    return out


class PhraseBridge:
    """Frequent corpus phrases with their vectors; `translate(phrases)` finds their French neighbours."""

    def __init__(self, phrases: list[str], vectors: np.ndarray, embedder: Embedder) -> None:
        """`phrases[i]` has the vector `vectors[i]` from `embedder` (see `build`; `rag.retrieve` saves both)."""
        if len(phrases) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors for {len(phrases)} phrases")
        self.phrases = phrases
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(phrases), embedder.dim)
        self.embedder = embedder
        sizes = np.array([p.count(" ") + 1 for p in phrases], dtype=np.int64)
        # Rows of the one-word and of the two-word phrases: a phrase is only compared with phrases of its size,
        # so each size's vectors are held in a matrix of their own (half the products of comparing with all).
        self._rows_by_size = {int(n): np.flatnonzero(sizes == n) for n in np.unique(sizes)}
        self._vectors_by_size = {n: np.ascontiguousarray(self.vectors[rows]) for n, rows in self._rows_by_size.items()}
        self._words: OrderedDict[str, np.ndarray] = OrderedDict()  # least recently used first
        # English words the corpus also says ("public", "data", "cloud"): their vectors are already here.
        self._own = {phrase: row for row, phrase in enumerate(phrases) if " " not in phrase}
        self._words_lock = threading.Lock()
        # Common English words' vectors, embedded ahead (`rag.lexicon`); None: embed them as they come.
        self.lexicon: Lexicon | None = None

    @classmethod
    def build(cls, texts: Iterable[str], embedder: Embedder, max_phrases: int = MAX_PHRASES) -> PhraseBridge:
        """The bridge over the frequent phrases of `texts` (the corpus's chunks): embeds every phrase once."""
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(_phrases(text)))
        # Phrases used in at least two turns: one-off ASR garbles are not worth a vector.
        common = [p for p, n in df.most_common(max_phrases) if n >= 2]
        vectors = embedder.embed_passages(common) if common else np.zeros((0, embedder.dim), np.float32)
        return cls(common, vectors, embedder)

    def translate(self, text: str) -> list[str]:
        """French corpus phrases that say what the phrases of `text` (an English question's topic) say."""
        words = self.words(text)
        unique = list(dict.fromkeys(words))
        if not unique or not len(self.phrases):
            return []
        # Only the words are embedded; a pair's vector is the sum of its words' (normalised). Embedding each pair
        # as well cost more than half of an English question's retrieval time at 1,000 episodes (the embedder's
        # cost is per token, and each phrase brings two boundary tokens), and the sum still finds the French
        # pair ("public procurement" -> "commande publique"). Measured on main / heldout / heldout2 / heldout3 /
        # heldout4: the same hit@5, refusals and key facts; main MRR 73.4 -> 74.2, citation precision 45.4 -> 45.0.
        by_word = self._word_vectors(unique)
        pairs = list(dict.fromkeys(zip(words, words[1:])))
        queries = [*unique, *(f"{a} {b}" for a, b in pairs)]
        summed = [by_word[a] + by_word[b] for a, b in pairs]
        q = np.stack([*by_word.values(), *(v / max(float(np.linalg.norm(v)), 1e-12) for v in summed)])
        q = q.astype(np.float32, copy=False)
        sizes = [phrase.count(" ") + 1 for phrase in queries]
        # Each size's similarities in one product, bridge phrases by query phrases: the same float32 values as
        # the query-by-bridge product over every phrase (OpenBLAS sums each dot product in the same order).
        sims: dict[int, np.ndarray] = {}
        for size in set(sizes) & set(self._rows_by_size):
            mine = [i for i, n in enumerate(sizes) if n == size]
            table = self._vectors_by_size[size] @ q[mine].T
            sims.update((i, table[:, j]) for j, i in enumerate(mine))
        found: list[str] = []
        for i, size in enumerate(sizes):
            # A two-word phrase translates to a two-word phrase ("public procurement" -> "commande publique"),
            # not to the single words that share its first half.
            column = sims.get(i)
            if column is None:
                continue
            rows = self._rows_by_size[size]
            # The best PER_QUERY_PHRASE of those at or above the threshold: the same as the best
            # PER_QUERY_PHRASE then thresholded, without sorting thousands of similarities per phrase.
            near = np.flatnonzero(column >= MIN_SIMILARITY)
            for j in near[np.argsort(-column[near], kind="stable")][:PER_QUERY_PHRASE]:
                phrase = self.phrases[rows[j]]
                if phrase not in found:
                    found.append(phrase)
        return found

    def words(self, text: str) -> list[str]:
        """The words of `text` that are translated, in order: neither function words nor names (`_is_name`)."""
        return [w for w in _WORD.findall(text) if len(w) >= 3 and w.lower() not in _EN_STOP and not self._is_name(w)]

    def _is_name(self, word: str) -> bool:
        """A capitalised word that is not common English (`rag.lexicon`'s words; "France", "European" are):
        "NumSpot", "DGE", "Lecornu". A name is written the same in French, and BM25 finds it as the question writes
        it (and in the corpus's other spellings): translating it found itself ("lecornu") or nothing, and cost an
        embedder call (~1 ms) that the table spares common words."""
        if word == word.lower():
            return False
        return word not in (self.lexicon if self.lexicon is not None else common_words())

    def _word_vectors(self, words: list[str]) -> dict[str, np.ndarray]:
        """Each word's vector (embedded on its own): from the last WORD_CACHE words seen, from the bridge's own
        phrases (a word written as the corpus writes it), from the lexicon of common English words, or from one
        embedder call.

        Embedding is most of an English question's translation time (~0.25 ms a word, plus ~1 ms a call), and
        over 72 distinct English questions of the eval sets a third of the topic words had been asked before. A
        word's vector does not depend on the words embedded with it, but for the last bits (~2e-7): translations
        are the same whichever question first brought the word (the eval sets' figures did not move)."""
        with self._words_lock:
            known = {w: v for w in words if (v := self._words.get(w)) is not None}
            for w in known:
                self._words.move_to_end(w)
        known.update((w, self.vectors[self._own[w]]) for w in words if w not in known and w in self._own)
        lexicon = self.lexicon
        if lexicon is not None:
            known.update((w, v) for w in words if w not in known and (v := lexicon.get(w)) is not None)
        new = [w for w in words if w not in known]
        if new:
            known.update(zip(new, self.embedder.embed_passages(new)))
            with self._words_lock:
                self._words.update((w, known[w]) for w in new)
                while len(self._words) > WORD_CACHE:
                    self._words.popitem(last=False)
        return {w: known[w] for w in words}

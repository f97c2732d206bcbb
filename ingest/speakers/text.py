"""Text helpers shared by the cue extractors: folding, words, sentence ends, name mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from rapidfuzz.distance import Levenshtein

from ingest.models import Person
from ingest.names import fold, match_person

# Words (letters, inner hyphens); apostrophes split "d'Exatrust" into "d" and "Exatrust".
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
TERMINAL = re.compile(r"[.?!…]\s*$")

# Function words and talk fillers: never evidence of who speaks about what.
STOPWORDS = frozenset(fold(w) for w in ["a", "au", "aux", "avec", "ce", "ces", "cette", "cet", "c", "ca", "celle", "celui", "ceux", "d", "dans", "de", "des", "du", "elle", "elles", "en", "est", "et", "etre", "eux", "il", "ils", "je", "j", "l", "la", "le", "les", "leur", "leurs", "lui", "m", "ma", "mais", "me", "meme", "mes", "moi", "mon", "n", "ne", "ni", "nos", "notre", "nous", "on", "ou", "par", "pas", "plus", "pour", "qu", "que", "qui", "s", "sa", "se", "ses", "si", "son", "sur", "t", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos", "votre", "vous", "y", "a", "ete", "etait", "sont", "sera", "ont", "avait", "fait", "faire", "faut", "alors", "donc", "bon", "oui", "non", "voila", "effectivement", "justement", "quand", "meme", "tres", "aussi", "bien", "tout", "tous", "toute", "toutes", "comme", "peut", "peu", "encore", "deja", "apres", "avant", "parce", "puisque", "enfin", "finalement", "aujourd", "hui", "demain", "ici", "la-dessus", "ainsi", "entre", "vers", "chez", "sans", "sous", "ans", "fois", "chose", "choses", "quelque", "quelques", "autre", "autres", "beaucoup", "cela", "celle-ci", "ceux-la", "va", "vont", "avoir", "dit", "dire", "vraiment", "certain", "certains", "certaine", "certaines", "point", "niveau", "sujet", "question", "questions"])

_stemmer = Stemmer.Stemmer("french")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """French Snowball stem of a folded word ('avocate' and 'avocat' meet)."""
    return str(_stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """The words of a line, case kept."""
    return WORD.findall(text)


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry topic: folded, not stopwords, at least 4 letters."""
    out = []
    for w in words(text):
        f = fold(w)
        if len(f) >= 4 and f not in STOPWORDS:
            out.append(stem(f))
    return out


def ends_sentence(text: str) -> bool:
    """True when the line closes a sentence (., ?, !, …)."""
    return bool(TERMINAL.search(text))


@dataclass(frozen=True)
class Mention:
    """A roster member named in a line, with where the name sits among the line's words."""

    person: Person
    first_word: int
    last_word: int


def mentions(text: str, roster: list[Person]) -> list[Mention]:
    """Roster members the line names (capitalised words, alone or paired), fuzzily matched."""
    ws = words(text)
    found: list[Mention] = []
    i = 0
    while i < len(ws):
        if not ws[i][:1].isupper() or len(ws[i]) < 3:
            i += 1
            continue
        # A capitalised pair first ("Louis Sorris"), then the word alone ("Alain", "Marcaplan").
        if i + 1 < len(ws) and ws[i + 1][:1].isupper():
            p = match_person(f"{ws[i]} {ws[i + 1]}", roster)
            if p:
                found.append(Mention(p, i, i + 1))
                i += 2
                continue
        p = match_person(ws[i], roster) or _sounds_like(ws[i], roster)
        if p:
            found.append(Mention(p, i, i))
        i += 1
    return found


# Verbs of reported speech: a guest named right after one is being quoted ("ce que dit Emine", "comme le
# disait Julien"), so whoever speaks is someone else.
REPORTING = frozenset({"dit", "disait", "dire", "rejoins", "rejoint", "souligne", "soulignait", "rappelait",
                       "expliquait", "evoquait"})
# How close (0-100) a quoted first name must be when no roster name matches: quoted names are the subtitles'
# worst spellings ("Emine" for Imène), and a wrong match here only says who is *not* speaking.
QUOTED_MATCH = 60.0


def quoted(text: str, roster: list[Person], named: list[Mention] | None = None) -> set[str]:
    """Roster members the line quotes: a capitalised word at most two words after a reporting verb, matched
    strictly first (the line's `mentions`, found again when not given), then loosely by first name (edit
    similarity: the best unique match at QUOTED_MATCH or more)."""
    ws = words(text)
    named = mentions(text, roster) if named is None else named

    def reported(i: int) -> bool:
        return i > 0 and bool(REPORTING.intersection(fold(x) for x in ws[max(0, i - 2):i]))

    out = {m.person.name for m in named if reported(m.first_word)}
    # The words a mention holds, and its second word when it is a pair ("comme le disait Louis Sorris").
    covered = {i for m in named for i in range(m.first_word, m.last_word + 1)}
    for i, w in enumerate(ws):
        if i in covered or not w[:1].isupper() or len(w) < 3 or not reported(i):
            continue
        scored = sorted(((100 * Levenshtein.normalized_similarity(fold(w), fold(q.first_name)), q.name) for q in roster), reverse=True)
        if scored and scored[0][0] >= QUOTED_MATCH and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            out.add(scored[0][1])
    return out


def _phonetic(word: str) -> str:
    """A crude French sound key: subtitles write Imène as "Ymen", Éric as "Erik"."""
    w = fold(word).replace("y", "i").replace("k", "c").replace("ph", "f")
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def _sounds_like(word: str, roster: list[Person]) -> Person | None:
    """The roster member whose first name sounds like `word` (same sound key), if exactly one."""
    key = _phonetic(word)
    if len(key) < 3:
        return None
    hits = [p for p in roster if _phonetic(p.first_name) == key]
    return hits[0] if len(hits) == 1 else None

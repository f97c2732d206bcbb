"""One canonical name per person, whatever the subtitles or labels made of it (Imen, Morel, Marcaplan...)."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from ingest.models import Person

# Below this similarity (0-100) a mention is not taken to be a roster member.
MATCH_THRESHOLD = 80.0


_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lowercase, strip accents and punctuation: 'Décrope' and 'decrope' compare equal."""
    if text.isascii():  # nothing to decompose (a question's words are folded in every span they are in)
        return _NOT_ALNUM.sub(" ", text.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_ALNUM.sub(" ", bare.lower()).strip()


def slug(text: str) -> str:
    """A file- and URL-safe id: 'SMART TECH' -> 'smart-tech'."""
    return fold(text).replace(" ", "-")


# Titles the host puts before a name ("Maître Louis Soris").
_HONORIFICS = {"maitre", "me", "monsieur", "madame", "mme", "m", "dr", "docteur", "professeur", "cher", "chere"}


def _word_score(word: str, part: str, sounds: tuple[str, str] | None = None) -> float:
    """Similarity of one spoken word to one name part, strict for short words. `sounds`: the two `_phonetic`
    keys when the caller already has them (`rag.understand.Roster` scores each new word against every part)."""
    if word == part:
        return 100.0
    if len(word) >= 4 and (part.startswith(word) or word.startswith(part)) and abs(len(word) - len(part)) <= 1:
        return 90.0  # Imen / Imène
    if len(word) >= 5:
        # Sound-alike spellings the subtitles produce: Morel/Maurel, Sorris/Soris.
        word_sound, part_sound = sounds or (_phonetic(word), _phonetic(part))
        sound = fuzz.ratio(word_sound, part_sound)
        return max(fuzz.ratio(word, part), sound if sound >= 90 else 0.0)
    return 0.0


def _phonetic(word: str) -> str:
    """A crude French sound key: au/eau/o alike, doubled letters single, silent final letters gone."""
    w = word.replace("eau", "o").replace("au", "o").replace("ph", "f").replace("qu", "k").replace("c", "k")
    w = re.sub(r"(.)\1+", r"\1", w)
    return re.sub(r"(es|e|s|t|x)$", "", w) or w


def name_score(mention: str, person: Person) -> float:
    """How well `mention` names `person`, 0-100; full names, last names and first names all count."""
    m = " ".join(w for w in fold(mention).split() if w not in _HONORIFICS)
    if not m:
        return 0.0
    candidates = {fold(person.name), *(fold(a) for a in person.aliases)}
    best = 0.0
    for cand in candidates:
        parts = cand.split()
        glued = cand.replace(" ", "")
        best = max(best, fuzz.ratio(m, cand), fuzz.ratio(m.replace(" ", ""), glued))
        if len(m.split()) == 1 and len(m) >= 3:
            # A lone word names someone by first or last name; short words need a near-exact match.
            best = max(best, _word_score(m, parts[0]), _word_score(m, parts[-1]))
        elif len(m.split()) >= 2:
            # 'Dorothée Descroppes': the first name must match well, the surname loosely.
            mp = m.split()
            if len(parts) >= 2 and _word_score(mp[0], parts[0]) >= 85:
                best = max(best, 0.5 * _word_score(mp[0], parts[0]) + 0.5 * _word_score(mp[-1], parts[-1]))
    return best


def match_person(mention: str, roster: list[Person], threshold: float = MATCH_THRESHOLD) -> Person | None:
    """The roster member `mention` most likely names, or None when nobody is close enough."""
    scored = sorted(((name_score(mention, p), i) for i, p in enumerate(roster)), reverse=True)
    if not scored or scored[0][0] < threshold:
        return None
    # Two people matching equally well (two Juliens) is no match at all.
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return roster[scored[0][1]]


def canonical(mention: str, roster: list[Person]) -> str | None:
    """The canonical name for a mention, or None."""
    person = match_person(mention, roster)
    return person.name if person else None

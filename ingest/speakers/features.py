"""General, episode-independent features of a unit: does it sound like the host or a guest, and
what does it say about who speaks next or who is speaking?

Every feature is a habit of a hosted talk show (greeting, giving the floor, asking, answering,
speaking for oneself), never a topic word of a particular episode: the weights over them are
learned on labelled episodes (see `train`) and must carry over to new ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ingest.models import Person
from ingest.names import fold
from ingest.speakers.cues import (
    ANSWER_START,
    ANSWERS_OTHER,
    GUEST_PATTERNS,
    HOST_PATTERNS,
    INTERRUPTED,
    REBOUND,
    REPLY,
    SELF_ROLE,
    role_stems,
)
from ingest.speakers.text import mentions, quoted, stem, words
from ingest.speakers.units import Unit

# Style words: pronouns, discourse markers and fillers (never topic words).
STYLE_WORDS = ("je", "j", "moi", "me", "mon", "ma", "mes", "nous", "notre", "nos", "on", "vous", "votre", "vos",
               "tu", "il", "ils", "elle", "c", "est", "ca", "oui", "non", "alors", "donc", "mais", "et", "parce",
               "effectivement", "justement", "voila", "bon", "enfin", "exactement", "absolument", "merci",
               "bonjour", "quoi", "pourquoi", "comment", "qu", "est-ce", "peut-etre", "aujourd", "vraiment",
               "clairement", "forcement", "fait", "faut", "pense", "crois", "dire", "vois", "sais")
QUESTION_WORDS = re.compile(r"\b(est-ce que|est ce que|pourquoi|comment|qu est-ce|qu est ce|quel|quelle|quels|quelles|"
                            r"combien|ou en est|vous pensez|vous dites|c est-a-dire|c est a dire)\b")
# Words before a name that make it the topic of the sentence, not the addressee ("parce qu'Alain nous dit").
ABOUT = frozenset({"pour", "a", "dit", "disait", "de", "comme", "avec", "qu"})
TOPIC_SHIFT = re.compile(r"\b(on va|je voulais|passons|on passe|on termine|on commence|autre sujet|"
                         r"un point|on parle|parlons|on enchaine|revenons|revenir)\b")


# The host opening a new subject: she then holds the floor until she asks or names someone.
OPENS_SUBJECT = re.compile(r"\b(on enchaine|on va parler|on commence avec|on termine avec|on passe a|passons a|"
                           r"on va passer a|autre sujet|je voulais qu on (fasse|parle))\b")
# "On va parler de X tout à l'heure": a subject announced for later, not opened.
LATER = re.compile(r"\b(tout a l heure|plus tard|ensuite|apres)\b")
# The longest stretch (units) such an opening may carry.
SUBJECT_SPAN = 60


def subject_openings(units: list[Unit], infos: list[UnitInfo], p_host: np.ndarray) -> np.ndarray:
    """Per unit, True while the host is presenting a subject: from a unit that opens one (and sounds
    like her: guests say "on va parler de X tout à l'heure" too) up to the first unit that asks a
    question or hands the floor over (both included)."""
    out = np.zeros(len(units), dtype=bool)
    t = 0
    while t < len(units):
        # Subtitle fragments cut "on termine | avec ...": read a unit with the next one.
        text = fold(" ".join(u.text for u in units[t:t + 2 if units[t].loose else t + 1]))
        if p_host[t] < 0.5 or not OPENS_SUBJECT.search(text) or LATER.search(text):
            t += 1
            continue
        end = t
        while end < min(len(units), t + SUBJECT_SPAN):
            out[end] = True
            if end > t and (infos[end].question or infos[end].floor):
                break
            end += 1
        t = end + 1
    return out


@dataclass
class UnitInfo:
    """What the decoder needs about one unit besides its feature vector."""

    question: bool = False
    names_host: bool = False
    named: set[str] = field(default_factory=set)   # roster guests named (nobody names themselves)
    floor: dict[str, float] = field(default_factory=dict)  # guest handed the floor by name -> 0..1
    # Guests the unit thanks or greets by name: each may answer with a word ("Merci à tous", "Bonjour").
    addressed: set[str] = field(default_factory=set)
    answers: str | None = None  # a one-word reply: the guest greeted or thanked just before (see `pointers`)
    self_desc: dict[str, float] = field(default_factory=dict)
    reply: bool = False
    rebound: bool = False
    answers_other: bool = False  # "pour rebondir à ce que vous disiez": not the guest who spoke last
    quoted: set[str] = field(default_factory=set)  # guests quoted ("ce que dit Emine"): not the speaker


def _bucket(n: int) -> list[float]:
    return [float(n <= 2), float(3 <= n <= 6), float(7 <= n <= 15), float(n > 15)]


def feature_names() -> list[str]:
    """Names of the feature vector's columns, in order (for the weights file and debugging)."""
    names = ["bias", "w<=2", "w3-6", "w7-15", "w>15", "loose", "ends?", "has?", "qword", "topic_shift",
             "answer_start", "reply", "rebound", "interrupted", "names_host", "names_guest", "floor",
             "greets", "self_desc", "first5%", "last5%", "lower_start", "comma_end"]
    names += [f"host_re{i}" for i in range(len(HOST_PATTERNS))]
    names += [f"guest_re{i}" for i in range(len(GUEST_PATTERNS))]
    names += [f"w:{w}" for w in STYLE_WORDS]
    return names


def unit_features(units: list[Unit], roster: list[Person], host: Person | None,
                  n_lines: int) -> tuple[np.ndarray, list[UnitInfo]]:
    """Feature matrix (units x features) and the per-unit facts the decoder uses."""
    guests = [p for p in roster if not p.is_host]
    stems_of = {p.name: role_stems(p) for p in guests}
    rows: list[list[float]] = []
    infos: list[UnitInfo] = []
    # The host greets each guest once, when introducing them; a later "Bonjour Éric" is another guest
    # greeting Éric as they take the floor ("Julien, une question pour Éric ?" / "Bonjour Éric. Oui...").
    greeted: set[str] = set()
    for u in units:
        text = u.text
        folded = fold(text)
        ws = words(text)
        fw = [fold(w) for w in ws]
        info = UnitInfo(question="?" in text[-3:], reply=bool(REPLY.match(folded)),
                        rebound=bool(REBOUND.search(folded)), answers_other=bool(ANSWERS_OTHER.search(folded)))
        named = mentions(text, roster)
        info.quoted = {n for n in quoted(text, roster, named) if not (host and n == host.name)}
        greets = 0.0
        for m in named:
            if host and m.person.name == host.name:
                info.names_host = True
                continue
            name = m.person.name
            info.named.add(name)
            around = " ".join(fw[max(0, m.first_word - 3):m.last_word + 4])
            before = fw[max(0, m.first_word - 2):m.first_word]
            edge = m.last_word >= len(ws) - 2 or m.first_word == 0
            if "merci" in around:
                strength = 0.1
                info.addressed.add(name)
            elif "bonjour" in around and name in greeted:
                strength = 0.1  # a guest greeting a guest already welcomed: not the host, not a hand-over
            elif "bonjour" in around:
                strength, greets = 0.8, 1.0
                info.addressed.add(name)
                greeted.add(name)
            elif ABOUT.intersection(before):
                # "une question pour Éric", "ce que disait Imen": spoken about, not handed the floor.
                strength = 0.1
            elif edge:
                strength = 1.0  # "Alain ?", "Julien, une question...", "... Dorothée."
            elif info.question:
                strength = 0.6
            else:
                strength = 0.4
            info.floor[name] = max(info.floor.get(name, 0.0), strength)
        if SELF_ROLE.search(folded) and "vous etes" not in folded:
            st = {stem(w) for w in fw if len(w) >= 4}
            for name, rs in stems_of.items():
                if rs & st and name not in info.named:
                    info.self_desc[name] = 1.0
        pos = u.first / max(1, n_lines)
        counts = {w: 0 for w in STYLE_WORDS}
        for w in fw:
            if w in counts:
                counts[w] += 1
        row = [1.0, *_bucket(len(ws)), float(u.loose), float(info.question), float("?" in text),
               float(bool(QUESTION_WORDS.search(folded))), float(bool(TOPIC_SHIFT.search(folded))),
               float(bool(ANSWER_START.search(folded))), float(info.reply), float(info.rebound),
               float(bool(INTERRUPTED.search(text))), float(info.names_host), float(bool(info.named)),
               max(info.floor.values(), default=0.0), greets, float(bool(info.self_desc)),
               float(pos < 0.05), float(pos > 0.95), float(text[:1].islower()), float(text.rstrip().endswith(","))]
        row += [float(bool(p.search(folded))) for p in HOST_PATTERNS]
        row += [float(bool(p.search(folded))) for p in GUEST_PATTERNS]
        row += [min(counts[w], 3) / 3 for w in STYLE_WORDS]
        rows.append(row)
        infos.append(info)
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(feature_names())), infos

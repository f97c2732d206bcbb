"""What a careful listener notices in one subtitle line, before deciding who says it.

Every cue is a general habit of a hosted talk show, never a phrase of one particular episode:
the host greets, introduces, asks, thanks, changes topic and gives the floor by name; guests greet
the host back, answer, and describe themselves ("moi, je suis avocat", "nous, notre plateforme").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.models import Person, SpeechLine
from ingest.names import fold
from ingest.speakers.text import ends_sentence, mentions, stem, words

# The host running the show: greetings to all, the show's furniture, topic changes, polls, time keeping.
HOST_PATTERNS = [re.compile(p) for p in (
    r"\bbonjour a tous\b", r"\bbienvenue\b", r"\bvous (nous )?regardez\b", r"\ben direct\b", r"\bdebrief",
    r"\bemission\b", r"\bon se retrouve\b", r"\bexcellente (journee|semaine|soiree)\b", r"\ba tres vite\b",
    r"\bon va (parler|passer|s interesser|regarder|commenter|confronter|s arreter|terminer|finir)\b",
    r"\bon commence\b", r"\bon passe\b", r"\bpassons\b", r"\bon termine\b", r"\bon enchaine\b",
    r"\bje voulais\b", r"\bvous faire reagir\b", r"\bje rappelle\b", r"\bje precise\b", r"\bj invite\b",
    r"\bmerci (beaucoup|a tous|a vous|a toutes)\b", r"\bmerci aux\b",
    r"\bcartons? (rouges?|verts?)\b", r"\brapidement\b", r"\bs il vous plait\b", r"\btour de table\b",
    r"\bune question\b", r"\breaction\b", r"\bqui veut\b", r"\bselon vous\b", r"\bvotre (regard|avis|reaction)\b",
    r"\bqu en pensez\b", r"\bvous en pensez\b", r"\bexpliquez\b", r"\bdites[- ]nous\b", r"\bvous dites quoi\b",
    r"\bvous etes (le|la|l|docteur|president|presidente|directeur|directrice|experte?|fondat|cofondat|avocate?)\b",
    r"\bvous repondez\b", r"\bavec nous\b", r"\bautour de la table\b", r"\ben plateau\b",
    # The host addresses the guests ("vous") and opens her moves with "alors".
    r"\bvous\b", r"^(et )?alors\b",
)]
# A guest answering or speaking for themselves or their organisation.
GUEST_PATTERNS = [re.compile(p) for p in (
    r"\bje pense\b", r"\bje crois\b", r"\ba mon avis\b", r"\bmoi je\b", r"\bnous on\b", r"\bchez nous\b",
    r"\bnotre\b", r"\bnos clients\b", r"\bma profession\b", r"\bmon cabinet\b", r"\bmon entreprise\b",
    r"\bje suis (d accord|persuade|convaincu|absolument)\b",
    # Explaining, arguing: the guests' fillers.
    r"\beffectivement\b", r"\bdonc\b", r"\bil faut\b", r"\bil y a\b", r"\btres\b", r"\bcomme\b",
    r"\bvoila\b", r"\ben fait\b",
)]
# Short answers open a guest's reply more often than the host's line.
ANSWER_START = re.compile(r"^(oui|non|absolument|exactement|tout a fait|c est ca|bien sur)\b")
FIRST_PERSON = re.compile(r"\b(moi|je|j|nous|notre|nos|mon|ma|mes)\b")
SELF_ROLE = re.compile(r"\b(je suis|en tant qu|moi|nous sommes|on est|nous on)\b")
THANKS = re.compile(r"\bmerci\b")
GREETING = re.compile(r"\bbonjour\b")
# A guest taking the floor from another guest, not from the host.
REBOUND = re.compile(r"\b(pour rebondir|je rebondis|pour completer|je rejoins|je vous rejoins|comme (le )?disait)\b")
# A bare reply: answers a greeting or a question, so it is not the greeter's or asker's line.
REPLY = re.compile(r"^(bonjour|bonsoir|merci|oui|non|absolument|exactement|tout a fait|c est ca|bien sur)"
                   r"( (delphine|beaucoup|oui|non|bien sur))*$")
INTERRUPTED = re.compile(r"(\.\.\.|…)\s*$")
QUESTION = re.compile(r"\?\s*$")


@dataclass
class LineCues:
    """Cues of one line: host/guest style, names said, floor given, self-descriptions."""

    host_style: float = 0.0        # > 0 sounds like the host, < 0 like a guest
    names_host: bool = False      # says the host's first name: a guest talking to her
    named: set[str] = field(default_factory=set)        # roster names said (nobody names themselves)
    floor: dict[str, float] = field(default_factory=dict)  # guest given the floor -> strength 0..1
    greets: dict[str, float] = field(default_factory=dict)  # guest greeted by name
    self_desc: dict[str, float] = field(default_factory=dict)  # "moi, je suis avocat" -> that guest
    question: bool = False
    rebound: bool = False         # "pour rebondir": a guest answering another guest
    reply: bool = False           # "Bonjour.", "Oui.": a bare reply
    interrupted: bool = False
    continues: bool = False       # starts lowercase or the previous line left its sentence open
    words: int = 0


def _sentence_of(text: str, word_index: int) -> str:
    """The sentence of the line that holds word number `word_index`."""
    parts = re.split(r"(?<=[.?!…])\s+", text)
    seen = 0
    for part in parts:
        n = len(words(part))
        if word_index < seen + n:
            return part
        seen += n
    return parts[-1] if parts else text


def _role_stems(person: Person) -> set[str]:
    """Stems of what a guest is (role) and works for (affiliation): 'avocat', 'wavestone'."""
    out = set()
    for w in words(f"{person.role} {person.affiliation}"):
        f = fold(w)
        if len(f) >= 4 and f not in {"fondateur", "cofondateur", "dirigeant", "generale", "general", "groupe",
                                     "cabinet", "partner", "education"}:
            out.add(stem(f))
    return out


def line_cues(lines: list[SpeechLine], roster: list[Person], host: Person | None) -> list[LineCues]:
    """The cues of every line, in order."""
    guests = [p for p in roster if not p.is_host]
    role_stems = {p.name: _role_stems(p) for p in guests}
    out: list[LineCues] = []
    prev_open = False
    for sl in lines:
        text = sl.text
        folded = fold(text)
        ws = words(text)
        c = LineCues(words=len(ws))
        c.question = bool(QUESTION.search(text))
        c.interrupted = bool(INTERRUPTED.search(text))
        c.rebound = bool(REBOUND.search(folded))
        c.reply = bool(REPLY.match(folded))
        c.continues = prev_open or (text[:1].islower())
        prev_open = not ends_sentence(text)

        style = sum(0.5 for p in HOST_PATTERNS if p.search(folded))
        style -= sum(0.5 for p in GUEST_PATTERNS if p.search(folded))
        if ANSWER_START.search(folded) and not c.question:
            style -= 0.25
        if c.question:
            style += 0.5
        if "?" in text:
            style += 0.5
        for m in mentions(text, roster):
            if host and m.person.name == host.name:
                c.names_host = True
                continue
            name = m.person.name
            c.named.add(name)
            sentence = fold(_sentence_of(text, m.first_word))
            others = len(ws) - (m.last_word - m.first_word + 1)
            if THANKS.search(sentence):
                strength = 0.1  # thanking is closing their turn, not opening one
            elif GREETING.search(sentence):
                strength = 0.8
                c.greets[name] = 1.0
            elif others <= 2 or m.first_word == 0 or QUESTION.search(_sentence_of(text, m.first_word)):
                strength = 1.0  # "Alain ?", "Allez Julien.", "Dorothée, on en est où ?"
            elif re.search(r"\bpour\b", sentence) and "question" in sentence:
                strength = 0.5  # "une question pour Éric": he will answer, later
            else:
                strength = 0.3
            c.floor[name] = max(c.floor.get(name, 0.0), strength)
            style += 0.75
        if c.names_host:
            style -= 1.5
        # Speaking of oneself: a first-person marker and one's own role or company.
        if SELF_ROLE.search(folded) or FIRST_PERSON.search(folded):
            stems = {stem(fold(w)) for w in ws if len(w) >= 4}
            strong = bool(SELF_ROLE.search(folded))
            for name, rs in role_stems.items():
                if rs & stems and name not in c.named and not re.search(r"\bvous etes\b", folded):
                    c.self_desc[name] = 1.0 if strong else 0.5
        c.host_style = style
        out.append(c)
    return out

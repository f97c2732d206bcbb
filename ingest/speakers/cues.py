"""Cue patterns a careful listener notices in an utterance, before deciding who says it.

Every cue is a general habit of a hosted talk show, never a phrase of one particular episode:
the host greets, introduces, asks, thanks, changes topic and gives the floor by name; guests greet
the host back, answer, and describe themselves ("moi, je suis avocat", "nous, notre plateforme").
"""

from __future__ import annotations

import re

from ingest.models import Person
from ingest.names import fold
from ingest.speakers.text import stem, words

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
# Answering what someone else just said ("Juste pour rebondir à ce que vous disiez"): the speaker is not the
# guest who said it.
# ("là où je vous rejoins" is not one: 06-19 27:30, Dorothée Decrop agreeing in the middle of her own turn.)
ANSWERS_OTHER = re.compile(r"\b(rebondir|rebondis|reagir) (a|sur) ce que (vous|tu) (disiez|dites|avez dit|venez de dire)\b")
INTERRUPTED = re.compile(r"(\.\.\.|…)\s*$")
QUESTION = re.compile(r"\?\s*$")


def role_stems(person: Person) -> set[str]:
    """Stems of what a guest is (role) and works for (affiliation): 'avocat', 'wavestone'."""
    out = set()
    for w in words(f"{person.role} {person.affiliation}"):
        f = fold(w)
        if len(f) >= 4 and f not in {"fondateur", "cofondateur", "dirigeant", "generale", "general", "groupe",
                                     "cabinet", "partner", "education"}:
            out.add(stem(f))
    return out

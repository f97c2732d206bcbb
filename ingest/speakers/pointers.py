"""Words that point at one guest without naming them, and the one-word replies to a greeting or thanks.

The host does not always hand over by name: "je voulais interroger l'avocat", "sur la cybersécurité"
(to the head of a cybersecurity group). Guests place themselves the same way: "en tant qu'avocat",
"nous, on est une petite start-up". Each guest's pointers are the words of their role, company and
the host's introduction of them that no other guest's introduction shares. And "Bonjour." right after
"Dorothée Décrope, bonjour." is Dorothée's, "Merci à tous." after "merci, Marc" is Marc's.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.models import Person
from ingest.names import fold
from ingest.speakers.cues import SELF_ROLE, role_stems
from ingest.speakers.features import UnitInfo
from ingest.speakers.text import content_stems, stem, words
from ingest.speakers.units import Unit

# What a host says around an introduction that is not about the guest.
TALK = frozenset(stem(w) for w in (
    "plaisir", "retrouver", "point", "points", "sujet", "sujets", "habitude", "confronter", "semaine", "discussion",
    "lancer", "connecte", "connectee", "avons", "table", "ensemble", "aujourd", "rappelle", "cher", "chere",
    "bienvenue", "merci", "face", "egalement", "aussi", "nouveau", "nouvelle", "plateau", "studio", "parler",
    # Adverbs of an introduction's sentence ("startup qui réinvente forcément la sécurité"): their stems ("forc")
    # match any later "forces" or "vraie", and a host's question then points at that guest.
    "forcement", "vraiment", "notamment", "evidemment", "justement", "effectivement", "finalement", "clairement",
    "simplement", "absolument", "totalement", "completement", "directement", "exactement", "largement",
    "seulement", "rapidement", "recemment", "actuellement", "generalement", "particulierement", "reellement",
    "personnellement", "certainement", "naturellement", "enormement", "profondement"))
# How strongly a question pointing at a guest's role hands them the floor (a name at the edge is 1.0).
POINTED_FLOOR = 0.5
# The host turning to someone: "je voulais interroger l'avocat", "vous faire réagir", "De quels capteurs
# quantiques parlent-ils ? Expliquez-nous." (to the quantum guest).
ASKS = re.compile(r"\b(interroger|demander|faire reagir|une question|expliquez nous|dites nous|racontez nous)\b")
# How many units back a one-word reply looks for the greeting or thanks it answers.
REPLY_REACH = 4


def _joined(x: str) -> str:
    """"start-up", "start up" and "startup" are one word."""
    return x.replace("-", "").replace(" ", "")


def stems(text: str) -> set[str]:
    """Content stems of a text, with compounds joined."""
    return {_joined(x) for x in content_stems(text)}


def profiles(guests: list[Person], seeds: list[str], roster: list[Person]) -> list[set[str]]:
    """Per guest, the stems that point at them only: their role, company and the host's introduction
    (`seeds`), minus what the introductions share, talk-show furniture and everyone's names."""
    names = {stem(fold(w)) for p in roster for w in words(p.name)}
    own = [stems(f"{p.role} {p.affiliation} {seed}") - names - TALK for p, seed in zip(guests, seeds, strict=True)]
    shared = Counter(x for st in own for x in st)
    return [{x for x in st if shared[x] == 1} | {_joined(x) for x in role_stems(p)}
            for st, p in zip(own, guests, strict=True)]


def add_pointers(units: list[Unit], infos: list[UnitInfo], guests: list[Person], seeds: list[str],
                 roster: list[Person]) -> None:
    """Complete each unit's floor, self-description and reply cues in place (see the module doc)."""
    profile = profiles(guests, seeds, roster)
    for t, (u, info) in enumerate(zip(units, infos, strict=True)):
        st = stems(u.text)
        folded = fold(u.text)
        pointed = [g.name for g, pr in zip(guests, profile, strict=True) if pr & st]
        if (info.question or ASKS.search(folded)) and not info.floor and len(pointed) == 1:
            info.floor[pointed[0]] = POINTED_FLOOR
        if SELF_ROLE.search(folded) and "vous etes" not in folded and len(pointed) == 1:
            info.self_desc.setdefault(pointed[0], 1.0)
        if info.reply:
            before = [infos[k].addressed for k in range(max(0, t - REPLY_REACH), t) if infos[k].addressed]
            if before and len(before[-1]) == 1:
                info.answers = next(iter(before[-1]))

"""Who can speak when: remote guests the description forgot, when each guest arrives and leaves.

The description line names the studio guests; a remote guest ("on est connecté avec Eric Haddad")
is often missing from it. A remote guest usually talks about the first topic only, and leaves when
the host thanks them by name well before the end of the show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.models import Person, SpeechLine, Transcript
from ingest.names import fold, match_person
from ingest.speakers.text import mentions, words

# The host saying a guest is not on the set.
REMOTE_CUE = re.compile(r"\b(connecte|connectee|en ligne|en duplex|a distance|en visio|en visioconference|"
                        r"par telephone|nous rejoint|en liaison)\b")
# "Vous êtes le président exécutif de NumSpot" — the host describing the guest she just greeted.
ROLE_CUE = re.compile(r"\b(?i:vous [êe]tes) (?:le |la |l'|un |une )?(?P<role>[^,.;?]{3,60}?) (?:de |d'|chez |du )"
                      r"(?P<aff>[A-Z][\w-]+(?: [A-Z][\w-]+)?)")
# A guest thanked this far before the end has left (the closing thanks everyone, that is no departure).
DEPARTURE_MIN_REMAINING = 0.15
# Lines a leaving guest may still say ("Merci à tous") after the host's thanks.
DEPARTURE_GRACE = 3
# How many lines after naming a guest the host's introduction of them may run.
INTRO_SPAN = 4


@dataclass
class Presence:
    """When each roster member may speak: [arrive, leave) as indexes into transcript.lines."""

    arrive: dict[str, int] = field(default_factory=dict)
    leave: dict[str, int] = field(default_factory=dict)
    remote: set[str] = field(default_factory=set)
    # The host's own words introducing each guest: a first idea of what they will talk about.
    intro: dict[str, list[str]] = field(default_factory=dict)

    def available(self, name: str, index: int) -> bool:
        """Whether `name` can be speaking line number `index` (0-based in transcript.lines)."""
        return self.arrive.get(name, 0) <= index < self.leave.get(name, 1 << 30)


def _new_name(text: str, roster: list[Person]) -> str | None:
    """A capitalised first+last name right after a remote cue, not already on the roster."""
    ws = words(text)
    folded = [fold(w) for w in ws]
    for i, w in enumerate(folded):
        if w not in {"avec", "rejoint", "connecte", "connectee"}:
            continue
        j = i + 1
        name: list[str] = []
        while j < len(ws) and ws[j][:1].isupper() and len(name) < 3:
            name.append(ws[j])
            j += 1
        if len(name) >= 2 and not match_person(" ".join(name), roster):
            return " ".join(name)
    return None


def _role(lines: list[SpeechLine], start: int) -> tuple[str, str]:
    """The role and affiliation the host gives in the lines after an introduction, if she does."""
    for sl in lines[start:start + INTRO_SPAN + 2]:
        m = ROLE_CUE.search(sl.text.replace("\u2019", "'"))
        if m:
            return m.group("role").strip(), m.group("aff").strip()
    return "", ""


def extend_roster(transcript: Transcript) -> list[Person]:
    """Add remote guests the host introduces but the description leaves out; returns those added."""
    meta = transcript.meta
    added: list[Person] = []
    for i, sl in enumerate(transcript.lines):
        if not REMOTE_CUE.search(fold(sl.text)):
            continue
        name = _new_name(sl.text, meta.roster)
        if name:
            role, aff = _role(transcript.lines, i)
            person = Person(name=name, role=role, affiliation=aff)
            meta.guests.append(person)
            added.append(person)
    return added


def presence(transcript: Transcript) -> Presence:
    """When each guest arrives (first named), whether they are remote, and when a remote guest leaves."""
    roster = transcript.meta.roster
    host = transcript.meta.host
    n = len(transcript.lines)
    pres = Presence()
    for i, sl in enumerate(transcript.lines):
        named = {m.person.name for m in mentions(sl.text, roster)}
        folded = fold(sl.text)
        for name in named:
            if host and name == host.name:
                continue
            if name not in pres.arrive:
                # They may answer the greeting on the very line after being named.
                pres.arrive[name] = i + 1
                pres.intro[name] = [x.text for x in transcript.lines[i:i + INTRO_SPAN]]
                if REMOTE_CUE.search(folded):
                    pres.remote.add(name)
            elif (name in pres.remote and name not in pres.leave and "merci" in folded.split()
                  and n - i > DEPARTURE_MIN_REMAINING * n):
                pres.leave[name] = i + 1 + DEPARTURE_GRACE
    return pres

"""Question → what to search for: the topic, the speakers and episodes it names, its language.

Follow-ups ("and what did she say about data centers?", "et Audrey Maurel ?") are resolved against the
previous user questions: a pronoun or an elliptical question carries over the speaker, a question with no
topic of its own carries over the topic, and an episode filter stays until another is named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from ingest.models import EpisodeMeta, Person
from ingest.names import _HONORIFICS, _phonetic, _word_score, fold
from rag.types import Filters, Message

# Function words of one language only ("a" is both: "Who gave a red card?", "Qu'a dit Pillot ?").
EN_WORDS = {"what", "did", "does", "do", "say", "said", "about", "the", "who", "which", "how", "is", "are", "was",
            "were", "and", "of", "think", "on", "in", "episode", "talk", "mention", "why", "when", "they", "she", "he",
            "his", "her", "an", "to", "for", "with", "from", "by", "any", "anyone", "someone", "has", "have", "it",
            "that", "this", "there", "their", "you", "we", "can", "will", "would", "should", "could", "gave", "give"}
FR_WORDS = {"qu", "que", "quoi", "dit", "sur", "le", "la", "les", "des", "du", "est", "et", "qui", "pense", "parlé",
            "elle", "il", "t", "de", "quel", "quelle", "pourquoi", "comment", "épisode", "émission", "ont", "un",
            "une", "ce", "cette", "ces", "au", "aux", "pour", "par", "avec", "dans", "ne", "pas", "sont", "été",
            "était", "ils", "elles", "où", "lui", "leur", "son", "sa", "ses", "quels", "quelles", "y", "se"}

# Words that frame a question rather than name its topic. Compared folded (`fold`: "invités" -> "invites",
# "est-ce" -> "est ce"), as the question's words are.
FRAME_WORDS = frozenset(fold(w) for w in {
    "what", "did", "does", "do", "say", "said", "says", "about", "the", "who", "whom", "which", "how", "is", "are",
    "was", "were", "think", "thinks", "thought", "of", "on", "in", "talk", "talked", "mention", "mentioned", "tell",
    "me", "and", "also", "else", "episode", "show", "there", "anything", "something", "according", "to", "view",
    "views", "opinion", "a", "an", "their", "his", "her", "she", "he", "they", "them", "guests", "guest", "debriefers", "débriefeurs",
    "qu", "que", "quoi", "dit", "dire", "sur", "le", "la", "les", "l", "des", "du", "de", "d", "est", "et", "qui",
    "pense", "pensent", "penser", "parlé", "parle", "t", "il", "elle", "ils", "elles", "lui", "selon",
    "quel", "quelle", "quels", "quelles", "avis", "épisode", "émission", "aussi", "ont", "invités",
    "invité", "propos", "au", "aux", "en", "un", "une", "ce", "cette", "c", "s", "n", "y", "sujet", "évoqué",
    "raconte", "explique", "expliqué", "déclaré", "raised", "discuss", "discussed", "why", "when",
    "where", "much", "many", "can", "could", "would", "should", "will", "pourquoi", "comment", "quand", "où",
    "combien", "est-ce", "a-t-on", "t-on", "a-t-il", "a-t-elle", "ont-ils", "ont-elles", "peut-elle", "peut-il", "doit-il",
    "pensé", "vécu", "mean", "meant", "give", "gave", "ask", "asked", "both", "across",
    "episodes", "émissions", "deux", "two", "by", "for", "with", "from", "as", "at", "or", "ou", "dans", "par",
    "pour", "avec", "it", "its", "that", "this", "ces", "se", "sa", "son", "ses", "leur", "leurs", "t-il",
    "t-elle", "fait", "faire", "been", "be", "has", "have", "had", "not", "ne", "pas", "plus",
    "introduce", "présentez-moi", "présente-moi", "présentez-nous", "présentez", "présente", "sont", "était",
    "est-il", "est-elle", "sont-ils", "sont-elles", "était-il", "était-elle", "étaient",
})
# "the guests", "les invités": every guest, never the host (whose menu and questions name every subject).
# "Which guest...?", "Quel invité...?": the answer is a guest's words even though no guest is named.
GUESTS = re.compile(r"\b(?:the guests|guests|which guest|what guest|any guest|the panel|panellists|panelists|"
                    r"les invités|invités|quel invité|quelle invitée|lequel des invités|laquelle des invitées|"
                    r"débriefeurs|debriefers)\b",
                    re.IGNORECASE)
# "a-t-il répondu à Julien Pillot", "answered Julien Pillot": the person answered is who the question is not about.
ADDRESSEE = re.compile(r"\b(?:répondu|répond|répondre|answered|answers|answer|replied to|replies to|responded to|"
                       r"reply to|respond to)\s+(?:à\s+|to\s+)?((?:[A-ZÀ-Ý][\w'’-]*\s*){1,3})")
# "Who is X?", "What does X do?", "Qui est X ?", "Présentez-moi X": asked about a person, not about a topic.
_OPENER = r"^\s*(?:(?:and|et|so|alors|ok|okay)\b[\s,]*)?"  # "and who is she?" in a conversation
IDENTITY = re.compile(
    _OPENER + r"(?:who\s+(?:is|was|are|were)\b|who['’]s\b|what\s+(?:does|did)\b.*\bdo\s*\??\s*$|tell\s+me\s+about\b|"
    r"introduce\b|qui\s+(?:est|sont|était|étaient)\b|quel(?:le)?s?\s+(?:sont|étaient|était)\b|c['’]est\s+qui\b|"
    r"que\s+fait\b|présente[zr]?(?:-moi|-nous)?\b)",
    re.IGNORECASE,
)
# Words by which a question asks what someone said or thinks ("What did X say", "Qu'a pensé X", "selon X",
# "Does X agree"), not a fact about them ("Where did X work before?", "Quel est le parcours de X ?"). A fact about a
# guest is often only in the host's words when she introduces them (`Assistant.evidence`).
SAYING = re.compile(
    r"\b(?:say|said|says|tell|told|think|thinks|thought|believe|believes|agree|agrees|disagree|argue|argued|argues|"
    r"claim|claimed|warn|warned|warns|explain|explained|according|view|views|opinion|feel|feels|felt|react|reacted|"
    r"respond|responded|comment|commented|suggest|suggested|propose|proposed|recommend|recommended|expect|expects|"
    r"predict|call|called|mention|mentioned|raise|raised|describe|described|insist|critici[sz]e|critici[sz]ed|admit|"
    r"ask|asked|want|wants|hope|hopes|fear|fears|worry|worried|see|sees|consider|considers|stance|position|take|"
    r"dit|dire|dis|disait|pense|pensé|penser|pensait|estime|estimé|selon|d['’]après|avis|croit|explique|expliqué|"
    r"réagi|réagit|souligné|souligne|rappelé|affirme|juge|jugé|regrette|craint|propose|proposé|suggère|alerte|"
    r"alerté|prévient|évoqué|évoque|parlé|parle|raconte|demandé|demande|répond|répondu|veut|souhaite|attend|voit|"
    r"qualifie|défend|défendu|plaide|insiste|conseille|recommande|analyse|réaction|point de vue)\b",
    re.IGNORECASE,
)
# Words by which a question asks for a quantity ("How much was X fined?", "Combien de pays ont écrit ?", "Quel budget
# a été annoncé ?"): a passage that gives no figure does not answer it (`extractive.FIGURE`).
QUANTITY = re.compile(
    r"\b(?:how\s+(?:many|much|long|often|old)|what\s+(?:budget|amount|sum|number|price|cost|percentage|share|"
    r"figure|proportion|total)|combien|quel(?:le)?s?\s+(?:budget|montant|somme|nombre|prix|coût|pourcentage|durée|"
    r"chiffre|taux|proportion|total))\b",
    re.IGNORECASE,
)
# "Which lawyer was on the December show?", "Quel avocat était invité en juin ?": a role the roster resolves, asked
# who holds it. With only `ON_THE_SHOW` words left of the topic, it is answered as "who is X?".
WHICH_PERSON = re.compile(r"^\s*(?:which|what)\s+[\w-]+\b.*\b(?:was|were|took\s+part|appeared|joined)\b|"
                          r"^\s*quel(?:le)?s?\s+[\w-]+\b.*\b(?:était|étaient|faisai(?:t|ent)\s+partie|"
                          r"participai(?:t|ent)|invitée?s?)\b", re.IGNORECASE)
ON_THE_SHOW = frozenset(fold(w) for w in {
    "took", "part", "appeared", "joined", "panel", "faisait", "faisaient", "partie", "participait", "participaient",
    "débriefeurs", "chacune", "chacun", "invitée", "invitées", "invités", "invité", "table", "plateau"})
# "What was discussed in the June episode?", "Quels sont les sujets de l'émission du 11 décembre ?": what an episode
# covered. Its own words, and those of `EPISODES` (`INTENT_WORDS`), are no topic.
AGENDA = re.compile(
    _OPENER + r"(?:what\s+(?:was|were|is|are)\s+(?:discussed|covered|talked\s+about)\b|what\s+(?:topics|subjects|themes)\b|"
    r"which\s+(?:topics|subjects|themes)\b|what\s+did\s+they\s+(?:talk|discuss|cover)\b|"
    r"what\s+(?:was|is)\s+(?:the\s+)?(?:episode|show)\s+about\b|summari[sz]e\b|give\s+me\s+a\s+summary\b|"
    r"de\s+quoi\s+(?:a-t-on|ont-ils|on\s+a|avez-vous|a-t-il\s+été|parle)\b|quels?\s+(?:sont\s+)?(?:les\s+)?(?:sujets|thèmes)\b|"
    r"qu['’]est-ce\s+qui\s+a\s+été\s+(?:dit|abordé|discuté)\b|résume[rz]?\b|au\s+menu\b)",
    re.IGNORECASE,
)
# "Which episodes do you have?", "Combien d'épisodes ?": what the index holds.
EPISODES = re.compile(
    _OPENER + r"(?:(?:which|what)\s+episodes\b|how\s+many\s+episodes\b|list\s+(?:the\s+|all\s+)?episodes\b|"
    r"quels\s+épisodes\b|combien\s+d['’](?:épisodes|émissions)\b|liste\s+des\s+(?:épisodes|émissions)\b)",
    re.IGNORECASE,
)
INTENT_WORDS = frozenset(fold(w) for w in {
    "discussed", "covered", "talked", "topics", "subjects", "themes", "cover", "discuss", "summary", "summarise",
    "summarize", "give", "sujets", "sujet", "thèmes", "abordé", "abordés", "discuté", "menu", "résume", "résumé",
    "résumez", "résumer", "quoi", "parlé", "dit",
    # and those of "Which episodes do you have?"
    "you", "there", "indexed", "list", "many", "as-tu", "avez-vous", "avez", "indexés", "liste", "combien",
})
# "What is Hexatrust?", "Qu'est-ce que Wavestone ?": asked about an organisation, answered like a person when the
# roster names it as someone's affiliation.
WHAT_IS = re.compile(_OPENER + r"(?:what\s+(?:is|was|are)\b|what['’]s\b|tell\s+me\s+about\b|qu['’]est[- ]ce\s+qu[e'’]|"
                     r"c['’]est\s+quoi\b)", re.IGNORECASE)
PRONOUNS = {"she", "he", "her", "him", "his", "they", "them", "elle", "il", "lui", "ils", "elles", "leur"}
FOLLOW_UP_OPENERS = ("and ", "et ", "what about", "how about", "also", "aussi", "et sur", "et pour", "and about")

# Role words a user may name a guest by, mapped to what the roster's role text says.
ROLE_WORDS = {
    "lawyer": "avocat", "attorney": "avocat", "avocat": "avocat", "avocate": "avocat",
    "economist": "econom", "économiste": "econom", "economiste": "econom",
    "host": "@host", "presenter": "@host", "présentatrice": "@host", "animatrice": "@host", "journalist": "@host",
}

# English acronyms French speech spells otherwise ("AI" is "IA"): an English topic searches the French form. Short
# acronyms slip past the cross-lingual bridge (its phrases are 3 letters or more; "ai" is even a French stopword).
# Only those French says one way: "EU" is "l'Europe", "l'Union européenne" or "l'UE" (mapping it to "UE" cost two
# main-set answers their right quotes), so it is left to the embedder.
ACRONYMS = {"AI": "IA", "GDPR": "RGPD", "SME": "PME", "SMEs": "PME", "CEO": "PDG", "NATO": "OTAN", "UN": "ONU",
            "VAT": "TVA"}


def french_acronyms(topic: str, question: str) -> str:
    """An English topic's acronyms as French speech says them ("AI" -> "IA"), except where the question has one
    inside a company's name, after a capitalised word: "Scale AI", "Mistral AI" (but "Meta's AI" is IA)."""
    names = {m.group(1) for m in re.finditer(r"\b[A-Z][\w-]*(?<!['’]s)\s+([A-Z]{2,5}s?)\b", question)}
    return " ".join(w if w in names else ACRONYMS.get(w, w) for w in topic.split())


MONTHS = {
    "january": 1, "janvier": 1, "february": 2, "février": 2, "fevrier": 2, "march": 3, "mars": 3, "april": 4,
    "avril": 4, "may": 5, "mai": 5, "june": 6, "juin": 6, "july": 7, "juillet": 7, "august": 8, "août": 8,
    "aout": 8, "september": 9, "septembre": 9, "october": 10, "octobre": 10, "november": 11, "novembre": 11,
    "december": 12, "décembre": 12, "decembre": 12,
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|er)?\s+({_MONTH_RE})\b|\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I)
MONTH_ONLY = re.compile(rf"\b({_MONTH_RE})\b", re.I)
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}))?\b")
WORD = re.compile(r"\w[\w-]*", re.UNICODE)  # apostrophes split: "l'avocate" -> "l", "avocate"


Intent = Literal["search", "who", "agenda", "episodes"]


@dataclass
class Query:
    """A question made ready for retrieval."""

    question: str
    topic: str
    language: str
    speakers: list[str] = field(default_factory=list)
    episodes: list[str] = field(default_factory=list)
    follow_up: bool = False
    # French corpus phrases equivalent to an English question's topic (see rag.crosslingual).
    expansions: list[str] = field(default_factory=list)
    # How an answer names the topic, in the asker's own words ("public procurement", "la commande publique");
    # "" when the topic is only a residue of keywords that would read badly quoted ("change chez NumSpot").
    label: str = ""
    # The question asks about "the guests" as a group: `speakers` holds every guest, and the answer treats the
    # search as a wide one (the evidence bar of an unfiltered search, not of one person's turns).
    guests_only: bool = False
    # Names the question spells one way and the subtitles another: question token -> the corpus's tokens
    # (stemmed; "hexatrust" -> ["exatrust"]). Filled by the Assistant, which has the corpus vocabulary.
    spellings: dict[str, list[str]] = field(default_factory=dict)
    # Names in the topic that the corpus says only outside the question's scope (the episodes of the speakers
    # asked about, within the episodes asked about), with the episodes that do say them: "Audrey Maurel" on "Scale
    # AI", discussed only in an episode she was not in. Such a question is refused. Filled by `Assistant.evidence`.
    elsewhere: dict[str, list[str]] = field(default_factory=dict)
    # What kind of answer the question wants. "search": what was said about the topic (the default). "who": who the
    # people in `speakers` are, which their own turns do not say, or, with a `label` ("What is Hexatrust?"), what
    # the organisation they belong to is: the roster and the host's introductions (`rag.introductions`).
    # "agenda": what an episode covered ("What was discussed in the June episode?"): the subjects the host
    # announced on air (`rag.agenda`). "episodes": what the index holds ("Which episodes do you have?").
    intent: Intent = "search"

    @property
    def search_text(self) -> str:
        return self.topic or self.question

    @property
    def names_people(self) -> bool:
        """The search is one or a few named people's turns, not the whole corpus or every guest: a narrow search,
        where a weaker match is already evidence."""
        return bool(self.speakers) and not self.guests_only

    @property
    def asks_quantity(self) -> bool:
        """True when the question asks for a figure (`QUANTITY`): how many, how much, how long, combien..."""
        return bool(QUANTITY.search(self.question))

    @property
    def asks_what_was_said(self) -> bool:
        """True unless the question asks a fact rather than what someone said or thinks (`SAYING`)."""
        return bool(SAYING.search(self.question))


def name_words(text: str) -> list[str]:
    """The words of `text` written like names ("Hexatrust", "NumSpot"): a capital letter anywhere."""
    return [w for w in WORD.findall(text) if any(c.isupper() for c in w)]


def only_names(text: str) -> bool:
    """True when every word of `text` (at least one) is written like a name (`name_words`)."""
    words = WORD.findall(text)
    return bool(words) and len(name_words(text)) == len(words)


# What joins a question's names into one alternative: coordination ("NumSpot and Meta", "Shein et Temu", "Meta /
# Scale AI", "X et l'Europe") and the particles inside a name ("Charles de Gaulle", "Ursula von der Leyen").
_NAME_JOINERS = frozenset({"and", "or", "et", "ou", "&", "/", ",", "de", "du", "des", "d", "l", "le", "la", "les",
                           "von", "van", "der"})
_NAME_TOKEN = re.compile(r"\w[\w-]*|[&/,]", re.UNICODE)


def name_groups(question: str, names: list[str]) -> list[list[str]]:
    """`names` (a topic's name words, `name_words`) grouped as `question` joins them, in order. Adjacent names
    ("Scale AI"), names joined by a coordinator ("NumSpot and Meta") or a particle ("Charles de Gaulle") are one
    group: any one of them is enough for the question to be about something said. Names the question does not
    spell out itself (a topic carried over from the conversation) form one group of their own."""
    wanted = set(names)
    groups: list[list[str]] = []
    current: list[str] = []
    for token in _NAME_TOKEN.findall(question):
        if token in wanted:
            if token not in current:
                current.append(token)
        elif not (current and token.lower() in _NAME_JOINERS):
            if current:
                groups.append(current)
            current = []
    if current:
        groups.append(current)
    seen = {n for group in groups for n in group}
    groups = [g for i, g in enumerate(groups) if not any(set(g) <= set(h) for h in groups[:i])]
    rest = [n for n in dict.fromkeys(names) if n not in seen]
    return groups + ([rest] if rest else [])


def detect_language(text: str) -> str:
    """'fr' or 'en' from function words; French when in doubt (the corpus is French)."""
    found = WORD.findall(text)
    words = [w.lower() for w in found]
    en = sum(w in EN_WORDS for w in words)
    # Accents count for French, except in names ("Tell me about Imène Kabouya" is English).
    fr = sum(w in FR_WORDS for w in words) + sum(c in "éèêàçùâîôû" for w in found if not w[:1].isupper() for c in w)
    return "en" if en > fr else "fr"


# How close (rapidfuzz ratio) a word of a question must be to a word of someone's affiliation to name it.
AFFILIATION_MATCH = 85
# Mention scores a Roster remembers (a few hundred bytes each) before it starts again.
MEMO_SIZE = 20000


class Roster:
    """The people a question may name, with the folded spellings name matching compares against.

    Folding names and aliases was most of the cost of understanding a question (every mention was scored
    against every person, refolding both each time); a Roster does it once per set of people. `scores` is
    `ingest.names.name_score` over those precomputed forms, and must stay equal to it (tests compare them).
    """

    def __init__(self, people: Sequence[Person]) -> None:
        self.people = list(people)
        # (folded candidate, its words, its letters without spaces) per person, as name_score builds them.
        self._candidates = [
            [(cand, cand.split(), cand.replace(" ", "")) for cand in {fold(p.name), *(fold(a) for a in p.aliases)}]
            for p in self.people
        ]
        self.name_words = {fold(w) for p in self.people for w in p.name.split()} | {
            fold(a) for p in self.people for a in p.aliases}
        self._role_text = [fold(p.role + " " + p.affiliation) for p in self.people]
        self._role_words = [fold(p.role).split() for p in self.people]
        self._affiliation_words = [fold(p.affiliation).split() for p in self.people]
        # Mentions recur from question to question ('What did', 'Julien Pillot', 'the lawyer').
        self._memo: dict[str, list[float]] = {}
        # Every first and last name part, with its sound key: a new word is scored against all of them at once.
        self._parts = {part: _phonetic(part) for cands in self._candidates for _, parts, _ in cands
                       for part in (parts[0], parts[-1])}
        self._word_memo: dict[str, dict[str, float]] = {}

    def scores(self, mention: str) -> list[float]:
        """`name_score(mention, p)` for every person p, in roster order."""
        known = self._memo.get(mention)
        if known is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            known = self._memo[mention] = self._scores(mention)
        return known

    def _scores(self, mention: str) -> list[float]:
        m = " ".join(w for w in fold(mention).split() if w not in _HONORIFICS)
        if not m:
            return [0.0] * len(self.people)
        words = m.split()
        glued_m = m.replace(" ", "")
        single = self.word_scores(m) if len(words) == 1 and len(m) >= 3 else None
        first = self.word_scores(words[0]) if len(words) >= 2 else None
        out = []
        for candidates in self._candidates:
            best = 0.0
            for cand, parts, glued in candidates:
                best = max(best, fuzz.ratio(m, cand), fuzz.ratio(glued_m, glued))
                if single is not None:
                    best = max(best, single[parts[0]], single[parts[-1]])
                elif first is not None and len(parts) >= 2 and first[parts[0]] >= 85:
                    # 'Dorothée Descroppes': the first name must match well, the surname loosely.
                    best = max(best, 0.5 * first[parts[0]] + 0.5 * self.word_scores(words[-1])[parts[-1]])
            out.append(best)
        return out

    def word_scores(self, word: str) -> dict[str, float]:
        """`ingest.names._word_score(word, part)` for every first and last name part of the roster, with each
        part's sound key computed once: a question brings new words, and scoring each against every part afresh
        (two regex passes per pair) was most of understanding it."""
        known = self._word_memo.get(word)
        if known is not None:
            return known
        if len(self._word_memo) >= MEMO_SIZE:
            self._word_memo.clear()
        sound = _phonetic(word) if len(word) >= 5 else ""
        scores = {part: _word_score(word, part, (sound, part_sound)) for part, part_sound in self._parts.items()}
        self._word_memo[word] = scores
        return scores

    def by_affiliation(self, text: str) -> list[str]:
        """The people whose roster affiliation `text` names: each of its words is (nearly: 'Exatrust') one of the
        affiliation's words. By canonical name; empty when `text` names no affiliation."""
        asked = fold(text).split()
        return [p.name for p, words in zip(self.people, self._affiliation_words, strict=True)
                if asked and words and all(max(fuzz.ratio(a, w) for w in words) >= AFFILIATION_MATCH for a in asked)]

    def by_role(self, word: str) -> list[str]:
        """The people a role word ('lawyer', "l'avocate", 'the host') names, by canonical name."""
        target = ROLE_WORDS.get(word.lower())
        if not target:
            return []
        matching = [i for i, p in enumerate(self.people)
                    if (p.is_host if target == "@host" else target in self._role_text[i])]
        # 'l'avocate' names the woman lawyer when the roster says so; 'the lawyer' names them all.
        folded = fold(word)
        exact = [i for i in matching if folded in self._role_words[i]]
        return [self.people[i].name for i in (exact or matching)]


@lru_cache(maxsize=8)
def _roster(people: tuple[Person, ...]) -> Roster:
    return Roster(people)


def roster_of(people: Sequence[Person] | Roster) -> Roster:
    """The Roster of these people, built once per distinct roster (the catalog's changes rarely)."""
    return people if isinstance(people, Roster) else _roster(tuple(people))


def find_speakers(text: str, people: Sequence[Person] | Roster) -> list[str]:
    """Canonical names of the roster people a text names, by name (fuzzy) or by role ('the lawyer')."""
    roster = roster_of(people)
    words = WORD.findall(text)
    found: list[str] = []
    used: set[int] = set()
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            span = range(i, i + size)
            if used & set(span):
                continue
            mention = " ".join(words[i : i + size])
            folded = fold(mention)
            if folded in FRAME_WORDS or len(folded) < 3:
                continue
            # A lone lowercase word must match almost exactly: 'marché' is not Marc.
            need = 80.0 if (size > 1 or mention[:1].isupper()) else 90.0
            scores = roster.scores(mention)
            top = max(scores, default=0.0)
            if top >= need and scores.count(top) == 1:  # one person scores best: a tie names nobody
                name = roster.people[scores.index(top)].name
                if name not in found:
                    found.append(name)
                used |= set(span)
    named = set(found)
    for word in words:
        by_role = roster.by_role(word)
        # "the lawyer Louis Sorris": a role word that fits someone already named describes them, not the others
        # with that role (here Audrey Maurel, also a lawyer).
        if named.intersection(by_role):
            continue
        for name in by_role:
            if name not in found:
                found.append(name)
    return found


def find_episodes(text: str, episodes: list[EpisodeMeta]) -> list[str]:
    """Episode ids a text points at by date ('December 11', '11 décembre', 'en juin', '2025-06-19') or id."""
    folded = text.lower()
    prefixes, pairs, short = _lowered_ids(episodes)
    # Only an id whose first PREFIX characters the text has can be in it (a question rarely names one): that
    # spares testing each of 1,000 ids against the whole text (0.1 ms a question).
    heads = {folded[i : i + PREFIX] for i in range(len(folded) - PREFIX + 1)}
    ids: list[str] = []
    if short or not heads.isdisjoint(prefixes):
        ids = [eid for eid, lowered in pairs
               if (len(lowered) < PREFIX or lowered[:PREFIX] in heads) and lowered in folded]
    if ids:
        return ids
    wanted: list[tuple[int | None, int, int | None]] = []  # (year, month, day)
    for m in ISO_DATE.finditer(text):
        wanted.append((int(m.group(1)), int(m.group(2)), int(m.group(3))))
    for m in DAY_MONTH.finditer(text):
        day, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        wanted.append((None, MONTHS[month.lower()], int(day)))
    if not wanted:
        for m in NUMERIC_DATE.finditer(text):
            wanted.append((int(m.group(3)) if m.group(3) else None, int(m.group(2)), int(m.group(1))))
    if not wanted:
        wanted = [(None, MONTHS[m.group(1).lower()], None) for m in MONTH_ONLY.finditer(text)
                  if not _is_may_verb(m, text)]
    if not wanted:
        return []  # most questions name no date: no need to walk a thousand episodes
    return [e.episode_id for e in episodes if e.date and any(_date_matches(e.date, w) for w in wanted)]


PREFIX = 4
_Ids = tuple[set[str], list[tuple[str, str]], bool]
_ids_of: tuple[list[EpisodeMeta], _Ids] | None = None


def _lowered_ids(episodes: list[EpisodeMeta]) -> _Ids:
    """The first PREFIX characters of every lowercased episode id, (id, lowercased id) of each episode, and
    whether some id is shorter than PREFIX; kept for the last list asked about (the Assistant passes the same list
    until its catalog changes)."""
    global _ids_of
    known = _ids_of
    if known is None or known[0] is not episodes or len(known[1][1]) != len(episodes):
        pairs = [(e.episode_id, e.episode_id.lower()) for e in episodes]
        known = _ids_of = (episodes, ({low[:PREFIX] for _, low in pairs}, pairs,
                                      any(len(low) < PREFIX for _, low in pairs)))
    return known[1]


def _is_may_verb(match: re.Match[str], text: str) -> bool:
    """'may' is a month only when capitalised ('in May'), not in 'what may happen'."""
    return match.group(1).lower() == "may" and not text[match.start()].isupper()


def _date_matches(day: date, wanted: tuple[int | None, int, int | None]) -> bool:
    year, month, dom = wanted
    return day.month == month and (dom is None or day.day == dom) and (year is None or day.year == year)


def topic_of(text: str, speakers: list[str], people: Sequence[Person] | Roster) -> str:
    """The question minus framing words, names and dates: what to search for."""
    roster = roster_of(people)
    mentioned = {fold(w) for name in speakers for w in name.split()}
    kept = []
    for w in WORD.findall(text):
        f = fold(w)
        if not f or f in FRAME_WORDS or f in mentioned or f in MONTHS or f.isdigit():
            continue
        if f in roster.name_words or ROLE_WORDS.get(w.lower()):
            continue
        if w[:1].isupper() and any(score >= 90 for score in roster.scores(w)):
            continue  # a misspelt name ('Pilot') is not the topic
        kept.append(w)
    return " ".join(kept)


# "about X?", "sur X ?", "pensé ... de X ?": the asker's own name for the topic. What follows it and names a speaker
# or an episode ("according to Y", "in both episodes") is cut off.
_ABOUT = re.compile(r"\b(?:about|regarding|concerning|sur|à propos d[eu']|au sujet d[eu'])\s*(.+)$", re.IGNORECASE)
_OPINION_EN = re.compile(r"\b(?:think|thought|make|made)\s+of\s+(.+)$", re.IGNORECASE)
_OPINION_FR = re.compile(r"\b(?:pensé|pense|parlé|parle|dit)\b(?:(?!\bque\b|\bqu['’]).)*?\s(?:(?:de|du|des)\s+|d['’])(.+)$",
                         re.IGNORECASE)
# Where a label stops: a comma, an attribution ("selon X"), an episode, or a French inverted verb, which starts the
# question's own clause ("sur les data centers parle-t-il de souveraineté" is about the data centers).
_TAIL = re.compile(r"\s*(?:,|\(|\bselon\b|\baccording to\b|\b\w+-(?:t-)?(?:il|elle|on|ils|elles)\b|\bin (?:the|both|all)\b[^,]*\bepisodes?\b|"
                   r"\bdans (?:l['’]|les deux )(?:émissions?|épisodes?)\b|"
                   rf"\b(?:en|in) (?:{'|'.join(MONTHS)})\b).*$", re.IGNORECASE)
MAX_LABEL_WORDS = 8


def topic_label(question: str, topic: str, language: str) -> str:
    """How an answer should name `topic`: the words after "about"/"sur" (or "think of", "pensé ... de") in `question` when they
    hold the topic; else, in English, the topic itself when the question says it in one piece ("What is
    Hexatrust?"); else "" and the answer names no topic. French topics are not quoted whole: once framing words
    are gone they often start with a verb ("dirige NumSpot", "a-t-il vécu Vivatech")."""
    if not topic:
        return ""
    text = question.strip().rstrip("?!. ").strip()
    topic_words = {fold(w) for w in WORD.findall(topic)}
    for pattern in (_ABOUT, _OPINION_EN, _OPINION_FR):
        found = pattern.search(text)
        if found:
            label = _TAIL.sub("", found.group(1)).strip(" ,;:'’\"«»")
            words = WORD.findall(label)
            if words and len(words) <= MAX_LABEL_WORDS and topic_words & {fold(w) for w in words}:
                return label
    if language == "en" and len(topic.split()) <= MAX_LABEL_WORDS \
            and re.search(rf"(?<!\w){re.escape(topic)}(?!\w)", text, re.IGNORECASE):
        return topic
    return ""


def _speakers_asked_about(question: str, people: Roster) -> list[str]:
    """The people a question names, less the one it says was answered when someone else is named too."""
    speakers = find_speakers(question, people)
    answered = {n for m in ADDRESSEE.finditer(question) for n in find_speakers(m.group(1), people)}
    kept = [s for s in speakers if s not in answered]
    return kept or speakers


def understand(
    question: str,
    people: Sequence[Person] | Roster,
    episodes: list[EpisodeMeta],
    filters: Filters | None = None,
    history: list[Message] | None = None,
) -> Query:
    """Resolve a question (and the chat so far) into a Query. Explicit filters win over what the text implies."""
    filters = filters or Filters()
    people = roster_of(people)
    speakers = list(filters.speakers) or _speakers_asked_about(question, people)
    guests_only = not speakers and bool(GUESTS.search(question))
    if guests_only:
        speakers = [p.name for p in people.people if not p.is_host]
    episode_ids = list(filters.episodes) or find_episodes(question, episodes)
    topic = topic_of(question, speakers, people)
    language = detect_language(question)
    label = topic_label(question, topic, language)  # in the asker's words, before any acronym is put in French
    if language == "en":
        topic = french_acronyms(topic, question)
    query = Query(question=question, topic=topic, language=language, speakers=speakers, episodes=episode_ids,
                  label=label, guests_only=guests_only)
    asks_who = (not topic and bool(IDENTITY.search(question))) or (
        bool(speakers) and bool(WHICH_PERSON.search(question)) and all(fold(w) in ON_THE_SHOW for w in topic.split()))
    # Organisations are proper nouns: "What is education?" is not about a guest's school.
    affiliated = people.by_affiliation(topic) if not speakers and WHAT_IS.search(question) and only_names(topic) \
        else []
    previous = [m.content for m in (history or []) if m.role == "user"]
    if previous and not affiliated:
        _carry_over(query, previous, people, episodes)
    if query.speakers and query.topic and set(people.by_affiliation(query.topic)) & set(query.speakers):
        # "What did Eric Haddad say about NumSpot?": his own company is what all his turns are about, and he says
        # "nous", "notre plateforme", not its name: searching for the name found nothing and refused.
        query.topic, query.label = "", ""
    if asks_who and query.speakers:
        # "Who is she?" takes the person from the conversation, not its topic.
        query.intent, query.topic, query.label = "who", "", ""
    elif affiliated:
        # "What is Hexatrust?": the people the roster says work there, and the organisation as the topic.
        query.intent, query.speakers, query.label = "who", affiliated, topic
    elif not speakers and not [w for w in topic.split() if fold(w) not in INTENT_WORDS]:
        if EPISODES.search(question):
            query.intent, query.topic, query.label = "episodes", "", ""
        elif AGENDA.search(question):
            query.intent, query.topic, query.label = "agenda", "", ""
    return query


def _carry_over(query: Query, previous: list[str], people: Roster, episodes: list[EpisodeMeta]) -> None:
    """Fill what a follow-up leaves implicit from the most recent earlier question that had it."""
    lowered = query.question.lower().strip()
    # "a-t-il", "dit-elle": the pronoun hides inside a hyphenated inversion.
    words = {part.lower() for w in WORD.findall(query.question) for part in w.split("-")}
    elliptical = lowered.startswith(FOLLOW_UP_OPENERS) or len(words) <= 4
    refers_to_person = bool(words & PRONOUNS)
    if not (elliptical or refers_to_person or not query.topic):
        return
    query.follow_up = True
    for earlier in reversed(previous):
        before = understand(earlier, people, episodes)
        if not query.speakers and refers_to_person and before.speakers:
            query.speakers, query.guests_only = before.speakers, before.guests_only
        if not query.topic and before.topic:
            query.topic, query.label = before.topic, before.label
        if not query.episodes and before.episodes:
            query.episodes = before.episodes
        if not query.topic and not query.speakers and before.intent == "agenda":
            query.intent = "agenda"  # "and in December?" after "What was discussed in June?"
        if query.speakers and query.topic:
            break

""""Who is X?": the episode description's words for a person, and the host introducing them on air.

A named person usually means "search their turns", but their own turns say what they think, not who they are.
Who they are is in the episode's description line (the roster: role, affiliation) and in what the host says
when she introduces them ("Vous êtes la déléguée générale d'Exatrust...") or thanks them at the end. So an
identity question is answered with a lead built from the roster and, per episode, the host's window that
names most of the person's name, role and affiliation words, cited like any other quote.
"""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from ingest.models import Chunk, EpisodeMeta, Person
from rag.extractive import Quote, share, to_sentences, windows
from rag.listing import asked_about, episodes_phrase, when
from rag.sparse import name_edits, tokenize, written_names
from rag.understand import Query

# What a name word counts for against a role or affiliation word when looking for a person's introduction.
NAME_WEIGHT = 0.5


def people_asked_about(query: Query, episodes: list[EpisodeMeta]) -> list[tuple[Person, list[EpisodeMeta]]]:
    """Each person the question names, with the episodes (of its filter, if any) whose roster has them, newest
    first; people on no such roster are left out."""
    chosen = asked_about(query, episodes)
    if query.guests_only and not query.episodes:
        # "Who are the guests?" with no episode named: the newest episode's (the lead gives its date).
        chosen = chosen[:1]
    out = []
    for name in query.speakers:
        found = [(p, e) for e in chosen for p in e.roster if p.name == name]
        if found:
            out.append((found[0][0], [e for _, e in found]))
    return out


def introduction(person: Person, host_chunks: list[Chunk], spellings: dict[str, list[str]], about: str = ""
                 ) -> Quote | None:
    """The host's window (widened to sentences) that says most about who `person` is: their role and affiliation
    words, and at half weight their name (said alone in greetings: "Bonjour Marc."). That is their introduction,
    or the thanks at the end, which restate them. With `about` (an organisation asked about: "Hexatrust"), the
    window that says most of its words instead. Earliest on ties; None when no window says any of it.
    `host_chunks`: the host's chunks of one episode; `spellings`: the corpus's own spellings of those words
    (`SparseIndex.spellings`: "Hexatrust" is subtitled "Exatrust")."""
    name = set() if about else set(tokenize([person.name])[0])
    wanted = set(tokenize([about or f"{person.role} {person.affiliation}"])[0]) - name
    # A window can only score if its chunk says one of these: the other chunks' windows are not tokenized (at
    # 1,000 episodes, "What is Hexatrust?" tokenized 2,400 windows, ~10 ms).
    said = {v for term in name | wanted for v in (term, *spellings.get(term, ()))}
    best: Quote | None = None
    for chunk in sorted(host_chunks, key=lambda c: c.first_line):
        if said.isdisjoint(tokenize([chunk.text])[0]):
            continue
        for window in windows(chunk):
            tokens = set(tokenize([window.text])[0])
            window.overlap = NAME_WEIGHT * len(name) * share(name, tokens, spellings) + \
                len(wanted) * share(wanted, tokens, spellings)
            if window.overlap > 0 and (best is None or window.overlap > best.overlap):
                best = window
    return to_sentences(best) if best is not None else None


def presenting(people: list[Person], host_chunks: list[Chunk], spellings: dict[str, list[str]]) -> list[Chunk]:
    """The host's chunks that present one of `people`: they name the person and, when the roster gives a role or
    an affiliation, say one of its words too ("Merci Erika Haddad. Je rappelle que vous êtes le président exécutif
    de Newspot. Vous avez quand même passé 10 ans..."). A bare name is her giving the floor, not presenting.
    `spellings`: the corpus's own spellings of those words (`SparseIndex.spellings`)."""
    wanted = []
    for person in people:
        name = set(tokenize([person.name])[0])
        wanted.append((name, set(tokenize([f"{person.role} {person.affiliation}"])[0]) - name))
    found = []
    for chunk in host_chunks:
        tokens = set(tokenize([chunk.text])[0])
        if any(share(name, tokens, spellings) and (not facts or share(facts, tokens, spellings))
               for name, facts in wanted):
            found.append(chunk)
    return found


def respelt(words: list[str], chunks: list[Chunk]) -> dict[str, list[str]]:
    """For each token of `words` (a question's names), the names written one or two edits away
    (`sparse.name_edits`) by those of `chunks` that never use the token as asked: presenting Eric Haddad, the host
    says "NumSpot" in one breath and "Newspot" in another, and the chunk that holds the answer has the second."""
    tokens = list(dict.fromkeys(t for ts in tokenize(words) for t in ts if name_edits(t)))
    out: dict[str, list[str]] = {}
    for chunk in chunks if tokens else []:
        used = set(tokenize([chunk.text])[0])
        names = written_names([chunk.text])
        for token in tokens:
            if token not in used:
                edits = name_edits(token)
                near = [n for n in names if Levenshtein.distance(token, n, score_cutoff=edits) <= edits]
                out[token] = sorted({*out.get(token, []), *near})
    return {t: found for t, found in out.items() if found}


def presented_lead(query: Query, host: str, people: list[str], episodes: list[EpisodeMeta]) -> str:
    """"Marc Kaplan's own turns do not say it; from how Delphine Sabattier presented them in the 2025-06-19
    episode:": for a fact about guests that only the host stated (their own turns did not answer)."""
    fr = query.language == "fr"
    names = (" et " if fr else " and ").join(people)
    where = episodes_phrase(episodes, fr)
    if fr:
        return f"Les interventions {_fr_of(names)} ne le disent pas ; d'après la présentation qu'en fait {host} " \
            f"dans {where} :"
    owner = f"{names}'" if names.endswith("s") else f"{names}'s"
    return f"{owner} own turns do not say it; from how {host} presented them in {where}:"


def lead(query: Query, people: list[tuple[Person, list[EpisodeMeta]]]) -> str:
    """One sentence per person, from the roster, in the question's language: who they are and where they appear.
    (No pronoun and no gendered word: the roster does not say which to use.)"""
    fr = query.language == "fr"
    if query.label and people:
        return _organisation_lead(query.label, people, fr)
    if query.guests_only and people:
        return _guests_lead(people, fr)
    sentences = []
    for person, episodes in people:
        who = _described(person)
        where = episodes_phrase(episodes, fr)
        if person.is_host:
            sentences.append(f"{who} anime {where}." if fr else f"{who} hosts {where}.")
        elif fr:
            sentences.append(f"{who} participe {_fr_to(where)}.")
        else:
            sentences.append(f"{who} is a guest in {where}.")
    if not sentences:
        return ""
    return ("D'après la description de l'épisode, " if fr else "According to the episode description, ") + \
        " ".join(sentences)


def _organisation_lead(organisation: str, people: list[tuple[Person, list[EpisodeMeta]]], fr: bool) -> str:
    """"Hexatrust is the organisation of Dorothée Decrop (déléguée générale), a guest in the 2025-06-19 episode."."""
    members = []
    for person, episodes in people:
        where = episodes_phrase(episodes, fr)
        role = f" ({person.role})" if person.role else ""
        members.append(f"{_fr_of(person.name)}{role}, qui participe {_fr_to(where)}" if fr else
                       f"{person.name}{role}, a guest in {where}")
    if fr:
        return f"D'après la description de l'épisode, {organisation} est la structure {' ; et '.join(members)}."
    return f"According to the episode description, {organisation} is the organisation of {'; and of '.join(members)}."


def _guests_lead(people: list[tuple[Person, list[EpisodeMeta]]], fr: bool) -> str:
    """"According to the episode description, the guests of the 2025-12-11 episode were A (role), B (role)."."""
    by_episode: dict[str, list[str]] = {}
    for person, episodes in people:
        for e in episodes:
            by_episode.setdefault(when(e), []).append(_described(person))
    if fr:
        parts = [f"les invités de l'épisode du {day} étaient {', '.join(names)}" for day, names in
                 sorted(by_episode.items(), reverse=True)]
        return f"D'après la description de l'épisode, {' ; '.join(parts)}."
    parts = [f"the guests of the {day} episode were {', '.join(names)}" for day, names in
             sorted(by_episode.items(), reverse=True)]
    return f"According to the episode description, {'; '.join(parts)}."


def _described(person: Person) -> str:
    """"Julien Pillot (Consultant, Inseec)": the name, then the roster's role and affiliation when it has them."""
    facts = ", ".join(x for x in (person.role, person.affiliation) if x)
    return f"{person.name} ({facts})" if facts else person.name


def _fr_of(name: str) -> str:
    """"de" before a name, elided before a vowel: "de Marc Kaplan", "d'Imène Kabouya"."""
    return f"d'{name}" if name[:1].lower() in "aeiouyàâéèêëîïôöùûü" else f"de {name}"


def _fr_to(where: str) -> str:
    """"à" before an episode phrase: "à l'épisode du ...", "aux épisodes du ..." ("à les" contracts)."""
    return "aux" + where[3:] if where.startswith("les ") else "à " + where

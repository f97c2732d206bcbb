"""'Which episodes do you have?': what the index holds, from the catalog (nothing to quote: no citation)."""

from __future__ import annotations

from datetime import date

from ingest.models import EpisodeMeta
from rag.understand import Query

# Episodes a listing names before it summarises the rest.
MAX_LISTED = 10
# Dates an episode phrase lists before it summarises them as a range.
MAX_LISTED_DATES = 3


def newest_first(episodes: list[EpisodeMeta]) -> list[EpisodeMeta]:
    """Episodes by date, newest first (undated ones last, in their order)."""
    return sorted(episodes, key=lambda e: e.date or date.min, reverse=True)


def asked_about(query: Query, episodes: list[EpisodeMeta]) -> list[EpisodeMeta]:
    """The episodes the question's filter keeps (every one when it names none), newest first."""
    wanted = set(query.episodes)
    return newest_first([e for e in episodes if not wanted or e.episode_id in wanted])


def when(episode: EpisodeMeta) -> str:
    """How an answer names an episode: its date, or its title when it has none."""
    return episode.date.isoformat() if episode.date else episode.title


def episodes_phrase(episodes: list[EpisodeMeta], fr: bool) -> str:
    """"the 2025-06-19 episode", "les épisodes du 2025-06-19 et 2025-12-11", "12 episodes, from ... to ..."."""
    dates, count = sorted(e.date.isoformat() for e in episodes if e.date), len(episodes)
    if len(dates) == 1 and count == 1:
        return f"l'épisode du {dates[0]}" if fr else f"the {dates[0]} episode"
    if 1 < len(dates) == count <= MAX_LISTED_DATES:
        listed = ", ".join(dates[:-1]) + (" et " if fr else " and ") + dates[-1]
        return f"les épisodes du {listed}" if fr else f"the {listed} episodes"
    if dates:
        return (f"{count} épisodes, du {dates[0]} au {dates[-1]}" if fr else
                f"{count} episodes, from {dates[0]} to {dates[-1]}")
    return f"{count} épisode(s)" if fr else f"{count} episode(s)"


def nothing_indexed(query: Query) -> str:
    """What any question gets while the index holds no episode, in the question's language."""
    if query.language == "fr":
        return ("Aucun épisode n'est indexé : ajoutez d'abord une transcription (téléversez-la, ou "
                "`debrief ingest FICHIER`).")
    return "No episode is indexed yet: add a transcript first (upload it, or `debrief ingest FILE`)."


def episodes_held(query: Query, episodes: list[EpisodeMeta]) -> str:
    """The indexed episodes, newest first, each with its date, title and guests, in the question's language."""
    fr = query.language == "fr"
    if not episodes:
        return "Aucun épisode n'est indexé." if fr else "No episode is indexed."
    newest = newest_first(episodes)
    lines = [f"{len(episodes)} épisode(s) indexé(s), du plus récent au plus ancien :" if fr else
             f"{len(episodes)} indexed episode(s), newest first:", ""]
    for e in newest[:MAX_LISTED]:
        guests = ", ".join(p.name for p in e.guests)
        day = e.date.isoformat() if e.date else "?"
        with_guests = (f" (invités : {guests})" if fr else f" (guests: {guests})") if guests else ""
        lines.append(f"- {day} · {e.title}{with_guests}")
    if len(newest) > MAX_LISTED:
        rest = len(newest) - MAX_LISTED
        oldest = newest[-1].date.isoformat() if newest[-1].date else "?"
        lines.append(f"- … et {rest} autres, jusqu'au {oldest}" if fr else f"- … and {rest} more, back to {oldest}")
    return "\n".join(lines)

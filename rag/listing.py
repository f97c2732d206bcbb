"""'Which episodes do you have?': what the index holds, from the catalog (nothing to quote: no citation)."""

from __future__ import annotations

from datetime import date

from ingest.models import EpisodeMeta
from rag.understand import Query

# Episodes a listing names before it summarises the rest.
MAX_LISTED = 10


def episodes_held(query: Query, episodes: list[EpisodeMeta]) -> str:
    """The indexed episodes, newest first, each with its date, title and guests, in the question's language."""
    fr = query.language == "fr"
    if not episodes:
        return "Aucun épisode n'est indexé." if fr else "No episode is indexed."
    newest = sorted(episodes, key=lambda e: e.date or date.min, reverse=True)
    lines = [f"{len(episodes)} épisode(s) indexé(s), du plus récent au plus ancien :" if fr else
             f"{len(episodes)} indexed episode(s), newest first:", ""]
    for e in newest[:MAX_LISTED]:
        guests = ", ".join(p.name for p in e.guests)
        when = e.date.isoformat() if e.date else "?"
        with_guests = (f" (invités : {guests})" if fr else f" (guests: {guests})") if guests else ""
        lines.append(f"- {when} · {e.title}{with_guests}")
    if len(newest) > MAX_LISTED:
        rest = len(newest) - MAX_LISTED
        oldest = newest[-1].date.isoformat() if newest[-1].date else "?"
        lines.append(f"- … et {rest} autres, jusqu'au {oldest}" if fr else f"- … and {rest} more, back to {oldest}")
    return "\n".join(lines)

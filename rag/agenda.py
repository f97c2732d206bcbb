""""What was discussed in the June episode?": the subjects the host announced on air, quoted and cited.

A topic search has nothing to match in a question about an episode as a whole, and the best-scoring turns of an
episode are not a summary of it. The host says what the episode covers herself: a menu at the start ("On va
parler ensemble de Meta... Mais on commence avec les annonces dans le quantique") and a hand-over at each new
subject ("On enchaîne... On va parler régulation numérique"). Those windows, in order, are the answer.
"""

from __future__ import annotations

import re

from ingest.models import Chunk
from rag.extractive import Quote, to_sentences, windows
from rag.understand import Query

# What the host says when she announces or moves to a subject.
# ("On va passer 28 minutes ensemble" and a bare "On enchaîne." announce nothing.)
CUES = re.compile(
    r"\b(?:on va (?:parler|s['’]intéresser|s['’]arrêter|revenir|regarder)|on va passer à|on commence (?:avec|par)|"
    r"on enchaîne(?=\s+\w)|on (?:termine|finit) (?:avec|par)|passons à|autre sujet|dernier sujet|au menu)\b",
    re.IGNORECASE,
)
# Quotes an answer gives at most, and per episode when it covers several (the newest ones asked about).
MAX_QUOTES = 8
PER_EPISODE = 4


def announcements(host_chunks: list[Chunk]) -> list[Quote]:
    """The host's windows that announce a subject, widened to whole sentences, in the order they were said;
    windows that overlap once widened are kept once. `host_chunks`: the host's chunks of one episode."""
    found: list[Quote] = []
    for chunk in sorted(host_chunks, key=lambda c: c.first_line):
        for window in windows(chunk):
            if not CUES.search(window.text):
                continue
            quote = to_sentences(window)
            # Consecutive windows share lines: the same announcement, widened, comes out of several of them.
            if found and found[-1].chunk is chunk and quote.first_line <= found[-1].last_line:
                continue
            found.append(quote)
    return found


def lead(query: Query, dates: list[str]) -> str:
    """"What the host announced in the 2025-06-19 episode:", in the question's language."""
    fr = query.language == "fr"
    if len(dates) == 1:
        return (f"Les sujets annoncés à l'antenne dans l'épisode du {dates[0]} :" if fr else
                f"What the host announced in the {dates[0]} episode:")
    return (f"Les sujets annoncés à l'antenne dans {len(dates)} épisodes :" if fr else
            f"What the host announced across {len(dates)} episodes:")


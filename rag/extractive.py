"""The offline answerer: verbatim quotes from the retrieved turns, grouped by speaker and episode, each cited.

It never writes a word that is not in a transcript except the one-line lead and the citation labels. When
the retrieved turns do not support the question (nothing relevant said by the requested speaker), it
refuses rather than offer someone else's words.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.chunking import SENTENCE_END
from ingest.formats.timecode import format_seconds
from ingest.models import Chunk, EpisodeMeta
from rag.embedders import Embedder
from rag.links import segment_url
from rag.listing import episodes_phrase
from rag.retrieve import Ranked
from rag.sparse import tokenize
from rag.types import Answer, Citation
from rag.understand import Query, only_names

# A quote window grows line by line until it holds this many characters (subtitle lines can be fragments).
WINDOW_CHARS = 160
# A chosen window then widens to whole sentences up to this many characters. Measured (key facts in the quotes,
# main / held-out set): 420 -> 35.7 / 42.4 %, 600 -> 38.2 / 46.5 %, 700 -> 39.1 / 46.5 %, for answers 15 / 20 %
# longer; citation precision and refusals unchanged (held-out precision 32.7 -> 34.7 %). 600 chosen on the main set.
MAX_WINDOW_CHARS = 600
MAX_WINDOW_LINES = 4
# Below this attribution confidence a quote is flagged as of uncertain speaker.
UNCERTAIN = 0.5


@dataclass(frozen=True)
class Thresholds:
    """When a quote counts as evidence. Fitted on the eval question set (see NOTES.md), not by feel.

    The bar depends on how many chunks competed: the best of a whole corpus is similar to almost any
    question by chance, while the best of one speaker's twenty turns is not, so an unfiltered search
    needs more similarity (or shared words) than a search restricted to the speaker asked about.
    """

    # Restricted to named speakers: similarity of the best window to the search text...
    min_similarity_filtered: float = 0.27
    # ...or any shared topic term with at least this similarity.
    weak_similarity: float = 0.15
    # Unrestricted: a higher similarity bar, or half the topic's (stemmed) terms, or a third of them with
    # moderate similarity (one shared word alone, 'recette' in an unrelated turn, is chance).
    min_similarity_open: float = 0.40
    min_overlap_open: float = 0.50
    partial_overlap_open: float = 0.30
    partial_similarity_open: float = 0.30
    # Shared words with next to no semantic similarity are coincidence ('Paris', 'cybersécurité' in a turn
    # about law firms answering a question about the Olympics).
    weak_similarity_open: float = 0.20
    # When the question names a speaker, only quote lines attributed to them at least this confidently.
    # Off by default: at 0.5 it cut wrong-speaker citations 47 -> 26 but wrong refusals rose 14% -> 45%
    # (eval, attribution v2); quotes under 0.5 are flagged "speaker uncertain" instead.
    min_speaker_confidence: float = 0.0
    # Restricted to named speakers: a turn answering a host question that holds at least this share of the topic's
    # terms is evidence whatever its own words ("Quand le projet de loi résilience doit-il revenir ?" answered by
    # "Plutôt l'automne, il va peut-être revenir à l'Assemblée nationale").
    asked_overlap: float = 0.5
    # Further quotes must score at least this fraction of the best one.
    relative_cut: float = 0.65
    max_citations: int = 4


@dataclass
class Quote:
    chunk: Chunk
    first_line: int
    last_line: int
    start: float
    end: float
    text: str
    similarity: float
    overlap: float
    confidence: float = 1.0  # the least certain attribution among the quoted lines
    asked: float = 0.0  # share of the topic's terms in the host's question the chunk answers

    @property
    def score(self) -> float:
        return self.similarity + 0.25 * self.overlap


# A figure in a transcript: digits ("8 pays", "14,3 milliards", "49%"), or numbers written out ("trois fois",
# "deux ans", "plusieurs ordres de grandeur"). "un"/"une" are left out: mostly articles.
FIGURE = re.compile(
    r"\d|%|\b(?:deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingt|"
    r"trente|quarante|cinquante|soixante|cents?|milles?|millions?|milliards?|dizaines?|douzaines?|centaines?|"
    r"milliers?|moitié|tiers|quart|zéro|ordres?\s+de\s+grandeur)\b",
    re.IGNORECASE,
)


def select_quotes(query: Query, ranked: list[Ranked], embedder: Embedder, thresholds: Thresholds) -> list[Quote]:
    """The best quote window of each retrieved chunk, kept if it is evidence; best first."""
    if not ranked:
        return []
    topic_terms = set(tokenize([query.search_text])[0])
    # A French phrase an English topic translates to ("public procurement" -> "commande publique"), found
    # verbatim in one speaker's turn, counts as half the topic's words. Only multi-word phrases and only
    # within a speaker's turns: single translated words ('données', 'cyber') turn up everywhere by chance.
    bridged = [p for p in query.expansions if " " in p] if query.names_people else []
    q_vec = embedder.embed_query(query.search_text)
    per_chunk = [(r, windows(r.hit.chunk)) for r in ranked]
    # Embedding windows is most of an answer's cost: one call for all of them (the model batches by tokens),
    # and vectors of windows already seen come from a small cache (the same turns answer related questions).
    vecs = _window_vectors(embedder, [w.text for _, found in per_chunk for w in found])
    sims = vecs @ q_vec if len(vecs) else []
    candidates: list[Quote] = []
    at = 0
    for r, found in per_chunk:
        if not found:
            continue
        chunk_terms = set(tokenize([r.hit.chunk.text])[0])
        chunk_lower = r.hit.chunk.text.lower()
        asked = overlap(topic_terms, r.hit.chunk.context, spellings=query.spellings) if r.hit.chunk.context else 0.0
        for w in found:
            w.asked = asked
            w.similarity = float(sims[at])
            at += 1
            w.overlap = overlap(topic_terms, w.text, chunk_terms, query.spellings)
            if any(p in chunk_lower for p in bridged):
                w.overlap = max(w.overlap, 0.5)
        if query.speakers:
            found = [w for w in found if w.confidence >= thresholds.min_speaker_confidence]
        if query.asks_quantity:
            # Asked for a figure, a window that gives none does not answer, however close its subject.
            found = [w for w in found if FIGURE.search(w.text)]
        if found:
            candidates.append(max(found, key=lambda w: w.score))
    evidence = [q for q in candidates if _is_evidence(q, query, thresholds)]
    evidence.sort(key=lambda q: q.score, reverse=True)
    if not evidence:
        return []
    best = evidence[0].score
    kept = [q for q in evidence if q.score >= thresholds.relative_cut * best]
    floor = thresholds.min_speaker_confidence if query.speakers else 0.0
    return [to_sentences(q, floor) for q in kept[: thresholds.max_citations]]


def _is_evidence(q: Quote, query: Query, t: Thresholds) -> bool:
    if not query.topic:
        # "What did Imen say?" has no topic to test against: the speaker filter is the question.
        return bool(query.speakers)
    if query.names_people:
        # A topic of names only ("NumSpot"), every one of them in the window: the speaker talked about it, however
        # far a bare name embeds from a sentence that holds it (Julien Pillot's "tout ce qui est fait autour de
        # Newspot": similarity 0.14, under the weak bar).
        if q.overlap >= 1.0 and only_names(query.topic):
            return True
        return (q.similarity >= t.min_similarity_filtered or (q.overlap > 0 and q.similarity >= t.weak_similarity)
                or q.asked >= t.asked_overlap)
    return (q.similarity >= t.min_similarity_open
            or (q.overlap >= t.min_overlap_open and q.similarity >= t.weak_similarity_open)
            or (q.overlap >= t.partial_overlap_open and q.similarity >= t.partial_similarity_open))


def overlap(terms: set[str], text: str, extra: set[str] | None = None,
             spellings: dict[str, list[str]] | None = None) -> float:
    """Share of `terms` among the stemmed tokens of `text` (plus `extra`, tokens already computed); a term also
    counts when the text has one of its `spellings` (the corpus's own spelling of a name)."""
    if not terms:
        return 0.0
    return share(terms, set(tokenize([text])[0]) | (extra or set()), spellings)


def share(terms: set[str], tokens: set[str], spellings: dict[str, list[str]] | None = None) -> float:
    """Share of `terms` among `tokens` (stemmed tokens, see `overlap`), a term also counting by its `spellings`."""
    if not terms:
        return 0.0
    spellings = spellings or {}
    return sum(t in tokens or any(v in tokens for v in spellings.get(t, ())) for t in terms) / len(terms)


# Recent window vectors, per embedder instance (two embedders never share vectors, even under one name).
_WINDOW_CACHES: weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]] = weakref.WeakKeyDictionary()
WINDOW_CACHE_SIZE = 4096  # per embedder; 512-d float32 vectors: 8 MB
_CACHE_LOCK = threading.Lock()


def _window_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Passage vectors of quote windows, identical to `embed_passages(texts)`, remembering recent ones."""
    try:
        cache = _WINDOW_CACHES.setdefault(embedder, OrderedDict())
    except TypeError:  # an embedder that cannot be weakly referenced: no cache
        cache = OrderedDict()
    # Answers run in several threads (UI, Slack, API): the cache is only touched under the lock, and what
    # a question needs is copied out first, so another thread's eviction cannot pull a vector from under it.
    with _CACHE_LOCK:
        known = {t: cache[t] for t in texts if t in cache}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        known.update(zip(missing, embedder.embed_passages(missing)))
    with _CACHE_LOCK:
        for t in dict.fromkeys(texts):
            cache[t] = known[t]
            cache.move_to_end(t)
        while len(cache) > WINDOW_CACHE_SIZE:
            cache.popitem(last=False)
    rows = [known[t] for t in texts]
    return np.stack(rows) if rows else np.zeros((0, 1), dtype=np.float32)


def windows(chunk: Chunk) -> list[Quote]:
    """Runs of consecutive lines long enough to score against the question (subtitle lines can be fragments)."""
    rows = chunk.line_map or [(chunk.first_line, chunk.start, 0, chunk.confidence)]
    texts = _line_texts(chunk)
    out = []
    for i in range(len(rows)):
        j, text = i, texts[i]
        while len(text) < WINDOW_CHARS and j + 1 < len(rows) and j - i + 1 < MAX_WINDOW_LINES:
            j += 1
            text = f"{text} {texts[j]}"
        out.append(_quote(chunk, rows, texts, i, j))
        if j + 1 == len(rows):
            break  # later windows would be suffixes of this one
    return out


def to_sentences(q: Quote, min_confidence: float = 0.0) -> Quote:
    """Widen a scored window to whole sentences, so a quote does not start or stop mid-phrase
    (unless widening would take in lines attributed less confidently than `min_confidence`)."""
    chunk = q.chunk
    rows = chunk.line_map or [(chunk.first_line, chunk.start, 0, chunk.confidence)]
    texts = _line_texts(chunk)
    index = {int(r[0]): k for k, r in enumerate(rows)}
    i, j = index.get(q.first_line, 0), index.get(q.last_line, len(rows) - 1)
    size = len(q.text)
    while i > 0 and not SENTENCE_END.search(texts[i - 1]) and size + len(texts[i - 1]) < MAX_WINDOW_CHARS:
        i -= 1
        size += len(texts[i]) + 1
    while j + 1 < len(rows) and not SENTENCE_END.search(texts[j]) and size + len(texts[j + 1]) < MAX_WINDOW_CHARS:
        j += 1
        size += len(texts[j]) + 1
    wide = _quote(chunk, rows, texts, i, j)
    wide.similarity, wide.overlap = q.similarity, q.overlap
    return wide if wide.confidence >= min(min_confidence, q.confidence) else q


def _quote(chunk: Chunk, rows: list[tuple[int, float, int, float]], texts: list[str], i: int, j: int) -> Quote:
    end = rows[j + 1][1] if j + 1 < len(rows) else chunk.end
    return Quote(chunk=chunk, first_line=int(rows[i][0]), last_line=int(rows[j][0]), start=float(rows[i][1]),
                 end=float(max(end, rows[j][1])), text=" ".join(texts[i : j + 1]).strip(), similarity=0.0,
                 overlap=0.0, confidence=min(float(r[3]) for r in rows[i : j + 1]))


def _line_texts(chunk: Chunk) -> list[str]:
    if not chunk.line_map:
        return [chunk.text]
    offsets = [int(r[2]) for r in chunk.line_map] + [len(chunk.text) + 1]
    return [chunk.text[offsets[i] : offsets[i + 1]].strip() for i in range(len(chunk.line_map))]


def cite(quotes: list[Quote], episodes: dict[str, EpisodeMeta], public_url: str) -> list[Citation]:
    """Number the quotes as citations, in the order the answer presents them."""
    citations = []
    for n, q in enumerate(quotes, start=1):
        meta = episodes[q.chunk.episode_id]
        citations.append(Citation(
            n=n, episode_id=meta.episode_id, episode_title=meta.title,
            date=meta.date.isoformat() if meta.date else "", speaker=q.chunk.speaker,
            start=q.start, end=q.end, url=segment_url(meta, q.start, q.first_line, public_url), quote=q.text,
            first_line=q.first_line, last_line=q.last_line, confidence=q.confidence,
        ))
    return citations


def order_for_reading(quotes: list[Quote]) -> list[Quote]:
    """Group by speaker (most relevant speaker first), then by episode and time within a speaker."""
    rank: dict[str, int] = {}
    for q in quotes:
        rank.setdefault(q.chunk.speaker, len(rank))
    return sorted(quotes, key=lambda q: (rank[q.chunk.speaker], q.chunk.episode_id, q.start))


def compose(query: Query, citations: list[Citation], lead: str = "") -> str:
    """The answer text: a lead in the question's language (`lead`, or one naming who spoke where), then each quote
    verbatim with its [n]."""
    lines = [lead or _lead(query, citations), ""]
    current = None
    for c in citations:
        group = (c.speaker, c.episode_id)
        if group != current:
            if current is not None:
                lines.append("")
            lines.append(f"**{c.speaker}** ({c.date or c.episode_title}):")
            current = group
        # Attribution is inferred on unlabelled transcripts: say when the speaker is a guess.
        doubt = ""
        if c.confidence < UNCERTAIN:
            doubt = ", locuteur incertain" if query.language == "fr" else ", speaker uncertain"
        lines.append(f"- « {c.quote} » [{c.n}] ({format_seconds(c.start)}{doubt})")
    return "\n".join(lines)


def _lead(query: Query, citations: list[Citation]) -> str:
    speakers = list(dict.fromkeys(c.speaker for c in citations))
    episodes = list(dict.fromkeys(c.date or c.episode_title for c in citations))
    # The asker's own words for the topic, or none: a residue of keywords ("change chez NumSpot") reads
    # worse than no topic at all.
    topic = query.label
    fr = query.language == "fr"
    where = (f"dans l'épisode du {episodes[0]}" if fr else f"in the {episodes[0]} episode") if len(episodes) == 1 else (
        f"dans {len(episodes)} épisodes" if fr else f"across {len(episodes)} episodes")
    if len(speakers) == 1:
        n = len(citations)
        if fr:
            times = {1: "une fois", 2: "à deux reprises"}.get(n, f"à {n} reprises")
            return f"{speakers[0]} a parlé de « {topic} » {times} {where} :" if topic else \
                f"Ce qu'a dit {speakers[0]} {where} :"
        times = {1: "once", 2: "twice"}.get(n, f"{n} times")
        return f"{speakers[0]} raised {topic} {times} {where}:" if topic else f"What {speakers[0]} said {where}:"
    if fr:
        return f"Ce qui a été dit sur « {topic} » {where} :" if topic else f"Ce qui a été dit {where} :"
    return f"What was said about {topic} {where}:" if topic else f"What was said {where}:"


def refusal(query: Query, episodes: dict[str, EpisodeMeta] | None = None) -> Answer:
    """Say plainly that the transcripts do not answer, naming what was looked for; cite nothing. `episodes`: the
    catalog, to date the episodes where the question's names do come up (`Query.elsewhere`)."""
    fr = query.language == "fr"
    who = ("les invités" if fr else "the guests") if query.guests_only else ", ".join(query.speakers)
    label, asked = query.label, query.question.strip()
    # Name the topic in the asker's words, or quote the whole question when the topic is only keywords.
    if fr:
        several = query.guests_only or len(query.speakers) > 1
        what = ((f"parlent de « {label} »" if label else f"répondent à « {asked} »") if several else
                (f"parle de « {label} »" if label else f"répond à « {asked} »")) if who else \
            (f"sur « {label} »" if label else f"qui réponde à « {asked} »")
        text = f"Je n'ai trouvé aucun passage {f'où {who} ' if who else ''}{what} dans les épisodes indexés."
    else:
        what = f"about {label}" if label else f"that answers “{asked}”"
        text = f"I found nothing {f'{who} said ' if who else ''}{what} in the indexed episodes."
    if query.elsewhere:
        text += " " + _elsewhere(query, episodes or {})
    return Answer(answer=text, refused=True, citations=[], speakers=query.speakers, episodes=query.episodes)


def _elsewhere(query: Query, episodes: dict[str, EpisodeMeta]) -> str:
    """Where the names the question's scope never says do come up: "“NumSpot” only comes up in the 2025-12-11
    episode."."""
    fr = query.language == "fr"
    quoted = [f"« {w} »" if fr else f"“{w}”" for w in query.elsewhere]
    names = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {'et' if fr else 'and'} {quoted[-1]}"
    where = episodes_phrase([episodes[e] for e in dict.fromkeys(e for found in query.elsewhere.values() for e in found)
                             if e in episodes], fr)
    one = len(quoted) == 1
    if fr:
        return f"{names} n'apparai{'t' if one else 'ssent'} que dans {where}."
    return f"{names} only come{'s' if one else ''} up in {where}."


def answer(query: Query, quotes: list[Quote], episodes: dict[str, EpisodeMeta], public_url: str,
           lead: str = "") -> Answer:
    """The extractive Answer for selected quotes, or a refusal when there are none. `lead`: a first line that
    answers by itself (who someone is, from the roster), kept even when no quote supports it."""
    if not quotes:
        return Answer(answer=lead, refused=False, citations=[], speakers=query.speakers, episodes=query.episodes) \
            if lead else refusal(query, episodes)
    citations = cite(order_for_reading(quotes), episodes, public_url)
    return Answer(answer=compose(query, citations, lead), refused=False, citations=citations,
                  speakers=query.speakers, episodes=query.episodes)


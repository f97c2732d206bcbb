"""The service API: the one place the CLI, the UI, the Slack bot and the evals ask questions and ingest files."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.models import Chunk, EpisodeMeta, Person, Transcript
from ingest.pipeline import PIPELINE_VERSION
from ingest.turns import group_turns
from rag import agenda, blas, extractive, introductions, listing
from rag.embedders import Embedder, get_embedder
from rag.extractive import Thresholds
from rag.indexer import Indexer
from rag.retrieve import Ranked, Retriever
from rag.settings import Settings
from rag.store import ChromaStore, Hit, VectorStore, writer_lock
from rag.types import (
    Answer,
    EpisodeDetail,
    EpisodeSummary,
    Filters,
    IngestResult,
    Message,
    SpeakerSummary,
    TurnView,
)
from rag.understand import Query, Roster, name_groups, name_words, understand

if TYPE_CHECKING:
    from ingest.speakers.refine import ChatModel

# Another process may ingest while we serve: re-read the catalog at most this often.
CATALOG_TTL_S = 5.0


class Assistant:
    """Answers questions about the indexed episodes with cited segments; ingests and lists episodes."""

    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        chat: object | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.embedder = embedder or get_embedder(self.settings.embedder, self.settings.embed_threads)
        self.store = store or ChromaStore(self.settings, self.embedder.name)
        self.thresholds = thresholds or Thresholds()
        self.retriever = Retriever(self.store, self.embedder, self.settings.dense_k, self.settings.sparse_k,
                                   self.settings.rrf_k, self.settings.retrieval, self.settings.cache_dir)
        self._chat = chat if chat is not None else self._default_chat()
        self.indexer = Indexer(self.store, self.embedder, speaker_llm=self._speaker_chat(),
                               speaker_llm_name=self.settings.llm_model or "")
        self._catalog_read_at = time.monotonic()
        self._ingest_lock = threading.Lock()
        # The catalog's episode metadata and roster, derived once per catalog the store hands out (it keeps
        # the same dict until something changes): rebuilding them took ~1 ms a question at 1,000 episodes.
        self._derived: tuple[object, dict[str, EpisodeMeta], list[EpisodeMeta], Roster] | None = None

    @property
    def llm_enabled(self) -> bool:
        """True when an OpenAI-compatible endpoint is configured: answers are then written by the LLM."""
        return self._chat is not None

    # -- questions -------------------------------------------------------------------------------------
    def ask(self, question: str, filters: Filters | None = None, history: list[Message] | None = None) -> Answer:
        """Answer a question; the final Answer of `stream`."""
        final: Answer | None = None
        for item in self.stream(question, filters, history):
            if isinstance(item, Answer):
                final = item
        assert final is not None  # stream always ends with an Answer
        return final

    def stream(
        self, question: str, filters: Filters | None = None, history: list[Message] | None = None
    ) -> Iterator[str | Answer]:
        """Text deltas as the answer is written, then the final Answer (authoritative: it replaces the deltas)."""
        query = self.understand(question, filters, history)
        metas = self._catalog_views()[1]
        if not metas:
            empty = Answer(answer=listing.nothing_indexed(query), refused=True, citations=[])
            yield empty.answer
            yield empty
            return
        if query.intent == "episodes":
            held = Answer(answer=listing.episodes_held(query, metas), refused=False, citations=[])
            yield held.answer
            yield held
            return
        quotes = self.evidence(query)
        by_id, metas, _ = self._catalog_views()  # again: finding evidence may have refreshed the catalog
        lead = ""
        if query.intent == "who":
            lead = introductions.lead(query, introductions.people_asked_about(query, metas))
        elif query.intent == "agenda" and quotes:
            lead = agenda.lead(query, [listing.when(by_id[e]) for e in dict.fromkeys(q.chunk.episode_id for q in quotes)])
        elif quotes and query.names_people:
            lead = self._presented_lead(query, quotes)
        offline = extractive.answer(query, quotes, by_id, self.settings.public_url, lead)
        # Nothing to cite (an identity answer from the roster alone): no model can add a grounded word.
        if offline.refused or self._chat is None or not offline.citations:
            yield offline.answer
            yield offline
            return
        yield from self._llm_stream(query, offline, history or [], lead)

    def understand(self, question: str, filters: Filters | None = None,
                   history: list[Message] | None = None) -> Query:
        """Resolve names, dates and follow-ups of a question against what is indexed."""
        _, metas, roster = self._catalog_views()
        query = understand(question, roster, metas, filters, history)
        # Searching the dense index needs only the topic and filters: start it now, under the work below.
        self.retriever.prefetch(query.search_text, query.speakers, query.episodes)
        query.spellings = self.retriever.spellings(name_words(query.topic), query.speakers, query.episodes)
        if query.language == "en" and query.topic and self.settings.translate_queries:
            bridge = self.retriever.bridge()  # built (once) outside: embedding the corpus's phrases uses every core
            with blas.single_threaded():
                query.expansions = bridge.translate(query.topic)
        return query

    def retrieve(self, query: Query) -> list[Ranked]:
        """Fused retrieval results for a resolved query (the evals call this too). For "who is X?", the chunks of
        the host's introductions the answer quotes, in its order."""
        self._refresh_catalog()
        if query.intent != "search":
            found = self._intent_quotes(query)
            return [Ranked(hit=Hit(chunk=q.chunk, score=q.overlap), fused=1.0 / (1 + rank), sources={query.intent})
                    for rank, q in enumerate(found)]
        return self.retriever.retrieve(query.search_text, query.speakers, query.episodes, self.settings.top_k,
                                       query.expansions, [v for found in query.spellings.values() for v in found])

    def evidence(self, query: Query) -> list[extractive.Quote]:
        """The quotes that support an answer, best first; empty when the transcripts do not answer."""
        if query.intent != "search":
            self._refresh_catalog()
            return self._intent_quotes(query)
        # Whether what the question names is only discussed where it does not look: a refusal decision, so it is
        # made here, not in `understand` (retrieval alone has no use for it).
        groups = name_groups(query.question, name_words(query.topic))
        query.elsewhere = self.retriever.elsewhere(groups, query.speakers, query.episodes)
        if query.elsewhere:
            return []
        ranked = self.retrieve(query)
        # Quote windows are embedded in small batches: on one BLAS thread, as retrieval does (rag/blas.py). With
        # OpenBLAS's two threads, another process holding a core made a 1,000-episode answer take 450-750 ms
        # (p95) instead of ~130.
        with blas.single_threaded():
            quotes = extractive.select_quotes(query, ranked, self.embedder, self.thresholds)
        # A subject only the host's menu names ("On va parler de...", "on va regarder aussi...") was announced, not
        # discussed: the announcement shares the question's words, and it is no answer to what was said about it
        # (June's "cadre de gestion de crise" of the EU is in the menu and nowhere else). A question about a person
        # is answered from their turns anyway; one asking for a figure, by an announcement that gives it ("il y a 8
        # pays qui ont fait parvenir un petit courrier").
        if quotes and not query.names_people and not query.asks_quantity and all(self._announces(q) for q in quotes):
            return []
        if not quotes and query.names_people and not query.asks_what_was_said:
            # A fact about a guest ("Quel est le parcours de Marc Kaplan ?") is often in no turn of theirs, only
            # in the host's words presenting them ("Vous êtes le dirigeant fondateur de Vericlock, qui développe...").
            quotes = self._presented(query)
        return quotes

    def _presented(self, query: Query) -> list[extractive.Quote]:
        """Quotes from the host's chunks that present the guests the question names (`introductions.presenting`),
        held to the same evidence bar; her announcements of subjects left out (a thanks that moves on to the next
        subject shares its words with questions about that subject, not about the guest)."""
        chunks: list[Chunk] = []
        for meta in self._catalog_views()[1]:
            people = [p for p in meta.roster if p.name in query.speakers and not p.is_host]
            if not people or (query.episodes and meta.episode_id not in query.episodes):
                continue
            spellings = self.retriever.spellings([w for p in people for w in f"{p.name} {p.role} {p.affiliation}".split()])
            chunks += introductions.presenting(people, self._host_chunks(meta), spellings)
        if not chunks:
            return []
        # The question's names as these few chunks spell them ("NumSpot" said "Newspot").
        respelt = introductions.respelt(name_words(query.topic), chunks)
        asked = replace(query, spellings={**query.spellings, **respelt}) if respelt else query
        ranked = [Ranked(hit=Hit(chunk=c, score=0.0), fused=0.0) for c in chunks]
        with blas.single_threaded():
            quotes = extractive.select_quotes(asked, ranked, self.embedder, self.thresholds)
        return [q for q in quotes if not self._announces(q)]

    def _presented_lead(self, query: Query, quotes: list[extractive.Quote]) -> str:
        """The lead of an answer about named guests that quotes only the host (`_presented`); otherwise ""."""
        by_id = self._catalog_views()[0]
        metas = [by_id[e] for e in dict.fromkeys(q.chunk.episode_id for q in quotes) if e in by_id]
        hosts = {name for m in metas for name in _hosts(m)}
        speakers = {q.chunk.speaker for q in quotes}
        if not speakers <= hosts or hosts & set(query.speakers) or len(speakers) != 1:
            return ""
        return introductions.presented_lead(query, speakers.pop(), query.speakers, metas)

    def _announces(self, quote: extractive.Quote) -> bool:
        """True when the quote is its episode's host announcing a subject (`agenda.CUES`)."""
        meta = self._catalog_views()[0].get(quote.chunk.episode_id)
        return meta is not None and quote.chunk.speaker in _hosts(meta) and bool(agenda.CUES.search(quote.text))

    def _intent_quotes(self, query: Query) -> list[extractive.Quote]:
        """The quotes of a question that is not a topic search: introductions, announcements, or none."""
        if query.intent == "who":
            return self._introductions(query)
        return self._announcements(query) if query.intent == "agenda" else []

    def _introductions(self, query: Query) -> list[extractive.Quote]:
        """For "who is X?": per person and episode (newest first), the host's window that introduces them."""
        _, metas, _ = self._catalog_views()
        quotes: list[extractive.Quote] = []
        for person, episodes in introductions.people_asked_about(query, metas):
            spellings = self.retriever.spellings(name_words(f"{person.name} {person.affiliation} {query.label}"))
            for meta in episodes[: self.thresholds.max_citations]:
                found = introductions.introduction(person, self._host_chunks(meta), spellings, query.label)
                # Guests introduced in one breath ("Audrey Morel, bonjour Audrey. Imen Kabouya, partenaire chez
                # Wavestone...") share a quote: it is cited once.
                if found is not None and not any(q.chunk is found.chunk and q.first_line <= found.last_line
                                                 and found.first_line <= q.last_line for q in quotes):
                    quotes.append(found)
        return quotes[: self.thresholds.max_citations]

    def _announcements(self, query: Query) -> list[extractive.Quote]:
        """For "what was discussed?": the host's announcements of subjects, newest episode first (of those asked
        about, or of all), in the order they were said within an episode."""
        chosen = listing.asked_about(query, self._catalog_views()[1])
        per_episode = agenda.MAX_QUOTES if len(chosen) == 1 else agenda.PER_EPISODE
        quotes: list[extractive.Quote] = []
        for meta in chosen:
            quotes += agenda.announcements(self._host_chunks(meta))[:per_episode]
            if len(quotes) >= agenda.MAX_QUOTES:
                break
        return quotes[: agenda.MAX_QUOTES]

    def _host_chunks(self, meta: EpisodeMeta) -> list[Chunk]:
        """The indexed chunks of the episode's host(s): where introductions and announcements are."""
        return self.retriever.chunks(_hosts(meta), [meta.episode_id])

    def _llm_stream(self, query: Query, offline: Answer, history: list[Message], lead: str = ""
                    ) -> Iterator[str | Answer]:
        """The LLM's answer over the offline answer's citations, after `lead` (roster facts the segments may not
        hold: the model only writes from segments); the offline answer with a notice if the model fails."""
        from rag import llm

        started = bool(lead)
        if lead:
            yield lead + "\n\n"
        try:
            for item in llm.stream_answer(self._chat, query.question, query.language,  # type: ignore[arg-type]
                                          offline.citations, history):
                if isinstance(item, Answer):
                    item.speakers, item.episodes = query.speakers, query.episodes
                    if lead and not item.refused:
                        item.answer = f"{lead}\n\n{item.answer}"
                    yield item if not item.refused or not lead else offline
                    return
                started = True
                yield item
        except llm.LLMError as exc:
            notice = f"The language model failed ({exc}); showing quotes from the transcripts instead."
            offline.notice = notice
            rest = offline.answer[len(lead):].lstrip("\n") if lead else offline.answer
            yield ("\n\n" if started else "") + rest
            yield offline

    def _default_chat(self) -> object | None:
        if not self.settings.llm_enabled:
            return None
        from rag.llm import chat_model

        return chat_model(self.settings)

    def _speaker_chat(self) -> ChatModel | None:
        if not self.settings.llm_speakers_enabled:
            return None
        from rag.llm import speaker_chat_model

        return speaker_chat_model(self.settings)

    # -- episodes --------------------------------------------------------------------------------------
    def episodes(self) -> list[EpisodeSummary]:
        """Indexed episodes, newest first."""
        self._refresh_catalog()
        out = []
        for rec in self.store.catalog().values():
            meta = rec.meta
            speakers = [
                SpeakerSummary(name=p.name, role=p.role, affiliation=p.affiliation, is_host=p.is_host,
                               turns=rec.speaker_turns.get(p.name, 0))
                for p in meta.roster
            ]
            out.append(EpisodeSummary(
                episode_id=meta.episode_id, title=meta.title, date=meta.date.isoformat() if meta.date else "",
                speakers=speakers, turns=sum(rec.speaker_turns.values()), lines=rec.lines,
                source_url=meta.source_url,
            ))
        return sorted(out, key=lambda e: (e.date, e.episode_id), reverse=True)

    def episode(self, episode_id: str) -> EpisodeDetail:
        """An episode's speaker turns for the transcript viewer. KeyError when it is not indexed."""
        transcript: Transcript = self.store.transcript(episode_id)
        summary = next((e for e in self.episodes() if e.episode_id == episode_id), None)
        if summary is None:  # stored but not (or no longer) in the catalog
            raise KeyError(episode_id)
        turns = [
            TurnView(index=i, speaker=t.speaker, start=t.start, end=t.end, first_line=t.first_line,
                     last_line=t.last_line, text=t.text, confidence=t.confidence, anchor=f"L{t.first_line}")
            for i, t in enumerate(group_turns(transcript.lines))
        ]
        return EpisodeDetail(summary=summary, turns=turns)

    def transcript(self, episode_id: str) -> Transcript:
        """The attributed transcript as indexed (line-level speakers and confidences)."""
        return self.store.transcript(episode_id)

    def ingest(self, paths: list[Path], progress: Callable[[int, int, str], None] | None = None,
               source_url: str | None = None, format: str | None = None) -> list[IngestResult]:
        """Ingest files or folders. Bad files come back `failed` with a message naming file and line."""
        with self._ingest_lock, writer_lock(self.settings.index_dir):
            results = self.indexer.ingest(paths, progress, source_url, format)
            if any(r.status in ("added", "replaced") for r in results):
                # Build (and cache on disk) the search indexes now, not on the first question after the ingest.
                self.retriever.prepare(bridge=self.settings.translate_queries)
            if self.settings.translate_queries:
                self.retriever.prepare_lexicon(None if progress is None else
                                               lambda done, total: progress(done, total, "English word vectors"))
        self._catalog_read_at = time.monotonic()
        return results

    def remove(self, episode_id: str) -> bool:
        """Remove an episode from the index; False when it was not there."""
        with self._ingest_lock, writer_lock(self.settings.index_dir):
            return self.store.remove_episode(episode_id)

    def outdated(self) -> list[str]:
        """Episodes indexed by an older parsing/attribution pipeline (`ingest.pipeline.PIPELINE_VERSION`): their
        speakers and chunks are what that version made until the files are ingested again. (Records written before
        they carried the pipeline's version are not counted: nothing says which version made them.)"""
        return sorted(eid for eid, rec in self.store.catalog().items() if rec.pipeline not in ("", PIPELINE_VERSION))

    def outdated_notice(self) -> str | None:
        """A sentence for the person running debrief when `outdated()` is not empty, else None."""
        old = self.outdated()
        if not old:
            return None
        some = ", ".join(old[:3]) + (f" and {len(old) - 3} more" if len(old) > 3 else "")
        return (f"{len(old)} episode(s) ({some}) were indexed by an older version of debrief, whose parsing and speaker "
                f"attribution have changed since: run `debrief ingest` on their files to bring them up to date.")

    def ensure_samples(self) -> list[IngestResult]:
        """Ingest the bundled sample transcripts when the index is empty."""
        if self.store.catalog():
            return []
        return self.ingest([self.settings.samples_dir])

    # -- helpers ---------------------------------------------------------------------------------------
    def _episode_metas(self) -> dict[str, EpisodeMeta]:
        return self._catalog_views()[0]

    def _catalog_views(self) -> tuple[dict[str, EpisodeMeta], list[EpisodeMeta], Roster]:
        catalog = self.store.catalog()
        derived = self._derived
        if derived is None or derived[0] is not catalog:
            by_id = {eid: rec.meta for eid, rec in catalog.items()}
            metas = list(by_id.values())
            derived = self._derived = (catalog, by_id, metas, Roster(_people(metas)))
        return derived[1], derived[2], derived[3]

    def _refresh_catalog(self) -> None:
        if time.monotonic() - self._catalog_read_at > CATALOG_TTL_S:
            refresh = getattr(self.store, "refresh", None)
            if refresh:
                refresh()
            self._catalog_read_at = time.monotonic()


def _people(metas: list[EpisodeMeta]) -> list[Person]:
    """Everyone on any indexed roster, once each."""
    seen: dict[str, Person] = {}
    for meta in metas:
        for p in meta.roster:
            seen.setdefault(p.name, p)
    return list(seen.values())


def _hosts(meta: EpisodeMeta) -> list[str]:
    """The names of the episode's host(s), from its roster."""
    return [p.name for p in meta.roster if p.is_host]

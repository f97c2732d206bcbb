"""Turns and chunks: one chunk per speaker turn, long turns cut at sentence ends, interjections dropped."""

from __future__ import annotations

from ingest.chunking import ChunkingConfig, chunk_turns
from ingest.models import EpisodeMeta, Person, SpeechLine
from ingest.turns import group_turns

HOST = "Delphine Sabattier"
META = EpisodeMeta("smart-tech-2025-06-19", "SMART TECH — 2025-06-19", host=Person(HOST, is_host=True),
                   guests=[Person("Alain Staron"), Person("Dorothée Decrop")])

# Real lines 40-48 of the 2025-06-19 sample, with their gold speakers.
LINES = [
    SpeechLine(40, 128.0, "Petit tour de table rapide.", speaker=HOST),
    SpeechLine(41, 130.0, "Alain ?", speaker=HOST),
    SpeechLine(42, 131.0, "Ça dépend de ce qu'on met derrière campus.", speaker="Alain Staron"),
    SpeechLine(43, 132.0, "En revanche, derrière quantique, oui.", speaker="Alain Staron"),
    SpeechLine(44, 134.0, "Il ne faut pas hésiter.", speaker="Alain Staron"),
    SpeechLine(45, 135.0, "Bon.", speaker=HOST),
    SpeechLine(46, 136.0, "Dorothée ?", speaker=HOST),
    SpeechLine(47, 136.0, "Les campus cyber, par exemple, et Paris Santé Campus sont déjà deux beaux exemples "
               "qui accompagnent l'écosystème.", speaker="Dorothée Decrop"),
    SpeechLine(48, 143.0, "Donc, pourquoi pas ?", speaker="Dorothée Decrop"),
]
for prev, cur in zip(LINES, LINES[1:]):
    prev.end = cur.start
LINES[-1].end = 144.0


def test_turns_group_consecutive_lines_of_one_speaker() -> None:
    turns = group_turns(LINES)
    assert [(t.speaker, t.first_line, t.last_line) for t in turns] == [
        (HOST, 40, 41), ("Alain Staron", 42, 44), (HOST, 45, 46), ("Dorothée Decrop", 47, 48)]
    assert (turns[1].start, turns[1].end) == (131.0, 135.0)


def test_short_interjections_do_not_become_chunks_and_guests_carry_the_hosts_question() -> None:
    chunks = chunk_turns(META, group_turns(LINES), version="v1")
    # 'Bon. Dorothée ?' (15 characters) is not worth retrieving on its own.
    assert [(c.speaker, c.first_line, c.last_line) for c in chunks] == [
        ("Alain Staron", 42, 44), ("Dorothée Decrop", 47, 48)]
    alain = chunks[0]
    assert alain.context == "Petit tour de table rapide. Alain ?"
    assert alain.text.startswith("Ça dépend") and "Alain ?" not in alain.text  # context is not his words
    assert alain.chunk_id == "smart-tech-2025-06-19@v1:42"


def test_a_long_turn_splits_at_sentence_ends_and_each_piece_keeps_its_times() -> None:
    long_turn = [SpeechLine(100 + i, 600.0 + 7 * i, f"Phrase numéro {i} sur la souveraineté numérique européenne.",
                            end=600.0 + 7 * (i + 1), speaker="Alain Staron") for i in range(12)]
    chunks = chunk_turns(META, group_turns(long_turn), "v1", ChunkingConfig(max_chars=200))
    assert len(chunks) > 1
    assert all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    # Pieces tile the turn: consecutive line ranges, and times taken from their own lines.
    assert [c.first_line for c in chunks][0] == 100 and chunks[-1].last_line == 111
    for a, b in zip(chunks, chunks[1:]):
        assert b.first_line == a.last_line + 1 and b.start == a.end
    assert chunks[1].start == 600.0 + 7 * (chunks[1].first_line - 100)

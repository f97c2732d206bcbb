"""Speaker labels as subtitle files write them: `JULIEN PILLOT: ...`, `- Delphine: ...`, `SPEAKER_00`."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# A name word: capitalised (Julien, Pillot, Jean-Marc, D'Almeida) or all caps (PILLOT).
_WORD = r"[A-ZÀ-ÖØ-Þ][\wÀ-ÖØ-öø-ÿ'’\-]*"
# Lower-case particles allowed inside a name ("Ursula von der Leyen", "Charles de Gaulle").
_PARTICLE = r"(?:de|du|des|la|le|van|von|der|di|da|d'|d’)"
# Diarisation and transcription-tool labels: SPEAKER_00, Speaker 1, Intervenant 2, Locuteur A.
_GENERIC = r"(?:SPEAKER|Speaker|speaker|Intervenant|INTERVENANT|Locuteur|LOCUTEUR)[ _]?[0-9A-Z]{1,3}"
NAME = rf"(?:{_GENERIC}|{_WORD}(?:\s+(?:{_PARTICLE}\s*)?{_WORD}){{0,3}})"

# `NAME: text`; French typography puts a space before the colon, which we allow only for all-caps
# names so that 'Attention : ...' or 'Bon : ...' in running speech is not taken for a speaker.
_PREFIX = re.compile(
    rf"^(?P<dash>[-–—]\s*)?(?:(?P<label>{NAME}):|(?P<caps>[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’\- ]{{1,40}}[A-ZÀ-ÖØ-Þ])\s+:)\s+(?P<text>\S.*)$"
)
_DASH = re.compile(r"^[-–—]\s+(?P<text>\S.*)$")
_DASH_LEAD = re.compile(r"^[-–—]\s*")
# Formatting inside cue text: <i>, <b>, <c.yellow>, <00:00:01.000>, <font color=...>, {\an8}.
_TAGS = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_GENERIC_LABEL = re.compile(rf"^{_GENERIC}$")

# A file counts as labelled when at least this share of its pieces opens with a `NAME:` prefix.
LABELLED_SHARE = 0.05


@dataclass
class Piece:
    """A stretch of one cue's text that one voice speaks, before we decide whether prefixes are labels."""

    line: int
    start: float
    end: float | None
    text: str
    # `NAME` from a `NAME: text` prefix, and `text` without it: used only if the file turns out labelled.
    candidate: str | None = None
    bare: str = ""
    # A leading dash: subtitles mark a change of speaker inside a cue this way.
    dash: bool = False
    # A label the format states outright (a WebVTT voice): trusted without any vote.
    voice: str | None = None


def clean_label(raw: str) -> str:
    """'  JULIEN   PILLOT ' -> 'Julien Pillot'; generic labels such as 'SPEAKER_00' stay as they are."""
    label = " ".join(html.unescape(raw).split()).strip(" :-–—")
    if _GENERIC_LABEL.match(label) or any(c.isdigit() for c in label):
        return label
    if label.isupper():
        # Shouting captions: 'JEAN-MARC D'ALMEIDA' -> 'Jean-Marc D'Almeida'.
        return label.title().replace("’", "'")
    return label


def strip_tags(text: str) -> str:
    """Cue text without markup and with entities decoded."""
    return " ".join(html.unescape(_TAGS.sub("", text)).split())


def split_prefix(text: str) -> tuple[str | None, str, bool]:
    """(`NAME` or None, the text after it, whether a leading dash marked a change of speaker)."""
    m = _PREFIX.match(text)
    if m:
        return (m.group("label") or m.group("caps")).strip(), m.group("text").strip(), bool(m.group("dash"))
    d = _DASH.match(text)
    if d:
        return None, d.group("text").strip(), True
    return None, text, False


def text_pieces(lines: list[tuple[int, str]], start: float, end: float | None) -> list[Piece]:
    """One cue's lines (physical number, markup-free text) cut where a dash or a `NAME:` starts a new voice."""
    pieces: list[Piece] = []
    for number, text in lines:
        if not text:
            continue
        candidate, bare, dash = split_prefix(text)
        if pieces and candidate is None and not dash:
            # A wrapped line of the same sentence.
            pieces[-1].text += " " + text
            pieces[-1].bare += " " + text
            continue
        # Unless the file turns out labelled, the prefix stays part of what was said.
        plain = _DASH_LEAD.sub("", text) if dash else text
        pieces.append(Piece(line=number, start=start, end=end, text=plain, candidate=candidate, bare=bare, dash=dash))
    return pieces


def resolve(pieces: list[Piece]) -> tuple[list[tuple[Piece, str | None]], bool]:
    """Decide once per file whether `NAME:` prefixes are speaker labels; give each piece its text and label.

    Returns (piece with final text, cleaned label or None) pairs, and whether the file is labelled.
    A piece without a label continues the previous speaker, unless a dash says the speaker changed.
    """
    prefixed = sum(1 for p in pieces if p.candidate)
    voiced = any(p.voice for p in pieces)
    by_prefix = prefixed >= max(2, LABELLED_SHARE * len(pieces))
    labelled = voiced or by_prefix
    out: list[tuple[Piece, str | None]] = []
    current: str | None = None
    for p in pieces:
        if p.voice is not None:
            current = clean_label(p.voice)
        elif by_prefix and p.candidate:
            current = clean_label(p.candidate)
            p.text = p.bare
        elif p.dash:
            current = None
        out.append((p, current if labelled else None))
    return out, labelled


def blocks(text: str) -> list[list[tuple[int, str]]]:
    """Runs of non-blank lines (cues), each line with its 1-based physical number, right-stripped."""
    found: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            current.append((number, line.rstrip()))
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found

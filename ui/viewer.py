"""HTML for people: the transcript viewer page, the cited-segments panel and the episode list.

Pure functions from `rag.types` values to HTML strings. Every piece of transcript or metadata text goes
through `html.escape`: a transcript is untrusted input and is never rendered as markup.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import date
from html import escape
from urllib.parse import quote

from ingest.models import SpeechLine
from rag.types import Citation, EpisodeDetail, EpisodeSummary, TurnView

# Below this a turn's speaker came from a weak guess (attribution), and the page says so.
LOW_CONFIDENCE = 0.5
# Two speakers of one episode never get hues closer than this (degrees on the colour wheel).
MIN_HUE_GAP = 50

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HL = re.compile(r"^\s*(\d{1,7})\s*(?:-\s*(\d{1,7}))?\s*$")


def clock(seconds: float) -> str:
    """`mm:ss` from the start of the episode (`h:mm:ss` past the hour)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def human_date(iso: str) -> str:
    """`11 Dec 2025` from `2025-12-11`; the input unchanged when it is not an ISO date."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def citation_label(citation: Citation) -> str:
    """`Julien Pillot · 11 Dec 2025 · 06:54`: who, which episode, when (plain text, not escaped)."""
    episode = human_date(citation.date) if citation.date else citation.episode_title
    return " · ".join(part for part in (citation.speaker, episode, clock(citation.start)) if part)


def viewer_path(episode_id: str, first_line: int, last_line: int | None = None) -> str:
    """Relative link to the transcript viewer, highlighting lines `first_line..last_line`."""
    last = last_line if last_line and last_line >= first_line else first_line
    return f"/episode/{quote(episode_id, safe='')}?hl={first_line}-{last}#L{first_line}"


def speaker_colour(name: str) -> int:
    """A speaker's own hue (0-359), the same on every run (a digest, not Python's salted `hash`)."""
    digest = hashlib.sha256(name.strip().casefold().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 360


def speaker_hues(roster: Iterable[str], extras: Iterable[str] = ()) -> dict[str, int]:
    """Hues for the people of one episode, at least MIN_HUE_GAP degrees apart so they can be told apart.

    Each name takes its own `speaker_colour` if free, else the nearest free hue. The result depends only on the set of names, so the viewer and the citation panel agree.
    `extras` (speakers not on the roster, e.g. "Unknown") are placed afterwards and never move roster hues.
    """
    hues: dict[str, int] = {}
    for group in (roster, extras):
        names = sorted({n for n in group if n not in hues}, key=lambda n: (speaker_colour(n), n))
        for name in names:
            own = speaker_colour(name)
            # The free hue nearest the speaker's own; when the wheel is full, the one farthest from the rest.
            candidates = sorted(range(360), key=lambda h: (_hue_distance(h, own), h))
            hues[name] = max(candidates, key=lambda h: min(_room(h, hues.values()), MIN_HUE_GAP))
    return hues


def _room(hue: int, taken: Iterable[int]) -> int:
    return min((_hue_distance(hue, h) for h in taken), default=360)


def _hue_distance(a: int, b: int) -> int:
    d = abs(a - b) % 360
    return min(d, 360 - d)


def _style(hues: dict[str, int], name: str) -> str:
    return f"--hue:{hues.get(name, speaker_colour(name))}"


def parse_hl(value: str | None) -> tuple[int, int] | None:
    """`(first, last)` from a `?hl=412-418` (or `?hl=412`) query value; None when absent or malformed."""
    if not value:
        return None
    match = _HL.match(value)
    if not match:
        return None
    first = int(match.group(1))
    last = int(match.group(2) or first)
    return (first, last) if last >= first else (last, first)


def _overlaps(turn: TurnView, span: tuple[int, int]) -> bool:
    return turn.first_line <= span[1] and span[0] <= turn.last_line


def render_turn(
    turn: TurnView,
    highlight: tuple[int, int] | None = None,
    lines: Sequence[SpeechLine] | None = None,
    hues: dict[str, int] | None = None,
) -> str:
    """One speaker turn, anchored `#L<first_line>`; with `lines`, each line is its own `#L<n>` span.

    A citation may start on a line inside a turn: with line data the link lands on that very line; without
    it, empty anchors stand for the turn's later lines and `.turn:has(:target)` highlights the whole turn.
    """
    classes = ["turn"]
    if highlight and _overlaps(turn, highlight):
        classes.append("hl")
    uncertain = turn.confidence < LOW_CONFIDENCE
    if uncertain:
        classes.append("uncertain")
    mark = (
        f'<span class="mark" title="speaker uncertain (confidence {turn.confidence:.2f})">? speaker uncertain</span>'
        if uncertain
        else ""
    )
    if lines:
        anchors = ""
        # The space between lines sits inside the span, so a highlighted run of lines reads as one block.
        body = "".join(_render_line(line, highlight, last=i == len(lines) - 1) for i, line in enumerate(lines))
    else:
        anchors = "".join(
            f'<span class="line" id="L{n}"></span>' for n in range(turn.first_line + 1, turn.last_line + 1)
        )
        body = escape(turn.text)
    # With line spans the first line carries `L<first>` itself; the article keeps a turn-level id.
    turn_id = f"T{turn.first_line}" if lines else f"L{turn.first_line}"
    return (
        f'<article class="{" ".join(classes)}" id="{turn_id}" style="{_style(hues or {}, turn.speaker)}" '
        f'data-speaker="{escape(turn.speaker)}" data-lines="{turn.first_line}-{turn.last_line}">'
        f"{anchors}"
        f'<header><span class="who">{escape(turn.speaker)}</span>'
        f'<a class="time" href="#L{turn.first_line}" title="lines {turn.first_line}-{turn.last_line}">'
        f"{clock(turn.start)}</a>{mark}</header>"
        f'<p class="text">{body}</p></article>'
    )


def _render_line(line: SpeechLine, highlight: tuple[int, int] | None, last: bool = True) -> str:
    classes = ["ln"]
    if highlight and highlight[0] <= line.line <= highlight[1]:
        classes.append("hl")
    title = f"{clock(line.start)} · line {line.line}"
    if line.confidence < LOW_CONFIDENCE:
        classes.append("low")
        title += f" · speaker uncertain ({line.confidence:.2f})"
    text = escape(line.text) + ("" if last else " ")
    return f'<span class="{" ".join(classes)}" id="L{line.line}" title="{escape(title)}">{text}</span>'


def lines_by_turn(turns: Sequence[TurnView], lines: Sequence[SpeechLine]) -> list[list[SpeechLine]]:
    """The speech lines of each turn (those whose number falls in the turn's first..last line), in order."""
    ordered = sorted(lines, key=lambda x: x.line)
    out: list[list[SpeechLine]] = []
    i = 0
    for turn in turns:
        while i < len(ordered) and ordered[i].line < turn.first_line:
            i += 1
        group = []
        while i < len(ordered) and ordered[i].line <= turn.last_line:
            group.append(ordered[i])
            i += 1
        out.append(group)
    return out


_PAGE_CSS = """
:root { color-scheme: light; --ink:#1f2328; --muted:#656d76; --line:#d0d7de; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--bg); }
.page { max-width: 860px; margin: 0 auto; padding: 24px 20px 80px; }
nav { position: sticky; top: 0; z-index: 2; background: var(--bg); padding: 8px 0; display: flex; gap: 16px;
      align-items: baseline; border-bottom: 1px solid var(--line); font-size: 14px; }
nav a { color: #0969da; text-decoration: none; }
nav .nav-title { color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
h1 { font-size: 24px; margin: 8px 0 4px; }
.meta { color: var(--muted); margin: 0 0 12px; font-size: 14px; }
.meta a { color: #0969da; }
.roster { display:flex; flex-wrap:wrap; gap:8px; padding:0; margin:0 0 12px; list-style:none; }
.roster li { border-left: 4px solid hsl(var(--hue) 55% 42%); background:#fff; padding:4px 10px;
             border-radius: 4px; font-size: 14px; }
.roster .role { color: var(--muted); }
.legend { font-size: 13px; color: var(--muted); margin: 0 0 20px; }
.turn { background:#fff; border:1px solid var(--line); border-left: 5px solid hsl(var(--hue) 55% 42%);
        border-radius: 6px; padding: 10px 14px; margin: 0 0 10px; scroll-margin-top: 80px; }
.turn header { display:flex; gap:10px; align-items:baseline; font-size:14px; }
.turn .who { font-weight: 600; color: hsl(var(--hue) 55% 32%); }
.turn .time { color: var(--muted); font-variant-numeric: tabular-nums; text-decoration:none; }
.turn .time:hover { text-decoration: underline; }
.turn .text { margin: 4px 0 0; white-space: pre-wrap; }
.turn .line { display:block; height:0; scroll-margin-top: 80px; }
.mark { font-size: 12px; color:#9a6700; background:#fff8c5; border:1px solid #d4a72c; border-radius: 10px;
        padding: 0 8px; }
.turn.uncertain { border-style: dashed; border-left-style: solid; }
.turn.uncertain .who::after { content: " ?"; color:#9a6700; }
.turn.hl, .turn:target, .turn:has(:target) { background: #fffbe6; border-color:#d4a72c;
        box-shadow: 0 0 0 3px rgba(212,167,44,.30); }
.ln { scroll-margin-top: 120px; }
.ln.low { text-decoration: underline dotted #d8b45a; text-underline-offset: 4px; }
.ln.hl, .ln:target { background: #ffe58f; }
.ln:target { box-shadow: 0 2px 0 #d4a72c; }
.legend .hl-sample { background: #ffe58f; border-radius: 3px; padding: 0 3px; }
.legend .low-sample { text-decoration: underline dotted #d8b45a; text-underline-offset: 4px; }
"""

_PAGE_SCRIPT = """
if (!location.hash) { const t = document.querySelector('.ln.hl, .turn.hl'); if (t) t.scrollIntoView({block: 'center'}); }
"""


def episode_hues(summary: EpisodeSummary, others: Iterable[str] = ()) -> dict[str, int]:
    """The speaker hues of one episode: its roster first, then anyone else who speaks in it."""
    return speaker_hues([p.name for p in summary.speakers], others)


def _roster(summary: EpisodeSummary, hues: dict[str, int]) -> str:
    items = []
    for person in summary.speakers:
        role = ", ".join(part for part in (person.role, person.affiliation) if part)
        if person.is_host:
            role = f"host{', ' + role if role else ''}"
        role_html = f' <span class="role">({escape(role)})</span>' if role else ""
        items.append(f'<li style="{_style(hues, person.name)}">{escape(person.name)}{role_html}</li>')
    return f'<ul class="roster">{"".join(items)}</ul>' if items else ""


def render_episode_page(
    detail: EpisodeDetail, highlight: tuple[int, int] | None = None, lines: Sequence[SpeechLine] | None = None
) -> str:
    """The whole transcript page of an episode, speaker turns in order, `highlight` lines marked.

    `lines` (the attributed speech lines, optional) lets each line be addressed and marked on its own.
    """
    summary = detail.summary
    uncertain = sum(1 for t in detail.turns if t.confidence < LOW_CONFIDENCE)
    bits = [human_date(summary.date)] if summary.date else []
    bits.append(f"{len(detail.turns)} turns")
    meta = " · ".join(escape(b) for b in bits)
    if summary.source_url:
        meta += f' · <a href="{escape(summary.source_url)}" rel="noopener noreferrer" target="_blank">watch the episode</a>'
    legend = (
        '<p class="legend"><span class="mark">? speaker uncertain</span> marks a turn whose speaker was inferred '
        f"with low confidence (below {LOW_CONFIDENCE:.1f}): {uncertain} of {len(detail.turns)} turns"
        + ('; <span class="low-sample">dotted lines</span> are the uncertain lines themselves' if lines else "")
        + '. <span class="hl-sample">Highlighted</span> text is the cited segment.</p>'
    )
    hues = episode_hues(summary, (t.speaker for t in detail.turns))
    grouped = lines_by_turn(detail.turns, lines) if lines else [[] for _ in detail.turns]
    turns = "\n".join(render_turn(t, highlight, g or None, hues) for t, g in zip(detail.turns, grouped))
    return (
        "<!doctype html>\n"
        f'<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(summary.title)} · debrief</title><style>{_PAGE_CSS}</style></head>"
        f'<body><div class="page"><nav><a href="/">← back to the chat</a>'
        f'<span class="nav-title">{escape(summary.title)}</span></nav>'
        f"<h1>{escape(summary.title)}</h1><p class=\"meta\">{meta}</p>{_roster(summary, hues)}{legend}"
        f'<main id="transcript">\n{turns}\n</main></div><script>{_PAGE_SCRIPT}</script></body></html>'
    )


def render_not_found(episode_id: str) -> str:
    """The 404 page for an episode id the index does not hold."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Episode not found · debrief</title>'
        f"<style>{_PAGE_CSS}</style></head><body><div class=\"page\"><nav><a href=\"/\">← back to the chat</a></nav>"
        f"<h1>Episode not found</h1><p>No episode <code>{escape(episode_id)}</code> in the index.</p></div></body></html>"
    )


def render_citations(citations: list[Citation], episodes: Sequence[EpisodeSummary] = ()) -> str:
    """The side panel: one card per cited segment (quote, speaker, date, time); a card opens the viewer.

    `episodes` gives each speaker the same colour as in that episode's transcript viewer.
    """
    by_id = {e.episode_id: e for e in episodes}
    if not citations:
        return '<div class="cites-empty">Cited segments appear here: quote, speaker and time, each opening the transcript.</div>'
    cards = []
    for c in citations:
        viewer = viewer_path(c.episode_id, c.first_line, c.last_line)
        summary = by_id.get(c.episode_id)
        hues = episode_hues(summary, [c.speaker]) if summary else {}
        when = human_date(c.date) if c.date else c.episode_title
        uncertain = (
            (
                f' <span class="cite-mark" title="speaker uncertain (confidence {c.confidence:.2f})">'
                "? speaker uncertain</span>"
            )
            if c.confidence < LOW_CONFIDENCE
            else ""
        )
        # The card is a link to our viewer; the video/source link sits outside it (links cannot nest).
        cards.append(
            f'<div class="cite" style="{_style(hues, c.speaker)}" data-n="{c.n}">'
            f'<a class="cite-open" href="{escape(viewer)}" target="_blank" rel="noopener" '
            f'title="Open the transcript at this segment">'
            f'<div class="cite-head"><span class="cite-n">[{c.n}]</span> '
            f'<span class="cite-who">{escape(c.speaker)}</span>{uncertain}'
            f'<span class="cite-when">{escape(when)} · {clock(c.start)}</span></div>'
            f'<blockquote class="cite-quote">{escape(c.quote)}</blockquote></a>'
            f'<div class="cite-links"><a class="cite-viewer" href="{escape(viewer)}" target="_blank" rel="noopener">'
            f"transcript ↗</a>"
            + (
                f' · <a class="cite-source" href="{escape(c.url)}" target="_blank" rel="noopener noreferrer">'
                f"video at {clock(c.start)} ↗</a>"
                if c.url and "/episode/" not in c.url
                else ""
            )
            + "</div></div>"
        )
    return f'<div class="cites">{"".join(cards)}</div>'


def render_episode_list(episodes: list[EpisodeSummary]) -> str:
    """The episodes tab: date, title, host and guests with their roles, size, and a link to the transcript."""
    if not episodes:
        return "<p>No episode indexed yet: upload a transcript below.</p>"
    rows = []
    for ep in sorted(episodes, key=lambda e: e.date, reverse=True):
        hues = episode_hues(ep)
        people = []
        for p in ep.speakers:
            role = ", ".join(x for x in (p.role, p.affiliation) if x)
            label = escape(p.name) + (" <em>(host)</em>" if p.is_host else "")
            if role:
                label += f' <span class="ep-role">— {escape(role)}</span>'
            people.append(f'<li style="{_style(hues, p.name)}">{label}</li>')
        rows.append(
            "<tr>"
            f'<td class="ep-date">{escape(human_date(ep.date)) if ep.date else "?"}</td>'
            f'<td><a href="/episode/{quote(ep.episode_id, safe="")}" target="_blank" rel="noopener">{escape(ep.title)}</a>'
            f'<div class="ep-id">{escape(ep.episode_id)}</div></td>'
            f'<td><ul class="ep-people">{"".join(people)}</ul></td>'
            f'<td class="ep-n">{ep.turns} turns<br>{ep.lines} lines</td>'
            "</tr>"
        )
    return (
        '<table class="episodes"><thead><tr><th>Date</th><th>Episode</th><th>Host and guests</th><th>Size</th></tr>'
        f'</thead><tbody>{"".join(rows)}</tbody></table>'
    )

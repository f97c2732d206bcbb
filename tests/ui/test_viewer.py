"""The transcript viewer and citation panel HTML: escaping, anchors, highlighting, uncertainty marks, colours."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from ingest.models import SpeechLine
from rag.types import Answer, Citation, EpisodeDetail, EpisodeSummary, SpeakerSummary, TurnView
from ui import viewer

# Real lines of data/transcripts/smart-tech-2025-12-11.txt (physical line numbers as in the file).
INTRO = [
    SpeechLine(line=11, start=36.0, text="Vous êtes experte du cloud, de la data, de l'IA je le rappelle.", speaker="Delphine Sabattier"),
    SpeechLine(line=12, start=39.0, text="Et puis Julien Pillot aussi est avec nous, bonjour Julien.", speaker="Delphine Sabattier"),
    SpeechLine(line=13, start=41.0, text="Bonjour Delphine.", speaker="Julien Pillot", confidence=0.9),
]
PILLOT = [
    SpeechLine(line=255, start=673.0, text="pour vous dire sur ce que dit Emine,", speaker="Julien Pillot", confidence=0.26),
    SpeechLine(line=256, start=675.0, text="moi, j'ai le premier point positif,", speaker="Julien Pillot", confidence=0.26),
    SpeechLine(line=257, start=676.0, text="quand même,", speaker="Julien Pillot", confidence=0.8),
    SpeechLine(line=258, start=677.0, text="c'est que,", speaker="Julien Pillot", confidence=0.8),
    SpeechLine(line=259, start=677.0, text="vous parlez de commande publique,", speaker="Julien Pillot", confidence=0.8),
    SpeechLine(line=260, start=679.0, text="et moi, je pense que cette plateforme", speaker="Julien Pillot", confidence=0.8),
]


def _turn(index: int, lines: list[SpeechLine], text: str | None = None) -> TurnView:
    return TurnView(
        index=index, speaker=lines[0].speaker or "Unknown", start=lines[0].start, end=lines[-1].start,
        first_line=lines[0].line, last_line=lines[-1].line,
        text=text if text is not None else " ".join(x.text for x in lines),
        confidence=min(x.confidence for x in lines), anchor=f"L{lines[0].line}",
    )


def _detail(turns: list[TurnView]) -> EpisodeDetail:
    summary = EpisodeSummary(
        episode_id="smart-tech-2025-12-11", title="SMART TECH — 2025-12-11", date="2025-12-11",
        speakers=[
            SpeakerSummary(name="Delphine Sabattier", role="présentatrice", is_host=True),
            SpeakerSummary(name="Julien Pillot", role="Consultant, Enseignant-chercheur en économie",
                           affiliation="Inseec - Groupe Omnes Education"),
        ],
        turns=len(turns), lines=sum(t.last_line - t.first_line + 1 for t in turns),
    )
    return EpisodeDetail(summary=summary, turns=turns)


class _Ids(HTMLParser):
    """Every element id of a page, and the tags seen (a parser, not a regex, so attribute quoting counts)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.ids += [v for k, v in attrs if k == "id" and v]


def _parse(page: str) -> _Ids:
    parser = _Ids()
    parser.feed(page)
    return parser


def test_script_in_transcript_text_is_escaped_not_rendered() -> None:
    hostile = "vous parlez de commande publique, <script>alert('x')</script> & <b>gras</b>"
    lines = [SpeechLine(line=259, start=677.0, text=hostile, speaker="Julien Pillot")]
    for page in (
        viewer.render_episode_page(_detail([_turn(0, lines)])),  # turn text only
        viewer.render_episode_page(_detail([_turn(0, lines)]), lines=lines),  # line by line
    ):
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;" in page
        parsed = _parse(page)
        assert parsed.tags.count("script") == 1  # the page's own scroll helper, nothing from the transcript
        assert "b" not in parsed.tags


def test_speaker_names_and_titles_are_escaped() -> None:
    lines = [SpeechLine(line=13, start=41.0, text="Bonjour Delphine.", speaker='Julien "><img src=x onerror=alert(1)>')]
    detail = _detail([_turn(0, lines)])
    detail.summary.title = "<i>SMART TECH</i>"
    page = viewer.render_episode_page(detail, lines=lines)
    assert "img" not in _parse(page).tags and "i" not in _parse(page).tags
    assert "&lt;i&gt;SMART TECH&lt;/i&gt;" in page


def test_every_turn_and_line_is_addressable() -> None:
    turns = [_turn(0, INTRO[:2]), _turn(1, INTRO[2:]), _turn(2, PILLOT)]
    # Without line data: the turn is #L<first>, later lines of the turn get empty anchors inside it.
    ids = _parse(viewer.render_episode_page(_detail(turns))).ids
    assert {"L11", "L12", "L13", "L255", "L256", "L257", "L260"} <= set(ids)
    assert len(ids) == len(set(ids))
    # With line data: one span per line, each its own anchor, ids still unique.
    ids = _parse(viewer.render_episode_page(_detail(turns), lines=INTRO + PILLOT)).ids
    assert {f"L{x.line}" for x in INTRO + PILLOT} <= set(ids)
    assert len(ids) == len(set(ids))


def test_citation_inside_a_turn_lands_in_that_turn() -> None:
    """A citation starting at line 257 (inside the turn opened at 255) must resolve to Julien Pillot's turn."""
    turns = [_turn(0, INTRO[:2]), _turn(1, PILLOT)]
    for lines in (None, INTRO[:2] + PILLOT):
        page = viewer.render_episode_page(_detail(turns), highlight=(257, 260), lines=lines)
        article = re.search(r'<article [^>]*data-speaker="([^"]+)"[^>]*>(?:(?!</article>).)*id="L257"', page, re.S)
        assert article and article.group(1) == "Julien Pillot"
        assert ".turn:has(:target)" in page  # the CSS that highlights a turn whose inner line is the target


def test_highlight_marks_exactly_the_cited_lines() -> None:
    page = viewer.render_episode_page(_detail([_turn(0, INTRO[:2]), _turn(1, PILLOT)]), (257, 259), INTRO[:2] + PILLOT)
    highlighted = re.findall(r'<span class="ln hl[^"]*" id="L(\d+)"', page)
    assert highlighted == ["257", "258", "259"]
    assert re.search(r'<article class="turn hl[^"]*" id="T255"', page)
    assert not re.search(r'<article class="turn hl[^"]*" id="T11"', page)


def test_low_confidence_is_marked_with_a_legend() -> None:
    turns = [_turn(0, INTRO[:2]), _turn(1, PILLOT)]
    page = viewer.render_episode_page(_detail(turns), lines=INTRO[:2] + PILLOT)
    assert "speaker uncertain" in page.split('<main id="transcript">')[0]  # the legend, above the transcript
    assert re.search(r'<article class="turn uncertain" id="T255"', page)
    assert re.search(r'<article class="turn" id="T11"', page)  # confident host turn: no mark
    low = re.findall(r'<span class="ln low" id="L(\d+)"', page)
    assert low == ["255", "256"]  # the two lines below 0.5, not the confident ones of the same turn


ROSTER_DEC = ["Delphine Sabattier", "Imène Kabouya", "Audrey Maurel", "Julien Pillot", "Eric Haddad"]
ROSTER_JUN = ["Delphine Sabattier", "Louis Soris", "Marc Kaplan", "Dorothée Decrop", "Alain Staron"]


def test_speaker_colours_are_stable_and_distinct_for_the_real_rosters() -> None:
    assert viewer.speaker_colour("julien pillot ") == viewer.speaker_colour("Julien Pillot")
    for roster in (ROSTER_DEC, ROSTER_JUN):
        hues = viewer.speaker_hues(roster)
        assert hues == viewer.speaker_hues(list(reversed(roster)))  # the set decides, not the order
        values = sorted(hues.values())
        gaps = [b - a for a, b in zip(values, values[1:])] + [360 - values[-1] + values[0]]
        assert min(gaps) >= viewer.MIN_HUE_GAP, (roster, hues)
    # A speaker outside the roster ("Unknown") gets a hue of its own without moving anyone on it.
    with_unknown = viewer.speaker_hues(ROSTER_DEC, ["Unknown"])
    assert {k: v for k, v in with_unknown.items() if k != "Unknown"} == viewer.speaker_hues(ROSTER_DEC)


def test_a_speaker_has_one_colour_across_turns_and_the_citation_panel() -> None:
    detail = _detail([_turn(0, INTRO[:2]), _turn(1, INTRO[2:]), _turn(2, PILLOT)])
    page = viewer.render_episode_page(detail)
    pillot = set(re.findall(r'style="(--hue:\d+)" data-speaker="Julien Pillot"', page))
    delphine = set(re.findall(r'style="(--hue:\d+)" data-speaker="Delphine Sabattier"', page))
    assert len(pillot) == 1 and len(delphine) == 1 and pillot != delphine
    c = Citation(n=1, episode_id=detail.summary.episode_id, episode_title=detail.summary.title, date="2025-12-11",
                 speaker="Julien Pillot", start=676.0, end=680.0, url="", quote="quand même,", first_line=257,
                 last_line=260)
    assert f'style="{next(iter(pillot))}"' in viewer.render_citations([c], [detail.summary])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("257-260", (257, 260)), ("257", (257, 257)), (" 260 - 257 ", (257, 260)), ("", None), (None, None),
     ("257-", None), ("x", None), ("1-2-3", None), ("<script>", None)],
)
def test_parse_hl(value: str | None, expected: tuple[int, int] | None) -> None:
    assert viewer.parse_hl(value) == expected


def test_citation_label_and_panel() -> None:
    c = Citation(
        n=1, episode_id="smart-tech-2025-12-11", episode_title="SMART TECH — 2025-12-11", date="2025-12-11",
        speaker="Julien Pillot", start=414.0, end=420.0,
        url="http://127.0.0.1:7860/episode/smart-tech-2025-12-11#L257",
        quote="vous parlez de commande publique, <em>et moi</em>", first_line=257, last_line=260, confidence=0.3,
    )
    assert viewer.citation_label(c) == "Julien Pillot · 11 Dec 2025 · 06:54"
    assert viewer.clock(3725) == "1:02:05"
    panel = viewer.render_citations([c])
    assert 'href="/episode/smart-tech-2025-12-11?hl=257-260#L257"' in panel
    assert "&lt;em&gt;et moi&lt;/em&gt;" in panel and "<em>" not in panel
    assert 'class="cite-mark" title="speaker uncertain (confidence 0.30)"' in panel
    assert "cites-empty" in viewer.render_citations([])


def test_not_found_page_escapes_the_id() -> None:
    page = viewer.render_not_found("<script>x</script>")
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page


# -- the chat bubble and upload names (ui.app helpers, pure) --------------------------------------------------


def _pillot_answer(text: str, notice: str | None = None) -> Answer:
    c = Citation(
        n=1, episode_id="smart-tech-2025-12-11", episode_title="SMART TECH — 2025-12-11", date="2025-12-11",
        speaker="Julien Pillot", start=975.0, end=979.0,
        url="http://127.0.0.1:7860/episode/smart-tech-2025-12-11#L532",
        quote="nos marchés qu'ils ne le sont aujourd'hui. Peut-être réserver la commande publique",
        first_line=532, last_line=535,
    )
    return Answer(answer=text, refused=False, citations=[c], notice=notice)


def test_answer_markdown_links_markers_and_lists_sources() -> None:
    from ui.app import answer_markdown

    md = answer_markdown(_pillot_answer("- « Peut-être réserver la commande publique » [1] (16:15)"))
    assert '[\\[1\\]](<http://127.0.0.1:7860/episode/smart-tech-2025-12-11#L532> "Julien Pillot · 11 Dec 2025 · 16:15")' in md
    assert "1. [Julien Pillot · 11 Dec 2025 · 16:15](<http://127.0.0.1:7860/episode/smart-tech-2025-12-11#L532>)" in md
    assert "[2]" not in md


def test_answer_markdown_escapes_markup_and_shows_the_notice() -> None:
    from ui.app import answer_markdown

    md = answer_markdown(_pillot_answer("vous parlez de <script>alert(1)</script> commande publique [1] [7]",
                                        notice="The language model failed (timeout); showing quotes instead."))
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "[7]" in md  # a marker with no citation stays plain text, never a dead link
    assert "> ⚠ The language model failed (timeout)" in md


@pytest.mark.parametrize(
    ("upload", "expected"),
    [
        ("/tmp/gradio/3f2a/smart-tech-2025-12-11.txt", "smart-tech-2025-12-11.txt"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\delphine\\Desktop\\episode.vtt", "episode.vtt"),
        ("/tmp/x/.env", ""),
        ("..", ""),
    ],
)
def test_upload_names_keep_only_the_basename(upload: str, expected: str) -> None:
    from ui.app import safe_name

    assert safe_name(upload) == expected

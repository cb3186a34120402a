"""The public page's pieces: links made from message text (never markup), times per language, Atom ids."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crisisdesk.channels.public_page import Site, linked, local_time, paragraphs


class _Read(HTMLParser):
    """What a browser makes of a fragment: its elements with their attributes, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text += data


def read(fragment: str) -> _Read:
    parsed = _Read()
    parsed.feed(fragment)
    parsed.close()
    return parsed


NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Text made of the pieces that matter: addresses, markup, quotes, entities, punctuation, anything else.
PIECES = st.one_of(
    st.sampled_from(
        [
            "https://",
            "http://",
            "www.",
            "javascript:",
            "example.gov",
            "/a?b=1&c=2",
            "<",
            ">",
            '"',
            "'",
            "&amp;",
            "&#x27;",
            "(",
            ")",
            ".",
            ",",
            " ",
            "<script>",
            "onerror=",
            "\x01",
        ]
    ),
    st.text(max_size=4),
)


@given(st.lists(PIECES, max_size=20).map("".join))
@example("www.https://https://")  # found by hypothesis: its link was 'www.https://https://', a relative href
def test_any_text_reads_back_as_itself_with_only_web_links_added(text: str) -> None:
    line = text.replace("\n", " ").replace("\r", " ")
    parsed = read(linked(line))
    assert parsed.text == NOT_TEXT.sub("", line)
    for tag, attrs in parsed.elements:
        assert tag == "a" and len(attrs) == 1 and attrs[0][0] == "href"
        assert (attrs[0][1] or "").startswith(("https://", "http://"))


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("Details: https://county.example/flood.", ["https://county.example/flood"]),
        ("(see www.ready.gov/floods), then", ["https://www.ready.gov/floods"]),
        (
            "https://en.wikipedia.org/wiki/Flood_(disambiguation) now",
            ["https://en.wikipedia.org/wiki/Flood_(disambiguation)"],
        ),
        ("HTTPS://COUNTY.EXAMPLE/A?x=1&y=2!", ["HTTPS://COUNTY.EXAMPLE/A?x=1&y=2"]),
        ('https://x.example/"onmouseover="alert(1)', ["https://x.example/"]),
        ("javascript:alert(1) data:text/html,x ftp://x.example", []),
        ("https:// and www. alone, mail@www.county.example, awww.x.example", []),
    ],
)
def test_addresses_become_links_without_the_punctuation_around_them(text: str, links: list[str]) -> None:
    parsed = read(linked(text))
    assert [dict(attrs)["href"] for _, attrs in parsed.elements] == links
    assert parsed.text == text


def test_paragraphs_and_line_breaks() -> None:
    assert paragraphs("one\ntwo\n\n\n\nthree") == ["<p>one<br>two</p>", "<p>three</p>"]
    assert paragraphs("a\nb", xhtml=True) == ["<p>a<br/>b</p>"]
    assert paragraphs(" \n\n ") == []
    assert paragraphs("one\r\ntwo\r\n\r\nthree") == ["<p>one<br>two</p>", "<p>three</p>"]


@pytest.mark.parametrize(
    ("at", "zone", "lang", "instant", "words"),
    [
        ("2026-11-23T03:30:00+00:00", "America/Chicago", "en", "2026-11-22T21:30:00-06:00",
         "Sunday, November 22, 2026, 9:30 PM CST"),
        # es-US: the 12-hour clock, "p. m." (babel's narrow no-break space keeps it on one line)
        ("2026-11-23T03:30:00+00:00", "America/Chicago", "es", "2026-11-22T21:30:00-06:00",
         "domingo, 22 de noviembre de 2026, 9:30 p.\u202fm. CST"),
        ("2026-07-01T16:05:00.123456+00:00", "America/Los_Angeles", "en", "2026-07-01T09:05:00-07:00",
         "Wednesday, July 1, 2026, 9:05 AM PDT"),
        ("2026-07-01T16:05:00+00:00", "America/Los_Angeles", "es", "2026-07-01T09:05:00-07:00",
         "miércoles, 1 de julio de 2026, 9:05 a.\u202fm. PDT"),
        ("2026-07-01T16:05:00+00:00", "Pacific/Honolulu", "en", "2026-07-01T06:05:00-10:00",
         "Wednesday, July 1, 2026, 6:05 AM HST"),
        # A zone this computer does not know (an entry written by hand): UTC, not a broken page.
        ("2026-07-01T16:05:00+00:00", "Mars/Olympus", "en", "2026-07-01T16:05:00+00:00",
         "Wednesday, July 1, 2026, 4:05 PM UTC"),
    ],
)  # fmt: skip
def test_times_in_the_zone_and_the_language_of_the_reader(
    at: str, zone: str, lang: str, instant: str, words: str
) -> None:
    assert local_time(at, zone, lang) == (instant, words)


def test_other_languages_get_their_own_locale_format() -> None:
    instant, words = local_time("2026-11-23T03:30:00+00:00", "America/Chicago", "vi")
    assert instant == "2026-11-22T21:30:00-06:00" and "2026" in words and "Sunday" not in words


def test_tag_ids_under_the_site_and_uuids_without_one() -> None:
    site = Site.of("https://Alerts.Condado-Ñandú.example/public/es/", "file:///srv/page")
    assert site.base == "https://Alerts.Condado-Ñandú.example/public/es/" and site.served
    assert site.mint("msg-abc-v2", "2026-11-22") == (
        "tag:alerts.xn--condado-and-8db4j.example,2026-11-22:public/es/msg-abc-v2"  # IDNA 2008, lower case
    )
    assert Site.of("https://county.example", "file:///x").mint("atom.xml", "2026-01-05") == (
        "tag:county.example,2026-01-05:atom.xml"
    )
    for local in (Site.of("", "file:///srv/page"), Site.of("http://192.0.2.7:8080/alerts", "file:///srv/page")):
        made = local.mint("msg-abc-v2", "2026-11-22")
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", made) and made == local.mint("msg-abc-v2", "2030-01-01")
    assert Site.of("", "file:///srv/page").url("cap/a b.xml") == "file:///srv/page/cap/a%20b.xml"

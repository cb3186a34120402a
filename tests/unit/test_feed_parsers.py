"""Parsers on real-format data (tests/data, sources in tests/data/SOURCES.md), hostile input, and properties."""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisisdesk.domain.feeds import SourceKind
from crisisdesk.feeds.parse import MAX_ITEMS, ParseError, date, parse, sniff
from crisisdesk.feeds.text import MAX_TEXT, plain

DATA = Path(__file__).parent.parent / "data"


def items_of(kind: SourceKind, rel: str) -> list:
    return parse(kind, (DATA / rel).read_bytes())


def test_rss_atom_rdf_and_json_feed_samples() -> None:
    rss = items_of(SourceKind.RSS, "feeds/feedparser/rss20.xml")
    assert [i.title for i in rss] == ["First item title"]
    assert rss[0].url == "http://example.org/item/1"
    assert rss[0].published == "2002-09-05T00:00:01.000000+00:00"
    atom = items_of(SourceKind.ATOM, "feeds/feedparser/atom10.xml")
    assert atom[0].title == "First entry title" and atom[0].published.startswith("2005-11-09")
    rdf = items_of(SourceKind.RSS, "feeds/feedparser/rss10.rdf")
    assert rdf[0].title == "First of all"
    reader_atom = items_of(SourceKind.ATOM, "feeds/reader/full.atom")
    assert len(reader_atom) == 5 and reader_atom[0].title == "Atom-Powered Robots Run Amok"
    reader_rss = items_of(SourceKind.RSS, "feeds/reader/full.rss")
    assert len(reader_rss) == 5
    jf = items_of(SourceKind.JSONFEED, "feeds/reader/full.json")
    assert jf[0].title == "Title" and jf[0].published == "2020-01-02T21:00:00.000000+00:00"


def test_json_feed_content_is_plain_text_without_scripts() -> None:
    items = items_of(SourceKind.JSONFEED, "feeds/feedparser/example.json")
    assert items
    for item in items:
        assert "<" not in item.text and "script" not in item.text.lower()


def test_defensive_json_feed_with_wrong_types_still_yields_items() -> None:
    items = items_of(SourceKind.JSONFEED, "feeds/reader/invalid.json")
    assert len(items) == 8
    assert all(isinstance(i.title, str) and isinstance(i.text, str) for i in items)


def test_cap_in_atom_index_as_the_nws_publishes_it() -> None:
    items = items_of(SourceKind.CAP, "feeds/cap/nws_atom_feed_example.xml")
    assert len(items) == 163
    first = items[0]
    assert first.title.startswith("High Wind Warning issued August 15")
    assert first.severity == "Severe" and first.event == "High Wind Warning"
    assert first.extra["cap"]["expires"] == "2018-08-16T07:00:00-08:00"
    assert len({i.fingerprint for i in items}) == 163


def test_atom_with_inline_cap_alert_and_georss() -> None:
    (item,) = items_of(SourceKind.ATOM, "feeds/cap/earthquake.atom")
    assert item.title == "EQ 3.4 Imperial County CA - PRELIMINARY REPORT"
    assert item.extra["cap"]["identifier"] == "TRI13970876.1"
    assert item.identity.startswith("cap|trinet@caltech.edu|TRI13970876.1|")


def test_cap_alert_with_polygon_and_two_languages() -> None:
    (storm,) = items_of(SourceKind.CAP, "cap/oasis/v1dot2_appendix_adot2.xml")
    assert storm.severity == "Severe" and len(storm.polygons) == 1 and len(storm.polygons[0]) >= 4
    assert storm.extra["cap"]["areas"][0]["polygons"]
    (amber,) = items_of(SourceKind.CAP, "cap/oasis/v1dot2_appendix_adot4.xml")
    assert amber.lang == "en-US" and amber.title == "Amber Alert in Los Angeles County"


def test_the_same_cap_alert_from_two_files_is_one_fingerprint() -> None:
    a = items_of(SourceKind.CAP, "cap/oasis/v1dot2_appendix_adot1.xml")[0]
    b = items_of(SourceKind.CAP, "cap/oasis/variants/43b080713727.cap")[0]
    assert a.fingerprint == b.fingerprint  # whitespace differs, the alert is the same


def test_geojson_earthquakes_and_weather_alerts() -> None:
    quakes = items_of(SourceKind.GEOJSON, "feeds/geojson/usgs-2.5_week.json")
    assert len(quakes) == 247
    q = quakes[0]
    assert q.magnitude == 4.1 and q.lat == 67.6369 and q.lon == -162.8311
    assert q.url == "https://earthquake.usgs.gov/earthquakes/eventpage/ak13428667"
    assert q.published == "2016-04-12T20:50:00.000000+00:00"
    first = items_of(SourceKind.GEOJSON, "feeds/geojson/nws-alerts_active_zone.json")
    second = items_of(SourceKind.GEOJSON, "feeds/geojson/nws-alerts_active_zone_second.json")
    assert first[0].severity == "Severe" and first[0].event == "Flood Watch"
    # the second poll carries the same alert again plus a new one: one fingerprint is shared
    assert len({i.fingerprint for i in first} & {i.fingerprint for i in second}) == 1


def test_open311_xml_and_json() -> None:
    xml = items_of(SourceKind.OPEN311, "open311/service_requests.xml")
    assert len(xml) == 2 and xml[0].public
    assert xml[0].title == "Sidewalk and Curb Issues - 8TH AVE and JUDAH ST (closed)"
    assert (xml[0].lat, xml[0].lon) == (37.762221815, -122.4651145)
    (helsinki,) = items_of(SourceKind.OPEN311, "open311/taskful_request.json")
    assert helsinki.text.startswith("Olen jostain kuullut")
    assert items_of(SourceKind.OPEN311, "open311/service_requests_empty.xml") == []
    with pytest.raises(ParseError, match="404 Service request not found"):
        items_of(SourceKind.OPEN311, "open311/get_service_request_not_found.xml")


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "feeds/feedparser/illformed").iterdir()))
def test_malformed_xml_is_refused_with_a_reason(name: str) -> None:
    with pytest.raises(ParseError) as caught:
        items_of(SourceKind.RSS, f"feeds/feedparser/illformed/{name}")
    assert str(caught.value)


@pytest.mark.parametrize("rel", ["cap/invalid/xee.cap", "cap/invalid/xee.atom"])
def test_xxe_payloads_are_refused(rel: str) -> None:
    with pytest.raises(ParseError, match="entities"):
        items_of(SourceKind.CAP, rel)


def test_billion_laughs_is_refused_at_once() -> None:
    lol = b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'.encode() for i in range(1, 10))
    body = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">' + lol + b"]><rss>&lol9;</rss>"
    started = time.perf_counter()
    with pytest.raises(ParseError, match="entities"):
        parse(SourceKind.RSS, body)
    assert time.perf_counter() - started < 0.5


def test_an_external_dtd_is_never_fetched_and_an_internal_one_is_refused() -> None:
    netscape = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://127.0.0.1:9/rss-0.91.dtd"><rss version="0.91"><channel><item><title>x</title>'
        b"<link>http://a.example/</link></item></channel></rss>"
    )
    assert [i.title for i in parse(SourceKind.RSS, netscape)] == ["x"]
    with pytest.raises(ParseError, match="document type"):
        parse(SourceKind.RSS, b'<!DOCTYPE rss [<!ATTLIST rss a CDATA "b">]><rss><channel/></rss>')


def test_item_text_is_plain_text() -> None:
    body = """<rss><channel><item><title>Flood &amp; <b>roads</b></title>
      <description><![CDATA[<p>Water on <a href="x">Main St</a>.</p><script>alert(1)</script>
      <style>p{}</style><p>Move up\u202e now</p>]]></description><guid>g1</guid></item></channel></rss>""".encode()
    (item,) = parse(SourceKind.RSS, body)
    assert item.title == "Flood & roads"
    assert item.text == "Water on Main St.\n\nMove up now"


def test_plain_caps_and_strips_controls() -> None:
    assert plain("a\x00b\x1bc\u200bd") == "abcd"
    assert len(plain("x" * (MAX_TEXT * 2))) == MAX_TEXT


def test_dates() -> None:
    assert date("Tue, 10 Jun 2003 04:00:00 GMT") == "2003-06-10T04:00:00.000000+00:00"
    assert date("2026-11-22T09:30:00-06:00") == "2026-11-22T15:30:00.000000+00:00"
    assert date(1460494200000) == "2016-04-12T20:50:00.000000+00:00"
    assert date("next tuesday") is None and date("") is None and date(None) is None


def test_sniffing_files_dropped_in_a_folder() -> None:
    assert sniff((DATA / "feeds/geojson/usgs-2.5_week.json").read_bytes()) is SourceKind.GEOJSON
    assert sniff((DATA / "feeds/reader/full.json").read_bytes()) is SourceKind.JSONFEED
    assert sniff((DATA / "open311/taskful_request.json").read_bytes()) is SourceKind.OPEN311
    assert sniff(b"  <?xml version='1.0'?><rss/>") is SourceKind.CAP  # every XML goes to the XML reader
    with pytest.raises(ParseError):
        sniff(b"%PDF-1.4")


def test_a_document_with_too_many_items_is_cut() -> None:
    entries = b"".join(b"<item><guid>%d</guid><title>t</title></item>" % i for i in range(MAX_ITEMS + 50))
    assert len(parse(SourceKind.RSS, b"<rss><channel>" + entries + b"</channel></rss>")) == MAX_ITEMS


def test_mastodon_and_bluesky_shapes() -> None:
    from tests.support.social import bluesky_post, mastodon_status

    statuses = [mastodon_status(1, "<p>Water over <b>Elm Rd</b> #millcountyflood</p>", "jo@social.example")]
    (toot,) = parse(SourceKind.MASTODON, orjson.dumps(statuses))
    assert toot.text == "Water over Elm Rd #millcountyflood" and toot.author == "@jo@social.example" and toot.public
    search = {"accounts": [], "hashtags": [], "statuses": statuses}
    assert parse(SourceKind.MASTODON, orjson.dumps(search))[0].fingerprint == toot.fingerprint
    body = orjson.dumps({"posts": [bluesky_post(1, "Is Elm Rd open?", "sam.test", "did:plc:abc")]})
    (post,) = parse(SourceKind.BLUESKY, body)
    assert post.url == "https://bsky.app/profile/sam.test/post/3lbq000000001" and post.author == "@sam.test"


def test_bluesky_fixture_matches_the_lexicon() -> None:
    from atproto_client import models

    from tests.support.social import bluesky_post

    data = {"posts": [bluesky_post(1, "Is Elm Rd open?", "sam.test", "did:plc:abcdefghijklmnopqrstuvwx")]}
    response = models.AppBskyFeedSearchPosts.Response.model_validate(data)
    assert response.posts[0].author.handle == "sam.test"


# -- properties ------------------------------------------------------------------------------------------

_SAMPLES = [
    (DATA / rel).read_bytes()
    for rel in (
        "feeds/feedparser/rss20.xml",
        "feeds/feedparser/atom10.xml",
        "feeds/reader/full.json",
        "cap/oasis/v1dot2_appendix_adot2.xml",
        "open311/service_requests.xml",
    )
]


def _check(kind: SourceKind, body: bytes) -> None:
    started = time.perf_counter()
    try:
        items = parse(kind, body)
    except ParseError as exc:
        items, refusal = [], str(exc)
        assert refusal, "a refusal says why"
    assert time.perf_counter() - started < 2.0, "a parser took too long"
    assert len(items) <= MAX_ITEMS
    for item in items:
        assert len(item.text) <= MAX_TEXT and len(item.title) <= 500
        assert isinstance(item.fingerprint, str) and len(item.fingerprint) == 32


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(list(SourceKind)), body=st.binary(max_size=4096))
def test_no_bytes_crash_or_hang_a_parser(kind: SourceKind, body: bytes) -> None:
    _check(kind, body)


@settings(max_examples=300, deadline=None)
@given(
    sample=st.sampled_from(_SAMPLES),
    kind=st.sampled_from(list(SourceKind)),
    cut=st.integers(min_value=0, max_value=4000),
    junk=st.binary(max_size=64),
    at=st.integers(min_value=0, max_value=4000),
)
def test_damaged_real_documents_never_crash_a_parser(
    sample: bytes, kind: SourceKind, cut: int, junk: bytes, at: int
) -> None:
    body = sample[:at] + junk + sample[at + len(junk) :]
    _check(kind, body[: max(cut, 1)] if cut < len(body) else body)


@settings(max_examples=200, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
        lambda inner: (
            st.lists(inner, max_size=5)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "items",
                        "features",
                        "posts",
                        "statuses",
                        "type",
                        "properties",
                        "geometry",
                        "coordinates",
                        "version",
                        "record",
                        "author",
                        "content",
                        "title",
                        "id",
                        "url",
                        "mag",
                        "time",
                        "service_request_id",
                        "lat",
                        "long",
                    ]
                )
                | st.text(max_size=8),
                inner,
                max_size=6,
            )
        ),
        max_leaves=30,
    )
)
def test_any_json_shape_is_read_or_refused(value: object) -> None:
    body = json.dumps(value).encode()  # the standard library writes big integers and NaN too
    for kind in (SourceKind.JSONFEED, SourceKind.GEOJSON, SourceKind.OPEN311, SourceKind.MASTODON, SourceKind.BLUESKY):
        _check(kind, body)

"""Feeds end to end against a real local HTTP server on 127.0.0.1 and real SQLite files.

Every source kind is polled and its items found by full-text search; every hostile case leaves its source
unhealthy with the reason while the others keep polling; alerts fire for matching items; triage decisions are
events. Mastodon and Bluesky are served by the local server in their documented shapes (tests/support/social.py):
no Mastodon installs here and the local PDS has no search.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.feeds.fetch import Limits
from crisisdesk.services.feeds import FeedService
from tests.conftest import ADMIN, CliRun, actor, person
from tests.support.feed_server import FeedServer, Route, feed_server
from tests.support.social import bluesky_post, mastodon_status

# They wait for another process or a timeout: they must hold on a busy machine (tests/support/cpu_hog.py).
pytestmark = pytest.mark.usefixtures("busy_machine")

DATA = Path(__file__).parent.parent / "data"
# For the hostile sources only: short enough that the stalled source (silent for 10 s) and the drip-fed one (a
# byte every 0.1 s for 10 s) fail in seconds, long enough that a good source is never cut off on a busy machine,
# where the server (a thread of this process) may wait seconds for the CPU. The other tests keep the defaults.
HOSTILE_LIMITS = Limits(connect=5.0, read=3.0, total=6.0)
FLOOD_AREA = "Mill Creek valley | polygon: 38.55,-121.50 38.60,-121.50 38.60,-121.40 38.55,-121.40"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as fs:
        yield fs


@pytest.fixture
def feeds(core: App) -> FeedService:
    return core.feeds()


def data(rel: str) -> bytes:
    return (DATA / rel).read_bytes()


def toots() -> bytes:
    return orjson.dumps(
        [
            mastodon_status(1, "<p>We are trapped on the roof on Elm Rd, water rising, please help</p>", "ann"),
            mastodon_status(
                2, "<p>Reporter here: is the flooding on Elm Rd closing schools tomorrow?</p>", "kmill_news"
            ),
            mastodon_status(3, "<p>Thank you to the road crews, great work tonight!</p>", "bo"),
            mastodon_status(4, "<p>This flooding response is terrible. Nobody warned us. Awful.</p>", "cy"),
        ]
    )


def skeets() -> bytes:
    return orjson.dumps(
        {"posts": [bluesky_post(1, "Where can I get sandbags in Mill Creek?", "dee.test", "did:plc:dee")]}
    )


SOURCES = [
    # name, kind, path on the server, body, content type, a search that finds it
    ("rss", "rss", "/rss.xml", data("feeds/feedparser/rss20.xml"), "application/rss+xml", '"first item title"'),
    ("atom", "atom", "/atom.xml", data("feeds/reader/full.atom"), "application/atom+xml", "robots amok"),
    ("jsonfeed", "jsonfeed", "/feed.json", data("feeds/reader/full.json"), "application/feed+json", "hello world"),
    ("cap", "cap", "/storm.cap", data("cap/oasis/v1dot2_appendix_adot2.xml"), "application/cap+xml", "thunderstorm"),
    ("nws", "cap", "/nws.atom", data("feeds/cap/nws_atom_feed_example.xml"), "application/atom+xml", "wind"),
    ("usgs", "geojson", "/quakes.json", data("feeds/geojson/usgs-2.5_week.json"), "application/geo+json", "noatak"),
    (
        "weather",
        "geojson",
        "/alerts.json",
        data("feeds/geojson/nws-alerts_active_zone.json"),
        "application/geo+json",
        "flood watch",
    ),
    ("open311", "open311", "/requests.xml", data("open311/service_requests.xml"), "text/xml", "judah"),
    (
        "helsinki",
        "open311",
        "/requests.json",
        b"[" + data("open311/taskful_request.json") + b"]",
        "application/json",
        "kaupunginosia",
    ),
    ("mastodon", "mastodon", "/api/v1/timelines/tag/millcountyflood", toots(), "application/json", "roof"),
    ("bluesky", "bluesky", "/xrpc/app.bsky.feed.searchPosts", skeets(), "application/json", "sandbags"),
]


def test_every_source_kind_is_polled_and_searchable(
    feeds: FeedService, admin: Actor, server: FeedServer, tmp_path: Path
) -> None:
    for name, kind, path, body, ctype, _ in SOURCES:
        url = server.add(path, Route(body, ctype))
        feeds.add(admin, name, url + ("?q=flood" if kind == "bluesky" else ""), kind, interval=60)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "amber.xml").write_bytes(data("cap/oasis/v1dot2_appendix_adot4.xml"))
    feeds.add(admin, "drop", str(drop), "folder", interval=30)

    reports = {r.source: r for r in feeds.poll()}
    assert {r.source for r in reports.values() if r.error} == set(), [r.error for r in reports.values()]
    assert all(reports[name].new > 0 for name in reports), {n: r.new for n, r in reports.items()}
    for name, *_, query in SOURCES:
        found = feeds.search(admin, query)
        assert name in {i.source for i in found}, (name, query, [(i.source, i.title) for i in found])
    assert {i.source for i in feeds.search(admin, "amber")} >= {"drop"}
    assert all(s.health == "ok" for s in feeds.sources(admin))


def test_a_second_poll_is_conditional_and_stores_nothing_twice(
    feeds: FeedService, admin: Actor, server: FeedServer, tmp_path: Path
) -> None:
    url = server.add("/quakes.json", Route(data("feeds/geojson/usgs-2.5_week.json"), "application/geo+json"))
    feeds.add(admin, "usgs", url, "geojson")
    (first,) = feeds.poll()
    assert (first.new, first.seen) == (247, 247)
    (second,) = feeds.poll()
    assert second.not_modified and second.new == 0
    path, etag, since = server.conditional[-1]
    assert path == "/quakes.json" and etag and since == "Sun, 22 Nov 2026 08:00:00 GMT"
    assert feeds.count() == 247
    # a mirror of the same feed elsewhere brings the same items: nothing new
    mirror = server.add("/mirror/quakes.json", Route(data("feeds/geojson/usgs-2.5_week.json"), "application/json"))
    feeds.add(admin, "usgs-mirror", mirror, "geojson")
    (again,) = feeds.poll(["usgs-mirror"])
    assert (again.new, again.seen) == (0, 247) and feeds.count() == 247


def test_the_next_weather_poll_adds_only_the_new_alert(feeds: FeedService, admin: Actor, server: FeedServer) -> None:
    url = server.add("/alerts", Route(data("feeds/geojson/nws-alerts_active_zone.json"), "application/geo+json"))
    feeds.add(admin, "weather", url, "geojson")
    assert feeds.poll()[0].new == 1
    server.routes["/alerts"] = Route(data("feeds/geojson/nws-alerts_active_zone_second.json"), "application/geo+json")
    (report,) = feeds.poll()
    assert (report.new, report.seen) == (1, 2)


HOSTILE = [
    ("huge", Route(behaviour="huge"), "over the 5,242,880-byte cap"),
    ("chunked", Route(behaviour="chunked-huge"), "over the 5,242,880-byte cap"),
    ("bomb", Route(behaviour="bomb"), "decompresses to more than 20 MB"),
    ("drip", Route(behaviour="drip"), "sent too slowly"),
    ("stall", Route(behaviour="stall"), "stopped sending"),
    ("loop", Route(behaviour="loop"), "more than 3 redirects"),
    ("lol", Route(b'<!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>'), "entities"),
    ("xxe", Route(data("cap/invalid/xee.atom")), "entities"),
    ("broken", Route(data("feeds/feedparser/illformed/rss_incomplete_cdata.xml")), "not well-formed XML"),
    ("empty", Route(b""), "empty"),
    ("not-json", Route(b"<html>sorry</html>", "text/html"), "not valid JSON"),
    ("busy", Route(behaviour="retry-after"), "HTTP 429"),
    ("gone", Route(b"", status=404), "HTTP 404"),
]


def test_every_hostile_source_is_unhealthy_with_its_reason_and_the_others_poll(
    feeds: FeedService, admin: Actor, server: FeedServer, clock: FixedClock
) -> None:
    feeds.limits = HOSTILE_LIMITS
    good = server.add("/good.xml", Route(data("feeds/feedparser/rss20.xml")))
    feeds.add(admin, "good", good, "rss", interval=60)
    for name, route, _ in HOSTILE:
        kind = "geojson" if name == "not-json" else "rss"
        feeds.add(admin, name, server.add(f"/{name}", route), kind, interval=60)
    feeds.add(admin, "refused", "http://127.0.0.1:9/feed.xml", "rss", interval=60)  # nothing listens on port 9

    reports = {r.source: r for r in feeds.poll()}
    assert reports["good"].error is None and reports["good"].new == 1
    health = {s.name: s for s in feeds.sources(admin)}
    for name, _, reason in [*HOSTILE, ("refused", None, "cannot reach the source")]:
        assert health[name].health == "unhealthy", name
        assert reason in (health[name].last_error or ""), (name, health[name].last_error)
        assert health[name].failures == 1
    assert health["good"].health == "ok"
    # backoff: twice the interval after one failure; the server's Retry-After (600 s) wins where it is longer
    now = clock.now()
    assert health["gone"].next_poll_at == (now + timedelta(seconds=120)).isoformat(timespec="microseconds")
    assert health["busy"].next_poll_at == (now + timedelta(seconds=600)).isoformat(timespec="microseconds")
    feeds.poll(["gone"])
    assert feeds.get("gone").failures == 2
    # the redirect loop stopped after three redirects
    assert server.hits["/loop"] == 4


def test_gzip_and_redirects_within_the_cap_are_fine(feeds: FeedService, admin: Actor, server: FeedServer) -> None:
    server.add("/z.xml", Route(data("feeds/feedparser/atom10.xml"), behaviour="gzip"))
    server.add("/hop2", Route(behaviour="redirect", target="/z.xml"))
    server.add("/hop1", Route(behaviour="redirect", target="/hop2"))
    feeds.add(admin, "zipped", server.url + "/hop1", "atom")
    (report,) = feeds.poll()
    assert report.error is None and report.new == 1
    assert gzip.compress(b"x")  # the route really compressed: the parser saw the decoded document
    assert feeds.search(admin, "first entry")[0].source == "zipped"


def test_a_watched_folder_reads_new_and_changed_files_once(feeds: FeedService, admin: Actor, tmp_path: Path) -> None:
    drop = tmp_path / "inbox"
    drop.mkdir()
    feeds.add(admin, "inbox", str(drop), "folder", interval=30)
    assert feeds.poll()[0].not_modified
    (drop / "storm.cap").write_bytes(data("cap/oasis/v1dot2_appendix_adot2.xml"))
    (drop / "junk.xml").write_bytes(b"<rss><channel>")
    (drop / "notes.txt").write_text("not a feed")
    (report,) = feeds.poll()
    assert report.new == 1 and report.error is None
    assert report.problems and report.problems[0].startswith("junk.xml: not well-formed XML")
    assert feeds.get("inbox").health == "problems"
    (again,) = feeds.poll()
    assert again.seen == 0 and again.not_modified
    (drop / "quakes.json").write_bytes(data("feeds/geojson/usgs-2.5_week.json"))
    assert feeds.poll()[0].new == 247


def test_retention_deletes_old_items_but_keeps_those_with_alerts(
    feeds: FeedService, admin: Actor, server: FeedServer, clock: FixedClock
) -> None:
    feeds.set_rules(admin, "areas: []\nretention_days: 7\n", "test.yaml")
    url = server.add("/weather.json", Route(data("feeds/geojson/nws-alerts_active_zone.json")))
    server.add("/news.xml", Route(data("feeds/feedparser/rss20.xml")))
    feeds.add(admin, "weather", url, "geojson")
    feeds.add(admin, "news", server.url + "/news.xml", "rss")
    feeds.poll()
    assert feeds.count() == 2 and len(feeds.alerts(admin)) == 1  # the Severe flood watch
    clock.advance(timedelta(days=8))
    feeds.poll()
    assert feeds.count() == 1
    assert feeds.search(admin, "flood watch") and not feeds.search(admin, '"first item title"')


def open_flood_incident(core: App, who: Actor) -> str:
    playbook = core.incidents().playbooks.get("flash-flood")
    facts = {**playbook.example_facts(core.clock.now()), "area": FLOOD_AREA}
    return core.incidents().open(who, "flash-flood", Mode.LIVE, facts=facts).id


def test_alerts_for_an_incidents_keywords_and_area(
    core: App, feeds: FeedService, admin: Actor, server: FeedServer
) -> None:
    communicator = person(core, admin, "cam", Role.COMMUNICATOR)
    incident = open_flood_incident(core, communicator)
    quake_near = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "near1",
                "properties": {"mag": 2.6, "place": "2 km N of Mill Creek"},
                "geometry": {"type": "Point", "coordinates": [-121.45, 38.575, 5.0]},
            },
            {
                "type": "Feature",
                "id": "far1",
                "properties": {"mag": 6.1, "place": "Kermadec Islands"},
                "geometry": {"type": "Point", "coordinates": [-177.9, -29.8, 10.0]},
            },
        ],
    }
    server.add("/q.json", Route(orjson.dumps(quake_near), "application/geo+json"))
    server.add("/tag", Route(toots(), "application/json"))
    feeds.add(admin, "quakes", server.url + "/q.json", "geojson")
    feeds.add(admin, "toots", server.url + "/tag", "mastodon")
    feeds.poll()
    alerts = feeds.alerts(admin)
    by_title = {a.title: a for a in alerts}
    near = by_title["2 km N of Mill Creek"]
    assert near.incident_id == incident and near.rules == ["area"]
    assert "inside Mill Creek valley" in near.reasons[0]
    # far away and outside the workstation's area: no alert, though above the magnitude threshold
    assert "Kermadec Islands" not in by_title
    flooding = [a for a in alerts if "flooding" in " ".join(a.reasons)]
    assert len(flooding) == 2 and all(a.incident_id == incident for a in flooding)
    # every alert is an event
    raised = [e for e in core.log.events() if e.kind == Kind.ALERT_RAISED]
    assert len(raised) == len(alerts)
    feeds.handle_alert(communicator, near.id, "acknowledged")
    assert near.id not in {a.id for a in feeds.alerts(admin)}


def test_an_alert_opens_an_incident_with_the_cap_facts(
    core: App, feeds: FeedService, admin: Actor, server: FeedServer
) -> None:
    feeds.set_rules(admin, "areas: []\n", "everywhere.yaml")
    feeds.add(admin, "nws", server.add("/storm.cap", Route(data("cap/oasis/v1dot2_appendix_adot2.xml"))), "cap")
    feeds.poll()
    (alert,) = feeds.alerts(admin)
    assert alert.incident_id is None and alert.rules == ["severity"]
    assert alert.reasons == ["CAP severity Severe (threshold Severe)"]
    communicator = person(core, admin, "cam", Role.COMMUNICATOR)
    incident, notes = feeds.open_incident(communicator, alert.id, playbook_id="tornado")
    assert incident.title == "SEVERE THUNDERSTORM WARNING"
    assert (
        incident.facts["area"].startswith("SOUTHERN SAN JOAQUIN") or "polygon: 38.47,-120.14" in incident.facts["area"]
    )
    assert "polygon: 38.47,-120.14 38.34,-119.95" in incident.facts["area"]
    assert "geocode: SAME=006109" in incident.facts["area"]
    assert incident.facts["expires"] == "2003-06-17T16:00"  # 16:00 PDT, in the playbook's zone (Los Angeles)
    assert feeds.alert(alert.id).status == "opened" and feeds.alert(alert.id).opened_incident == incident.id
    assert notes == []


def test_triage_priority_sentiment_groups_and_decisions(
    core: App, feeds: FeedService, admin: Actor, server: FeedServer
) -> None:
    communicator = person(core, admin, "cam", Role.COMMUNICATOR)
    incident = open_flood_incident(core, communicator)
    feeds.add(admin, "toots", server.add("/tag", Route(toots(), "application/json")), "mastodon")
    feeds.add(admin, "311", server.add("/311.xml", Route(data("open311/service_requests.xml"))), "open311")
    feeds.poll()
    queue = feeds.triage(admin)
    by_author = {i.author: i for i in queue if i.kind == "mastodon"}
    assert by_author["@ann"].priority == "urgent"  # trapped
    assert by_author["@kmill_news"].stakeholder == "media" and by_author["@kmill_news"].priority == "high"
    assert by_author["@cy"].sentiment < -0.5 and by_author["@cy"].priority == "high"
    assert by_author["@bo"].sentiment > 0.5 and by_author["@bo"].priority == "low"
    assert queue[0].author == "@ann"  # most pressing first
    assert {i.kind for i in queue} == {"mastodon", "open311"} and all(i.status == "new" for i in queue)

    item = by_author["@kmill_news"]
    responses = {(r.name, r.lang): r for r in feeds.responses(item)}
    assert "Mill Creek valley" in (responses[("where-to-go", "en")].text or "")
    done = feeds.set_triage(communicator, str(item.id), status="answered", template="where-to-go")
    assert done.status == "answered" and done.decided_by == "cam"
    assert item.id not in {i.id for i in feeds.triage(admin)}
    assert [e.payload for e in core.log.events() if e.kind == Kind.TRIAGE_SET] == [
        {"item": item.fingerprint, "status": "answered", "priority": "high", "template": "where-to-go", "note": None}
    ]
    feeds.set_triage(communicator, item.fingerprint[:8], status="acknowledged", priority_value="low")
    core.log.replay()  # the decisions are projections of the events
    assert feeds.item(str(item.id)).status == "acknowledged" and feeds.item(str(item.id)).priority == "low"
    feeds.add(admin, "news", server.add("/n.xml", Route(data("feeds/feedparser/rss20.xml"))), "rss")
    feeds.poll(["news"])
    story = feeds.search(admin, '"first item title"')[0]
    with pytest.raises(UserError, match="not a public message"):
        feeds.set_triage(communicator, str(story.id), status="ignored")
    assert feeds.incidents_of(item) == [incident]


def test_a_viewer_cannot_add_feeds_and_the_refusal_is_recorded(core: App, feeds: FeedService) -> None:
    viewer = actor("vi", Role.VIEWER)
    with pytest.raises(UserError, match="may not"):
        feeds.add(viewer, "x", "http://127.0.0.1:9/x", "rss")
    assert any(e.kind == Kind.ACCESS_DENIED for e in core.log.events())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name", "http://a.example/f", "rss"), "invalid feed name"),
        (("x", "http://a.example/f", "podcast"), "unknown feed kind 'podcast'"),
        (("x", "ftp://a.example/f", "rss"), "not an http(s) address"),
        (("x", "/no/such/folder", "folder"), "is not a folder"),
    ],
)
def test_bad_sources_are_refused_with_a_clear_message(
    feeds: FeedService, admin: Actor, args: tuple[str, str, str], message: str
) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        feeds.add(admin, *args)


def test_rules_files_with_mistakes_say_where(feeds: FeedService, admin: Actor) -> None:
    with pytest.raises(UserError, match=r"r\.yaml:3:1: YAML: "):
        feeds.set_rules(admin, "min_severity: Severe\nkeywords: [a, b\n", "r.yaml")
    with pytest.raises(UserError, match=r"r\.yaml:1:15: min_severity: use one of"):
        feeds.set_rules(admin, "min_severity: Awful\n", "r.yaml")
    with pytest.raises(UserError, match=r"r\.yaml:1:9: areas\.0: "):
        feeds.set_rules(admin, "areas: ['x | polygon: 1,2']\n", "r.yaml")
    rules = feeds.set_rules(admin, "min_magnitude: 3\n", "r.yaml")
    assert rules.min_magnitude == 3.0


def test_a_rules_file_cannot_exhaust_the_machine(feeds: FeedService, admin: Actor) -> None:
    """The playbooks' bounded loader reads the rules too: an alias bomb and deep nesting are refused at once,
    at their line, instead of using gigabytes or ending in a RecursionError (exit 70)."""
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9)
    )
    deep = "keywords: " + "[" * 50_000 + "]" * 50_000 + "\n"
    for text, limit in ((laughs, "alias"), (deep, "nest")):
        started = time.monotonic()
        with pytest.raises(UserError, match=rf"r\.yaml:\d+:\d+: .*{limit}"):
            feeds.set_rules(admin, text, "r.yaml")
        assert time.monotonic() - started < 3


def test_the_command_line(cli_as: CliRun, core: App, server: FeedServer) -> None:
    quakes = server.add("/q.json", Route(data("feeds/geojson/usgs-2.5_week.json"), "application/geo+json"))
    code, out, err = cli_as(ADMIN, "feeds", "add", "quakes", quakes, "--kind", "geojson", "--interval", "60")
    assert code == 0 and "added quakes: geojson" in out, err
    cli_as(ADMIN, "feeds", "add", "gone", server.url + "/gone", "--kind", "rss")
    code, out, _ = cli_as(ADMIN, "feeds", "poll", "--once")
    assert code == 1  # one source failed: scripts notice
    assert "quakes: ok: 247 new of 247" in out and "gone: UNHEALTHY: HTTP 404" in out
    code, out, _ = cli_as(ADMIN, "feeds", "list", "--json")
    health = {s["name"]: s for s in orjson.loads(out)}
    assert health["gone"]["health"] == "unhealthy" and health["gone"]["last_error"] == "HTTP 404 Not Found"
    assert health["quakes"]["health"] == "ok" and health["quakes"]["items_seen"] == 247
    code, out, _ = cli_as(ADMIN, "feeds", "search", "noatak", "--json")
    (hit,) = orjson.loads(out)
    assert hit["title"] == "M 4.1 - 9km NE of Noatak, Alaska" and hit["magnitude"] == 4.1
    code, out, _ = cli_as(ADMIN, "feeds", "search", "noatak", "--since", "2026-11-01")
    assert code == 0 and out.strip() == "nothing found"  # the quake was in 2016
    code, out, _ = cli_as(ADMIN, "feeds", "show", str(hit["id"]))
    assert "source quakes (geojson)" in out and "9km NE of Noatak" in out
    code, out, _ = cli_as(ADMIN, "rules", "show")
    assert code == 0 and "min_magnitude: '4.5'" in out
    code, out, err = cli_as(ADMIN, "triage", "set", str(hit["id"]), "--status", "ignored")
    assert code == 2 and "needs the role communicator" in err  # triage is a communicator's work
    code, out, _ = cli_as(ADMIN, "feeds", "remove", "gone")
    assert code == 0 and "removed gone" in out
    code, out, _ = cli_as(ADMIN, "feeds", "poll", "--once")
    assert code == 0 and "quakes: ok: not modified" in out


def test_a_source_that_drips_forever_is_cut_off_at_the_total_deadline(server: FeedServer) -> None:
    """The deadline is checked at every read, not every 16 KB: a byte every 0.1 s used to run on for as long as
    the source kept dripping (the drip ended after 10 s, so the test passed at 10.7 s with a 6 s limit)."""
    from crisisdesk.feeds.fetch import FetchError, client, fetch

    url = server.add("/drip-forever", Route(behaviour="drip"))
    limits = Limits(connect=5.0, read=5.0, total=1.0)
    started = time.monotonic()
    with client(limits) as http, pytest.raises(FetchError, match="sent too slowly"):
        fetch(http, url, limits=limits)
    assert time.monotonic() - started < 4.0  # the deadline and a read's worth of slack on a busy machine

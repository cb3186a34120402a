"""What the console's feed settings need from the service: each source's polls (successes and failures with their
reasons, the next poll), the rules as written with every mistake at its line and column, and a preview of what
edited rules would do to recent items without saving them. Real SQLite files and a real local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.feeds import FeedService, check_rules
from tests.conftest import person
from tests.integration.test_feeds import DATA, open_flood_incident, toots
from tests.support.feed_server import FeedServer, Route, feed_server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as fs:
        yield fs


def test_each_poll_is_kept_with_its_reason_newest_first(core: App, admin: Actor, server: FeedServer) -> None:
    feeds = core.feeds()
    body = (DATA / "feeds/feedparser/rss20.xml").read_bytes()
    feeds.add(admin, "news", server.add("/rss.xml", Route(body, "application/rss+xml")), "rss", interval=600)
    feeds.poll(["news"])
    server.routes["/rss.xml"] = Route(b"down for maintenance", "text/plain", status=500)
    feeds.poll(["news"])
    history = feeds.poll_history(admin, "news")
    assert [h.ok for h in history] == [False, True]
    failed, worked = history
    assert failed.error is not None and "500" in failed.error
    assert worked.error is None and worked.items_seen >= 1 and worked.items_new == worked.items_seen
    assert worked.next_poll_at is not None and failed.next_poll_at is not None
    assert failed.next_poll_at > worked.next_poll_at  # backed off after the failure
    assert feeds.get("news").next_poll_at == failed.next_poll_at


def test_only_the_last_polls_of_a_source_are_kept(core: App, admin: Actor, server: FeedServer) -> None:
    feeds = core.feeds()
    feeds.add(admin, "gone", server.url + "/gone.xml", "rss")
    for _ in range(FeedService.POLLS_KEPT + 5):
        feeds.poll(["gone"])
    history = feeds.poll_history(admin, "gone", limit=1000)
    assert len(history) == FeedService.POLLS_KEPT
    assert all(not h.ok and h.error and "404" in h.error for h in history)


def test_every_mistake_in_the_rules_is_placed() -> None:
    text = "min_severity: Awful\nkeywords: [flood]\nmin_magnitude: 12\nspeling: 3\n"
    data, problems = check_rules(text, "edited")
    assert data is None
    placed = {(p.line, p.column): p.message for p in problems}
    assert placed[(3, 16)].startswith("min_magnitude: ")
    assert placed[(4, 1)] == "unknown rule 'speling'"
    assert [str(p) for p in check_rules("keywords: [a, b\n", "edited")[1]] == [
        "edited:2:1: YAML: expected ',' or ']', but got '<stream end>'"
    ]
    data, problems = check_rules("min_severity: Awful\n", "edited")
    assert [str(p) for p in problems] == [
        "edited:1:15: min_severity: use one of Unknown, Minor, Moderate, Severe, Extreme"
    ]
    assert check_rules("", "edited")[0] is not None  # an empty file: the defaults


def test_the_rules_are_shown_as_written(core: App, admin: Actor) -> None:
    feeds = core.feeds()
    origin, text = feeds.rules_source()
    assert (
        origin == "the defaults shipped with crisisdesk (monitoring.yaml)" and "# crisisdesk monitoring rules" in text
    )
    written = "# our county\nkeywords: [levee breach]  # the one that matters\n"
    feeds.set_rules(admin, written, "edited in the console")
    assert feeds.rules_source() == ("edited in the console", written)
    assert feeds.rules().keywords == ("levee breach",)
    assert [e.payload["text"] for e in core.log.events() if e.kind == Kind.RULES_SET] == [written]


def test_a_preview_says_what_edited_rules_would_do_without_saving_them(
    core: App, admin: Actor, server: FeedServer
) -> None:
    feeds = core.feeds()
    feeds.add(admin, "flood-tag", server.add("/tag", Route(toots(), "application/json")), "mastodon")
    feeds.add(
        admin, "311", server.add("/r.xml", Route((DATA / "open311/service_requests.xml").read_bytes())), "open311"
    )
    feeds.poll()
    rules_before = feeds.rules_source()
    events_before = len(list(core.log.events()))
    text = "keywords: [road crews]\nurgent_words: [trapped]\nstakeholders:\n  - group: press\n    authors: ['*news*']\n"
    preview = feeds.preview_rules(admin, text)
    assert preview.scanned == feeds.count()
    by_title = {h.title: h for h in preview.hits}
    thanks = next(h for t, h in by_title.items() if "road crews" in t)
    assert thanks.matched_by == ("keyword",) and thanks.alerts == 1 and "keywords 'road crews'" in thanks.reasons
    reporter = next(h for t, h in by_title.items() if "Reporter here" in t)
    assert reporter.group == "press" and "group press" in reporter.reasons
    trapped = next(h for t, h in by_title.items() if "trapped on the roof" in t)
    assert trapped.urgent and trapped.alerts == 0 and "urgent words: 'trapped'" in trapped.reasons
    assert not any("Thank you" in h.title for h in preview.hits if h is not thanks)
    assert feeds.rules_source() == rules_before
    assert len(list(core.log.events())) == events_before  # reading records nothing


def test_a_preview_of_rules_with_a_mistake_says_where(core: App, admin: Actor) -> None:
    with pytest.raises(UserError, match=r"the edited rules:1:15: min_severity"):
        core.feeds().preview_rules(admin, "min_severity: Awful\n")


def test_a_preview_watches_what_open_incidents_watch(core: App, admin: Actor, server: FeedServer) -> None:
    communicator = person(core, admin, "cam", Role.COMMUNICATOR)
    incident = open_flood_incident(core, communicator)
    feeds = core.feeds()
    feeds.add(admin, "flood-tag", server.add("/tag", Route(toots(), "application/json")), "mastodon")
    feeds.poll()
    preview = feeds.preview_rules(admin, "keywords: []\n")
    assert {h.incidents for h in preview.hits if h.alerts} == {(incident,)}

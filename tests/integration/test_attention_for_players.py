"""The Monitor's badge: urgent public comments nobody has triaged yet, on incidents still open, from a real feed
server through the real poll, triage and close."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor, Role
from tests.conftest import person
from tests.integration.test_feeds import open_flood_incident, toots
from tests.support.feed_server import FeedServer, Route, feed_server
from tests.support.social import mastodon_status


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as fs:
        yield fs


def test_urgent_comments_waiting_on_open_incidents_are_counted_until_triaged_or_closed(
    core: App, admin: Actor, server: FeedServer
) -> None:
    cam = person(core, admin, "cam", Role.COMMUNICATOR)
    attention = core.attention()
    feeds = core.feeds()
    feeds.add(admin, "toots", server.add("/tag", Route(toots(), "application/json")), "mastodon")
    feeds.poll()
    # No incident open: the urgent comment concerns nothing the desk runs.
    queue = {i.author: i for i in feeds.triage(admin)}
    assert queue["@ann"].priority == "urgent"
    assert attention.for_person(cam).urgent_comments == 0
    incident = open_flood_incident(core, cam)
    later = [
        mastodon_status(11, "<p>Flooding on Oak St, we are trapped in the attic, please help</p>", "dee"),
        mastodon_status(12, "<p>Is the flooding closing schools tomorrow?</p>", "kmill_news"),
    ]
    server.add("/tag", Route(orjson.dumps(later), "application/json"))
    feeds.poll()
    waiting = [i for i in feeds.triage(admin) if i.priority == "urgent" and feeds.incidents_of(i) == [incident]]
    assert [i.author for i in waiting] == ["@dee"]
    assert attention.for_person(cam).urgent_comments == len(waiting)
    # Marked urgent by a person and left 'new': it waits too.
    [news] = [i for i in feeds.triage(admin) if i.author == "@kmill_news" and feeds.incidents_of(i) == [incident]]
    assert news.priority != "urgent"
    feeds.set_triage(cam, str(news.id), status="new", priority_value="urgent")
    assert attention.for_person(cam).urgent_comments == len(waiting) + 1
    for item in waiting:
        feeds.set_triage(cam, str(item.id), status="acknowledged")
    assert attention.for_person(cam).urgent_comments == 1
    core.incidents().close(cam, incident)
    assert attention.for_person(cam).urgent_comments == 0

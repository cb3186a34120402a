"""Hostile test (issue 14): the triage queue read a priority at a time must equal the plain ordering of every
public item by (how pressing, newest). It stops reading a level when the decided items alone already fill the queue
at that level or above, but the undecided items of that same level can be newer than the decided ones."""

from __future__ import annotations

from datetime import timedelta

from crisisdesk.app import App
from crisisdesk.domain.clock import utc_iso
from crisisdesk.domain.feeds import Item
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.feeds.poller import Outcome
from tests.conftest import person
from tests.integration.test_feeds import open_flood_incident


def test_hostile14_a_newer_undecided_item_is_not_hidden_by_decided_ones_of_its_level(core: App, admin: Actor) -> None:
    feeds = core.feeds()
    cam = person(core, admin, "cam", Role.COMMUNICATOR)
    open_flood_incident(core, cam)
    social = feeds.add(admin, "social", "https://social.example/tags/mill", "mastodon")
    now = core.clock.now()
    items = [
        Item(f"social|{k}", f"item {k}", "the market is quiet today", published=utc_iso(now - timedelta(hours=10 - k)))
        for k in range(5)
    ]
    feeds.record(feeds.get(social.name), Outcome(items=items))
    public = sorted((i for i in feeds.find(cam, limit=100) if i.public), key=lambda i: i.id)
    assert len(public) == 5
    newest = public[-1]
    level = str(newest.priority)
    assert level != "urgent", level  # the bug needs a level below the first
    # Everything else answered (out of the queue) except the two oldest, acknowledged at the newest item's level.
    for i in public[2:-1]:
        feeds.set_triage(cam, str(i.id), status="answered")
    for i in public[:2]:
        feeds.set_triage(cam, str(i.id), status="acknowledged", priority_value=level)
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    shown = [i for i in feeds.find(cam, limit=100) if i.public and i.status in ("new", "acknowledged")]
    plain = sorted(shown, key=lambda i: (rank.get(str(i.priority), 4), -i.id))
    got = feeds.triage(cam, limit=2)
    assert [i.id for i in got] == [i.id for i in plain[:2]]
    assert got[0].id == newest.id

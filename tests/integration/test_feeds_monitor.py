"""The Monitor's service calls on a real SQLite file: ``find`` against a plain reading of every item for each
combination of filters, page by page; ``ignore`` only for a reason of the acceptable-use policy; ``mood_counts``.

Items are recorded through ``FeedService.record`` (the path a poll takes), some out of order in time, so the
time-range bounds and the alert candidates' chunks are checked where they could go wrong."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import utc_iso
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.feeds import Item
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.domain.triage_policy import IGNORE_REASONS, mood
from crisisdesk.feeds.poller import Outcome
from crisisdesk.services.feeds import FeedService, ItemView
from tests.conftest import person
from tests.integration.test_feeds import open_flood_incident


@pytest.fixture
def world(core: App, admin: Actor) -> tuple[FeedService, Actor, str]:
    feeds = core.feeds()
    cam = person(core, admin, "cam", Role.COMMUNICATOR)
    incident = open_flood_incident(core, cam)
    news = feeds.add(admin, "news", "https://news.example/rss", "rss")
    social = feeds.add(admin, "social", "https://social.example/tags/mill", "mastodon")
    rng = random.Random(14)
    now = core.clock.now()
    words = ["road", "river", "bridge", "school", "flooding", "market", "storm"]
    for round_ in range(6):
        for source in (news, social):
            items = []
            for n in range(60):
                k = round_ * 1000 + n
                text = " ".join(rng.choice(words) for _ in range(6))
                # mostly in arrival order, a few published long before or after their neighbours
                hours = 200 - round_ * 30 - n / 3 + (rng.choice([-90, 60]) if n % 17 == 0 else 0)
                items.append(
                    Item(f"{source.name}|{k}", f"item {k}", text, published=utc_iso(now - timedelta(hours=hours)))
                )
            feeds.record(feeds.get(source.name), Outcome(items=items))
    return feeds, cam, incident


def everything(feeds: FeedService, who: Actor) -> list[ItemView]:
    return feeds.find(who, limit=1000)


def test_find_answers_as_a_plain_reading_of_every_item_for_each_filter_page_by_page(
    core: App, world: tuple[FeedService, Actor, str]
) -> None:
    feeds, cam, incident = world
    items = everything(feeds, cam)
    assert len(items) == 720
    alerted = {a.item_id: a.incident_id for a in feeds.alerts(cam, include_handled=True)}
    assert 0 < len(alerted) < len(items)  # "flooding" is the flood incident's keyword
    now = core.clock.now()
    week, three_days = utc_iso(now - timedelta(days=7)), utc_iso(now - timedelta(days=3))
    for query, source, span, alert_filter in itertools.product(
        ("", "storm", "flooding river"),
        (None, "social"),
        ((None, None), (week, None), (week, three_days)),
        (None, True, False, "incident"),
    ):
        since, until = span
        expected = [
            i.id
            for i in items
            if all(w in i.text.split() for w in query.split())
            and (source is None or i.source == source)
            and (since is None or datetime.fromisoformat(i.at) >= datetime.fromisoformat(since))
            and (until is None or datetime.fromisoformat(i.at) < datetime.fromisoformat(until))
            and (alert_filter is None or (i.id in alerted) == bool(alert_filter))
            and (alert_filter != "incident" or alerted.get(i.id) == incident)
        ]
        found: list[int] = []
        before = None
        while True:  # 7 at a time: many pages, and chunks of alert candidates that run out mid-page
            page = feeds.find(
                cam,
                query,
                source=source,
                since=since,
                until=until,
                incident=incident if alert_filter == "incident" else None,
                has_alert=None if alert_filter in (None, "incident") else bool(alert_filter),
                before=before,
                limit=7,
            )
            found += [i.id for i in page]
            if len(page) < 7:
                break
            before = page[-1].id
        assert found == expected, (query, source, span, alert_filter)


def test_find_refuses_what_it_cannot_search_for_in_one_line(world: tuple[FeedService, Actor, str]) -> None:
    feeds, cam, _ = world
    with pytest.raises(UserError, match="unknown feed kind 'fax'"):
        feeds.find(cam, "road", kind="fax")
    with pytest.raises(UserError, match="no feed named 'nowhere'"):
        feeds.find(cam, "road", source="nowhere")
    with pytest.raises(UserError, match="give a time"):
        feeds.find(cam, "road", since="last tuesday")
    with pytest.raises(UserError, match="give at least one word"):
        feeds.find(cam, '""')


def test_ignoring_takes_a_reason_from_the_policy_and_records_it(
    core: App, world: tuple[FeedService, Actor, str]
) -> None:
    feeds, cam, _ = world
    message = feeds.triage(cam, limit=1)[0]
    with pytest.raises(UserError, match="give one of the acceptable-use policy's reasons"):
        feeds.ignore(cam, str(message.id), "I do not like it")
    assert not [e for e in core.log.events() if e.kind == Kind.TRIAGE_SET]
    spam = IGNORE_REASONS[0]
    assert feeds.ignore(cam, str(message.id), spam, note=" a bot ").status == "ignored"
    (event,) = [e for e in core.log.events() if e.kind == Kind.TRIAGE_SET]
    assert (event.actor, event.payload["note"]) == ("cam", f"policy: {spam} | a bot")


def test_mood_counts_are_the_open_incidents_public_messages_by_hour_band_and_group(
    core: App, world: tuple[FeedService, Actor, str]
) -> None:
    feeds, cam, incident = world
    alerted = {a.item_id for a in feeds.alerts(cam, include_handled=True) if a.incident_id == incident}
    public = [i for i in everything(feeds, cam) if i.public and i.id in alerted]
    expected: dict[tuple[str, str, str], int] = {}
    for i in public:
        hour = datetime.fromisoformat(i.at).strftime("%Y-%m-%dT%H:00:00+00:00")
        key = (hour, mood(i.sentiment), i.stakeholder or "public")
        expected[key] = expected.get(key, 0) + 1
    counts = {(c.hour, c.mood, c.group): c.count for c in feeds.mood_counts(cam)}
    assert counts == expected and sum(counts.values()) == len(public) > 0
    core.incidents().close(cam, incident)
    assert feeds.mood_counts(cam) == []


def test_the_triage_queue_is_the_plain_ordering_of_every_public_item(
    core: App, world: tuple[FeedService, Actor, str]
) -> None:
    """``triage`` reads undecided items a priority at a time through an index; it must give exactly what sorting
    every public item by (how pressing, newest) gives, with people's decisions (a status, a priority raised or
    lowered) taken into account."""
    feeds, cam, _ = world
    public = [i for i in everything(feeds, cam) if i.public]
    assert len(public) > 300
    rng = random.Random(15)
    for item in rng.sample(public, 60):
        status = rng.choice(["acknowledged", "acknowledged", "answered", "new"])
        feeds.set_triage(cam, str(item.id), status=status, priority_value=rng.choice(["urgent", "high", "low", None]))
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    shown = [i for i in everything(feeds, cam) if i.public]
    assert len({i.priority for i in shown}) >= 3  # the decisions spread the items over the levels
    for statuses in (("new", "acknowledged"), ("new",), ("acknowledged",), ("answered",)):
        plain = sorted((i for i in shown if i.status in statuses), key=lambda i: (rank.get(str(i.priority), 4), -i.id))
        for limit in (1, 7, 50, 200, 1000):
            got = feeds.triage(cam, statuses=statuses, limit=limit)
            assert [i.id for i in got] == [i.id for i in plain[:limit]], (statuses, limit)

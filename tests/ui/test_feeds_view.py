"""The Monitor, offscreen, on real SQLite files: source health (unhealthy first, polled from a local server), search
with each filter, an item's detail and link, an incident opened from an alert, triage with responses and a reason
from the acceptable-use policy, the mood chart's counts, and the GUI thread's heartbeat while a search runs over
200,000 items.

Items for the search are recorded through ``FeedService.record`` (the path a poll takes) with chosen times, so each
filter's answer is known. The browser is never opened: ``QDesktopServices.openUrl`` is monkeypatched, and the test
asserts the address it was asked to open.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDateTime, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock, utc_iso
from crisisdesk.domain.events import Kind
from crisisdesk.domain.feeds import Item
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.domain.triage_policy import IGNORE_REASONS
from crisisdesk.feeds.poller import Outcome
from crisisdesk.services.feeds import FeedService, Source
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.ui import when
from crisisdesk.ui.models.feeds import ItemsModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.feeds_view import FeedsView, OpenIncidentDialog
from crisisdesk.ui.views.main_window import MONITOR, MainWindow
from crisisdesk.ui.watcher import Watcher
from tests.conftest import person
from tests.integration.test_feeds import DATA, open_flood_incident, toots
from tests.support.feed_server import Route, feed_server
from tests.ui import test_window
from tests.ui.heartbeat import Heartbeat


def monitor(core: App, who: Actor) -> tuple[MainWindow, FeedsView]:
    window = MainWindow(core, who)
    window.resize(1280, 800)
    window.show()
    window.show_place(MONITOR)
    return window, window.monitor


def check_models(view: FeedsView) -> None:
    for model in (view.sources, view.alerts, view.found, view.triage):
        ModelTester(None).check(model)  # type: ignore[arg-type]


# -- health, from a real poll ----------------------------------------------------------------------------


def test_source_health_is_a_table_with_the_unhealthy_first_and_their_reason_and_next_try(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    cam = person(core, admin, "cam", Role.COMMUNICATOR)
    open_flood_incident(core, cam)
    with feed_server() as server:
        feeds = core.feeds()
        feeds.add(admin, "flood-tag", server.add("/tag", Route(toots(), "application/json")), "mastodon")
        feeds.add(
            admin, "311", server.add("/r.xml", Route((DATA / "open311/service_requests.xml").read_bytes())), "open311"
        )
        feeds.add(admin, "zz-gone", server.url + "/gone.xml", "rss")  # last by name, first by health
        feeds.poll()
        feeds.poll(["zz-gone"])  # a second failure: retried with back-off
    window, view = monitor(core, cam)
    qtbot.addWidget(window)
    check_models(view)
    rows = [view.sources.cells(view.sources.row(r)) for r in range(view.sources.rowCount())]
    health, name, kind, reason, _last, next_try, _items = rows[0]
    assert (health, name, kind) == ("UNHEALTHY", "zz-gone", "rss")
    assert reason == "HTTP 404 Not Found (2 failures in a row)"
    gone = feeds.get("zz-gone")
    assert gone.next_poll_at is not None and next_try != "at the next round"
    assert view.sources.tooltip(view.sources.row(0), 5) == when.full(gone.next_poll_at)
    assert [r[0] for r in rows[1:]] == ["OK", "OK"] and {r[1] for r in rows[1:]} == {"flood-tag", "311"}
    assert view.health.text() == "3 sources, 1 UNHEALTHY (failing; retried with back-off)"
    assert view.alerts.rowCount() == 2  # the two posts about flooding
    first = view.alerts.row(0)
    pacific = ZoneInfo("America/Los_Angeles")  # the flash-flood playbook's: its alerts are shown in its time
    assert view.alerts.zone(first) == pacific
    assert view.alerts.cells(first)[0] == when.moment_text(first.raised_at, pacific)
    assert view.triage.rowCount() == 6 and view.triage.row(0).priority == "urgent"
    assert test_window.unnamed_controls(view) == []
    if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
        window.grab().save(str(Path(shots) / "monitor.png"))


# -- a small world of known items --------------------------------------------------------------------------


class World:
    def __init__(self, core: App, admin: Actor) -> None:
        self.core = core
        self.feeds: FeedService = core.feeds()
        self.cam = person(core, admin, "cam", Role.COMMUNICATOR)
        self.incident = open_flood_incident(core, self.cam)
        self.now = core.clock.now()
        self.news = self.feeds.add(admin, "news", "https://news.example/rss", "rss")
        self.social = self.feeds.add(admin, "social", "https://social.example/tags/mill", "mastodon")
        ago = self.ago
        self.record(
            self.news,
            Item("n1", "Bridge closed on Elm Rd", "The Elm Rd bridge is closed for repairs.", "https://news.example/1",
                 published=ago(hours=2)),
            Item("n2", "Library opens late", "The library opens at noon on Monday.", "https://news.example/2",
                 published=ago(days=3)),
            Item("n3", "Boil water notice for Pine Ridge", "Boil water before drinking until further notice.",
                 "javascript:alert(1)", published=ago(hours=5)),
        )  # fmt: skip
        self.record(
            self.social,
            Item("s1", "", "Water over the road on Elm Rd, flooding everywhere. This is terrible and awful!",
                 "https://social.example/@ann/1", "ann", ago(minutes=30)),
            Item("s2", "", "Thank you to the crews for the great work on the flooding, wonderful job",
                 "https://social.example/@bo/2", "bo", ago(minutes=20)),
            Item("s3", "", "Is the flooding near the school? Reporter here, on deadline for a story",
                 "https://social.example/@kmill_news/3", "kmill_news", ago(minutes=10)),
            Item("s4", "", "Elm Rd bakery opens a new shop", "https://social.example/@cy/4", "cy", ago(days=10)),
        )  # fmt: skip

    def ago(self, **span: float) -> str:
        return utc_iso(self.now - timedelta(**span))

    def record(self, source: Source, *items: Item) -> None:
        self.feeds.record(self.feeds.get(source.name), Outcome(items=list(items)))


@pytest.fixture
def world(core: App, admin: Actor) -> World:
    return World(core, admin)


def found_titles(view: FeedsView) -> set[str]:
    assert view.found.complete
    return {(i.title or i.text)[:25] for i in view.found.rows}


def test_search_with_each_filter(qtbot: QtBot, core: App, world: World) -> None:
    window, view = monitor(core, world.cam)
    qtbot.addWidget(window)
    view.tabs.setCurrentIndex(1)
    view.query.setText("elm")
    qtbot.mouseClick(view.search_button, Qt.MouseButton.LeftButton)
    assert found_titles(view) == {
        "Bridge closed on Elm Rd",
        "Water over the road on El",
        "Elm Rd bakery opens a new",
    }
    assert view.found_label.text() == "3 items found."
    assert [i.id for i in view.found.rows] == sorted((i.id for i in view.found.rows), reverse=True)  # newest first
    check_models(view)

    def search(**choices: object) -> set[str]:
        for combo, value in (
            (view.source_filter, choices.get("source")),
            (view.kind_filter, choices.get("kind")),
            (view.time_filter, choices.get("time")),
            (view.incident_filter, choices.get("incident")),
            (view.alert_filter, choices.get("alert")),
        ):
            index = combo.findData(value)
            assert index >= 0, (combo.accessibleName(), value)
            combo.setCurrentIndex(index)
        view.search()
        return found_titles(view)

    assert search(source="news") == {"Bridge closed on Elm Rd"}
    assert search(kind="mastodon") == {"Water over the road on El", "Elm Rd bakery opens a new"}
    assert search(time="24h") == {"Bridge closed on Elm Rd", "Water over the road on El"}
    assert search(incident=world.incident) == {"Water over the road on El"}  # it names the flood's keyword
    assert search(alert=True) == {"Water over the road on El"}
    assert search(alert=False) == {"Bridge closed on Elm Rd", "Elm Rd bakery opens a new"}
    assert search(kind="rss", time="24h") == {"Bridge closed on Elm Rd"}

    # a time range between two moments, and no words: every item in it
    view.query.clear()
    search(time=None)
    view.time_filter.setCurrentIndex(view.time_filter.findData("between"))
    assert view.from_time.isVisibleTo(view) and view.to_time.isVisibleTo(view)
    now = QDateTime.fromSecsSinceEpoch(int(world.now.timestamp()))
    view.from_time.setDateTime(now.addDays(-4))
    view.to_time.setDateTime(now.addDays(-1))
    view.search()
    assert found_titles(view) == {"Library opens late"}
    assert len(search()) == 7
    view.query.setText('"no such words"')
    view.search()
    assert view.found.rows == [] and view.found_label.text().startswith("Nothing found")


def test_results_page_in_as_the_table_scrolls(qtbot: QtBot, core: App, world: World) -> None:
    many = [Item(f"m{n}", f"Road report {n}", "road closed", published=world.ago(minutes=n)) for n in range(250)]
    world.record(world.news, *many)
    window, view = monitor(core, world.cam)
    qtbot.addWidget(window)
    view.tabs.setCurrentIndex(1)
    view.query.setText("road report")
    view.search()
    assert view.found.rowCount() == ItemsModel.PAGE and view.found.canFetchMore()
    assert "more load as you scroll" in view.found_label.text()
    table = view.found_table
    assert table.verticalHeader().sectionResizeMode(0) == table.verticalHeader().ResizeMode.Fixed
    for _ in range(10):
        table.scrollToBottom()  # the view asks the model for more at the end
        qtbot.wait(10)
        if view.found.complete:
            break
    assert view.found.rowCount() == 250 and not view.found.canFetchMore()
    assert len({i.id for i in view.found.rows}) == 250
    assert view.found_label.text() == "250 items found."
    check_models(view)


def test_the_detail_shows_the_item_and_opens_its_link_in_the_browser(
    qtbot: QtBot, core: App, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[QUrl] = []
    # The browser is never started in a test: openUrl is replaced, and what it was asked to open is asserted.
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: asked.append(url) or True))
    window, view = monitor(core, world.cam)
    qtbot.addWidget(window)
    view.tabs.setCurrentIndex(1)
    view.query.setText("bridge")
    view.search()
    view.found_table.selectRow(0)
    assert "The Elm Rd bridge is closed for repairs." in view.item_text.toPlainText()
    assert view.item_alerts.text() == "This item raised no alert."
    assert view.link_button.isEnabled()
    qtbot.mouseClick(view.link_button, Qt.MouseButton.LeftButton)
    assert [u.toString() for u in asked] == ["https://news.example/1"]

    view.query.setText("boil")  # its link is javascript: never opened
    view.search()
    view.found_table.selectRow(0)
    assert "Link: javascript:alert(1)" in view.item_text.toPlainText()
    assert not view.link_button.isEnabled()
    view.open_link()
    assert len(asked) == 1


def test_an_incident_opens_from_an_alert_in_the_mode_chosen(qtbot: QtBot, core: App, world: World) -> None:
    window, view = monitor(core, world.cam)
    qtbot.addWidget(window)
    opened: list[str] = []
    view.incident_opened.connect(opened.append)
    # "boil water" is a keyword of the rules: an alert of its own, tied to no incident
    row = next(r for r in range(view.alerts.rowCount()) if view.alerts.row(r).title.startswith("Boil water"))
    alert = view.alerts.row(row)
    assert alert.incident_id is None
    view.alerts_table.selectRow(row)
    qtbot.mouseClick(view.open_button, Qt.MouseButton.LeftButton)
    dialog = view.open_dialog
    assert isinstance(dialog, OpenIncidentDialog) and dialog.isVisible()
    assert test_window.unnamed_controls(dialog) == []
    assert dialog.mode is None and not dialog.ok_button.isEnabled()  # no mode by default
    assert dialog.playbook.findData("boil-water") > 0
    dialog.choose("boil-water", Mode.EXERCISE)
    assert dialog.ok_button.text() == "Open EXERCISE incident" and dialog.ok_button.isEnabled()
    assert "EXERCISE" in dialog.answer.text()
    if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
        dialog.grab().save(str(Path(shots) / "monitor-open-incident.png"))
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.incident is not None and not dialog.isVisible()
    incident = dialog.incident
    assert (incident.playbook_id, incident.mode) == ("boil-water", Mode.EXERCISE)
    assert opened == [incident.id]
    assert incident.id in {i.id for i in core.incidents().list_all(world.cam, include_closed=False)}
    assert view.incident_filter.findData(incident.id) > 0  # the new incident is a search filter at once
    assert alert.id not in {view.alerts.row(r).id for r in range(view.alerts.rowCount())}
    handled = [e for e in core.log.events() if e.kind == Kind.ALERT_HANDLED]
    assert [(e.actor, e.payload["status"], e.payload["incident"]) for e in handled] == [("cam", "opened", incident.id)]

    # a second time: the service says no, and the dialog says why
    view.tabs.setCurrentIndex(1)
    view.query.setText("boil")
    view.search()
    view.found_table.selectRow(0)
    assert f"opened {incident.id}" in view.item_alerts.text() and not view.item_open_button.isEnabled()
    again = OpenIncidentDialog(view.session, core.feeds().alert(alert.id), view)
    again.choose(None, Mode.LIVE)
    assert again.ok_button.text() == "Open LIVE incident"
    again.open_incident()
    assert again.answer.text().startswith(f"Not opened: {alert.id} already opened {incident.id}")


def test_triage_copies_a_response_and_sets_the_status_with_a_policy_reason(
    qtbot: QtBot, core: App, world: World
) -> None:
    window, view = monitor(core, world.cam)
    qtbot.addWidget(window)
    view.tabs.setCurrentIndex(2)
    texts = [view.triage.row(r).text for r in range(view.triage.rowCount())]
    row = next(r for r, t in enumerate(texts) if t.startswith("Water over the road"))
    view.triage_table.selectRow(row)
    assert "Group: public" in view.triage_text.toPlainText()
    choices = [view.response_choice.itemText(i) for i in range(view.response_choice.count())]
    assert "rescue (en)" in choices and "where-to-go (es)" in choices  # the flash-flood playbook's responses
    view.response_choice.setCurrentIndex(choices.index("rescue (en)"))
    rescue = "If you or someone near you is in danger, call 911 now. Do not walk or drive through flood water."
    assert view.response_text.toPlainText() == rescue
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == rescue
    assert "Copied the 'rescue' response (en)" in view.triage_status.text()
    qtbot.mouseClick(view.answered_button, Qt.MouseButton.LeftButton)
    decided = [e.payload for e in core.log.events() if e.kind == Kind.TRIAGE_SET]
    assert [(p["status"], p["template"]) for p in decided] == [("answered", "rescue")]
    assert view.triage_status.text() == "Marked answered with 'rescue'."
    assert all(not view.triage.row(r).text.startswith("Water over") for r in range(view.triage.rowCount()))

    # acknowledged: it stays in the queue, and stays selected with its response chosen
    thanks = next(r for r in range(view.triage.rowCount()) if view.triage.row(r).text.startswith("Thank you"))
    view.triage_table.selectRow(thanks)
    view.response_choice.setCurrentIndex(view.response_choice.count() - 1)
    chosen = view.response_choice.currentText()
    qtbot.mouseClick(view.acknowledge_button, Qt.MouseButton.LeftButton)
    assert view.triage_status.text() == "Marked acknowledged."
    row = view.triage_table.selectionModel().selectedRows()[0].row()
    assert view.triage.row(row).text.startswith("Thank you") and view.triage.row(row).status == "acknowledged"
    assert view.response_choice.currentText() == chosen

    # ignoring needs a reason from the policy's list, not only words
    bakery = next(r for r in range(view.triage.rowCount()) if view.triage.row(r).text.startswith("Elm Rd bakery"))
    view.triage_table.selectRow(bakery)
    assert not view.ignore_button.isEnabled()
    view.ignore_note.setText("an advert")
    assert not view.ignore_button.isEnabled()
    off_topic = next(r for r in IGNORE_REASONS if r.startswith("Off-topic"))
    view.ignore_reason.setCurrentIndex(view.ignore_reason.findData(off_topic))
    assert view.ignore_button.isEnabled()
    qtbot.mouseClick(view.ignore_button, Qt.MouseButton.LeftButton)
    last = [e.payload for e in core.log.events() if e.kind == Kind.TRIAGE_SET][-1]
    assert len([e for e in core.log.events() if e.kind == Kind.TRIAGE_SET]) == 3
    assert (last["status"], last["note"]) == ("ignored", f"policy: {off_topic} | an advert")
    assert view.triage_status.text() == f"Ignored: {off_topic}."
    assert view.ignore_reason.currentData() is None and view.ignore_note.text() == ""
    ignored = world.feeds.triage(world.cam, statuses=["ignored"])
    assert [i.text for i in ignored] == ["Elm Rd bakery opens a new shop"]
    check_models(view)


def test_the_chart_counts_the_open_incidents_public_messages_by_sentiment_and_group(
    qtbot: QtBot, core: App, world: World
) -> None:
    window, view = monitor(core, world.cam)
    qtbot.addWidget(window)
    assert view.chart is None  # QtCharts is not loaded until the chart is shown
    view.tabs.setCurrentIndex(3)
    chart = view.chart
    assert chart is not None
    # s1 (terrible, awful), s2 (thank you, great), s3 (a reporter's question) name the flood's "flooding"; s4 does
    # not: it concerns no incident and is not counted. All three arrived in the hour before 09:30 UTC.
    assert chart.hours == ["2026-11-22T09:00:00+00:00"]
    assert (chart.values("negative"), chart.values("neutral"), chart.values("positive")) == ([1], [1], [1])
    assert chart.summary().startswith("3 public messages")
    view.chart_by.setCurrentIndex(view.chart_by.findData("group"))
    assert chart.by == "group"
    assert (chart.values("public"), chart.values("media")) == ([2], [1])
    assert chart.series is not None and {b.label() for b in chart.series.barSets()} == {"public", "media"}

    # a new message an hour later: a second bar; a closed incident's messages leave the chart
    assert isinstance(core.clock, FixedClock)
    world.record(
        world.social,
        Item("s5", "", "Flooding again, we are stranded, this is awful", "https://social.example/5", "dee",
             utc_iso(world.now + timedelta(minutes=45))),
    )  # fmt: skip
    view.reload()
    assert chart.hours == ["2026-11-22T09:00:00+00:00", "2026-11-22T10:00:00+00:00"]
    assert chart.values("public") == [2, 1]
    core.incidents().close(world.cam, world.incident)
    view.reload()
    assert chart.hours == [] and chart.summary() == "No public messages about the open incidents yet."
    assert test_window.unnamed_controls(view) == []


# -- the heartbeat while a search runs over many items ------------------------------------------------------

MANY = 200_000


@pytest.fixture(scope="module")
def many_items(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of 200,000 items recorded through ``FeedService.record_many`` (news items, 20,000 a round: about
    20 s on the 2-CPU build machine with other test suites beside it), with a communicator."""
    path = tmp_path_factory.mktemp("many") / "many.sqlite3"
    app = App.open(path, create=True, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.initialise("alice", "alice password")
    admin = app.people.actor("alice")
    app.people.add(admin, "cam", [Role.COMMUNICATOR], "cam password")
    feeds = app.feeds()
    sources = [feeds.add(admin, f"news{k}", f"https://news{k}.example/rss", "rss") for k in range(4)]
    words = "road river bridge creek school bus park market council storm wind rain county power crew".split()
    now = app.clock.now()
    for start in range(0, MANY, 20_000):
        polls = []
        for k, source in enumerate(sources):
            items = [
                Item(
                    f"many|{n}",
                    f"{words[n % 15]} {words[(n // 15) % 15]} report {n}",
                    " ".join(words[(n * j) % 15] for j in range(1, 12)),
                    published=utc_iso(now - timedelta(seconds=MANY - n)),
                )
                for n in range(start + k, start + 20_000, 4)
            ]
            polls.append((source, Outcome(items=items)))
        feeds.record_many(polls)
    assert feeds.count() == MANY
    app.close()
    return path


def test_the_gui_thread_keeps_beating_while_a_search_runs_over_200_000_items(qtbot: QtBot, many_items: Path) -> None:
    core = App.open(many_items, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    try:
        cam = core.people.actor("cam")
        session = Session(core=core, actor=cam, tasks=Tasks(core, synchronous=False), watcher=Watcher(core))
        view = FeedsView(session)
        qtbot.addWidget(view)
        view.resize(1200, 800)
        view.show()
        view.tabs.setCurrentIndex(1)
        qtbot.waitUntil(lambda: not session.tasks.busy, timeout=20_000)
        with Heartbeat() as heart:
            for query, source, span in (
                ("road", None, None),  # common: many pages
                ("storm*", "news3", "30d"),  # a prefix, one source in four, a time range
                ("", "news2", None),  # browsing a source
                ("zzznothing", None, None),  # nothing: the whole index answers at once
            ):
                heart.step(f"search {query!r} {source} {span}")
                view.query.setText(query)
                view.source_filter.setCurrentIndex(view.source_filter.findData(source))
                view.time_filter.setCurrentIndex(view.time_filter.findData(span))
                view.search()
                qtbot.waitUntil(lambda: not view.found.loading, timeout=20_000)
                for _ in range(3):  # scroll three pages in
                    view.found_table.scrollToBottom()
                    qtbot.waitUntil(lambda: not view.found.loading, timeout=20_000)
                heart.step("idle")
                qtbot.wait(30)
        assert heart.beats > 20
        assert view.found.rowCount() == 0 and view.found_label.text().startswith("Nothing found")
        assert heart.longest < 0.050, f"the GUI thread was kept busy {heart.longest * 1000:.0f} ms\n{heart.report()}"
        session.tasks.stop()
    finally:
        core.close()

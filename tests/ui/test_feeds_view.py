"""The feeds tab, offscreen: source health, alerts and the triage queue, and a triage decision from it."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui.views.main_window import MONITOR, MainWindow
from tests.conftest import actor
from tests.integration.test_feeds import DATA, open_flood_incident, toots
from tests.support.feed_server import Route, feed_server


def test_the_feeds_tab_shows_health_alerts_and_triage(qtbot: QtBot, core: App, admin: Actor) -> None:
    cam = actor("cam", Role.COMMUNICATOR)
    core.people.add(admin, "cam", [Role.COMMUNICATOR], "cam password")
    open_flood_incident(core, cam)
    with feed_server() as server:
        feeds = core.feeds()
        feeds.add(admin, "flood-tag", server.add("/tag", Route(toots(), "application/json")), "mastodon")
        feeds.add(
            admin, "311", server.add("/r.xml", Route((DATA / "open311/service_requests.xml").read_bytes())), "open311"
        )
        feeds.add(admin, "gone", server.url + "/gone.xml", "rss")
        feeds.poll()
    window = MainWindow(core, core.people.actor("cam"))
    qtbot.addWidget(window)
    window.resize(1200, 700)
    window.show()
    window.show_place(MONITOR)
    view = window.monitor
    ModelTester(None).check(view.alerts)  # type: ignore[arg-type]
    ModelTester(None).check(view.triage)  # type: ignore[arg-type]
    assert "gone [rss] UNHEALTHY: HTTP 404 Not Found" in view.health.text()
    assert "flood-tag [mastodon] OK" in view.health.text()
    assert view.alerts.rowCount() == 2  # the two posts about flooding
    assert view.triage.rowCount() == 6 and view.triage.row(0).priority == "urgent"
    if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
        window.grab().save(str(Path(shots) / "feeds.png"))
    view.triage_table.selectRow(0)
    first = view.triage.row(0)
    view._triage("answered")
    assert first.id not in {view.triage.row(i).id for i in range(view.triage.rowCount())}
    assert any(e.kind == Kind.TRIAGE_SET and e.actor == "cam" for e in core.log.events())

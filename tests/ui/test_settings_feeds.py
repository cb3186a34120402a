"""Settings → Feed sources, offscreen: add a source on a real local HTTP server, poll it now, see it succeed, then
see the server's failure with its reason in the source's health history; remove it; mistakes said in one line;
read-only for those who may not manage feeds."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.feeds import DEFAULT_INTERVAL
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui import palette
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.settings_feeds import FeedSourcesPage
from crisisdesk.ui.watcher import Watcher
from tests.conftest import person
from tests.integration.test_feeds import DATA
from tests.support.feed_server import Route, feed_server
from tests.ui.heartbeat import Heartbeat
from tests.ui.test_window import unnamed_controls


def page_for(qtbot: QtBot, core: App, who: Actor, *, heading: bool = True) -> FeedSourcesPage:
    session = Session(core=core, actor=who, tasks=Tasks(core), watcher=Watcher(core))
    page = FeedSourcesPage(session, heading=heading)
    qtbot.addWidget(page)
    page.resize(1100, 720)
    page.show()
    return page


def test_add_poll_and_see_a_failure_with_its_reason(qtbot: QtBot, core: App, admin: Actor) -> None:
    page = page_for(qtbot, core, admin)
    assert unnamed_controls(page) == []
    assert page.model.rowCount() == 0 and page.interval.value() == DEFAULT_INTERVAL
    assert "every 5 min (the default)" in page.interval_note.text()
    kinds = [page.kind.itemText(i) for i in range(page.kind.count())]
    assert {"rss", "atom", "cap", "geojson", "mastodon", "folder"} <= set(kinds)
    body = (DATA / "feeds/feedparser/rss20.xml").read_bytes()
    with feed_server() as server:
        url = server.add("/news.xml", Route(body, "application/rss+xml"))
        page.kind.setCurrentIndex(kinds.index("rss"))
        page.name.setText("county-news")
        page.url.setText(url)
        page.interval.setValue(600)
        page.add_button.click()
        assert page.status.text() == "Added county-news (rss, every 10 min)."
        assert page.model.rowCount() == 1 and page.model.row(0).url == url
        assert page.model.cells(page.model.row(0))[4] == "not polled yet"

        page.table.selectRow(0)
        page.poll_button.click()
        assert server.hits["/news.xml"] == 1
        assert page.status.text().startswith("county-news: polled, ") and " new of " in page.status.text()
        assert page.model.row(0).health == "ok"
        assert page.polls.rowCount() == 1 and page.polls.cells(page.polls.row(0))[1] == "ok"
        assert "Last success: " in page.health.text() and "Last failure" not in page.health.text()

        server.routes["/news.xml"] = Route(b"the server fell over", "text/plain", status=500)
        page.poll_button.click()
        assert page.status.text().startswith("county-news: failed: ") and "500" in page.status.text()
        assert page.status.styleSheet() == palette.text_style("bad")
        assert [page.polls.cells(page.polls.row(i))[1] for i in range(page.polls.rowCount())] == ["failed", "ok"]
        reason = page.polls.cells(page.polls.row(0))[5]
        assert "500" in reason
        assert "Last failure: " in page.health.text() and reason in page.health.text()
        assert "Next poll: " in page.health.text()
        assert (
            page.model.cells(page.model.row(0))[4] == "unhealthy: failed"
            and page.model.colour(page.model.row(0)) == "bad"
        )
        for model in (page.model, page.polls):
            ModelTester(None).check(model)  # type: ignore[arg-type]
        if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
            page.grab().save(str(Path(shots) / "settings-feeds.png"))

    # The same name again, and an address that is not one: one line each, nothing added.
    for name, address, said in (
        ("county-news", "https://example.org/feed.xml", "there is already a feed named 'county-news'"),
        ("other", "ftp://example.org/feed", "is not an http(s) address"),
        ("bad name", "https://example.org/feed.xml", "invalid feed name 'bad name'"),
    ):
        page.name.setText(name)
        page.url.setText(address)
        page.add_button.click()
        assert said in page.status.text() and "\n" not in page.status.text()
        assert page.model.rowCount() == 1

    page.table.selectRow(0)
    questions: list[str] = []
    page.confirm = lambda text: questions.append(text) or False
    page.remove_button.click()
    assert page.model.rowCount() == 1 and "Remove the feed source county-news?" in questions[0]
    page.confirm = lambda text: True
    page.remove_button.click()
    assert page.model.rowCount() == 0 and page.status.text() == "Removed county-news."
    assert [e.payload["name"] for e in core.log.events() if e.kind == Kind.FEED_REMOVED] == ["county-news"]


def test_read_only_for_those_who_may_not_manage_feeds(qtbot: QtBot, core: App, admin: Actor) -> None:
    core.feeds().add(admin, "gone", "http://127.0.0.1:9/gone.xml", "rss")
    viewer = person(core, admin, "val", Role.VIEWER)
    page = page_for(qtbot, core, viewer, heading=False)  # as the Settings place shows it, under its own title
    assert "Feed sources" not in [label.text() for label in page.findChildren(QLabel)]
    assert page.model.rowCount() == 1
    for control in (page.kind, page.name, page.url, page.interval, page.add_button):
        assert not control.isEnabled()
    page.table.selectRow(0)
    assert page.poll_button.isEnabled() and not page.remove_button.isEnabled()
    page.remove_selected()  # even called directly: nothing happens
    assert page.model.rowCount() == 1


def test_poll_now_runs_off_the_gui_thread(qtbot: QtBot, core: App, admin: Actor) -> None:
    """With the real thread pool: adding a source and polling it now (the fetch, the parse and the recording) keep the
    GUI thread under 50 ms between two beats, and the page shows the outcome when the task is done."""
    tasks = Tasks(core, synchronous=False)
    session = Session(core=core, actor=admin, tasks=tasks, watcher=Watcher(core))
    body = (DATA / "feeds/reader/full.atom").read_bytes()
    try:
        with feed_server() as server:
            url = server.add("/atom.xml", Route(body, "application/atom+xml"))
            page = FeedSourcesPage(session)
            qtbot.addWidget(page)
            page.show()
            qtbot.waitUntil(lambda: page.sources is not None and not tasks.busy, timeout=10_000)
            with Heartbeat() as heart:
                heart.step("add a source")
                page.kind.setCurrentIndex(page.kind.findData("atom"))
                page.name.setText("robots")
                page.url.setText(url)
                page.add_button.click()
                qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not tasks.busy, timeout=10_000)
                heart.step("poll it now")
                page.table.selectRow(0)
                page.poll_button.click()
                assert not page.poll_button.isEnabled()  # until the poll is done
                qtbot.waitUntil(lambda: "polled" in page.status.text() and not tasks.busy, timeout=30_000)
                qtbot.waitUntil(lambda: page.polls.rowCount() == 1, timeout=10_000)
        assert server.hits["/atom.xml"] == 1 and page.poll_button.isEnabled()
        assert heart.longest < 0.050, f"the GUI thread was kept busy {heart.longest * 1000:.0f} ms\n{heart.report()}"
    finally:
        tasks.stop()

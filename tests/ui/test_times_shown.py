"""Times as a person reads them: no table cell and no label of the window (its places, an incident's workspace, the
composer, the deliveries) and of its dialogs shows a raw ISO timestamp or microseconds; the incident's rows are in
its zone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QAbstractItemModel, QAbstractListModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QWidget
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.dialogs.false_alarm import FalseAlarmDialog
from crisisdesk.ui.dialogs.publish import PublishDialog
from crisisdesk.ui.views.composer import Composer
from crisisdesk.ui.views.deliveries import DeliveriesView
from crisisdesk.ui.views.main_window import APPROVALS, INCIDENTS, MainWindow
from tests.integration.outbox_helpers import add_team, open_incident, publish

ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")  # 2026-11-22T14:05, 2026-11-22 14:05
MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}[.,]\d+")
UTC_OFFSET = re.compile(r"\d{2}:\d{2}(:\d{2})?[+-]\d{2}:\d{2}")


def raw_times(text: str) -> list[str]:
    return [m.group(0) for pattern in (ISO, MICROSECONDS, UTC_OFFSET) for m in pattern.finditer(text)]


def shown_texts(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) of every cell every table under ``root`` shows, and every label's text."""
    found = []
    models: dict[int, tuple[QAbstractItemModel, str]] = {}
    for view in [root, *root.findChildren(QWidget)]:
        if isinstance(view, QAbstractItemView) and not isinstance(view, QHeaderView) and view.model() is not None:
            models[id(view.model())] = (view.model(), view.accessibleName() or type(view).__name__)
        if isinstance(view, QLabel) and view.text():
            found.append((view.accessibleName() or "label", view.text()))
    for model, name in models.values():
        columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount()  # a list's is private
        for row in range(model.rowCount(QModelIndex())):
            for column in range(columns):
                value = model.index(row, column).data(Qt.ItemDataRole.DisplayRole)
                if isinstance(value, str):
                    found.append((f"{name} [{row}, {column}]", value))
    return found


# The timeline's Details are the log's own words for each event (``IncidentService.timeline``), with the facts as
# a person typed them (an expiry typed "2026-11-22T21:30" stays so): data, not a time the console writes. The Audit
# log's Details are the same words for every event, which an auditor reads as recorded.
LOG_WORDS = re.compile(r"^(Timeline \[\d+, 3\]|Audit log \[\d+, 5\])$")


def offenders(root: QWidget) -> list[str]:
    return [f"{where}: {text!r}" for where, text in shown_texts(root) if raw_times(text) and not LOG_WORDS.match(where)]


def test_the_check_finds_raw_times() -> None:
    assert raw_times("sent 2026-11-22T14:05:33.123456+00:00") != []
    assert raw_times("at 14:05:33.5") == ["14:05:33.5"]
    assert raw_times("expires 21:30-08:00") != []
    assert raw_times("Sun 22 Nov 14:05 · in 25 min · 14:05:33") == []
    label = QLabel("published 2026-11-22 14:05")
    assert offenders(label) == ["label: 'published 2026-11-22 14:05'"]


def test_no_view_shows_a_raw_time(qtbot: QtBot, core: App, admin: Actor, clock: FixedClock) -> None:
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    published = publish(core, team, incident, ["public-page"])
    core.outbox().run_once()
    clock.advance(timedelta(minutes=3, microseconds=250_001))  # a moment with microseconds, as the log keeps them
    waiting = core.messages().draft(team["carla"], incident, "update")
    core.messages().submit(team["carla"], waiting.id)
    core.messages().approve(team["ivan"], waiting.id, core.messages().show(team["ivan"], waiting.id).content_hash)
    draft = core.messages().draft(team["carla"], incident, "update")
    window = MainWindow(core, team["carla"])
    qtbot.addWidget(window)
    window.show()
    found: dict[str, list[str]] = {}
    for name in (INCIDENTS, APPROVALS):
        window.show_place(name)
        found[name] = offenders(window.place(name))
    window.show_place(INCIDENTS)
    window.incidents.open_incident(incident)
    workspace = window.incidents.workspace
    assert workspace is not None and workspace.timeline.rowCount() > 3 and workspace.steps.rowCount() > 0
    found["workspace"] = offenders(workspace)
    # The incident's rows in its zone, not the log's UTC.
    here = ZoneInfo(core.incidents().get(admin, incident).timezone)
    assert here.utcoffset(clock.now()) != timedelta(0)
    last = workspace.timeline.rowCount() - 1
    at = datetime.fromisoformat(workspace.timeline.rows[last].at)
    assert workspace.timeline.index(last, 0).data().endswith(at.astimezone(here).strftime("%H:%M"))
    workspace.open_composer(draft.id)
    assert isinstance(workspace.hosted, Composer)
    found["composer"] = offenders(workspace.hosted)
    workspace.open_deliveries(published.id)
    assert isinstance(workspace.hosted, DeliveriesView) and workspace.hosted.model.rowCount() == 1
    found["deliveries"] = offenders(workspace.hosted)
    found["publish"] = offenders(PublishDialog(window.session, waiting.id, parent=window))
    found["false alarm"] = offenders(FalseAlarmDialog(window.session, incident, window))
    bad = {where: bad for where, bad in found.items() if bad}
    assert bad == {}


def test_no_other_place_shows_a_raw_time(qtbot: QtBot, core: App, admin: Actor, clock: FixedClock) -> None:
    """Every other place, walked generically (a place added later is checked too): the Monitor, the Outbox, the Audit
    log and the Settings are each their own part's, and follow the same rule."""
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    publish(core, team, incident, ["public-page"])
    core.outbox().run_once()
    clock.advance(timedelta(minutes=3, microseconds=250_001))
    window = MainWindow(core, admin)
    qtbot.addWidget(window)
    window.show()
    found: dict[str, list[str]] = {}
    for name in window.places:
        if name not in (INCIDENTS, APPROVALS):
            window.show_place(name)
            found[name] = offenders(window.place(name))
    assert len(found) >= 4
    assert {where: bad for where, bad in found.items() if bad} == {}

"""The board with closed incidents on a long history: closed ones come a page at a time as the table reaches its end,
and a reload (the watcher's tick) keeps as many as are shown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor
from crisisdesk.services import board as board_service
from crisisdesk.ui.views.main_window import MainWindow
from tests.integration.outbox_helpers import add_team, open_incident


def test_closed_incidents_come_a_page_at_a_time(
    qtbot: QtBot, core: App, admin: Actor, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board_service, "CLOSED_PAGE", 3)
    team = add_team(core, admin)
    opened = []
    for _ in range(8):
        incident = open_incident(core, team)
        core.incidents().close(team["carla"], incident)
        opened.append(incident)
        clock.advance(timedelta(minutes=5))
    active = open_incident(core, team)
    window = MainWindow(core, team["carla"])
    qtbot.addWidget(window)
    window.show()
    view = window.incidents
    model = view.model
    assert [model.board_row(i).id for i in range(model.rowCount())] == [active]
    view.closed_filter.setChecked(True)
    newest_first = opened[::-1]
    assert [model.board_row(i).id for i in range(model.rowCount())] == [active, *newest_first[:3]]
    assert model.canFetchMore(QModelIndex())
    ModelTester(None).check(model)  # type: ignore[arg-type]  # it may ask for pages itself
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert [model.board_row(i).id for i in range(model.rowCount())] == [active, *newest_first]
    # the watcher's look again reads as many closed incidents as are shown, not just the first page
    view.reload()
    assert model.rowCount() == 9 and not model.canFetchMore(QModelIndex())
    view.closed_filter.setChecked(False)
    assert model.rowCount() == 1

"""The outbox tab, offscreen: rows with receipts and reasons, retry and retract, and a worker thread."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.services.outbox import Worker
from crisisdesk.ui.views.main_window import OUTBOX, MainWindow
from tests.integration.outbox_helpers import add_team, open_incident, publish


def test_the_outbox_tab_shows_receipts_reasons_and_retracts(
    qtbot: QtBot, core: App, admin: Actor, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    team = add_team(core, admin)
    core.channels().add(admin, "webhook", "down-hook", settings=["url=http://127.0.0.1:9/hook"], secret="k")
    core.channels().add(admin, "apprise", "catch-all", secret="json://127.0.0.1:9/")
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page", "down-hook"])
    core.outbox().run_once()
    window = MainWindow(core, team["ivan"])
    qtbot.addWidget(window)
    window.show()
    window.show_place(OUTBOX)
    view = window.outbox
    ModelTester(None).check(view.model)  # type: ignore[arg-type]
    states = {view.model.row(i).account: view.model.row(i).state for i in range(view.model.rowCount())}
    assert states == {"public-page": "sent", "down-hook": "failed"}
    hook_row = next(i for i in range(view.model.rowCount()) if view.model.row(i).account == "down-hook")
    reason = view.model.data(view.model.index(hook_row, 6), Qt.ItemDataRole.DisplayRole)
    assert "cannot be reached" in str(reason) and "next try" in str(reason)
    assert "catch-all [apprise, LIVE] (cannot retract: Apprise returns no remote id" in view.channels.text()
    window.resize(1200, 420)
    if os.environ.get("CRISISDESK_SCREENSHOTS"):
        window.grab().save(str(Path(os.environ["CRISISDESK_SCREENSHOTS"]) / "outbox.png"))
    # Retract from the tab: the page post comes down once the worker runs; the unsent webhook row is stopped.
    view.table.selectRow(hook_row)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    view.retract_selected()
    worker = Worker(lambda: App.open(core.db.path, clock=core.clock).outbox(), poll=0.01)
    worker.start()
    try:
        qtbot.waitUntil(
            lambda: all(r.retract_state == "retracted" for r in core.outbox().rows(admin, message_id=msg.id)),
            timeout=10_000,
        )
    finally:
        worker.stop()
    assert worker.error is None
    view.reload()
    assert {view.model.row(i).retract_state for i in range(view.model.rowCount())} == {"retracted"}
    assert view.model.rowCount(view.model.index(0, 0)) == 0 and view.model.columnCount(QModelIndex()) == 8

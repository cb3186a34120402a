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
from crisisdesk.services.outbox import OutboxRow, Worker
from crisisdesk.ui.models.outbox import PAGE, OutboxModel
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


def _rows(positions: range, state: str = "sent") -> list[OutboxRow]:
    return [
        OutboxRow(
            id=f"out-{pos:06d}", pos=pos, message_id=f"msg-{pos // 3:06d}", version=1, account_id="acct-1",
            account="public-page", kind="folder", mode="live", state=state, attempts=1, next_try_at=None,
            reason=None, remote_id=f"r{pos}", remote_url=None, sent_at="2026-11-22T14:05:00.000000+00:00",
            retract_state=None, retract_reason=None, idem_key=f"k{pos}", content_hash="h",
            timezone="America/Chicago",
        )
        for pos in positions
    ]  # fmt: skip


def test_the_outbox_model_reads_a_page_at_a_time_and_merges_the_newest(qtbot: QtBot) -> None:
    """A long outbox: pages are asked for only as the table reaches its end; a new page on top goes in place."""
    outbox = _rows(range(1, 1201))[::-1]  # newest first, as the service lists them
    asked: list[int] = []

    def load_page(before: int) -> None:
        asked.append(before)
        model.add_page(before, [r for r in outbox if r.pos < before][:PAGE])

    model = OutboxModel(load_page)
    tester = ModelTester(None)
    tester.check(model)  # type: ignore[arg-type]
    model.merge_newest(outbox[:PAGE])
    assert model.rowCount() == PAGE and model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert asked == [701, 201] and model.rowCount() == 1200 and not model.canFetchMore(QModelIndex())
    assert [model.row(i).pos for i in range(model.rowCount())] == list(range(1200, 0, -1))
    # times in the incident's zone, the full moment in the tooltip; no ISO
    cell = str(model.data(model.index(0, 6)))
    assert cell.startswith("r1200 (") and "22 Nov" in cell and "08:05)" in cell and "T14:05" not in cell
    assert "CST" in str(model.data(model.index(0, 6), Qt.ItemDataRole.ToolTipRole))
    # two new rows, and the newest shown one failed meanwhile: inserted on top, changed in place
    changed = _rows(range(1200, 1201), state="failed")
    model.merge_newest((_rows(range(1202, 1200, -1)) + changed + outbox[1:PAGE])[:PAGE])
    assert model.rowCount() == 1202 and model.row(0).pos == 1202 and model.row(2).state == "failed"
    # a page asked for before a reload replaced the rows is dropped, not appended in the wrong place
    model.add_page(5, _rows(range(4, 0, -1)))
    assert model.rowCount() == 1202
    tester.check(model)  # type: ignore[arg-type]

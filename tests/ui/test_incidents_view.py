"""The Incidents place, offscreen, driven by clicks and typing: the board with LIVE and EXERCISE incidents, New
incident through its playbook list, mode choice and fact form, and the workspace (a fact edited, a step ticked, a
message drafted, a refusal shown in the window). Pictures of each go to docs/screenshots when asked for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.incidents import Mode, Status
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs.new_incident import NewIncidentDialog
from crisisdesk.ui.views.chrome import PlaceholderPage
from crisisdesk.ui.views.fact_form import AreaEditor, ChoiceEditor, DateTimeEditor, LineEditor
from crisisdesk.ui.views.main_window import INCIDENTS, MainWindow
from crisisdesk.ui.views.workspace import IncidentWorkspace
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.ui.test_window import unnamed_controls


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def styled() -> Iterator[QApplication]:
    """Fusion on the light palette, as the pictures are drawn."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style, previous = app.style().name(), app.palette()
    app.setStyle("Fusion")
    app.setPalette(palette.light_palette())
    yield app
    app.setStyle(style)
    app.setPalette(previous)


def open_window(qtbot: QtBot, core: App, who: Actor) -> MainWindow:
    window = MainWindow(core, who)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    window.show_place(INCIDENTS)
    return window


def picture(widget: QWidget, name: str) -> None:
    """Save a picture of ``widget`` into $CRISISDESK_SCREENSHOTS (docs/screenshots when run for them)."""
    folder = os.environ.get("CRISISDESK_SCREENSHOTS")
    QApplication.processEvents()  # pending layouts, as the event loop would run them before a person sees it
    assert widget.grab().width() > 0
    if folder:
        assert widget.grab().save(str(Path(folder) / f"{name}.png"))


def board_cells(window: MainWindow) -> list[tuple[str, ...]]:
    proxy = window.incidents.proxy
    return [tuple(str(proxy.index(r, c).data()) for c in range(proxy.columnCount())) for r in range(proxy.rowCount())]


def test_the_board_tells_live_from_exercise_counts_down_and_hides_closed_incidents(
    qtbot: QtBot, core: App, team: dict[str, Actor], clock: FixedClock, styled: QApplication
) -> None:
    live = open_incident(core, team, Mode.LIVE)
    core.incidents().set_fact(team["carla"], live, "route", "Highway 16 east")
    clock.advance(timedelta(minutes=3))
    drill = core.incidents().open(
        team["eve"], "wildfire-evacuation", Mode.EXERCISE, title="Pine Ridge drill",
        facts={"level": "go", "zone": "Zone 4 (Pine Ridge) | geocode: SAME=006067", "expires": "2026-11-22T14:00",
               "route": "Highway 49 south", "info_url": "https://ready.millcounty.gov/fire", "phone": "211"},
    )  # fmt: skip
    publish(core, team, live, ["public-page"])
    core.outbox().run_once()
    draft = core.messages().draft(team["eve"], drill.id, "alert")
    core.messages().submit(team["eve"], draft.id)
    clock.advance(timedelta(minutes=22))
    window = open_window(qtbot, core, team["carla"])
    view = window.incidents
    ModelTester(None).check(view.model)  # type: ignore[arg-type]
    ModelTester(None).check(view.proxy)  # type: ignore[arg-type]
    rows = board_cells(window)
    assert [r[0] for r in rows] == ["▨ EXERCISE", "● LIVE"]  # the words and the shape in every row
    assert rows[0][1] == "Pine Ridge drill" and rows[0][7] == "alert v1: submitted"
    assert rows[1][2] == "Flash flood warning (flood)" and rows[1][7] == "alert v2: published: delivered 1 of 1"
    # The live alert went out 22 minutes ago: the next update is due in 8, amber; the drill updates hourly.
    assert rows[1][5] == "due in 8 min" and rows[0][5] == "in 38 min"
    next_update = view.model.index(1, 5) if view.model.board_row(1).id == live else view.model.index(0, 5)
    assert next_update.data(Qt.ItemDataRole.ForegroundRole).color() == palette.state_colour("warning")
    assert rows[1][6] == "3 OVERDUE"  # T+0, T+5m and T+10m, unticked
    assert view.empty.text() == "2 active (1 LIVE, 1 EXERCISE)."
    picture(window, "incidents-board")
    # Time alone moves the countdown: the watcher's tick.
    clock.advance(timedelta(minutes=9))
    window.session.watcher.tick.emit()
    assert board_cells(window)[1][5] == "OVERDUE by 1 min"
    # Sorting goes through the proxy: by age, oldest first.
    view.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
    assert board_cells(window)[0][1] == "Flash flood warning"
    core.incidents().close(team["carla"], live)
    assert window.session.watcher.check()
    assert [r[1] for r in board_cells(window)] == ["Pine Ridge drill"]
    qtbot.mouseClick(view.closed_filter, Qt.MouseButton.LeftButton)
    assert [(r[1], r[3], r[5]) for r in board_cells(window)] == [  # still sorted oldest first
        ("Flash flood warning", "closed", "none (closed)"),
        ("Pine Ridge drill", "active", "in 29 min"),
    ]
    assert unnamed_controls(window) == []


def test_a_communicator_opens_an_exercise_incident_through_the_dialog_and_its_fact_form(
    qtbot: QtBot, core: App, team: dict[str, Actor], styled: QApplication
) -> None:
    window = open_window(qtbot, core, team["carla"])
    view = window.incidents
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert isinstance(dialog, NewIncidentDialog) and dialog.isVisible()
    ModelTester(None).check(dialog.playbooks)  # type: ignore[arg-type]
    assert dialog.playbooks.rowCount() == 12
    assert not dialog.next_button.isEnabled()  # nothing chosen: no playbook, and never a default mode
    assert not any(b.isChecked() for b in dialog.mode_buttons.values())
    picture(dialog, "new-incident-1-choose")
    qtbot.keyClicks(dialog.search, "flash")
    assert dialog.proxy.rowCount() == 1 and dialog.playbook is not None and dialog.playbook.id == "flash-flood"
    assert "Water is rising fast" in dialog.summary.text()
    assert not dialog.next_button.isEnabled()  # the mode is still to choose
    qtbot.mouseClick(dialog.mode_buttons[Mode.EXERCISE], Qt.MouseButton.LeftButton)
    assert dialog.next_button.isEnabled()
    picture(dialog, "new-incident-2-exercise-chosen")
    qtbot.mouseClick(dialog.next_button, Qt.MouseButton.LeftButton)
    form = dialog.form
    assert form is not None and dialog.band.mode == "exercise" and "EXERCISE" in dialog.band.label.text()
    assert dialog.ok_button.text() == "Open EXERCISE incident"
    assert isinstance(form.editors["area"], AreaEditor) and isinstance(form.editors["expires"], DateTimeEditor)
    assert isinstance(form.editors["info_url"], LineEditor)
    assert "false_alarm" not in form.editors  # set by False alarm… alone, never typed into a form
    assert form.missing() == ["area", "expires", "info_url", "phone"]
    assert "4 required fact(s) still empty" in dialog.form_state.text()
    area = form.editors["area"]
    assert isinstance(area, AreaEditor)
    qtbot.keyClicks(area.description, "Mill Creek valley")
    qtbot.keyClicks(area.shapes, "circle: 38.57,-121.45")  # the radius is missing
    problem = form.problem_labels["area"]
    assert problem.isVisible()
    assert problem.text() == "⚠ fact area: circle '38.57,-121.45': write 'circle: LAT,LON RADIUS_KM'"
    assert not dialog.ok_button.isEnabled()
    qtbot.keyClicks(area.shapes, " 12")
    assert not problem.isVisible() and dialog.ok_button.isEnabled()
    expires = form.editors["expires"]
    assert isinstance(expires, DateTimeEditor)
    assert expires.text() == "" and expires.reading.text() == "America/Los_Angeles time"
    qtbot.keyClicks(expires.line, "2026-11-22 9:30 PM")
    assert form.problem_labels["expires"].text().startswith("⚠ fact expires: '2026-11-22 9:30 PM' is not a date")
    expires.line.clear()
    qtbot.keyClicks(expires.line, "2026-11-22 21:30")
    assert expires.reading.text() == "= Sunday 22 November 2026, 21:30 PST"
    expires.calendar.clicked.emit(QDate(2026, 11, 23))  # a date picked on the calendar keeps the time typed
    assert expires.text() == "2026-11-23 21:30"
    expires.line.setSelection(8, 2)
    qtbot.keyClicks(expires.line, "22")
    assert expires.text() == "2026-11-22 21:30"
    url = form.editors["info_url"]
    assert isinstance(url, LineEditor)
    qtbot.keyClicks(url.line, "ready.millcounty.gov/flood")
    assert form.problem_labels["info_url"].text() == (
        "⚠ fact info_url: 'ready.millcounty.gov/flood' is not a web address: start it with https://"
    )
    assert not dialog.ok_button.isEnabled() and "Fix 1 fact(s)" in dialog.form_state.text()
    picture(dialog, "new-incident-3-facts-with-a-problem")
    url.line.clear()
    qtbot.keyClicks(url.line, "https://ready.millcounty.gov/flood")
    phone = form.editors["phone"]
    assert isinstance(phone, LineEditor)
    qtbot.keyClicks(phone.line, "211")
    assert dialog.form_state.text() == "Ready: this opens a ▨ EXERCISE incident."
    dialog.title.clear()
    qtbot.keyClicks(dialog.title, "Mill Creek drill")
    picture(dialog, "new-incident-4-facts-ready")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == NewIncidentDialog.DialogCode.Accepted and dialog.incident is not None
    opened = core.incidents().get(team["carla"], dialog.incident.id)
    assert (opened.mode, opened.title, opened.playbook_id) == (Mode.EXERCISE, "Mill Creek drill", "flash-flood")
    assert opened.facts == {
        "area": "Mill Creek valley | circle: 38.57,-121.45 12",
        "expires": "2026-11-22 21:30",
        "info_url": "https://ready.millcounty.gov/flood",
        "phone": "211",
    }
    # The workspace opens in place, and the window says EXERCISE in its band and title.
    workspace = view.workspace
    assert isinstance(workspace, IncidentWorkspace) and view.pages.currentWidget() is workspace
    assert window.mode_band.isVisible() and window.mode_band.label.text().startswith("▨  EXERCISE")
    assert window.windowTitle().startswith("EXERCISE · Mill Creek drill")
    assert workspace.mode_label.text().strip() == "▨ EXERCISE"
    qtbot.mouseClick(workspace.back_button, Qt.MouseButton.LeftButton)
    assert view.pages.currentIndex() == 0 and not window.mode_band.isVisible()
    assert board_cells(window)[0][:2] == ("▨ EXERCISE", "Mill Creek drill")


def test_the_dialog_refuses_in_the_services_words_and_choices_have_their_labels(
    qtbot: QtBot, core: App, team: dict[str, Actor], admin: Actor
) -> None:
    window = open_window(qtbot, core, team["carla"])
    view = window.incidents
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # the shortcut
    dialog = view.dialog
    assert isinstance(dialog, NewIncidentDialog)
    qtbot.keyClicks(dialog.search, "wildfire")
    qtbot.mouseClick(dialog.mode_buttons[Mode.LIVE], Qt.MouseButton.LeftButton)
    qtbot.keyClick(dialog.next_button, Qt.Key.Key_Return)
    assert dialog.form is not None and dialog.ok_button.text() == "Open LIVE incident"
    level = dialog.form.editors["level"]
    assert isinstance(level, ChoiceEditor)
    assert [level.combo.itemText(i) for i in range(level.combo.count())] == [
        "— choose —",
        "READY: be prepared to leave / LISTOS: esté preparado para salir",
        "SET: pack now and be ready to leave / PREPARADOS: prepare sus cosas y esté listo para salir",
        "GO: leave now / YA: salga ahora",
    ]
    level.combo.setCurrentIndex(3)
    assert dialog.form.values() == {"level": "go"}
    # carla loses her role while the dialog is open: the service refuses, and the dialog says why.
    core.people.revoke(admin, "carla", Role.COMMUNICATOR)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.refusal.isVisible()
    assert dialog.refusal.text() == (
        "Not opened: carla may not draft and edit messages: that needs the role communicator (has no roles)"
    )
    assert core.incidents().list_all(admin) == []
    assert unnamed_controls(dialog) == []


def test_the_workspace_edits_a_fact_ticks_a_step_drafts_and_shows_a_refusal(
    qtbot: QtBot, core: App, team: dict[str, Actor], admin: Actor, clock: FixedClock, styled: QApplication
) -> None:
    inc = open_incident(core, team, Mode.LIVE)
    returned = core.messages().draft(team["carla"], inc, "alert")
    core.messages().submit(team["carla"], returned.id)
    core.messages().return_(team["ivan"], returned.id, "name the road that is closed")
    clock.advance(timedelta(minutes=1))
    publish(core, team, inc, ["public-page"])
    core.outbox().run_once()
    clock.advance(timedelta(minutes=7))
    window = open_window(qtbot, core, team["carla"])
    view = window.incidents
    view.table.selectRow(0)
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    workspace = view.workspace
    assert workspace is not None and workspace.space is not None
    assert window.mode_band.label.text().startswith("●  LIVE") and workspace.mode_label.text().strip() == "● LIVE"
    for model in (workspace.steps, workspace.messages, workspace.timeline):
        ModelTester(None).check(model)  # type: ignore[arg-type]
    states = [workspace.messages.index(r, 2).data() for r in range(workspace.messages.rowCount())]
    assert states == ["returned: 'name the road that is closed'", "published"]
    assert workspace.messages.index(1, 4).data() == "public-page: sent"
    assert workspace.messages.index(1, 1).data() == "alert v2"
    assert workspace.messages.index(0, 0).data() == "● LIVE"
    assert workspace.false_alarm_button.isEnabled()  # something went out
    assert workspace.timeline.index(0, 1).data() == "outbox"  # the delivery, newest first
    assert "updates every 30m, next in 23 min" in workspace.about.text()
    picture(window, "incident-workspace-live")
    # A fact, edited and set: recorded through the service.
    assert workspace.form is not None
    route = workspace.form.editors["route"]
    assert isinstance(route, LineEditor)
    set_route = workspace.form.set_buttons["route"]
    assert not set_route.isEnabled()
    qtbot.keyClicks(route.line, "Highway 16 east")
    assert set_route.isEnabled()
    qtbot.mouseClick(set_route, Qt.MouseButton.LeftButton)
    assert core.incidents().get(team["carla"], inc).facts["route"] == "Highway 16 east"
    assert not set_route.isEnabled() and workspace.timeline.index(0, 2).data() == "Fact set"
    # A step ticked with the keyboard on its check box.
    assert workspace.steps.index(0, 4).data() == "OVERDUE"
    workspace.steps_table.setFocus()
    workspace.steps_table.setCurrentIndex(workspace.steps.index(0, 0))
    qtbot.keyClick(workspace.steps_table, Qt.Key.Key_Space)
    assert workspace.steps.index(0, 4).data() == "✓ done"
    assert workspace.steps.index(0, 0).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    # Draft an update: the composer (built elsewhere) opens for it, or says it is coming.
    workspace.draft_type.setCurrentIndex(workspace.draft_type.findData("update"))
    qtbot.mouseClick(workspace.draft_button, Qt.MouseButton.LeftButton)
    assert workspace.pages.currentIndex() == 1 and workspace.hosted is not None
    drafted = workspace.messages.message_row(workspace.messages.rowCount() - 1)
    assert (drafted.type, drafted.state) == ("update", "draft") and drafted.id in workspace.hosted_title.text()
    qtbot.mouseClick(workspace.hosted_back, Qt.MouseButton.LeftButton)
    assert workspace.pages.currentIndex() == 0
    # Status: monitoring, through the service.
    workspace.status.setCurrentIndex(workspace.status.findData("monitoring"))
    workspace.status.activated.emit(workspace.status.currentIndex())
    assert core.incidents().get(team["carla"], inc).status is Status.MONITORING
    # A refusal in the window: carla keeps reading but loses her role; her next click is refused by the service,
    # in its words.
    core.people.grant(admin, "carla", Role.VIEWER)
    core.people.revoke(admin, "carla", Role.COMMUNICATOR)
    assert workspace.draft_button.isEnabled()  # the window has not looked again yet
    qtbot.mouseClick(workspace.draft_button, Qt.MouseButton.LeftButton)
    assert workspace.refusal.isVisible()
    assert workspace.refusal.text() == (
        "Not done: carla may not draft and edit messages: that needs the role communicator (has viewer)"
    )
    assert window.session.watcher.check()
    assert not workspace.draft_button.isEnabled() and not workspace.false_alarm_button.isEnabled()
    assert unnamed_controls(window) == []


def test_closing_asks_first_and_false_alarm_says_what_is_missing(
    qtbot: QtBot, core: App, team: dict[str, Actor], styled: QApplication
) -> None:
    inc = open_incident(core, team, Mode.EXERCISE)
    publish(core, team, inc, ["exercise-page"], mode=Mode.EXERCISE)
    core.outbox().run_once()
    window = open_window(qtbot, core, team["eve"])
    view = window.incidents
    view.open_incident(inc)
    workspace = view.workspace
    assert workspace is not None
    picture(window, "incident-workspace-exercise")
    qtbot.mouseClick(workspace.false_alarm_button, Qt.MouseButton.LeftButton)
    assert workspace.dialog is not None and workspace.dialog.isVisible()
    if isinstance(workspace.dialog, QMessageBox):  # the false-alarm dialog is not merged in yet
        assert "false-alarm" in workspace.dialog.text()
    workspace.dialog.close()
    workspace.messages_table.selectRow(0)
    assert workspace.deliveries_button.isEnabled() and not workspace.publish_button.isEnabled()
    qtbot.mouseClick(workspace.deliveries_button, Qt.MouseButton.LeftButton)
    assert workspace.pages.currentIndex() == 1
    if isinstance(workspace.hosted, PlaceholderPage):
        assert "deliveries of msg-" in workspace.hosted.body.text()
    qtbot.mouseClick(workspace.hosted_back, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(workspace.close_button, Qt.MouseButton.LeftButton)
    box = workspace.confirm_box
    assert box is not None and box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert core.incidents().get(team["eve"], inc).status is Status.ACTIVE
    qtbot.mouseClick(workspace.close_button, Qt.MouseButton.LeftButton)
    box = workspace.confirm_box
    assert box is not None
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert core.incidents().get(team["eve"], inc).status is Status.CLOSED
    assert not workspace.draft_button.isEnabled() and not workspace.close_button.isEnabled()
    assert workspace.form is not None and not workspace.form.isEnabled()


def test_reading_the_board_a_workspace_and_the_playbooks_never_blocks_the_window(
    qtbot: QtBot, core: App, team: dict[str, Actor], request: pytest.FixtureRequest
) -> None:
    """With the real thread pool: once the session has warmed up, a 10 ms heartbeat on the GUI thread finds it busy
    no more than 50 ms at a time while the board and a workspace read again after a change, and while New incident
    lists the playbooks. Busy is the GUI thread's own CPU time between two beats (``time.thread_time``): on a
    shared, loaded machine the wall-clock gap also counts other processes' turns, so it is held only to 250 ms,
    which a service call made on the GUI thread (a playbook validated, 0.2 s and more) still breaks.

    The first reads of a session are left out: the playbook library's first load renders and lints every template
    in a pool thread, and a few library calls keep Python's lock for up to ~0.1 s on their first use (the `regex`
    URL search in text_rules.find_urls, babel's locale data), which the GUI thread then waits for."""
    import gc
    import itertools
    import time

    from PySide6.QtCore import QTimer

    inc = open_incident(core, team, Mode.LIVE)
    publish(core, team, inc, ["public-page"])
    core.outbox().run_once()
    # The test process holds far more objects than a console does (pytest's, earlier tests'): a full collection of
    # them in a pool thread holds Python's lock for a wall-clock 0.1-0.4 s that is not the console's. Frozen, they
    # are not scanned; what this test makes still is.
    gc.collect()
    gc.freeze()
    request.addfinalizer(gc.unfreeze)
    window = MainWindow(core, team["carla"], synchronous=False)  # with synchronous=True, the library fails it
    qtbot.addWidget(window)
    window.show()
    view = window.incidents
    tasks = window.session.tasks
    beats: list[tuple[float, float]] = []
    heart = QTimer()
    heart.setInterval(10)
    heart.timeout.connect(lambda: beats.append((time.perf_counter(), time.thread_time())))

    def longest_wait(act: object, until: object) -> tuple[float, float]:
        """(the longest wall-clock gap between beats, the most GUI-thread CPU time between two beats)"""
        beats.clear()
        heart.start()
        qtbot.waitUntil(lambda: len(beats) > 2)  # beating before the act, so a block inside it is a gap
        act()  # type: ignore[operator]
        # At least a few beats, so a result that came at once still measures the loop around it.
        qtbot.waitUntil(lambda: bool(until()) and not tasks.busy and len(beats) > 5, timeout=20_000)  # type: ignore[operator]
        heart.stop()
        pairs = list(itertools.pairwise(beats))
        return max(b[0] - a[0] for a, b in pairs), max(b[1] - a[1] for a, b in pairs)

    # The first reads, and the library's first load: the GUI thread waits for Python's lock at times (the wall
    # clock is not held), but does none of the work itself.
    first_board = longest_wait(lambda: None, lambda: view.model.rowCount() == 1)
    view.open_incident(inc)
    workspace = view.workspace
    assert workspace is not None
    first_workspace = longest_wait(lambda: None, lambda: workspace.space is not None)
    library = longest_wait(lambda: tasks.run(lambda app: app.board().playbooks(team["carla"])), lambda: True)

    def changed() -> None:
        workspace.space = None
        window.session.watcher.changed.emit()  # the board, the workspace and the badges read again

    after_a_change = longest_wait(changed, lambda: workspace.space is not None)
    qtbot.mouseClick(workspace.back_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tasks.busy, timeout=20_000)
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    dialog = view.dialog
    assert dialog is not None
    listing = longest_wait(lambda: None, lambda: dialog.playbooks.rowCount() == 12)
    for what, (_, busy) in (("the first board", first_board), ("the first workspace", first_workspace),
                            ("the library's first load", library)):  # fmt: skip
        assert busy < 0.05, f"{what}: the GUI thread was busy {busy * 1000:.0f} ms between two beats"
    for what, (wall, busy) in (("after a change", after_a_change), ("listing the playbooks", listing)):
        assert busy < 0.05, f"{what}: the GUI thread was busy {busy * 1000:.0f} ms between two beats"
        assert wall < 0.25, f"{what}: the window stood still for {wall * 1000:.0f} ms"
    tasks.stop()

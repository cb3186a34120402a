"""The Drills place, offscreen, on the real drill and after-action services: a controller loads a scenario, starts,
pauses, resumes, injects by hand, jumps and ends it from the view's buttons, and every press is an event by that
person; the clock runs on the GUI thread between reads; others see it read-only and the services refuse them; the
evaluation, the rating with its note, the improvement plan and the export go through the view; the models pass
Qt's model tester and every control has a name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App, user_scenarios_dir
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor
from crisisdesk.services.drills import DrillStatus, InjectStatus
from crisisdesk.ui import palette
from crisisdesk.ui.views.drill_view import DrillView
from crisisdesk.ui.views.main_window import DRILLS, INCIDENTS, MainWindow
from tests.integration.outbox_helpers import add_team
from tests.ui.heartbeat import Heartbeat
from tests.ui.test_accessibility import unnamed

SCENARIO = """\
id: view-drill
name: Mill Creek flood (view test)
summary: A short drill for the console's Drills place.
duration: 30m
timezone: America/Chicago
incidents:
  - key: flood
    playbook: flash-flood
    title: "DRILL: Mill Creek flood"
    facts:
      area: "Mill Creek valley | geocode: SAME=006067"
      expires: "2026-11-22T21:30"
      info_url: "https://ready.millcounty.gov/flood"
      phone: "211"
participants:
  - {role: communicator, who: PIO desk}
  - {role: approver, who: Incident commander}
objectives:
  - id: first-alert
    title: Alert the public within 10 minutes of the warning
    expect: {measure: first-message, after: warning, within: 10m, incident: flood}
  - id: urgent-triage
    title: Triage the urgent question within 5 minutes
    expect: {measure: triage, after: question, within: 5m}
injects:
  - id: warning
    at: T+2m
    kind: feed-item
    incident: flood
    headline: Flash Flood Warning for Mill Creek valley
  - id: sheriff
    at: T+5m
    kind: note
    to: communicator
    source: a phone call from the sheriff
    text: Highway 16 is closed at the Mill Creek bridge.
  - id: question
    at: T+10m
    kind: comment
    incident: flood
    text: Where is the nearest shelter? My street is flooding.
    urgent: true
  - id: later-note
    at: T+20m
    kind: note
    to: approver
    source: the incident commander
    text: Prepare the all-clear.
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "view-drill.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)  # eve runs exercises, carla communicates, vic views


def open_drills(qtbot: QtBot, core: App, who: Actor) -> tuple[MainWindow, DrillView]:
    window = MainWindow(core, who)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.show_place(DRILLS)
    return window, window.drills


def drill_events(core: App, drill_id: str) -> list[tuple[str, str, dict[str, object]]]:
    return [
        (str(e.kind), e.actor, dict(e.payload))
        for e in core.log.events()
        if str(e.kind).startswith("drill.") and e.payload.get("drill") == drill_id
    ]


def msel_row(view: DrillView, inject_id: str) -> int:
    return next(i for i, inject in enumerate(view.msel.rows) if inject.id == inject_id)


def msel_state(view: DrillView, inject_id: str) -> str:
    return str(view.msel.index(msel_row(view, inject_id), 4).data())


def test_a_controller_runs_a_drill_from_the_view(
    qtbot: QtBot, core: App, team: dict[str, Actor], scenario_file: Path
) -> None:
    window, view = open_drills(qtbot, core, team["eve"])
    assert view.read_only is None and view.load_button.isEnabled()
    assert "EXERCISE" in view.band.label.text() and view.band.isVisible()

    # Load: a file chosen by hand (the file dialog answered by the test).
    picker = view.open_picker()
    picker.choose_file = lambda: str(scenario_file)
    picker.file_button.click()
    drill = view.drill
    assert drill is not None and drill.status is DrillStatus.LOADED and picker.drill is not None
    assert "Mill Creek flood (view test)" in view.name.text() and "loaded" in view.state.text()
    assert [view.msel.row(i).id for i in range(view.msel.rowCount())] == [
        "warning",
        "sheriff",
        "question",
        "later-note",
    ]
    assert {msel_state(view, i) for i in ("sheriff", "question", "later-note")} == {"pending"}
    assert view.start_button.isVisibleTo(view) and view.start_button.isEnabled()
    assert not view.pause_button.isVisibleTo(view) and not view.jump_button.isEnabled()
    assert view.incidents.row(0).incident_id is None  # opened at Start

    # Start at 30x: the drill's EXERCISE incident opens; the clock runs on the GUI thread from the last read.
    moment = [1000.0]
    view.monotonic = lambda: moment[0]
    view.speed.setValue(30)
    view.start_button.click()
    drill = view.drill
    assert drill is not None and drill.status is DrillStatus.RUNNING and drill.compression == 30
    assert view.state.text().startswith("RUNNING at 30x") and view.clock.isActive()
    assert view.pause_button.isVisibleTo(view) and not view.start_button.isVisibleTo(view)
    started_at = view.clock_seconds()
    moment[0] += 2.0  # two wall seconds: a minute of drill time at 30x, with no read of the database
    view.clock.timeout.emit()
    assert view.clock_seconds() == pytest.approx(started_at + 60)
    assert view.clock_label.text() == f"T+{int(started_at + 60) // 60:02d}:{int(started_at + 60) % 60:02d}"
    incident_id = view.incidents.row(0).incident_id
    assert incident_id is not None and incident_id in drill.incidents.values()

    # A speed being chosen survives the re-reads until Set applies it.
    view.speed.setValue(45)
    view.reload()
    assert view.speed.value() == 45 and view.drill is not None and view.drill.compression == 30
    view.speed_button.click()
    assert view.drill is not None and view.drill.compression == 45 and view.state.text().startswith("RUNNING at 45x")

    view.pause_button.click()
    assert view.drill is not None and view.drill.status is DrillStatus.PAUSED
    assert view.state.text().startswith("PAUSED") and not view.clock.isActive()
    frozen = view.clock_label.text()
    moment[0] += 30.0
    view._show_clock()
    assert view.clock_label.text() == frozen  # a paused clock stands still
    assert view.resume_button.isVisibleTo(view) and view.resume_button.isEnabled()
    view.resume_button.click()
    assert view.drill is not None and view.drill.status is DrillStatus.RUNNING

    # Inject now (by hand): the sheriff's note reaches the players' notes.
    view.select_inject("sheriff")
    assert view.inject_button.isEnabled() and view.jump_button.isEnabled()
    view.inject_button.click()
    assert msel_state(view, "sheriff").startswith("fired at T+") and msel_state(view, "sheriff").endswith("by hand")
    assert any("Highway 16 is closed" in view.notes.item(i).text() for i in range(view.notes.count()))

    # Jump to the last inject: drill time moves forward to it, it fires, and the ones passed are skipped.
    view.select_inject("later-note")
    view.jump_button.click()
    drill = view.drill
    assert drill is not None and drill.drill_time >= timedelta(minutes=20)
    assert msel_state(view, "later-note").startswith("fired at T+20m")
    assert msel_state(view, "question").startswith("skipped")
    assert view.clock_seconds() >= 20 * 60

    # End asks first; the safe answer is the default.
    view.end_button.click()
    box = view.confirm_box
    assert isinstance(box, QMessageBox) and box.defaultButton().text() == "Cancel"
    assert "End the drill" in box.windowTitle() and "stops for good" in box.text()
    box.defaultButton().click()
    assert view.drill is not None and view.drill.status is DrillStatus.RUNNING  # cancelled: still running
    view.end_button.click()
    box = view.confirm_box
    assert isinstance(box, QMessageBox)
    next(b for b in box.buttons() if b.text() == "End the drill").click()
    assert view.drill is not None and view.drill.status is DrillStatus.ENDED
    assert not view.clock.isActive() and not view.end_button.isEnabled() and "ended" in view.state.text()
    shown = [
        b for b in (view.start_button, view.pause_button, view.resume_button, view.end_button) if b.isVisibleTo(view)
    ]
    assert shown == []  # nothing left to press

    # Every press is an event, by the controller, in order.
    events = drill_events(core, drill.id)
    by_eve = [(kind, payload) for kind, who, payload in events if who == "eve"]
    kinds = [kind for kind, _ in by_eve]
    assert kinds[:5] == ["drill.loaded", "drill.started", "drill.compression_set", "drill.paused", "drill.resumed"]
    assert ("drill.inject_fired", "sheriff", True) in [(k, p.get("inject"), p.get("by_hand")) for k, p in by_eve]
    assert ("drill.jumped", "later-note") in [(k, p.get("inject")) for k, p in by_eve]
    assert kinds[-1] == "drill.ended"
    started = next(p for k, p in by_eve if k == "drill.started")
    assert float(str(started["compression"])) == 30

    # The drill's incident opens in the Incidents place, its workspace saying EXERCISE.
    view.tabs.setCurrentIndex(0)
    view.incidents_table.selectRow(0)
    assert view.open_button.isEnabled()
    view.open_button.click()
    assert window.current_place() == INCIDENTS
    workspace = window.incidents.workspace
    assert workspace is not None and workspace.incident_id == incident_id
    assert window.mode == "exercise" and "EXERCISE" in window.windowTitle()


def test_others_follow_the_drill_read_only_and_the_service_refuses_them(
    qtbot: QtBot, core: App, team: dict[str, Actor], scenario_file: Path
) -> None:
    drills = core.drills()
    drill = drills.load(team["eve"], scenario_file)
    drills.start(team["eve"], drill.id, compression=10)
    drills.inject(team["eve"], drill.id, "sheriff")
    _window, view = open_drills(qtbot, core, team["carla"])
    assert view.read_only is not None and view.read_only.isVisibleTo(view)
    assert "only an exercise controller" in view.read_only.text() and "carla (communicator)" in view.read_only.text()
    assert view.drill is not None and view.drill.id == drill.id and view.drill.status is DrillStatus.RUNNING
    controls = (view.load_button, view.start_button, view.pause_button, view.resume_button, view.end_button,
                view.speed_button, view.jump_button, view.inject_button)  # fmt: skip
    view.select_inject("sheriff")
    assert [c.accessibleName() for c in controls if c.isEnabled() or c.isVisibleTo(view)] == []
    # The drill is followed, not run: the injects come as they fire; what is ahead stays the controllers' script.
    assert view.clock_label.isVisibleTo(view) and [i.id for i in view.msel.rows] == ["sheriff"]
    assert "question" not in view.next_line.text() and "Where is the nearest shelter" not in view.next_line.text()
    assert view.incidents.row(0).incident_id is not None  # the players' way in stays open
    view.incidents_table.selectRow(0)
    assert view.open_button.isEnabled()
    # The buttons only mirror the rule: the service decides, and says no in words.
    before = len(drill_events(core, drill.id))
    view.pause()
    assert view.status.state == "bad" and "Not done" in view.status.text() and "carla may not" in view.status.text()
    assert len(drill_events(core, drill.id)) == before
    # The evaluation is there to read, not to change.
    view.tabs.setCurrentWidget(view.evaluation)
    assert not view.evaluation.rating.isEnabled() and not view.evaluation.note.isEnabled()
    view.tabs.setCurrentWidget(view.plan)
    assert not view.plan.model.editable and not view.plan.add_button.isEnabled()
    view.tabs.setCurrentWidget(view.export)
    assert view.export.export_button.isEnabled()  # a report is read, not changed: the service lets anyone export it


def test_the_evaluation_is_rated_with_a_note_the_plan_edited_and_the_report_exported(
    qtbot: QtBot, core: App, team: dict[str, Actor], scenario_file: Path, tmp_path: Path
) -> None:
    drills = core.drills()
    drill = drills.load(team["eve"], scenario_file)
    drills.start(team["eve"], drill.id, compression=60)
    drills.jump(team["eve"], drill.id, "question")
    drills.end(team["eve"], drill.id)
    _window, view = open_drills(qtbot, core, team["eve"])
    view.tabs.setCurrentWidget(view.evaluation)
    panel = view.evaluation
    assert panel.evaluation is not None
    assert [o.objective_id for o in panel.objectives.rows] == ["first-alert", "urgent-triage"]
    ModelTester(None).check(panel.objectives)  # type: ignore[arg-type]
    ModelTester(None).check(panel.measurements)  # type: ignore[arg-type]

    # A rating is saved only with a note saying why.
    panel.select("urgent-triage")
    current = panel.selected()
    assert current is not None
    other = next(r for r in ("P", "S", "M", "U") if r != current.rating.value)
    panel.rating.setCurrentIndex(panel.rating.findData(other))
    assert not panel.rate_button.isEnabled()
    panel.note.setText("Nobody watched the triage queue during the alert")
    assert panel.rate_button.isEnabled()
    panel.rate_button.click()
    rated = panel.selected()
    assert rated is not None and rated.rating.value == other and rated.rating_note is not None
    assert panel.status.state == "ok"
    panel.strengths.setPlainText("The shelter answer was accurate")
    panel.strengths.document().setModified(True)
    panel.areas.setPlainText("The queue went unwatched for the whole alert")
    panel.areas.document().setModified(True)
    assert panel.texts_button.isEnabled()
    panel.texts_button.click()
    saved = panel.selected()
    assert saved is not None and saved.strengths == ["The shelter answer was accurate"]
    assert saved.areas == ["The queue went unwatched for the whole alert"]

    # The improvement plan, typed into the table; a date that is not one is named, not saved.
    view.tabs.setCurrentWidget(view.plan)
    plan = view.plan
    row = plan.model.add_row()
    for column, text in enumerate(
        ["Urgent questions waited", "A second communicator watches triage", "Public Information and Warning",
         "PIO lead", "2026-12-01", "soon"]
    ):  # fmt: skip
        plan.model.setData(plan.model.index(row, column), text)
    ModelTester(None).check(plan.model)  # type: ignore[arg-type]
    plan.save_button.click()
    assert plan.status.state == "bad" and "Completion" in plan.status.text()
    plan.model.setData(plan.model.index(row, 5), "2027-01-15")
    plan.save_button.click()
    assert plan.status.state == "ok" and not plan.model.edited
    assert [r.issue for r in plan.rows()] == ["Urgent questions waited"]

    # Export: the files written are listed.
    view.tabs.setCurrentWidget(view.export)
    out = tmp_path / "aar"
    out.mkdir()
    view.export.choose_folder = lambda: str(out)
    view.export.audit.setChecked(False)
    assert view.export.export_button.isEnabled()
    view.export.html.setChecked(False)
    view.export.pdf.setChecked(False)
    assert not view.export.export_button.isEnabled()  # nothing chosen, nothing to press
    for box in (view.export.html, view.export.pdf, view.export.audit):
        box.setChecked(True)
    view.export.export_button.click()
    written = view.export.written
    assert written is not None and {p.suffix for p in written} == {".html", ".pdf", ".jsonl"}
    assert all(p.exists() and p.parent == out for p in written)
    assert view.export.files.count() == 3 and view.export.status.state == "ok"
    pdf = next(p for p in written if p.suffix == ".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")

    kinds = [(k, who) for k, who, _ in drill_events(core, drill.id)]
    assert ("drill.rated", "eve") in kinds and ("drill.report_exported", "eve") in kinds
    assert kinds.count(("drill.report_edited", "eve")) == 2  # the objective's texts, then the plan


def test_the_msel_model_passes_the_model_tester_and_every_control_is_named(
    qtbot: QtBot, core: App, team: dict[str, Actor], scenario_file: Path
) -> None:
    drills = core.drills()
    drill = drills.load(team["eve"], scenario_file)
    drills.start(team["eve"], drill.id)
    drills.inject(team["eve"], drill.id, "sheriff")
    window, view = open_drills(qtbot, core, team["eve"])
    assert view.msel.rowCount() == 4
    ModelTester(None).check(view.msel)  # type: ignore[arg-type]
    ModelTester(None).check(view.incidents)  # type: ignore[arg-type]
    assert [i.status for i in view.msel.rows].count(InjectStatus.FIRED) >= 1
    assert DRILLS in window.places  # the window's walker (test_accessibility) checks it with the others
    for index in range(view.tabs.count()):
        view.tabs.setCurrentIndex(index)
    assert unnamed(view) == []
    picker = view.open_picker()
    assert picker.files is not None and unnamed(picker) == []
    view.ask_end()
    assert isinstance(view.confirm_box, QMessageBox) and unnamed(view.confirm_box) == []


def test_the_picker_shows_a_broken_scenario_with_its_places_and_loads_only_a_sound_one(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    library = user_scenarios_dir()
    library.mkdir(parents=True, exist_ok=True)
    (library / "view-drill.yaml").write_text(SCENARIO, encoding="utf-8")
    broken = SCENARIO.replace("id: view-drill", "id: view-drill-broken").replace("    at: T+5m\n", "    at: soon\n")
    (library / "broken-drill.yaml").write_text(broken, encoding="utf-8")
    _window, view = open_drills(qtbot, core, team["eve"])
    picker = view.open_picker()
    assert picker.files is not None
    assert {"view-drill.yaml", "broken-drill.yaml"} <= {f.path.name for f in picker.files}
    assert picker.select("broken-drill.yaml")
    line = broken.splitlines().index("    at: soon") + 1
    assert f"broken-drill.yaml:{line}:" in picker.about.text() and not picker.load_button.isEnabled()
    row = next(i for i, f in enumerate(picker.model.rows) if f.path.name == "broken-drill.yaml")
    assert "cannot be loaded" in str(picker.model.index(row, 2).data())
    ModelTester(None).check(picker.model)  # type: ignore[arg-type]
    assert picker.select("view-drill.yaml") and picker.load_button.isEnabled()
    assert "4 injects" in picker.about.text()
    picker.load_button.click()
    assert view.drill is not None and view.drill.source == "view-drill.yaml"
    assert [k for k, who, _ in drill_events(core, view.drill.id)] == ["drill.loaded"]


def test_running_a_drill_from_the_view_never_keeps_the_gui_thread_busy(
    qtbot: QtBot, core: App, team: dict[str, Actor], scenario_file: Path
) -> None:
    """The real thread pool: every service call in a task, the watcher's re-reads, and the clock's redraws between
    them; the GUI thread is never busy 50 ms at once (the console's rule)."""
    window = MainWindow(core, team["eve"], synchronous=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    tasks = window.session.tasks
    window.show_place(DRILLS)
    view = window.drills
    qtbot.waitUntil(lambda: view.drills is not None and not tasks.busy, timeout=30_000)

    def settled(until: Callable[[], bool]) -> None:
        qtbot.waitUntil(lambda: until() and not tasks.busy, timeout=30_000)

    def status(wanted: DrillStatus) -> Callable[[], bool]:
        return lambda: view.drill is not None and view.drill.status is wanted

    with Heartbeat() as heartbeat:
        heartbeat.step("load")
        picker = view.open_picker()
        settled(lambda: picker.files is not None)
        picker.load(scenario_file)
        settled(status(DrillStatus.LOADED))
        heartbeat.step("start")
        view.start_button.click()
        settled(status(DrillStatus.RUNNING))
        heartbeat.step("the clock running")
        qtbot.wait(600)  # three of the clock's redraws, and the watcher's look
        heartbeat.step("pause, resume, inject by hand")
        view.pause_button.click()
        settled(status(DrillStatus.PAUSED))
        view.resume_button.click()
        settled(status(DrillStatus.RUNNING))
        view.select_inject("question")
        view.inject_button.click()
        settled(lambda: msel_state(view, "question").endswith("by hand"))
        heartbeat.step("evaluation")
        view.tabs.setCurrentWidget(view.evaluation)
        settled(lambda: view.evaluation.evaluation is not None)
        heartbeat.step("after")
        window.session.watcher.check()
        qtbot.wait(200)
    print("\n" + heartbeat.report())
    assert heartbeat.beats > 10
    over = {step: round(busy * 1000) for step, busy in heartbeat.busiest.items() if busy > 0.050}
    assert not over, f"the GUI thread was kept busy over 50 ms (ms per step):\n{heartbeat.report()}"


def test_an_injected_outage_shows_as_failing_now_until_it_ends(
    qtbot: QtBot, core: App, admin: Actor, team: dict[str, Actor], tmp_path: Path, clock: FixedClock
) -> None:
    core.channels().add(
        admin, "folder", "drill-page", exercise=True, settings=[f"path={tmp_path / 'page'}", "title=Practice page"]
    )
    with_outage = SCENARIO.replace("participants:", "accounts: [drill-page]\nparticipants:").replace(
        "injects:\n", "injects:\n  - {id: page-down, at: T+1m, kind: channel-outage, account: drill-page, for: 10m}\n"
    )
    path = tmp_path / "outage-drill.yaml"
    path.write_text(with_outage, encoding="utf-8")
    drills = core.drills()
    drill = drills.load(team["eve"], path)
    drills.start(team["eve"], drill.id, compression=60)
    _window, view = open_drills(qtbot, core, team["eve"])
    assert view.outages.item(0).text().startswith("Nothing failing")
    view.select_inject("page-down")
    view.inject_button.click()
    lines = [view.outages.item(i) for i in range(view.outages.count())]
    assert len(lines) == 1 and "drill-page" in lines[0].text() and "until T+" in lines[0].text()
    assert lines[0].foreground().color() == palette.state_colour("bad")
    view.reload()  # a re-read with the same outage keeps the very same line (no flicker, the selection kept)
    assert view.outages.item(0) is lines[0]
    clock.advance(timedelta(seconds=11))  # 11 drill minutes at 60x: the 10 minutes are over
    view.reload()
    assert view.outages.count() == 1 and view.outages.item(0).text().startswith("Nothing failing")

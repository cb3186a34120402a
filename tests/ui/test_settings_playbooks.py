"""Settings → Playbook library, offscreen: the shipped library all valid; a broken file in the library folder listed
with its problems at file:line:column (never stopping the page); facts, checklist and templates shown; every message
previewed in English and Spanish, LIVE and EXERCISE, with the example facts."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App, shipped_playbooks_dir, user_playbooks_dir
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.settings_playbooks import PlaybooksPage
from crisisdesk.ui.watcher import Watcher
from tests.conftest import person
from tests.ui.heartbeat import Heartbeat
from tests.ui.test_window import unnamed_controls


def page_for(qtbot: QtBot, core: App, who: Actor) -> PlaybooksPage:
    session = Session(core=core, actor=who, tasks=Tasks(core), watcher=Watcher(core))
    page = PlaybooksPage(session)
    qtbot.addWidget(page)
    page.resize(1280, 760)
    page.show()
    return page


def select(page: PlaybooksPage, file_name: str) -> None:
    page.table.selectRow(next(i for i, f in enumerate(page.model.rows) if f.path.name == file_name))


def test_the_library_with_a_broken_file_and_the_previews(qtbot: QtBot, core: App, admin: Actor) -> None:
    library = user_playbooks_dir()
    library.mkdir(parents=True)
    flood = (shipped_playbooks_dir() / "flash-flood.yaml").read_text(encoding="utf-8")
    assert flood.splitlines()[6] == "hazard: flood"
    typo = library / "flood-copy.yaml"
    typo.write_text(
        flood.replace("id: flash-flood", "id: flood-copy").replace("hazard: flood\n", "hazard: flood\nhazzard: x\n")
    )
    garbage = library / "garbage.yaml"
    garbage.write_text("id: garbage\ntitle: [unclosed\n")

    viewer = person(core, admin, "val", Role.VIEWER)  # the library is read by anyone; nothing here changes it
    page = page_for(qtbot, core, viewer)
    assert unnamed_controls(page) == []
    assert page.files is not None
    shipped = sorted(p.name for p in shipped_playbooks_dir().glob("*.yaml"))
    valid = sorted(f.path.name for f in page.files if not f.problems)
    assert valid == shipped and len(shipped) >= 10
    assert all(page.model.cells(f)[2] == "valid" for f in page.model.rows if f.path.name in shipped)
    assert (
        page.summary.text()
        == f"{len(shipped)} playbooks valid; 2 files with problems, not loaded (select one to see where)"
    )
    assert {f.path.name for f in page.model.rows[:2]} == {"flood-copy.yaml", "garbage.yaml"}  # the broken first
    assert str(library) in page.folders.text()

    select(page, "flood-copy.yaml")
    where = [page.problems.cells(p)[0] for p in page.problems.rows]
    assert "flood-copy.yaml:8:1" in where
    typo_problem = page.problems.rows[where.index("flood-copy.yaml:8:1")]
    assert "hazzard" in page.problems.cells(typo_problem)[1]
    assert page.problems.tooltip(typo_problem, 0) == f"{typo}:8:1: {typo_problem.message}"
    assert "not loaded" in page.verdict.text() and not page.tabs.isTabEnabled(4)
    select(page, "garbage.yaml")
    assert [page.problems.cells(p)[0] for p in page.problems.rows] == ["garbage.yaml:3:1"]
    assert page.problems.rows[0].source == str(garbage)
    assert page.problems.rows[0].message.startswith("YAML: ")

    select(page, "flash-flood.yaml")
    assert page.verdict.text().startswith(f"{shipped_playbooks_dir() / 'flash-flood.yaml'}: valid. flash-flood v")
    assert page.tabs.isTabEnabled(4)
    assert "area" in [page.facts.row(i)[0] for i in range(page.facts.rowCount())]
    assert page.checklist.rowCount() > 0 and page.checklist.cells(page.checklist.row(0))[0].startswith("T+")
    templates = page.templates.toPlainText()
    assert "Alert · English (en)" in templates and "All clear · Spanish (es)" in templates

    assert page.preview_summary.text().startswith("All 20 renders")
    live_en = page.preview_of("alert", "en", "live")
    assert "Flash Flood Warning" in live_en and "EXERCISE" not in live_en and page.band.mode == "live"
    live_es = page.preview_of("alert", "es", "live")
    assert "Inundación" in live_es or "inundación" in live_es
    assert "SIMULACRO" not in live_es
    exercise_en = page.preview_of("update", "en", "exercise")
    assert "EXERCISE EXERCISE EXERCISE" in exercise_en and "EXERCISE:" in exercise_en and page.band.mode == "exercise"
    assert "SIMULACRO SIMULACRO SIMULACRO" in page.preview_of("all-clear", "es", "exercise")
    assert page.shown is not None and (page.shown.message_type, page.shown.lang) == ("all-clear", "es")
    for model in (page.model, page.problems, page.facts, page.checklist):
        ModelTester(None).check(model)  # type: ignore[arg-type]
    if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
        page.tabs.setCurrentIndex(4)
        page.grab().save(str(Path(shots) / "settings-playbooks.png"))

    # Fixed on disk, checked again: the file is loaded and listed valid.
    typo.write_text(flood.replace("id: flash-flood", "id: flood-copy"))
    page.check_button.click()
    assert (
        page.summary.text()
        == f"{len(shipped) + 1} playbooks valid; 1 file with problems, not loaded (select one to see where)"
    )


def test_reading_and_rendering_the_library_never_holds_the_window(qtbot: QtBot, core: App, admin: Actor) -> None:
    """With the real thread pool: the library's check (every template of every playbook rendered) and a playbook's
    twenty previews run off the GUI thread; the GUI thread stays under 50 ms between two beats."""
    tasks = Tasks(core, synchronous=False)
    session = Session(core=core, actor=admin, tasks=tasks, watcher=Watcher(core))
    try:
        with Heartbeat() as heart:
            heart.step("open the page")
            page = PlaybooksPage(session)
            qtbot.addWidget(page)
            page.resize(1280, 760)
            page.show()
            heart.step("read and check the library")
            qtbot.waitUntil(lambda: page.files is not None and not tasks.busy, timeout=120_000)
            heart.step("render a playbook's previews")
            select(page, "wildfire-evacuation.yaml")
            qtbot.waitUntil(lambda: bool(page.previews) and not tasks.busy, timeout=60_000)
            heart.step("switch previews")
            for message_type in ("alert", "update", "cancel"):
                for mode in ("live", "exercise"):
                    page.preview_of(message_type, "es", mode)
                    qtbot.wait(20)
        assert page.shown is not None and page.shown.mode == "exercise"
        assert heart.busiest["read and check the library"] < 0.050, heart.report()
        assert heart.busiest["render a playbook's previews"] < 0.050, heart.report()
        assert heart.busiest["switch previews"] < 0.050, heart.report()
    finally:
        tasks.stop()

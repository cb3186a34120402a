"""The Audit place, offscreen, on real SQLite files: its filters find what its table shows, pages arrive as the
table scrolls, the chain check shows its progress, stops when asked and selects the first bad entry, export writes
the entries shown, and new entries appear on top without moving a person's rows.

(The window-level audit tests, written before this view grew, are in test_console.py.)"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind, kind_label
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.audit import AuditFilter, CheckCancelled
from crisisdesk.ui.models.audit_log import DETAILS, EVENT, INCIDENT, PERSON, TIME, AuditLogModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.audit_view import AuditView
from crisisdesk.ui.watcher import Watcher
from crisisdesk.ui.when import full, moment_text, workstation_zone
from tests.integration.outbox_helpers import add_team, open_incident
from tests.support.processes import processes
from tests.ui.heartbeat import Heartbeat
from tests.ui.test_window import unnamed_controls


def make_view(qtbot: QtBot, core: App, who: Actor, *, synchronous: bool | None = None) -> AuditView:
    tasks = Tasks(core, synchronous=synchronous)
    watcher = Watcher(core)
    view = AuditView(Session(core, who, tasks, watcher))
    qtbot.addWidget(view)
    # Owned by the view, as a window owns its own: gone with it, never left for the interpreter's exit.
    tasks.setParent(view)
    watcher.setParent(view)
    view.destroyed.connect(tasks.stop)
    view.resize(1400, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def shown(view: AuditView, column: int) -> list[str]:
    model = view.model
    return [model.index(r, column).data() for r in range(model.rowCount())]


def log_rows(core: App, **match: str) -> list[int]:
    """Positions of the entries with these fields (kind, actor), newest first, read from the log itself."""
    return [
        position
        for position, event in sorted(core.audit._positioned(), key=lambda p: -p[0])
        if all(getattr(event, k) == v for k, v in match.items())
    ]


@pytest.fixture
def story(core: App, admin: Actor, clock: FixedClock) -> dict[str, str]:
    """Two incidents an hour apart; in the first, a message approved by ivan and one returned by him."""
    team = add_team(core, admin)
    messages = core.messages()
    clock.advance(timedelta(hours=1))
    flood = open_incident(core, team)
    first = messages.draft(team["carla"], flood, "alert")
    messages.submit(team["carla"], first.id)
    messages.approve(team["ivan"], first.id, messages.show(team["carla"], first.id).content_hash)
    second = messages.draft(team["carla"], flood, "update")
    messages.submit(team["carla"], second.id)
    messages.return_(team["ivan"], second.id, "say which roads")
    clock.advance(timedelta(hours=1))
    later = open_incident(core, team)
    return {"flood": flood, "later": later, "approved": first.id}


# -- filters --------------------------------------------------------------------------------------------------------


def test_a_label_search_finds_the_rows_showing_that_label(qtbot: QtBot, core: App, admin: Actor, story: dict) -> None:
    view = make_view(qtbot, core, admin)
    assert "Message approved" in shown(view, EVENT)
    for typed in ("Message approved", "message APPROVED"):
        view.filter.setText(typed)
        qtbot.keyClick(view.filter, Qt.Key.Key_Return)
        assert shown(view, EVENT) == ["Message approved"]
        assert [view.model.row(0).position] == log_rows(core, kind=Kind.MESSAGE_APPROVED)
    view.filter.setText("returned")  # part of a label; the comment's words are found too
    qtbot.keyClick(view.filter, Qt.Key.Key_Return)
    assert shown(view, EVENT) == ["Message returned"]
    view.filter.setText("say which roads")
    qtbot.keyClick(view.filter, Qt.Key.Key_Return)
    assert shown(view, EVENT) == ["Message returned"]


def test_the_kind_filter_offers_the_labels_and_finds_their_rows(
    qtbot: QtBot, core: App, admin: Actor, story: dict
) -> None:
    view = make_view(qtbot, core, admin)
    labels = [view.kind.itemText(i) for i in range(1, view.kind.count())]
    assert "Message approved" in labels and "Person added" in labels and labels == sorted(labels, key=str.casefold)
    view.kind.setCurrentIndex(view.kind.findText("Person added"))
    assert shown(view, EVENT) == ["Person added"] * len(log_rows(core, kind=Kind.USER_ADDED))
    assert view.model.rowCount() == 5  # alice and the team of four
    assert view.export_button.text() == "Export these entries…"
    view.clear_filters()
    assert view.model.rowCount() == core.log.count()
    assert view.export_button.text() == "Export the whole log…"


def test_the_person_filter_finds_what_they_did(qtbot: QtBot, core: App, admin: Actor, story: dict) -> None:
    view = make_view(qtbot, core, admin)
    people = [view.person.itemText(i) for i in range(view.person.count())]
    assert people[0] == "Everyone" and {"alice", "carla", "ivan"} <= set(people)
    view.person.setCurrentIndex(view.person.findText("ivan"))
    assert set(shown(view, PERSON)) == {"ivan"}
    assert [view.model.row(r).position for r in range(view.model.rowCount())] == log_rows(core, actor="ivan")
    assert set(shown(view, EVENT)) == {"Message approved", "Message returned"}


def test_the_incident_filter_finds_its_entries_and_those_of_its_messages(
    qtbot: QtBot, core: App, admin: Actor, story: dict
) -> None:
    view = make_view(qtbot, core, admin)
    flood = story["flood"]
    assert view.incident.findData(flood) > 0 and view.incident.findData(story["later"]) > 0
    view.incident.setCurrentIndex(view.incident.findData(flood))
    rows = [view.model.row(r) for r in range(view.model.rowCount())]
    assert {r.incident for r in rows} == {flood}
    # The approval names only its message; it is the incident's all the same, and shown so.
    assert "Message approved" in shown(view, EVENT)
    its_messages = {m for (m,) in core.db.conn.execute("SELECT id FROM messages WHERE incident_id = ?", (flood,))}
    expected = [
        p
        for p, e in sorted(core.audit._positioned(), key=lambda p: -p[0])
        if e.payload.get("incident") == flood or e.payload.get("message") in its_messages
    ]
    assert [r.position for r in rows] == expected
    titles = set(shown(view, INCIDENT))
    assert len(titles) == 1 and titles != {""}
    # Its title is what the table shows: a search for it finds the same entries and the other incident's.
    view.clear_filters()
    view.filter.setText(titles.pop())
    qtbot.keyClick(view.filter, Qt.Key.Key_Return)
    found = {view.model.row(r).incident for r in range(view.model.rowCount())}
    assert found == {flood, story["later"]}  # both floods share the playbook's title


def test_the_time_filter_keeps_the_entries_between_from_and_up_to(
    qtbot: QtBot, core: App, admin: Actor, story: dict, clock: FixedClock
) -> None:
    view = make_view(qtbot, core, admin)
    start = clock.now() - timedelta(hours=1)  # the story's first incident was opened then
    view.since.setDateTime(QDateTime.fromSecsSinceEpoch(int(start.timestamp())))
    view.until.setDateTime(QDateTime.fromSecsSinceEpoch(int((start + timedelta(minutes=30)).timestamp())))
    rows = [view.model.row(r) for r in range(view.model.rowCount())]
    assert rows and {r.incident for r in rows} == {story["flood"]}
    assert "Message approved" in shown(view, EVENT)
    assert all(start.isoformat() <= r.at < (start + timedelta(minutes=30)).isoformat() for r in rows)
    view.until.setDateTime(view.until.minimumDateTime())  # back to "up to now"
    assert {view.model.row(r).incident for r in range(view.model.rowCount())} == {story["flood"], story["later"]}


def test_times_are_in_one_zone_down_the_column_and_ids_short(
    qtbot: QtBot, core: App, admin: Actor, story: dict
) -> None:
    """The workstation's zone for every entry (entries with and without an incident side by side would otherwise
    run backwards in time); the incident's own time is in the tooltip."""
    view = make_view(qtbot, core, admin)
    zone = ZoneInfo(core.incidents().get(admin, story["flood"]).timezone)
    differs = full(story_time := view.model.row(0).at, zone) != full(story_time, workstation_zone())
    flood_rows = 0
    for r in range(view.model.rowCount()):
        row = view.model.row(r)
        assert view.model.index(r, TIME).data() == moment_text(row.at, workstation_zone())
        if row.incident == story["flood"]:
            flood_rows += 1
            tip = view.model.index(r, TIME).data(Qt.ItemDataRole.ToolTipRole)
            assert full(row.at, zone) in tip and ("incident's zone" in tip) == differs
        assert "." not in view.model.index(r, TIME).data()  # no microseconds, no ISO
        assert len(view.model.index(r, 6).data()) == 12
    assert flood_rows > 0
    assert all(len(text) <= 200 for text in shown(view, DETAILS))


# -- paging and following -------------------------------------------------------------------------------------------


def test_pages_arrive_as_the_table_scrolls(qtbot: QtBot, core: App, admin: Actor, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    for i in range(40):
        core.people.add(admin, f"user{i:02d}", [Role.VIEWER], "a password")
    view = make_view(qtbot, core, admin)
    view.model.PAGE = 25
    view.model.reload()
    assert view.model.rowCount() == 25 and view.model.canFetchMore()
    view.table.scrollToBottom()  # Qt asks for the next page
    qtbot.waitUntil(lambda: view.model.rowCount() == 50)
    while view.model.canFetchMore():
        view.model.fetchMore()
    positions = [view.model.row(r).position for r in range(view.model.rowCount())]
    assert positions == sorted(positions, reverse=True) and len(positions) == core.log.count()
    view.filter.setText("user1")
    qtbot.keyClick(view.filter, Qt.Key.Key_Return)
    assert view.model.rowCount() == 20  # user10-user19: added and password set
    qtmodeltester.check(view.model)


def test_the_model_passes_the_model_tester_while_paging(qtbot: QtBot, core: App, admin: Actor, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        core.people.add(admin, f"user{i:02d}", [Role.VIEWER], "a password")
    tasks = Tasks(core)
    model = AuditLogModel(tasks, admin)
    model.PAGE = 7
    model.set_filter(AuditFilter(kinds=(Kind.USER_ADDED,)))
    qtmodeltester.check(model)
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 31
    tasks.stop()


def test_a_new_entry_appears_on_top_without_moving_a_persons_rows(qtbot: QtBot, core: App, admin: Actor) -> None:
    for i in range(60):
        core.people.add(admin, f"user{i:02d}", [Role.VIEWER], "a password")
    view = make_view(qtbot, core, admin)
    view.resize(1200, 400)
    core.people.add(admin, "newcomer", [Role.VIEWER], "a password")
    assert view.session.watcher.check()
    assert view.model.row(0).actor == "alice" and "newcomer" in view.model.row(0).summary

    # Someone reading further down, with an entry selected: new entries go above, their rows stay put.
    view.table.selectRow(40)
    chosen = view.model.row(40).position
    view.table.scrollTo(view.model.index(40, 0), view.table.ScrollHint.PositionAtTop)
    top = view.model.row(view.table.rowAt(0)).position
    core.people.add(admin, "late-one", [Role.VIEWER], "a password")
    assert view.session.watcher.check()
    assert "late-one" in view.model.row(0).summary
    assert view.model.row(view.table.rowAt(0)).position == top
    selected = view.table.selectionModel().selectedRows()
    assert [view.model.row(i.row()).position for i in selected] == [chosen]

    # A filter holds for the new entries too.
    view.kind.setCurrentIndex(view.kind.findData(Kind.ROLE_GRANTED))
    count = view.model.rowCount()
    core.people.add(admin, "third", [Role.VIEWER], "a password")  # no role granted: not shown
    core.people.grant(admin, "third", Role.APPROVER)
    view.session.watcher.check()
    assert view.model.rowCount() == count + 1 and shown(view, EVENT)[0] == kind_label(Kind.ROLE_GRANTED)


# -- the check ------------------------------------------------------------------------------------------------------


def test_verify_shows_its_progress_then_intact(qtbot: QtBot, core: App, admin: Actor, story: dict) -> None:
    view = make_view(qtbot, core, admin)
    formats: list[str] = []
    view.progress.valueChanged.connect(lambda _v: formats.append(view.progress.format()))
    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    total = core.log.count() - 0
    assert any(f.startswith("Checking the chain: ") and f.endswith(f"of {total:,} entries") for f in formats)
    assert any(f.startswith("Replaying the log to compare the tables:") for f in formats)
    assert view.verify_result.text().startswith(f"audit log intact: {total} entries verified")
    assert view.verify_button.isEnabled() and not view.progress.isVisible() and not view.cancel_button.isVisible()


def build_log(core: App, events: int, batch: int = 2000) -> None:
    """Entries through the event log's own append (one transaction per batch), as a busy desk writes triage."""
    done = 0
    while done < events:
        n = min(batch, events - done)
        with core.db.write() as conn:
            for i in range(done, done + n):
                core.log.record(
                    conn,
                    "carla",
                    Kind.TRIAGE_SET,
                    {"item": f"item-{i:07d}", "status": "acknowledged", "priority": "normal", "note": "passed on"},
                )
        done += n


def test_cancel_stops_the_check(qtbot: QtBot, core: App, admin: Actor) -> None:
    build_log(core, 30_000)
    view = make_view(qtbot, core, admin, synchronous=False)
    qtbot.waitUntil(lambda: view.model.rowCount() > 0 and view.choices is not None, timeout=10_000)
    seen: list[str] = []
    view.progress.valueChanged.connect(lambda _v: seen.append(view.progress.format()))
    view.verify_button.click()
    assert view.verifying and view.cancel_button.isVisible() and not view.verify_button.isEnabled()
    qtbot.waitUntil(lambda: any(f.startswith("Replaying") for f in seen), timeout=60_000)
    view.cancel_button.click()
    assert view.cancel_button.text() == "Stopping…"
    qtbot.waitUntil(lambda: not view.verifying, timeout=30_000)
    assert view.verify_result.text() == "Check stopped before it finished: nothing was concluded."
    assert view.last_report is None and view.verify_button.isEnabled()


def tamper(core: App, position: int) -> None:
    """Edit an entry's content in the file behind the program's back, as the safety tests do."""
    conn = sqlite3.connect(core.db.path, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute(
        "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'user', 'USER') AS BLOB) WHERE position = ?",
        (position,),
    )
    conn.close()


def test_a_tampered_entry_is_selected_after_the_check(qtbot: QtBot, core: App, admin: Actor) -> None:
    for i in range(30):
        core.people.add(admin, f"user{i:02d}", [Role.VIEWER], "a password")
    bad = log_rows(core, kind=Kind.USER_ADDED)[-10]  # the fifth person added
    tamper(core, bad)
    view = make_view(qtbot, core, admin)
    view.deep.setChecked(False)
    view.filter.setText("password set")  # a filter that hides the entry: cleared to show it
    qtbot.keyClick(view.filter, Qt.Key.Key_Return)
    qtbot.mouseClick(view.verify_button, Qt.MouseButton.LeftButton)
    assert view.verify_result.text().startswith(f"audit log broken at entry #{bad}")
    assert view.filter.text() == ""
    selected = view.table.selectionModel().selectedRows()
    assert [view.model.row(i.row()).position for i in selected] == [bad]
    row = selected[0].row()
    assert 0 <= view.table.rowViewportPosition(row) < view.table.viewport().height()  # scrolled to
    assert view.model.index(row, 0).data(Qt.ItemDataRole.BackgroundRole) is not None  # tinted


def test_a_tampered_entry_beyond_the_loaded_pages_is_fetched_and_selected(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    for i in range(60):
        core.people.add(admin, f"user{i:02d}", [Role.VIEWER], "a password")
    bad = log_rows(core, kind=Kind.USER_ADDED)[-3]
    tamper(core, bad)
    view = make_view(qtbot, core, admin)
    view.model.PAGE = 20
    view.model.reload()
    assert view.model.row_of(bad) is None
    view.deep.setChecked(False)
    view.verify()
    selected = view.table.selectionModel().selectedRows()
    assert [view.model.row(i.row()).position for i in selected] == [bad]
    assert view.newest_button.isVisible()
    view.newest_button.click()
    assert view.model.row(0).position == core.log.count() and not view.newest_button.isVisible()


# -- export ---------------------------------------------------------------------------------------------------------


def test_export_writes_the_filtered_entries_or_the_whole_log(
    qtbot: QtBot, core: App, admin: Actor, story: dict, tmp_path: Path
) -> None:
    view = make_view(qtbot, core, admin)
    view.person.setCurrentIndex(view.person.findText("ivan"))
    out = tmp_path / "ivan.jsonl"
    view.export_to(out, "jsonl")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["actor"] for line in lines] == ["ivan", "ivan"]
    assert view.exported == (out, 2)
    exported = list(core.log.events())[-1]
    assert exported.kind == Kind.AUDIT_EXPORTED and exported.payload["filter"] == {"person": "ivan"}

    view.clear_filters()
    whole = tmp_path / "all.csv"
    total = core.log.count()
    view.export_to(whole, "csv")
    assert len(whole.read_text().splitlines()) == total + 1  # a header line
    assert "filter" not in list(core.log.events())[-1].payload

    view.export_to(tmp_path / "no such folder" / "x.jsonl", "jsonl")
    assert view.verify_result.text().startswith("Export failed: the audit log was not exported to")


def test_every_control_has_an_accessible_name(qtbot: QtBot, core: App, admin: Actor) -> None:
    view = make_view(qtbot, core, admin)
    assert unnamed_controls(view) == []


# -- the GUI thread under a large check -----------------------------------------------------------------------------

LARGE = 120_000


@pytest.fixture
def large(core: App) -> App:
    started = time.perf_counter()
    build_log(core, LARGE)
    print(f"\n{LARGE:,} entries appended in {time.perf_counter() - started:.1f} s")
    return core


@pytest.mark.slow
@pytest.mark.parametrize("deep", [False, True], ids=["chain", "deep"])
def test_the_window_keeps_beating_while_a_large_log_is_checked(
    qtbot: QtBot, large: App, admin: Actor, deep: bool
) -> None:
    view = make_view(qtbot, large, admin, synchronous=False)
    qtbot.waitUntil(lambda: view.model.rowCount() > 0 and view.choices is not None, timeout=10_000)
    # The chain alone is item 4's "chain verify" (in worker processes); the deep check also replays the log in the
    # pool thread, which holds the GIL between its SQLite calls.
    view.deep.setChecked(deep)
    with Heartbeat() as heart:
        heart.step("chain check")
        started = time.perf_counter()
        view.verify_button.click()
        qtbot.waitUntil(lambda: not view.verifying, timeout=120_000)
        took = time.perf_counter() - started
        heart.step("scrolling")
        for _ in range(20):
            view.table.verticalScrollBar().setValue(view.table.verticalScrollBar().maximum())
            QApplication.processEvents()
    total = large.log.count()
    print(f"checked {total:,} entries in {took:.1f} s\n{heart.report()}")
    assert view.verify_result.text().startswith(f"audit log intact: {total} entries verified")
    assert heart.beats > 10
    assert heart.longest < 0.050, heart.report()


# -- the service under the view: the watched check names what the command line's names ------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        "none",
        "edited",  # an entry edited inside a stretch checked by a worker
        "deleted at a stretch's start",  # only stitching the stretches finds it
        "edited twice",  # the first bad entry is named, not a later one
    ],
)
def test_the_watched_check_finds_what_the_command_lines_finds(core: App, damage: str) -> None:
    build_log(core, 30_000)  # more than WATCHED_IN_WORKERS_FROM: the stretches go to worker processes
    conn = sqlite3.connect(core.db.path, isolation_level=None)
    if damage.startswith("edited"):
        conn.execute("DROP TRIGGER events_no_update")
        for position in (27_003, 12_345) if damage == "edited twice" else (12_345,):
            conn.execute(
                "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'passed on', 'PASSED ON') AS BLOB) "
                "WHERE position = ?",
                (position,),
            )
    elif damage.startswith("deleted"):
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute("DELETE FROM events WHERE position = 25001")
    conn.close()
    seen: list[tuple[str, int, int]] = []
    watched = core.audit.verify(progress=lambda *step: seen.append(step), cancel=threading.Event())
    plain = core.audit.verify()
    # The chain's report, word for word (the head line may move meanwhile: the keyring is written on a timer; the
    # heads reached before a break depend on how the log was split, as between the command's one and two processes).
    assert watched.lines()[0] == plain.lines()[0]
    assert watched.chain is not None and plain.chain is not None
    fields = ("ok", "checked", "bad_position", "bad_seq", "reason")
    assert [getattr(watched.chain, f) for f in fields] == [getattr(plain.chain, f) for f in fields]
    if damage == "none":
        assert watched.chain.head == plain.chain.head
    assert watched.ok is (damage == "none")
    chain = [step for step in seen if step[0] == "chain"]
    assert chain[0][1] == 0 and chain[-1][2] == core.log.count()
    assert [done for _, done, _ in chain] == sorted(done for _, done, _ in chain)
    if damage == "none":
        assert chain[-1][1] == core.log.count()
    else:
        assert plain.chain is not None and plain.chain.bad_position == {"edited": 12_345, "edited twice": 12_345}.get(
            damage, 25_001 + 1
        )


def test_a_cancelled_check_stops_in_the_chain_and_says_so(core: App) -> None:
    build_log(core, 30_000)
    cancel = threading.Event()

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "chain" and done:
            cancel.set()

    with pytest.raises(CheckCancelled, match="stopped before it finished"):
        core.audit.verify(progress=progress, cancel=cancel)
    assert verify_workers_running() == []  # the stretches' workers were stopped, not left to finish
    assert core.audit.verify().ok  # nothing was left behind: the next check runs whole


def verify_workers_running() -> list[int]:
    """This process's child processes that are verify workers (store/workers.py)."""
    return [p.pid for p in processes() if p.parent == os.getpid() and b"crisisdesk.store.verify_worker" in p.command]

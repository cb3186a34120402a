"""The console's side of team sync (issue 16): sibling versions and Merge… in the composer and Approvals, the team
alarm banner, the sync status item, and the background sync that takes the console's commits to a real hub."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import psycopg
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.dialogs.merge import MergeDialog, variant_key
from crisisdesk.ui.main import Background
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.alarms import AlarmBanner
from crisisdesk.ui.views.approvals_view import ApprovalsView
from crisisdesk.ui.views.composer import Composer
from crisisdesk.ui.views.main_window import MainWindow
from crisisdesk.ui.views.siblings import differing
from crisisdesk.ui.watcher import Watcher
from tests.integration.test_incidents import FLOOD_FACTS
from tests.integration.test_merge_workstations import act, founding, member, sync
from tests.support.postgres import HubDatabase
from tests.support.wait import wait_until
from tests.ui.heartbeat import Heartbeat
from tests.ui.test_window import unnamed_controls

MINE = "Flash flood: climb to high ground now."
THEIRS = "Flash flood in Mill Creek: leave the valley."


def session(core: App, who: Actor) -> Session:
    return Session(core=core, actor=who, tasks=Tasks(core), watcher=Watcher(core))


@pytest.fixture
def team(tmp_path: Path, qapp: QApplication) -> Iterator[tuple[App, App, str]]:
    """The commander's workstation and a communicator's, and a message both edited while apart (in conflict)."""
    clock = FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))
    a = founding(tmp_path / "commander.sqlite3", clock)
    clock.advance(timedelta(minutes=1))
    b = member(tmp_path / "communicator.sqlite3", "communicator", clock)
    try:
        from crisisdesk.domain.roles import Role

        alice = a.people.actor("alice")
        a.people.add(alice, "carla", [Role.COMMUNICATOR], "carla password")
        a.people.add(alice, "dan", [Role.COMMUNICATOR], "dan password")
        a.people.add(alice, "ivan", [Role.APPROVER], "ivan password")
        sync(a, b)
        inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
        msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
        sync(a, b)
        clock.advance(timedelta(minutes=1))
        a.messages().edit(act(a, "carla"), msg.id, "wea-90", "en", MINE)
        b.messages().edit(act(b, "dan"), msg.id, "wea-90", "en", THEIRS)
        clock.advance(timedelta(minutes=1))
        sync(a, b)
        yield a, b, msg.id
    finally:
        from tests.ui.conftest import delete_windows

        delete_windows()
        a.close()
        b.close()


def test_a_message_in_conflict_shows_its_siblings_side_by_side_in_the_composer_and_merges(
    qtbot: QtBot, team: tuple[App, App, str]
) -> None:
    a, _, message_id = team
    composer = Composer(session(a, act(a, "carla")), message_id)
    qtbot.addWidget(composer)
    composer.resize(1300, 900)
    composer.show()
    panel = composer.siblings
    assert panel.isVisible() and len(panel.boxes) == 2
    titles = sorted(b.title() for b in panel.boxes)
    assert any("by carla on commander" in t for t in titles) and any("by dan on communicator" in t for t in titles)
    assert (
        "in conflict" in panel.heading.text() and "cannot be submitted, approved or published" in panel.heading.text()
    )
    shown = "\n".join(
        box.findChild(type(composer.editor), None).toPlainText()  # type: ignore[union-attr]
        for box in panel.boxes
    )
    assert MINE in shown and THEIRS in shown and "≠ [wea-90 · en] differs" in shown
    assert "= The same in every sibling: " in shown and "sms · en" in shown
    # Nothing that would make or send a version works meanwhile, and each says why in one line.
    for button in (composer.submit_button, composer.save_button, composer.apply_channels_button):
        assert not button.isEnabled()
    assert "sibling versions" in composer.submit_button.toolTip()
    assert "sibling versions" in composer.notice.text()
    assert composer.editor.isReadOnly()
    assert unnamed_controls(composer) == []

    dialog = panel.open_merge()
    assert isinstance(dialog, MergeDialog)
    assert unnamed_controls(dialog) == []
    assert len(dialog.keep_buttons) == 2
    dan = next(i for i, s in enumerate(dialog.siblings) if s["author"] == "dan")
    dialog.keep_buttons[dan].setChecked(True)
    dialog.edit_box.setChecked(True)
    i = dialog.variant.findData(variant_key("wea-90", "en"))
    dialog.variant.setCurrentIndex(i)
    assert dialog.text.toPlainText() == THEIRS  # the kept sibling's own text, to edit
    merged_text = "Flash flood in Mill Creek: climb to high ground now."
    dialog.text.setPlainText(merged_text)
    dialog.merge_button.click()
    view = a.messages().show(act(a, "ivan"), message_id)
    assert view.state == "draft" and not view.siblings and view.version == 3
    assert next(v.text for v in view.variants if (v.channel, v.lang) == ("wea-90", "en")) == merged_text
    # The composer read the message again: no conflict, and the buttons work again.
    assert not panel.isVisible()
    assert composer.submit_button.isEnabled() and not composer.editor.isReadOnly()


def test_a_refused_merge_says_why_and_keeps_the_dialog_open(qtbot: QtBot, team: tuple[App, App, str]) -> None:
    a, _, message_id = team
    composer = Composer(session(a, act(a, "ivan")), message_id)  # an approver: may not write on the incident
    qtbot.addWidget(composer)
    composer.show()
    dialog = composer.siblings.open_merge()
    assert isinstance(dialog, MergeDialog)
    dialog.merge_button.click()
    assert dialog.isVisible() and dialog.outcome.isVisible()
    assert dialog.outcome.text().startswith("✖ Not merged:")
    assert a.messages().show(act(a, "ivan"), message_id).state == "conflict"


def test_approvals_shows_the_siblings_and_no_approve_or_break_glass(qtbot: QtBot, team: tuple[App, App, str]) -> None:
    a, _, message_id = team
    view = ApprovalsView(session(a, act(a, "ivan")))
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    view.open_message(message_id)
    assert view.siblings.isVisible() and len(view.siblings.boxes) == 2
    assert not view.approve_button.isEnabled()
    assert not view.break_glass_button.isEnabled()
    assert "sibling versions" in view.break_glass_button.toolTip()
    assert "sibling versions" in view.approve_button.toolTip()
    assert unnamed_controls(view) == []


def test_differing_marks_only_the_texts_that_differ() -> None:
    one = {"variants": [{"channel": "sms", "lang": "en", "text": "a"}, {"channel": "x", "lang": "en", "text": "b"}]}
    two = {"variants": [{"channel": "sms", "lang": "en", "text": "a"}, {"channel": "x", "lang": "en", "text": "c"}]}
    assert differing([one, two]) == {("x", "en")}
    assert differing([one, one]) == set()


# -- the team alarm ---------------------------------------------------------------------------------------------


def equivocation(core: App, seq: int, ws: str | None = None) -> None:
    payload = {
        "workstation": ws or core.log.workstation_id(),
        "seq": seq,
        "held_hash": "a" * 64,
        "offered_hash": "b" * 64,
        "source": "hub",
    }
    with core.db.write() as conn:
        core.log.record(conn, "system", Kind.SYNC_EQUIVOCATION, payload)


def test_an_equivocation_raises_a_banner_every_place_shows_which_stays_and_collapses(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    window = MainWindow(core, admin, synchronous=True)
    qtbot.addWidget(window)
    window.show()
    banner = window.alarm_banner
    assert not banner.isVisible()
    equivocation(core, 7)
    window.session.watcher.check()
    assert banner.isVisible()
    assert "EQUIVOCATION" in banner.title.text() and "seq 7" in banner.title.text()
    assert "EOC desk 1" in banner.title.text()  # the workstation by its name
    assert unnamed_controls(banner) == []
    # Above the places: seen from each of them.
    for place in window.places:
        window.show_place(place)
        assert banner.isVisible()
    banner.collapse_button.click()
    assert banner.isVisible() and not banner.body.isVisible() and banner.collapse_button.text() == "Expand"
    # It stays: nothing closes it, and a new alarm shows it whole again.
    window.session.watcher.changed.emit()
    assert banner.isVisible()
    equivocation(core, 9)
    window.session.watcher.check()
    assert banner.body.isVisible() and "2 team alarms" in banner.title.text() and "seq 9" in banner.title.text()
    dialog = banner.open_details()
    text = dialog.text.toPlainText()
    assert "a" * 64 in text and "b" * 64 in text and "seq 7" in text and "seq 9" in text
    assert text.index("seq 9") < text.index("seq 7")  # newest first
    assert unnamed_controls(dialog) == []
    # A new window (signed in again) shows what the log holds.
    again = MainWindow(core, admin, synchronous=True)
    qtbot.addWidget(again)
    assert len(again.alarm_banner.alarms) == 2


def test_the_alarm_banner_reads_only_new_entries(qtbot: QtBot, core: App, admin: Actor) -> None:
    banner = AlarmBanner(session(core, admin))
    qtbot.addWidget(banner)
    equivocation(core, 3)
    banner.look()
    first = banner.read_to
    assert first > 0 and len(banner.alarms) == 1
    banner.look()
    assert len(banner.alarms) == 1 and banner.read_to == first


# -- sync status ---------------------------------------------------------------------------------------------------


def test_without_a_hub_the_status_bar_says_not_set_up(qtbot: QtBot, core: App, admin: Actor) -> None:
    window = MainWindow(core, admin, synchronous=True)
    qtbot.addWidget(window)
    indicator = window.sync_indicator
    assert "not set up" in indicator.text()
    assert indicator.accessibleName() == "Team sync status"
    dialog = indicator.open_details()
    assert "works alone" in dialog.headline.text() and "crisisdesk hub init" in dialog.about.text()
    assert unnamed_controls(dialog) == []


def test_a_workstation_that_cannot_sign_says_so_in_the_status_bar_and_the_details(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    """Its key left the keyring: the status bar says CANNOT SIGN in the bad colour, hub or not, and the details say
    why and what an admin does; with the key back, the words go."""
    ws = core.log.workstation_id()
    key = keyring.get_password("crisisdesk", f"workstation-key:{ws}")
    assert key is not None
    keyring.delete_password("crisisdesk", f"workstation-key:{ws}")
    window = MainWindow(core, admin, synchronous=True)
    qtbot.addWidget(window)
    indicator = window.sync_indicator
    assert indicator.text().startswith("✖ CANNOT SIGN")
    assert indicator.current is not None and indicator.current.colour == "bad"
    assert "CANNOT SIGN" in indicator.accessibleDescription()
    dialog = indicator.open_details()
    assert dialog.signing.text().startswith("THIS WORKSTATION CANNOT SIGN: its key ")
    assert "crisisdesk workstation rotate-key" in dialog.signing.text()
    keyring.set_password("crisisdesk", f"workstation-key:{ws}", key)
    indicator.refresh(reach=False)
    assert "not set up" in indicator.text() and indicator.current is not None and indicator.current.colour == "muted"
    assert dialog.signing.text() == "no problem found (a key declared in the log is in this keyring)"


@pytest.fixture
def hub_core(tmp_path: Path, hub_db: HubDatabase, qapp: QApplication) -> Iterator[App]:
    from tests.integration.test_hub_sync import founder

    app = founder(tmp_path / "founder.sqlite3", hub_db)
    yield app
    from tests.ui.conftest import delete_windows

    delete_windows()
    app.close()


def test_the_status_bar_says_connected_and_then_not_connected_when_the_hub_goes_down(
    qtbot: QtBot, hub_core: App, hub_db: HubDatabase
) -> None:
    admin = hub_core.people.actor("alice")
    window = MainWindow(hub_core, admin, synchronous=True)
    qtbot.addWidget(window)
    indicator = window.sync_indicator
    assert indicator.current is not None and indicator.current.state == "connected", indicator.text()
    assert "connected" in indicator.text() and "last sync" in indicator.text()
    dialog = indicator.open_details()
    assert dialog.hub.text() == hub_db.url and "password" not in dialog.hub.text().casefold()
    assert hub_db.password not in dialog.hub.text()
    assert dialog.to_push.text() == "0 entries" and dialog.to_apply.text() == "0 entries"
    hub_db.server.stop()
    try:
        dialog.refresh_button.click()
        assert indicator.current is not None and indicator.current.state == "not connected"
        assert "NOT CONNECTED" in indicator.text()
        assert dialog.headline.text().startswith("✖ Not connected") and dialog.error.text() != "none"
        assert "\n" not in dialog.error.text()
    finally:
        hub_db.server.start()


def test_background_sync_takes_a_console_commit_to_the_hub_within_a_second(
    qtbot: QtBot, hub_core: App, hub_db: HubDatabase
) -> None:
    """The run loop in the console's background, woken by a commit made through the console's own task helper (a
    connection of its own), not by its 30 s safety poll."""
    path = hub_core.db.path
    background = Background(path)
    background.start()
    try:
        sync = wait_until(lambda: background.sync, 10, "the background sync to start")
        wait_until(lambda: sync._service is not None, 10, "the sync loop to open its database")
        tasks = Tasks(hub_core, synchronous=False)
        admin = hub_core.people.actor("alice")
        with psycopg.connect(hub_db.server.admin_url(hub_db.name), autocommit=True) as hub:

            def at_hub(ws: str) -> int:
                row = hub.execute("SELECT coalesce(max(seq), 0) FROM hub_events WHERE workstation_id = %s", (ws,))
                found = row.fetchone()
                return int(found[0]) if found else 0

            ws = hub_core.log.workstation_id()
            assert ws is not None
            wait_until(lambda: at_hub(ws) == hub_core.log.last_seq(ws), 10, "the first sync")
            with Heartbeat() as heartbeat:
                task = tasks.run(lambda app: app.incidents().open(admin, "flash-flood", Mode.LIVE, facts=FLOOD_FACTS))
                qtbot.waitUntil(lambda: task.done, timeout=10_000)
                committed = time.monotonic()
                written = hub_core.log.last_seq(ws)
                qtbot.waitUntil(lambda: at_hub(ws) >= written, timeout=5_000)
                took = time.monotonic() - committed
            tasks.stop()
        assert took < 1.0, f"{took:.2f} s from the commit to the hub"
        assert heartbeat.longest < 0.05, heartbeat.report()  # the sync runs off the GUI thread
    finally:
        background.stop()
    # Stopped cleanly: the loop's thread ended with no error kept.
    assert background.sync is not None and background.sync.error is None
    assert background.sync._thread is not None and not background.sync._thread.is_alive()


def test_asking_a_hub_that_is_down_never_holds_the_gui_thread(qtbot: QtBot, hub_core: App, hub_db: HubDatabase) -> None:
    """The window with its real task pool: the status is asked of the hub (up and then down) in the pool; the GUI
    thread keeps beating."""
    admin = hub_core.people.actor("alice")
    window = MainWindow(hub_core, admin, synchronous=False)
    qtbot.addWidget(window)
    window.show()
    indicator = window.sync_indicator
    qtbot.waitUntil(lambda: indicator.current is not None and indicator.current.state == "connected", timeout=15_000)
    with Heartbeat() as heartbeat:
        heartbeat.step("hub up")
        indicator.refresh(reach=True)
        qtbot.waitUntil(lambda: not indicator._asking, timeout=15_000)
        hub_db.server.stop()
        try:
            heartbeat.step("hub down")
            indicator.refresh(reach=True)
            qtbot.waitUntil(
                lambda: indicator.current is not None and indicator.current.state == "not connected", timeout=15_000
            )
        finally:
            hub_db.server.start()
    window.session.tasks.stop()
    assert heartbeat.beats > 3
    assert heartbeat.longest < 0.05, heartbeat.report()


def test_a_published_twice_alarm_names_both_workstations(qtbot: QtBot, core: App, admin: Actor) -> None:
    ws = core.log.workstation_id()
    with core.db.write() as conn:
        core.log.record(
            conn,
            "worker",
            Kind.OUTBOX_PUBLISHED_TWICE,
            {"row": "out-1234", "workstation": ws, "offline_workstation": "ws-x"},
        )
    banner = AlarmBanner(session(core, admin))
    qtbot.addWidget(banner)
    banner.show()
    assert banner.isVisible()
    line = banner.title.text()
    assert "PUBLISHED TWICE: delivery out-1234 went out from " in line
    assert "EOC desk 1" in line and "ws-x" in line  # both, this one by its name
    assert "row: out-1234" in banner.open_details().text.toPlainText()


def test_a_claim_held_by_a_workstation_that_never_joined_raises_the_banner(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    with core.db.write() as conn:
        core.log.record(conn, "worker", Kind.OUTBOX_CLAIM_UNKNOWN_HOLDER, {"row": "out-77", "workstation": "ws-ghost"})
    banner = AlarmBanner(session(core, admin))
    qtbot.addWidget(banner)
    banner.show()
    assert banner.isVisible()
    assert "NOT SENT: delivery out-77 is claimed at the hub by workstation ws-ghost" in banner.title.text()
    assert "deletes that claim row at the hub" in banner.open_details().text.toPlainText()


def test_the_workspace_opens_a_message_in_conflict_in_the_composer_and_says_why_it_cannot_be_published(
    qtbot: QtBot, team: tuple[App, App, str]
) -> None:
    a, _, message_id = team
    carla = act(a, "carla")
    window = MainWindow(a, carla, synchronous=True)
    qtbot.addWidget(window)
    window.show()
    window.incidents.open_incident(a.messages().show(carla, message_id).incident_id)
    workspace = window.incidents.workspace
    assert workspace is not None
    rows = [workspace.messages.message_row(r) for r in range(workspace.messages.rowCount())]
    row = next(i for i, r in enumerate(rows) if r.id == message_id)
    assert rows[row].state == "conflict"
    workspace.messages_table.selectRow(row)
    assert workspace.compose_button.isEnabled()  # where the siblings are shown and merged
    assert not workspace.publish_button.isEnabled()
    assert "sibling versions" in workspace.publish_button.toolTip()

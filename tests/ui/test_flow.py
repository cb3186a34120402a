"""The whole job from the window, offscreen, with two people and the real thread pool (issue 12, "Tests and pictures").

carla (communicator) opens an incident from a playbook through New incident and its fact form, drafts an alert,
edits one text in the composer and submits it; she signs out and ivan (approver) signs in at the same console and
approves from the Approvals badge; carla signs in again and publishes with the phrase typed into Publish…; the outbox
worker (a background thread, as the console runs it) delivers to a folder channel in tmp_path, and the public page
on disk has the text; the workspace shows the delivery. Then an update, its word changes read in the composer and
in Approvals, approved and published; then False alarm… from the workspace, through approval and publish, to the
correction delivered and the time from the click recorded. The same flow runs on a LIVE incident, whose wording
and phrase say LIVE and whose composer never offers an exercise account.

What a person does is counted (``Interactions``: each click, typed field or named shortcut is one; typing the
facts and the phrase is not): issue 12 item 11 holds a communicator to 12 from the Incidents view to an EXERCISE
alert published, and an approver to 3 from the badge. A 10 ms heartbeat on the GUI thread runs through it all: no
step keeps the GUI thread busy more than 50 ms (its own CPU time between two beats, so a loaded machine running
other processes' turns does not fail it).

Refusals are shown in the window: an author's own version is not theirs to approve (the reason in the view), a
version changed after the approver opened it is refused for its stale hash, and a wrong phrase publishes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.outbox import Worker
from crisisdesk.ui.console import Console
from crisisdesk.ui.dialogs.false_alarm import FalseAlarmDialog
from crisisdesk.ui.dialogs.new_incident import NewIncidentDialog
from crisisdesk.ui.dialogs.publish import PublishDialog
from crisisdesk.ui.dialogs.sign_in import LoginDialog
from crisisdesk.ui.views.composer import Composer
from crisisdesk.ui.views.deliveries import DeliveriesView
from crisisdesk.ui.views.fact_form import AreaEditor, DateTimeEditor, LineEditor
from crisisdesk.ui.views.main_window import APPROVALS, INCIDENTS, MainWindow
from crisisdesk.ui.views.workspace import IncidentWorkspace
from tests.integration.outbox_helpers import add_team
from tests.ui.heartbeat import Heartbeat

WAIT = 30_000  # ms: a deadline for a condition, never a pause (the first reads load the playbook library)
EDIT = " Bring your medicines and a phone charger."
UPDATE_EDIT = " The Elm Street bridge is closed."
WRONG = "the warning was for Elm Creek, not Mill Creek"


# -- counting what a person does ------------------------------------------------------------------------------------


class Interactions:
    """Each call is one interaction (a click, a double-click, a typed field, a named shortcut's key press), as issue
    12 item 11 counts them; ``steps`` keeps what each was, for bench/README.md. Typing the facts and the phrase is
    not counted: the test does that with qtbot directly."""

    def __init__(self, qtbot: QtBot, heart: Heartbeat) -> None:
        self.qtbot = qtbot
        self.heart = heart
        self.steps: list[str] = []

    @property
    def count(self) -> int:
        return len(self.steps)

    def _ready(self, widget: QWidget, what: str) -> None:
        assert widget.isVisible() and widget.isEnabled(), f"{what}: {widget.accessibleName()} cannot be used"
        self.steps.append(what)

    def click(self, widget: QWidget, what: str, pos: QPoint | None = None) -> None:
        self._ready(widget, what)
        self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos or widget.rect().center())

    def click_row(self, table: QAbstractItemView, index: QModelIndex, what: str) -> None:
        self.click(table.viewport(), what, table.visualRect(index).center())

    def double_click_row(self, table: QAbstractItemView, index: QModelIndex, what: str) -> None:
        self._ready(table, what)
        pos = table.visualRect(index).center()
        self.qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)  # a double-click's first press
        self.qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)

    def type(self, widget: QWidget, text: str, what: str) -> None:
        self._ready(widget, what)
        type_keys(self.qtbot, self.heart, widget, text)

    def shortcut(self, widget: QWidget, key: Qt.Key, modifier: Qt.KeyboardModifier, what: str) -> None:
        self._ready(widget, what)
        self.qtbot.keyClick(widget, key, modifier)


def type_keys(qtbot: QtBot, heart: Heartbeat, widget: QWidget, text: str) -> None:
    """Type ``text`` a key at a time, the event loop running between keys as it does for a person (whose keys come
    tens of milliseconds apart): the heartbeat measures each keystroke, not the whole text typed in one go."""
    for ch in text:
        qtbot.keyClicks(widget, ch)
        QApplication.processEvents()
        heart.beat()


def click_place(people: Interactions, window: MainWindow, name: str) -> None:
    item = window.nav.item(window.places.index(name))
    people.click(window.nav.viewport(), f"{name} in the navigation", window.nav.visualItemRect(item).center())


# -- the heartbeat ----------------------------------------------------------------------------------------------------


# A step that builds a window, a dialog or a place and draws it the first time: Qt's own layout and first paint of
# it (C++, on the GUI thread) took 30-77 ms between two beats on the 2-vCPU build machine after issue 13 grew the
# forms (an editor per language). Held to 100 ms, and named in bench/README.md as the one place the 50 ms target is
# missed; every other step is held to 50 ms.
OPENING = ("signs in", "New incident", "opening the incident", "drafting the", "opens Approvals", "opening Publish")
OPENING += ("False alarm", "reading the deliveries")


def bound(step: str) -> float:
    opening = any(step.endswith(o) or step.startswith(o) for o in OPENING)
    return 0.100 if opening else 0.050


# -- the console, its people and the worker ---------------------------------------------------------------------------


@dataclass
class Desk:
    """One console on one database, with the outbox worker beside it (as ``crisisdesk gui`` runs them)."""

    qtbot: QtBot
    core: App
    console: Console
    heart: Heartbeat
    pages: dict[str, Path]

    @property
    def window(self) -> MainWindow:
        window = self.console.window
        assert isinstance(window, MainWindow)
        return window

    def until(self, condition: Callable[[], object], timeout: int = WAIT) -> None:
        self.qtbot.waitUntil(lambda: bool(condition()), timeout=timeout)

    def type(self, widget: QWidget, text: str) -> None:
        """Typing that is not counted (the facts, the phrase, a name and password)."""
        type_keys(self.qtbot, self.heart, widget, text)

    def idle(self) -> None:
        """Every task of the window delivered."""
        self.until(lambda: not self.window.session.tasks.busy)

    def sign_in(self, name: str) -> MainWindow:
        """At the sign-in dialog (after a sign-out): the person's name and password, then Enter."""
        dialog = self.console.dialog
        assert isinstance(dialog, LoginDialog) and dialog.isVisible() and dialog.focusWidget() is dialog.name
        self.heart.step(f"{name} signs in")
        dialog.name.selectAll()
        self.type(dialog.name, name)
        self.type(dialog.password, f"{name} password")
        self.qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
        # the password is checked on a thread of its own (the dialog keeps drawing): the window comes when it is done
        self.until(lambda: self.console.window is not None and self.console.window.actor.name == name)
        window = self.window
        assert window.actor.name == name and window.isVisible()
        assert window.header.person.text() == f"Signed in as {name}"
        self.until(lambda: QApplication.activeWindow() is window)  # the keyboard is the new person's
        self.until(lambda: window.incidents.model.rowCount() > 0)
        self.idle()
        return window

    def sign_out(self) -> None:
        self.heart.step(f"{self.window.actor.name} signs out")
        self.qtbot.mouseClick(self.window.header.sign_out_button, Qt.MouseButton.LeftButton)
        assert self.console.window is None and isinstance(self.console.dialog, LoginDialog)

    def switch_to(self, name: str) -> MainWindow:
        self.sign_out()
        return self.sign_in(name)

    def page(self, account: str) -> str:
        index = self.pages[account] / "index.html"
        return index.read_text(encoding="utf-8") if index.exists() else ""


@pytest.fixture
def desk(qtbot: QtBot, core: App, admin: Actor, tmp_path: Path) -> Iterator[Desk]:
    add_team(core, admin)
    # A LIVE and an EXERCISE public page in this test's folder (the workstation's own two defaults stay too).
    pages = {"county-page": tmp_path / "county-page", "drill-page": tmp_path / "drill-page"}
    core.channels().add(admin, "folder", "county-page", settings=[f"path={pages['county-page']}", "title=Mill County"])
    core.channels().add(
        admin, "folder", "drill-page", exercise=True, settings=[f"path={pages['drill-page']}", "title=Drill page"]
    )
    worker = Worker(lambda: App.open(core.db.path, clock=core.clock).outbox(), poll=0.01)
    worker.start()
    # As the console runs: the real thread pool, and the workstation's idle lock (15 minutes) watching input.
    console = Console(core, synchronous=False)
    assert console.idle_lock_ms == 15 * 60_000
    heart = Heartbeat()
    try:
        yield Desk(qtbot, core, console, heart, pages)
    finally:
        console.stop()
        worker.stop()
    assert worker.error is None


# -- the steps --------------------------------------------------------------------------------------------------------


def open_incident(desk: Desk, people: Interactions, mode: Mode) -> IncidentWorkspace:
    """From the board: New incident…, the playbook found by typing, LIVE or EXERCISE, the facts, Open."""
    window = desk.window
    view = window.incidents
    desk.heart.step("New incident")
    people.click(view.new_button, "New incident…")
    dialog = view.dialog
    assert isinstance(dialog, NewIncidentDialog) and dialog.isVisible()
    desk.until(lambda: dialog.playbooks.rowCount() == 12)
    people.type(dialog.search, "flash", "type 'flash' in the playbook search (the one match is chosen)")
    assert dialog.playbook is not None and dialog.playbook.id == "flash-flood"
    assert not dialog.next_button.isEnabled()  # never a default mode
    people.click(dialog.mode_buttons[mode], f"{mode.value.upper()}")
    people.click(dialog.next_button, "Next: facts")
    form = dialog.form
    assert form is not None and dialog.band.mode == mode.value
    assert dialog.ok_button.text() == f"Open {mode.value.upper()} incident"
    # The facts (not counted): typed into the editors the playbook's types give.
    desk.heart.step("typing the facts")
    area, expires = form.editors["area"], form.editors["expires"]
    url, phone = form.editors["info_url"], form.editors["phone"]
    assert isinstance(area, AreaEditor) and isinstance(expires, DateTimeEditor)
    assert isinstance(url, LineEditor) and isinstance(phone, LineEditor)
    desk.type(area.description, "Mill Creek valley")
    desk.type(area.shapes, "circle: 38.57,-121.45 12")
    desk.type(expires.line, "2026-11-22 21:30")
    desk.type(url.line, "https://ready.millcounty.gov/flood")
    desk.type(phone.line, "211")
    shape = "▨" if mode is Mode.EXERCISE else "●"
    assert dialog.form_state.text() == f"Ready: this opens a {shape} {mode.value.upper()} incident."
    desk.heart.step("opening the incident")
    people.click(dialog.ok_button, f"Open {mode.value.upper()} incident")
    desk.until(lambda: view.workspace is not None and view.workspace.space is not None)
    workspace = view.workspace
    assert isinstance(workspace, IncidentWorkspace) and view.pages.currentWidget() is workspace
    word = mode.value.upper()
    assert window.windowTitle().startswith(f"{word} · Flash flood warning")
    assert window.mode_band.isVisible() and word in window.mode_band.label.text()
    assert workspace.mode_label.text().strip().endswith(word)
    return workspace


def draft(desk: Desk, people: Interactions, workspace: IncidentWorkspace, message_type: str) -> Composer:
    """Draft a message of ``message_type``: the composer opens in place."""
    desk.heart.step(f"drafting the {message_type}")
    if workspace.draft_type.currentData() != message_type:
        # Typed on the type list, its keyboard search picks the type.
        people.type(workspace.draft_type, message_type, f"type '{message_type}' on the message type list")
    assert workspace.draft_type.currentData() == message_type
    people.click(workspace.draft_button, "Draft message")
    desk.until(lambda: isinstance(workspace.hosted, Composer) and workspace.hosted.composition is not None)
    composer = workspace.hosted
    assert isinstance(composer, Composer) and workspace.pages.currentIndex() == 1
    assert composer.composition is not None and composer.composition.message.type == message_type
    desk.idle()
    return composer


def edit_web_text(desk: Desk, people: Interactions, composer: Composer, after: str, words: str) -> None:
    """Choose the public page's English text in the list and type ``words`` after ``after``."""
    desk.heart.step("editing a text")
    row = composer.variants.find("web", "en")
    assert row is not None
    people.click_row(composer.variants_table, composer.variants.index(row, 1), "the web [en] text in the list")
    assert composer.current == ("web", "en")
    text = composer.editor.toPlainText()
    cursor = composer.editor.textCursor()
    cursor.setPosition(text.index(after) + len(after))
    composer.editor.setTextCursor(cursor)
    people.type(composer.editor, words, "type into the text")
    assert ("web", "en") in composer.unsaved and words in composer.editor.toPlainText()
    assert not [f for f in composer.current_findings if f.severity == "error"], composer.current_findings


def submit(
    desk: Desk, people: Interactions, workspace: IncidentWorkspace, composer: Composer, *, shortcut: bool = False
) -> str:
    """Submit for approval, with its button or its shortcut (Ctrl+Return) in the text."""
    desk.heart.step("submitting")
    message_id = composer.message_id
    if shortcut:
        # Offscreen there is no window manager to give the window back its focus when a dialog closes; a desktop's
        # does. A shortcut goes to the active window only.
        desk.window.activateWindow()
        desk.until(lambda: QApplication.activeWindow() is desk.window)
        people.shortcut(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier, "Ctrl+Return")
    else:
        people.click(composer.submit_button, "Submit for approval")
    desk.until(lambda: workspace.pages.currentIndex() == 0)  # submitted: back to the workspace
    desk.until(lambda: message_state(workspace, message_id).startswith("submitted"))
    desk.idle()
    return message_id


def message_index(workspace: IncidentWorkspace, message_id: str) -> int:
    model = workspace.messages
    return next(i for i in range(model.rowCount()) if model.message_row(i).id == message_id)


def message_state(workspace: IncidentWorkspace, message_id: str) -> str:
    try:
        return str(workspace.messages.index(message_index(workspace, message_id), 2).data())
    except StopIteration:
        return ""


def approve_from_the_badge(desk: Desk, message_id: str, *, changed: str | None = None) -> Interactions:
    """ivan: the Approvals badge, the place, Approve. Reading the changes tab, when asked, is not counted (it is
    reading, and the approver may skip it; the limit is for approving)."""
    window, qtbot = desk.window, desk.qtbot
    people = Interactions(qtbot, desk.heart)
    desk.until(lambda: window.badge(APPROVALS)[0] >= 1)
    assert window.badge(APPROVALS)[1]  # urgent: something waits for this person
    desk.heart.step("ivan opens Approvals")
    click_place(people, window, APPROVALS)
    view = window.approvals
    desk.until(lambda: view.review is not None and view.review.message.id == message_id)
    desk.idle()
    assert view.approve_button.isEnabled() and view.verdict.text().startswith("You may approve it")
    shown = view.review
    assert shown is not None
    assert view.approve_button.text() == f"Approve v{shown.message.version} · {shown.message.content_hash[:12]}"
    if changed is not None:
        desk.heart.step("ivan reads the changes")
        bar = view.tabs.tabBar()
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
        changes = view.changes.toPlainText()
        assert changes.startswith(f"Against {shown.base}: ") and "(new words [+ like this +]" in changes
        assert f"[+{changed}" in changes, changes  # the words carla typed, marked new
    desk.heart.step("ivan approves")
    people.click(view.approve_button, "Approve")
    desk.until(view.result.isVisible)
    assert view.result.text().startswith(f"✔ Approved {message_id} v{shown.message.version}"), view.result.text()
    return people


def publish(desk: Desk, people: Interactions, workspace: IncidentWorkspace, message_id: str, mode: Mode) -> None:
    """carla: the approved message's row (double-click opens Publish…), the phrase typed, the publish button."""
    desk.heart.step("opening Publish")
    desk.until(lambda: message_state(workspace, message_id).startswith("approved"))
    table = workspace.messages_table
    people.double_click_row(table, workspace.messages.index(message_index(workspace, message_id), 1),
                            "double-click the approved message (Publish…)")  # fmt: skip
    dialog = workspace.dialog
    assert isinstance(dialog, PublishDialog) and dialog.isVisible()
    desk.until(lambda: dialog.preview is not None)
    check_publish_words(dialog, message_id, mode)
    desk.heart.step("typing the phrase")
    desk.type(dialog.phrase, dialog.phrase_label.text())  # the phrase: not counted
    desk.heart.step("publishing")
    people.click(dialog.publish_button, dialog.publish_button.text())
    desk.until(lambda: dialog.outcome is not None)
    assert dialog.result_label.text().startswith("✔ Sent EXERCISE" if mode is Mode.EXERCISE else "✔ Published LIVE")
    desk.qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)  # now "Close"
    desk.until(lambda: not dialog.isVisible())


def check_publish_words(dialog: PublishDialog, message_id: str, mode: Mode) -> None:
    """LIVE and EXERCISE read differently: band, heading, meaning, phrase, button."""
    assert dialog.preview is not None
    channels = len(dialog.preview.channels)
    if mode is Mode.EXERCISE:
        assert dialog.band.label.text().startswith("▨  EXERCISE")
        assert dialog.heading.text().startswith(f"Send EXERCISE {message_id}")
        assert dialog.meaning.text().startswith("EXERCISE: these texts go to exercise channels only")
        assert dialog.phrase_label.text() == f"SEND EXERCISE {message_id}"
        assert dialog.publish_button.text() == f"▨ Send EXERCISE to {channels} exercise channels"
        assert "drill-page (folder, EXERCISE)" in dialog.channels.text() and "LIVE" not in dialog.channels.text()
    else:
        assert dialog.band.label.text().startswith("●  LIVE")
        assert dialog.heading.text().startswith(f"Publish LIVE {message_id}")
        assert dialog.meaning.text().startswith("LIVE: these texts go to the public")
        assert dialog.phrase_label.text() == f"PUBLISH LIVE {message_id}"
        assert dialog.publish_button.text() == f"● Publish LIVE to {channels} channels"
        assert "county-page (folder, LIVE)" in dialog.channels.text() and "EXERCISE" not in dialog.channels.text()
    assert channels == 2 and not dialog.blocked.isVisible()


def open_from_the_board(desk: Desk, people: Interactions) -> IncidentWorkspace:
    window = desk.window
    view = window.incidents
    assert window.current_place() == INCIDENTS
    desk.heart.step("opening the incident from the board")
    people.double_click_row(view.table, view.proxy.index(0, 1), "double-click the incident on the board")
    desk.until(lambda: view.workspace is not None and view.workspace.space is not None)
    assert view.workspace is not None
    desk.idle()
    return view.workspace


def delivered(desk: Desk, workspace: IncidentWorkspace, message_id: str, page: str) -> None:
    """The worker sent it to every channel; the workspace's row and its deliveries say so."""
    desk.heart.step("waiting for the delivery")

    def cells() -> str:
        return str(workspace.messages.index(message_index(workspace, message_id), 4).data())

    desk.until(lambda: cells().count(": sent") == 2)
    assert f"{page}: sent" in cells()
    desk.heart.step("reading the deliveries")
    workspace.messages_table.selectRow(message_index(workspace, message_id))
    desk.qtbot.mouseClick(workspace.deliveries_button, Qt.MouseButton.LeftButton)
    view = workspace.hosted
    assert isinstance(view, DeliveriesView)
    desk.until(lambda: view.model.rowCount() == 2)
    states = {view.model.row(i).row.account: view.model.cells(view.model.row(i))[2] for i in range(2)}
    assert states[page] == "✔ sent", states
    desk.qtbot.mouseClick(workspace.hosted_back, Qt.MouseButton.LeftButton)
    desk.until(lambda: workspace.pages.currentIndex() == 0)
    desk.idle()


# -- the flow ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.EXERCISE, Mode.LIVE], ids=["exercise", "live"])
def test_a_whole_incident_from_the_window_with_two_people(
    desk: Desk, core: App, clock: FixedClock, mode: Mode, record_property: Callable[[str, object], None]
) -> None:
    qtbot = desk.qtbot
    page, other = ("drill-page", "county-page") if mode is Mode.EXERCISE else ("county-page", "drill-page")
    word = mode.value.upper()
    window = desk.console.open_window(core.people.actor("carla"))  # carla has signed in
    window.resize(1280, 860)
    desk.until(lambda: not window.session.tasks.busy and window.incidents.empty.text() != "")
    with desk.heart as heart:
        # -- carla: from the Incidents view to a submitted alert ----------------------------------------------------
        carla = Interactions(qtbot, heart)
        workspace = open_incident(desk, carla, mode)
        composer = draft(desk, carla, workspace, "alert")
        assert composer.band.label.text().startswith("▨  EXERCISE" if mode is Mode.EXERCISE else "●  LIVE")
        # The targets: the incident mode's accounts only, both ticked by default; the other mode's never offered.
        items = [composer.channel_list.item(i) for i in range(composer.channel_list.count())]
        offered = {str(i.data(Qt.ItemDataRole.UserRole)): i.text() for i in items}
        assert set(offered) == {page, "exercise-page" if mode is Mode.EXERCISE else "public-page"}, offered
        assert all(text.endswith(f"· {word}") for text in offered.values())
        assert set(composer.checked_channels()) == set(offered)
        assert f"This is {'an' if mode is Mode.EXERCISE else 'a'} {word} message: only {word} channels are offered" in (
            composer.channels_about.text()
        )
        edit_web_text(desk, carla, composer, "turn around.", EDIT)
        alert = submit(desk, carla, workspace, composer)
        before_approval = carla.count

        # -- ivan signs in at the same console and approves from the badge ------------------------------------------
        desk.switch_to("ivan")
        ivan = approve_from_the_badge(desk, alert)
        assert ivan.count <= 3, ivan.steps

        # -- carla signs in again and publishes with the phrase -----------------------------------------------------
        desk.switch_to("carla")
        workspace = open_from_the_board(desk, carla)
        publish(desk, carla, workspace, alert, mode)
        assert carla.count <= 12, carla.steps  # issue 12 item 11 (for EXERCISE; LIVE takes the same path)
        record_property("communicator", carla.steps)
        record_property("approver", ivan.steps)
        counts = {"communicator": carla.count, "approver": ivan.count, "before_approval": before_approval}

        # -- the outbox worker delivers: the page on disk, the deliveries in place ---------------------------------
        delivered(desk, workspace, alert, page)
        text = desk.page(page)
        assert EDIT.strip() in text and f'id="{alert}-' in text
        assert alert not in desk.page(other)  # never on the other mode's page
        if mode is Mode.EXERCISE:
            assert "EXERCISE EXERCISE EXERCISE" in text

        # -- an update, its changes read in the composer and in Approvals -------------------------------------------
        clock.advance(timedelta(minutes=20))
        composer = draft(desk, carla, workspace, "update")
        bar = composer.tabs.tabBar()
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())  # Changes
        edit_web_text(desk, carla, composer, "Many roads are closed.", UPDATE_EDIT)
        changes = composer.diff_view.toPlainText()
        assert f"Public page [en]: what changes against {alert} v2 (as published)" in changes
        # The typed words are new against the published alert: underlined (not colour alone).
        cursor = composer.diff_view.textCursor()
        cursor.setPosition(changes.index("Street bridge") + 2)
        assert cursor.charFormat().fontUnderline()
        assert "Texts that differ from the published version: " in changes
        update = submit(desk, carla, workspace, composer, shortcut=True)
        desk.switch_to("ivan")
        approve_from_the_badge(desk, update, changed="Street bridge is closed+]")
        desk.switch_to("carla")
        workspace = open_from_the_board(desk, carla)
        publish(desk, carla, workspace, update, mode)
        delivered(desk, workspace, update, page)
        assert UPDATE_EDIT.strip() in desk.page(page)

        # -- False alarm…: the cancel and the correction, approved, published, delivered, the time recorded -------
        clock.advance(timedelta(minutes=3))
        heart.step("False alarm")
        qtbot.mouseClick(workspace.false_alarm_button, Qt.MouseButton.LeftButton)
        dialog = workspace.dialog
        assert isinstance(dialog, FalseAlarmDialog) and dialog.isVisible()
        desk.until(lambda: dialog.preview is not None and bool(dialog.preview.references))
        clicked = dialog.clicked_at
        assert word in dialog.windowTitle() and word in dialog.heading.text()
        assert f"{page} (folder)" in dialog.channels.text() and other not in dialog.channels.text()
        heart.step("saying what was wrong")
        desk.type(dialog.fact, WRONG)
        desk.until(lambda: WRONG in dialog.correction_box.texts["en"].toPlainText())
        heart.step("submitting the false alarm")
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        desk.until(lambda: dialog.progress is not None)
        progress = dialog.progress
        assert progress is not None and "since False alarm… was clicked" in dialog.elapsed.text()
        steps = [progress.cancel.message_id, progress.correction.message_id]
        desk.idle()
        clock.advance(timedelta(seconds=40))
        desk.switch_to("ivan")
        view = desk.window.approvals
        approve_from_the_badge(desk, steps[0])
        heart.step("ivan approves the correction")
        desk.until(lambda: view.proxy.rowCount() == 1 and view.proxy.entry(0).message_id == steps[1])
        qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.table.visualRect(view.proxy.index(0, 1)).center())  # fmt: skip
        desk.until(lambda: view.review is not None and view.review.message.id == steps[1])
        desk.until(view.approve_button.isEnabled)
        qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
        desk.until(lambda: view.result.text().startswith(f"✔ Approved {steps[1]}"))
        clock.advance(timedelta(seconds=30))
        desk.switch_to("carla")
        workspace = open_from_the_board(desk, carla)
        heart.step("False alarm again")
        qtbot.mouseClick(workspace.false_alarm_button, Qt.MouseButton.LeftButton)
        dialog = workspace.dialog
        assert isinstance(dialog, FalseAlarmDialog)
        # The false alarm under way is followed, with its clock from the first click.
        desk.until(lambda: dialog.progress is not None and dialog.publish_correction.isEnabled())
        assert dialog.clicked_at == clicked
        for which, button in (("cancel", dialog.publish_cancel), ("correction", dialog.publish_correction)):
            heart.step(f"publishing the {which}")
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            publishing = dialog.publish_dialog
            assert isinstance(publishing, PublishDialog) and publishing.isVisible()
            desk.until(lambda p=publishing: p.preview is not None)  # type: ignore[misc]
            check_publish_words(publishing, publishing.message_id, mode)
            desk.type(publishing.phrase, publishing.phrase_label.text())
            qtbot.mouseClick(publishing.publish_button, Qt.MouseButton.LeftButton)
            desk.until(lambda p=publishing: p.outcome is not None)  # type: ignore[misc]
            qtbot.mouseClick(publishing.cancel_button, Qt.MouseButton.LeftButton)
        heart.step("waiting for the correction")
        desk.until(lambda: dialog.elapsed.text().startswith("✔ Correction confirmed on every channel"))
        desk.until(lambda: "recorded in the audit log" in dialog.elapsed.text())
        # The clock stands still but where the test moves it: 40 s to approve, 30 s to publish; sent at once.
        assert "1 min 10 s after False alarm… was clicked" in dialog.elapsed.text()
        timed = [e for e in core.log.events() if e.kind == Kind.FALSE_ALARM_CORRECTED]
        assert [e.payload["correction"] for e in timed] == [steps[1]]
        corrected = desk.page(page)
        assert WRONG in corrected and f'id="{alert}-' not in corrected  # corrected, and the wrong alert taken down
        desk.idle()

    record_property("heartbeat", heart.report())
    busy = {name: round(t * 1000) for name, t in heart.busiest.items() if t >= bound(name)}
    assert heart.beats > 100
    assert not busy, f"the GUI thread was kept busy past its bound between two beats:\n{heart.report()}"
    # What was measured, for bench/README.md (shown with -s).
    said = [f"{word}: communicator {counts['communicator']} ({counts['before_approval']} before the approval)"]
    said += [f"  {i}. {what}" for i, what in enumerate(carla.steps[: counts["communicator"]], 1)]
    said += [f"approver {counts['approver']}"] + [f"  {i}. {what}" for i, what in enumerate(ivan.steps, 1)]
    print("\n" + "\n".join(said) + f"\nGUI thread, busiest between two beats, per step:\n{heart.report()}")


def test_refusals_are_shown_in_the_window(desk: Desk, core: App, admin: Actor) -> None:
    """carla may approve (communicator and approver) but not her own version: the reason is in the view. ivan's
    approval of a version that changed after he opened it is refused for its stale hash, in the window. A wrong
    phrase publishes nothing, and the dialog says which phrase to type."""
    qtbot = desk.qtbot
    core.people.grant(admin, "carla", Role.APPROVER)
    window = desk.console.open_window(core.people.actor("carla"))
    desk.until(lambda: not window.session.tasks.busy and window.incidents.empty.text() != "")
    carla = Interactions(qtbot, desk.heart)
    workspace = open_incident(desk, carla, Mode.EXERCISE)
    composer = draft(desk, carla, workspace, "alert")
    alert = submit(desk, carla, workspace, composer)

    # -- self-approval: her own version is listed only behind the filter, and not hers to approve --------------------
    click_place(carla, window, APPROVALS)
    view = window.approvals
    desk.until(lambda: view.count.text() == "Nothing waits for your approval.")
    assert window.badge(APPROVALS) == (0, False) and view.proxy.rowCount() == 0
    carla.click(view.show_every, "Show every submitted version", QPoint(8, view.show_every.height() // 2))
    desk.until(lambda: view.proxy.rowCount() == 1)
    carla.click_row(view.table, view.proxy.index(0, 1), "her own version")
    desk.until(lambda: view.review is not None and view.review.message.id == alert)
    desk.idle()
    assert view.verdict.text() == (
        f"Not yours to approve: carla wrote part of {alert} since it was last published (authors: carla); "
        "someone who wrote none of it must approve it"
    )
    assert view.verdict.isVisible() and not view.approve_button.isEnabled()

    # -- a stale hash: the version changes (at another desk) after ivan opened it ---------------------------------
    ivan_window = desk.switch_to("ivan")
    ivan = Interactions(qtbot, desk.heart)
    click_place(ivan, ivan_window, APPROVALS)
    view = ivan_window.approvals
    desk.until(lambda: view.review is not None and view.review.message.id == alert)
    desk.idle()
    seen = view.review.message.content_hash if view.review else ""
    assert view.approve_button.isEnabled() and view.approve_button.text() == f"Approve v1 · {seen[:12]}"
    with desk.heart.aside():  # carla, at another desk on the same database, changes a text and submits again
        messages = core.messages()
        sms = next(v for v in messages.show(admin, alert).variants if (v.channel, v.lang) == ("sms", "en"))
        messages.edit(core.people.actor("carla"), alert, "sms", "en", sms.text.replace("higher ground", "high ground"))
        messages.submit(core.people.actor("carla"), alert)
    ivan.click(view.approve_button, "Approve (the version he read)")  # before his window looked again
    desk.until(lambda: view.result.text().startswith("✖ Not done:"))
    now = core.messages().show(admin, alert)
    assert view.result.text().startswith(f"✖ Not done: stale hash: {alert} is now v2 with hash {now.content_hash}")
    assert view.result.isVisible() and not now.verdict.ok
    desk.until(lambda: view.review is not None and view.review.message.content_hash == now.content_hash)
    assert view.changed_notice.isVisible() and "now v2 (was v1)" in view.changed_notice.text()
    assert view.approve_button.text() == f"Approve v2 · {now.content_hash[:12]}"
    ivan.click(view.approve_button, "Approve (the version now shown)")
    desk.until(lambda: view.result.text().startswith(f"✔ Approved {alert} v2"))

    # -- a wrong phrase: nothing is published, and the dialog names the phrase to type ------------------------------
    desk.switch_to("carla")
    workspace = open_from_the_board(desk, carla)
    desk.until(lambda: message_state(workspace, alert).startswith("approved"))
    carla.double_click_row(workspace.messages_table, workspace.messages.index(message_index(workspace, alert), 1),
                           "double-click the approved message (Publish…)")  # fmt: skip
    dialog = workspace.dialog
    assert isinstance(dialog, PublishDialog)
    desk.until(lambda: dialog.preview is not None)
    desk.type(dialog.phrase, f"PUBLISH LIVE {alert}")  # the LIVE phrase for an EXERCISE message
    carla.click(dialog.publish_button, dialog.publish_button.text())
    desk.until(dialog.result_label.isVisible)
    assert dialog.result_label.text() == (
        f"✖ That is not the phrase; nothing was published. Type exactly: SEND EXERCISE {alert}"
    )
    assert dialog.isVisible() and dialog.outcome is None and dialog.phrase.selectedText() == f"PUBLISH LIVE {alert}"
    assert core.messages().show(admin, alert).state == "submitted"  # approved, not published
    assert core.outbox().rows(admin, message_id=alert) == []
    desk.type(dialog.phrase, f"SEND EXERCISE {alert}")  # replaces the selected wrong phrase
    carla.click(dialog.publish_button, dialog.publish_button.text())
    desk.until(lambda: dialog.outcome is not None)
    assert core.messages().show(admin, alert).state == "published"
    desk.until(lambda: f'id="{alert}-v2"' in desk.page("drill-page"))  # the version approved, delivered

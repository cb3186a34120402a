"""Keyboard shortcuts: Help → Keyboard shortcuts lists every key the window answers to (found by walking its
actions, shortcuts and buttons with every place and an incident's workspace and composer open), and the keys do
what the list says."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.dialogs import shortcuts
from crisisdesk.ui.dialogs.new_incident import NewIncidentDialog
from crisisdesk.ui.dialogs.shortcuts import COMMANDS, ShortcutsDialog, ShortcutsModel, listed
from crisisdesk.ui.views.composer import Composer
from crisisdesk.ui.views.main_window import APPROVALS, INCIDENTS, MONITOR, MainWindow
from tests.integration.outbox_helpers import add_team, open_incident
from tests.integration.test_incidents import FLOOD_FACTS

NATIVE = QKeySequence.SequenceFormat.NativeText


def open_window(qtbot: QtBot, core: App, who: Actor) -> MainWindow:
    window = MainWindow(core, who)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    return window


def press(qtbot: QtBot, window: MainWindow, sequence: QKeySequence) -> None:
    """The keys of ``sequence`` pressed wherever the keyboard is in ``window`` (the active window: offscreen, a
    hidden page's focus can leave no window active, which a desktop's window manager would not do)."""
    if QApplication.activeWindow() is not window:
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    combo = sequence[0]
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, combo.key(), combo.keyboardModifiers())


def key_names(shown: str) -> list[str]:
    """The keys a row of the list names: "Ctrl+N, or the New key" is Ctrl+N and New."""
    first, *others = shown.split(", or the ")
    return [first, *(o.removesuffix(" key") for o in others)]


def live_keys(window: MainWindow) -> list[tuple[str, str, str]]:
    """(keys, what, kind) of every shortcut the window holds now: actions, QShortcuts, buttons' keys."""
    found = []
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            found.append((sequence.toString(NATIVE), action.text().replace("&", ""), "action"))
    for shortcut in window.findChildren(QShortcut):
        found.append((shortcut.key().toString(NATIVE), shortcut.whatsThis(), "shortcut"))
    for button in window.findChildren(QAbstractButton):
        if not button.shortcut().isEmpty():
            found.append((button.shortcut().toString(NATIVE), button.accessibleName(), "button"))
    return found


def everything_open(qtbot: QtBot, core: App, admin: Actor) -> MainWindow:
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    draft = core.messages().draft(team["carla"], incident, "alert")
    window = open_window(qtbot, core, team["carla"])
    for name in window.places:
        window.show_place(name)
    window.show_place(INCIDENTS)
    window.incidents.open_incident(incident)
    workspace = window.incidents.workspace
    assert workspace is not None
    workspace.open_composer(draft.id)
    return window


def test_the_shortcuts_dialog_lists_every_key_the_window_answers_to(qtbot: QtBot, core: App, admin: Actor) -> None:
    window = everything_open(qtbot, core, admin)
    dialog = window.show_shortcuts()
    assert isinstance(dialog, ShortcutsDialog) and dialog.isVisible()
    listed = dialog.shown()
    listed_keys = {k for _, _, keys in listed for k in key_names(keys)}
    live = live_keys(window)
    assert len(live) >= len(COMMANDS) + len(window.places)
    missing = [f"{keys} ({what}, {kind})" for keys, what, kind in live if keys and keys not in listed_keys]
    assert missing == []
    # Each key is listed with what it does, in the words of the menu or the view that holds it.
    for keys, what, kind in live:
        if kind != "button":
            rows = [w.replace("…", "") for _, w, k in listed if keys in key_names(k)]
            assert what.replace("…", "") in rows, f"{keys}: {what!r} not in {rows}"
    # Every command of the table is bound somewhere in the window (no entry lists a key that does nothing).
    bound = {shortcuts.command_of(o) for o in [*window.findChildren(QAction), *window.findChildren(QShortcut)]}
    buttons = {b.shortcut().toString(NATIVE) for b in window.findChildren(QAbstractButton)}
    unbound = [name for name, c in COMMANDS.items() if name not in bound and c.text() not in buttons]
    assert unbound == []
    # A key held twice by the window would be ambiguous: Qt would do neither.
    window_keys = [k for k, _, kind in live if kind == "action"]
    assert len(window_keys) == len(set(window_keys))
    view_keys = {k for k, _, kind in live if kind != "action"}
    assert view_keys.isdisjoint(window_keys)
    # The check can fail: a key made outside the table is found missing.
    stray = QShortcut(QKeySequence("Ctrl+Shift+Y"), window)
    assert any(keys == stray.key().toString(NATIVE) for keys, _, _ in live_keys(window))
    assert stray.key().toString(NATIVE) not in listed_keys


# Keys a text field takes on a common desktop (Qt's X11, GNOME, KDE, Windows and macOS editing bindings): a command on
# one of them would edit the field the keyboard is in instead.
TEXT_KEYS = {
    "Ctrl+A", "Ctrl+Shift+A", "Ctrl+C", "Ctrl+V", "Ctrl+X", "Ctrl+Z", "Ctrl+Y", "Ctrl+Shift+Z", "Ctrl+D", "Ctrl+K",
    "Ctrl+U", "Ctrl+H", "Ctrl+E", "Ctrl+Left", "Ctrl+Right", "Ctrl+Backspace", "Ctrl+Del", "Ctrl+Insert",
    "Shift+Insert", "Shift+Del", "Shift+Return", "Ctrl+Home", "Ctrl+End",
}  # fmt: skip


def test_no_command_takes_a_key_text_fields_use() -> None:
    taken = {s.toString(QKeySequence.SequenceFormat.PortableText) for c in COMMANDS.values() for s in c.sequences()}
    assert taken.isdisjoint(TEXT_KEYS), taken & TEXT_KEYS
    for number in range(1, 10):
        assert f"Ctrl+{number}" not in taken  # the places' own


def test_pressing_the_keys_does_the_actions(qtbot: QtBot, core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    elm = "Bridge out on Elm"
    opened = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, title=elm, facts=FLOOD_FACTS)
    other = opened.id
    window = open_window(qtbot, core, team["carla"])

    # Help: the list of shortcuts.
    press(qtbot, window, COMMANDS["shortcuts"].sequences()[0])
    assert isinstance(window.shortcuts_dialog, ShortcutsDialog) and window.shortcuts_dialog.isVisible()
    window.shortcuts_dialog.close()

    # Find: the board's search takes the keyboard and filters the incidents.
    window.nav.setFocus()
    press(qtbot, window, COMMANDS["find"].sequences()[0])
    search = window.incidents.search
    assert QApplication.focusWidget() is search
    qtbot.keyClicks(search, "Elm")
    assert window.incidents.proxy.rowCount() == 1
    assert window.incidents.empty.text() == "1 of 2 incidents match “Elm”."
    # Open the selected incident: its workspace.
    window.incidents.table.selectRow(0)
    press(qtbot, window, COMMANDS["open_incident"].sequences()[0])
    workspace = window.incidents.workspace
    assert workspace is not None and workspace.incident_id == other
    # Draft: the composer, with the chosen type's message.
    press(qtbot, window, COMMANDS["draft"].sequences()[0])
    assert isinstance(workspace.hosted, Composer) and workspace.pages.currentIndex() == 1
    # Back: to the incident, then to the board.
    press(qtbot, window, COMMANDS["back"].sequences()[0])
    qtbot.waitUntil(lambda: workspace.pages.currentIndex() == 0)  # a button's key clicks it, animated
    press(qtbot, window, COMMANDS["back"].sequences()[0])
    qtbot.waitUntil(lambda: window.incidents.workspace is None and window.incidents.pages.currentIndex() == 0)

    # New incident from another place: the board comes forward with the dialog.
    press(qtbot, window, QKeySequence("Ctrl+3"))
    assert window.current_place() == MONITOR
    press(qtbot, window, COMMANDS["new_incident"].sequences()[0])
    assert window.current_place() == INCIDENTS
    assert isinstance(window.incidents.dialog, NewIncidentDialog) and window.incidents.dialog.isVisible()
    window.incidents.dialog.reject()
    assert other != incident


def test_an_approver_approves_and_returns_with_the_keys(qtbot: QtBot, core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    first = core.messages().draft(team["carla"], incident, "alert")
    core.messages().submit(team["carla"], first.id)
    window = open_window(qtbot, core, team["ivan"])
    press(qtbot, window, QKeySequence("Ctrl+2"))
    assert window.current_place() == APPROVALS
    view = window.approvals
    assert view.review is not None and view.review.message.id == first.id
    # Return needs a comment: without one the key does nothing.
    view.comment.setFocus()
    press(qtbot, window, COMMANDS["return"].sequences()[0])
    assert core.messages().show(team["ivan"], first.id).state == "submitted"
    qtbot.keyClicks(view.comment, "Say which road is closed")
    assert isinstance(QApplication.focusWidget(), QLineEdit)
    press(qtbot, window, COMMANDS["return"].sequences()[0])
    assert core.messages().show(team["ivan"], first.id).state == "returned"
    # Resubmitted, approved with the key (the keyboard still in the comment field).
    core.messages().submit(team["carla"], first.id)
    window.refresh()
    view.open_message(first.id)
    assert view.approve_button.isEnabled()
    view.comment.setFocus()
    press(qtbot, window, COMMANDS["approve"].sequences()[0])
    assert core.messages().show(team["ivan"], first.id).approvals, "the approve key approved nothing"


def test_the_shortcuts_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = ShortcutsModel()
    model.set_rows(listed(["Incidents", "Approvals", "Monitor"]))
    assert model.rowCount() == len(COMMANDS) + 3
    qtmodeltester.check(model)

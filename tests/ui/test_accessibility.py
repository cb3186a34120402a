"""Every control a person operates has a name a screen reader can say: the main window and each of its places
(walked generically, so a place added later is checked too), an incident's workspace with its fact form, the
composer and the deliveries, and every dialog.

What counts as named, following what Qt's accessibility layer reports as a control's name
(``QAccessibleInterface.text(Name)``):

- its ``accessibleName``;
- or, for a field, the text of the label bound to it with ``QLabel.setBuddy`` (Qt reads the buddy's text);
- or, for a button or check box, its own visible words (Qt reads a button's text). A button of symbols only
  ("…", "⚠") is not named by them.

Not counted: a combo box's current item, a tab bar's current tab (Qt reports them as the name, but they say
what is chosen, not what the control is for). Qt's own parts of a control (object names ``qt_*``: a spin box's
line edit, a tab widget's tab bar, a calendar's buttons; a table's header and corner button; a combo box's popup
list; a line edit's clear button; scroll bars) are
named by Qt or reached through the control that holds them, which must be named itself.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QCalendarWidget,
    QComboBox,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollBar,
    QTabBar,
    QTabWidget,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.dialogs.false_alarm import FalseAlarmDialog
from crisisdesk.ui.dialogs.new_incident import NewIncidentDialog
from crisisdesk.ui.dialogs.publish import PublishDialog
from crisisdesk.ui.dialogs.shortcuts import ShortcutsDialog
from crisisdesk.ui.dialogs.sign_in import FirstRunDialog, LoginDialog
from crisisdesk.ui.views.composer import Composer
from crisisdesk.ui.views.deliveries import DeliveriesView
from crisisdesk.ui.views.main_window import MainWindow
from tests.integration.outbox_helpers import add_team, open_incident, publish

CONTROLS = (
    QAbstractButton,  # push, tool, check and radio buttons
    QLineEdit,
    QTextEdit,
    QPlainTextEdit,
    QComboBox,
    QAbstractSpinBox,  # spin boxes, date and time edits
    QAbstractItemView,  # tables, lists, trees
    QTabBar,
    QTabWidget,
    QAbstractSlider,
    QCalendarWidget,
)
WORDS = re.compile(r"[^\W\d_]{2,}")  # at least one word of letters


def own_words(widget: QWidget) -> str:
    if isinstance(widget, QAbstractButton):
        return widget.text().replace("&", "")
    return ""


def is_qt_part(widget: QWidget) -> bool:
    """A part Qt builds inside a control (and names or exposes through it), not one of ours."""
    if isinstance(widget, QScrollBar) or widget.objectName().startswith("qt_"):
        return True
    parent = widget.parentWidget()
    if isinstance(parent, QAbstractItemView) and (
        isinstance(widget, QHeaderView) or widget.metaObject().className() == "QTableCornerButton"
    ):
        return True
    while parent is not None:  # a combo box's popup list, a line edit's clear button
        if isinstance(parent, QComboBox | QLineEdit | QAbstractSpinBox):
            return True
        parent = parent.parentWidget()
    return False


def unnamed(root: QWidget, apart: QWidget | None = None) -> list[str]:
    """Each control under ``root`` (shown or hidden: a hidden one is shown later) with no name, described so it
    can be found; those under ``apart`` are left to another check."""
    buddies = {id(label.buddy()) for label in root.findChildren(QLabel) if label.buddy() is not None and label.text()}
    left = {id(w) for w in apart.findChildren(QWidget)} if apart is not None else set()
    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not isinstance(widget, CONTROLS) or is_qt_part(widget) or id(widget) in left:
            continue
        if widget.accessibleName().strip() or id(widget) in buddies or WORDS.search(own_words(widget)):
            continue
        where = []
        parent = widget.parentWidget()
        while parent is not None and len(where) < 3:
            where.append(parent.accessibleName() or type(parent).__name__)
            parent = parent.parentWidget()
        text = own_words(widget) or (widget.placeholderText() if isinstance(widget, QLineEdit) else "")
        missing.append(f"{type(widget).__name__} {text!r} in {' < '.join(where)}")
    return missing


def open_window(qtbot: QtBot, core: App, who: Actor) -> MainWindow:
    window = MainWindow(core, who)
    qtbot.addWidget(window)
    window.show()
    return window


def test_the_check_finds_an_unnamed_control() -> None:
    root = QWidget()
    QLineEdit(root)
    named = QLineEdit(root)
    named.setAccessibleName("Title")
    bound = QLineEdit(root)
    QLabel("&Where", root).setBuddy(bound)
    QPushButton("Save text", root)
    QPushButton("…", root)
    QComboBox(root).addItem("flash-flood")
    assert unnamed(root) == [
        "QLineEdit '' in QWidget",
        "QPushButton '…' in QWidget",
        "QComboBox '' in QWidget",
    ]


def test_every_place_of_the_window_names_its_controls(qtbot: QtBot, core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    publish(core, team, incident, ["public-page"])
    waiting = core.messages().draft(team["carla"], incident, "update")
    core.messages().submit(team["carla"], waiting.id)
    window = open_window(qtbot, core, admin)
    found = {"window": unnamed(window, apart=window.stack)}  # the header, the navigation, the status bar
    for name in window.places:  # every place there is, today's and those added later
        window.show_place(name)
        found[name] = unnamed(window.place(name))
    assert {place: missing for place, missing in found.items() if missing} == {}


def test_an_incident_its_facts_composer_and_deliveries_name_their_controls(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    published = publish(core, team, incident, ["public-page"])
    core.outbox().run_once()
    draft = core.messages().draft(team["carla"], incident, "update")
    window = open_window(qtbot, core, team["carla"])
    window.incidents.open_incident(incident)
    workspace = window.incidents.workspace
    assert workspace is not None and workspace.form is not None and workspace.form.editors
    assert unnamed(workspace) == []
    workspace.ask_close()  # the confirmation, whose safe answer is the default
    assert workspace.confirm_box is not None and unnamed(workspace.confirm_box) == []
    workspace.confirm_box.reject()
    workspace.open_composer(draft.id)
    assert isinstance(workspace.hosted, Composer)
    for index in range(workspace.hosted.tabs.count()):  # each tab's page is built when first shown
        workspace.hosted.tabs.setCurrentIndex(index)
    assert unnamed(workspace.hosted) == []
    workspace.open_deliveries(published.id)
    deliveries = workspace.hosted
    assert isinstance(deliveries, DeliveriesView) and deliveries.model.rowCount() == 1
    assert unnamed(deliveries) == []
    deliveries.ask_retract(one_channel=False)
    boxes = [b for b in deliveries.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and unnamed(boxes[0]) == []
    assert unnamed(window.open_deliveries(published.id)) == []


def test_every_dialog_names_its_controls(qtbot: QtBot, core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    incident = open_incident(core, team, Mode.LIVE)
    publish(core, team, incident, ["public-page"])
    core.outbox().run_once()
    approved = core.messages().draft(team["carla"], incident, "update")
    core.messages().submit(team["carla"], approved.id)
    core.messages().approve(team["ivan"], approved.id, core.messages().show(team["ivan"], approved.id).content_hash)
    window = open_window(qtbot, core, team["carla"])
    dialogs: dict[str, QDialog] = {
        "sign in": LoginDialog(core.people),
        "locked": LoginDialog(core.people, locked_by="carla", why=" after 5 minutes without input"),
        "first run": FirstRunDialog(core.people, str(core.db.path), setup=lambda *_: None),
        "new incident": NewIncidentDialog(window.session, window),
        "publish": PublishDialog(window.session, approved.id, parent=window),
        "break glass": PublishDialog(window.session, approved.id, break_glass=True, parent=window),
        "false alarm": FalseAlarmDialog(window.session, incident, window),
        "shortcuts": ShortcutsDialog(window.places, window),
    }
    new = dialogs["new incident"]
    assert isinstance(new, NewIncidentDialog)
    new.show()
    qtbot.keyClicks(new.search, "flash")
    qtbot.mouseClick(new.mode_buttons[Mode.EXERCISE], Qt.MouseButton.LeftButton)
    first_page = unnamed(new)
    qtbot.mouseClick(new.next_button, Qt.MouseButton.LeftButton)  # the facts page, with its fact form
    assert new.form is not None and new.form.editors
    found = {name: unnamed(dialog) for name, dialog in dialogs.items()}
    found["new incident (playbook and mode)"] = first_page
    assert {name: missing for name, missing in found.items() if missing} == {}

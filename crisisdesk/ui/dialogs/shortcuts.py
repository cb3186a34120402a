"""The console's keyboard shortcuts, in one table, and the Help → Keyboard shortcuts dialog that lists them.

Every shortcut is made from ``COMMANDS`` (``action`` for the window's menu entries, ``bind`` for a view's own keys,
``keys`` for a button's), so the dialog, which lists the table, says what the keys do. A view's keys work only while
the view is shown (Qt's window context wants the shortcut's widget visible), so two views may not clash, and none
may take a key the window's menus hold. Nor a key a text field takes on some desktop (Ctrl+D deletes a character
and Ctrl+Shift+A deselects on X11): the field would take it while it has the keyboard. ``tests/ui/test_shortcuts.py``
walks the window's actions, shortcuts and buttons and checks each against the dialog.

    bind(self, "approve", self.approve_button.click)        # a view's key; a disabled button ignores it
    self.lock_action = action(window, "lock")               # a menu entry with its key
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from crisisdesk.ui.models.rows import RowsModel
from crisisdesk.ui.views.tables import row_table

Keys = QKeySequence.StandardKey | str

WINDOW = "Anywhere in the window"
BOARD = "Incident board"
WORKSPACE = "Incident workspace"
COMPOSER = "Composer"
APPROVALS = "Approvals"


@dataclass(frozen=True)
class Command:
    what: str  # what the keys do, in the menu's words
    keys: Keys  # a standard key where the platform has one (Save, Find, Quit...), else a fixed sequence
    where: str  # where the keys work

    def sequences(self) -> list[QKeySequence]:
        if isinstance(self.keys, QKeySequence.StandardKey):
            return QKeySequence.keyBindings(self.keys) or [QKeySequence(self.keys)]
        return [QKeySequence(self.keys)]

    def text(self) -> str:
        """The keys as a person reads them; a standard key's other bindings are a keyboard's dedicated keys."""
        return self.sequences()[0].toString(QKeySequence.SequenceFormat.NativeText)

    def all_text(self) -> str:
        """Every binding: "Ctrl+N, or the New key" (a keyboard's dedicated key, where it has one)."""
        first, *others = (s.toString(QKeySequence.SequenceFormat.NativeText) for s in self.sequences())
        return first + "".join(f", or the {other} key" for other in others)


COMMANDS: dict[str, Command] = {
    "new_incident": Command("New incident…", QKeySequence.StandardKey.New, WINDOW),
    "find": Command("Search or filter this place", QKeySequence.StandardKey.Find, WINDOW),
    "refresh": Command("Refresh", QKeySequence.StandardKey.Refresh, WINDOW),
    "lock": Command("Lock the console", "Ctrl+L", WINDOW),
    "sign_out": Command("Sign out", "Ctrl+Shift+O", WINDOW),
    "quit": Command("Quit", "Ctrl+Q", WINDOW),  # the standard Quit has no binding on some platforms
    "shortcuts": Command("Keyboard shortcuts", QKeySequence.StandardKey.HelpContents, WINDOW),
    "open_incident": Command("Open the selected incident", QKeySequence.StandardKey.Open, BOARD),
    "back": Command("Back (to the board, or to the incident)", "Alt+Left", WORKSPACE),
    "draft": Command("Draft a message of the chosen type", "Ctrl+Shift+D", WORKSPACE),
    "publish": Command("Publish the selected message…", "Ctrl+Shift+P", WORKSPACE),
    "false_alarm": Command("False alarm…", "Ctrl+Shift+F", WORKSPACE),
    "save": Command("Save this text", QKeySequence.StandardKey.Save, COMPOSER),
    "submit": Command("Submit for approval", "Ctrl+Return", COMPOSER),
    "approve": Command("Approve this exact version", "Ctrl+Shift+Return", APPROVALS),
    "return": Command("Return with the comment", "Ctrl+Shift+R", APPROVALS),
}
GO_TO = "Go to {place}"  # Ctrl+1 … Ctrl+9, one per place, made by the window with each place


def keys(command: str) -> QKeySequence:
    """The first key sequence of ``command`` (for a button's ``setShortcut``)."""
    return COMMANDS[command].sequences()[0]


def action(parent: QWidget, command: str, mnemonic: str = "") -> QAction:
    """A window action for ``command``: its words (with ``mnemonic``, a letter of them, underlined in the menu)
    and its keys (every binding of a standard key)."""
    c = COMMANDS[command]
    at = c.what.find(mnemonic) if mnemonic else -1
    made = QAction(c.what if at < 0 else f"{c.what[:at]}&{c.what[at:]}", parent)
    made.setShortcuts(c.sequences())
    made.setObjectName(f"command:{command}")
    made.setToolTip(f"{c.what} ({c.text()})")
    parent.addAction(made)  # its keys work while the window is active, with or without a menu open
    return made


def bind(parent: QWidget, command: str, slot: Callable[[], object]) -> list[QShortcut]:
    """``command``'s keys on ``parent``: they work while ``parent`` is shown in the active window."""
    c = COMMANDS[command]
    made = []
    for sequence in c.sequences():
        shortcut = QShortcut(sequence, parent)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.setObjectName(f"command:{command}")
        shortcut.setWhatsThis(c.what)
        shortcut.activated.connect(slot)
        made.append(shortcut)
    return made


@dataclass(frozen=True)
class ShortcutRow:
    where: str
    what: str
    keys: str


class ShortcutsModel(RowsModel[ShortcutRow]):
    columns = ("Where", "What", "Keys")

    def cells(self, row: ShortcutRow) -> tuple[str, ...]:
        return (row.where, row.what, row.keys)


def listed(places: list[str]) -> list[ShortcutRow]:
    """Every shortcut: the table's, and one Go to per place (the window's navigation, Ctrl+<its number>)."""
    rows = [ShortcutRow(c.where, c.what, c.all_text()) for c in COMMANDS.values() if c.where == WINDOW]
    for number, place in enumerate(places[:9], start=1):
        shown = QKeySequence(f"Ctrl+{number}").toString(QKeySequence.SequenceFormat.NativeText)
        rows.append(ShortcutRow(WINDOW, GO_TO.format(place=place), shown))
    rows += [ShortcutRow(c.where, c.what, c.all_text()) for c in COMMANDS.values() if c.where != WINDOW]
    return rows


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: where each works, what it does, its keys."""

    def __init__(self, places: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.resize(700, 560)
        layout = QVBoxLayout(self)
        intro = QLabel("Keys for the main actions. A place's keys work while that place is shown.")
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        intro.setAccessibleName("About these shortcuts")
        layout.addWidget(intro)
        self.model = ShortcutsModel()
        self.model.set_rows(listed(places))
        self.table = row_table(self.model, (170, 300, 0), 2)
        self.table.setAccessibleName("Keyboard shortcuts: where, what, keys")
        rows = self.table.verticalHeader().defaultSectionSize() * (self.model.rowCount() + 1)
        self.table.setMinimumHeight(rows + self.table.horizontalHeader().sizeHint().height())  # all, no scrolling
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close the shortcuts list")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def shown(self) -> list[tuple[str, str, str]]:
        return [self.model.cells(r) for r in self.model.rows]  # type: ignore[misc]


def command_of(obj: QObject) -> str | None:
    """The command an action or shortcut was made for (see ``action`` and ``bind``), if any."""
    name = obj.objectName()
    return name.removeprefix("command:") if name.startswith("command:") else None

"""What the Settings pages share: the line that says why a page is read-only, the line that says what happened,
and a question asked before a change that cannot simply be undone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QTableView, QWidget

from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.ui import palette
from crisisdesk.ui.views.chrome import roles_text

R = TypeVar("R")


class _NamedRows(Protocol[R]):
    def find(self, name: str) -> int: ...
    def row(self, index: int) -> R: ...
    def set_rows(self, fetched: Sequence[R]) -> None: ...


def plain_label(text: str = "", *, name: str, state: palette.State | None = None) -> QLabel:
    """A wrapped label of plain text (messages quote what people typed: never rich text)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if state is not None:
        label.setStyleSheet(palette.text_style(state, bold=state != "muted"))
    return label


def read_only_note(actor: Actor, permission: Permission, what: str) -> QLabel | None:
    """The line a person who may not change ``what`` reads at the top of the page (None for one who may)."""
    if actor.may(permission):
        return None
    return plain_label(
        f"Read-only: only an admin changes {what}. You are signed in as {actor.name} ({roles_text(actor)}).",
        name="Why this page is read-only",
        state="muted",
    )


class StatusLine(QLabel):
    """One line under a page's controls: what a change did, or why it was refused."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAccessibleName(name)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state: palette.State | None = None

    def say(self, text: str, state: palette.State = "ok") -> None:
        self.state = state
        self.setStyleSheet(palette.text_style(state, bold=state == "bad"))
        self.setText(text)


def ask(parent: QWidget, title: str, question: str, yes: str, then: Callable[[], object]) -> QMessageBox:
    """Ask before a change; ``then`` runs only if ``yes`` is pressed. Not modal-blocking (the window keeps
    drawing); the box is returned for a test to press its buttons."""
    box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setAccessibleName(title)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    yes_button.setAccessibleName(yes)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setAccessibleName("Cancel")
    box.setDefaultButton(cancel)  # Enter never confirms by accident
    box.buttonClicked.connect(lambda pressed: then() if pressed is yes_button else None)
    box.open()
    return box


class NamedSelection(Generic[R]):
    """A page's table of named rows (people, accounts) and its one selected row, kept by name across a reload, or
    moved to the row a change just made (``after``)."""

    def __init__(self, table: QTableView, model: _NamedRows[R], name_of: Callable[[R], str]) -> None:
        self.table, self.model, self.name_of = table, model, name_of
        self.after: str | None = None

    def selected(self) -> R | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(rows[0].row()) if rows else None

    def select(self, name: str) -> None:
        row = self.model.find(name)
        if row >= 0:
            self.table.selectRow(row)

    def show(self, rows: Sequence[R]) -> None:
        current = self.selected()
        keep = self.after or (self.name_of(current) if current is not None else None)
        self.after = None
        self.model.set_rows(rows)
        if keep:
            self.select(keep)

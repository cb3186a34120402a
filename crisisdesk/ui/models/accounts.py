"""Channel accounts as the Settings page lists them: LIVE or EXERCISE said loudly, in words and shape."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont

from crisisdesk.domain.accounts import Account
from crisisdesk.ui import palette
from crisisdesk.ui.models.deliveries import mode_words
from crisisdesk.ui.models.rows import AnyIndex, RowsModel

COLUMNS = ("Name", "Mode", "Kind", "Where it goes", "Secret", "Can retract")
MODE = COLUMNS.index("Mode")
SECRET = COLUMNS.index("Secret")
RETRACT = COLUMNS.index("Can retract")


def where_it_goes(account: Account) -> str:
    """The settings that name the destination, in one line (a secret is never among them)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(account.settings.items()) if v) or "(defaults)"


def secret_words(account: Account) -> str:
    return "in the keyring" if account.spec.secret_label else "none needed"


class AccountsModel(RowsModel[Account]):
    columns = COLUMNS

    def cells(self, row: Account) -> tuple[str, ...]:
        return (
            row.name,
            mode_words(row.mode),
            row.kind.value,
            where_it_goes(row),
            secret_words(row),
            "yes" if row.spec.retract is None else "no",
        )

    def tooltip(self, row: Account, column: int) -> str | None:
        if column == SECRET and row.spec.secret_label:
            return f"Its {row.spec.secret_label} is kept in this computer's keyring, never in the database"
        if column == RETRACT:
            return "A sent message can be taken back" if row.spec.retract is None else f"No: {row.spec.retract}"
        return self.cells(row)[column]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # The mode cell is bold and in the mode's text colour, beside its words and shape.
        if index.isValid() and index.column() == MODE and index.row() < len(self.rows):
            mode: palette.State = "exercise" if self.rows[index.row()].exercise else "live"
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(palette.state_colour(mode))
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setBold(True)
                return font
        return super().data(index, role)

    def find(self, name: str) -> int:
        return next((i for i, a in enumerate(self.rows) if a.name == name), -1)

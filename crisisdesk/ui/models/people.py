"""People as the Settings page lists them: name, roles, whether they may sign in, and since when."""

from __future__ import annotations

from crisisdesk.services.people import Person
from crisisdesk.ui import palette
from crisisdesk.ui.models.rows import RowsModel
from crisisdesk.ui.when import full, moment_text

COLUMNS = ("Name", "Shown as", "Roles", "State", "Added")
STATE = COLUMNS.index("State")
ADDED = COLUMNS.index("Added")


def state_words(person: Person) -> str:
    """Said in words (and a shape), never by colour alone."""
    return "⊘ Disabled: cannot sign in" if person.disabled else "May sign in"


class PeopleModel(RowsModel[Person]):
    columns = COLUMNS

    def cells(self, row: Person) -> tuple[str, ...]:
        return (
            row.name,
            row.display_name,
            ", ".join(row.roles) or "no roles",
            state_words(row),
            f"{moment_text(row.created_at)} by {row.created_by}",
        )

    def colour(self, row: Person) -> palette.Tint | None:
        return "quiet" if row.disabled else None

    def tooltip(self, row: Person, column: int) -> str | None:
        if column == ADDED:
            return f"Added {full(row.created_at)} by {row.created_by}"
        if column == STATE and row.disabled:
            return f"Disabled {full(row.disabled_at)}; their past stays in the log"
        return self.cells(row)[column]

    def find(self, name: str) -> int:
        """The row of ``name`` (names compare without case), or -1."""
        return next((i for i, p in enumerate(self.rows) if p.name.casefold() == name.casefold()), -1)

"""Error kinds shared by every layer.

A ``UserError`` is a person's mistake (bad input, unknown name, wrong password): its message says what to do,
and the CLI shows it as one line with exit code 2. An ``ExternalError`` comes from something outside
crisisdesk (a busy database, a network) and says what to retry. Anything else is a bug.
"""


class CrisisdeskError(Exception):
    """Base of every error crisisdesk raises on purpose."""


class UserError(CrisisdeskError):
    """A mistake a person can correct; the message says how."""


class NotFound(UserError):
    """A named thing (user, database, entry) does not exist."""


class AuthenticationFailed(UserError):
    """Unknown person or wrong password (deliberately not told apart)."""


class PermissionDenied(UserError):
    """The acting person lacks the role an action needs."""


class NotADatabase(UserError):
    """The file is empty, not SQLite, or an SQLite file without a crisisdesk audit log."""


class DatabaseDamaged(UserError):
    """SQLite cannot read the file: damaged, or not a database despite its header.

    ``damage`` is what is wrong without the advice the message adds, for a report that gives its own."""

    def __init__(self, damage: str, advice: str = "") -> None:
        super().__init__(f"{damage}; {advice}" if advice else damage)
        self.damage = damage


class DatabaseTooNew(UserError):
    """The database was written by a newer crisisdesk; it is left untouched."""


class ExternalError(CrisisdeskError):
    """Something outside crisisdesk failed; the message says what to retry."""

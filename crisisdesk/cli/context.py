"""What every command shares: the context it runs in, the parser class, password input and printing."""

from __future__ import annotations

import argparse
import errno
import getpass
import io
import os
import sqlite3
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, NoReturn, Protocol, TypeAlias, cast

import orjson

from crisisdesk.app import App, resolve_db_path
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Actor

PASSWORD_ENV = "CRISISDESK_PASSWORD"  # noqa: S105 - the variable's name, not a password
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USER, EXIT_EXTERNAL, EXIT_BUG = 0, 1, 2, 3, 70
MAX_ROWS = 100_000  # the most a listing's --limit asks for


class UsageError(UserError):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# -- terminal safety ----------------------------------------------------------------------------------

# Text from people and files (facts, message texts, feed titles, names) must not drive the terminal: the C0
# controls but newline and tab, DEL, the C1 controls, and the bidi embeddings, overrides and isolates (which
# reorder what is shown, "Trojan Source") are shown as visible escapes instead.
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_TERMINAL_ESCAPES = {c: f"\\x{c:02x}" for c in _CONTROLS if c not in (0x09, 0x0A)} | {c: f"\\u{c:04x}" for c in _BIDI}
# orjson escapes the C0 controls; these it writes raw. They can only stand inside a JSON string, where the
# \u escape means the same character, so a consumer reads the same data.
_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in [0x7F, *range(0x80, 0xA0), *_BIDI]}


def terminal_safe(text: str) -> str:
    """The text with every character that could move the cursor, retitle or clear the terminal, or reorder
    the line made visible (ESC becomes the four characters \\x1b)."""
    return text.translate(_TERMINAL_ESCAPES)


def warn(text: str) -> None:
    """One line on standard error, terminal-safe (errors quote names and values a person typed)."""
    print(terminal_safe(text), file=sys.stderr)


class _TerminalSafeWriter(io.TextIOBase):
    def __init__(self, target: IO[str]) -> None:
        self._target = target

    def write(self, text: str) -> int:
        self._target.write(terminal_safe(text))
        return len(text)


class OutputFailed(Exception):
    """Standard output could not be written (a full disk, a reader that went away): the command ends with
    one line, not a traceback."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error


class CheckedOutput(io.TextIOBase):
    """Standard output for the commands: a failed write or flush becomes ``OutputFailed``, which ``main`` tells
    apart from every other OSError (a file the command reads, a socket)."""

    def __init__(self, target: IO[str] | None) -> None:
        self._target = target  # None: the shell closed standard output (>&-)

    def _stream(self) -> IO[str]:
        if self._target is None:
            raise OutputFailed(OSError(errno.EBADF, "standard output is closed"))
        return self._target

    def write(self, text: str) -> int:
        try:
            self._stream().write(text)
        except OSError as exc:
            raise OutputFailed(exc) from None
        return len(text)

    def flush(self) -> None:
        try:
            self._stream().flush()
        except OSError as exc:
            raise OutputFailed(exc) from None

    def isatty(self) -> bool:
        return self._target is not None and self._target.isatty()


# -- input helpers -----------------------------------------------------------------------------------


MAX_STDIN_LINE = 65_536  # characters of a password or a secret piped in (an Apprise URL can be long)


def read_password_stdin(stdin: IO[str], *, option: str = "--password-stdin", what: str = "password") -> str:
    line = stdin.readline(MAX_STDIN_LINE + 1)  # bounded: '< /dev/zero' has no line end
    if len(line.rstrip("\r\n")) > MAX_STDIN_LINE:
        raise UserError(f"standard input holds more than {MAX_STDIN_LINE:,} characters on its first line")
    password = line.rstrip("\r\n")
    if not password:
        raise UserError(f"{option}: no {what} on standard input (give it as the first line)")
    return password


NOT_REGULAR = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


def file_kind(mode: int) -> str:
    """What a node that is not a regular file is, in a person's words."""
    return next((name for test, name in NOT_REGULAR if test(mode)), "not a regular file")


def read_named_file(path: str, limit: int, what: str, *, option: str = "") -> bytes:
    """The bytes of a file a person named on the command line, read safely: only a regular file (a pipe, a
    device or a folder may never end, or wait forever for a writer), and never more than ``limit`` bytes.

    ``what`` says what the limit is for (it ends the error); ``option`` is the flag that named the file."""
    named = f"{option} {path}".lstrip()
    try:
        # Non-blocking, so opening a named pipe returns at once instead of waiting for a writer; the checks are
        # on what was opened, so nothing can be swapped in between.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UserError(f"cannot read {named}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UserError(f"{named} is not a regular file ({file_kind(mode)}); give a file")
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise UserError(f"cannot read {named}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UserError(f"{named} is larger than {limit:,} bytes; {what}")
    return data


def read_named_text(path: str, limit: int, what: str, *, option: str = "") -> str:
    """``read_named_file`` decoded as UTF-8."""
    data = read_named_file(path, limit, what, option=option)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        named = f"{option} {path}".lstrip()
        raise UserError(
            f"{named} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start:,}); save it as UTF-8"
        ) from None


def read_stdin_text(stdin: IO[str], limit: int, what: str) -> str:
    """Standard input, at most ``limit`` characters (``< /dev/zero`` never ends)."""
    try:
        text = stdin.read(limit + 1)
    except UnicodeDecodeError as exc:
        raise UserError(f"standard input is not UTF-8 text ({exc.reason}); give UTF-8") from None
    if len(text) > limit:
        raise UserError(f"standard input holds more than {limit:,} characters; {what}")
    return text


def acting_password(name: str) -> str:
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if os.name == "posix":
        try:
            os.close(os.open("/dev/tty", os.O_RDWR))
        except OSError:
            raise UserError(f"no password for {name}: set {PASSWORD_ENV} or run from a terminal") from None
    return getpass.getpass(f"password for {terminal_safe(name)}: ")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``, or a one-line usage error (a number too big for
    SQLite or a date would otherwise fail deep inside, as a crash)."""

    def number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # also a number of more than 4300 digits
            value = None
        if value is None or not low <= value <= high:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise argparse.ArgumentTypeError(f"{shown}: give a whole number from {low:,} to {high:,}")
        return value

    return number


def fact_pairs(items: Sequence[str]) -> dict[str, str]:
    facts = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--fact {item!r}: write NAME=VALUE")
        facts[name.strip()] = value
    return facts


# -- joining a team ---------------------------------------------------------------------------------------

JOIN_AS_HELP = (
    "--as PERSON: sign in here as PERSON, a person the team's log knows and has not disabled: sets PERSON's password "
    f"on this workstation (from ${PASSWORD_ENV} or a prompt), recorded as user.password_set by PERSON"
)
NOBODY_SIGNS_IN = (
    "nobody can sign in here yet: the team's people are here, their passwords are not (a password stays on the "
    "workstation where it was set); join again on a new database with --as NAME to sign in here as NAME"
)


def joining_as(ctx: Context) -> Callable[[sqlite3.Connection], object] | None:
    """For ``hub join`` and ``bundle join`` with ``--as PERSON``: PERSON's password, asked for and hashed before the
    join, and the step that sets it inside the join's write (None without ``--as``)."""
    name = getattr(ctx.args, "as_user", None)
    if not name:
        return None
    app = ctx.app(create=True)
    password_hash = app.people.joining_password(acting_password(name))

    def sign_in_here(conn: sqlite3.Connection) -> object:
        ctx.signs_in = app.people.sign_in_here(conn, name, password_hash)
        return ctx.signs_in

    return sign_in_here


def signing_in_line(ctx: Context) -> str:
    if ctx.signs_in is None:
        return NOBODY_SIGNS_IN
    return f"{ctx.signs_in} can sign in here with the password just given (it is this workstation's own)"


# -- the context a command runs in ----------------------------------------------------------------------


class Context:
    def __init__(self, args: argparse.Namespace, stdin: IO[str], stdout: IO[str]) -> None:
        self.args = args
        self.stdin = stdin
        self.stdout = stdout
        self._app: App | None = None
        self.signs_in: str | None = None  # the person a join set a local password for (--as)

    @property
    def db_path(self) -> Path:
        return resolve_db_path(getattr(self.args, "db", None))

    def app(self, *, create: bool = False) -> App:
        if self._app is None:
            self._app = App.open(self.db_path, create=create)
        return self._app

    def actor(self) -> Actor:
        name = getattr(self.args, "as_user", None)
        if not name:
            raise UserError("this command needs --as NAME: the person acting (password from $CRISISDESK_PASSWORD)")
        people = self.app().people
        people.require_initialised()  # before asking for a password that could not be checked
        return people.authenticate(name, acting_password(name))

    def out(self, text: str = "") -> None:
        """A line of text for a person: every command's text output goes through here (or ``write``)."""
        self.write(text + "\n")

    def write(self, text: str) -> None:
        self.stdout.write(terminal_safe(text))

    def json(self, data: object) -> None:
        self.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode().translate(_JSON_ESCAPES) + "\n")

    def data_stream(self) -> IO[str]:
        """Where a command writes data meant for a file (an export, CAP XML): byte-exact into a file or a pipe,
        terminal-safe when standard output is a terminal."""
        if self.stdout.isatty():
            return cast(IO[str], _TerminalSafeWriter(self.stdout))
        return self.stdout

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


# -- adding commands ------------------------------------------------------------------------------------

Handler: TypeAlias = Callable[[Context], int]

Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"


class AddCommand(Protocol):
    """Adds one command to a group (see main.build_parser): its help, its handler, the common flags."""

    def __call__(self, parent: Subparsers, name: str, help_text: str, handler: Handler | None = None, /) -> Parser: ...


def group(command: AddCommand, sub: Subparsers, name: str, help_text: str) -> Subparsers:
    """A command that only holds commands (``crisisdesk incident ...``); alone it is a usage mistake."""
    parser = command(sub, name, help_text)
    parser.set_defaults(handler=_missing_subcommand(parser))
    return parser.add_subparsers(title="commands", metavar="COMMAND")


def _missing_subcommand(parser: Parser) -> Handler:
    def handler(ctx: Context) -> int:
        raise UsageError(f"{parser.prog} needs a command (see '{parser.prog} --help')")

    return handler

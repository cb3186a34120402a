"""The parser (each command group adds its own commands) and ``main``: run one command, map errors to exit codes."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from io import TextIOWrapper
from pathlib import Path
from typing import IO, cast

from crisisdesk import __version__
from crisisdesk.app import log_dir
from crisisdesk.cli import gui
from crisisdesk.cli.context import (
    EXIT_BUG,
    EXIT_EXTERNAL,
    EXIT_OK,
    EXIT_USER,
    CheckedOutput,
    Context,
    Handler,
    OutputFailed,
    Parser,
    Subparsers,
    warn,
)
from crisisdesk.domain.errors import ExternalError, UserError

log = logging.getLogger("crisisdesk")

# In the order `crisisdesk --help` lists them. Imported when the parser is built: opening the console (no command)
# needs none but gui, and the others bring the playbook, fact and text modules (Babel among them).
GROUPS = (
    "gui",
    "people",
    "settings",
    "playbooks",
    "incident",
    "message",
    "channels",
    "outbox",
    "feeds",
    "drill",
    "audit",
    "sync",
    "bundle",
)
COMMON_OPTIONS = ("--db", "--as")


def opens_the_console(argv: Sequence[str]) -> bool:
    """Whether ``argv`` holds nothing but the common options (``--db PATH``, ``--as NAME``): the console, for which
    the parser needs only the gui group. Anything else (a command, --help, a mistake) gets the whole parser."""
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word in COMMON_OPTIONS and rest and not rest[0].startswith("-"):
            rest.pop(0)
        elif not any(word.startswith(f"{option}=") for option in COMMON_OPTIONS):
            return False
    return True


def build_parser(groups: Sequence[str] = GROUPS) -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the database file (default: $CRISISDESK_DB, then the user data folder)",
    )
    common.add_argument(
        "--as",
        dest="as_user",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="the person acting; password from $CRISISDESK_PASSWORD or a prompt",
    )

    parser = Parser(
        prog="crisisdesk",
        description="Crisis-communications console. With no command, opens the console window.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"crisisdesk {__version__}")
    parser.set_defaults(handler=gui.cmd_gui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(parent: Subparsers, name: str, help_text: str, handler: Handler | None = None, /) -> Parser:
        p = parent.add_parser(name, help=help_text, description=help_text, parents=[common])
        if handler is not None:
            p.set_defaults(handler=handler)
        return p

    for name in groups:
        importlib.import_module(f"crisisdesk.cli.{name}").add_commands(sub, command)
    return parser


class _LogFile(logging.FileHandler):
    """The log file, with its folder, made only when something is logged; if it cannot be written, nothing else
    fails (``written`` says whether it was)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.written = False
        self._failed = False

    def _open(self) -> TextIOWrapper:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's lock
        self._failed = False
        try:
            if self.stream is None:
                self.stream = self._open()
        except OSError:
            return  # no log file: the terminal line still says what happened
        super().emit(record)
        self.written = self.written or not self._failed

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed = True  # not logging's own traceback on the terminal: a full disk is not a bug


class _OnTerminal(logging.Handler):
    """Warnings and errors as one line each on standard error, with no traceback: that is in the log file."""

    def __init__(self, log_file: _LogFile) -> None:
        super().__init__(logging.WARNING)
        self.log_file = log_file

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "terminal", True) is False:
            return
        with contextlib.suppress(Exception):  # a message that cannot be shown must not stop the command
            lines = record.getMessage().strip().splitlines() or [record.levelname.lower()]
            where = f" (details in {self.log_file.baseFilename})" if self.log_file.written else ""
            warn(f"crisisdesk: {lines[0]}{where}")


@contextlib.contextmanager
def _logging() -> Iterator[_LogFile]:
    """For one command: everything from INFO up into the log file, tracebacks included; one line a problem on the
    terminal. Undone afterwards, so a command run in-process (the tests) leaves nothing behind."""
    log_file = _LogFile(log_dir() / "crisisdesk.log")
    terminal = _OnTerminal(log_file)
    level = log.level
    log.addHandler(log_file)  # first: the terminal line names the file once it holds the details
    log.addHandler(terminal)
    log.setLevel(logging.INFO)
    try:
        yield log_file
    finally:
        log.removeHandler(terminal)
        log.removeHandler(log_file)
        log.setLevel(level)
        log_file.close()


def _discard_output(target: IO[str] | None) -> None:
    """What is still buffered for standard output can never be written: point it at the null device, so the
    interpreter's flush at exit does not fail a second time (with a message and exit code 120)."""
    if target is None or target is not sys.stdout:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, target.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    with _logging() as log_file:
        return _run(argv, stdin or sys.stdin, stdout or sys.stdout, log_file)


def _run(argv: Sequence[str] | None, stdin: IO[str], target: IO[str], log_file: _LogFile) -> int:
    ctx: Context | None = None
    try:
        words = sys.argv[1:] if argv is None else argv
        args = build_parser(("gui",) if opens_the_console(words) else GROUPS).parse_args(words)
        output = CheckedOutput(target)
        ctx = Context(args, stdin, cast(IO[str], output))
        code: int = args.handler(ctx)
        output.flush()  # here, not at exit: a full disk is said like any other failure
        return code
    except OutputFailed as failed:
        _discard_output(target)
        if failed.error.errno == errno.EPIPE:
            # The reader went away (``| head``): stop quietly with success, as other command-line tools do when
            # they are not killed by SIGPIPE (Python ignores it); a script's pipeline goes on.
            return EXIT_OK
        warn(f"crisisdesk: could not write the output: {failed}")
        return EXIT_EXTERNAL
    except UserError as exc:
        warn(f"crisisdesk: error: {exc}")
        return EXIT_USER
    except ExternalError as exc:
        warn(f"crisisdesk: {exc}")
        return EXIT_EXTERNAL
    except KeyboardInterrupt:
        warn("crisisdesk: interrupted")
        return 130
    except Exception as exc:  # a bug: keep the details in the log, give the person one line
        log.exception("internal error", extra={"terminal": False})  # the line below says it
        where = f"; details in {log_file.baseFilename}" if log_file.written else ""
        warn(f"crisisdesk: internal error (a bug, please report it): {type(exc).__name__}: {exc}{where}")
        return EXIT_BUG
    finally:
        if ctx is not None:
            ctx.close()

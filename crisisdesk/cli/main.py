"""The parser (each command group adds its own commands) and ``main``: run one command, map errors to exit codes."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, cast

from crisisdesk import __version__
from crisisdesk.app import log_dir
from crisisdesk.cli import audit, channels, feeds, gui, incident, message, outbox, people, playbooks
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

# In the order `crisisdesk --help` lists them.
GROUPS = (gui, people, playbooks, incident, message, channels, outbox, feeds, audit)


def build_parser() -> argparse.ArgumentParser:
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

    for module in GROUPS:
        module.add_commands(sub, command)
    return parser


def _setup_logging() -> Path | None:
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "crisisdesk.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


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
    stdin = stdin or sys.stdin
    target = stdout or sys.stdout
    ctx: Context | None = None
    try:
        args = build_parser().parse_args(argv)
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
        path = _setup_logging()
        log.exception("internal error")
        where = f"; details in {path}" if path else ""
        warn(f"crisisdesk: internal error (a bug, please report it): {type(exc).__name__}: {exc}{where}")
        return EXIT_BUG
    finally:
        if ctx is not None:
            ctx.close()

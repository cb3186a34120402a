"""The parser (each command group adds its own commands) and ``main``: run one command, map errors to exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from crisisdesk import __version__
from crisisdesk.app import log_dir
from crisisdesk.cli import audit, channels, feeds, gui, incident, message, outbox, people, playbooks
from crisisdesk.cli.context import (
    EXIT_BUG,
    EXIT_EXTERNAL,
    EXIT_OK,
    EXIT_USER,
    Context,
    Handler,
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


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    ctx: Context | None = None
    try:
        args = build_parser().parse_args(argv)
        ctx = Context(args, stdin, stdout)
        code: int = args.handler(ctx)
        return code
    except UserError as exc:
        warn(f"crisisdesk: error: {exc}")
        return EXIT_USER
    except ExternalError as exc:
        warn(f"crisisdesk: {exc}")
        return EXIT_EXTERNAL
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
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

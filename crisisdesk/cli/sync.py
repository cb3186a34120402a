"""hub and sync: found or join a team hub (PostgreSQL), see its status, and sync with it."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import TYPE_CHECKING

from crisisdesk.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    JOIN_AS_HELP,
    AddCommand,
    Context,
    Subparsers,
    group,
    joining_as,
    read_password_stdin,
    signing_in_line,
    warn,
)
from crisisdesk.domain.clock import utc_iso
from crisisdesk.domain.errors import CrisisdeskError

if TYPE_CHECKING:
    from crisisdesk.services.sync import SyncReport

URL_HELP = (
    "the hub: postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE (the password goes to the keyring, never into the "
    "database or any output)"
)


def _password(ctx: Context) -> str | None:
    return read_password_stdin(ctx.stdin) if ctx.args.password_stdin else None


def cmd_hub_init(ctx: Context) -> int:
    actor = ctx.actor()
    sync = ctx.app().sync()
    hub_id, report = sync.found(actor, ctx.args.url, password=_password(ctx))
    ctx.out(f"founded the team hub {sync.address()} (hub {hub_id}) with this workstation")
    ctx.out(report.line())
    ctx.out("other workstations join it with 'crisisdesk hub join URL --workstation NAME' on a new database")
    return EXIT_OK


def cmd_hub_join(ctx: Context) -> int:
    then = joining_as(ctx)  # the person's password first: the prompt before the hub is reached
    sync = ctx.app(create=True).sync()
    ws, report = sync.join(ctx.args.url, ctx.args.workstation, password=_password(ctx), then=then)
    ctx.out(f"joined the team at {sync.address()} as workstation {ctx.args.workstation} ({ws})")
    ctx.out(report.line())
    ctx.out(signing_in_line(ctx))
    return EXIT_OK


def cmd_hub_status(ctx: Context) -> int:
    app = ctx.app()
    app.people.require_initialised()
    status = app.sync().status()
    if ctx.args.json:
        ctx.json(status.as_dict())
    else:
        for line in status.lines():
            ctx.out(line)
    return EXIT_OK


def _result(report: SyncReport) -> int:
    return EXIT_CHECK_FAILED if report.equivocations or report.refused else EXIT_OK


def cmd_sync(ctx: Context) -> int:
    app = ctx.app()
    app.people.require_initialised()
    sync = app.sync()
    if ctx.args.once:
        report = sync.sync_once()
        ctx.out(report.line())
        return _result(report)
    address = sync.address()
    if address is None:
        sync.sync_once()  # says what to do, in one line
    stop = threading.Event()
    worst = EXIT_OK

    def show(news: SyncReport | CrisisdeskError) -> None:
        nonlocal worst
        when = utc_iso(app.clock.now())
        if isinstance(news, CrisisdeskError):
            ctx.out(f"{when}  {str(news).splitlines()[0]} (working offline, will retry)")
        elif news.pushed or news.applied or news.equivocations or news.refused:
            ctx.out(f"{when}  {news.line()}")
            worst = max(worst, _result(news))
        ctx.stdout.flush()

    def stop_on_term(*_: object) -> None:
        # SIGTERM ends the loop as Ctrl-C does (the handler runs in this thread, which may be waiting on the hub).
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop_on_term)
    warn(f"crisisdesk: syncing {ctx.db_path} with {address}; stop with Ctrl-C")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            sync.run(stop, show)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return worst


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    hub = group(command, sub, "hub", "the team hub (PostgreSQL): found it, join it, see how sync stands")
    p = command(hub, "init", "found the team hub: create its tables and push this workstation's log", cmd_hub_init)
    p.add_argument("url", metavar="URL", help=URL_HELP)
    p.add_argument("--password-stdin", action="store_true", help="read the hub's password from standard input")
    p = command(
        hub,
        "join",
        "join a team on a new database: everything from the hub, then this workstation's identity and key; "
        + JOIN_AS_HELP,
        cmd_hub_join,
    )
    p.add_argument("url", metavar="URL", help=URL_HELP)
    p.add_argument("--workstation", metavar="NAME", required=True, help="this workstation's name, e.g. 'EOC desk 2'")
    p.add_argument("--password-stdin", action="store_true", help="read the hub's password from standard input")
    p = command(hub, "status", "connected or not, last sync, events waiting to push and to apply", cmd_hub_status)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(
        sub, "sync", "sync with the team hub until stopped (Ctrl-C), one line per batch; --once: one pass", cmd_sync
    )
    p.add_argument("--once", action="store_true", help="push and pull once, then exit")

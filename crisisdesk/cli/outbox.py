"""outbox and worker: what is queued, sent, failed or dead on every channel, and the worker that sends it."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from crisisdesk.app import App
from crisisdesk.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    MAX_ROWS,
    AddCommand,
    Context,
    Subparsers,
    group,
    warn,
    whole_number,
)
from crisisdesk.domain.errors import UserError

if TYPE_CHECKING:
    from crisisdesk.services.outbox import OutboxService, RunReport


def cmd_outbox_list(ctx: Context) -> int:
    a = ctx.args
    actor = ctx.actor()
    # One row more than shown tells whether there are more (the service gives no count).
    rows = ctx.app().outbox().rows(actor, message_id=a.message, limit=a.limit + 1)
    more = len(rows) > a.limit
    rows = rows[: a.limit]
    note = None
    if more:
        whose = f" of {a.message}" if a.message else ""
        hint = "--limit N to see more" if a.message else "--limit N or --message MSG to see more"
        note = f"showing the newest {a.limit} rows{whose}; there are more: {hint}"
    if a.json:
        ctx.json([r.as_dict() for r in rows])
        if note:
            warn(f"crisisdesk: {note}")  # on stderr, so the JSON stays a plain list
        return EXIT_OK
    for r in rows:
        if r.state == "sent":
            detail = f"receipt {r.remote_id} {r.remote_url or ''} at {r.sent_at}".rstrip()
        elif r.state == "failed":
            detail = f"{r.reason}; next try {r.next_try_at or 'now'}"
        else:
            detail = r.reason or ""
        if r.retract_state:
            detail += f"; retraction {r.retract_state}" + (f" ({r.retract_reason})" if r.retract_reason else "")
        ctx.out(
            f"{r.id}  {r.message_id} v{r.version}  {r.account} ({r.kind}, {r.mode})  {r.state.upper()}"
            f" x{r.attempts}  {detail}".rstrip()
        )
    if note:
        ctx.out(note)
    if not rows:
        ctx.out("the outbox is empty")
    return EXIT_OK


def _run_once(ctx: Context) -> RunReport:
    from crisisdesk.services.outbox import RunReport, worker_lock

    total = RunReport()
    with worker_lock(ctx.db_path):
        outbox = ctx.app().outbox()
        for _ in range(1000):  # pass after pass while something goes; what failed waits for its next try
            report = outbox.run_once()
            total.add(report)
            if not (report.sent or report.reconciled or report.retracted or report.elsewhere):
                break
    return total


def _print_report(ctx: Context, report: RunReport) -> None:
    for note in report.notes:
        ctx.out(note)
    ctx.out(
        f"sent {report.sent}, failed {report.failed} (will retry), dead {report.dead}, "
        f"checked after a restart {report.reconciled}, retracted {report.retracted}, "
        f"could not retract {report.not_retractable}"
        + (f", published by another workstation {report.elsewhere}" if report.elsewhere else "")
    )


def cmd_outbox_run(ctx: Context) -> int:
    if not ctx.args.once:
        return cmd_worker(ctx)
    ctx.app().people.require_initialised()
    report = _run_once(ctx)
    _print_report(ctx, report)
    return EXIT_OK if not report.dead else EXIT_CHECK_FAILED


def cmd_outbox_retry(ctx: Context) -> int:
    actor = ctx.actor()
    row = ctx.app().outbox().retry(actor, ctx.args.row)
    ctx.out(f"{row.id}: queued again for {row.account}; the worker sends it next")
    return EXIT_OK


def cmd_outbox_retract(ctx: Context) -> int:
    from crisisdesk.services.outbox import WorkerBusy

    actor = ctx.actor()
    outbox = ctx.app().outbox()
    requested = outbox.request_retract(actor, ctx.args.message, ctx.args.channel)
    try:
        _run_once(ctx)
    except WorkerBusy:
        ctx.out("a worker is running: it carries the retraction out now; see 'crisisdesk outbox list'")
    for r in requested:
        row = outbox.get(r.id)
        state = row.retract_state or "requested"
        why = f": {row.retract_reason}" if row.retract_reason and state != "requested" else ""
        ctx.out(f"{row.id}  {row.account} ({row.kind})  {state}{why}")
    if any(outbox.get(r.id).retract_state in ("impossible", "failed") for r in requested):
        ctx.out("some posts could not be taken back: publish a correction on those channels")
        return EXIT_CHECK_FAILED
    return EXIT_OK


def cmd_worker(ctx: Context, *, outbox: bool = True) -> int:
    """The outbox worker and the feed poller without the console: runs until stopped (SIGTERM or Ctrl-C)."""
    import signal
    import time

    from crisisdesk.services.drill_runner import DrillRunner
    from crisisdesk.services.feed_scheduler import FeedScheduler
    from crisisdesk.services.outbox import Worker, WorkerBusy, worker_lock

    path = ctx.db_path
    ctx.app().people.require_initialised()
    ctx.close()  # the worker opens its own connection in its own thread

    def open_outbox() -> OutboxService:
        return App.open(path).outbox()

    worker = Worker(open_outbox)
    feeds = FeedScheduler(lambda: App.open(path).feeds())
    drills = DrillRunner(lambda: App.open(path).drills())  # the drills' clock, with the outbox that drills exercise

    def stop(*_: object) -> None:
        # SIGTERM ends the worker as Ctrl-C does. Setting an Event here could deadlock: the handler runs in the
        # main thread, which may be inside that very Event's wait, holding its lock.
        raise KeyboardInterrupt

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(worker_lock(path))
        except WorkerBusy:
            if outbox:
                raise
            raise UserError("a worker (or the console) already polls the feeds of this database") from None
        previous = signal.signal(signal.SIGTERM, stop)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        what = "outbox worker and feed poller (with the drills' clock)" if outbox else "feed poller"
        warn(f"crisisdesk: {what} on {path}; stop with Ctrl-C")
        feeds.start()
        stack.callback(feeds.stop)
        if outbox:
            drills.start()
            stack.callback(drills.stop)
        try:
            if outbox:
                worker.run()
            else:
                while True:
                    time.sleep(1)
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    ob_sub = group(command, sub, "outbox", "what is queued, sent, failed or dead on every channel")
    p = command(ob_sub, "list", "outbox rows, newest first, with receipts and reasons", cmd_outbox_list)
    p.add_argument("--message", metavar="MESSAGE", help="only this message's rows")
    p.add_argument(
        "--limit",
        type=whole_number(1, MAX_ROWS),
        default=200,
        metavar="N",
        help="show the newest N rows (default: 200)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(ob_sub, "run", "send what is due (with --once: one pass, then exit)", cmd_outbox_run)
    p.add_argument("--once", action="store_true")
    p = command(ob_sub, "retry", "send a failed, dead or unknown row again", cmd_outbox_retry)
    p.add_argument("row", metavar="ROW")
    p = command(ob_sub, "retract", "take a message back where the channel allows", cmd_outbox_retract)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--channel", metavar="NAME", help="only on this channel")

    command(sub, "worker", "run the outbox worker and the feed poller without the console, until stopped", cmd_worker)

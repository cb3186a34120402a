"""Verify an audit log of N events the console's way (a pool thread, progress, a cancel flag) and the command
line's way (``crisisdesk audit verify``), and how long the calling process's main thread is kept from running
meanwhile.

    uv run python bench/audit_verify.py                        # 1,000,000 small events in a temporary file
    uv run python bench/audit_verify.py --db /tmp/big.sqlite3  # an existing database (built by bench/event_log.py)
    uv run python bench/audit_verify.py --deep                 # also the deep check (the log replayed)

The main thread stands for the console's GUI thread: a 10 ms ticker on it records the longest gap between two
ticks while the check runs on another thread. A pure-Python check holds the GIL and stretches that gap; the
console's way checks the chain in worker processes and leaves the GIL to the window. Also timed: how soon a
cancelled check returns.
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crisisdesk.app import App  # noqa: E402
from crisisdesk.credentials import MemorySecrets  # noqa: E402
from crisisdesk.domain.clock import FixedClock  # noqa: E402
from crisisdesk.domain.events import Kind  # noqa: E402
from crisisdesk.services.audit import AuditFilter, CheckCancelled  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402

HASHER = Argon2Hasher(time_cost=1, memory_cost=1024)


def build(path: Path, events: int, batch: int = 2000) -> None:
    """Events through the event log's own append, a triage decision each (about 150 bytes of JSON), one every 30 s
    (a million span most of a year), by four people."""
    clock = FixedClock(datetime(2026, 1, 1, 9, 0, tzinfo=UTC))
    core = App.open(path, create=True, clock=clock, hasher=HASHER, secrets=MemorySecrets())
    core.initialise("alice", "correct horse", workstation_name="bench")
    done = 0
    while done < events:
        n = min(batch, events - done)
        with core.db.write() as conn:
            for i in range(done, done + n):
                clock.advance(timedelta(seconds=30))
                core.log.record(
                    conn,
                    ("carla", "dana", "omar", "pia")[i % 4],
                    Kind.TRIAGE_SET,
                    {"item": f"item-{i:07d}", "status": "acknowledged", "priority": "normal", "note": "passed on"},
                )
        done += n
    core.close()


def with_ticker(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``work`` on a thread while this thread ticks every 10 ms: (its result, seconds, longest tick gap)."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # carried to the caller
            out["error"] = exc

    thread = threading.Thread(target=run)
    started = time.perf_counter()
    thread.start()
    last, widest = time.perf_counter(), 0.0
    while thread.is_alive():
        time.sleep(0.010)
        now = time.perf_counter()
        widest = max(widest, now - last - 0.010)
        last = now
    took = time.perf_counter() - started
    if "error" in out:
        raise out["error"]
    return out.get("value"), took, widest


def noted(seen: list[tuple[str, int, int]]) -> Callable[[str, int, int], None]:
    def note(phase: str, done: int, total: int) -> None:
        seen.append((phase, done, total))

    return note


def filters_timed(path: Path, secrets: MemorySecrets) -> None:
    """The audit view's first page and the next for each kind of filter, as the view reads them (newest first)."""
    app = App.open(path, readonly=True, secrets=secrets)
    admin = app.people.actor(app.db.conn.execute("SELECT user_name FROM user_roles WHERE role = 'admin'").fetchone()[0])
    incidents = [i for (i,) in app.db.conn.execute("SELECT id FROM incidents ORDER BY opened_at")]
    newest_at = app.db.conn.execute("SELECT at FROM events ORDER BY position DESC LIMIT 1").fetchone()[0]
    oldest_at = app.db.conn.execute("SELECT at FROM events ORDER BY position LIMIT 1").fetchone()[0]
    middle = app.db.conn.execute(
        "SELECT at FROM events WHERE position = (SELECT max(position) / 2 FROM events)"
    ).fetchone()[0]
    busiest = app.db.conn.execute(
        "SELECT actor FROM events WHERE position > (SELECT max(position) - 1000 FROM events) "
        "GROUP BY actor ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    month_ago = app.db.conn.execute(
        "SELECT at FROM events WHERE position = (SELECT max(position) - 86400 FROM events)"
    ).fetchone()[0]
    cases: list[tuple[str, AuditFilter]] = [
        ("no filter", AuditFilter()),
        ("text 'Message approved' (a label)", AuditFilter(text="Message approved")),
        ("kind Message approved", AuditFilter(kinds=(Kind.MESSAGE_APPROVED,))),
        ("person (the admin)", AuditFilter(person=admin.name)),
        ("person (who acted most)", AuditFilter(person=busiest)),
        ("text found in every entry's details", AuditFilter(text="passed on")),
        ("text found nowhere", AuditFilter(text="no such words anywhere")),
        ("time: the middle hour of the log", AuditFilter(since=middle, until=middle[:11] + "23:59:59")),
        ("time: up to the first entry's day", AuditFilter(until=oldest_at[:10] + "T23:59:59")),
        ("time: since the newest entry", AuditFilter(since=newest_at)),
        ("time: the last month (86,400 entries)", AuditFilter(since=month_ago)),
    ]
    if incidents:
        cases.append(("incident (the oldest)", AuditFilter(incident=incidents[0])))
        cases.append(("incident (the newest)", AuditFilter(incident=incidents[-1])))
    print("the audit view's pages (500 rows, newest first), first page / second page:")
    for name, where in cases:
        started = time.perf_counter()
        first = app.audit.page(admin, where=where)
        one = time.perf_counter() - started
        started = time.perf_counter()
        second = app.audit.page(admin, where=where, before=first[-1].position) if len(first) == 500 else []
        two = time.perf_counter() - started
        print(f"  {name}: {len(first)} rows in {one * 1000:.0f} ms / {len(second)} rows in {two * 1000:.0f} ms")
    started = time.perf_counter()
    choices = app.audit.choices(admin)
    print(f"  the filters' choices: {len(choices.people)} people, {len(choices.incidents)} incidents in "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")  # fmt: skip
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="a database (built there if missing; default: a temporary folder)")
    parser.add_argument("--deep", action="store_true", help="also time the deep check (the log replayed)")
    parser.add_argument("--filters", action="store_true", help="also time the audit view's filtered pages")
    parser.add_argument("--filters-only", action="store_true", help="only the filtered pages")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory(prefix="crisisdesk-bench-")
    path = args.db
    if path is None or not path.exists():
        path = path or Path(folder.name) / "audit.sqlite3"
        started = time.perf_counter()
        build(path, args.events)
        print(f"built {args.events:,} events in {time.perf_counter() - started:.1f} s")
    secrets = MemorySecrets()

    def checked(**kw: Any) -> Any:
        """``audit verify`` as the command runs it: the file opened read-only, on the thread that checks it."""
        app = App.open(path, readonly=True, secrets=secrets)
        try:
            return app.audit.verify(**kw)
        finally:
            app.close()

    probe = App.open(path, readonly=True, secrets=secrets)
    total = probe.log.count()
    probe.close()
    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print(f"log: {total:,} events, file {path.stat().st_size / 1e6:,.0f} MB")

    # Each way twice, alternating: the first pass also reads the file into the page cache.
    if args.filters_only:
        filters_timed(path, secrets)
        return
    for turn in ("first", "again"):
        report, took, gap = with_ticker(checked)
        assert report.ok, report.describe()
        print(
            f"command line's way (audit verify), {turn}: {took:.2f} s; main thread's longest wait {gap * 1000:.0f} ms"
        )
        seen: list[tuple[str, int, int]] = []
        report, took, gap = with_ticker(functools.partial(checked, progress=noted(seen), cancel=threading.Event()))
        assert report.ok, report.describe()
        chain = [step for step in seen if step[0] == "chain"]
        print(
            f"console's way (progress, cancel), {turn}: {took:.2f} s; main thread's longest wait {gap * 1000:.0f} ms; "
            f"{len(chain)} progress reports, the last {chain[-1][1]:,} of {chain[-1][2]:,}"
        )

    # Stopped a third of the way through the chain: how soon does the check give up?
    cancel = threading.Event()
    stopped: dict[str, float] = {}

    def stop_at_a_third(phase: str, done: int, whole: int) -> None:
        if phase == "chain" and done >= whole // 3 and not cancel.is_set():
            cancel.set()
            stopped["at"] = time.perf_counter()

    def cancelled() -> str:
        try:
            checked(progress=stop_at_a_third, cancel=cancel)
        except CheckCancelled:
            return "stopped"
        return "finished"

    outcome, took, gap = with_ticker(cancelled)
    after = time.perf_counter() - stopped.get("at", time.perf_counter())
    print(f"cancelled a third of the way: {outcome}, {after * 1000:.0f} ms after the flag was set")

    if args.filters:
        filters_timed(path, secrets)

    if args.deep:
        report, took, gap = with_ticker(lambda: checked(deep=True))
        print(f"command line's way, --deep: {took:.2f} s; main thread's longest wait {gap * 1000:.0f} ms")
        tables: list[int] = []
        report, took, gap = with_ticker(
            lambda: checked(
                deep=True,
                progress=lambda phase, done, _t: tables.append(done) if phase == "tables" else None,
                cancel=threading.Event(),
            )
        )
        print(
            f"console's way, deep: {took:.2f} s; main thread's longest wait {gap * 1000:.0f} ms; "
            f"{len(tables)} replay progress reports ({'ok' if report.ok else 'FAILED'})"
        )
    folder.cleanup()


if __name__ == "__main__":
    main()

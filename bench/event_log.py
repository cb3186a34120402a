"""Append N events to a real SQLite file in batched transactions, then verify the whole chain.

Targets on the 2-core build machine: append >= 20,000 events/s, verify >= 500,000 events/s.

    uv run python bench/event_log.py            # 1,000,000 events
    uv run python bench/event_log.py --events 100000 --batch 500
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.services.passwords import Argon2Hasher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per write transaction")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary folder)")
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory(prefix="crisisdesk-bench-")
    path = args.db or Path(folder.name) / "bench.sqlite3"
    clock = FixedClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    core = App.open(path, create=True, clock=clock, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    core.people.initialise("alice", "correct horse", workstation_name="bench")
    log = core.log

    # A payload of the size real events have (a sign-in or a triage decision: ~150 bytes of JSON).
    start = time.perf_counter()
    done = 0
    while done < args.events:
        n = min(args.batch, args.events - done)
        with core.db.write() as conn:
            for i in range(done, done + n):
                log.record(
                    conn,
                    "alice",
                    "bench.noted",
                    {"item": f"item-{i}", "status": "acknowledged", "priority": i % 5, "note": "checked by desk 1"},
                )
        done += n
    append_s = time.perf_counter() - start

    start = time.perf_counter()
    report = log.verify()
    verify_s = time.perf_counter() - start
    assert report.ok, report.describe()
    start = time.perf_counter()
    single = log.verify(workers=1)
    single_s = time.perf_counter() - start
    assert single.ok
    assert single.checked == report.checked
    total = log.count()
    size_mb = path.stat().st_size / 1e6
    core.close()

    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print(
        f"append: {args.events:,} events in {append_s:.2f} s = {args.events / append_s:,.0f} events/s "
        f"(batches of {args.batch}, WAL, synchronous=FULL)"
    )
    print(f"verify: {total:,} events in {verify_s:.2f} s = {total / verify_s:,.0f} events/s (default: both cores)")
    print(f"verify, one process: {single_s:.2f} s = {total / single_s:,.0f} events/s")
    print(f"file: {size_mb:,.0f} MB")
    folder.cleanup()


if __name__ == "__main__":
    main()

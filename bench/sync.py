"""Team sync through a real PostgreSQL hub: reconnection after offline work, and live latency (issue 16, item 8).

    uv run python bench/sync.py                               # 20 workstations x 500 events, on a local server
    uv run python bench/sync.py --workstations 5 --events 100 # quicker
    uv run python bench/sync.py --url postgresql://USER:PASSWORD@HOST/DB   # an existing, empty database

Set-up (not timed): a PostgreSQL server started on 127.0.0.1 for the run (initdb/pg_ctl, as the test fixture
does; fsync off, as there), one workstation founds the hub and the others join it, each on its own SQLite file;
then, with the hub out of reach, each workstation writes ``--events`` entries of its own (signed, a few hundred
bytes each, in transactions of 50), as a team working offline does.

Reconnection (timed): one process per workstation, each already started and holding its database open, runs
``SyncService.run`` (the loop ``crisisdesk sync`` and the console run: LISTEN/NOTIFY, a local commit wakes it) from
the same moment on. Each reports when its log holds every entry of the team, with a digest of its state: every
entry's hash and every current-state table, sorted. Converged = every digest the same; the time is the last one's.

Live latency (timed): with the processes still syncing, an entry is committed on one workstation and the time
until another one's file holds it is measured, for ``--samples`` pairs (the writer's sync process notices the
commit, pushes, the hub notifies, the reader's pulls and applies).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crisisdesk.app import App  # noqa: E402
from crisisdesk.credentials import MemorySecrets  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402
from crisisdesk.store.migrations import PROJECTION_TABLES  # noqa: E402

HASHER = Argon2Hasher(time_cost=1, memory_cost=1024)
KIND = "bench.noted"  # no projection: the log's own work; the state digest still covers every table


def state_digest(path: Path) -> str:
    """Every entry's hash and every current-state table's rows, sorted: equal digests, equal state."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        h = hashlib.sha256()
        for (entry,) in conn.execute("SELECT hash FROM events ORDER BY hash"):
            h.update(entry.encode())
        for table in PROJECTION_TABLES:
            rows = sorted(repr(row) for row in conn.execute(f"SELECT * FROM {table}"))
            h.update(f"{table}:{len(rows)}".encode())
            for row in rows:
                h.update(row.encode())
        return h.hexdigest()
    finally:
        conn.close()


def worker(
    index: int, path: str, secrets: MemorySecrets, expected: int, ready: Any, go: Any, stop: Any, out: Any
) -> None:
    """One workstation's sync process: open, wait for the start, sync until stopped; say when complete."""
    app = App.open(Path(path), secrets=secrets, hasher=HASHER)
    sync = app.sync()
    done = False

    def on_report(news: object) -> None:
        nonlocal done
        if not done and app.log.count() >= expected:
            done = True
            out.put((index, time.monotonic(), time.process_time() - cpu, state_digest(Path(path))))

    ready.put(index)
    go.wait()
    cpu = time.process_time()
    try:
        sync.run(stop, on_report)
    finally:
        app.close()


def set_up(folder: Path, url: str, n: int, events: int, secrets: MemorySecrets) -> list[Path]:
    paths = [folder / f"ws{i:02d}.sqlite3" for i in range(n)]
    founder = App.open(paths[0], create=True, secrets=secrets, hasher=HASHER)
    founder.initialise("alice", "correct horse", workstation_name="EOC desk 1")
    founder.sync().found(founder.people.actor("alice"), url)
    founder.close()
    for i, path in enumerate(paths[1:], 2):
        app = App.open(path, create=True, secrets=secrets, hasher=HASHER)
        app.sync().join(url, f"EOC desk {i}")
        app.close()
    # Offline work: nothing is synced while it is written.
    for i, path in enumerate(paths):
        app = App.open(path, secrets=secrets, hasher=HASHER)
        for start in range(0, events, 50):
            with app.db.write() as conn:
                app.log.record_many(
                    conn,
                    [
                        (
                            "system",
                            KIND,
                            {"n": k, "ws": i, "text": f"offline note {k} of workstation {i}: " + "x" * 160},
                        )
                        for k in range(start, min(start + 50, events))
                    ],
                )
        app.close()
    return paths


def server_cpu(data: Path | None) -> float:
    """CPU seconds the PostgreSQL server has used so far: the postmaster's finished children and the live ones."""
    if data is None:
        return 0.0
    try:
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def all_hashes(paths: list[Path]) -> set[str]:
    seen: set[str] = set()
    for path in paths:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        seen.update(h for (h,) in conn.execute("SELECT hash FROM events"))
        conn.close()
    return seen


def run(url: str, folder: Path, n: int, events: int, samples: int, data: Path | None = None) -> int:
    secrets = MemorySecrets()
    started = time.monotonic()
    paths = set_up(folder, url, n, events, secrets)
    expected = len(all_hashes(paths))
    print(f"set up {n} workstations, {events} offline entries each, {expected:,} entries in all, "
          f"in {time.monotonic() - started:.1f} s (not timed below)")  # fmt: skip

    context = multiprocessing.get_context("spawn")
    ready, out = context.Queue(), context.Queue()
    go, stop = context.Event(), context.Event()
    procs = [
        context.Process(target=worker, args=(i, str(p), secrets, expected, ready, go, stop, out), daemon=True)
        for i, p in enumerate(paths)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    hub_cpu = server_cpu(data)
    t0 = time.monotonic()
    go.set()
    load = os.getloadavg()[0]
    finished: dict[int, tuple[float, float, str]] = {}
    try:
        while len(finished) < n:
            index, at, cpu, digest = out.get(timeout=120)
            finished[index] = (at - t0, cpu, digest)
        hub_cpu = server_cpu(data) - hub_cpu
        took = max(t for t, _, _ in finished.values())
        digests = {d for _, _, d in finished.values()}
        times = sorted(t for t, _, _ in finished.values())
        cpu_total = sum(c for _, c, _ in finished.values())
        print(f"reconnect and converge: {took:.2f} s for {n} workstations ({expected:,} entries each at the end); "
              f"first complete {times[0]:.2f} s, median {statistics.median(times):.2f} s; "
              f"same state everywhere: {'yes' if len(digests) == 1 else 'NO'}")  # fmt: skip
        print(f"  CPU time until complete: the {n} sync processes {cpu_total:.1f} s in all "
              f"({cpu_total / n:.2f} s each), the hub's server {hub_cpu:.1f} s; "
              f"load average {load:.1f} at the start")  # fmt: skip

        # Live: commit on one, applied on another.
        latencies = []
        writers = [App.open(p, secrets=secrets, hasher=HASHER) for p in paths]
        try:
            for k in range(samples):
                writer, reader = k % n, (k * 7 + 3) % n
                if reader == writer:
                    reader = (reader + 1) % n
                conn = sqlite3.connect(f"file:{paths[reader]}?mode=ro", uri=True)
                app = writers[writer]
                with app.db.write() as wconn:
                    entry = app.log.record(wconn, "system", KIND, {"live": k})
                t = time.monotonic()
                while conn.execute("SELECT 1 FROM events WHERE hash = ?", (entry.hash,)).fetchone() is None:
                    if time.monotonic() - t > 10:
                        raise SystemExit(f"sample {k}: not applied on workstation {reader} after 10 s")
                    time.sleep(0.002)
                latencies.append(time.monotonic() - t)
                conn.close()
        finally:
            for app in writers:
                app.close()
        latencies.sort()
        ms = [round(t * 1000) for t in latencies]
        print(f"live, commit on one to applied on another ({samples} samples): median {statistics.median(ms):.0f} ms, "
              f"p90 {ms[int(len(ms) * 0.9) - 1]} ms, max {ms[-1]} ms")  # fmt: skip
        return 0 if len(digests) == 1 else 1
    finally:
        stop.set()
        for proc in procs:
            proc.join(15)
            if proc.is_alive():
                proc.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workstations", type=int, default=20)
    parser.add_argument("--events", type=int, default=500, help="offline entries per workstation")
    parser.add_argument("--samples", type=int, default=20, help="live latency samples")
    parser.add_argument("--url", help="an existing empty hub database (default: a PostgreSQL started for the run)")
    a = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()} "
          f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        if a.url:
            sys.exit(run(a.url, Path(tmp), a.workstations, a.events, a.samples))
        import psycopg

        from tests.support.postgres import HUB_PASSWORD, postgres_server

        with postgres_server() as server:
            name = server.create_database("bench")
            with psycopg.connect(server.admin_url()) as conn:
                version = conn.execute("SHOW server_version").fetchone()
            print(f"hub: PostgreSQL {version[0] if version else '?'} on 127.0.0.1:{server.port}, started for this run")
            url = server.url(name, password=HUB_PASSWORD)
            code = run(url, Path(tmp), a.workstations, a.events, a.samples, data=server.data)
        sys.exit(code)


if __name__ == "__main__":
    main()

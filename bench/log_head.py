"""What keeping the log's head in the keyring costs, and why it is written at most once a second.

1. One write and one read of a head with the active keyring backend (``--os-keyring``: the OS keyring, for
   example gnome-keyring through the Secret Service; else the tests' file keyring).
2. Commits of one entry each (a person's action, an outbox claim or receipt) through the real EventLog on a
   real SQLite file (WAL, synchronous=FULL): without a head, with the head as shipped (a timer thread, at most
   one write a second), and with a write after every commit (``every=0``), interleaved over several rounds.
   Wall time and this process's CPU time (all threads) per commit.

    uv run python bench/log_head.py [--commits 3000] [--rounds 3] [--os-keyring]
    dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
        PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring uv run python bench/log_head.py --os-keyring'
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="crisisdesk-bench-"))
os.environ["CRISISDESK_TEST_KEYRING"] = str(TMP / "keyring.json")

import keyring  # noqa: E402

from crisisdesk.credentials import KeyringSecrets  # noqa: E402
from crisisdesk.domain.clock import FixedClock  # noqa: E402
from crisisdesk.domain.events import LogHead  # noqa: E402
from crisisdesk.services.audit import HEAD_EVERY_S, HeadKeeper, database_key  # noqa: E402
from crisisdesk.store.db import Database  # noqa: E402
from crisisdesk.store.eventlog import WORKSTATION_KEY, EventLog  # noqa: E402
from tests.support.file_keyring import FileKeyring  # noqa: E402


def keyring_latency(n: int) -> None:
    secrets = KeyringSecrets()
    where = str(TMP / "latency.sqlite3")
    writes, reads = [], []
    for i in range(n):
        start = time.perf_counter()
        secrets.set_log_head(where, LogHead("ws", i, f"{i:064x}"))
        writes.append(time.perf_counter() - start)
        start = time.perf_counter()
        secrets.log_head(where)
        reads.append(time.perf_counter() - start)
    for what, times in (("write", writes), ("read", reads)):
        ordered = sorted(times)
        print(
            f"keyring {what} of a head ({n} times): median {statistics.median(times) * 1e3:.1f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95)] * 1e3:.1f} ms, max {ordered[-1] * 1e3:.1f} ms"
        )


def commits(path: Path, n: int, every: float | None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, keyring writes) for ``n`` commits of one entry; ``every`` None: no head."""
    db = Database.open(path, create=True)
    with db.write() as conn:
        conn.execute("INSERT OR IGNORE INTO local_settings VALUES (?, 'bench')", (WORKSTATION_KEY,))
    log = EventLog(db, FixedClock())
    secrets = KeyringSecrets()
    written = [0]
    set_head = secrets.set_log_head

    def counted(database: str, head: LogHead) -> None:
        written[0] += 1
        set_head(database, head)

    secrets.set_log_head = counted  # type: ignore[method-assign]
    keeper = None
    if every is not None:
        keeper = HeadKeeper(secrets, database_key(path), every=every)
        log.on_head(keeper.committed)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        with db.write() as conn:
            log.record(conn, "outbox", "outbox.noted", {"row": f"ob-{i:012x}", "state": "sent"})
    if keeper is not None:
        keeper.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    db.close()
    return wall, cpu, written[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--os-keyring", action="store_true")
    a = parser.parse_args()
    if not a.os_keyring:
        keyring.set_keyring(FileKeyring())
    print(f"keyring: {keyring.get_keyring()}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    keyring_latency(50)
    variants = {"no head": None, f"head as shipped (every {HEAD_EVERY_S} s)": HEAD_EVERY_S, "head every commit": 0.0}
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in variants}
    for r in range(a.rounds):
        for name, every in variants.items():
            results[name].append(commits(TMP / f"commits-{r}-{every}.sqlite3", a.commits, every))
    print(f"{a.commits} commits of one entry each, {a.rounds} rounds interleaved (median of the rounds):")
    for name, runs in results.items():
        wall = statistics.median(w for w, _, _ in runs)
        cpu = statistics.median(c for _, c, _ in runs)
        writes = statistics.median(k for _, _, k in runs)
        print(
            f"  {name:<32} {a.commits / wall:7,.0f} commits/s, {wall / a.commits * 1e3:.2f} ms wall and "
            f"{cpu / a.commits * 1e3:.2f} ms CPU a commit, {writes:,.0f} keyring writes"
        )


if __name__ == "__main__":
    main()

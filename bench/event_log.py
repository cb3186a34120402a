"""The event log's append and verify paths, side by side with plain loops that are this machine's limit.

    uv run python bench/event_log.py            # 1,000,000 small events
    uv run python bench/event_log.py --events 200000 --batch 500
    uv run python bench/event_log.py --realistic --events 1000000   # a working log, then verify --deep

Small events (the default) are appended in batches (one write transaction each) round-robin into five files
made from one set-up workstation, so the machine's load falls on all of them alike:

- plain, bare table: sqlite3 inserts (executemany) of the same bodies with their SHA-256 chain into a table of
  (position, hash, body) only, WAL, ``synchronous=FULL``: the issue's "limit";
- plain, events table: the same inserts into a crisisdesk database's own events table (its generated columns,
  indexes and triggers): the limit this schema allows;
- ``EventLog.record``, one call an event, as services append; ``EventLog.record_many``, a batch at once, as sync
  applies pulled events (both with a kind that has no projection, so the bytes are the plain loops' own: checked);
- ``EventLog.record`` with ``triage.set``, a small kind with a projection (one row upserted), for its share.

Then it verifies that log three times, interleaved with a plain re-hash loop over the same rows (SHA-256 of every
stored body against its stored hash), and prints the ratios.

``--realistic`` appends what a workstation really writes instead of one small kind: a real session (an
incident opened, a message drafted for every channel and language, edited, submitted, approved, published to
six accounts, each claimed and sent, CAP included) recorded once through the services, then repeated with new
ids, with triage decisions between; then it times ``audit verify`` as shipped (quick_check, chain, the head
kept in the keyring) and with ``--deep`` (the log replayed into a scratch file, every table compared).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crisisdesk.app import App  # noqa: E402
from crisisdesk.credentials import MemorySecrets  # noqa: E402
from crisisdesk.domain.clock import FixedClock, utc_iso  # noqa: E402
from crisisdesk.domain.events import FORMAT_VERSION, Kind  # noqa: E402
from crisisdesk.domain.incidents import Mode  # noqa: E402
from crisisdesk.domain.roles import Role  # noqa: E402
from crisisdesk.services import audit  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402
from crisisdesk.store.db import CACHE_KIB  # noqa: E402
from crisisdesk.store.eventlog import WORKSTATION_KEY  # noqa: E402

HASHER = Argon2Hasher(time_cost=1, memory_cost=1024)
FACTS = {
    "area": "Mill Creek valley | geocode: SAME=006067",
    "expires": "2026-11-22T21:30",
    "info_url": "https://ready.millcounty.gov/flood",
    "phone": "211",
}
IDS = re.compile(rb"\b(?:inc|msg|ob)-[0-9a-f]{10,12}\b")
Entry = tuple[str, str, dict[str, Any]]  # actor, kind, payload


def recorded_session(folder: Path) -> tuple[list[Entry], list[Entry]]:
    """One real working session through the services: (setting the workstation up, one incident's work)."""
    app = App.open(folder / "template.sqlite3", create=True, clock=FixedClock(), hasher=HASHER, secrets=MemorySecrets())
    app.initialise("alice", "correct horse")
    admin = app.people.actor("alice")
    for name, role in (("carla", Role.COMMUNICATOR), ("ivan", Role.APPROVER)):
        app.people.add(admin, name, [role], f"{name} password")
    for i in range(5):
        app.channels().add(admin, "folder", f"page-{i}", settings=[f"path={folder / f'page-{i}'}"])
    carla, ivan = app.people.actor("carla"), app.people.actor("ivan")
    incident = app.incidents().open(carla, "flash-flood", Mode.LIVE, facts=FACTS).id
    messages = app.messages()
    view = messages.draft(carla, incident, "alert")
    view = messages.set_targets(carla, view.id, ["public-page", *(f"page-{i}" for i in range(5))])
    messages.submit(carla, view.id)
    messages.approve(ivan, view.id, view.content_hash)
    messages.publish(carla, view.id, confirm=f"PUBLISH LIVE {view.id}")
    while app.outbox().run_once().sent:
        pass
    entries = [(e.actor, e.kind, dict(e.payload)) for e in app.log.events()]
    app.close()
    first = next(i for i, (_, kind, _) in enumerate(entries) if kind == Kind.INCIDENT_OPENED)
    return entries[:first], entries[first:]


def renamed(session: list[Entry], n: int) -> list[Entry]:
    """The session again with new incident, message and outbox ids and new idempotency keys."""
    text = orjson.dumps(session)
    for key in {p["key"] for _, kind, payload in session if kind == Kind.MESSAGE_PUBLISHED for p in payload["outbox"]}:
        text = text.replace(key.encode(), hashlib.sha256(f"{key}/{n}".encode()).hexdigest().encode())
    text = IDS.sub(lambda m: m.group(0) + f"-{n}".encode(), text)
    return [(actor, kind, payload) for actor, kind, payload in orjson.loads(text)]


def triage(n: int) -> list[Entry]:
    return [
        (
            "carla",
            Kind.TRIAGE_SET,
            {
                "item": hashlib.sha256(f"{n}/{i}".encode()).hexdigest(),
                "status": "acknowledged",
                "priority": "normal",
                "note": "road closure reported, passed to the highways desk",
            },
        )
        for i in range(10)
    ]


def append_realistic(core: App, events: int, batch: int, folder: Path) -> int:
    setup, session = recorded_session(folder)
    with core.db.write() as conn:
        conn.execute("INSERT INTO local_settings (key, value) VALUES (?, ?)", (WORKSTATION_KEY, "bench-ws"))
    queue: list[Entry] = list(setup)
    done, n = 0, 0
    while done < events:
        while len(queue) < batch:
            queue += renamed(session, n) + triage(n)
            n += 1
        chunk, queue = queue[: min(batch, events - done)], queue[batch:]
        with core.db.write() as conn:
            for actor, kind, payload in chunk:
                core.log.record(conn, actor, kind, payload)
        done += len(chunk)
    return n


SMALL_KIND = "bench.noted"  # no projection: the log's own work only
PRIORITIES = ("urgent", "high", "normal", "low")
INSERT = "INSERT INTO events (hash, body) VALUES (?, ?)"


def small_payload(i: int) -> dict[str, Any]:
    """A payload of the size many real events have (a sign-in or a triage decision: ~150 bytes of JSON)."""
    return {"item": f"item-{i}", "status": "acknowledged", "priority": PRIORITIES[i % 4], "note": "checked by desk 1"}


class PlainLoop:
    """The limit: what a loop does with sqlite3 and nothing else, for the same bodies and chain as the log's."""

    def __init__(self, conn: sqlite3.Connection, ws: str, at: str, seq: int, prev: str) -> None:
        self.conn, self.ws, self.at, self.seq, self.prev = conn, ws, at, seq, prev

    def batch(self, low: int, high: int) -> None:
        rows = self.rows(low, high)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(INSERT, rows)
        self.conn.execute("COMMIT")

    def rows(self, low: int, high: int) -> list[tuple[str, bytes]]:
        dumps, sort_keys, sha256 = orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.sha256
        ws, at, seq, prev = self.ws, self.at, self.seq, self.prev
        rows = []
        for i in range(low, high):
            seq += 1
            fields = {
                "actor": "alice",
                "at": at,
                "kind": SMALL_KIND,
                "payload": small_payload(i),
                "prev": prev,
                "seq": seq,
                "v": FORMAT_VERSION,
                "ws": ws,
            }
            body = dumps(fields, option=sort_keys)
            prev = sha256(body).hexdigest()
            rows.append((prev, body))
        self.seq, self.prev = seq, prev
        return rows


def bare_file(path: Path) -> sqlite3.Connection:
    """A file with the database's settings and a table of (position, hash, body) only."""
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    conn.execute("CREATE TABLE events (position INTEGER PRIMARY KEY, hash TEXT NOT NULL, body BLOB NOT NULL)")
    return conn


def plain_verify(path: Path) -> int:
    """The plain re-hash loop: every stored body's SHA-256 against its stored hash, in storage order."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    sha256, n = hashlib.sha256, 0
    for _, stored_hash, body in conn.execute("SELECT position, hash, body FROM events ORDER BY position"):
        if sha256(body).hexdigest() != stored_hash:
            raise AssertionError("the plain loop found a bad entry in a log just written")
        n += 1
    conn.close()
    return n


# With --index-costs: the plain loop again into copies of the events table without these indexes (each serves
# reads: the audit's person filter and list of people, its time filter), so the figures show what each costs.
WITHOUT_INDEXES: dict[str, tuple[str, ...]] = {
    "no actor index": ("events_actor",),
    "no time index": ("events_merge_order",),
    "neither": ("events_actor", "events_merge_order"),
}


def without_indexes(base: Path, path: Path, indexes: tuple[str, ...]) -> sqlite3.Connection:
    """A copy of the set-up file without ``indexes``, opened as the database opens it (WAL, synchronous=FULL)."""
    shutil.copy(base, path)
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    for index in indexes:
        conn.execute(f"DROP INDEX {index}")
    return conn


def side_by_side(folder: Path, events: int, batch: int, clock: FixedClock, *, index_costs: bool = False) -> Path:
    """Append round-robin into the five files (see the module's notes), verify; print figures and ratios."""
    base = folder / "base.sqlite3"
    setup = App.open(base, create=True, clock=clock, hasher=HASHER, secrets=MemorySecrets())
    setup.people.initialise("alice", "correct horse", workstation_name="bench")
    ws = setup.log.workstation_id()
    assert ws is not None
    seq, prev = setup.db.conn.execute(
        "SELECT seq, hash FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws,)
    ).fetchone()
    setup.close()  # the last connection: SQLite folds the WAL into the file, which is then copied
    apps: dict[str, App] = {}
    for name in ("schema", "record", "many", "received", "triage", "signed"):
        shutil.copy(base, folder / f"{name}.sqlite3")
        apps[name] = App.open(folder / f"{name}.sqlite3", clock=clock, hasher=HASHER, secrets=MemorySecrets())
    # The others are set up as before signing (no key declared): "signed" declares one, so each entry it
    # appends carries an Ed25519 signature (issue 16 item 1; docs/design/signed-events.md).
    has_signing = hasattr(apps["signed"], "workstation_keys")
    if has_signing:
        apps["signed"].workstation_keys().join(apps["signed"].people.actor("alice"))
    at = utc_iso(clock.now())
    bare = PlainLoop(bare_file(folder / "bare.sqlite3"), ws, at, seq, prev)
    schema = PlainLoop(apps["schema"].db.conn, ws, at, seq, prev)
    # Neither is in the code before this bench compared them: those runs leave them out.
    has_many = hasattr(apps["many"].log, "record_many")
    has_received = hasattr(apps["received"].log, "append_received")
    pulled = PlainLoop(apps["received"].db.conn, ws, at, seq, prev)  # makes the entries "another workstation" sent
    trimmed = {
        f"plain loop, {name}": PlainLoop(without_indexes(base, folder / f"{name}.sqlite3", dropped), ws, at, seq, prev)
        for name, dropped in (WITHOUT_INDEXES.items() if index_costs else ())
    }

    def record(app: App, kind: str) -> Any:
        def run(low: int, high: int) -> None:
            with app.db.write() as conn:
                for i in range(low, high):
                    app.log.record(conn, "alice", kind, small_payload(i))

        return run

    def record_many(low: int, high: int) -> None:
        with apps["many"].db.write() as conn:
            apps["many"].log.record_many(conn, [("alice", SMALL_KIND, small_payload(i)) for i in range(low, high)])

    received: list[tuple[str, bytes]] = []

    def append_received(low: int, high: int) -> None:
        with apps["received"].db.write() as conn:
            apps["received"].log.append_received(conn, received)

    variants: dict[str, Any] = {
        "plain loop, bare table": bare.batch,
        "plain loop, events table": schema.batch,
        "EventLog.record": record(apps["record"], SMALL_KIND),
        "EventLog.record_many": record_many if has_many else None,
        "EventLog.append_received": append_received if has_received else None,
        "EventLog.record, triage.set": record(apps["triage"], Kind.TRIAGE_SET),
        "EventLog.record, signed": record(apps["signed"], SMALL_KIND) if has_signing else None,
        **{name: loop.batch for name, loop in trimmed.items()},
    }
    spent = dict.fromkeys(variants, 0.0)
    for low in range(0, events, batch):
        high = min(low + batch, events)
        received = pulled.rows(low, high)  # pulled from the hub and checked for signatures: not timed here
        for name, run in variants.items():
            if run is not None:
                start = time.perf_counter()
                run(low, high)
                spent[name] += time.perf_counter() - start
    bare.conn.close()
    for loop in trimmed.values():
        loop.conn.close()
    for app in apps.values():
        app.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    last = [bare.prev, schema.prev]
    for name, present in (("record", True), ("many", has_many), ("received", has_received)):
        if present:
            last.append(
                apps[name].db.conn.execute("SELECT hash FROM events ORDER BY position DESC LIMIT 1").fetchone()[0]
            )
    assert len(set(last)) == 1, f"the loops did not write the same bodies: last hashes {last}"
    rate = {name: events / s for name, s in spent.items() if variants[name] is not None}
    limit, schema_limit = rate["plain loop, bare table"], rate["plain loop, events table"]
    print(f"append, {events:,} events in batches of {batch} (WAL, synchronous=FULL), round-robin; same bodies: yes")
    for name, r in rate.items():
        print(
            f"  {name:30s} {r:9,.0f} events/s  {r / limit:5.2f} of the bare loop  "
            f"{r / schema_limit:5.2f} of the events table's"
        )
    triage = rate["EventLog.record, triage.set"]
    print(f"  projection share of record for triage.set: {1 - triage / rate['EventLog.record']:.0%} of its time")
    if has_signing:
        signed = rate["EventLog.record, signed"]
        print(f"  signing's share of record: {1 - signed / rate['EventLog.record']:.0%} of its time")
        start = time.perf_counter()
        report = apps["signed"].log.verify_signatures()
        took = time.perf_counter() - start
        assert report is not None, "the signed file has no signature column"
        assert report.ok, report
        assert report.signed == events + 1, report  # and the joined entry
        print(f"  signatures verified: {report.checked / took:,.0f} entries/s ({report.signed:,} signed)")

    log, path = apps["record"].log, folder / "record.sqlite3"
    total = log.count()
    times: dict[str, list[float]] = {
        "plain re-hash loop": [],
        "EventLog.verify, one process": [],
        "EventLog.verify, two processes": [],
        "EventLog.verify as shipped": [],
    }
    for _ in range(3):
        start = time.perf_counter()
        assert plain_verify(path) == total
        times["plain re-hash loop"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert log.verify(workers=1).ok
        times["EventLog.verify, one process"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert log.verify(workers=2).ok
        times["EventLog.verify, two processes"].append(time.perf_counter() - start)
        start = time.perf_counter()
        assert log.verify().ok
        times["EventLog.verify as shipped"].append(time.perf_counter() - start)
    plain_s = statistics.median(times["plain re-hash loop"])
    print(f"verify, {total:,} events, median of 3 interleaved rounds")
    for name, runs in times.items():
        s_ = statistics.median(runs)
        print(f"  {name:30s} {s_:6.2f} s = {total / s_:9,.0f} events/s  {plain_s / s_:5.2f} of the plain loop")
    for app in apps.values():
        app.close()
    return path


def timed(what: str, fn: Any) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"  {what}: {time.perf_counter() - start:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per write transaction")
    parser.add_argument(
        "--index-costs", action="store_true", help="also the plain loop into the events table less some indexes"
    )
    parser.add_argument("--db", type=Path, help="with --realistic: the database file (default: a temporary folder)")
    parser.add_argument("--realistic", action="store_true", help="a working log (see above), then verify --deep")
    parser.add_argument("--os-keyring", action="store_true", help="keep the log head in the OS keyring (else memory)")
    parser.add_argument("--head-every", type=float, help="seconds between head writes (default: as shipped)")
    args = parser.parse_args()
    if args.head_every is not None:
        audit.HEAD_EVERY_S = args.head_every

    folder = tempfile.TemporaryDirectory(prefix="crisisdesk-bench-")
    clock = FixedClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    secrets = None if args.os_keyring else MemorySecrets()
    print(
        f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()} "
        f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    if not args.realistic:
        path = side_by_side(Path(folder.name), args.events, args.batch, clock, index_costs=args.index_costs)
        secrets = MemorySecrets()  # the head the side-by-side run kept is not this checker's
    else:
        path = args.db or Path(folder.name) / "bench.sqlite3"
        core = App.open(path, create=True, clock=clock, hasher=HASHER, secrets=secrets)
        log = core.log
        start = time.perf_counter()
        sessions = append_realistic(core, args.events, args.batch, Path(folder.name))
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
        core.close()
        print(
            f"append: {args.events:,} events in {append_s:.2f} s = {args.events / append_s:,.0f} events/s "
            f"(batches of {args.batch}, WAL, synchronous=FULL)"
        )
        print(f"  {sessions:,} incident sessions (each a message to six accounts, sent) with triage between")
        print(f"verify: {total:,} events in {verify_s:.2f} s = {total / verify_s:,.0f} events/s (default: both cores)")
        print(f"verify, one process: {single_s:.2f} s = {total / single_s:,.0f} events/s")
    print(f"file: {path.stat().st_size / 1e6:,.0f} MB; load average now {os.getloadavg()[0]:.1f}")

    checker = App.open(path, readonly=True, secrets=secrets)
    print("audit verify as shipped, in parts:")
    assert timed("quick_check", checker.db.quick_check) is None
    timed("hash chain", checker.log.verify)
    print(f"  log head: {timed('head kept in the keyring', checker.audit.check_head).text}")
    start = time.perf_counter()
    shipped = checker.audit.verify()
    print(f"audit verify: {time.perf_counter() - start:.2f} s ({'ok' if shipped.ok else shipped.describe()})")
    if args.realistic:
        start = time.perf_counter()
        deep = checker.audit.verify(deep=True)
        deep_s = time.perf_counter() - start
        assert deep.ok, deep.describe()
        assert deep.projections is not None
        print(
            f"audit verify --deep: {deep_s:.2f} s ({deep.projections.replayed:,} entries replayed into a scratch "
            f"file, {deep.projections.tables} tables compared)"
        )
        timed("of which the replay and comparison alone", checker.log.compare_projections)
    checker.close()
    folder.cleanup()


if __name__ == "__main__":
    main()

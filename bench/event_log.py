"""Append N events to a real SQLite file in batched transactions, then verify the whole chain.

Targets on the 2-core build machine: append >= 20,000 events/s, verify >= 500,000 events/s.

    uv run python bench/event_log.py            # 1,000,000 small events
    uv run python bench/event_log.py --events 100000 --batch 500
    uv run python bench/event_log.py --realistic --events 1000000   # a working log, then verify --deep

``--realistic`` appends what a workstation really writes instead of one small kind: a real session (an
incident opened, a message drafted for every channel and language, edited, submitted, approved, published to
six accounts, each claimed and sent, CAP included) recorded once through the services, then repeated with new
ids, with triage decisions between; then it times ``audit verify`` as shipped (quick_check, chain, the head
kept in the keyring) and with ``--deep`` (the log replayed into a scratch file, every table compared).
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import re
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
from crisisdesk.domain.clock import FixedClock  # noqa: E402
from crisisdesk.domain.events import Kind  # noqa: E402
from crisisdesk.domain.incidents import Mode  # noqa: E402
from crisisdesk.domain.roles import Role  # noqa: E402
from crisisdesk.services import audit  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402
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


def append_small(core: App, events: int, batch: int) -> None:
    """A payload of the size many real events have (a sign-in or a triage decision: ~150 bytes of JSON)."""
    core.people.initialise("alice", "correct horse", workstation_name="bench")
    done = 0
    while done < events:
        n = min(batch, events - done)
        with core.db.write() as conn:
            for i in range(done, done + n):
                core.log.record(
                    conn,
                    "alice",
                    "bench.noted",
                    {"item": f"item-{i}", "status": "acknowledged", "priority": i % 5, "note": "checked by desk 1"},
                )
        done += n


def timed(what: str, fn: Any) -> Any:
    start = time.perf_counter()
    result = fn()
    print(f"  {what}: {time.perf_counter() - start:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per write transaction")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary folder)")
    parser.add_argument("--realistic", action="store_true", help="a working log (see above), then verify --deep")
    parser.add_argument("--os-keyring", action="store_true", help="keep the log head in the OS keyring (else memory)")
    parser.add_argument("--head-every", type=float, help="seconds between head writes (default: as shipped)")
    args = parser.parse_args()
    if args.head_every is not None:
        audit.HEAD_EVERY_S = args.head_every

    folder = tempfile.TemporaryDirectory(prefix="crisisdesk-bench-")
    path = args.db or Path(folder.name) / "bench.sqlite3"
    clock = FixedClock(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    secrets = None if args.os_keyring else MemorySecrets()
    core = App.open(path, create=True, clock=clock, hasher=HASHER, secrets=secrets)
    log = core.log

    start = time.perf_counter()
    if args.realistic:
        sessions = append_realistic(core, args.events, args.batch, Path(folder.name))
    else:
        append_small(core, args.events, args.batch)
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
    size_mb = path.stat().st_size / 1e6

    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print(
        f"append: {args.events:,} events in {append_s:.2f} s = {args.events / append_s:,.0f} events/s "
        f"(batches of {args.batch}, WAL, synchronous=FULL)"
    )
    if args.realistic:
        print(f"  {sessions:,} incident sessions (each a message to six accounts, sent) with triage between")
    print(f"verify: {total:,} events in {verify_s:.2f} s = {total / verify_s:,.0f} events/s (default: both cores)")
    print(f"verify, one process: {single_s:.2f} s = {total / single_s:,.0f} events/s")
    print(f"file: {size_mb:,.0f} MB")

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

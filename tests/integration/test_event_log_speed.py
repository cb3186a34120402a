"""What the event log's append path does to go faster changes nothing it writes or finds (issue 16 item 8):
the time kept per second is the same text, record and record_many write the bytes the plain way would, and the
incident and message indexes (partial since migration 15) still serve every query that finds entries by them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock, SystemClock, utc_iso
from crisisdesk.domain.events import Event, Kind, seal
from crisisdesk.domain.roles import Actor


class SteppingClock:
    """A clock whose every reading moves on by a step drawn at random, across second and day boundaries."""

    def __init__(self, start: datetime, seed: int) -> None:
        self.now_is, self.random = start, random.Random(seed)

    def now(self) -> datetime:
        self.now_is += timedelta(microseconds=self.random.choice([0, 1, 7, 999, 123_457, 999_999, 1_000_000]))
        return self.now_is


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_time_an_entry_carries_is_the_same_text_as_utc_iso(core: App, seed: int) -> None:
    clock = SteppingClock(datetime(2026, 12, 31, 23, 59, 58, 999_990, tzinfo=UTC), seed)
    core.log.clock = clock
    for _ in range(20_000):
        text = core.log._now_text()
        assert text == utc_iso(clock.now_is), clock.now_is
    # Another zone (not cached), then back, and a clock that goes backwards: each still its own text.
    for moment in (
        datetime(2027, 1, 1, 1, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
        datetime(2027, 1, 1, 0, 0, 0, 5, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, 0, 999_999, tzinfo=UTC),
    ):
        core.log.clock = FixedClock(moment)
        assert core.log._now_text() == utc_iso(moment)
    core.log.clock = SystemClock()
    before = utc_iso(datetime.now(UTC))
    assert before <= core.log._now_text() <= utc_iso(datetime.now(UTC))


def test_record_and_record_many_write_what_seal_makes(core: App, admin: Actor) -> None:
    """The same entries through record, then record_many: every body and hash is seal's, linked in order."""
    ws = core.log.workstation_id()
    assert ws is not None
    payloads = [{"item": f"item-{i}", "note": "Ünïcode, “quotes”", "n": i} for i in range(50)]
    with core.db.write() as conn:
        one = [core.log.record(conn, "alice", "bench.noted", p) for p in payloads]
    with core.db.write() as conn:
        many = core.log.record_many(conn, [("alice", "bench.noted", p) for p in payloads])
    written: list[Event] = [*one, *many]
    stored = core.db.conn.execute(
        "SELECT hash, body FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 100", (ws,)
    ).fetchall()[::-1]
    link = str(
        core.db.conn.execute(
            "SELECT hash FROM events WHERE workstation_id = ? AND seq = ?", (ws, one[0].seq - 1)
        ).fetchone()[0]
    )
    for event, (stored_hash, body) in zip(written, stored, strict=True):
        again = seal(
            workstation_id=ws,
            seq=event.seq,
            at=event.at,
            actor="alice",
            kind="bench.noted",
            payload=event.payload,
            prev_hash=link,
        )
        assert (again.hash, again.body) == (stored_hash, body) == (event.hash, event.body)
        assert again == event
        link = event.hash
    assert core.log.verify().ok


def test_the_partial_indexes_serve_every_query_by_incident_or_message(core: App) -> None:
    assert core.db.conn.execute("PRAGMA user_version").fetchone()[0] >= 15
    plans = {
        "SELECT hash, body FROM events WHERE json_extract(body, '$.payload.incident') = ? ORDER BY position": (
            "events_incident"
        ),
        "SELECT hash, body FROM events WHERE kind = ? AND json_extract(body, '$.payload.message') = ? "
        "ORDER BY position DESC LIMIT 1": "events_message",
        "SELECT position, hash, body FROM events WHERE kind IN (?, ?) AND json_extract(body, '$.payload.message') = ? "
        "AND +workstation_id = ? ORDER BY position": "events_message",
        "SELECT position, hash, body FROM events WHERE kind IN (?, ?) AND json_extract(body, '$.payload.incident') "
        "= ? AND +workstation_id = ? ORDER BY position": "events_incident",
        "SELECT position, hash, body FROM events WHERE json_extract(body, '$.payload.incident') IN (?, ?)": (
            "events_incident"
        ),
        "SELECT position, hash, body FROM events WHERE json_extract(body, '$.payload.message') IN (?, ?)": (
            "events_message"
        ),
    }
    for sql, index in plans.items():
        args = ["x"] * sql.count("?")
        plan = " ".join(row[3] for row in core.db.conn.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert f"USING INDEX {index}" in plan, (sql, plan)


def test_entries_naming_no_incident_or_message_stay_out_of_their_indexes(core: App, admin: Actor) -> None:
    with core.db.write() as conn:
        core.log.record(conn, "alice", Kind.TRIAGE_SET, {"item": "a", "status": "acknowledged"})
        core.log.record(conn, "alice", "bench.noted", {"incident": "inc-1", "message": "msg-1"})
    conn = core.db.conn

    def indexed(index: str, path: str) -> int:
        sql = f"SELECT count(*) FROM events INDEXED BY {index} WHERE json_extract(body, '{path}') IS NOT NULL"
        return int(conn.execute(sql).fetchone()[0])

    named = {
        path: int(
            conn.execute(f"SELECT count(*) FROM events WHERE json_extract(body, '{path}') IS NOT NULL").fetchone()[0]
        )
        for path in ("$.payload.incident", "$.payload.message")
    }
    assert indexed("events_incident", "$.payload.incident") == named["$.payload.incident"] >= 1
    assert indexed("events_message", "$.payload.message") == named["$.payload.message"] >= 1
    total = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    assert total > named["$.payload.incident"]
    # Each index holds exactly the entries that name one (SQLite's own check of the index against the table).
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for index, path in (("events_incident", "$.payload.incident"), ("events_message", "$.payload.message")):
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
        assert sql.endswith(f"WHERE json_extract(body, '{path}') IS NOT NULL"), sql


@pytest.mark.parametrize(
    ("cpus", "load", "cores"),
    [(2, 0.0, 2), (2, 1.3, 2), (2, 2.4, 1), (2, 15.0, 1), (8, 3.0, 6), (1, 0.0, 1), (4, None, 4)],
)
def test_verify_takes_only_the_cores_the_load_leaves_idle(
    monkeypatch: pytest.MonkeyPatch, cpus: int, load: float | None, cores: int
) -> None:
    from crisisdesk.store import eventlog

    def loadavg() -> tuple[float, float, float]:
        if load is None:
            raise OSError("no load average on this system")
        return (load, load, load)

    monkeypatch.setattr(eventlog.os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(eventlog.os, "getloadavg", loadavg)
    assert eventlog.idle_cores() == cores


def test_a_write_reads_the_last_entry_of_the_merge_order_through_its_index_whatever_the_times(
    core: App, admin: Actor
) -> None:
    """Every write dates its entry after the log's last in the merge order (domain/merge.py). Through a time index
    alone SQLite sorted all the entries sharing the latest time: with a stuck clock (here every entry at one time)
    each write read the whole log. The merge order's own index answers from its last key, and the fold of the
    tables reads it instead of sorting."""
    with core.db.write() as conn:
        for i in range(300):
            core.log.record(conn, "alice", "bench.noted", {"i": i})
    conn = core.db.conn
    (latest, same) = conn.execute(
        "SELECT max(at), count(*) FROM events WHERE at = (SELECT max(at) FROM events)"
    ).fetchone()
    assert same >= 300  # the fixed clock: hundreds of entries share one time
    for sql in (
        "SELECT at, workstation_id, seq FROM events ORDER BY at DESC, workstation_id DESC, seq DESC LIMIT 1",
        "SELECT hash, body FROM events ORDER BY at, workstation_id, seq",
        "SELECT count(*) FROM events WHERE at >= ? AND at < ?",
    ):
        plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ["x"] * sql.count("?")))
        assert "USING INDEX events_merge_order" in plan and "TEMP B-TREE" not in plan, (sql, plan)
    last = conn.execute("SELECT workstation_id, seq FROM events ORDER BY position DESC LIMIT 1").fetchone()
    with core.db.write() as conn:
        event = core.log.record(conn, "alice", "bench.noted", {"i": "next"})
    assert (event.at, event.workstation_id, event.seq) > (latest, last[0], last[1])

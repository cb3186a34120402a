"""Append events and apply them to the current-state tables in the same transaction.

Services never write a current-state table themselves: they record an event, and the projection for its
kind updates the tables. Replaying every event through the same projections rebuilds the state exactly.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import queue
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.errors import DatabaseDamaged, ExternalError
from crisisdesk.domain.events import (
    GENESIS,
    NOT_CANONICAL,
    ChainReport,
    Event,
    Kind,
    LogHead,
    Segment,
    from_body,
    link_problem,
    sealed,
    stitch,
    verify_chain,
    verify_segment,
)
from crisisdesk.domain.merge import MergeKey, applies_in_order, merge_key
from crisisdesk.domain.signing import SignatureReport, Signer
from crisisdesk.store.db import Database
from crisisdesk.store.deep_check import ProjectionReport, compare_with_log
from crisisdesk.store.migrations import EVENTS_TABLE, EVENTS_TABLE_NOW, PROJECTION_TABLES, SIGNATURES_VERSION
from crisisdesk.store.projections import apply
from crisisdesk.store.verify_worker import replay_and_compare, rows_query, share, signatures_of
from crisisdesk.store.workers import Task, WorkerFailed, Workers

WORKSTATION_KEY = "workstation_id"
# The merge order (domain/merge.py) in SQL: the order the current-state tables are folded in.
MERGE_ORDER = "at, workstation_id, seq"
MERGE_ORDER_DESC = "at DESC, workstation_id DESC, seq DESC"
_INSERT = "INSERT INTO events (hash, body, signature) VALUES (?, ?, ?)"
# Below this many events one process verifies faster than starting workers (bench/event_log.py).
PARALLEL_VERIFY_FROM = 100_000
# This process checks the first stretch while the workers start (about 0.1 s, store/workers.py): it takes about
# as many more entries as it checks in that time, so that all end together.
WORKER_START_ENTRIES = 30_000
# From this many entries the signatures are checked in as many workers as the machine has cores (up to 4): about
# 100 us an Ed25519 check, so a worker's start (0.1 s) is paid back many times over.
SPLIT_SIGNATURES_FROM = 5_000
# A watched verify (one that reports progress) checks the log in stretches of about this many positions, and from
# this many entries in worker processes: hashing and parsing hold the GIL, and a window's thread must keep it.
WATCHED_STRETCH = 25_000
WATCHED_IN_WORKERS_FROM = 20_000

# (entries checked so far, entries in all); it may raise to stop the check (the exception is passed on).
Progress = Callable[[int, int], None]


def _unwatched(done: int, total: int) -> None:
    """The progress of a check nobody watches."""


def idle_cores() -> int:
    """Cores verify's workers may use: the CPUs less those the load average says are busy, counting this process's
    own as free (it is often one of the busy: it may have just appended), and at least one.

    A worker helps only on a core that would otherwise idle: on a machine whose cores were all busy, two processes
    took longer than one (bench/event_log.py: "as shipped" at 0.22 of the plain loop against 0.40 for one process,
    load average 15 on 2 CPUs)."""
    cpus = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except (AttributeError, OSError):  # no load average here (Windows): every core counts as free
        return cpus
    return max(1, min(cpus, cpus - busy + 1))


class EventLog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._workstation_id: str | None = None
        # (transaction id, workstation) -> (seq, hash) of the last event appended in that transaction.
        # Valid only inside one BEGIN IMMEDIATE transaction: no one else can append while we hold the lock.
        self._head: tuple[int, str, int, str] | None = None
        # (transaction id, greatest merge key in the log) after record() wrote: valid only in that write transaction.
        self._last_applied: tuple[int, MergeKey] | None = None
        self._head_listeners: list[Callable[[LogHead], None]] = []
        # Signs each entry this workstation writes (None: not yet, or no key in the keyring; see ``signing``).
        self.signer: Signer | None = None
        self.find_signer: Callable[[str], Signer | None] | None = None
        self._signer_checked = -1  # the write transaction in which the signer was last checked against the log
        # The second of the last time written into an entry (its start, end and text up to the microseconds).
        self._second: tuple[datetime, datetime, str] | None = None
        db.on_commit(self._committed)

    def signing(self, ws: str) -> Signer | None:
        """This workstation's signer for the current write transaction.

        Once per transaction the key the log last declared for this workstation is read (one indexed query): when
        it is not the cached signer's (another App on this file, or another process, replaced it), the keyring is
        asked again through ``find_signer``. With no key declared, nothing is signed."""
        if ws != self.workstation_id():
            return None  # an entry written under another workstation's name (tests, repairs) is not ours to sign
        tx = self.db.transaction_id
        if self._signer_checked != tx:
            self._signer_checked = tx
            row = self.db.conn.execute(
                "SELECT json_extract(body, '$.payload.key') FROM events WHERE kind IN (?, ?) AND +workstation_id = ? "
                "ORDER BY position DESC LIMIT 1",
                (Kind.WORKSTATION_JOINED, Kind.WORKSTATION_KEY_ROTATED, ws),
            ).fetchone()
            if row is None:
                self.signer = None
            elif self.signer is None or self.signer.key_id != row[0]:
                self.signer = self.find_signer(ws) if self.find_signer is not None else None
        return self.signer

    def use_signer(self, signer: Signer | None) -> None:
        """Sign with ``signer`` from now on, this transaction included (a key just declared or replaced)."""
        self.signer, self._signer_checked = signer, self.db.transaction_id

    def on_head(self, listener: Callable[[LogHead], None]) -> None:
        """Call ``listener`` with the new head after each committed write that appended entries."""
        self._head_listeners.append(listener)

    def _committed(self) -> None:
        head = self._head
        if head is None or head[0] != self.db.transaction_id:
            return  # this transaction appended nothing
        for listener in self._head_listeners:
            listener(LogHead(head[1], head[2], head[3]))

    def head_entry(self, workstation_id: str, seq: int) -> tuple[str, bytes] | None:
        """(stored hash, body) of one workstation's entry ``seq``, or None when the log has no such entry."""
        row = self.db.conn.execute(
            "SELECT hash, body FROM events WHERE workstation_id = ? AND seq = ? ORDER BY position LIMIT 1",
            (workstation_id, seq),
        ).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def last_seq(self, workstation_id: str) -> int:
        row = self.db.conn.execute("SELECT max(seq) FROM events WHERE workstation_id = ?", (workstation_id,)).fetchone()
        return int(row[0] or 0)

    def workstation_id(self) -> str | None:
        if self._workstation_id is None:
            self._workstation_id = self.db.get_setting(WORKSTATION_KEY)
        return self._workstation_id

    def record(
        self, conn: sqlite3.Connection, actor: str, kind: str, payload: Mapping[str, Any], *, workstation_id: str = ""
    ) -> Event:
        """Append one event and apply it. Call inside ``Database.write()``."""
        ws, seq, prev = self._next(conn, workstation_id)
        event = sealed(ws, seq, self._after_everything(conn, ws, seq, self._now_text()), actor, kind, payload, prev)
        signer = self.signing(ws)
        conn.execute(_INSERT, (event.hash, event.body, signer.sign(event.hash) if signer else None))
        apply(conn, event)
        self._head = (self.db.transaction_id, ws, seq, event.hash)
        self._last_applied = (self.db.transaction_id, (event.at, ws, seq))
        return event

    def _after_everything(self, conn: sqlite3.Connection, ws: str, seq: int, now: str) -> str:
        """The time of a new entry: ``now``, unless the log holds an entry that would sort after it in the merge
        order (domain/merge.py), then just after that one. So ``at`` never goes backwards along this workstation's
        chain whatever its clock did, an entry sorts after everything its writer had seen (a grant after the
        person's addition, even when the adding workstation's clock is ahead), and applying it at once keeps the
        tables the fold of the log in the merge order."""
        cached = self._last_applied
        last = cached[1] if cached is not None and cached[0] == self.db.transaction_id else self._last_key(conn)
        if last is None or (now, ws, seq) > last:
            return now
        if (last[0], ws, seq) > last:
            return last[0]
        return utc_iso(datetime.fromisoformat(last[0]) + timedelta(microseconds=1))

    def record_many(
        self,
        conn: sqlite3.Connection,
        entries: Iterable[tuple[str, str, Mapping[str, Any]]],
        *,
        workstation_id: str = "",
    ) -> list[Event]:
        """Append (actor, kind, payload) entries in order and apply each, as many :meth:`record` calls would,
        with one insert statement for them all. Call inside ``Database.write()``.

        The events are sealed and inserted before any is applied: no projection reads the log, so the tables end
        as they would entry by entry, and an error in any of them undoes the whole write. They all carry the time
        of the call: one write, one moment.
        """
        ws, seq, prev = self._next(conn, workstation_id)
        at = self._after_everything(conn, ws, seq, self._now_text())
        events: list[Event] = []
        add = events.append
        for actor, kind, payload in entries:
            event = sealed(ws, seq, at, actor, kind, payload, prev)
            add(event)
            prev = event.hash
            seq += 1
        if not events:
            return events
        signer = self.signing(ws)
        conn.executemany(_INSERT, ((e.hash, e.body, signer.sign(e.hash) if signer else None) for e in events))
        for event in events:
            apply(conn, event)
        self._head = (self.db.transaction_id, ws, seq - 1, prev)
        self._last_applied = (self.db.transaction_id, (at, ws, seq - 1))
        return events

    def append_received(
        self,
        conn: sqlite3.Connection,
        entries: Iterable[tuple[str, bytes]],
        *,
        signatures: Mapping[str, str] | None = None,
    ) -> list[Event]:
        """Append (hash, body) entries sealed on another workstation, verbatim and in order, and apply each.

        The log is append-only, so nothing goes in that ``verify`` would later call bad: each body must match its
        hash, be canonical and continue its workstation's chain here (the next sequence number, linked to the last
        hash). The first entry that does not is named in a ``ValueError`` and nothing is appended. Signatures are
        the caller's to check first; ``signatures`` (by hash) are stored with their entries. Call inside
        ``Database.write()``.
        """
        loads, dumps, sort_keys, sha256 = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS, hashlib.sha256
        heads: dict[str, tuple[int, str]] = {}
        events: list[Event] = []
        rows: list[tuple[str, bytes, str | None]] = []
        signed = signatures or {}
        for i, (stored_hash, body) in enumerate(entries, 1):
            if type(body) is not bytes or sha256(body).hexdigest() != stored_hash:
                raise ValueError(f"received entry #{i}: its content does not match its hash")
            try:
                data = loads(body)
                ws, seq, prev = data["ws"], data["seq"], data["prev"]
                at, actor, kind, payload = data["at"], data["actor"], data["kind"], data["payload"]
                if type(seq) is not int or not all(type(v) is str for v in (ws, prev, at, actor, kind)):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"received entry #{i}: its content is not a crisisdesk event") from None
            if dumps(data, option=sort_keys) != body:
                raise ValueError(f"received entry #{i}: {NOT_CANONICAL}")
            head = heads.get(ws)
            if head is None:
                row = conn.execute(
                    "SELECT seq, hash FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws,)
                ).fetchone()
                head = (int(row[0]), str(row[1])) if row else (0, GENESIS)
            problem = link_problem(head[0], head[1], seq, prev)
            if problem is not None:
                raise ValueError(
                    f"received entry #{i} (workstation {ws}, seq {seq}) does not follow this log: {problem}"
                )
            heads[ws] = (seq, stored_hash)
            events.append(Event(ws, seq, at, actor, kind, payload, prev, stored_hash, body))
            rows.append((stored_hash, body, signed.get(stored_hash)))
        if rows:
            self._last_applied = None  # the greatest key may move: read it again when next needed
            # Applied in the merge order (domain/merge.py): after what is here when every entry sorts after the
            # last applied one, else by folding the whole log again, so any delivery order gives the same tables.
            # A hub.founded may change whose first admin counts: folded again too.
            founded = any(e.kind == Kind.HUB_FOUNDED for e in events)
            in_order = not founded and applies_in_order(self._last_key(conn), (merge_key(e) for e in events))
            conn.executemany(_INSERT, rows)
            if in_order:
                for event in sorted(events, key=merge_key):
                    _apply_received(conn, event)
            else:
                self._rebuild(conn)
            own = self.workstation_id()
            if own in heads:  # a copy of this workstation's own entries: the chain head moved
                self._head = (self.db.transaction_id, own, *heads[own])
        return events

    def _now_text(self) -> str:
        """``utc_iso(self.clock.now())``, faster within one second: formatting an aware time costs about 1 us, a
        tenth of what ``record`` adds to the insert (bench/event_log.py), so the second's text is kept and only the
        microseconds are written (the same text: checked by a test)."""
        now = self.clock.now()
        second = self._second
        if second is not None and now.tzinfo is UTC and second[0] <= now < second[1]:
            return f"{second[2]}{now.microsecond:06d}+00:00"
        text = utc_iso(now)
        if now.tzinfo is UTC:
            start = now.replace(microsecond=0)
            self._second = (start, start + timedelta(seconds=1), text[:20])  # up to and with the decimal point
        return text

    def _next(self, conn: sqlite3.Connection, workstation_id: str) -> tuple[str, int, str]:
        """(workstation, seq, previous hash) of the next entry: from the head this transaction appended, else read."""
        ws = workstation_id or self._workstation_id or self.workstation_id()
        if not ws:
            raise RuntimeError("no workstation identity: the database was not initialised")
        head = self._head
        if head is not None and head[0] == self.db.transaction_id and head[1] == ws and conn.in_transaction:
            return ws, head[2] + 1, head[3]
        row = conn.execute(
            "SELECT seq, hash FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws,)
        ).fetchone()
        return (ws, row[0] + 1, row[1]) if row else (ws, 1, GENESIS)

    def count(self) -> int:
        return int(self.db.conn.execute("SELECT count(*) FROM events").fetchone()[0])

    def events(self, *, batch: int = 5000) -> Iterator[Event]:
        """Every event in storage order."""
        for _, stored_hash, body in self.raw_rows(batch=batch):
            yield from_body(body, stored_hash)

    def raw_rows(self, *, batch: int = 5000) -> Iterator[tuple[int, str, bytes]]:
        cursor = self.db.conn.execute("SELECT position, hash, body FROM events ORDER BY position")
        while rows := cursor.fetchmany(batch):
            yield from rows

    def verify(self, *, workers: int | None = None, progress: Progress | None = None) -> ChainReport:
        """Recompute the chain over the stored bytes; also check the table itself was not swapped.

        A large log is split into stretches verified side by side in worker processes (hashing and JSON
        parsing hold Python's GIL, so threads would not help), then stitched together in order.

        With ``progress`` the log is checked in many short stretches (in worker processes from
        ``WATCHED_IN_WORKERS_FROM`` entries, so the calling process's GIL stays free for a window), and
        ``progress(checked, total)`` is called after each; an exception it raises stops the check.
        """
        row = self.db.conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
        # A file verified read-only is not migrated: one older than signatures has the table without that column.
        shape = EVENTS_TABLE_NOW if self.signed_table() else EVENTS_TABLE
        if row is None or " ".join(row[0].split()) != " ".join(shape.split()):
            return ChainReport(
                ok=False,
                checked=0,
                head={},
                bad_position=0,
                reason="the events table was replaced by one of a different shape",
            )
        try:
            return self._verify(workers) if progress is None else self._verify_watched(workers, progress)
        except sqlite3.DatabaseError as exc:  # a damaged page, met while reading the entries
            raise DatabaseDamaged(f"the audit log could not be read: {exc}") from exc
        except WorkerFailed as exc:
            raise ExternalError(f"the audit log could not be checked: {exc}; check again") from exc

    def _verify(self, workers: int | None) -> ChainReport:
        count = self.count()
        if workers is None:
            workers = min(idle_cores(), 4) if count >= PARALLEL_VERIFY_FROM else 1
        if workers <= 1 or count < 2 * workers:
            # The cursor itself, not raw_rows(): its batches and generator cost a tenth of the plain re-hash loop.
            return verify_chain(self.db.conn.execute("SELECT position, hash, body FROM events ORDER BY position"))
        # This process checks the first stretch while the workers start and check the others: one process fewer
        # to start, and a core not left waiting (bench/event_log.py).
        head_start = min(WORKER_START_ENTRIES, count // (2 * workers))
        first = (count + (workers - 1) * head_start) // workers
        rest = count - first
        ranges = self._ranges(count, [first + rest * i // (workers - 1) for i in range(workers - 1)])
        # Everything committed is in the WAL, which the workers' read-only connections see.
        path = str(self.db.path)
        with Workers([[("verify_range", (path, low, high))] for low, high in ranges[1:]]) as pool:
            sql, args = rows_query(*ranges[0])
            segments: list[Segment] = [verify_segment(self.db.conn.execute(sql, args))]
            if segments[0].failure is not None:
                return stitch(segments)  # the first bad entry is in this stretch: the others cannot change it
            later: dict[int, Segment] = {}
            while pool.pending:
                w, _, segment = pool.next(timeout=None)
                later[w] = segment
        return stitch([*segments, *(later[w] for w in sorted(later))])

    def _ranges(self, count: int, offsets: Iterable[int]) -> list[tuple[int | None, int | None]]:
        """Position ranges [low, high) that split the log at these entry offsets (None: an open end)."""
        bounds = [
            self.db.conn.execute("SELECT position FROM events ORDER BY position LIMIT 1 OFFSET ?", (o,)).fetchone()[0]
            for o in offsets
            if 0 < o < count
        ]
        return list(zip([None, *bounds], [*bounds, None], strict=True))

    def _verify_watched(self, workers: int | None, progress: Progress) -> ChainReport:
        total = self.count()
        low, high = self.db.conn.execute("SELECT min(position), max(position) FROM events").fetchone()
        progress(0, total)
        if not total:
            return verify_chain(())
        # Positions only grow (the table refuses deletes), so equal position ranges hold about equal entries.
        starts = list(range(low, high + 1, WATCHED_STRETCH))
        ranges = [(start, start + WATCHED_STRETCH) for start in starts]
        segments: list[Segment | None] = [None] * len(ranges)
        if total < WATCHED_IN_WORKERS_FROM:
            checked = 0
            for i, (start, end) in enumerate(ranges):
                sql, args = rows_query(start, end)
                segment = verify_segment(self.db.conn.execute(sql, args))
                segments[i] = segment
                checked += segment.checked
                progress(checked, total)
                if segment.failure is not None:
                    break  # the stretches after a broken one cannot change which entry is the first bad one
            return stitch(s for s in segments if s is not None)
        if workers is None:
            workers = min(os.cpu_count() or 1, 4)
        workers = max(1, min(workers, len(ranges)))
        path = str(self.db.path)
        # Worker w checks stretches w, w + workers, ...: the stretches come in about in order.
        plans: list[list[Task]] = [
            [("verify_range", (path, start, end)) for start, end in ranges[w::workers]] for w in range(workers)
        ]
        with Workers(plans) as pool:
            checked, broken = 0, len(ranges)
            missing = set(range(len(ranges)))
            while any(j < broken for j in missing):  # once every stretch before a broken one is in, stop
                try:
                    w, i, segment = pool.next(timeout=0.1)
                except queue.Empty:
                    progress(checked, total)
                    continue
                j = w + i * workers
                segments[j] = segment
                missing.discard(j)
                checked += segment.checked
                if segment.failure is not None and j < broken:
                    broken = j
                progress(checked, total)
            return stitch(s for s in segments[: broken + 1] if s is not None)

    def signed_table(self) -> bool:
        """Has this file's events table the signature column (a migrated file; one verified read-only may not)?"""
        return int(self.db.conn.execute("PRAGMA user_version").fetchone()[0]) >= SIGNATURES_VERSION

    def verify_signatures(self, *, progress: Progress | None = None) -> SignatureReport | None:
        """Check every entry's signature against the keys the log declares (domain/signing.py), per workstation.
        None for a file older than signatures (verified read-only, not migrated).

        A signature check takes about 100 µs (against 2-3 µs to hash an entry): a log of ``WATCHED_IN_WORKERS_FROM``
        entries or more, or any with ``progress`` (a window is waiting), is checked in worker processes, one a core
        (up to 4) from ``SPLIT_SIGNATURES_FROM`` entries, so the calling process's GIL stays free;
        ``progress(checked, total)`` is called every 100 ms and may raise to stop the check.
        """
        if not self.signed_table():
            return None
        try:
            total = self.count()
            if progress is None:
                if total < WATCHED_IN_WORKERS_FROM:
                    return signatures_of(self.db.conn)
                # A big log in a worker even unwatched: the check orders and folds every entry in long C calls
                # that hold the GIL (a console's pool thread held it 112 ms on 1,000,000: tests/ui/test_under_load).
                progress = _unwatched
            workers = min(os.cpu_count() or 1, 4) if total >= SPLIT_SIGNATURES_FROM else 1
            ranges = self._ranges(total, [total * i // workers for i in range(1, workers)])
            path = str(self.db.path)
            reports: list[SignatureReport | None] = [None] * len(ranges)
            with Workers([[("signatures_range", (path, low, high))] for low, high in ranges]) as pool:
                progress(0, total)
                while pool.pending:
                    try:
                        w, _, report = pool.next(timeout=0.1)
                        reports[w] = report
                    except queue.Empty:
                        pass
                    progress(sum(r.checked for r in reports if r is not None), total)
            return SignatureReport.joined([r for r in reports if r is not None])
        except sqlite3.DatabaseError as exc:
            raise DatabaseDamaged(f"the audit log could not be read: {exc}") from exc
        except WorkerFailed as exc:
            raise ExternalError(f"the signatures could not be checked: {exc}; check again") from exc

    def compare_projections(
        self, *, scratch_dir: Path | None = None, progress: Progress | None = None
    ) -> ProjectionReport:
        """Replay the log into a scratch copy and name every current-state row that disagrees with it.

        Reads this database through a read-only connection of its own: the file is never written.
        """
        try:
            if progress is None:
                return compare_with_log(self.db.path, scratch_dir=scratch_dir)
            return self._compare_in_worker(scratch_dir, progress)
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "full" in text or "disk I/O" in text:  # the scratch copy holds every table: about half the database
                raise ExternalError(
                    f"the deep check could not write its scratch copy in the temporary folder ({text}): free space "
                    "there or set TMPDIR to a folder on a larger disk, then check again"
                ) from exc
            if "locked" in text or "busy" in text:
                raise ExternalError(f"the database {self.db.path} is busy; try the deep check again") from exc
            raise DatabaseDamaged(f"the database could not be read for the deep check: {text}") from exc
        except sqlite3.DatabaseError as exc:
            raise DatabaseDamaged(f"the database could not be read for the deep check: {exc}") from exc

    def _compare_in_worker(self, scratch_dir: Path | None, progress: Progress) -> ProjectionReport:
        """The deep check in a worker process, its count read every 100 ms and given to ``progress``; if that raises,
        the worker is told to stop (at its next batch) and the exception is passed on."""
        context = multiprocessing.get_context("spawn")
        done, total, stop = context.Value("q", 0), context.Value("q", 0), context.Value("b", 0)
        pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=share, initargs=(done, total, stop))
        try:
            future = pool.submit(replay_and_compare, str(self.db.path), str(scratch_dir) if scratch_dir else None)
            while True:
                finished, _ = wait([future], timeout=0.1)
                progress(int(done.value), int(total.value))
                if finished:
                    report: ProjectionReport = future.result()
                    return report
        except BaseException:
            stop.value = 1
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def replay(self) -> int:
        """Rebuild every current-state table from the events, in the merge order. Returns how many were applied."""
        with self.db.write() as conn:
            return self._rebuild(conn)

    def _rebuild(self, conn: sqlite3.Connection) -> int:
        """Empty the current-state tables and apply every event again in the merge order (inside a write)."""
        for table in reversed(PROJECTION_TABLES):
            conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        n = 0
        cursor = conn.execute(f"SELECT hash, body FROM events ORDER BY {MERGE_ORDER}")  # noqa: S608 - a constant
        while batch := cursor.fetchmany(5000):
            for stored_hash, body in batch:
                _apply_received(conn, from_body(body, stored_hash))
                n += 1
        return n

    @staticmethod
    def _last_key(conn: sqlite3.Connection) -> MergeKey | None:
        """The greatest merge key among the entries applied: the last entry of the merge order's index."""
        row = conn.execute(
            f"SELECT at, workstation_id, seq FROM events ORDER BY {MERGE_ORDER_DESC} LIMIT 1"  # noqa: S608 - a constant
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), int(row[2]))

    def merge_ordered(self, *, batch: int = 5000) -> Iterator[Event]:
        """Every event in the merge order: the order the current-state tables were folded in."""
        cursor = self.db.conn.execute(f"SELECT hash, body FROM events ORDER BY {MERGE_ORDER}")  # noqa: S608
        while rows := cursor.fetchmany(batch):
            for stored_hash, body in rows:
                yield from_body(body, stored_hash)


def _apply_received(conn: sqlite3.Connection, event: Event) -> None:
    """Apply an entry that may have come from another workstation. Its causes may not be here yet (an edit whose
    message was drafted on a workstation not heard from: a bundle, a hub that has one chain but not yet another);
    what it changes is then left undone, and when the missing entry arrives it sorts before this one, so the
    tables are folded again and this one is applied after it."""
    conn.execute("SAVEPOINT received")
    try:
        apply(conn, event)
    except sqlite3.IntegrityError:
        conn.execute("ROLLBACK TO received")
    conn.execute("RELEASE received")

"""Sync through the team hub: push this log's entries, pull the others', listen for news.

The hub is a PostgreSQL database (store/hub.py). Push sends, for every workstation this log holds entries of, the
entries after the hub's last one of it, under the hub's push lock; pull reads the hub in its own order from a
cursor and hands the entries to the Receiver, which checks hashes, chains and signatures before anything is
applied. The hub's URL is a local setting without its password; the password is in the keyring.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from crisisdesk.credentials import SecretStore
from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.errors import CrisisdeskError, ExternalError, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.plain_text import control_character
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.domain.signing import KeyEvent, SignedRow, check_signatures
from crisisdesk.services.guard import require
from crisisdesk.services.receive import Incoming, Receiver, ReceiveReport, held_key_events
from crisisdesk.services.workstation_keys import WorkstationKeys
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import WORKSTATION_KEY, EventLog
from crisisdesk.store.hub import (
    Hub,
    HubAddress,
    HubEntry,
    HubNotReady,
    HubUnreachable,
    Listener,
    Outgoing,
    parse_hub_url,
)
from crisisdesk.store.peer_heads import record_peer_heads

log = logging.getLogger(__name__)

HUB_URL = "hub_url"
HUB_CURSOR = "hub_cursor"  # the last hub_seq this workstation applied (or already held) without a gap before it
HUB_PULLED_FROM = "hub_pulled_from"  # the hub_id (hub_meta) of the hub the cursor counts in
HUB_ALARM_CURSOR = "hub_alarm_cursor"  # the last hub_equivocations id turned into an alarm here
HUB_LAST_SYNC = "hub_last_sync"
HUB_LAST_ERROR = "hub_last_error"
HUB_SOURCE = "hub"
SYSTEM = "system"

PUSH_BATCH = 2_000  # entries per INSERT: ~1 MB of bodies
PULL_BATCH = 5_000  # entries handed to the Receiver at once: one SQLite write transaction
SAFETY_POLL = 30.0  # seconds: a pull even when no notification came (one may be lost with a connection)
LOCAL_POLL = 0.1  # seconds between looks at the local file for a commit by another process
GATHER, GATHER_MAX = 0.05, 0.3  # after a notification: wait for the next one this long, gathering at most this long
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
MAX_WORKSTATION_NAME = 80


@dataclass
class SyncReport:
    """What one sync did."""

    pushed: int = 0
    applied: int = 0
    already_held: int = 0
    equivocations: int = 0  # new ones seen in this sync (pushed, pulled or raised at the hub)
    refused: dict[str, str] = field(default_factory=dict)  # workstation -> why its entries were not applied
    cursor: int = 0
    # What the hub did that no workstation did: a forged row by hand, a restore from an older backup (one line each)
    notices: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"pushed {self.pushed}, applied {self.applied}"
        if self.already_held:
            text += f", already held {self.already_held}"
        if self.equivocations:
            text += f", EQUIVOCATION {self.equivocations} (see 'crisisdesk hub status')"
        for ws, why in sorted(self.refused.items()):
            text += f"; refused workstation {ws}: {why}"
        for notice in self.notices:
            text += f"; {notice}"
        return text


@dataclass
class SyncStatus:
    """What the console and ``crisisdesk hub status`` show."""

    configured: bool
    hub_url: str | None = None
    connected: bool = False
    last_sync: str | None = None
    to_push: int | None = None  # None: not known (no hub configured, or never reached)
    to_apply: int | None = None
    equivocations: int = 0
    last_error: str | None = None
    cursor: int = 0
    # Why this workstation cannot sign what it writes now (WorkstationKeys.signing_problem), or None.
    cannot_sign: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        first = [self.cannot_sign] if self.cannot_sign else []
        if not self.configured:
            return [
                *first,
                "no hub: this workstation works alone ('crisisdesk hub init URL' or 'crisisdesk hub join URL')",
            ]

        def known(n: int | None) -> str:
            return "unknown" if n is None else str(n)

        out = [
            *first,
            f"hub: {self.hub_url}",
            f"connected: {'yes' if self.connected else 'no'}",
            f"last sync: {self.last_sync or 'never'}",
            f"waiting to push: {known(self.to_push)}",
            f"waiting to apply (at the hub beyond this workstation's cursor {self.cursor}): {known(self.to_apply)}",
            f"equivocations seen: {self.equivocations}",
        ]
        if self.last_error:
            out.append(f"last error: {self.last_error}")
        return out


def _set_local(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    if value is None:
        conn.execute("DELETE FROM local_settings WHERE key = ?", (key,))
    else:
        conn.execute(
            "INSERT INTO local_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def forged_row(ws: str, seq: int) -> str:
    """The one line for a hub row in a workstation's name that its key did not sign."""
    return (
        f"FORGED HUB ROW: the hub's entry for workstation {ws} seq {seq} is not signed by that workstation's key "
        f"(written into the hub by hand, not an equivocation of {ws}); {ws}'s entries from seq {seq} on cannot go "
        f"in while it holds that place: a hub admin must delete that row of hub_events (workstation_id {ws!r}, "
        f"seq {seq}) as the database owner, with session_replication_role = replica (the hub refuses it otherwise)"
    )


def check_workstation_name(name: str) -> str:
    name = name.strip()
    control = control_character(name)
    if not name or control or len(name) > MAX_WORKSTATION_NAME:
        why = (
            f"holds a control character ({control})"
            if control
            else f"is empty or over {MAX_WORKSTATION_NAME} characters"
        )
        raise UserError(f"the workstation name {name!r} {why}: give a short name on one line, such as 'EOC desk 2'")
    return name


def joining_identity(conn: sqlite3.Connection, db: Database, log: EventLog, secrets: SecretStore, name: str) -> str:
    """A workstation joining a team (through the hub, or a bundle where there is no network): its identity and
    signing key only, inside the caller's write transaction on a new database. No admin and no default channels:
    the team's come with its log. Returns the workstation's id. ``name`` is checked (``check_workstation_name``)."""
    name = check_workstation_name(name)
    refused = secrets.refusal()
    if refused:
        raise UserError(refused)
    if conn.execute("SELECT 1 FROM local_settings WHERE key = ?", (WORKSTATION_KEY,)).fetchone():
        raise UserError(f"{db.path} is already set up")
    ws = str(uuid.uuid4())
    conn.execute("INSERT INTO local_settings (key, value) VALUES (?, ?)", (WORKSTATION_KEY, ws))
    log.record(conn, SYSTEM, Kind.WORKSTATION_CREATED, {"id": ws, "name": name})
    WorkstationKeys(db, log, secrets).declare(conn, ws)  # a joined workstation signs from its first entry on
    return ws


class SyncService:
    def __init__(self, db: Database, log: EventLog, clock: Clock, secrets: SecretStore) -> None:
        self.db = db
        self.log = log
        self.clock = clock
        self.secrets = secrets
        self._hub: Hub | None = None
        self._wake = threading.Event()
        # The local log's last position known to be at the hub (pushed, or pulled from it): while it has not moved,
        # a sync only pulls (None: push at the next sync).
        self._pushed_to: int | None = None
        self._notices: list[str] = []  # this sync's notices (SyncReport.notices), kept as the last error

    # -- configuration -----------------------------------------------------------------------------------------

    def address(self) -> HubAddress | None:
        url = self.db.get_setting(HUB_URL)
        return parse_hub_url(url)[0] if url else None

    def _require_address(self) -> HubAddress:
        address = self.address()
        if address is None:
            raise UserError(
                "no hub is set up on this workstation: 'crisisdesk hub init URL --as ADMIN' founds one, "
                "'crisisdesk hub join URL --workstation NAME' joins one (on a new database)"
            )
        return address

    def _remember(self, address: HubAddress, password: str | None) -> None:
        """Keep the password in the keyring (never in SQLite) and the URL without it as a local setting."""
        if password is not None:
            refused = self.secrets.refusal()
            if refused:
                raise UserError(refused)
            self.secrets.set_hub_password(address.secret_key, password)
        with self.db.write() as conn:
            previous = self.db.get_setting(HUB_URL)
            _set_local(conn, HUB_URL, address.url)
            if previous != address.url:  # another hub: its sequence is not the old one's
                for key in (HUB_CURSOR, HUB_ALARM_CURSOR, HUB_LAST_SYNC, HUB_LAST_ERROR):
                    _set_local(conn, key, None)

    def _password(self, address: HubAddress) -> str | None:
        try:
            return self.secrets.hub_password(address.secret_key)
        except CrisisdeskError as exc:
            raise HubUnreachable(f"the hub's password could not be read from the keyring: {exc}") from None

    def connect(self, address: HubAddress | None = None, password: str | None = None) -> Hub:
        """A checked connection to the configured hub (or ``address``): HubUnreachable or HubNotReady otherwise."""
        address = address or self._require_address()
        if password is None:
            password = self._password(address)
        hub = self._reach(address, password)
        try:
            hub.check_schema()
        except BaseException:
            hub.close()
            raise
        return hub

    def _reach(self, address: HubAddress, password: str | None) -> Hub:
        """A connection, with what to do when the password is the problem."""
        try:
            return Hub.connect(address, password)
        except HubUnreachable as exc:
            if "password" in str(exc) and "authentication failed" in str(exc):
                raise HubUnreachable(
                    f"{exc} (give the password once in the URL, postgresql://USER:PASSWORD@HOST/DB, with "
                    "'crisisdesk hub init' or 'hub join': it is kept in the keyring)"
                ) from None
            if "no password supplied" in str(exc):
                raise HubUnreachable(
                    f"the hub {address} asks for a password and the keyring holds none: give it once in the URL "
                    "(postgresql://USER:PASSWORD@HOST/DB) with 'crisisdesk hub init' or 'hub join'"
                ) from None
            raise

    def _connection(self) -> Hub:
        if self._hub is not None:
            try:
                self._hub.check_schema()  # one small query: a hub upgraded meanwhile is not written to
                return self._hub
            except HubUnreachable:  # a connection the hub dropped (a restart): one fresh try before giving up
                self.close()
        self._hub = self.connect()
        return self._hub

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()
            self._hub = None

    # -- founding and joining ----------------------------------------------------------------------------------

    def found(self, actor: Actor, url: str, *, password: str | None = None) -> tuple[str, SyncReport]:
        """``crisisdesk hub init``: create the hub's schema, record ``hub.founded`` and push everything. The
        password: ``password``, else the URL's, else the one the keyring holds for that hub."""
        require(self.db, self.log, actor, Permission.MANAGE_PEOPLE, "found the team hub")
        address, in_url = parse_hub_url(url)
        password = password if password is not None else in_url
        ws = self.log.workstation_id()
        if not ws:
            raise UserError(f"the database {self.db.path} is not set up yet: run 'crisisdesk init' first")
        password = password if password is not None else self._password(address)
        hub = self._reach(address, password)
        try:
            hub_id, _ = hub.init_schema(ws)
        finally:
            hub.close()
        self._remember(address, password)
        with self.db.write() as conn:
            held = conn.execute(
                "SELECT 1 FROM events WHERE kind = ? AND json_extract(body, '$.payload.hub_id') = ?",
                (Kind.HUB_FOUNDED, hub_id),
            ).fetchone()
            if held is None:
                self.log.record(conn, actor.name, Kind.HUB_FOUNDED, {"hub_id": hub_id, "workstation": ws})
        return hub_id, self.sync_once()

    def join(
        self,
        url: str,
        workstation_name: str,
        *,
        password: str | None = None,
        then: Callable[[sqlite3.Connection], object] | None = None,
    ) -> tuple[str, SyncReport]:
        """``crisisdesk hub join`` on a new database: everything the hub holds, then this workstation's identity and
        signing key only (no admin, no default channels: the team's come from the hub), then ``then(conn)`` (a
        person's local password, ``--as``), in one write: a refusal anywhere leaves the database not set up. Then
        a sync pushes the identity."""
        name = check_workstation_name(workstation_name)
        address, in_url = parse_hub_url(url)
        password = password if password is not None else in_url
        if self.log.workstation_id():
            raise UserError(
                f"the database {self.db.path} is already set up: 'hub join' needs a new database (--db NEW-FILE); "
                "to sync this one with a hub, use 'crisisdesk hub init' on it"
            )
        # The hub is checked before anything is created here: a wrong URL leaves the file as it was.
        hub = self.connect(address, password)
        made = False
        try:
            with self.db.write() as conn:
                # The team's entries first (as 'bundle join' does), so the person named by ``then`` is known.
                self.pull(hub, into=conn)
                ws = joining_identity(conn, self.db, self.log, self.secrets, name)
                made = True
                # The URL in the same write (without its password): a refused join leaves no hub behind either.
                _set_local(conn, HUB_URL, address.url)
                if then is not None:
                    then(conn)
        except BaseException:
            if made:  # rolled back: this service must not go on as the workstation that was never made
                self.log.use_signer(None)
                self.log._workstation_id = None  # the log caches the identity just rolled back
            raise
        finally:
            hub.close()
        self._remember(address, password)
        return ws, self.sync_once()

    # -- push and pull -----------------------------------------------------------------------------------------

    @staticmethod
    def _top(conn: sqlite3.Connection) -> int:
        """The last position of the local log: any entry appended here (written, imported) moves it."""
        return int(conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0])

    def _local_heads(self) -> dict[str, int]:
        rows = self.db.conn.execute("SELECT workstation_id, max(seq) FROM events GROUP BY workstation_id").fetchall()
        return {str(ws): int(seq) for ws, seq in rows}

    def _local_hash(self, ws: str, seq: int) -> str | None:
        held = self.log.head_entry(ws, seq)
        return None if held is None else held[0]

    def _outgoing(self, ws: str, after: int, limit: int) -> list[Outgoing]:
        rows = self.db.conn.execute(
            "SELECT seq, hash, body, signature FROM events WHERE workstation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (ws, after, limit),
        ).fetchall()
        return [Outgoing(ws, int(seq), str(h), bytes(b), sig) for seq, h, b, sig in rows]

    def push(self, hub: Hub) -> tuple[int, int, dict[str, tuple[int, str]]]:
        """Push every entry the hub lacks. Returns (inserted, equivocations recorded, the hub's heads after).

        What to send is planned against the hub's heads as read now, without the push lock; the insert then
        takes the lock and keeps only the stretches whose chain still ends where planned (``Hub.push_rows``). A
        chain that moved meanwhile (another workstation relayed it) is planned again from the hub's new heads."""
        own = self.log.workstation_id() or "unknown"
        local = self._local_heads()
        heads = hub.heads()
        inserted = equivocations = 0
        todo = sorted(local)
        for _ in range(5):  # each round, only chains another pusher moved since they were planned
            rows: list[Outgoing] = []
            for ws in todo:
                plan = self._plan(hub, ws, local[ws], heads.get(ws))
                if isinstance(plan, int):  # the chains part at or before this seq
                    equivocations += self._report_fork(hub, ws, plan, own)
                else:
                    rows.extend(plan)
            moved: set[str] = set()
            for start in range(0, len(rows), PUSH_BATCH):
                chunk = rows[start : start + PUSH_BATCH]
                done = hub.push_rows(chunk, own)
                inserted += len(done)
                for row in chunk:
                    if (row.workstation_id, row.seq) in done:
                        heads[row.workstation_id] = (row.seq, row.hash)
                    else:
                        moved.add(row.workstation_id)
            if not moved:
                break
            todo = sorted(moved)
            heads = hub.heads()
        return inserted, equivocations, heads

    def _plan(self, hub: Hub, ws: str, local_max: int, head: tuple[int, str] | None) -> list[Outgoing] | int:
        """What to push of one chain given the hub's head of it: the local entries after it, or the seq at or before
        which this log's chain and the hub's part (an int: nothing of it is pushed)."""
        hub_max, hub_hash = head or (0, "")
        common = min(hub_max, local_max)
        if common:
            theirs = hub_hash if common == hub_max else hub.entry_hash(ws, common)
            if theirs != self._local_hash(ws, common):
                return common
        rows: list[Outgoing] = []
        after = hub_max
        while after < local_max:
            chunk = self._outgoing(ws, after, PUSH_BATCH)
            if not chunk:
                break
            rows.extend(chunk)
            after = chunk[-1].seq
        return rows

    def _report_fork(self, hub: Hub, ws: str, up_to: int, own: str) -> int:
        """Record at the hub the first local entry of ``ws`` that differs from the hub's (1 if newly recorded)."""
        theirs = hub.hashes(ws, up_to)
        rows = self.db.conn.execute(
            "SELECT seq, hash, body, signature FROM events WHERE workstation_id = ? AND seq <= ? ORDER BY seq",
            (ws, up_to),
        )
        for seq, h, body, sig in rows:
            held = theirs.get(int(seq))
            if held is not None and held != h:
                row = hub.entry(ws, int(seq))
                if row is not None and not self._proved(row, held_key_events(self.db.conn)):
                    # Not the workstation's own entry: it equivocated nothing; the hub holds a forgery.
                    self._notices.append(forged_row(ws, int(seq)))
                    log.warning("%s", self._notices[-1])
                    return 0
                return int(hub.record_equivocation(Outgoing(ws, int(seq), str(h), bytes(body), sig), held, own))
        return 0

    @staticmethod
    def _proved(entry: HubEntry, keys: list[KeyEvent]) -> bool:
        """Whether a hub row is its workstation's own as far as this log can tell: an entry of that workstation and
        seq whose content matches its hash, signed as this log's key table requires (by a key of that workstation
        valid at the entry's time, the signature good). A workstation this log knows no key of proves nothing
        either way: its rows are taken as before signing."""
        if hashlib.sha256(entry.body).hexdigest() != entry.hash:
            return False
        try:
            data = orjson.loads(entry.body)
            at = data["at"]
            mine = data["ws"] == entry.workstation_id and data["seq"] == entry.seq and isinstance(at, str)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return False
        if not mine or not isinstance(entry.signature, str | None):
            return False
        row = SignedRow(0, entry.workstation_id, entry.seq, at, entry.hash, entry.signature)
        return check_signatures([row], keys).ok

    def _evidence(self, hub: Hub, heads: dict[str, tuple[int, str]]) -> dict[str, tuple[int, str]]:
        """Of the hub's heads, those proved: this log holds the same entry (the Receiver checked it, or it is this
        workstation's own), or the hub's row is signed by its workstation's key. An unproved head is no evidence
        (a row written at the hub by hand would make this workstation's audit say its log lost its tail)."""
        keys: list[KeyEvent] | None = None
        out: dict[str, tuple[int, str]] = {}
        for ws, (seq, h) in heads.items():
            if self._local_hash(ws, seq) == h:
                out[ws] = (seq, h)
                continue
            row = hub.entry(ws, seq)
            if keys is None:
                keys = held_key_events(self.db.conn)
            if row is not None and row.hash == h and self._proved(row, keys):
                out[ws] = (seq, h)
        return out

    def pull(
        self,
        hub: Hub,
        *,
        finish: Callable[[sqlite3.Connection, dict[str, tuple[int, str]]], None] | None = None,
        into: sqlite3.Connection | None = None,
    ) -> SyncReport:
        """Hand the hub's entries beyond the cursor to the Receiver, a batch at a time; move the cursor over what
        was applied or already held (or recorded as an equivocation), never over a refused entry. Each batch and
        the cursor after it are one write transaction (all in ``into``, a write transaction the caller holds, when
        given: joining); ``finish(conn, seen)`` runs in the last one (one commit less), with the last (seq, hash)
        of each workstation the pulled entries showed."""
        report = SyncReport()
        cursor = int(self.db.get_setting(HUB_CURSOR) or 0)
        hub_id = hub.meta().get("hub_id", "")
        known = self.db.get_setting(HUB_PULLED_FROM)
        # A hub restored from an older backup (or made anew) hands out its new entries under hub_seq values the
        # cursor passed: they would never be pulled. Pull it all again (entries already held are skipped).
        went_back = None
        if cursor and known and known != hub_id:
            went_back = f"the hub is not the one this workstation pulled from (hub id {known}, now {hub_id or 'none'})"
        elif cursor and hub.top() < cursor:
            went_back = f"the hub went back (its last entry is below this workstation's cursor {cursor})"
        if went_back:
            self._notices.append(f"{went_back}: restored from an older backup? pulling it all again from the start")
            log.warning("%s", self._notices[-1])
            cursor = 0
        scan, stuck = cursor, False
        receiver = Receiver(self)
        seen: dict[str, tuple[int, str]] = {}
        while True:
            entries = hub.pull(scan, PULL_BATCH)
            last = len(entries) < PULL_BATCH
            pushed_to = None
            with contextlib.nullcontext(into) if into is not None else self.db.write() as conn:
                top = self._top(conn)
                if entries:
                    got = receiver.receive_in(
                        conn, [Incoming(e.hash, e.body, e.signature) for e in entries], source=HUB_SOURCE
                    )
                    report.applied += got.applied
                    report.already_held += got.already_held
                    report.equivocations += sum(1 for q in got.equivocations if q.recorded)
                    report.refused.update(got.refused)
                    for entry in entries:
                        if not stuck and self._settled(entry, got):
                            cursor = entry.hub_seq
                        else:
                            stuck = True
                        if entry.seq > seen.get(entry.workstation_id, (0, ""))[0]:
                            seen[entry.workstation_id] = (entry.seq, entry.hash)
                    scan = entries[-1].hub_seq
                _set_local(conn, HUB_CURSOR, str(cursor))
                _set_local(conn, HUB_PULLED_FROM, hub_id)
                if entries and top == self._pushed_to:  # nothing of this workstation's own came in between
                    pushed_to = self._top(conn)  # what was applied now came from the hub: no push needed
                if last and finish is not None:
                    finish(conn, seen)
            if pushed_to is not None:
                self._pushed_to = pushed_to
            if last:
                break
        report.cursor = cursor
        return report

    @staticmethod
    def _settled(entry: HubEntry, got: ReceiveReport) -> bool:
        # Applied now or before, held with another hash (an equivocation, recorded), or this workstation's own.
        return got.passed(entry.workstation_id, entry.seq)

    def _alarms(self, hub: Hub) -> int:
        """Raise here, once each, the equivocations the hub recorded (offered by any workstation): the offered
        entry goes to the Receiver, which checks its signature (an unsigned offer proves nothing) and records
        ``sync.equivocation``. Only once this log holds the hub's entry for that seq: never can the offered
        entry be applied as if it were the next one."""
        after = int(self.db.get_setting(HUB_ALARM_CURSOR) or 0)
        found = hub.equivocations(after)
        receiver = Receiver(self)
        new = 0
        for e in found:
            if self._local_hash(e.workstation_id, e.seq) is None:
                break  # not pulled that far yet (or refused): looked at again next time
            got = receiver.receive([Incoming(e.offered_hash, e.offered_body, e.offered_signature)], source=HUB_SOURCE)
            new += sum(1 for q in got.equivocations if q.recorded)
            after = e.id
        if found:
            with self.db.write() as conn:
                _set_local(conn, HUB_ALARM_CURSOR, str(after))
        return new

    def sync_once(self) -> SyncReport:
        """Push, pull and raise the hub's alarms once. HubUnreachable (kept as the last error) when the hub is
        down; the local log is never changed by a failed sync beyond what was applied before the failure."""
        try:
            hub = self._connection()
            top = self._top(self.db.conn)
            heads: dict[str, tuple[int, str]] = {}
            pushed = equivocations = 0
            self._notices = []
            if self._pushed_to is None or top != self._pushed_to:
                # Something was written here (or this process has not pushed yet): the push compares every chain.
                pushed, equivocations, heads = self.push(hub)
                # A chain held up by a forged row is pushed again at every sync: it goes once the row is gone.
                self._pushed_to = None if self._notices else top
            source, now = self.source(), utc_iso(self.clock.now())

            def finish(conn: sqlite3.Connection, seen: dict[str, tuple[int, str]]) -> None:
                # What the hub showed of each chain: evidence for truncation checks, and the offline status.
                for ws, head in seen.items():
                    if head[0] > heads.get(ws, (0, ""))[0]:
                        heads[ws] = head
                record_peer_heads(conn, source, self._evidence(hub, heads), seen_at=now)
                _set_local(conn, HUB_LAST_SYNC, now)
                _set_local(conn, HUB_LAST_ERROR, "; ".join(self._notices) or None)

            report = self.pull(hub, finish=finish)
            report.notices = list(self._notices)
            report.pushed = pushed
            report.equivocations += equivocations + self._alarms(hub)
        except (ExternalError, HubNotReady) as exc:
            self.close()
            self._pushed_to = None
            with self.db.write() as conn:
                _set_local(conn, HUB_LAST_ERROR, str(exc).splitlines()[0])
            raise
        return report

    def source(self) -> str:
        """How the hub is named in peer_heads and in audit verify's findings."""
        return f"hub {self._require_address()}"

    # -- status ------------------------------------------------------------------------------------------------

    def status(self, *, reach: bool = True) -> SyncStatus:
        """Sync status for the console and the CLI; with ``reach`` the hub is asked (a few seconds at most when
        it is down), else only what this workstation knows."""
        address = self.address()
        cannot_sign = WorkstationKeys(self.db, self.log, self.secrets).signing_problem()
        if address is None:
            return SyncStatus(configured=False, cannot_sign=cannot_sign)
        cursor = int(self.db.get_setting(HUB_CURSOR) or 0)
        status = SyncStatus(
            cannot_sign=cannot_sign,
            configured=True,
            hub_url=address.url,
            last_sync=self.db.get_setting(HUB_LAST_SYNC),
            last_error=self.db.get_setting(HUB_LAST_ERROR),
            equivocations=self._equivocations_seen(),
            cursor=cursor,
        )
        local = self._local_heads()
        hub_heads = self._seen_hub_heads()
        if reach:
            try:
                hub = self._connection()
                hub_heads = {ws: seq for ws, (seq, _) in hub.heads().items()}
                status.to_apply = hub.waiting_after(cursor)
                status.connected = True
            except (HubUnreachable, UserError) as exc:
                self.close()
                status.last_error = str(exc).splitlines()[0]
        if hub_heads is not None:
            status.to_push = sum(max(0, seq - hub_heads.get(ws, 0)) for ws, seq in local.items())
        return status

    def _seen_hub_heads(self) -> dict[str, int] | None:
        """What the hub showed of each chain at the last sync, or None when it never answered."""
        if not self.db.get_setting(HUB_LAST_SYNC):
            return None
        rows = self.db.conn.execute(
            "SELECT workstation_id, seq FROM peer_heads WHERE source = ?", (self.source(),)
        ).fetchall()
        return {str(ws): int(seq) for ws, seq in rows}

    def _equivocations_seen(self) -> int:
        row = self.db.conn.execute("SELECT count(*) FROM events WHERE kind = ?", (Kind.SYNC_EQUIVOCATION,)).fetchone()
        return int(row[0]) if row else 0

    def live_heads(self) -> tuple[str, dict[str, tuple[int, str]]] | None:
        """The hub's own heads, for audit verify's truncation and rewrite check (the hub is the authority): None
        with no hub configured; when it cannot be reached, an ExternalError saying so in one line."""
        address = self.address()
        if address is None:
            return None
        try:
            hub = self._connection()
            heads = self._evidence(hub, hub.heads())
        except (HubUnreachable, UserError) as exc:
            self.close()
            detail = str(exc).splitlines()[0].split(" is not reachable: ", 1)[-1]
            raise ExternalError(f"hub not reachable: {address}: {detail}") from None
        return self.source(), heads

    # -- running -----------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Sync soon (a local commit: connect to ``EventLog.on_head``)."""
        self._wake.set()

    def run(
        self,
        stop: threading.Event,
        on_report: Callable[[SyncReport | CrisisdeskError], None] | None = None,
        *,
        safety_poll: float = SAFETY_POLL,
        local_poll: float = LOCAL_POLL,
    ) -> None:
        """Sync until ``stop`` is set: at once, then whenever the hub notifies, this file changes (a commit by
        any process) or ``wake`` is called, and at least every ``safety_poll`` seconds. While the hub is down,
        retries back off from 1 s to 30 s; the workstation keeps working meanwhile."""
        self.log.on_head(lambda _head: self.wake())
        listener: Listener | None = None
        backoff = BACKOFF_FIRST
        try:
            while not stop.is_set():
                try:
                    if listener is None:
                        address = self._require_address()
                        listener = Listener(Hub.connect(address, self._password(address)))
                    # Read before syncing: a commit by another process while this sync runs still wakes the next.
                    seen = self._others_commits()
                    report = self.sync_once()
                except (ExternalError, UserError) as exc:
                    if listener is not None:
                        listener.close()
                        listener = None
                    if on_report is not None:
                        on_report(exc)
                    stop.wait(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                    continue
                backoff = BACKOFF_FIRST
                if on_report is not None:
                    on_report(report)
                try:
                    self._wait_for_news(stop, listener, seen, safety_poll, local_poll)
                except ExternalError as exc:  # the listening connection was lost: the hub went down
                    listener.close()
                    listener = None
                    if on_report is not None:
                        on_report(exc)
        finally:
            if listener is not None:
                listener.close()
            self.close()

    def _others_commits(self) -> int:
        """SQLite's data_version: it moves when another connection commits to this file, never for this one's own
        writes (the cursor, peer_heads), which must not wake the loop again."""
        return int(self.db.conn.execute("PRAGMA data_version").fetchone()[0])

    def _wait_for_news(
        self,
        stop: threading.Event,
        listener: Listener,
        seen: int,
        safety_poll: float,
        local_poll: float,
    ) -> None:
        deadline = time.monotonic() + safety_poll
        while not stop.is_set():
            if self._wake.is_set():
                self._wake.clear()
                return
            if self._others_commits() != seen:  # another connection committed to this file
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if listener.wait(min(local_poll, left)):
                # Gather what follows close behind (a team reconnecting pushes one after another): one pull for
                # many pushes, at the cost of a few tens of milliseconds.
                gathered = time.monotonic() + GATHER_MAX
                while time.monotonic() < gathered and listener.wait(GATHER):
                    pass
                return


class SyncWorker:
    """Runs ``SyncService.run`` in a background thread (the console's, like the outbox worker).

    ``open_sync`` is called in the worker's thread: SQLite connections belong to the thread that made them.
    ``on_report`` is called in that thread after each sync (or failure)."""

    def __init__(
        self,
        open_sync: Callable[[], SyncService],
        on_report: Callable[[SyncReport | CrisisdeskError], None] | None = None,
    ) -> None:
        self.open_sync = open_sync
        self.on_report = on_report
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._service: SyncService | None = None
        self.error: BaseException | None = None

    def wake(self) -> None:
        if self._service is not None:
            self._service.wake()

    def start(self) -> None:
        def target() -> None:
            try:
                service = self._service = self.open_sync()
                try:
                    service.run(self._stop, self.on_report)
                finally:
                    service.db.close()
            except BaseException as exc:  # kept for the caller to show
                self.error = exc
                log.exception("sync worker stopped")

        self._thread = threading.Thread(target=target, name="sync-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)

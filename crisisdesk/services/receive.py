"""Taking in entries written on other workstations: one Receiver for the hub's pull and for bundle files.

Per workstation in the batch (docs/design/sync.md, "Receiving"):

- an entry this log already holds with the same hash is skipped (already held);
- the same (workstation, seq) held with a different hash is **equivocation**: reported, recorded once per
  (workstation, seq, offered hash) as a ``sync.equivocation`` event, and that workstation's later entries in the
  batch are refused (an offered entry whose own signature is bad proves nothing: it is refused, not an alarm);
- the rest must be sound (hash, canonical form), continue the local chain, and pass the signature rule of
  ``domain/signing.check_received`` (every key event, and every entry of a short run or a long run's last entry
  and key changes);
- this workstation's own entries that its log does not hold are never taken back: the workstation is the only
  writer of its chain, so they mean its log lost its tail, which ``audit verify`` reports (peer_heads).

A workstation whose entries fail is refused with the reason while the others' entries apply, or with
``all_or_nothing`` (bundles) the whole batch is refused and nothing is appended. Everything happens in one write
transaction, so no other writer can append between the checks and the append.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import orjson

from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.events import GENESIS, NOT_CANONICAL, Kind, from_body, link_problem
from crisisdesk.domain.signing import KEY_KINDS, KeyEvent, SignedRow, check_received, check_signatures, key_event
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import REVOCATION_KINDS, held_admin_revocations

SYSTEM = "system"
# The workstation name an entry is reported under when not even its workstation can be read from it.
UNREADABLE = "?"
# How far ahead of this workstation's clock a received entry may be dated (clocks of a team disagree a little;
# a laptop set to the wrong zone by hours). Beyond it the entry waits: see ``_receive``.
MAX_AHEAD = timedelta(days=1)
MAX_AHEAD_TEXT = "a day"


class _App(Protocol):
    """What the Receiver needs of the App (services cannot import the composition root)."""

    db: Database
    log: EventLog
    clock: Clock


@dataclass(frozen=True, slots=True)
class Incoming:
    """One entry as another workstation (the hub, a bundle) hands it over: its hash, exact body and signature."""

    hash: str
    body: bytes
    signature: str | None


@dataclass(frozen=True, slots=True)
class Equivocation:
    workstation: str
    seq: int
    held_hash: str
    offered_hash: str
    source: str
    recorded: bool = True  # False: this very offer was recorded before (one event per workstation, seq, offer)

    def text(self) -> str:
        return (
            f"EQUIVOCATION: workstation {self.workstation}'s entry seq {self.seq} from {self.source} has hash "
            f"{self.offered_hash[:16]}…, this log holds {self.held_hash[:16]}…: two versions of one entry, "
            "never merged"
        )


@dataclass(frozen=True, slots=True)
class ReceiveReport:
    applied: int
    already_held: int
    equivocations: tuple[Equivocation, ...] = ()
    refused: dict[str, str] = field(default_factory=dict)  # workstation -> why its entries were not taken
    # Each workstation of the batch (that this log holds any entry of): its last (seq, hash) here afterwards.
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    # This workstation's own entries offered that its log does not hold: (first seq, last seq), not taken back.
    own_missing: tuple[int, int] | None = None
    own: str = ""  # this workstation's id

    @property
    def ok(self) -> bool:
        return not self.refused and not self.equivocations

    def passed(self, workstation: str, seq: int) -> bool:
        """Is this entry settled here (applied, already held, or this workstation's own entry not taken back)?
        A pull's cursor may move over settled entries only."""
        if workstation == self.own and self.own_missing is not None and seq >= self.own_missing[0]:
            return True
        return seq <= self.heads.get(workstation, (0, ""))[0]

    def lines(self) -> list[str]:
        out = [f"{self.applied} entries applied, {self.already_held} already held"]
        out += [e.text() for e in self.equivocations]
        out += [f"workstation {ws}: refused: {why}" for ws, why in sorted(self.refused.items())]
        if self.own_missing is not None:
            first, last = self.own_missing
            span = f"seq {first}" if first == last else f"seq {first}-{last}"
            out.append(
                f"this workstation's own entries {span} were offered but its log does not hold them: it lost its "
                "tail (not taken back; 'crisisdesk audit verify' reports it)"
            )
        return out


@dataclass(slots=True)
class _Entry:
    index: int  # 1-based place in the batch
    incoming: Incoming
    ws: str
    seq: int = 0
    at: str = ""
    kind: str = ""
    prev: str = ""
    payload: Any = None
    problem: str | None = None


def _parse(index: int, item: Incoming) -> _Entry:
    body = item.body
    if not isinstance(body, bytes):
        body = bytes(body)
        item = Incoming(item.hash, body, item.signature)
    try:
        data = orjson.loads(body)
        ws = data["ws"] if isinstance(data, dict) else None
    except (orjson.JSONDecodeError, KeyError):
        ws = None
    if type(ws) is not str or not ws:
        return _Entry(index, item, UNREADABLE, problem=f"entry #{index}: its content is not a crisisdesk event")
    entry = _Entry(index, item, ws)
    try:
        seq, prev, at, kind, payload = data["seq"], data["prev"], data["at"], data["kind"], data["payload"]
        if type(seq) is not int or seq < 1 or not all(type(v) is str for v in (prev, at, kind, data["actor"])):
            raise TypeError
    except (KeyError, TypeError):
        entry.problem = f"entry #{index}: its content is not a crisisdesk event"
        return entry
    entry.seq, entry.prev, entry.at, entry.kind, entry.payload = seq, prev, at, kind, payload
    if hashlib.sha256(body).hexdigest() != item.hash:
        entry.problem = f"entry seq {seq}: its content does not match its hash (changed on the way)"
    elif orjson.dumps(data, option=orjson.OPT_SORT_KEYS) != body:
        entry.problem = f"entry seq {seq}: {NOT_CANONICAL}"
    elif item.signature is not None and not isinstance(item.signature, str):
        entry.problem = f"entry seq {seq}: its signature is not text"
    return entry


def held_key_events(conn: sqlite3.Connection) -> list[KeyEvent]:
    """Every key event this log holds, in order (few: read through the kind index)."""
    marks = ",".join("?" * len(KEY_KINDS))
    out = []
    for position, ws, seq, at, kind, body in conn.execute(
        f"SELECT position, workstation_id, seq, at, kind, body FROM events WHERE kind IN ({marks}) "  # noqa: S608
        "ORDER BY position",
        KEY_KINDS,
    ):
        try:
            payload = orjson.loads(body)["payload"]
            if not isinstance(payload, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            continue  # a damaged entry: verify names it
        out.append(key_event(position, str(ws), int(seq), str(at), str(kind), payload))
    return out


class Receiver:
    def __init__(self, app: _App) -> None:
        self.db = app.db
        self.log = app.log
        self.clock = app.clock

    def receive(self, entries: Sequence[Incoming], *, source: str, all_or_nothing: bool = False) -> ReceiveReport:
        """Check and apply ``entries`` (any workstations, any order) in one write transaction; see the module."""
        parsed = [_parse(i, item) for i, item in enumerate(entries, 1)]  # outside the lock: hashing and parsing
        with self.db.write() as conn:
            return self._receive(conn, parsed, source, all_or_nothing)

    def receive_in(
        self, conn: sqlite3.Connection, entries: Sequence[Incoming], *, source: str, all_or_nothing: bool = False
    ) -> ReceiveReport:
        """As ``receive``, inside a write transaction the caller holds (to record more in the same commit)."""
        return self._receive(conn, [_parse(i, item) for i, item in enumerate(entries, 1)], source, all_or_nothing)

    def _receive(
        self, conn: sqlite3.Connection, parsed: list[_Entry], source: str, all_or_nothing: bool
    ) -> ReceiveReport:
        own = self.log.workstation_id() or ""
        ahead = utc_iso(self.clock.now() + MAX_AHEAD)
        refused: dict[str, str] = {}
        runs: dict[str, list[_Entry]] = {}
        for e in parsed:
            if e.ws == UNREADABLE:
                refused.setdefault(UNREADABLE, e.problem or "unreadable")
                continue
            runs.setdefault(e.ws, []).append(e)
        already = 0
        heads: dict[str, tuple[int, str]] = {}
        new: dict[str, list[_Entry]] = {}
        offers: list[tuple[_Entry, str]] = []  # (offered entry, held hash)
        own_missing: tuple[int, int] | None = None
        founder = self._founder(conn, parsed)
        for ws, run in runs.items():
            run.sort(key=lambda e: e.seq)
            row = conn.execute(
                "SELECT seq, hash, at FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws,)
            ).fetchone()
            head = (int(row[0]), str(row[1])) if row else (0, GENESIS)
            last_at = str(row[2]) if row else ""
            if row:
                heads[ws] = head
            low, high = run[0].seq, run[-1].seq
            held = dict(
                conn.execute(
                    "SELECT seq, hash FROM events WHERE workstation_id = ? AND seq BETWEEN ? AND ?", (ws, low, high)
                ).fetchall()
            )
            fresh: list[_Entry] = []
            last_seq, last_hash = head
            before: _Entry | None = None
            for e in run:
                if e.problem is not None:
                    refused[ws] = e.problem
                    break
                if before is not None and before.seq == e.seq:
                    if before.incoming.hash == e.incoming.hash:
                        continue  # the same entry twice
                    refused[ws] = f"the batch holds two different entries for seq {e.seq}"
                    break
                before = e
                held_hash = held.get(e.seq)
                if held_hash is not None:
                    if held_hash == e.incoming.hash:
                        already += 1
                        continue
                    offers.append((e, str(held_hash)))
                    refused[ws] = (
                        f"its entry seq {e.seq} differs from the one this log holds (equivocation): its entries "
                        "from there on are refused"
                    )
                    break
                if ws == own:
                    own_missing = (e.seq, run[-1].seq)  # never taken back: see the module
                    break
                if e.kind == Kind.HUB_FOUNDED and founder and _named(e) != founder:
                    # The founder's bootstrap makes the team's first admin: a second founding, by a workstation
                    # made by hand (its unsigned first entries dated before the team), would make its own admin
                    # the team's and take alice's away.
                    refused[ws] = (
                        f"entry seq {e.seq} founds the team again for workstation {_named(e)}; it was founded by "
                        f"workstation {founder}: a team is founded once"
                    )
                    break
                if e.at > ahead:
                    # Every entry written here afterwards is dated after everything the log holds (merge order):
                    # one entry from 2099 would date this workstation's whole future 2099. Refused for now; the
                    # hub's cursor stays before it, so it is taken once the clocks agree.
                    refused[ws] = (
                        f"entry seq {e.seq} is dated {e.at}, in the future: more than {MAX_AHEAD_TEXT} ahead of this "
                        "workstation's clock (check that workstation's clock)"
                    )
                    break
                problem = link_problem(last_seq, last_hash, e.seq, e.prev)
                if problem is not None:
                    refused[ws] = f"entry seq {e.seq} does not follow this log: {problem}"
                    break
                if e.at < last_at and e.incoming.signature is not None:
                    # A workstation dates each entry after the one before (record() does): one dated earlier was
                    # made by hand, to sort before something (a revocation) that it in truth came after. Unsigned
                    # history (written before signing and before that rule) may have followed a clock set back.
                    refused[ws] = (
                        f"entry seq {e.seq} is dated {e.at}, before the entry before it in its chain ({last_at}): "
                        "a workstation's entries never go back in time"
                    )
                    break
                fresh.append(e)
                last_seq, last_hash, last_at = e.seq, e.incoming.hash, e.at
            if fresh and ws not in refused:
                new[ws] = fresh
        equivocations = self._equivocations(conn, offers, source, refused)
        self._check_signatures(conn, new, refused)
        # The alarm is recorded even when the batch is refused: it is what the batch proves, whatever else it holds.
        self._record_equivocations(conn, equivocations)
        if all_or_nothing and refused:
            return ReceiveReport(0, already, equivocations, refused, heads, own_missing, own)
        conn.execute("SAVEPOINT receive_batch")
        applied = self._append(conn, [e for ws, run in new.items() if ws not in refused for e in run], refused)
        if all_or_nothing and refused:  # the log or the tables refused a workstation's entries: none of them
            conn.execute("ROLLBACK TO receive_batch")
            conn.execute("RELEASE receive_batch")
            return ReceiveReport(0, already, equivocations, refused, heads, own_missing, own)
        conn.execute("RELEASE receive_batch")
        for e in applied:
            heads[e.ws] = max(heads.get(e.ws, (0, "")), (e.seq, e.incoming.hash))
        return ReceiveReport(len(applied), already, equivocations, refused, heads, own_missing, own)

    @staticmethod
    def _founder(conn: sqlite3.Connection, parsed: list[_Entry]) -> str:
        """The workstation that founded the team: as the first ``hub.founded`` this log holds says, else the first
        one in the batch (the hub hands entries over in the order it first saw them: the founder's comes first)."""
        row = conn.execute(
            "SELECT json_extract(body, '$.payload.workstation') FROM events WHERE kind = ? ORDER BY position LIMIT 1",
            (Kind.HUB_FOUNDED,),
        ).fetchone()
        if row is not None and row[0]:
            return str(row[0])
        return next((_named(e) for e in parsed if e.kind == Kind.HUB_FOUNDED and e.problem is None), "")

    def _check_signatures(
        self, conn: sqlite3.Connection, new: dict[str, list[_Entry]], refused: dict[str, str]
    ) -> None:
        if not new:
            return
        top = int(conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0])
        rows: list[SignedRow] = []
        received: list[KeyEvent] = []
        at_position: dict[int, _Entry] = {}
        # Positions after every held entry, in the order they will be appended (merge order; see _append).
        for position, e in enumerate(sorted((e for run in new.values() for e in run), key=_merge_key), top + 1):
            at_position[position] = e
            rows.append(SignedRow(position, e.ws, e.seq, e.at, e.incoming.hash, e.incoming.signature))
            if e.kind in KEY_KINDS and isinstance(e.payload, dict):
                received.append(key_event(position, e.ws, e.seq, e.at, e.kind, e.payload))
        rows.sort(key=lambda r: (r.ws, r.seq))
        # A revocation counts only when its writer was an admin then, by the people events held and received.
        batch = [
            from_body(e.incoming.body, e.incoming.hash)
            for e in at_position.values()
            if e.kind in REVOCATION_KINDS and isinstance(e.incoming.body, bytes)
        ]
        revokers = held_admin_revocations(conn, batch)
        report = check_received(rows, held_key_events(conn), received, revokers=revokers)
        for ws, bad in report.bad.items():
            refused[ws] = f"entry seq {bad.seq}: {bad.reason}"

    def _equivocations(
        self, conn: sqlite3.Connection, offers: list[tuple[_Entry, str]], source: str, refused: dict[str, str]
    ) -> tuple[Equivocation, ...]:
        """The offers that prove equivocation: signed as their workstation's entries must be (else they prove
        nothing and are refused as forged)."""
        if not offers:
            return ()
        keys = held_key_events(conn)
        revokers = held_admin_revocations(conn)
        recorded = set()
        for (body,) in conn.execute("SELECT body FROM events WHERE kind = ?", (Kind.SYNC_EQUIVOCATION,)):
            p = orjson.loads(body)["payload"]
            recorded.add((p.get("workstation"), p.get("seq"), p.get("offered_hash")))
        out = []
        for e, held_hash in offers:
            row = SignedRow(0, e.ws, e.seq, e.at, e.incoming.hash, e.incoming.signature)
            report = check_signatures([row], keys, revokers=revokers)
            if not report.ok:
                refused[e.ws] = (
                    f"its entry seq {e.seq} differs from the one this log holds and is not signed as that "
                    f"workstation's (so it proves nothing): {report.bad[e.ws].reason}"
                )
                continue
            first = (e.ws, e.seq, e.incoming.hash) not in recorded
            out.append(Equivocation(e.ws, e.seq, held_hash, e.incoming.hash, source, recorded=first))
        return tuple(out)

    def _record_equivocations(self, conn: sqlite3.Connection, equivocations: Iterable[Equivocation]) -> None:
        for q in equivocations:
            if q.recorded:
                payload = {
                    "workstation": q.workstation,
                    "seq": q.seq,
                    "held_hash": q.held_hash,
                    "offered_hash": q.offered_hash,
                    "source": q.source,
                }
                self.log.record(conn, SYSTEM, Kind.SYNC_EQUIVOCATION, payload)

    def _append(self, conn: sqlite3.Connection, entries: list[_Entry], refused: dict[str, str]) -> list[_Entry]:
        """Append through the event log, in merge order (time, workstation, seq: along one chain the time never
        goes back, so each chain stays in order). A refusal by the log (it checks again) refuses that workstation
        and the rest are tried again; each try is a savepoint, so a refused try leaves nothing behind."""
        entries = sorted(entries, key=_merge_key)
        while entries:
            conn.execute("SAVEPOINT receive")
            try:
                self.log.append_received(
                    conn,
                    [(e.incoming.hash, e.incoming.body) for e in entries],
                    signatures={e.incoming.hash: e.incoming.signature for e in entries if e.incoming.signature},
                )
            except _TABLES_REFUSE as exc:
                # A current-state table refused an entry (two workstations made the same name: merging such
                # entries is the merge rules' part; or a hand-made payload not of its kind's shape). Which
                # workstation's it is shows by applying each alone.
                conn.execute("ROLLBACK TO receive")
                conn.execute("RELEASE receive")
                return self._append_each(conn, entries, refused, _why(exc))
            except ValueError as exc:
                conn.execute("ROLLBACK TO receive")
                conn.execute("RELEASE receive")
                named = re.search(r"\(workstation (.+?), seq", str(exc))
                culprit = named.group(1) if named else None
                if culprit is None or culprit not in {e.ws for e in entries}:
                    # Not the log naming a chain: a table's (a payload's) ValueError. Each alone finds whose.
                    return self._append_each(conn, entries, refused, _why(exc))
                refused[culprit] = str(exc)
                entries = [e for e in entries if e.ws != culprit]
                continue
            conn.execute("RELEASE receive")
            return entries
        return []

    def _append_each(
        self, conn: sqlite3.Connection, entries: list[_Entry], refused: dict[str, str], problem: str
    ) -> list[_Entry]:
        """Each workstation's entries alone, in a savepoint each: those the tables refuse are refused."""
        applied: list[_Entry] = []
        for ws in dict.fromkeys(e.ws for e in entries):
            own = [e for e in entries if e.ws == ws]
            conn.execute("SAVEPOINT receive_one")
            try:
                self.log.append_received(
                    conn,
                    [(e.incoming.hash, e.incoming.body) for e in own],
                    signatures={e.incoming.hash: e.incoming.signature for e in own if e.incoming.signature},
                )
            except _TABLES_REFUSE_OR_VALUE as exc:
                conn.execute("ROLLBACK TO receive_one")
                refused[ws] = f"its entries cannot be applied here ({_why(exc)}): they clash with what this log holds"
            else:
                applied += own
            conn.execute("RELEASE receive_one")
        if not applied and not any(ws in refused for ws in {e.ws for e in entries}):
            for ws in {e.ws for e in entries}:
                refused[ws] = problem
        return applied


# What applying a received entry to the current-state tables may raise because of the entry itself: a clash with
# what the tables hold, or a payload (signed by a workstation that wrote it by hand) not of its kind's shape.
# Never a traceback, and never the other workstations' entries held back by it. (Not OperationalError: a full
# disk or a lock is no entry's fault.)
_TABLES_REFUSE: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    sqlite3.ProgrammingError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    ArithmeticError,
)
_TABLES_REFUSE_OR_VALUE: tuple[type[Exception], ...] = (*_TABLES_REFUSE, ValueError)


def _why(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200]
    if isinstance(exc, (sqlite3.IntegrityError, ValueError)):
        return text
    return f"an entry's payload is not what its kind needs: {type(exc).__name__} {text}"


def _named(e: _Entry) -> str:
    """The workstation a ``hub.founded`` entry names."""
    return str(e.payload.get("workstation", "")) if isinstance(e.payload, dict) else ""


def _merge_key(e: _Entry) -> tuple[str, str, int]:
    return (e.at, e.ws, e.seq)

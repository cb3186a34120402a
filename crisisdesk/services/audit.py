"""Verifying, exporting and browsing the audit log (which is the event log).

Verifying checks, in this order: the file's structure (SQLite's quick_check), the hash chain, the log's head
as recorded outside the database (in the keyring), and with ``deep`` every current-state table against a
replay of the log. A window watches it (``progress``) and may stop it (``cancel``); the command line does neither.

Browsing is paged, newest first, and filtered in SQL by what the audit view shows: the event's label (a label
search finds its kind), the person, the incident (named in the event, or through the message it names), the
time, and free text over all of these and the details.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from crisisdesk.credentials import SecretStore
from crisisdesk.domain.errors import CrisisdeskError, DatabaseDamaged
from crisisdesk.domain.events import KIND_LABELS, ChainReport, Event, Kind, LogHead, from_body, kind_label
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.domain.signing import SignatureReport
from crisisdesk.services.guard import require
from crisisdesk.store.db import Database
from crisisdesk.store.deep_check import Disagreement, ProjectionReport
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.peer_heads import LOST_TAIL, PeerFinding, compare_heads, recorded_findings

EXPORT_FORMATS = ("jsonl", "csv")
EXPORT_COLUMNS = ("position", "workstation_id", "seq", "at", "actor", "kind", "payload", "prev_hash", "hash", "body")


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One line of the audit view: immutable, cheap to hold by the thousand."""

    position: int
    seq: int
    at: str
    actor: str
    kind: str
    summary: str
    hash: str
    incident: str | None = None  # the incident the entry belongs to (named in it, or through its message)
    incident_title: str | None = None
    zone: str | None = None  # that incident's IANA zone: its times are shown there


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the audit view narrows the log to; every part is optional and they all hold together.

    ``kinds``: event kinds (the view offers their labels); ``person``: who acted, exactly; ``incident``: an
    incident's id; ``since`` (inclusive) and ``until`` (exclusive): UTC times as the log writes them (ISO 8601 with
    microseconds and ``+00:00``); ``text``: any part of the label, the kind, the person, the incident's title or the
    details, in any case.
    """

    kinds: tuple[str, ...] = ()
    person: str = ""
    incident: str = ""
    since: str | None = None
    until: str | None = None
    text: str = ""

    @property
    def empty(self) -> bool:
        return self == AuditFilter()

    def as_dict(self) -> dict[str, Any]:
        """The parts that are set, for the export's own entry in the log."""
        data: dict[str, Any] = {}
        if self.kinds:
            data["kinds"] = list(self.kinds)
        for name in ("person", "incident", "since", "until", "text"):
            value = getattr(self, name)
            if value:
                data[name] = value
        return data


@dataclass(frozen=True, slots=True)
class AuditChoices:
    """What the audit view's filters offer: every kind's label, everyone who acted, every incident."""

    kinds: tuple[tuple[str, str], ...]  # (label, kind), by label
    people: tuple[str, ...]
    incidents: tuple[tuple[str, str, str], ...] = field(default=())  # (id, title, zone), newest first


class CheckCancelled(CrisisdeskError):
    """A person stopped the audit check before it finished: nothing was concluded."""

    def __init__(self) -> None:
        super().__init__("the audit check was stopped before it finished: nothing was concluded; check again")


# Verify's progress: (phase, done, total). Phases: "structure" (no count: total 0), "chain", "tables" and
# "signatures" (entries).
VerifyProgress = Callable[[str, int, int], None]


def kinds_labelled(text: str) -> list[str]:
    """The kinds whose label (as the view shows it) or name holds ``text``, in any case."""
    needle = text.casefold()
    return sorted(k for k, label in KIND_LABELS.items() if needle in label.casefold() or needle in k.casefold())


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _spellings(text: str) -> list[str]:
    """The ways the free text may stand in an entry's bytes. The bodies are JSON: a quote or a backslash is
    escaped there (``Jörg "the boss"`` is ``Jörg \\"the boss\\"``), so the text is looked for as JSON spells it
    too. SQLite's LIKE folds the case of ASCII letters only: a text with other letters is also looked for in lower
    and in upper case (``MÜLLER`` finds ``Müller``; a word whose non-ASCII letters mix cases is not found)."""
    forms = [text]
    if not text.isascii():
        forms += [form for form in (text.lower(), text.upper()) if form != text]
    out: list[str] = []
    for form in forms:
        for spelt in (form, orjson.dumps(form).decode()[1:-1]):
            if spelt not in out:
                out.append(spelt)
    return out


# The incident an entry belongs to: the one it names, else the one of the message it names (an approval, a
# return, a publication). Both expressions are indexed (events_incident, events_message).
_OF_INCIDENT = (
    "(json_extract(body, '$.payload.incident') = ? "
    "OR json_extract(body, '$.payload.message') IN (SELECT id FROM messages WHERE incident_id = ?))"
)
# An incident's title is shown beside its entries: a title search finds them.
_OF_INCIDENT_TITLED = (
    "(json_extract(body, '$.payload.incident') IN (SELECT id FROM incidents WHERE title LIKE ? ESCAPE '\\') "
    "OR json_extract(body, '$.payload.message') IN "
    "(SELECT m.id FROM messages m JOIN incidents i ON i.id = m.incident_id WHERE i.title LIKE ? ESCAPE '\\'))"
)


# The entries of the incidents whose title was searched for ({marks}: their ids' "?" marks, twice).
_OF_TITLED = (
    "json_extract(body, '$.payload.incident') IN ({marks}) OR json_extract(body, '$.payload.message') "
    "IN (SELECT id FROM messages WHERE incident_id IN ({marks}))"
)
# A time range holding more than this many entries is read newest first along the log (the page fills at once);
# a narrower one through the time index (events_merge_order: time first), then sorted (few rows to sort).
WIDE_TIME_RANGE = 20_000


def filter_sql(f: AuditFilter, conn: sqlite3.Connection | None = None) -> tuple[list[str], list[object]]:
    """WHERE terms (to be joined with AND) and their arguments for ``f``, over the events table.

    With ``conn``, the incidents whose title holds the free text are looked up first (a few rows) and the time
    range is counted through its index to choose how it is read; without, both are left to SQLite."""
    where: list[str] = []
    args: list[object] = []
    if f.kinds:
        where.append(f"kind IN ({', '.join('?' * len(f.kinds))})")
        args += f.kinds
    if f.person:
        where.append("actor = ?")
        args.append(f.person)
    if f.incident:
        where.append(_OF_INCIDENT)
        args += [f.incident, f.incident]
    if f.since or f.until:
        low, high = f.since or "", f.until or "\uffff"
        wide = True
        if conn is not None:
            # Counting stops at WIDE_TIME_RANGE + 1: never more than that many index entries are read.
            counted = conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM events WHERE at >= ? AND at < ? LIMIT ?)",
                (low, high, WIDE_TIME_RANGE + 1),
            ).fetchone()[0]
            wide = counted > WIDE_TIME_RANGE
        # "+at" keeps SQLite off the time index, so a wide range is read along the log, newest first.
        where.append("+at >= ? AND +at < ?" if wide else "at >= ? AND at < ?")
        args += [low, high]
    text = f.text.strip()
    if text:
        pattern = _like(text)
        spellings = [_like(spelt) for spelt in _spellings(text)]
        terms = ["actor LIKE ? ESCAPE '\\'", *["CAST(body AS TEXT) LIKE ? ESCAPE '\\'"] * len(spellings)]
        term_args: list[object] = [pattern, *spellings]
        kinds = kinds_labelled(text)
        if kinds:
            terms.insert(0, f"kind IN ({', '.join('?' * len(kinds))})")
            term_args[:0] = kinds
        if conn is None:
            terms.append(_OF_INCIDENT_TITLED)
            term_args += [pattern, pattern]
        else:
            # An incident's title is shown beside its entries: a title search finds them. Its own entries carry
            # its id in their bodies; its messages' entries name only the message. The titles are a few rows.
            titled = [
                str(i) for (i,) in conn.execute("SELECT id FROM incidents WHERE title LIKE ? ESCAPE '\\'", (pattern,))
            ]
            if titled:
                marks = ", ".join("?" * len(titled))
                terms.append(_OF_TITLED.format(marks=marks))
                term_args += titled + titled
        where.append("(" + " OR ".join(terms) + ")")
        args += term_args
    return where, args


def summarise(payload: dict[str, Any], limit: int = 200) -> str:
    """One line for a glance: short fields first (ids, names, hashes), long ones (texts, contents) last."""
    parts = []
    for key in sorted(payload):
        value = payload[key]
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append((len(text) > 40, f"{key}={text}"))
    summary = " ".join(part for _, part in sorted(parts, key=lambda p: p[0]))
    return summary if len(summary) <= limit else summary[: limit - 1] + "…"


# How often, at most, the head is written to the keyring while entries are being appended (see bench/README.md,
# "Log head in the keyring"); it is also written when the workstation closes the database.
HEAD_EVERY_S = 1.0
# Disagreements shown by describe(); all are counted.
SHOW = 50

log = logging.getLogger(__name__)


def database_key(path: Path) -> str:
    """What a database is known by in the keyring: its resolved path."""
    return str(Path(path).resolve())


class HeadKeeper:
    """Keeps the log's head in the keyring, beside the secrets, after each committed write that appended entries.

    The keyring is written on a timer thread, never by the writer: a write to the OS keyring takes tens of
    milliseconds (bench/README.md), which no commit should wait for. The first head goes at once, then at most
    one write every ``every`` seconds carries the newest head, and closing writes the last one. A keyring error
    is logged once, never raised: the entries are committed already, and verify says what it could not check.

    Two processes writing one database (the console and a worker) may leave the lower of their heads recorded;
    verify only asks that the recorded entry is still in the log with its hash, so an older head is never a
    false alarm, only a shorter reach.
    """

    def __init__(
        self,
        secrets: SecretStore,
        database: str,
        *,
        every: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secrets = secrets
        self.database = database
        self.every = HEAD_EVERY_S if every is None else every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._pending: LogHead | None = None
        self._written_at = float("-inf")
        self._timer: threading.Timer | None = None
        self._closing = False
        self._failing = False

    def committed(self, head: LogHead) -> None:
        with self._lock:
            self._pending = head
            self._arm()

    def _arm(self) -> None:
        """Start the timer for the pending head unless one runs already (call with the lock held)."""
        if self._timer is not None or self._pending is None or self._closing:
            return
        wait = max(0.0, self._written_at + self.every - self._monotonic())
        self._timer = threading.Timer(wait, self._timed)
        self._timer.daemon = True
        self._timer.start()

    def _take(self) -> LogHead | None:
        head, self._pending = self._pending, None
        if head is not None:
            self._written_at = self._monotonic()
        return head

    def _timed(self) -> None:
        with self._lock:
            head = self._take()
        self._store(head)  # outside the lock: writers go on while the keyring works
        with self._lock:
            self._timer = None
            self._arm()  # heads committed meanwhile

    def close(self) -> None:
        """Write the last head now, after any write under way (the keeper may be used again afterwards)."""
        with self._lock:
            self._closing = True
            timer = self._timer
        if timer is not None:
            timer.cancel()
            timer.join()
        with self._lock:
            self._timer = None
            head = self._take()
        self._store(head)
        with self._lock:
            self._closing = False

    def _store(self, head: LogHead | None) -> None:
        if head is None:
            return
        try:
            self.secrets.set_log_head(self.database, head)
        except Exception as exc:  # any keyring trouble: the write is committed, verify will say it could not check
            if not self._failing:
                # Not a warning on stderr: on a machine with no keyring every command would print it; verify
                # reports it where it matters ("log head not checked").
                log.info("the log head could not be kept in the keyring: %s", exc)
            self._failing = True
        else:
            self._failing = False


@dataclass(frozen=True, slots=True)
class HeadCheck:
    """The head recorded outside the database, looked up in the log."""

    state: Literal["kept", "lost", "none", "unavailable"]
    text: str
    recorded: LogHead | None = None

    @property
    def ok(self) -> bool:
        return self.state != "lost"


def _show(value: object, limit: int = 60) -> str:
    """A value for one line of a report: strings quoted with control and bidi characters escaped."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        text = value.hex()
        return f"x'{text[:limit]}{'…' if len(text) > limit else ''}'"
    if isinstance(value, str):
        return repr(value if len(value) <= limit else value[:limit] + "…")
    return str(value)


def _show_pair(log_value: object, table_value: object) -> tuple[str, str]:
    """Two differing values; long strings are shown from a little before where they start to differ."""
    if isinstance(log_value, str) and isinstance(table_value, str) and max(len(log_value), len(table_value)) > 60:
        at = next(
            (i for i, (a, b) in enumerate(zip(log_value, table_value, strict=False)) if a != b),
            min(len(log_value), len(table_value)),
        )
        start = max(0, at - 20)
        prefix = f"…(from character {start}) " if start else ""
        return prefix + _show(log_value[start:]), prefix + _show(table_value[start:])
    return _show(log_value), _show(table_value)


def describe_disagreement(d: Disagreement) -> str:
    where = d.table
    if d.key:
        where += " (" + ", ".join(f"{k}={_show(v, 24)}" for k, v in d.key) + ")"
    if d.kind == "table":
        return f"{where}: {d.note}"
    if d.kind == "missing":
        return f"{where}: missing, though the log has it"
    if d.kind == "extra":
        return f"{where}: a row the log does not have"
    parts = []
    for name, log_value, table_value in d.columns:
        shown = _show_pair(log_value, table_value)
        parts.append(f"{name} is {shown[1]}, the log says {shown[0]}")
    return f"{where}: " + "; ".join(parts)


def _json_value(value: object) -> object:
    return f"x'{value.hex()}'" if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class VerifyReport:
    chain: ChainReport | None  # None when the file was too damaged to read the log
    damage: str | None = None
    head: HeadCheck | None = None  # None when no keyring was asked
    projections: ProjectionReport | None = None  # only with deep
    # Entries under a workstation this database never joined: (workstation, first position, how many).
    foreign: tuple[tuple[str, int, int], ...] = ()
    signatures: SignatureReport | None = None  # None when the log could not be read
    # What other sites (the hub, imported bundles) have seen of the chains that this log disagrees with.
    peers: tuple[PeerFinding, ...] = ()
    # Sources that could not be asked (the hub down): one line each, the check went on with the local evidence.
    unasked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return (
            self.damage is None
            and not self.foreign
            and not self.peers
            and (self.signatures is None or self.signatures.ok)
            and self.chain is not None
            and self.chain.ok
            and (self.head is None or self.head.ok)
            and (self.projections is None or self.projections.ok)
        )

    def lines(self, show: int = SHOW) -> list[str]:
        if self.chain is None:
            if self.damage is None and self.head is not None:
                return [f"audit log lost: {self.head.text}"]
            return [f"database file damaged: {self.damage}; restore it from a backup"]
        lines = []
        # A person under stress reads the first line: when the chain is whole but something else is wrong, the
        # first line says so, not "intact".
        problems = []
        if self.foreign:
            problems.append("the log holds entries under another workstation's name")
        if self.signatures is not None and not self.signatures.ok:
            problems.append("a signature is bad")
        if any(f.kind == LOST_TAIL for f in self.peers):
            problems.append("this log lost its tail (another site has seen more of it)")
        if any(f.kind != LOST_TAIL for f in self.peers):
            problems.append("this workstation's history was rewritten (another site holds other entries)")
        if self.projections is not None and self.projections.total:
            problems.append(f"{self.projections.total} current-state table row(s) disagree with the log")
        if problems and self.chain.ok and (self.head is None or self.head.ok):
            lines.append("audit check FAILED: the entries chain correctly, but " + " and ".join(problems))
        if self.chain.ok and self.head is not None and not self.head.ok:
            lines.append(f"audit log incomplete: {self.head.text}")
            lines.append(f"the {self.chain.checked} entries left are chained correctly")
        else:
            lines.append(self.chain.describe())
            if self.head is not None:
                lines.append(self.head.text)
        lines.extend(f.text for f in self.peers)
        lines.extend(self.unasked)
        # A bad signature is said right after the chain; that all are good, last.
        sig_lines = self.signatures.lines() if self.signatures is not None else []
        if self.signatures is not None and not self.signatures.ok:
            lines.extend(sig_lines)
        for ws, first, count in self.foreign:
            lines.append(
                f"{count} entr{'y' if count == 1 else 'ies'} from workstation {ws}, which this database never joined "
                f"(from entry #{first}): they may be forged, and nothing is decided on them"
            )
        p = self.projections
        if p is not None:
            if p.failure is not None:
                lines.append(f"current-state tables not compared: {p.failure}")
            elif p.total == 0:
                lines.append(
                    f"current-state tables agree with the log ({p.tables} tables, {p.replayed} entries replayed)"
                )
            else:
                lines.append(
                    f"current-state tables disagree with the log in {p.total} place{'s' if p.total > 1 else ''}:"
                )
                lines.extend("  " + describe_disagreement(d) for d in p.disagreements[:show])
                if p.total > show:
                    lines.append(f"  … and {p.total - show} more (--json lists up to {len(p.disagreements)})")
        if self.signatures is not None and self.signatures.ok:
            lines.extend(sig_lines)
        return lines

    def describe(self, show: int = SHOW) -> str:
        return "\n".join(self.lines(show))

    def as_dict(self) -> dict[str, Any]:
        chain = self.chain
        data: dict[str, Any] = {
            "ok": self.ok,
            "checked": chain.checked if chain else 0,
            "bad_position": chain.bad_position if chain else None,
            "bad_seq": chain.bad_seq if chain else None,
            "reason": chain.reason if chain else None,
            "heads": {ws: {"seq": s, "hash": h} for ws, (s, h) in chain.head.items()} if chain else {},
            "damage": self.damage,
            "foreign": [{"workstation": ws, "first": first, "entries": n} for ws, first, n in self.foreign],
        }
        data["peer_heads"] = [f.as_dict() for f in self.peers]
        data["unasked"] = list(self.unasked)
        if self.signatures is not None:
            sig = self.signatures
            data["signatures"] = {
                "ok": sig.ok,
                "signed": sig.signed,
                "bad": {ws: {"position": b.position, "seq": b.seq, "reason": b.reason} for ws, b in sig.bad.items()},
                "unsigned_workstations": list(sig.unsigned_workstations),
            }
        if self.head is not None:
            r = self.head.recorded
            data["log_head"] = {
                "state": self.head.state,
                "text": self.head.text,
                "recorded": None if r is None else {"workstation": r.workstation_id, "seq": r.seq, "hash": r.hash},
            }
        if self.projections is not None:
            p = self.projections
            data["projections"] = {
                "ok": p.ok,
                "replayed": p.replayed,
                "tables": p.tables,
                "total": p.total,
                "failure": p.failure,
                "disagreements": [
                    {
                        "table": d.table,
                        "kind": d.kind,
                        "key": {k: _json_value(v) for k, v in d.key},
                        "columns": [
                            {"column": c, "log": _json_value(a), "table": _json_value(b)} for c, a, b in d.columns
                        ],
                        "note": d.note,
                        "text": describe_disagreement(d),
                    }
                    for d in p.disagreements
                ],
            }
        return data


# A live source of heads for verify (the hub): returns (source name, {workstation: (seq, hash)}), or None when it
# cannot be asked now (no hub configured); a CrisisdeskError (unreachable) is skipped, the recorded evidence stays.
LiveHeads = Callable[[], tuple[str, dict[str, tuple[int, str]]] | None]


class AuditService:
    def __init__(self, db: Database, log: EventLog, secrets: SecretStore | None = None) -> None:
        self.db = db
        self.log = log
        self.secrets = secrets
        self.database = database_key(db.path)
        # Sources asked at each verify besides the recorded evidence (the sync service adds the hub's).
        self.live_heads: list[LiveHeads] = []

    def compare_with(self, source: str, heads: dict[str, tuple[int, str]]) -> list[PeerFinding]:
        """What ``source``'s heads ({workstation: (seq, hash)}) say of this log: a lost tail, a rewritten entry."""
        return compare_heads(self.db.conn, source, heads)

    def _peer_findings(self) -> tuple[tuple[PeerFinding, ...], tuple[str, ...]]:
        findings = recorded_findings(self.db.conn)
        unasked = []
        for ask in self.live_heads:
            try:
                live = ask()
            except CrisisdeskError as exc:  # unreachable: the evidence recorded from it is still compared
                unasked.append(f"{str(exc).splitlines()[0]} (checked against the local evidence only)")
                continue
            if live is not None:
                findings.extend(self.compare_with(*live))
        seen: set[tuple[str, str, str, int]] = set()
        unique = []
        for f in findings:
            key = (f.kind, f.source, f.workstation, f.seq)
            if key not in seen:
                seen.add(key)
                unique.append(f)
        return tuple(unique), tuple(unasked)

    def verify(
        self,
        *,
        deep: bool = False,
        scratch_dir: Path | None = None,
        progress: VerifyProgress | None = None,
        cancel: threading.Event | None = None,
    ) -> VerifyReport:
        """Anyone holding the file may check it, so this needs no sign-in. Reads only: nothing is written.

        ``deep`` also replays the log into a scratch copy (in ``scratch_dir``, else the system's temporary
        folder) and names every current-state row that disagrees with it.

        ``progress(phase, done, total)`` is called as the check goes (see ``VerifyProgress``); the chain is then
        checked in short stretches in worker processes, so a window's thread keeps the GIL. Setting ``cancel``
        stops the check soon after (SQLite's own checks are interrupted too): ``CheckCancelled`` is raised.
        """
        if progress is None and cancel is None:
            return self._verify(deep, scratch_dir, None, None)
        stop = cancel or threading.Event()
        tell = progress or (lambda _phase, _done, _total: None)

        def watched(phase: str) -> Callable[[int, int], None]:
            def step(done: int, total: int) -> None:
                if stop.is_set():
                    raise CheckCancelled()
                tell(phase, done, total)

            return step

        # SQLite calls this every few thousand steps of its own work: a set flag interrupts a long quick_check.
        self.db.conn.set_progress_handler(lambda: 1 if stop.is_set() else 0, 20_000)
        try:
            return self._verify(deep, scratch_dir, watched, stop)
        except sqlite3.OperationalError as exc:
            if stop.is_set():
                raise CheckCancelled() from exc
            raise
        finally:
            self.db.conn.set_progress_handler(None, 0)

    def _verify(
        self,
        deep: bool,
        scratch_dir: Path | None,
        watched: Callable[[str], Callable[[int, int], None]] | None,
        stop: threading.Event | None,
    ) -> VerifyReport:
        if watched is not None:
            watched("structure")(0, 0)
        damage = self.db.quick_check(full=deep)
        if stop is not None and stop.is_set():
            raise CheckCancelled()  # the check was interrupted, which quick_check reports as damage
        if damage is not None:
            return VerifyReport(chain=None, damage=damage)
        try:
            chain = self.log.verify(progress=watched("chain") if watched else None)
            head = self.check_head() if self.secrets is not None else None
            projections = (
                self.log.compare_projections(scratch_dir=scratch_dir, progress=watched("tables") if watched else None)
                if deep
                else None
            )
            foreign = self._foreign()
            signatures = self.log.verify_signatures(progress=watched("signatures") if watched else None)
            peers, unasked = self._peer_findings()
        except DatabaseDamaged as exc:  # damage quick_check does not look for, met while reading
            return VerifyReport(chain=None, damage=exc.damage)
        return VerifyReport(
            chain=chain,
            head=head,
            projections=projections,
            foreign=foreign,
            signatures=signatures,
            peers=peers,
            unasked=unasked,
        )

    def _foreign(self) -> tuple[tuple[str, int, int], ...]:
        """Entries under any workstation but this one that has declared no key of its own in this log: an entry
        written under another workstation's name (which needs no re-hashing of this one's chain) is foreign. A
        workstation that joined (its ``workstation.joined``, received by sync) is admitted: its signatures are
        checked with everyone's."""
        local = self.log.workstation_id() or ""
        rows = self.db.conn.execute(
            "SELECT workstation_id, min(position), count(*) FROM events WHERE +workstation_id IS NOT ? "
            "AND workstation_id NOT IN (SELECT workstation_id FROM events WHERE kind = ? "
            "AND json_extract(body, '$.payload.workstation') = workstation_id) "
            "GROUP BY workstation_id ORDER BY min(position)",
            (local, Kind.WORKSTATION_JOINED),
        ).fetchall()
        return tuple((str(ws), int(first), int(n)) for ws, first, n in rows)

    def check_head(self) -> HeadCheck:
        """Is the head recorded in the keyring still in the log, with the hash it had?"""
        if self.secrets is None:
            return HeadCheck("unavailable", "log head not checked: no keyring was given")
        try:
            recorded = self.secrets.log_head(self.database)
        except CrisisdeskError as exc:
            return HeadCheck("unavailable", f"log head not checked: {exc}")
        if recorded is None:
            return HeadCheck("none", "no log head is recorded outside the database for this file yet")
        ws, seq, short = recorded.workstation_id, recorded.seq, recorded.hash[:16]
        entry = self.log.head_entry(ws, seq)
        if entry is None:
            last = self.log.last_seq(ws)
            if self.log.count() == 0:
                text = f"the log was emptied: the keyring records workstation {ws} up to seq {seq} (hash {short}…)"
            elif last == 0:
                text = (
                    f"the log holds no entry of workstation {ws}, which the keyring records up to seq {seq} "
                    f"(hash {short}…): its entries were removed, or another database was put in its place"
                )
            else:
                missing = f"seq {seq}" if last + 1 == seq else f"seq {last + 1}-{seq}"
                text = (
                    f"the log lost its tail: the keyring records workstation {ws} up to seq {seq} (hash {short}…), "
                    f"the log ends at seq {last}: {missing} missing"
                )
            return HeadCheck("lost", text, recorded)
        stored_hash, body = entry
        if stored_hash != recorded.hash or hashlib.sha256(body).hexdigest() != recorded.hash:
            return HeadCheck(
                "lost",
                f"workstation {ws}'s entry seq {seq} is not the one recorded in the keyring (hash {short}…): "
                "the log was rewritten from there at least",
                recorded,
            )
        beyond = self.log.last_seq(ws) - seq
        later = f", {beyond} entries after it" if beyond else ""
        return HeadCheck(
            "kept",
            f"log head kept: workstation {ws}'s entry seq {seq} (hash {short}…), recorded outside the database, "
            f"is in the log{later}",
            recorded,
        )

    def export(
        self,
        actor: Actor,
        fmt: str,
        out: IO[str],
        where: AuditFilter | None = None,
        *,
        entries: Sequence[int] | None = None,
        about: dict[str, Any] | None = None,
    ) -> int:
        """Write every entry (or, with ``where``, those it finds; with ``entries``, those at these positions, such as
        a drill's); the export itself is then recorded (who took the log out, its head then, and the filter when one
        was applied: ``about`` says what the chosen entries are, ``{"drill": ...}``)."""
        require(self.db, self.log, actor, Permission.READ, "export the audit log")
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {fmt!r}")
        chosen = where if where is not None and not where.empty else None
        records = self._records(chosen) if entries is None else self._records_at(entries)
        n = 0
        last: dict[str, Any] | None = None
        if fmt == "jsonl":
            for record in records:
                out.write(orjson.dumps(record).decode() + "\n")
                n += 1
                last = record
        else:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            for record in records:
                row = dict(record)
                row["payload"] = orjson.dumps(row["payload"], option=orjson.OPT_SORT_KEYS).decode()
                writer.writerow([row[c] for c in EXPORT_COLUMNS])
                n += 1
                last = record
        payload: dict[str, Any] = {"format": fmt, "entries": n, "last_hash": last["hash"] if last else None}
        if chosen is not None:
            payload["filter"] = chosen.as_dict()
        if entries is not None:
            payload["filter"] = dict(about or {})
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.AUDIT_EXPORTED, payload)
        return n

    def _records(self, where: AuditFilter | None = None) -> Iterator[dict[str, Any]]:
        return self._as_records(self._positioned(where))

    def _records_at(self, positions: Sequence[int]) -> Iterator[dict[str, Any]]:
        def found() -> Iterator[tuple[int, Event]]:
            wanted = sorted(set(positions))
            for start in range(0, len(wanted), 5000):
                chunk = wanted[start : start + 5000]
                sql = f"SELECT position, hash, body FROM events WHERE position IN ({', '.join('?' * len(chunk))}) ORDER BY position"  # noqa: S608, E501
                for position, stored_hash, body in self.db.conn.execute(sql, chunk):
                    yield position, from_body(body, stored_hash)

        return self._as_records(found())

    @staticmethod
    def _as_records(positioned: Iterator[tuple[int, Event]]) -> Iterator[dict[str, Any]]:
        for position, event in positioned:
            yield {
                "position": position,
                "workstation_id": event.workstation_id,
                "seq": event.seq,
                "at": event.at,
                "actor": event.actor,
                "kind": event.kind,
                "payload": event.payload,
                "prev_hash": event.prev_hash,
                "hash": event.hash,
                # The exact bytes that were hashed, so an export can be checked without crisisdesk.
                "body": event.body.decode("utf-8"),
            }

    def _positioned(self, where: AuditFilter | None = None) -> Iterator[tuple[int, Event]]:
        if where is None:
            rows: Iterator[tuple[int, str, bytes]] = self.log.raw_rows()
        else:
            terms, args = filter_sql(where, self.db.conn)
            sql = "SELECT position, hash, body FROM events WHERE " + " AND ".join(terms) + " ORDER BY position"  # noqa: S608
            cursor = self.db.conn.execute(sql, args)
            rows = (row for batch in iter(lambda: cursor.fetchmany(5000), []) for row in batch)
        for position, stored_hash, body in rows:
            yield position, from_body(body, stored_hash)

    def page(
        self,
        actor: Actor,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 500,
        text: str = "",
        where: AuditFilter | None = None,
    ) -> list[AuditRow]:
        """Newest first, at most ``limit`` entries older than position ``before`` (or newer than ``after``: the
        entries that arrived since), found by ``where`` (``text`` alone is the free-text part)."""
        require(self.db, self.log, actor, Permission.READ, "read the audit log")
        f = where if where is not None else AuditFilter()
        if text:
            f = AuditFilter(f.kinds, f.person, f.incident, f.since, f.until, text)
        terms, args = filter_sql(f, self.db.conn)
        if before is not None:
            terms.insert(0, "position < ?")
            args.insert(0, before)
        if after is not None:
            terms.insert(0, "position > ?")
            args.insert(0, after)
        sql = "SELECT position, hash, body FROM events"
        if terms:
            sql += " WHERE " + " AND ".join(terms)
        sql += " ORDER BY position DESC LIMIT ?"
        args.append(limit)
        found = self.db.conn.execute(sql, args).fetchall()
        return self._rows(found)

    def _rows(self, found: Sequence[tuple[int, str, bytes]]) -> list[AuditRow]:
        events: list[tuple[int, Event | None, str]] = []
        for position, stored_hash, body in found:
            try:
                events.append((position, from_body(body, stored_hash), stored_hash))
            except (ValueError, KeyError, TypeError):  # an entry edited by hand into something unreadable
                events.append((position, None, stored_hash))
        # The incident of each entry: named in it, or through the message it names (one query for the page).
        messages = {
            str(e.payload["message"])
            for _, e, _ in events
            if e is not None and "incident" not in e.payload and isinstance(e.payload.get("message"), str)
        }
        of_message: dict[str, str] = {}
        if messages:
            marks = ", ".join("?" * len(messages))
            of_message = dict(
                self.db.conn.execute(f"SELECT id, incident_id FROM messages WHERE id IN ({marks})", sorted(messages))  # noqa: S608
            )
        incident_of: list[str | None] = []
        for _, e, _ in events:
            incident = None
            if e is not None:
                named = e.payload.get("incident")
                message = e.payload.get("message")
                if isinstance(named, str):
                    incident = named
                elif isinstance(message, str):
                    incident = of_message.get(message)
            incident_of.append(incident)
        wanted = sorted({i for i in incident_of if i})
        incidents: dict[str, tuple[str, str]] = {}
        if wanted:
            marks = ", ".join("?" * len(wanted))
            incidents = {
                str(i): (str(title), str(zone))
                for i, title, zone in self.db.conn.execute(
                    f"SELECT id, title, timezone FROM incidents WHERE id IN ({marks})",  # noqa: S608
                    wanted,
                )
            }
        rows = []
        for (position, e, stored_hash), incident in zip(events, incident_of, strict=True):
            if e is None:
                unreadable = "this entry cannot be read (edited by hand)"
                rows.append(AuditRow(position, 0, "", "", "?", unreadable, stored_hash))
                continue
            title, zone = incidents.get(incident, (None, None)) if incident else (None, None)
            rows.append(
                AuditRow(
                    position,
                    e.seq,
                    e.at,
                    e.actor,
                    e.kind,
                    summarise(dict(e.payload)),
                    e.hash,
                    incident,
                    title,
                    zone,
                )
            )
        return rows

    def choices(self, actor: Actor) -> AuditChoices:
        """What the filters offer: each kind by its label, everyone who acted, every incident (newest first)."""
        require(self.db, self.log, actor, Permission.READ, "read the audit log")
        people = tuple(str(r[0]) for r in self.db.conn.execute("SELECT DISTINCT actor FROM events ORDER BY actor"))
        incidents = tuple(
            (str(i), str(title), str(zone))
            for i, title, zone in self.db.conn.execute(
                "SELECT id, title, timezone FROM incidents ORDER BY opened_at DESC, id"
            )
        )
        kinds = tuple(sorted(((kind_label(k), k) for k in KIND_LABELS), key=lambda pair: pair[0].casefold()))
        return AuditChoices(kinds, people, incidents)

"""Bundle files: events carried between sites with no network at all (issue 16 item 5; docs/design/sync.md).

A bundle is line-oriented JSON (UTF-8, one object a line, each line ending in a newline, no compression):

1. the header: ``{"format": "crisisdesk-bundle/1", "bundle": ID, "from": WORKSTATION, "created": TIME,
   "cursor": CURSOR, "count": N, "heads": {WORKSTATION: [SEQ, HASH], ...}}`` (``heads``: how far the exporting
   workstation holds each chain, evidence for the receiving site's ``audit verify``);
2. N entry lines ``{"body": BASE64, "hash": HASH, "signature": SIGNATURE | null}``: entries of any workstations the
   exporter holds (a site relays what it received), each workstation's in seq order;
3. the trailer: ``{"sha256": HEX, "signature": SIGNATURE}``: SHA-256 of every byte before the trailer line, signed
   by the exporting workstation's key.

Import is all or nothing: a bundle changed in any byte, cut short, already imported, or signed by a key that is not
(or no longer) its workstation's is refused with the reason, and nothing changes. Its entries then go through the
Receiver, all or nothing; once applied, ``bundle.imported`` is recorded and so are the heads the bundle proves
(``peer_heads``: the exporter's own; another chain's up to what this log holds of it, or as far as its signed
entries in the bundle reach). An authentic bundle whose entries are refused (an equivocation, a bad signature of a
relayed entry) still leaves its evidence: the equivocation alarm and the heads it showed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

import orjson

from crisisdesk.credentials import SecretStore
from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind, from_body
from crisisdesk.domain.signing import (
    KEY_KINDS,
    SignedRow,
    bundle_key,
    bundle_signature_good,
    check_signatures,
    key_event,
)
from crisisdesk.services.receive import SYSTEM, Incoming, Receiver, ReceiveReport, held_key_events
from crisisdesk.services.sync import check_workstation_name, joining_identity
from crisisdesk.services.workstation_keys import find_signer
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import REVOCATION_KINDS, held_admin_revocations
from crisisdesk.store.peer_heads import record_peer_heads

FORMAT = "crisisdesk-bundle/1"
ALL = "all"
_WS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


class _App(Protocol):
    db: Database
    log: EventLog
    clock: Clock
    secrets: SecretStore


@dataclass(frozen=True, slots=True)
class Exported:
    bundle: str
    entries: int
    workstations: int


@dataclass(frozen=True, slots=True)
class Imported:
    bundle: str
    sender: str  # the exporting workstation
    report: ReceiveReport


# A seq is an SQLite integer: a header naming a larger one is not a bundle this version wrote.
MAX_SEQ = 2**63 - 1


def format_cursor(heads: Mapping[str, tuple[int, str]]) -> str:
    return ",".join(f"{ws}={seq}" for ws, (seq, _) in sorted(heads.items())) or ALL


def parse_cursor(text: str) -> dict[str, int] | None:
    """``ws=seq,ws=seq`` (what the receiving site holds of each chain), or ``all`` (None)."""
    text = text.strip()
    if text == ALL:
        return None
    cursor: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        ws, sep, seq = part.partition("=")
        if not sep or not _WS.match(ws.strip()) or not seq.strip().isdigit():
            raise UserError(
                f"--since: {part!r} is not WORKSTATION=SEQ; give 'all' or what the other site's "
                "'crisisdesk bundle cursor' printed"
            )
        cursor[ws.strip()] = int(seq)
    if not cursor:
        raise UserError("--since is empty; give 'all' or what the other site's 'crisisdesk bundle cursor' printed")
    return cursor


def _line(data: Mapping[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS) + b"\n"


class BundleService:
    def __init__(self, app: _App) -> None:
        self.app = app
        self.db = app.db
        self.log = app.log

    def heads(self) -> dict[str, tuple[int, str]]:
        """Each workstation's last (seq, hash) in this log."""
        out: dict[str, tuple[int, str]] = {}
        for ws, seq in self.db.conn.execute(
            "SELECT workstation_id, max(seq) FROM events GROUP BY workstation_id"
        ).fetchall():
            entry = self.log.head_entry(str(ws), int(seq))
            if entry is not None:
                out[str(ws)] = (int(seq), entry[0])
        return out

    def cursor(self) -> str:
        """What this site holds of each chain, for the exporting site's ``--since``."""
        return format_cursor(self.heads())

    def export(self, out: IO[bytes], since: str) -> Exported:
        """Write a bundle of the entries the other site lacks (``since``: its cursor, or ``all``) to ``out``."""
        cursor = parse_cursor(since)
        own = self.log.workstation_id()
        if not own:
            raise UserError(f"the database {self.db.path} is not set up yet: run 'crisisdesk init' first")
        signer = find_signer(self.app.secrets, own)
        declared = self.db.conn.execute(
            "SELECT json_extract(body, '$.payload.key') FROM events WHERE kind IN (?, ?) AND +workstation_id = ? "
            "ORDER BY position DESC LIMIT 1",
            (Kind.WORKSTATION_JOINED, Kind.WORKSTATION_KEY_ROTATED, own),
        ).fetchone()
        if signer is None or declared is None or declared[0] != signer.key_id:
            raise UserError(
                "this workstation cannot sign a bundle: its signing key is not in the keyring or not the one its log "
                "declares; an admin runs 'crisisdesk workstation join' (or 'rotate-key'), then export again"
            )
        heads = self.heads()
        # Each chain up to its head as read now: entries appended meanwhile wait for the next bundle.
        ranges = [
            (ws, (cursor or {}).get(ws, 0), seq) for ws, (seq, _) in heads.items() if seq > (cursor or {}).get(ws, 0)
        ]
        count = sum(
            int(
                self.db.conn.execute(
                    "SELECT count(*) FROM events WHERE workstation_id = ? AND seq > ? AND seq <= ?", r
                ).fetchone()[0]
            )
            for r in ranges
        )
        bundle = str(uuid.uuid4())
        digest = hashlib.sha256()

        def write(data: bytes) -> None:
            digest.update(data)
            out.write(data)

        write(
            _line(
                {
                    "format": FORMAT,
                    "bundle": bundle,
                    "from": own,
                    "created": utc_iso(self.app.clock.now()),
                    "cursor": since.strip(),
                    "count": count,
                    "heads": {ws: [seq, h] for ws, (seq, h) in sorted(heads.items())},
                }
            )
        )
        for r in ranges:
            rows = self.db.conn.execute(
                "SELECT hash, body, signature FROM events WHERE workstation_id = ? AND seq > ? AND seq <= ? "
                "ORDER BY seq",
                r,
            )
            while batch := rows.fetchmany(5000):
                for h, body, signature in batch:
                    write(
                        _line(
                            {
                                "hash": h,
                                "body": base64.b64encode(bytes(body)).decode("ascii"),
                                "signature": signature,
                            }
                        )
                    )
        sha = digest.hexdigest()
        out.write(_line({"sha256": sha, "signature": signer.sign_bundle(sha)}))
        return Exported(bundle, count, len(ranges))

    def join(
        self,
        data: bytes,
        workstation_name: str,
        *,
        name: str = "the bundle",
        then: Callable[[sqlite3.Connection], object] | None = None,
    ) -> tuple[str, Imported]:
        """``crisisdesk bundle join``: a new database joins the team from a bundle, where there is no network. This
        workstation's identity and signing key (as ``hub join`` makes them), the bundle's entries and ``then(conn)``
        (a person's local password, ``--as``) are one transaction: a refusal leaves the database without an
        identity, as it was."""
        if self.log.workstation_id():
            raise UserError(
                f"the database {self.db.path} is already set up: 'bundle join' needs a new database (--db NEW-FILE); "
                "to take a bundle into this one, use 'crisisdesk bundle import'"
            )
        check_workstation_name(workstation_name)  # before the bundle is read: the cheaper mistake first
        made: list[str] = []

        def identity(conn: sqlite3.Connection) -> str:
            made.append(joining_identity(conn, self.db, self.log, self.app.secrets, workstation_name))
            if then is not None:
                then(conn)
            return made[-1]

        try:
            done = self.import_bytes(data, name=name, setup=identity)
        except BaseException:
            if made:  # rolled back: this App must not go on as the workstation that was never made
                self.log.use_signer(None)
                self.log._workstation_id = None  # the log caches the identity just rolled back
            raise
        return made[-1], done

    def import_bytes(
        self,
        data: bytes,
        *,
        name: str = "the bundle",
        setup: Callable[[sqlite3.Connection], object] | None = None,
    ) -> Imported:
        """Check a bundle whole, then apply it all or nothing. Every refusal is a UserError naming the problem.
        ``setup(conn)`` (``join``): makes this workstation's identity in the import's transaction, after the
        entries; then a refusal rolls everything back (no alarm is kept either)."""
        own = self.log.workstation_id() or ""
        if not own and setup is None:
            raise UserError(f"the database {self.db.path} is not set up yet: run 'crisisdesk init' first")
        header, entries, lines = self._read(data, name)
        sender, bundle = header["from"], header["bundle"]
        if sender == own:
            raise UserError(f"{name} was made by this workstation ({own}): there is nothing in it to import")
        with self.db.write() as conn:
            done = conn.execute(
                "SELECT at FROM events WHERE kind = ? AND json_extract(body, '$.payload.bundle') = ? LIMIT 1",
                (Kind.BUNDLE_IMPORTED, bundle),
            ).fetchone()
            if done is not None:
                raise UserError(
                    f"{name} was imported already at {done[0]} (bundle {bundle} from workstation {sender}): "
                    "a bundle is taken in once; nothing changed"
                )
            source = f"bundle {bundle} from {sender}"
            report = Receiver(self.app).receive_in(conn, entries, source=source, all_or_nothing=True)
            # What the exporter showed is evidence for verify only where it can be so: its own chain (the trailer is
            # signed by its key: a lie there is its own), another chain only up to what this log holds of it (the
            # exporter sends every entry past this log's cursor, so a head beyond it that the bundle does not carry
            # is made up: a member naming this workstation's seq 1,000,000 would fail this log's audit for ever),
            # and any chain as far as the entries it carries, signed with a good key of their workstation, reach.
            heads: dict[str, tuple[int, str]] = {}
            for ws, v in header["heads"].items():
                seq = int(v[0])
                held = conn.execute("SELECT max(seq) FROM events WHERE workstation_id = ?", (ws,)).fetchone()[0]
                if ws == sender or seq <= int(held or 0):
                    heads[str(ws)] = (seq, str(v[1]))
            carried: dict[str, list[tuple[int, int]]] = {}
            for (ws, seq), number in lines.items():
                carried.setdefault(ws, []).append((seq, number))
            held_keys = held_key_events(conn)
            revokers = held_admin_revocations(conn)
            for ws, found in sorted(carried.items()):
                rows = [
                    SignedRow(
                        number,
                        ws,
                        seq,
                        str(orjson.loads(entries[number - 2].body)["at"]),
                        entries[number - 2].hash,
                        entries[number - 2].signature,
                    )
                    for seq, number in sorted(found)
                ]
                bad = check_signatures(rows, held_keys, revokers=revokers).bad.get(ws)
                for row in rows:
                    if row.signature is None or (bad is not None and row.seq >= bad.seq):
                        break
                    if row.seq > heads.get(ws, (0, ""))[0]:
                        heads[ws] = (row.seq, row.hash)
            record_peer_heads(conn, source, heads, seen_at=utc_iso(self.app.clock.now()))
            refusal = None
            if report.refused:
                ws, why = sorted(report.refused.items())[0]
                at = lines.get((ws, _seq_of(why)))
                where = f"line {at}: " if at else ""
                refusal = f"{name} refused, none of its entries applied: {where}workstation {ws}: {why}"
                if setup is not None:  # joining: nothing of it is kept, this database stays new
                    raise UserError(f"{refusal}; this database was left as it was, not set up")
            else:
                if setup is not None:
                    # The identity after the team's entries: the log then begins with the team's history, whose
                    # first workstation founded it (the merge rules' founder when no hub.founded says otherwise).
                    setup(conn)
                self.log.record(
                    conn,
                    SYSTEM,
                    Kind.BUNDLE_IMPORTED,
                    {
                        "bundle": bundle,
                        "from": sender,
                        "created": header["created"],
                        "entries": len(entries),
                        "applied": report.applied,
                    },
                )
        if refusal is not None:
            # Raised after the commit: the alarm of an equivocation and the heads it showed are kept as evidence.
            raise UserError(refusal)
        return Imported(bundle, sender, report)

    def _read(self, data: bytes, name: str) -> tuple[dict[str, Any], list[Incoming], dict[tuple[str, int], int]]:
        """The header, the entries and each entry's line (by workstation and seq), once the bundle is whole,
        unchanged and signed by its workstation's key."""
        if not data:
            raise UserError(f"{name} is empty: not a crisisdesk bundle")
        parts = data.split(b"\n")
        if parts[-1]:
            raise UserError(
                f"{name} is truncated: its last line (line {len(parts)}) is cut off (a bundle ends with its trailer)"
            )
        lines = parts[:-1]
        try:
            header = orjson.loads(lines[0])
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise TypeError
            for key, kind in (("bundle", str), ("from", str), ("created", str), ("count", int), ("heads", dict)):
                if type(header.get(key)) is not kind:
                    raise TypeError
        except (orjson.JSONDecodeError, TypeError):
            raise UserError(f"{name}: line 1 is not a crisisdesk bundle header ({FORMAT})") from None
        try:
            heads = header["heads"]
            for ws, v in heads.items():
                if not (isinstance(v, list) and len(v) == 2 and type(v[0]) is int and isinstance(v[1], str)) or not (
                    0 <= v[0] <= MAX_SEQ
                ):
                    raise TypeError(ws)
        except TypeError:
            raise UserError(f"{name}: line 1: its heads are not [seq, hash] pairs") from None
        if len(lines) < 2:
            raise UserError(f"{name} is truncated: it holds no trailer (its checksum and signature)")
        trailer = _trailer(lines[-1])
        if trailer is None:
            if _looks_like_entry(lines[-1]):
                raise UserError(
                    f"{name} is truncated: its last line (line {len(lines)}) is an entry, not the trailer (its "
                    "checksum and signature): lines are missing from its end"
                )
            raise UserError(f"{name}: its trailer (line {len(lines)}) cannot be read: it was changed")
        body_lines = lines[1:-1]
        if len(body_lines) != header["count"]:
            raise UserError(
                f"{name} is truncated or padded: its header announces {header['count']} entries, it holds "
                f"{len(body_lines)}"
            )
        entries: list[Incoming] = []
        at_line: dict[tuple[str, int], int] = {}
        received_keys = []
        deciding = []  # the bundle's people and revocation entries: which of its revocations count
        for number, raw in enumerate(body_lines, 2):
            entry, event = _entry(raw, number, name)
            ws, seq, kind, payload = event["ws"], event["seq"], event["kind"], event["payload"]
            entries.append(entry)
            at_line.setdefault((ws, seq), number)
            if kind in REVOCATION_KINDS and isinstance(entry.body, bytes):
                deciding.append(from_body(entry.body, entry.hash))
            if kind in KEY_KINDS and isinstance(payload, dict):
                # Positions past any held entry: they only order the key events.
                received_keys.append(key_event(10**15 + number, ws, seq, str(event["at"]), kind, payload))
        before = sum(len(line) + 1 for line in lines[:-1])
        if hashlib.sha256(data[:before]).hexdigest() != trailer["sha256"]:
            raise UserError(
                f"{name} was changed after it was written: its content does not match the checksum in its trailer "
                f"(line {len(lines)})"
            )
        # The key events a first bundle from a workstation brings declare its key; they are checked as entries too.
        events = [*held_key_events(self.db.conn), *received_keys]
        revokers = held_admin_revocations(self.db.conn, deciding)
        public, problem = bundle_key(events, header["from"], trailer["signature"], header["created"], revokers=revokers)
        if problem:
            raise UserError(f"{name} refused: {problem}")
        if not bundle_signature_good(public, trailer["sha256"], trailer["signature"]):
            raise UserError(
                f"{name} refused: its trailer's signature (line {len(lines)}) is not workstation {header['from']}'s "
                "over its content (forged)"
            )
        return header, entries, at_line


def _seq_of(reason: str) -> int:
    found = re.search(r"\bseq (\d+)", reason)
    return int(found.group(1)) if found else 0


def _looks_like_entry(raw: bytes) -> bool:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and {"hash", "body"} <= set(data)


def _trailer(raw: bytes) -> dict[str, str] | None:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if (
        isinstance(data, dict)
        and set(data) == {"sha256", "signature"}
        and isinstance(data["sha256"], str)
        and isinstance(data["signature"], str)
    ):
        return data
    return None


def _entry(raw: bytes, number: int, name: str) -> tuple[Incoming, dict[str, Any]]:
    try:
        data = orjson.loads(raw)
        if not isinstance(data, dict) or set(data) != {"hash", "body", "signature"}:
            raise TypeError
        h, text, signature = data["hash"], data["body"], data["signature"]
        if not isinstance(h, str) or not isinstance(text, str) or not (signature is None or isinstance(signature, str)):
            raise TypeError
        body = base64.b64decode(text, validate=True)
    except (orjson.JSONDecodeError, TypeError, binascii.Error):
        raise UserError(f"{name}: line {number} is not a bundle entry (hash, body, signature)") from None
    if hashlib.sha256(body).hexdigest() != h:
        raise UserError(f"{name}: line {number}: the entry's content does not match its hash (changed)")
    try:
        event = orjson.loads(body)
        if not isinstance(event, dict) or "payload" not in event:
            raise TypeError
        if not all(isinstance(event.get(k), str) for k in ("ws", "kind", "at")) or type(event.get("seq")) is not int:
            raise TypeError
    except (orjson.JSONDecodeError, TypeError):
        raise UserError(f"{name}: line {number}: its entry is not a crisisdesk event") from None
    return Incoming(h, body, signature), event

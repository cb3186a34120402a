"""Safety decisions read from the event log itself, at the moment of the action.

The current-state tables serve reading and listing; anyone holding the file can edit them. Who may act, which
mode an incident or an account has, which versions a message had and who wrote them, which approvals name a hash,
and what a publish handed to the outbox are therefore folded here from the events, each event's bytes checked
against its hash as it is read. A rewritten and re-hashed history is beyond this (signatures and the hub catch
it); an edited table, an inserted projection row or an edited event body is not.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Event, Kind, from_body, is_canonical
from crisisdesk.domain.merge import MESSAGE_KINDS, PEOPLE_KINDS, People, admin_revocations, fold_message, key_events
from crisisdesk.domain.signing import KEY_KINDS, key_table, signature_good

_VERSION_KINDS = (Kind.MESSAGE_DRAFTED, Kind.MESSAGE_EDITED)
# Another workstation's entries are trusted once their signature is good (checked when read): the Ed25519 check
# is ~100 µs, so each good (hash, signature) is remembered for this process with the public key it held under.
_VERIFIED: dict[tuple[str, str], str] = {}
_VERIFIED_MAX = 200_000


class TamperedLog(UserError):
    """An event read for a decision does not match its hash: nothing is decided on it."""


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: str
    mode: str
    status: str
    title: str
    timezone: str
    playbook: str
    facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    name: str
    kind: str
    exercise: bool
    settings: dict[str, str]
    removed: bool


@dataclass(frozen=True, slots=True)
class VersionRecord:
    message: str
    version: int
    hash: str
    content: str  # the exact bytes the hash covers, as text
    author: str
    at: str
    incident: str
    order: int = 0  # its place among the message's events
    workstation: str = ""  # where it was written
    base: tuple[int, str] | None = None  # the (version, hash) it edited
    merges: tuple[str, ...] = ()  # the sibling hashes it merged


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    approver: str
    hash: str
    at: str
    comment: str | None
    order: int = 0  # its place among the message's events: it counts only after the version it approves was made
    workstation: str = ""
    # The roles the approver held when it was given, in the merge order: a revocation dated before it wins.
    roles_then: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PublicationRecord:
    message: str
    version: int
    hash: str
    mode: str
    at: str
    by: str
    break_glass: bool
    cap: str | None
    outbox: tuple[dict[str, str], ...] = field(default=())

    def outbox_entry(self, row_id: str) -> dict[str, str] | None:
        return next((r for r in self.outbox if r["row"] == row_id), None)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    incident: str
    type: str
    state: str  # draft, submitted, returned, published, or conflict (sibling versions to merge)
    versions: tuple[VersionRecord, ...]  # by version number (siblings share one), then in the merge order
    approvals: tuple[ApprovalRecord, ...]
    publications: tuple[PublicationRecord, ...]
    returned_at: int = -1  # the order of the last return among the message's events (-1: never returned)
    heads: tuple[VersionRecord, ...] = ()  # the versions nothing edited or merged since: more than one is a conflict

    @property
    def conflict(self) -> bool:
        return self.state == "conflict"

    def approval_counts(self, approval: ApprovalRecord) -> bool:
        """Given after the current version was made and after the last return: an approver's "send it back"
        voids what was approved before, even if the same text is submitted again."""
        return approval.order > max(self.current.order, self.returned_at)

    @property
    def current(self) -> VersionRecord:
        return self.versions[-1]

    def authors(self) -> list[str]:
        """Everyone who wrote any version since the last published one (in the order they first did)."""
        published = max((p.version for p in self.publications), default=0)
        out: list[str] = []
        for v in self.versions:
            if v.version > published and v.author.casefold() not in {a.casefold() for a in out}:
                out.append(v.author)
        return out


class Ledger:
    """Reads decisions from the events of one connection (the caller's thread's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._keys: tuple[dict[str, Any], dict[str, int]] | None = None
        self._signature_column: str | None = None
        self._founding_ws: str | None = None

    def _workstation(self) -> str:
        row = self.conn.execute("SELECT value FROM local_settings WHERE key = 'workstation_id'").fetchone()
        return str(row[0]) if row else ""

    def _key_table(self) -> tuple[dict[str, Any], dict[str, int]]:
        if self._keys is None:
            rows = self.conn.execute(
                f"SELECT hash, body FROM events WHERE kind IN ({','.join('?' * len(KEY_KINDS))}) "  # noqa: S608
                "ORDER BY position",
                KEY_KINDS,
            ).fetchall()
            revokers = held_admin_revocations(self.conn)
            keys, signed_from, _ = key_table(key_events(from_body(body, h) for h, body in rows), revokers=revokers)
            self._keys = (keys, signed_from)
        return self._keys

    def _founder(self) -> str:
        """The founding workstation, read straight from the rows (``founding`` reads through the trust rule, which
        asks this): the workstation the first ``hub.founded`` names (the Receiver takes no second one naming
        another), else the one this log was created on."""
        if self._founding_ws is None:
            row = (
                self.conn.execute(
                    "SELECT json_extract(body, '$.payload.workstation') FROM events WHERE kind = ? "
                    "ORDER BY at, workstation_id, seq LIMIT 1",
                    (Kind.HUB_FOUNDED,),
                ).fetchone()
                or self.conn.execute("SELECT workstation_id FROM events ORDER BY position LIMIT 1").fetchone()
            )
            self._founding_ws = str(row[0]) if row and row[0] is not None else ""
        return self._founding_ws

    def _trusted(self, ws: str, seq: int, at: str, kind: str, stored_hash: str, *, signature: str | None) -> bool:
        """Another workstation's entry counts once that workstation has joined (declared a key in this log) and
        the entry's signature is good under the key rule (domain/signing.py): by a key of that workstation, valid
        at the entry's time (a revoked or replaced key signs nothing dated after), over its hash. Entries from
        before it joined may be unsigned (the chain links them to its first signed entry), but only the founding
        workstation's unsigned history (a log kept before signing, which the team grew from) decides anything:
        a member's unsigned entries can be dated anything and made by hand, so beyond its creation they count
        for nothing (the hostile round: an unsigned re-opening of an exercise as live, sorted first)."""
        keys, signed_from = self._key_table()
        declared = keys.get(ws)
        if declared is None:
            return False
        if signature is None:
            return seq < signed_from.get(ws, 1) and (kind == Kind.WORKSTATION_CREATED or ws == self._founder())
        key = declared.get(signature.partition(".")[0])
        if key is None or at < key.valid_from or (key.valid_until is not None and at > key.valid_until):
            return False
        known = _VERIFIED.get((stored_hash, signature))
        if known is not None:
            return bool(known == key.public)
        if not signature_good(key.public, stored_hash, signature):
            return False
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED[(stored_hash, signature)] = key.public
        return True

    def _events(self, where: str, params: Sequence[Any]) -> Iterator[Event]:
        # In the merge order (domain/merge.py): the order every workstation folds the same events in. This
        # workstation's own chain is trusted as read (its hash checked); another's entry only as ``_trusted`` says.
        if self._signature_column is None:
            # A file older than signatures (read, not migrated) has no such column: nothing in it is signed.
            columns = {str(r[1]) for r in self.conn.execute("PRAGMA table_info(events)")}
            self._signature_column = "signature" if "signature" in columns else "NULL"
        sql = (
            f"SELECT position, hash, body, workstation_id, seq, at, kind, {self._signature_column} "  # noqa: S608
            f"FROM events WHERE {where} ORDER BY at, workstation_id, seq"
        )
        own = self._workstation()
        for position, stored_hash, body, ws, seq, at, kind, signature in self.conn.execute(sql, params):
            if ws != own and not self._trusted(ws, seq, at, kind, stored_hash, signature=signature):
                continue
            if (
                not isinstance(body, bytes)  # text: a hand edit of the row (it was written as bytes)
                or hashlib.sha256(body).hexdigest() != stored_hash
                or not is_canonical(body)
            ):
                raise TamperedLog(
                    f"audit log entry #{position} does not match its hash or is not in canonical form, so nothing "
                    "is decided on it; run 'crisisdesk audit verify'"
                )
            yield from_body(body, stored_hash)

    def _kinds(self, kinds: Sequence[str], extra: str = "", params: Sequence[Any] = ()) -> Iterator[Event]:
        where = f"kind IN ({','.join('?' * len(kinds))})" + (f" AND {extra}" if extra else "")
        return self._events(where, (*kinds, *params))

    # -- people ---------------------------------------------------------------------------------------

    def founding(self) -> str:
        """The workstation whose bootstrap made the first admin: the one the first ``hub.founded`` names, else the
        one this log was created on (its first entry)."""
        for e in self._kinds((Kind.HUB_FOUNDED,)):
            return str(e.payload.get("workstation", ""))
        row = self.conn.execute("SELECT workstation_id FROM events ORDER BY position LIMIT 1").fetchone()
        return str(row[0]) if row else ""

    def people(self) -> People:
        """The admin events folded by the merge rules: each one counts only if its writer was an admin then."""
        people = People(self.founding())
        for e in self._kinds(PEOPLE_KINDS):
            people.step(e)
        return people

    def roles(self, name: str) -> frozenset[str]:
        """The roles the admin events give ``name`` now (names compare without case, as the users table does)."""
        return self.people().holds(name)

    def everyone_roles(self, only: str | None = None) -> dict[str, frozenset[str]]:
        """Each person's roles now, by case-folded name (``only``: just that person). A disabled person holds none
        while disabled (their approvals stop counting, as a revoked approver's do); enabled, they hold them again."""
        everyone = self.people().everyone()
        if only is not None:
            return {who: r for who, r in everyone.items() if who == only.casefold()}
        return everyone

    def disabled(self) -> frozenset[str]:
        """The case-folded names of the people disabled now (the last disable or enable event that counts decides)."""
        return frozenset(self.people().disabled)

    def is_disabled(self, name: str) -> bool:
        return name.casefold() in self.disabled()

    def enabled_admins(self) -> list[str]:
        """Who may manage people now: the admins not disabled (case-folded names)."""
        return sorted(who for who, roles in self.everyone_roles().items() if "admin" in roles)

    # -- settings -------------------------------------------------------------------------------------

    def agency(self) -> dict[str, Any] | None:
        """The agency settings as the last change recorded them (None: never set)."""
        last = None
        for e in self._kinds((Kind.AGENCY_SET,)):
            last = dict(e.payload)
        return last

    # -- incidents ------------------------------------------------------------------------------------

    def incident(self, incident_id: str) -> IncidentRecord | None:
        """The incident as its events say: mode (fixed when opened), status now, and its facts."""
        opened: dict[str, Any] | None = None
        status = "active"
        facts: dict[str, str] = {}
        for e in self._kinds(
            (Kind.INCIDENT_OPENED, Kind.STATUS_CHANGED, Kind.FACT_SET),
            "json_extract(body, '$.payload.incident') = ?",
            [incident_id],
        ):
            p = e.payload
            if e.kind == Kind.INCIDENT_OPENED:
                if opened is not None:
                    continue  # the first opening in the merge order fixes the incident (its mode above all)
                opened = dict(p)
                facts.update(p["facts"])
            elif e.kind == Kind.STATUS_CHANGED:
                status = p["status"]
            else:
                facts[p["name"]] = p["value"]
        if opened is None:
            return None
        return IncidentRecord(
            incident_id, opened["mode"], status, opened["title"], opened["timezone"], opened["playbook"], facts
        )

    # -- channel accounts -----------------------------------------------------------------------------

    def accounts(self) -> dict[str, AccountRecord]:
        """Every account ever added, by id, removed ones marked."""
        out: dict[str, AccountRecord] = {}
        for e in self._kinds((Kind.CHANNEL_ADDED, Kind.CHANNEL_REMOVED)):
            p = e.payload
            if e.kind == Kind.CHANNEL_ADDED:
                if p["account"] in out:
                    continue  # an account id is made once: the first in the merge order stands (exercise or live)
                out[p["account"]] = AccountRecord(
                    p["account"], p["name"], p["kind"], bool(p["exercise"]), dict(p["settings"]), removed=False
                )
            elif p["account"] in out:
                a = out[p["account"]]
                out[a.id] = AccountRecord(a.id, a.name, a.kind, a.exercise, a.settings, removed=True)
        return out

    def account(self, account_id: str) -> AccountRecord | None:
        return self.accounts().get(account_id)

    # -- messages -------------------------------------------------------------------------------------

    def _message_events(self, message_id: str, kinds: Sequence[str]) -> Iterator[Event]:
        return self._kinds(kinds, "json_extract(body, '$.payload.message') = ?", [message_id])

    def message(self, message_id: str) -> MessageRecord | None:
        """A message as its events say, folded by the merge rules: every version with its author and workstation
        (siblings included), its state (``conflict`` while siblings wait to be merged), approvals and publications."""
        folded = fold_message(message_id, list(self._message_events(message_id, MESSAGE_KINDS)))
        if folded is None:
            return None
        people = self.people() if folded.approvals else None

        def record(v: Any) -> VersionRecord:
            return VersionRecord(
                message_id,
                v.version,
                v.hash,
                v.content,
                v.author,
                v.at,
                v.incident,
                v.order,
                v.workstation,
                v.base,
                v.merges,
            )

        return MessageRecord(
            message_id,
            folded.incident,
            folded.type,
            folded.state,
            tuple(record(v) for v in sorted(folded.versions, key=lambda v: (v.version, v.order))),
            tuple(
                ApprovalRecord(
                    a.approver,
                    a.hash,
                    a.at,
                    a.comment,
                    a.order,
                    a.workstation,
                    people.roles_at(a.approver, a.key) if people is not None else frozenset(),
                )
                for a in folded.approvals
            ),
            tuple(_publication(message_id, e) for e in folded.published),
            folded.returned_at,
            tuple(record(v) for v in folded.heads),
        )

    def incident_events(self, incident_id: str, kinds: Sequence[str]) -> Iterator[Event]:
        """The events of ``kinds`` about one incident, in order, each checked against its hash."""
        return self._kinds(kinds, "json_extract(body, '$.payload.incident') = ?", [incident_id])

    def row_events(self, rows: Sequence[str], kinds: Sequence[str]) -> Iterator[Event]:
        """The worker's events of ``kinds`` about outbox ``rows`` (sent, failed...), in order, each checked."""
        if not rows:
            return iter(())
        return self._kinds(kinds, f"json_extract(body, '$.payload.row') IN ({','.join('?' * len(rows))})", rows)

    def version(self, message_id: str, version: int, hash_: str | None = None) -> VersionRecord | None:
        """One version of a message, with the exact content its hash covers. Siblings share a number: ``hash_``
        picks one; without it, the one a publication names, else the first in the merge order."""
        found = [
            VersionRecord(
                message_id,
                version,
                e.payload["hash"],
                e.payload["content"],
                e.actor,
                e.at,
                e.payload["incident"],
                workstation=e.workstation_id,
            )
            for e in self._message_events(message_id, _VERSION_KINDS)
            if e.payload["version"] == version and (hash_ is None or e.payload["hash"] == hash_)
        ]
        if len(found) > 1:
            published = self.publication(message_id, version)
            chosen = [v for v in found if published is not None and v.hash == published.hash]
            return (chosen or found)[0]
        return found[0] if found else None

    def publication(self, message_id: str, version: int) -> PublicationRecord | None:
        """What the publish of ``version`` handed to the outbox: its hash, mode, CAP and rows."""
        return next(
            (
                _publication(message_id, e)
                for e in self._message_events(message_id, (Kind.MESSAGE_PUBLISHED,))
                if e.payload["version"] == version
            ),
            None,
        )


def _publication(message_id: str, e: Event) -> PublicationRecord:
    p = e.payload
    return PublicationRecord(
        message=message_id,
        version=p["version"],
        hash=p["hash"],
        mode=p["mode"],
        at=e.at,
        by=e.actor,
        break_glass=bool(p["break_glass"]),
        cap=p.get("cap"),
        outbox=tuple(dict(r) for r in p.get("outbox", ())),
    )


# The events that decide which key revocations count.
REVOCATION_KINDS = (*PEOPLE_KINDS, Kind.HUB_FOUNDED, Kind.WORKSTATION_KEY_REVOKED)


def held_admin_revocations(conn: sqlite3.Connection, extra: Iterable[Event] = ()) -> frozenset[tuple[str, int]]:
    """The key revocations this log holds (and ``extra``: a batch being received) that count: written by an admin
    at their place in the merge order (``signing.key_table``'s ``revokers``). Read through the kind index: the
    people events are few."""
    row = conn.execute("SELECT value FROM local_settings WHERE key = 'workstation_id'").fetchone()
    held = conn.execute(
        f"SELECT hash, body FROM events WHERE kind IN ({','.join('?' * len(REVOCATION_KINDS))})",  # noqa: S608
        REVOCATION_KINDS,
    ).fetchall()
    events = [from_body(body, str(h)) for h, body in held]
    return admin_revocations([*events, *extra], own_workstation=str(row[0]) if row else "")

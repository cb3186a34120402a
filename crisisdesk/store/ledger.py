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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Event, Kind, from_body, is_canonical

_USER_KINDS = (Kind.USER_ADDED, Kind.ROLE_GRANTED, Kind.ROLE_REVOKED)
_ACCESS_KINDS = (Kind.USER_DISABLED, Kind.USER_ENABLED)
_VERSION_KINDS = (Kind.MESSAGE_DRAFTED, Kind.MESSAGE_EDITED)


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


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    approver: str
    hash: str
    at: str
    comment: str | None
    order: int = 0  # its place among the message's events: it counts only after the version it approves was made


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
    state: str  # draft, submitted, returned or published, as the events left it
    versions: tuple[VersionRecord, ...]
    approvals: tuple[ApprovalRecord, ...]
    publications: tuple[PublicationRecord, ...]
    returned_at: int = -1  # the order of the last return among the message's events (-1: never returned)

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


_MESSAGE_STATE = {
    Kind.MESSAGE_DRAFTED: "draft",
    Kind.MESSAGE_EDITED: "draft",
    Kind.MESSAGE_SUBMITTED: "submitted",
    Kind.MESSAGE_RETURNED: "returned",
    Kind.MESSAGE_PUBLISHED: "published",
}


class Ledger:
    """Reads decisions from the events of one connection (the caller's thread's)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _workstation(self) -> str:
        row = self.conn.execute("SELECT value FROM local_settings WHERE key = 'workstation_id'").fetchone()
        return str(row[0]) if row else ""

    def _events(self, where: str, params: Sequence[Any]) -> Iterator[Event]:
        # Only this workstation's own chain decides anything: no other workstation has joined it yet (team sync
        # will admit others by their signatures), so an entry under another workstation's name is not trusted.
        # The unary + keeps SQLite on the kind and message indexes rather than scanning the workstation's index.
        sql = (
            f"SELECT position, hash, body FROM events WHERE {where} AND +workstation_id = ? "  # noqa: S608
            "ORDER BY position"
        )
        for position, stored_hash, body in self.conn.execute(sql, (*params, self._workstation())):
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

    def roles(self, name: str) -> frozenset[str]:
        """The roles the admin events give ``name`` now (names compare without case, as the users table does)."""
        return self.everyone_roles(name).get(name.casefold(), frozenset())

    def everyone_roles(self, only: str | None = None) -> dict[str, frozenset[str]]:
        """Each person's roles now, by case-folded name (``only``: just that person). A disabled person holds none
        while disabled (their approvals stop counting, as a revoked approver's do); enabled, they hold them again."""
        roles: dict[str, set[str]] = {}
        for e in self._kinds(_USER_KINDS):
            p = e.payload
            who = str(p.get("name", "")).casefold()
            if only is not None and who != only.casefold():
                continue
            if e.kind == Kind.USER_ADDED:
                roles[who] = set(p["roles"])
            elif e.kind == Kind.ROLE_GRANTED:
                roles.setdefault(who, set()).add(p["role"])
            else:
                roles.setdefault(who, set()).discard(p["role"])
        off = self.disabled() if roles else frozenset()
        return {who: frozenset() if who in off else frozenset(r) for who, r in roles.items()}

    def disabled(self) -> frozenset[str]:
        """The case-folded names of the people disabled now (the last disable or enable event decides)."""
        out: set[str] = set()
        for e in self._kinds(_ACCESS_KINDS):
            who = str(e.payload.get("name", "")).casefold()
            if e.kind == Kind.USER_DISABLED:
                out.add(who)
            else:
                out.discard(who)
        return frozenset(out)

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
        """A message as its events say: every version with its author, its state, approvals and publications."""
        versions: list[VersionRecord] = []
        approvals: list[ApprovalRecord] = []
        publications: list[PublicationRecord] = []
        state, kind_of, returned_at = "draft", "", -1
        for order, e in enumerate(self._message_events(message_id, (*_MESSAGE_STATE, Kind.MESSAGE_APPROVED))):
            p = e.payload
            state = _MESSAGE_STATE.get(e.kind, state)
            if e.kind in _VERSION_KINDS:
                kind_of = p.get("type", kind_of)
                versions.append(
                    VersionRecord(
                        message_id, p["version"], p["hash"], p["content"], e.actor, e.at, p["incident"], order
                    )
                )
            elif e.kind == Kind.MESSAGE_APPROVED:
                approvals.append(ApprovalRecord(e.actor, p["hash"], e.at, p.get("comment"), order))
            elif e.kind == Kind.MESSAGE_RETURNED:
                returned_at = order
            elif e.kind == Kind.MESSAGE_PUBLISHED:
                publications.append(_publication(message_id, e))
        if not versions:
            return None
        versions.sort(key=lambda v: v.version)
        return MessageRecord(
            message_id,
            versions[0].incident,
            kind_of,
            state,
            tuple(versions),
            tuple(approvals),
            tuple(publications),
            returned_at,
        )

    def incident_events(self, incident_id: str, kinds: Sequence[str]) -> Iterator[Event]:
        """The events of ``kinds`` about one incident, in order, each checked against its hash."""
        return self._kinds(kinds, "json_extract(body, '$.payload.incident') = ?", [incident_id])

    def row_events(self, rows: Sequence[str], kinds: Sequence[str]) -> Iterator[Event]:
        """The worker's events of ``kinds`` about outbox ``rows`` (sent, failed...), in order, each checked."""
        if not rows:
            return iter(())
        return self._kinds(kinds, f"json_extract(body, '$.payload.row') IN ({','.join('?' * len(rows))})", rows)

    def version(self, message_id: str, version: int) -> VersionRecord | None:
        """One version of a message, with the exact content its hash covers."""
        for e in self._message_events(message_id, _VERSION_KINDS):
            p = e.payload
            if p["version"] == version:
                return VersionRecord(message_id, version, p["hash"], p["content"], e.actor, e.at, p["incident"])
        return None

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

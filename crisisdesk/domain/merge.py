"""Merge rules: how the events of several workstations decide things together (issue 16, item 3).

Every workstation keeps its own log and receives the others' entries in whatever order the hub or a bundle hands
them over. The state is the fold of all the events in one order, the same on every workstation:

- **Order**: the key ``(at, workstation_id, seq)``. ``at`` never goes backwards along one workstation's chain
  (the event log writes ``max(now, the previous entry's at)``), so each chain keeps its own order in the key.
- **People**: a person's roles are what the admin events say. A grant, revocation, addition, disabling or enabling
  counts only when its writer was an admin (and not disabled) at that point of the order; a revocation therefore
  wins over everything dated after it, wherever that was written. The first admin comes from the bootstrap
  (``user.added`` by ``system``, written when a workstation is set up) of the founding workstation only: the one
  the first ``hub.founded`` names, or, before any, the log's own workstation.
- **Keys**: which workstation keys are valid when is the rule of ``domain/signing.py`` (a replaced or revoked key
  signs nothing dated after that).
- **Messages**: ``message.edited`` names the version it edited (``base``: {version, hash}; on older events, the
  version before it). Two edits of the same base are *siblings*: both are kept and the message is in conflict
  until a person merges them with an edit whose ``merges`` lists the hashes it replaces. The *heads* are the
  versions no other version edited or merged; more than one head is a conflict.
- **Approvals**: the union of every workstation's, each bound to the one hash it names; it counts only if the
  approver held the role when it was given (in the order) and still holds it.

Pure: no I/O. The store hands the events in; ``fold`` gives the same state for any delivery order.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crisisdesk.domain.events import Event, Kind
from crisisdesk.domain.signing import KeyEvent, key_table

MergeKey = tuple[str, str, int]
BOOTSTRAP_ACTOR = "system"  # who writes a workstation's first admin when it is set up
ADMIN = "admin"
PEOPLE_KINDS = (Kind.USER_ADDED, Kind.ROLE_GRANTED, Kind.ROLE_REVOKED, Kind.USER_DISABLED, Kind.USER_ENABLED)
VERSION_KINDS = (Kind.MESSAGE_DRAFTED, Kind.MESSAGE_EDITED)
MESSAGE_STATES = {
    Kind.MESSAGE_DRAFTED: "draft",
    Kind.MESSAGE_EDITED: "draft",
    Kind.MESSAGE_SUBMITTED: "submitted",
    Kind.MESSAGE_RETURNED: "returned",
    Kind.MESSAGE_PUBLISHED: "published",
}
MESSAGE_KINDS = (*MESSAGE_STATES, Kind.MESSAGE_APPROVED)
CONFLICT = "conflict"


def merge_key(e: Event) -> MergeKey:
    return (e.at, e.workstation_id, e.seq)


def in_merge_order(events: Iterable[Event]) -> list[Event]:
    """The events sorted by the merge key, each once (the same entry delivered twice is one entry)."""
    unique = {e.hash: e for e in events}
    return sorted(unique.values(), key=merge_key)


def applies_in_order(last: MergeKey | None, incoming: Iterable[MergeKey]) -> bool:
    """Can ``incoming`` be applied after what is applied (whose greatest key is ``last``) without changing the
    order? Otherwise the state must be folded again from the start."""
    return last is None or all(key > last for key in incoming)


def founding_workstation(events: Iterable[Event], own: str) -> str:
    """The workstation whose bootstrap makes the first admin: the one the first ``hub.founded`` names (by the
    merge key), else ``own`` (the log's own workstation: a workstation not in a team is its own founder)."""
    founded = [e for e in events if e.kind == Kind.HUB_FOUNDED]
    if not founded:
        return own
    return str(min(founded, key=merge_key).payload.get("workstation", own))


# -- people -----------------------------------------------------------------------------------------------


class People:
    """The admin events folded in merge order (call ``step`` in that order), with each person's roles over time."""

    def __init__(self, founding: str) -> None:
        self.founding = founding
        self.names: dict[str, str] = {}  # case-folded -> as added
        self._roles: dict[str, set[str]] = {}
        self.disabled: set[str] = set()
        self.ignored: list[str] = []  # hashes of admin events whose writer was not an admin then
        # Per person: (merge key, roles held from then on) at each change, in order.
        self._history: dict[str, list[tuple[MergeKey, frozenset[str]]]] = {}

    def is_admin(self, name: str) -> bool:
        who = name.casefold()
        return who not in self.disabled and ADMIN in self._roles.get(who, ())

    def holds(self, name: str) -> frozenset[str]:
        """The roles ``name`` holds now (none while disabled)."""
        who = name.casefold()
        return frozenset() if who in self.disabled else frozenset(self._roles.get(who, ()))

    def everyone(self) -> dict[str, frozenset[str]]:
        return {who: self.holds(who) for who in self._roles}

    def roles_at(self, name: str, key: MergeKey) -> frozenset[str]:
        """The roles ``name`` held just before the point ``key`` of the order."""
        history = self._history.get(name.casefold(), [])
        i = bisect.bisect_left(history, key, key=lambda h: h[0])
        return history[i - 1][1] if i else frozenset()

    def _bootstrap(self, e: Event) -> bool:
        # One per workstation: setting a workstation up twice is refused.
        return e.kind == Kind.USER_ADDED and e.actor == BOOTSTRAP_ACTOR and e.workstation_id == self.founding

    def step(self, e: Event) -> bool:
        """Apply one admin event; False when it does not count (its writer was not an admin then, or it names
        someone who does not exist, or adds someone who does)."""
        if e.kind not in PEOPLE_KINDS:
            return False
        who = str(e.payload.get("name", "")).casefold()
        bootstrap = self._bootstrap(e)
        if not bootstrap and not self.is_admin(e.actor):
            self.ignored.append(e.hash)
            return False
        if e.kind == Kind.USER_ADDED:
            if who in self.names:
                self.ignored.append(e.hash)  # added on two workstations at once: the first in the order stands
                return False
            self.names[who] = str(e.payload["name"])
            self._roles[who] = set(e.payload["roles"])
        elif who not in self.names:
            self.ignored.append(e.hash)
            return False
        elif e.kind == Kind.ROLE_GRANTED:
            self._roles[who].add(str(e.payload["role"]))
        elif e.kind == Kind.ROLE_REVOKED:
            self._roles[who].discard(str(e.payload["role"]))
        elif e.kind == Kind.USER_DISABLED:
            self.disabled.add(who)
        else:
            self.disabled.discard(who)
        self._history.setdefault(who, []).append((merge_key(e), self.holds(who)))
        return True


# -- messages ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Version:
    message: str
    version: int
    hash: str
    base: tuple[int, str] | None  # (version, hash) it edited (None: the first draft)
    merges: tuple[str, ...]  # the sibling hashes a merge replaces (those of lower versions)
    author: str
    workstation: str
    at: str
    content: str
    incident: str
    order: int  # its place among the message's events, in merge order
    key: MergeKey = ("", "", 0)


@dataclass(frozen=True, slots=True)
class Approved:
    approver: str
    hash: str
    at: str
    comment: str | None
    workstation: str
    order: int
    key: MergeKey = ("", "", 0)


@dataclass(frozen=True, slots=True)
class MessageState:
    id: str
    incident: str
    type: str
    last_state: str  # draft, submitted, returned or published: the last state event in the order
    versions: tuple[Version, ...]  # in merge order
    heads: tuple[Version, ...]  # the versions nothing edited or merged since, in merge order
    approvals: tuple[Approved, ...]  # every workstation's, in merge order
    published: tuple[Event, ...]
    returned_at: int = -1  # the order of the last return (-1: never)

    @property
    def conflict(self) -> bool:
        return len(self.heads) > 1 and not self.published

    @property
    def state(self) -> str:
        return CONFLICT if self.conflict else self.last_state

    @property
    def current(self) -> Version:
        """The one head; in a conflict, the head with the highest version (then the latest in the order)."""
        return max(self.heads, key=lambda v: (v.version, v.order))

    def summary(self) -> tuple[Any, ...]:
        """What the property tests compare: everything but the in-order positions of the events."""
        return (
            self.state,
            self.incident,
            self.type,
            tuple((v.hash, v.version, v.base, v.merges, v.author, v.workstation) for v in self.versions),
            tuple(v.hash for v in self.heads),
            tuple((a.approver, a.hash, a.workstation, a.at) for a in self.approvals),
            tuple(p.hash for p in self.published),
            self.returned_at,
        )


def edit_base(payload: Mapping[str, Any]) -> tuple[int, str] | None:
    """The (version, hash) an edit names as its base, when it names one."""
    base = payload.get("base")
    if isinstance(base, Mapping) and type(base.get("version")) is int and isinstance(base.get("hash"), str):
        return (int(base["version"]), str(base["hash"]))
    return None


def replaced(versions: Iterable[Version]) -> set[tuple[int, str]]:
    """The (version, hash) of every version some other version edited or merged. A text edited back to an
    earlier one has that one's hash: versions are told apart by (version, hash), and a merge replaces only
    versions numbered below it (a merge that keeps a sibling's text unchanged has that sibling's hash)."""
    versions = list(versions)
    out = {v.base for v in versions if v.base is not None}
    for m in versions:
        if m.merges:
            merged = set(m.merges)
            out |= {(v.version, v.hash) for v in versions if v.hash in merged and v.version < m.version}
    return out


def fold_message(message_id: str, events: Sequence[Event]) -> MessageState | None:
    """One message's events (already in merge order) folded: versions with siblings, approvals, state."""
    versions: list[Version] = []
    seen: set[tuple[int, str]] = set()
    approvals: list[Approved] = []
    published: list[Event] = []
    last_state, type_, returned_at = "draft", "", -1
    for order, e in enumerate(events):
        p = e.payload
        last_state = MESSAGE_STATES.get(e.kind, last_state)
        if e.kind in VERSION_KINDS:
            type_ = str(p.get("type", type_))
            if (p["version"], p["hash"]) in seen:
                continue  # the same text made twice as the same version (two workstations typed it): one version
            seen.add((p["version"], p["hash"]))
            base = edit_base(p)
            if base is None and e.kind == Kind.MESSAGE_EDITED:
                # Written before edits named their base: the version before it (the latest of that number).
                before = [v for v in versions if v.version == p["version"] - 1]
                base = (before[-1].version, before[-1].hash) if before else None
            merges = tuple(str(h) for h in p.get("merges", ()))
            version = Version(
                message_id,
                int(p["version"]),
                str(p["hash"]),
                base,
                merges,
                e.actor,
                e.workstation_id,
                e.at,
                str(p["content"]),
                str(p["incident"]),
                order,
                merge_key(e),
            )
            versions.append(version)
        elif e.kind == Kind.MESSAGE_APPROVED:
            approvals.append(
                Approved(e.actor, str(p["hash"]), e.at, p.get("comment"), e.workstation_id, order, merge_key(e))
            )
        elif e.kind == Kind.MESSAGE_RETURNED:
            returned_at = order
        elif e.kind == Kind.MESSAGE_PUBLISHED:
            published.append(e)
    if not versions:
        return None
    # Decided over every version at the end, so an edit that arrives (or is dated) before its base still counts.
    gone = replaced(versions)
    heads = tuple(v for v in versions if (v.version, v.hash) not in gone) or (versions[-1],)
    return MessageState(
        message_id,
        versions[0].incident,
        type_,
        last_state,
        tuple(versions),
        heads,
        tuple(approvals),
        tuple(published),
        returned_at,
    )


# -- the whole team ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyWindow:
    public: str
    valid_from: str
    valid_until: str | None


@dataclass(frozen=True)
class TeamState:
    founding: str
    roles: dict[str, frozenset[str]]  # each person's roles now (case-folded name; none while disabled)
    disabled: frozenset[str]
    ignored: frozenset[str]  # admin events that did not count
    keys: dict[str, dict[str, KeyWindow]]  # workstation -> key id -> when it is valid
    joined: frozenset[str]  # workstations that declared a key
    messages: dict[str, MessageState]
    # Each approval with the roles its approver held when it was given:
    # (message, approver, hash, workstation, at) -> roles.
    approval_roles: dict[tuple[str, str, str, str, str], frozenset[str]] = field(default_factory=dict)

    def summary(self) -> tuple[Any, ...]:
        return (
            self.founding,
            sorted(self.roles.items()),
            sorted(self.disabled),
            sorted(self.ignored),
            sorted((ws, sorted(keys.items())) for ws, keys in self.keys.items()),
            sorted(self.joined),
            sorted((m, s.summary()) for m, s in self.messages.items()),
            sorted(self.approval_roles.items()),
        )


def key_events(events: Iterable[Event]) -> list[KeyEvent]:
    """The key events among ``events`` in the form ``signing.key_table`` reads (``position``: their place in the
    order)."""
    out = []
    for i, e in enumerate(events):
        if e.kind in (Kind.WORKSTATION_JOINED, Kind.WORKSTATION_KEY_ROTATED, Kind.WORKSTATION_KEY_REVOKED):
            p = e.payload
            out.append(
                KeyEvent(
                    i,
                    e.workstation_id,
                    e.seq,
                    e.at,
                    e.kind,
                    str(p.get("workstation", "")),
                    str(p.get("key", "")),
                    str(p.get("public_key", "")),
                    str(p.get("previous", "")),
                )
            )
    return out


def admin_revocations(events: Iterable[Event], *, own_workstation: str) -> frozenset[tuple[str, int]]:
    """The (workstation, seq) of the ``workstation.key_revoked`` entries among ``events`` whose actor was an admin
    at their place in the merge order: the only revocations ``signing.key_table`` counts. ``events`` must hold the
    people events (and ``hub.founded``) that decide it; the rest are passed over."""
    ordered = in_merge_order(events)
    people = People(founding_workstation(ordered, own_workstation))
    out = set()
    for e in ordered:
        if e.kind in PEOPLE_KINDS:
            people.step(e)
        elif e.kind == Kind.WORKSTATION_KEY_REVOKED and people.is_admin(e.actor):
            out.add((e.workstation_id, e.seq))
    return frozenset(out)


def fold(events: Iterable[Event], *, own_workstation: str) -> TeamState:
    """The team state the merge rules give for a set of events, whatever order they were delivered in."""
    ordered = in_merge_order(events)
    founding = founding_workstation(ordered, own_workstation)
    people = People(founding)
    by_message: dict[str, list[Event]] = {}
    revokers = set()
    for e in ordered:
        if e.kind in PEOPLE_KINDS:
            people.step(e)
        elif e.kind in MESSAGE_KINDS:
            by_message.setdefault(str(e.payload.get("message", "")), []).append(e)
        elif e.kind == Kind.WORKSTATION_KEY_REVOKED and people.is_admin(e.actor):
            revokers.add((e.workstation_id, e.seq))
    keys, _, _ = key_table(key_events(ordered), revokers=revokers)
    messages = {m: s for m, evs in by_message.items() if (s := fold_message(m, evs)) is not None}
    approval_roles = {
        (m, a.approver.casefold(), a.hash, a.workstation, a.at): people.roles_at(a.approver, a.key)
        for m, s in messages.items()
        for a in s.approvals
    }
    return TeamState(
        founding=founding,
        roles=people.everyone(),
        disabled=frozenset(people.disabled),
        ignored=frozenset(people.ignored),
        keys={
            ws: {k: KeyWindow(v.public, v.valid_from, v.valid_until) for k, v in ks.items()} for ws, ks in keys.items()
        },
        joined=frozenset(e.workstation_id for e in ordered if e.kind == Kind.WORKSTATION_JOINED),
        messages=messages,
        approval_roles=approval_roles,
    )

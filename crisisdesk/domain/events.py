"""Events: the source of truth and the audit log.

An event's *body* is the canonical JSON of every field (workstation, seq, time, actor, kind, payload and the
previous hash of the same workstation's chain). Its hash is SHA-256 over exactly those stored bytes, so
verifying never re-serialises anything. Chains are per workstation so that events stay verifiable after
they are exchanged between workstations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crisisdesk.domain.canonical import canonical_bytes, parse

FORMAT_VERSION = 1
GENESIS = "0" * 64  # the "previous hash" of a workstation's first event


class Kind:
    """Event kinds, named in the past tense: they say what happened."""

    WORKSTATION_CREATED = "workstation.created"
    USER_ADDED = "user.added"
    PASSWORD_SET = "user.password_set"  # noqa: S105 - an event kind
    ROLE_GRANTED = "user.role_granted"
    ROLE_REVOKED = "user.role_revoked"
    LOGIN_FAILED = "auth.login_failed"
    SESSION_STARTED = "auth.session_started"
    ACCESS_DENIED = "access.denied"


# What each kind means, in the users' words, for the audit view.
KIND_LABELS: dict[str, str] = {
    Kind.WORKSTATION_CREATED: "Workstation set up",
    Kind.USER_ADDED: "Person added",
    Kind.PASSWORD_SET: "Password set",
    Kind.ROLE_GRANTED: "Role granted",
    Kind.ROLE_REVOKED: "Role revoked",
    Kind.LOGIN_FAILED: "Sign-in failed",
    Kind.SESSION_STARTED: "Signed in",
    Kind.ACCESS_DENIED: "Action refused",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


@dataclass(frozen=True, slots=True)
class Event:
    workstation_id: str
    seq: int
    at: str
    actor: str
    kind: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str
    body: bytes = field(repr=False)


def seal(
    *, workstation_id: str, seq: int, at: str, actor: str, kind: str, payload: Mapping[str, Any], prev_hash: str
) -> Event:
    """Build an event and its hash from its fields."""
    body = canonical_bytes(
        {
            "v": FORMAT_VERSION,
            "ws": workstation_id,
            "seq": seq,
            "at": at,
            "actor": actor,
            "kind": kind,
            "payload": payload,
            "prev": prev_hash,
        }
    )
    return from_body(body, hashlib.sha256(body).hexdigest())


def from_body(body: bytes, stored_hash: str) -> Event:
    data = parse(body)
    return Event(
        workstation_id=data["ws"],
        seq=data["seq"],
        at=data["at"],
        actor=data["actor"],
        kind=data["kind"],
        payload=data["payload"],
        prev_hash=data["prev"],
        hash=stored_hash,
        body=body,
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    head: dict[str, tuple[int, str]]  # workstation -> (last seq, last hash)
    bad_position: int | None = None
    bad_seq: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.ok:
            heads = "; ".join(f"workstation {ws}: seq {seq}, head {h}" for ws, (seq, h) in sorted(self.head.items()))
            return f"audit log intact: {self.checked} entries verified ({heads or 'empty'})"
        return f"audit log broken at entry #{self.bad_position} (seq {self.bad_seq}): {self.reason}"


def verify_chain(rows: Iterable[tuple[int, str, bytes]]) -> ChainReport:
    """Check (position, stored hash, body) rows in storage order and name the first bad entry.

    Catches an edited entry (its bytes no longer match its hash), a deleted one (the next entry's link
    skips it), an inserted one and a reordered one (sequence numbers or links out of step).
    """
    sha256 = hashlib.sha256
    heads: dict[str, tuple[int, str]] = {}
    checked = 0
    for position, stored_hash, body in rows:
        if sha256(body).hexdigest() != stored_hash:
            return _broken(checked, heads, position, None, "its content does not match its hash (the entry was edited)")
        try:
            data = parse(body)
            ws, seq, prev = data["ws"], data["seq"], data["prev"]
        except (ValueError, KeyError, TypeError):
            return _broken(checked, heads, position, None, "its content is not a crisisdesk event")
        last_seq, last_hash = heads.get(ws, (0, GENESIS))
        if seq != last_seq + 1:
            if seq <= last_seq:
                why = f"sequence {seq} comes after {last_seq} (an entry was inserted or the entries were reordered)"
            else:
                missing = f"{last_seq + 1}" if seq == last_seq + 2 else f"{last_seq + 1}-{seq - 1}"
                why = f"follows seq {last_seq}: entry seq {missing} is missing (deleted)"
            return _broken(checked, heads, position, seq, why)
        if prev != last_hash:
            return _broken(
                checked, heads, position, seq, "its link to the previous entry does not match (inserted or replaced)"
            )
        heads[ws] = (seq, stored_hash)
        checked += 1
    return ChainReport(ok=True, checked=checked, head=heads)


def _broken(
    checked: int, heads: dict[str, tuple[int, str]], position: int, seq: int | None, reason: str
) -> ChainReport:
    return ChainReport(ok=False, checked=checked, head=heads, bad_position=position, bad_seq=seq, reason=reason)

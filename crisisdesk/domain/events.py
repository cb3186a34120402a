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

import orjson

from crisisdesk.domain.canonical import MAX_INT, normalise, parse

FORMAT_VERSION = 1
# A body that is not exactly the canonical form of what it parses to: a key written twice (SQLite's json_extract
# reads the first, the parser the last, so the indexed columns and the content could name different workstations),
# whitespace, unsorted keys. Every real event is written canonical, so any other body was made by hand.
NOT_CANONICAL = "its content is not in canonical form (a key written twice, or bytes written by hand)"
GENESIS = "0" * 64  # the "previous hash" of a workstation's first event


class Kind:
    """Event kinds, named in the past tense: they say what happened."""

    WORKSTATION_CREATED = "workstation.created"
    # A workstation's Ed25519 public key: declared by the workstation itself, replaced or revoked by an admin.
    WORKSTATION_JOINED = "workstation.joined"
    WORKSTATION_KEY_ROTATED = "workstation.key_rotated"
    WORKSTATION_KEY_REVOKED = "workstation.key_revoked"
    # The team hub this log's workstation founded (crisisdesk hub init): {hub_id, workstation}.
    HUB_FOUNDED = "hub.founded"
    USER_ADDED = "user.added"
    PASSWORD_SET = "user.password_set"  # noqa: S105 - an event kind
    ROLE_GRANTED = "user.role_granted"
    ROLE_REVOKED = "user.role_revoked"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    LOGIN_FAILED = "auth.login_failed"
    SESSION_STARTED = "auth.session_started"
    ACCESS_DENIED = "access.denied"
    AUDIT_EXPORTED = "audit.exported"
    INCIDENT_OPENED = "incident.opened"
    FACT_SET = "incident.fact_set"
    STATUS_CHANGED = "incident.status_changed"
    STEP_DONE = "incident.step_done"
    MESSAGE_DRAFTED = "message.drafted"
    MESSAGE_EDITED = "message.edited"
    MESSAGE_SUBMITTED = "message.submitted"
    MESSAGE_APPROVED = "message.approved"
    MESSAGE_RETURNED = "message.returned"
    MESSAGE_PUBLISHED = "message.published"
    CHANNEL_ADDED = "channel.added"
    CHANNEL_REMOVED = "channel.removed"
    CHANNEL_TESTED = "channel.tested"
    CHANNEL_SECRET_SET = "channel.secret_set"  # noqa: S105 - an event kind: this workstation's copy of the secret
    OUTBOX_CLAIMED = "outbox.claimed"
    OUTBOX_SENT = "outbox.sent"
    OUTBOX_FAILED = "outbox.failed"
    OUTBOX_UNKNOWN = "outbox.unknown"
    OUTBOX_RETRIED = "outbox.retried"
    OUTBOX_RELEASED = "outbox.released"
    RETRACT_REQUESTED = "outbox.retract_requested"
    RETRACT_DONE = "outbox.retracted"
    OUTBOX_CLAIMED_ELSEWHERE = "outbox.claimed_elsewhere"  # another workstation holds the hub's claim: not sent here
    OUTBOX_CLAIM_REGISTERED = "outbox.claim_registered"  # a send made without a claim, claimed at the hub afterwards
    OUTBOX_PUBLISHED_TWICE = "outbox.published_twice"  # the late claim found another workstation's: an alarm
    OUTBOX_CLAIM_UNKNOWN_HOLDER = "outbox.claim_unknown_holder"  # the hub's claim names no joined workstation: alarm
    FEED_ADDED = "feed.added"
    FEED_REMOVED = "feed.removed"
    RULES_SET = "monitoring.rules_set"
    ALERT_RAISED = "feed.alert_raised"
    ALERT_HANDLED = "feed.alert_handled"
    TRIAGE_SET = "triage.set"
    FALSE_ALARM_DECLARED = "incident.false_alarm_declared"
    FALSE_ALARM_CORRECTED = "incident.false_alarm_corrected"
    AGENCY_SET = "settings.agency_set"
    IDLE_LOCK_SET = "settings.idle_lock_set"
    # Drills: every control action is an event, and so is every inject that fired (see services.drills).
    DRILL_LOADED = "drill.loaded"
    DRILL_STARTED = "drill.started"
    DRILL_PAUSED = "drill.paused"
    DRILL_RESUMED = "drill.resumed"
    DRILL_JUMPED = "drill.jumped"
    DRILL_COMPRESSION_SET = "drill.compression_set"
    DRILL_INJECT_FIRED = "drill.inject_fired"
    DRILL_INJECT_SKIPPED = "drill.inject_skipped"
    DRILL_ENDED = "drill.ended"
    DRILL_RATED = "drill.rated"
    DRILL_REPORT_EDITED = "drill.report_edited"
    DRILL_REPORT_EXPORTED = "drill.report_exported"
    # Team sync (issue 16): a workstation offered two different entries for one seq; a bundle file taken in.
    SYNC_EQUIVOCATION = "sync.equivocation"
    BUNDLE_IMPORTED = "bundle.imported"


# What each kind means, in the users' words, for the audit view.
KIND_LABELS: dict[str, str] = {
    Kind.WORKSTATION_CREATED: "Workstation set up",
    Kind.WORKSTATION_JOINED: "Workstation key declared",
    Kind.WORKSTATION_KEY_ROTATED: "Workstation key replaced",
    Kind.WORKSTATION_KEY_REVOKED: "Workstation key revoked",
    Kind.HUB_FOUNDED: "Team hub founded",
    Kind.USER_ADDED: "Person added",
    Kind.PASSWORD_SET: "Password set",
    Kind.ROLE_GRANTED: "Role granted",
    Kind.ROLE_REVOKED: "Role revoked",
    Kind.USER_DISABLED: "Person disabled",
    Kind.USER_ENABLED: "Person enabled again",
    Kind.LOGIN_FAILED: "Sign-in failed",
    Kind.SESSION_STARTED: "Signed in",
    Kind.ACCESS_DENIED: "Action refused",
    Kind.AUDIT_EXPORTED: "Audit log exported",
    Kind.INCIDENT_OPENED: "Incident opened",
    Kind.FACT_SET: "Fact set",
    Kind.STATUS_CHANGED: "Incident status changed",
    Kind.STEP_DONE: "Checklist step done",
    Kind.MESSAGE_DRAFTED: "Message drafted",
    Kind.MESSAGE_EDITED: "Message edited",
    Kind.MESSAGE_SUBMITTED: "Message submitted",
    Kind.MESSAGE_APPROVED: "Message approved",
    Kind.MESSAGE_RETURNED: "Message returned",
    Kind.MESSAGE_PUBLISHED: "Message published",
    Kind.CHANNEL_ADDED: "Channel added",
    Kind.CHANNEL_REMOVED: "Channel removed",
    Kind.CHANNEL_TESTED: "Channel tested",
    Kind.CHANNEL_SECRET_SET: "Channel secret set here",
    Kind.OUTBOX_CLAIMED: "Sending",
    Kind.OUTBOX_SENT: "Sent (receipt)",
    Kind.OUTBOX_FAILED: "Send failed",
    Kind.OUTBOX_UNKNOWN: "Send outcome unknown",
    Kind.OUTBOX_RETRIED: "Send retried",
    Kind.OUTBOX_RELEASED: "Claim released (not sent)",
    Kind.RETRACT_REQUESTED: "Retraction requested",
    Kind.RETRACT_DONE: "Retraction finished",
    Kind.OUTBOX_CLAIMED_ELSEWHERE: "Published by another workstation (not sent here)",
    Kind.OUTBOX_CLAIM_REGISTERED: "Offline send claimed at the hub",
    Kind.OUTBOX_PUBLISHED_TWICE: "PUBLISHED TWICE: another workstation also sent it",
    Kind.OUTBOX_CLAIM_UNKNOWN_HOLDER: "NOT SENT: the hub's claim names a workstation that never joined",
    Kind.FEED_ADDED: "Feed added",
    Kind.FEED_REMOVED: "Feed removed",
    Kind.RULES_SET: "Monitoring rules set",
    Kind.ALERT_RAISED: "Feed alert raised",
    Kind.ALERT_HANDLED: "Feed alert handled",
    Kind.TRIAGE_SET: "Triage decision",
    Kind.FALSE_ALARM_DECLARED: "False alarm declared",
    Kind.FALSE_ALARM_CORRECTED: "False alarm corrected on every channel",
    Kind.AGENCY_SET: "Agency settings changed",
    Kind.IDLE_LOCK_SET: "Idle lock changed",
    Kind.DRILL_LOADED: "Drill loaded",
    Kind.DRILL_STARTED: "Drill started",
    Kind.DRILL_PAUSED: "Drill paused",
    Kind.DRILL_RESUMED: "Drill resumed",
    Kind.DRILL_JUMPED: "Drill jumped to an inject",
    Kind.DRILL_COMPRESSION_SET: "Drill time compression changed",
    Kind.DRILL_INJECT_FIRED: "Drill inject",
    Kind.DRILL_INJECT_SKIPPED: "Drill inject skipped",
    Kind.DRILL_ENDED: "Drill ended",
    Kind.DRILL_RATED: "Drill objective rated",
    Kind.DRILL_REPORT_EDITED: "After-action report edited",
    Kind.DRILL_REPORT_EXPORTED: "After-action report exported",
    Kind.SYNC_EQUIVOCATION: "Equivocation alarm: two versions of one entry",
    Kind.BUNDLE_IMPORTED: "Bundle file imported",
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


# The append path builds an Event per entry: through the generated __init__ of a frozen class that sets each of the
# nine fields with object.__setattr__ (0.9 us an event, bench/event_log.py); the slots' own descriptors set them in
# about half that, and the instance is the same (still frozen: setting a field afterwards raises).
_new_object = object.__new__
(
    _set_ws,
    _set_seq,
    _set_at,
    _set_actor,
    _set_kind,
    _set_payload,
    _set_prev,
    _set_hash,
    _set_body,
) = (
    getattr(Event, f).__set__
    for f in ("workstation_id", "seq", "at", "actor", "kind", "payload", "prev_hash", "hash", "body")
)
assert len(Event.__slots__) == 9, "built() sets every field of Event: add the new one there"


def built(  # noqa: PLR0917 - Event's fields in order, as Event(...) takes them
    workstation_id: str,
    seq: int,
    at: str,
    actor: str,
    kind: str,
    payload: Mapping[str, Any],
    prev_hash: str,
    digest: str,
    body: bytes,
) -> Event:
    """``Event(...)`` with its fields in order, built faster (see above)."""
    event: Event = _new_object(Event)
    _set_ws(event, workstation_id)
    _set_seq(event, seq)
    _set_at(event, at)
    _set_actor(event, actor)
    _set_kind(event, kind)
    _set_payload(event, payload)
    _set_prev(event, prev_hash)
    _set_hash(event, digest)
    _set_body(event, body)
    return event


def seal(
    *, workstation_id: str, seq: int, at: str, actor: str, kind: str, payload: Mapping[str, Any], prev_hash: str
) -> Event:
    """Build an event and its hash from its fields."""
    return sealed(workstation_id, seq, at, actor, kind, payload, prev_hash)


def sealed(  # noqa: PLR0917 - the append path's hot call: no keywords to match
    workstation_id: str, seq: int, at: str, actor: str, kind: str, payload: Mapping[str, Any], prev_hash: str
) -> Event:
    """:func:`seal` with its fields in order: the append path's own call (no keywords to match)."""
    if (
        type(workstation_id) is str
        and type(seq) is int
        and type(at) is str
        and type(actor) is str
        and type(kind) is str
        and type(prev_hash) is str
        and 0 < seq <= MAX_INT
        and (workstation_id + at + actor + kind + prev_hash).isascii()
    ):
        # The usual case, and the append path's hot one: plain ASCII fields are their own canonical form, so only
        # the payload needs normalising (the general path below gives the same bytes, slower).
        plain = normalise(payload, "$.payload")
        body = orjson.dumps(
            {
                "actor": actor,
                "at": at,
                "kind": kind,
                "payload": plain,
                "prev": prev_hash,
                "seq": seq,
                "v": FORMAT_VERSION,
                "ws": workstation_id,
            },
            option=orjson.OPT_SORT_KEYS,
        )
        digest = hashlib.sha256(body).hexdigest()
        return built(workstation_id, seq, at, actor, kind, plain, prev_hash, digest, body)  # type: ignore[arg-type]
    fields = normalise(
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
    assert isinstance(fields, dict)
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return Event(
        workstation_id=str(fields["ws"]),
        seq=seq,
        at=str(fields["at"]),
        actor=str(fields["actor"]),
        kind=str(fields["kind"]),
        payload=fields["payload"],  # type: ignore[arg-type]
        prev_hash=str(fields["prev"]),
        hash=hashlib.sha256(body).hexdigest(),
        body=body,
    )


def is_canonical(body: bytes) -> bool:
    """Whether ``body`` is byte for byte the canonical form of what it parses to."""
    try:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) == body
    except orjson.JSONDecodeError:
        return False


def from_body(body: bytes, stored_hash: str) -> Event:
    d = parse(body)
    return built(d["ws"], d["seq"], d["at"], d["actor"], d["kind"], d["payload"], d["prev"], stored_hash, body)


@dataclass(frozen=True, slots=True)
class LogHead:
    """The last entry a workstation appended: kept outside the database too, so a lost tail is noticed."""

    workstation_id: str
    seq: int
    hash: str


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
        where = f" (seq {self.bad_seq})" if self.bad_seq is not None else ""  # an entry too damaged to read one
        return f"audit log broken at entry #{self.bad_position}{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Segment:
    """What one stretch of the log says about itself; :func:`stitch` joins stretches in order.

    ``entries`` holds, per workstation, its first entry in the stretch (position, seq, prev hash, and how
    many entries of the stretch came before it): the link that only the stretch before can check.
    ``heads`` is each workstation's last (seq, hash).
    """

    checked: int
    entries: dict[str, tuple[int, int, str, int]]
    heads: dict[str, tuple[int, str]]
    failure: tuple[int, int | None, str] | None = None  # (position, seq, reason)


def link_problem(last_seq: int, last_hash: str, seq: int, prev: str) -> str | None:
    """Why an entry does not follow its workstation's previous one, or None."""
    if seq != last_seq + 1:
        if seq <= last_seq:
            return f"sequence {seq} comes after {last_seq} (an entry was inserted or the entries were reordered)"
        missing = f"{last_seq + 1}" if seq == last_seq + 2 else f"{last_seq + 1}-{seq - 1}"
        return f"follows seq {last_seq}: entry seq {missing} is missing (deleted)"
    if prev != last_hash:
        return "its link to the previous entry does not match (inserted or replaced)"
    return None


def verify_segment(rows: Iterable[tuple[int, str, bytes]]) -> Segment:
    """Check (position, stored hash, body) rows in storage order, trusting nothing but the hashed bytes.

    Catches an edited entry (its bytes no longer match its hash), a deleted one (the next entry's link
    skips it), an inserted one and a reordered one (sequence numbers or links out of step), and a body that is
    not the canonical form of what it says. This loop is the audit's hot path, written for speed: per entry the
    hash, one parse and one re-dump (the canonical check), and the link to the entry before it checked in one
    test when it continues the same workstation's chain (the usual case); anything else takes the slow path.
    """
    sha256 = hashlib.sha256
    loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
    entries: dict[str, tuple[int, int, str, int]] = {}
    heads: dict[str, tuple[int, str]] = {}
    checked = 0
    ws_now: str | None = None
    last_seq, last_hash = 0, GENESIS
    failure: tuple[int, int | None, str] | None = None
    for position, stored_hash, body in rows:
        try:
            if sha256(body).hexdigest() != stored_hash:  # TypeError for text or a number: see below
                failure = (position, None, "its content does not match its hash (the entry was edited)")
                break
            data = loads(body)
            ws, seq, prev = data["ws"], data["seq"], data["prev"]
        except (ValueError, KeyError, TypeError):
            if type(body) is not bytes:  # written as bytes; text (or a number) means a hand edit of the row
                failure = (position, None, "its content is stored as text, not as the bytes that were hashed (edited)")
            else:
                failure = (position, None, "its content is not a crisisdesk event")
            break
        # The usual entry continues the chain of the one before it. Equal to a str, ws and prev are strs (orjson
        # makes no other type that compares equal to one); seq must be an int, not a bool or a float equal to one.
        if not (ws == ws_now and prev == last_hash and seq == last_seq + 1 and type(seq) is int):
            if type(ws) is not str or type(seq) is not int or type(prev) is not str:
                failure = (position, None, "its content is not a crisisdesk event")
                break
            if dumps(data, option=sort_keys) != body:
                failure = (position, None, NOT_CANONICAL)
                break
            if ws != ws_now:
                if ws_now is not None:
                    heads[ws_now] = (last_seq, last_hash)
                ws_now = ws
                if ws in heads:
                    last_seq, last_hash = heads[ws]
                else:
                    entries[ws] = (position, seq, prev, checked)  # checked by stitch() against the stretch before
                    last_seq, last_hash = seq - 1, prev
            if seq != last_seq + 1 or prev != last_hash:
                failure = (position, seq, link_problem(last_seq, last_hash, seq, prev) or "broken link")
                break
        elif dumps(data, option=sort_keys) != body:
            failure = (position, None, NOT_CANONICAL)
            break
        last_seq, last_hash = seq, stored_hash
        checked += 1
    if ws_now is not None:
        heads[ws_now] = (last_seq, last_hash)
    return Segment(checked=checked, entries=entries, heads=heads, failure=failure)


def stitch(segments: Iterable[Segment]) -> ChainReport:
    """Join consecutive stretches: each one's first entries must follow the heads before it."""
    heads: dict[str, tuple[int, str]] = {}
    checked = 0
    for segment in segments:
        problems: list[tuple[int, int | None, str, int]] = []  # (position, seq, reason, entries before it)
        for ws, (position, seq, prev, before) in segment.entries.items():
            last_seq, last_hash = heads.get(ws, (0, GENESIS))
            reason = link_problem(last_seq, last_hash, seq, prev)
            if reason is not None:
                problems.append((position, seq, reason, before))
        if segment.failure is not None:
            problems.append((*segment.failure, segment.checked))
        if problems:
            bad_position, bad_seq, bad_reason, before = min(problems, key=lambda p: p[0])
            return ChainReport(
                ok=False,
                checked=checked + before,
                head=heads,
                bad_position=bad_position,
                bad_seq=bad_seq,
                reason=bad_reason,
            )
        checked += segment.checked
        heads.update(segment.heads)
    return ChainReport(ok=True, checked=checked, head=heads)


def verify_chain(rows: Iterable[tuple[int, str, bytes]]) -> ChainReport:
    """Verify the whole log in one pass and name the first bad entry."""
    return stitch([verify_segment(rows)])

"""How each kind of event changes the current-state tables.

Handlers use only the event (its time, actor and payload), never the clock or other outside state, so
that replaying the log gives the same tables. Kinds with no handler (failed logins, refusals) change
nothing but are still in the log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from crisisdesk.domain.canonical import canonical_bytes
from crisisdesk.domain.events import Event, Kind
from crisisdesk.domain.merge import BOOTSTRAP_ACTOR, edit_base


def canonical_text(value: object) -> str:
    return canonical_bytes(value).decode("utf-8")


Handler = Callable[[sqlite3.Connection, Event], None]
_HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def apply(conn: sqlite3.Connection, event: Event) -> None:
    handler = _HANDLERS.get(event.kind)
    if handler is not None:
        handler(conn, event)


@handles(Kind.WORKSTATION_CREATED)
def _workstation_created(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute(
        "INSERT INTO workstations (id, name, created_at) VALUES (?, ?, ?)",
        (e.payload["id"], e.payload["name"], e.at),
    )


# Who may change people (domain/merge.py, People): an admin not disabled at that point of the merge order, or the
# founding workstation's bootstrap. The tables hold exactly that point's state while the events are folded in order.
_IS_ADMIN = (
    "SELECT 1 FROM user_roles r JOIN users u ON u.name = r.user_name "
    "WHERE r.user_name = ? AND r.role = 'admin' AND u.disabled_at IS NULL"
)
_FOUNDING = (
    "SELECT json_extract(body, '$.payload.workstation') FROM events WHERE kind = ? "
    "ORDER BY at, workstation_id, seq LIMIT 1"
)


def _founding(conn: sqlite3.Connection) -> str:
    """The workstation the first ``hub.founded`` names, else this log's own: the one whose creation is its first
    entry. Read from the log, which holds every entry being folded (a ``hub.founded`` arriving later makes the event
    log fold everything again)."""
    row = conn.execute(_FOUNDING, (Kind.HUB_FOUNDED,)).fetchone()
    if row is None or not row[0]:
        row = conn.execute("SELECT workstation_id FROM events ORDER BY position LIMIT 1").fetchone()
    return str(row[0]) if row else ""


def _counts(conn: sqlite3.Connection, e: Event) -> bool:
    """Does this admin event count (merge.People.step): its writer an admin then, and the person known (or new)?"""
    known = conn.execute("SELECT 1 FROM users WHERE name = ?", (e.payload["name"],)).fetchone() is not None
    if known != (e.kind != Kind.USER_ADDED):
        return False  # added twice (the first in the order stands), or a change for someone never added
    if e.kind == Kind.USER_ADDED and e.actor == BOOTSTRAP_ACTOR and e.workstation_id == _founding(conn):
        return True
    return conn.execute(_IS_ADMIN, (e.actor,)).fetchone() is not None


@handles(Kind.USER_ADDED)
def _user_added(conn: sqlite3.Connection, e: Event) -> None:
    if not _counts(conn, e):
        return
    p = e.payload
    conn.execute(
        "INSERT INTO users (name, display_name, created_at, created_by) VALUES (?, ?, ?, ?)",
        (p["name"], p["display_name"], e.at, e.actor),
    )
    for role in p["roles"]:
        conn.execute(
            "INSERT INTO user_roles (user_name, role, granted_at, granted_by) VALUES (?, ?, ?, ?)",
            (p["name"], role, e.at, e.actor),
        )


@handles(Kind.PASSWORD_SET)
def _password_set(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("UPDATE users SET password_set_at = ? WHERE name = ?", (e.at, e.payload["name"]))


@handles(Kind.ROLE_GRANTED)
def _role_granted(conn: sqlite3.Connection, e: Event) -> None:
    if not _counts(conn, e):
        return
    conn.execute(
        "INSERT OR IGNORE INTO user_roles (user_name, role, granted_at, granted_by) VALUES (?, ?, ?, ?)",
        (e.payload["name"], e.payload["role"], e.at, e.actor),
    )


@handles(Kind.ROLE_REVOKED)
def _role_revoked(conn: sqlite3.Connection, e: Event) -> None:
    if not _counts(conn, e):
        return
    conn.execute("DELETE FROM user_roles WHERE user_name = ? AND role = ?", (e.payload["name"], e.payload["role"]))


@handles(Kind.USER_DISABLED)
def _user_disabled(conn: sqlite3.Connection, e: Event) -> None:
    if not _counts(conn, e):
        return
    conn.execute("UPDATE users SET disabled_at = ? WHERE name = ?", (e.at, e.payload["name"]))


@handles(Kind.USER_ENABLED)
def _user_enabled(conn: sqlite3.Connection, e: Event) -> None:
    if not _counts(conn, e):
        return
    conn.execute("UPDATE users SET disabled_at = NULL WHERE name = ?", (e.payload["name"],))


@handles(Kind.INCIDENT_OPENED)
def _incident_opened(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT INTO incidents (id, playbook_id, playbook_version, title, mode, status, timezone, opened_at, opened_by)"
        " VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)",
        (p["incident"], p["playbook"], p["playbook_version"], p["title"], p["mode"], p["timezone"], e.at, e.actor),
    )
    for name, value in p["facts"].items():
        _set_fact(conn, p["incident"], name, value, e)


def _set_fact(conn: sqlite3.Connection, incident: str, name: str, value: str, e: Event) -> None:
    conn.execute(
        "INSERT INTO incident_facts (incident_id, name, value, set_at, set_by) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (incident_id, name) DO UPDATE SET value = excluded.value, set_at = excluded.set_at, "
        "set_by = excluded.set_by",
        (incident, name, value, e.at, e.actor),
    )


@handles(Kind.FACT_SET)
def _fact_set(conn: sqlite3.Connection, e: Event) -> None:
    _set_fact(conn, e.payload["incident"], e.payload["name"], e.payload["value"], e)


@handles(Kind.STATUS_CHANGED)
def _status_changed(conn: sqlite3.Connection, e: Event) -> None:
    status = e.payload["status"]
    conn.execute(
        "UPDATE incidents SET status = ?, closed_at = ? WHERE id = ?",
        (status, e.at if status == "closed" else None, e.payload["incident"]),
    )


@handles(Kind.STEP_DONE)
def _step_done(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO incident_steps_done (incident_id, step, done_at, done_by) VALUES (?, ?, ?, ?)",
        (e.payload["incident"], e.payload["step"], e.at, e.actor),
    )


# A message's heads (domain/merge.py): the versions no other version edited (base) or merged (a lower-numbered
# version with a merged hash).
_HEADS = """SELECT v.version FROM message_versions v WHERE v.message_id = ? AND NOT EXISTS (
    SELECT 1 FROM message_versions w WHERE w.message_id = v.message_id AND (
        (w.base_version = v.version AND w.base_hash = v.content_hash)
        OR (w.version > v.version AND EXISTS (SELECT 1 FROM json_each(w.merges) WHERE value = v.content_hash))))"""


def _version(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    message, version = p["message"], p["version"]
    base = edit_base(p)
    if base is None and e.kind == Kind.MESSAGE_EDITED:
        # Written before edits named their base: the version before it (the latest of that number, in the order).
        row = conn.execute(
            "SELECT version, content_hash FROM message_versions WHERE message_id = ? AND version = ? "
            "ORDER BY rowid DESC LIMIT 1",
            (message, version - 1),
        ).fetchone()
        base = None if row is None else (int(row[0]), str(row[1]))
    conn.execute(
        "INSERT OR IGNORE INTO message_versions (message_id, version, content_hash, content, author, created_at,"
        " workstation_id, base_version, base_hash, merges) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            message,
            version,
            p["hash"],
            p["content"],
            e.actor,
            e.at,
            e.workstation_id,
            base[0] if base else None,
            base[1] if base else None,
            canonical_text(list(p.get("merges", ()))),
        ),
    )
    heads = [int(r[0]) for r in conn.execute(_HEADS, (message,))]
    published = conn.execute("SELECT 1 FROM publications WHERE message_id = ?", (message,)).fetchone() is not None
    conn.execute(
        "UPDATE messages SET current_version = ?, state = 'draft', conflict = ? WHERE id = ?",
        (max(heads, default=version), int(len(heads) > 1 and not published), message),
    )


@handles(Kind.MESSAGE_DRAFTED)
def _message_drafted(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT INTO messages (id, incident_id, type, state, current_version, created_at, created_by)"
        " VALUES (?, ?, ?, 'draft', ?, ?, ?)",
        (p["message"], p["incident"], p["type"], p["version"], e.at, e.actor),
    )
    _version(conn, e)


@handles(Kind.MESSAGE_EDITED)
def _message_edited(conn: sqlite3.Connection, e: Event) -> None:
    _version(conn, e)


@handles(Kind.MESSAGE_SUBMITTED)
def _message_submitted(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("UPDATE messages SET state = 'submitted' WHERE id = ?", (e.payload["message"],))


@handles(Kind.MESSAGE_RETURNED)
def _message_returned(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute("UPDATE messages SET state = 'returned' WHERE id = ?", (e.payload["message"],))


@handles(Kind.MESSAGE_APPROVED)
def _message_approved(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT OR REPLACE INTO approvals (message_id, content_hash, approver, roles, at, comment)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (p["message"], p["hash"], e.actor, ",".join(p["roles"]), e.at, p.get("comment")),
    )


@handles(Kind.MESSAGE_PUBLISHED)
def _message_published(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    # Two workstations that published the same version while apart (offline) both hold their publish event: the
    # first in the merge order is the publication, and an outbox row with the same key is the same send.
    first = conn.execute(
        "INSERT OR IGNORE INTO publications (message_id, version, content_hash, at, by_name, break_glass, reason)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (p["message"], p["version"], p["hash"], e.at, e.actor, int(p["break_glass"]), p.get("reason")),
    ).rowcount
    conn.execute("UPDATE messages SET state = 'published', conflict = 0 WHERE id = ?", (p["message"],))
    for row in p.get("outbox", ()):
        conn.execute(
            "INSERT OR IGNORE INTO outbox (id, pos, message_id, version, content_hash, account_id, idem_key, mode,"
            " state, queued_at, updated_at) VALUES (?, (SELECT COALESCE(MAX(pos), 0) + 1 FROM outbox), ?, ?, ?, ?, ?,"
            " ?, 'queued', ?, ?)",
            (row["row"], p["message"], p["version"], p["hash"], row["account"], row["key"], p["mode"], e.at, e.at),
        )
    if "cap" in p and first:
        conn.execute(
            "UPDATE publications SET cap = ? WHERE message_id = ? AND version = ?",
            (p["cap"], p["message"], p["version"]),
        )


@handles(Kind.CHANNEL_ADDED)
def _channel_added(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT INTO channel_accounts (id, name, kind, exercise, settings, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            p["account"],
            _free_name(conn, "channel_accounts", p),
            p["kind"],
            int(p["exercise"]),
            canonical_text(p["settings"]),
            e.at,
            e.actor,
        ),
    )


def _free_name(conn: sqlite3.Connection, table: str, p: Mapping[str, Any]) -> str:
    """The name, or, when two workstations added one of that name while apart, the later one (in the merge
    order) with its id, so both stay usable and the second is told apart."""
    name = str(p["name"])
    sql = f"SELECT 1 FROM {table} WHERE name = ? AND removed_at IS NULL"  # noqa: S608 - fixed table names
    taken = conn.execute(sql, (name,)).fetchone()
    return name if taken is None else f"{name} ({p.get('account') or p.get('source')})"


@handles(Kind.CHANNEL_REMOVED)
def _channel_removed(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute(
        "UPDATE channel_accounts SET removed_at = ?, removed_by = ? WHERE id = ?", (e.at, e.actor, e.payload["account"])
    )


def _outbox_set(conn: sqlite3.Connection, e: Event, row: str, **columns: object) -> None:
    names = ", ".join(f"{k} = ?" for k in columns)
    conn.execute(f"UPDATE outbox SET {names}, updated_at = ? WHERE id = ?", (*columns.values(), e.at, row))  # noqa: S608


@handles(Kind.OUTBOX_CLAIMED)
def _outbox_claimed(conn: sqlite3.Connection, e: Event) -> None:
    for row in e.payload["rows"]:
        conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, first_try_at = coalesce(first_try_at, ?),"
            " updated_at = ? WHERE id = ?",
            (e.at, e.at, row),
        )


@handles(Kind.OUTBOX_SENT)
def _outbox_sent(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    _outbox_set(
        conn,
        e,
        p["row"],
        state="sent",
        remote_id=p["remote_id"],
        remote_url=p.get("url"),
        sent_at=e.at,
        reason=None,
        next_try_at=None,
    )


@handles(Kind.OUTBOX_FAILED)
def _outbox_failed(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    _outbox_set(
        conn, e, p["row"], state="dead" if p["dead"] else "failed", reason=p["reason"], next_try_at=p.get("next_try")
    )


@handles(Kind.OUTBOX_UNKNOWN)
def _outbox_unknown(conn: sqlite3.Connection, e: Event) -> None:
    for row in e.payload["rows"]:
        _outbox_set(conn, e, row, state="unknown", reason=e.payload["reason"])


@handles(Kind.OUTBOX_RELEASED)
def _outbox_released(conn: sqlite3.Connection, e: Event) -> None:
    """Claimed behind a failure and never attempted: back to queued, the claim's attempt not counted."""
    for row in e.payload["rows"]:
        conn.execute(
            "UPDATE outbox SET state = 'queued', attempts = max(attempts - 1, 0),"
            " first_try_at = CASE WHEN attempts <= 1 THEN NULL ELSE first_try_at END, updated_at = ? WHERE id = ?",
            (e.at, row),
        )


@handles(Kind.OUTBOX_RETRIED)
def _outbox_retried(conn: sqlite3.Connection, e: Event) -> None:
    _outbox_set(conn, e, e.payload["row"], state="queued", next_try_at=None, reason=None)


@handles(Kind.RETRACT_REQUESTED)
def _retract_requested(conn: sqlite3.Connection, e: Event) -> None:
    for row in e.payload["rows"]:
        _outbox_set(conn, e, row, retract_state="requested", retract_reason=e.payload.get("reason"))


@handles(Kind.RETRACT_DONE)
def _retracted(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    _outbox_set(conn, e, p["row"], retract_state=p["outcome"], retract_reason=p.get("reason"))


@handles(Kind.FEED_ADDED)
def _feed_added(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT INTO feed_sources (id, name, kind, url, interval, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (p["source"], _free_name(conn, "feed_sources", p), p["kind"], p["url"], p["interval"], e.at, e.actor),
    )


@handles(Kind.FEED_REMOVED)
def _feed_removed(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute(
        "UPDATE feed_sources SET removed_at = ?, removed_by = ? WHERE id = ?", (e.at, e.actor, e.payload["source"])
    )


@handles(Kind.RULES_SET)
def _rules_set(conn: sqlite3.Connection, e: Event) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO monitoring_rules (id, rules, origin, set_by, set_at) VALUES (1, ?, ?, ?, ?)",
        (canonical_text(e.payload["rules"]), e.payload["origin"], e.actor, e.at),
    )


@handles(Kind.ALERT_RAISED)
def _alert_raised(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT OR IGNORE INTO feed_alerts (id, fingerprint, incident_id, rules, reasons, title, url, source,"
        " raised_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'new')",
        (
            p["alert"],
            p["item"],
            p.get("incident"),
            canonical_text(p["rules"]),
            canonical_text(p["reasons"]),
            p["title"],
            p.get("url"),
            p["source"],
            e.at,
        ),
    )


@handles(Kind.ALERT_HANDLED)
def _alert_handled(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "UPDATE feed_alerts SET status = ?, opened_incident = ?, handled_by = ?, handled_at = ? WHERE id = ?",
        (p["status"], p.get("incident"), e.actor, e.at, p["alert"]),
    )


@handles(Kind.TRIAGE_SET)
def _triage_set(conn: sqlite3.Connection, e: Event) -> None:
    p = e.payload
    conn.execute(
        "INSERT OR REPLACE INTO triage_decisions"
        " (fingerprint, status, priority, template, note, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (p["item"], p["status"], p.get("priority"), p.get("template"), p.get("note"), e.actor, e.at),
    )

"""Permission checks in the services: roles re-read from the event log at every action; a refusal says why and
is itself recorded."""

from __future__ import annotations

from typing import NoReturn

from crisisdesk.domain.errors import PermissionDenied
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Permission, Role
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger


def current_actor(db: Database, name: str) -> Actor:
    """``name`` with the roles the admin events give them now: a revocation takes effect in open sessions at once,
    and a role row inserted into the table without its event grants nothing. A disabled person holds no role (the
    ledger says so), so a session left open when they were disabled can do nothing more."""
    known = {r.value for r in Role}
    return Actor(name=name, roles=frozenset(Role(r) for r in Ledger(db.conn).roles(name) if r in known))


def require(
    db: Database, log: EventLog, actor: Actor, permissions: Permission | tuple[Permission, ...], action: str
) -> Actor:
    """Pass if the actor holds any of ``permissions`` now; otherwise record the refusal and raise.

    The ``actor`` passed in says who; what they may do is read again from the log. Returns the actor as they are now.
    """
    wanted = permissions if isinstance(permissions, tuple) else (permissions,)
    now = current_actor(db, actor.name)
    if any(now.may(p) for p in wanted):
        return now
    reason = now.refusal(wanted[0]) or ""
    if len(wanted) > 1:
        reason = f"{actor.name} may not {action}: that needs one of: " + "; ".join(p.value for p in wanted)
    refuse(db, log, now, action, rule=wanted[0].value, reason=reason)


def refuse(db: Database, log: EventLog, actor: Actor, action: str, *, rule: str, reason: str) -> NoReturn:
    """Record a refusal (who tried what, under which rule, and why) and raise it."""
    with db.write() as conn:
        log.record(conn, actor.name, Kind.ACCESS_DENIED, {"action": action, "permission": rule, "reason": reason})
    raise PermissionDenied(reason)

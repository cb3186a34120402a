"""Permission checks in the services: a refusal says why and is itself recorded."""

from __future__ import annotations

from typing import NoReturn

from crisisdesk.domain.errors import PermissionDenied
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog


def require(
    db: Database, log: EventLog, actor: Actor, permissions: Permission | tuple[Permission, ...], action: str
) -> None:
    """Pass if the actor holds any of ``permissions``; otherwise record the refusal and raise."""
    wanted = permissions if isinstance(permissions, tuple) else (permissions,)
    if any(actor.may(p) for p in wanted):
        return
    reason = actor.refusal(wanted[0]) or ""
    if len(wanted) > 1:
        reason = f"{actor.name} may not {action}: that needs one of: " + "; ".join(p.value for p in wanted)
    refuse(db, log, actor, action, rule=wanted[0].value, reason=reason)


def refuse(db: Database, log: EventLog, actor: Actor, action: str, *, rule: str, reason: str) -> NoReturn:
    """Record a refusal (who tried what, under which rule, and why) and raise it."""
    with db.write() as conn:
        log.record(conn, actor.name, Kind.ACCESS_DENIED, {"action": action, "permission": rule, "reason": reason})
    raise PermissionDenied(reason)

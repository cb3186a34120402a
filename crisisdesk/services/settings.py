"""This workstation's settings that are shared decisions, kept as events: the agency it speaks for and the CAP
sender and identifier prefix of its alerts."""

from __future__ import annotations

from crisisdesk.domain.agency import Agency, check_agency_name, check_cap_prefix, check_cap_sender
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.guard import require
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger


class SettingsService:
    def __init__(self, db: Database, log: EventLog) -> None:
        self.db = db
        self.log = log

    def agency(self) -> Agency:
        """The agency as the log says now (every field empty until it is set)."""
        return Agency.from_payload(Ledger(self.db.conn).agency())

    def set_agency(
        self,
        actor: Actor,
        *,
        name: str | None = None,
        cap_sender: str | None = None,
        cap_prefix: str | None = None,
        setting_up: bool = False,
    ) -> Agency:
        """Change what is given and keep the rest. An admin's decision: the CAP sender is who every alert says it
        is from. ``setting_up``: recorded by ``init`` for the first admin, before anyone can sign in."""
        if not setting_up:
            require(self.db, self.log, actor, Permission.MANAGE_CHANNELS, "change the agency settings")
        now = self.agency()
        changed = Agency(
            name=check_agency_name(name) if name is not None else now.name,
            cap_sender=check_cap_sender(cap_sender) if cap_sender is not None else now.cap_sender,
            cap_prefix=check_cap_prefix(cap_prefix) if cap_prefix is not None else now.cap_prefix,
        )
        if changed == now:
            return now
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.AGENCY_SET, changed.as_dict())
        return changed

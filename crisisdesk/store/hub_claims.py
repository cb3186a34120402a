"""Claims at the team hub: one row per (message, version hash, account), the first workstation to claim it sends it.

The claim is one statement: INSERT ... ON CONFLICT DO NOTHING RETURNING, and when nothing came back (another
workstation holds it) the holder is read. Two workstations claiming at once cannot both win: the primary key
decides, inside PostgreSQL. Every call has a short connect and statement timeout, because the outbox worker asks
just before a send and must fall back to its offline rule quickly when the hub is away. Connecting is the hub
module's (``Hub.connect``: the address from the local settings, the password from the keyring).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from crisisdesk.store.hub import Hub, HubAddress, HubUnreachable

T = TypeVar("T")

# The worker is waiting to send, and a publish is waiting for a person's answer: a hub slower than this is away.
CONNECT_TIMEOUT = 3  # seconds
STATEMENT_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True)
class HeldClaim:
    """Who holds a (message, hash, account) at the hub."""

    message_id: str
    content_hash: str
    account_id: str
    workstation_id: str
    outbox_row: str
    offline: bool
    claimed_at: str


_CLAIM = (
    "INSERT INTO hub_claims (message_id, content_hash, account_id, workstation_id, outbox_row, offline) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (message_id, content_hash, account_id) DO NOTHING "
    "RETURNING message_id, content_hash, account_id, workstation_id, outbox_row, offline, claimed_at"
)
_HOLDER = (
    "SELECT message_id, content_hash, account_id, workstation_id, outbox_row, offline, claimed_at FROM hub_claims "
    "WHERE message_id = %s AND content_hash = %s AND account_id = %s"
)


class HubClaims:
    """The claims table of one hub, over one connection kept between calls (opening one costs ~20 ms with the
    password's SCRAM exchange; a claim on an open one about a millisecond). A connection gone stale (the hub was
    restarted) is replaced once, at once; a second failure is the hub away. Calls are serialised."""

    def __init__(self, address: HubAddress, password: str | None, *, timeout: int = CONNECT_TIMEOUT) -> None:
        self.address = address
        self.password = password
        self.timeout = timeout
        self._hub: Hub | None = None
        self._lock = threading.Lock()

    def claim(
        self,
        message_id: str,
        content_hash: str,
        account_id: str,
        workstation_id: str,
        outbox_row: str,
        *,
        offline: bool = False,
    ) -> HeldClaim:
        """Claim the version on the account for ``workstation_id``; returns whoever holds it now (first claim
        wins; claiming again what one already holds returns one's own claim). ``HubUnreachable`` when the hub
        does not answer in time, ``HubNotReady`` when it has no crisisdesk schema."""
        params = (message_id, content_hash, account_id, workstation_id, outbox_row, offline)

        def claim(hub: Hub) -> tuple[Any, ...] | None:
            found = hub.conn.execute(_CLAIM, params).fetchone()
            return found if found is not None else hub.conn.execute(_HOLDER, params[:3]).fetchone()

        row = self._run(claim)
        if row is None:  # claims are never deleted, so a conflict always leaves a holder to read
            raise HubUnreachable(f"the hub {self.address} refused the claim of {outbox_row} but names no holder")
        return _held(row)

    def holder(self, message_id: str, content_hash: str, account_id: str) -> HeldClaim | None:
        row = self._run(lambda hub: hub.conn.execute(_HOLDER, (message_id, content_hash, account_id)).fetchone())
        return None if row is None else _held(row)

    def reachable(self) -> bool:
        """Whether the hub answers now: a new connection and one round trip, within the short timeout (a probe,
        so nothing is left open)."""
        try:
            with self._connect() as hub, hub.errors():
                hub.conn.execute("SELECT 1").fetchone()
        except HubUnreachable:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _run(self, work: Callable[[Hub], T]) -> T:
        with self._lock:
            while True:
                fresh = self._hub is None
                hub = self._hub or self._connect()
                self._hub = hub
                try:
                    with hub.errors():
                        return work(hub)
                except HubUnreachable:
                    self._drop()
                    if fresh:
                        raise
                    # kept from an earlier call: it may only have gone stale; one new connection decides

    def _drop(self) -> None:
        if self._hub is not None:
            try:
                self._hub.close()
            finally:
                self._hub = None

    def _connect(self) -> Hub:
        hub = Hub.connect(self.address, self.password, timeout=self.timeout)
        try:
            with hub.errors():
                hub.conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        except BaseException:
            hub.close()
            raise
        return hub


def _held(row: tuple[Any, ...]) -> HeldClaim:
    message_id, content_hash, account_id, workstation_id, outbox_row, offline, claimed_at = row
    return HeldClaim(
        str(message_id),
        str(content_hash),
        str(account_id),
        str(workstation_id),
        str(outbox_row),
        bool(offline),
        claimed_at.isoformat() if hasattr(claimed_at, "isoformat") else str(claimed_at),
    )

"""Claims at the team hub: one row per (message, version hash, account), the first workstation to claim it sends it.

The claim is one statement: INSERT ... ON CONFLICT DO NOTHING RETURNING, and when nothing came back (another
workstation holds it) the holder is read. Two workstations claiming at once cannot both win: the primary key
decides, inside PostgreSQL. Every call has a short connect and statement timeout, because the outbox worker asks
just before a send and must fall back to its offline rule quickly when the hub is away.

Connecting belongs to the hub's own module (``crisisdesk.store.hub``, which reads the URL from the local settings
and the password from the keyring); ``connect`` here takes a plain conninfo string until the two are wired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from crisisdesk.domain.errors import ExternalError

# Seconds: the worker is waiting to send, and the publish is waiting for a person's answer.
CONNECT_TIMEOUT = 3
STATEMENT_TIMEOUT_MS = 3000


class HubUnreachable(ExternalError):
    """The hub could not be reached or did not answer in time: the caller falls back to its offline rule."""


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


def connect(conninfo: str, *, timeout: int = CONNECT_TIMEOUT) -> psycopg.Connection[Any]:
    """A connection to the hub with short timeouts, or ``HubUnreachable`` naming why (never the password)."""
    try:
        return psycopg.connect(
            conninfo,
            connect_timeout=max(1, timeout),
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={STATEMENT_TIMEOUT_MS}",
            autocommit=True,
        )
    except psycopg.Error as exc:
        raise HubUnreachable(f"the hub cannot be reached: {_first_line(exc)}") from None


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
    """The claims table of one hub. Each call opens its own short connection: calls come from the outbox's
    sender threads, a few per second at most, and a connection kept open would go stale while the hub is away."""

    def __init__(self, conninfo: str, *, timeout: int = CONNECT_TIMEOUT) -> None:
        self.conninfo = conninfo
        self.timeout = timeout

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
        wins; claiming again what one already holds returns one's own claim)."""
        params = (message_id, content_hash, account_id, workstation_id, outbox_row, offline)
        with self._connection() as conn:
            try:
                row = conn.execute(_CLAIM, params).fetchone()
                if row is None:
                    row = conn.execute(_HOLDER, params[:3]).fetchone()
            except psycopg.Error as exc:
                raise HubUnreachable(f"the hub did not take the claim: {_first_line(exc)}") from None
        if row is None:  # a claim is never deleted, so a conflict always leaves a holder to read
            raise HubUnreachable("the hub refused the claim but names no holder; check its hub_claims table")
        return _held(row)

    def holder(self, message_id: str, content_hash: str, account_id: str) -> HeldClaim | None:
        with self._connection() as conn:
            try:
                row = conn.execute(_HOLDER, (message_id, content_hash, account_id)).fetchone()
            except psycopg.Error as exc:
                raise HubUnreachable(f"the hub did not answer: {_first_line(exc)}") from None
        return None if row is None else _held(row)

    def reachable(self) -> bool:
        """Whether the hub answers now (a connect and one round trip, within the short timeout)."""
        try:
            with self._connection() as conn:
                conn.execute("SELECT 1").fetchone()
        except (HubUnreachable, psycopg.Error):
            return False
        return True

    def _connection(self) -> psycopg.Connection[Any]:
        return connect(self.conninfo, timeout=self.timeout)


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def conninfo_with_password(url: str, password: str | None) -> str:
    """The hub URL (kept without its password) with the keyring's password added, for ``connect``."""
    if not password:
        return url
    return psycopg.conninfo.make_conninfo(url, password=password)


def password_key(url: str) -> str:
    """Where the keyring keeps the hub's password: ``hub-password:<host>:<port>:<db>:<user>`` (plan decision 2)."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise HubUnreachable(f"the hub URL is not a PostgreSQL address: {_first_line(exc)}") from None
    return "hub-password:{}:{}:{}:{}".format(
        parts.get("host") or "localhost", parts.get("port") or 5432, parts.get("dbname") or "", parts.get("user") or ""
    )

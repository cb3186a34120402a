"""The team hub: a PostgreSQL database every workstation pushes its entries to and pulls the others' from.

Only SQL and the connection live here (psycopg 3); what to push, how received entries are checked and applied,
and when to sync is the sync service's (services/sync.py). The schema is in hub_schema.py. The password never
passes through here as part of a URL: the caller gives the address (without it) and the password apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from crisisdesk.domain.errors import ExternalError, UserError
from crisisdesk.store.hub_schema import HUB_CHANNEL, HUB_DDL, HUB_PUSH_LOCK, HUB_SCHEMA_VERSION

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT = 5  # seconds: a hub that does not answer in this time is "not reachable", not a hang
DEFAULT_PORT = 5432
SCHEMES = ("postgresql", "postgres")
# Query options a hub URL may carry (TLS and the like); never the password, which goes to the keyring.
ALLOWED_OPTIONS = frozenset(
    {"sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "target_session_attrs", "application_name", "options"}
)


class HubUnreachable(ExternalError):
    """The hub could not be reached or refused the connection (down, wrong password, no such database)."""


class HubNotReady(UserError):
    """The hub answers but is not a crisisdesk hub this version can use (no schema, or a newer one)."""


@dataclass(frozen=True, slots=True)
class HubAddress:
    """Where the hub is, without its password: what ``local_settings.hub_url`` keeps and what is shown."""

    host: str
    port: int
    database: str
    user: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        query = f"?{urlencode(self.options)}" if self.options else ""
        return f"postgresql://{quote(self.user, safe='')}@{self._netloc()}/{quote(self.database, safe='')}{query}"

    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def secret_key(self) -> str:
        """The keyring user under which this hub's password is kept (``hub-password:`` is added by the store)."""
        return f"{self.host}:{self.port}:{self.database}:{self.user}"

    def __str__(self) -> str:
        return self.url


def parse_hub_url(url: str) -> tuple[HubAddress, str | None]:
    """A hub URL as a person types it (``postgresql://user:password@host:port/database``): its address and the
    password it holds (None when it holds none). A URL that cannot be a hub is a one-line UserError."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UserError(f"the hub URL is not valid ({exc}); write postgresql://USER@HOST:PORT/DATABASE") from None
    if parts.scheme not in SCHEMES:
        raise UserError(
            "the hub URL must start with postgresql:// (for example postgresql://crisisdesk@hub.example.org/eoc)"
        )
    if not parts.hostname:
        raise UserError("the hub URL names no host: write postgresql://USER@HOST:PORT/DATABASE")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise UserError("the hub URL names no database: write postgresql://USER@HOST:PORT/DATABASE")
    if not parts.username:
        raise UserError("the hub URL names no user: write postgresql://USER@HOST:PORT/DATABASE")
    options = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password":
            raise UserError("give the hub's password in the URL's user part (USER:PASSWORD@HOST), not as ?password=")
        if key not in ALLOWED_OPTIONS:
            raise UserError(
                f"the hub URL's option {key!r} is not one crisisdesk passes on ({', '.join(sorted(ALLOWED_OPTIONS))})"
            )
        options.append((key, value))
    address = HubAddress(
        host=parts.hostname,
        port=port or DEFAULT_PORT,
        database=database,
        user=unquote(parts.username),
        options=tuple(options),
    )
    password = unquote(parts.password) if parts.password is not None else None
    return address, password


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    # libpq says "connection failed: connection to server at ..., port N failed: FATAL:  password ..."
    return " ".join(text.split())[:300]


@dataclass(frozen=True, slots=True)
class HubEntry:
    """One entry as the hub holds it."""

    hub_seq: int
    workstation_id: str
    seq: int
    hash: str
    body: bytes
    signature: str | None


@dataclass(frozen=True, slots=True)
class HubEquivocation:
    """A second, different entry offered for a workstation's seq: kept apart as evidence, never merged."""

    id: int
    workstation_id: str
    seq: int
    held_hash: str
    offered_hash: str
    reported_by: str
    at: str
    offered_body: bytes
    offered_signature: str | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One local entry to push."""

    workstation_id: str
    seq: int
    hash: str
    body: bytes
    signature: str | None


def _heads(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, str]]:
    # A loose index scan on (workstation_id, seq): one index descent per workstation, however many entries the
    # hub holds (DISTINCT ON would read them all, at every push).
    rows = conn.execute(
        """WITH RECURSIVE w (ws) AS (
               SELECT min(workstation_id) FROM hub_events
               UNION ALL
               SELECT (SELECT min(workstation_id) FROM hub_events WHERE workstation_id > w.ws) FROM w
               WHERE w.ws IS NOT NULL)
           SELECT w.ws, e.seq, e.hash FROM w CROSS JOIN LATERAL (
               SELECT seq, hash FROM hub_events WHERE workstation_id = w.ws ORDER BY seq DESC LIMIT 1) e"""
    ).fetchall()
    return {str(ws): (int(seq), str(h)) for ws, seq, h in rows}


class Hub:
    """One connection to the hub. Not thread-safe: one per thread (the listener has its own)."""

    def __init__(self, conn: psycopg.Connection[Any], address: HubAddress) -> None:
        self.conn = conn
        self.address = address

    @classmethod
    def connect(cls, address: HubAddress, password: str | None, *, timeout: int = CONNECT_TIMEOUT) -> Hub:
        import psycopg

        params: dict[str, Any] = dict(address.options)
        params.setdefault("application_name", "crisisdesk")
        try:
            conn = psycopg.connect(
                host=address.host,
                port=address.port,
                dbname=address.database,
                user=address.user,
                password=password,
                connect_timeout=timeout,
                autocommit=True,
                **params,
            )
        except psycopg.Error as exc:
            raise HubUnreachable(f"the hub {address} is not reachable: {_one_line(exc)}") from None
        except UnicodeError:
            # The host name lookup (idna) refuses a name no DNS can hold, e.g. a label over 63 characters.
            raise UserError(
                "the hub URL's host is not a host name that can be looked up (each part between dots has at most 63 "
                "characters): write postgresql://USER@HOST:PORT/DATABASE"
            ) from None
        return cls(conn, address)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """psycopg's errors as crisisdesk's: a lost connection is HubUnreachable, one line."""
        import psycopg

        try:
            yield
        except psycopg.OperationalError as exc:
            raise HubUnreachable(f"the hub {self.address} is not reachable: {_one_line(exc)}") from None
        except psycopg.errors.UndefinedTable:
            raise HubNotReady(
                f"the hub {self.address} has no crisisdesk tables: run 'crisisdesk hub init URL' on the founding "
                "workstation first"
            ) from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise HubUnreachable(f"the hub {self.address} refused: {_one_line(exc)}") from None
        except psycopg.Error as exc:
            raise HubUnreachable(f"the hub {self.address} failed: {_one_line(exc)}") from None

    # -- schema ------------------------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """hub_meta as a dict; empty when the hub has no crisisdesk schema yet."""
        import psycopg

        with self.errors():
            if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                # Inside a transaction a failed statement would end it: look the table up first.
                found = self.conn.execute("SELECT to_regclass('hub_meta') IS NOT NULL").fetchone()
                if not found or not found[0]:
                    return {}
            try:
                rows = self.conn.execute("SELECT key, value FROM hub_meta").fetchall()
            except psycopg.errors.UndefinedTable:
                return {}
        return {str(k): str(v) for k, v in rows}

    def check_schema(self) -> dict[str, str]:
        """The hub's meta, after checking this crisisdesk can use it (HubNotReady with what to do, else)."""
        meta = self.meta()
        version = meta.get("schema_version")
        if version is None:
            raise HubNotReady(
                f"the hub {self.address} is not set up: run 'crisisdesk hub init URL --as ADMIN' on the founding "
                "workstation first"
            )
        if int(version) > HUB_SCHEMA_VERSION:
            raise HubNotReady(
                f"the hub {self.address} was set up by a newer crisisdesk (hub schema {version}; this one knows "
                f"{HUB_SCHEMA_VERSION}): update crisisdesk on this workstation"
            )
        return meta

    def init_schema(self, founding_workstation: str) -> tuple[str, bool]:
        """Create the schema (idempotent) and name the founding workstation. Returns (hub id, whether this call
        founded the hub). A hub founded by another workstation is refused: that workstation's team is joined."""
        with self.errors(), self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (HUB_PUSH_LOCK,))
            meta = self.meta()
            version = meta.get("schema_version")
            if version is not None and int(version) > HUB_SCHEMA_VERSION:
                raise HubNotReady(
                    f"the hub {self.address} was set up by a newer crisisdesk (hub schema {version}; this one "
                    f"knows {HUB_SCHEMA_VERSION}): update crisisdesk on this workstation"
                )
            founder = meta.get("founded_by")
            if founder is not None and founder != founding_workstation:
                raise HubNotReady(
                    f"the hub {self.address} already holds the team founded by workstation {founder}: join it with "
                    "'crisisdesk hub join URL --workstation NAME' on a new database"
                )
            for statement in HUB_DDL:
                self.conn.execute(statement.encode())
            hub_id = meta.get("hub_id") or str(uuid.uuid4())
            for key, value in (
                ("schema_version", str(HUB_SCHEMA_VERSION)),
                ("hub_id", hub_id),
                ("founded_by", founding_workstation),
            ):
                self.conn.execute(
                    "INSERT INTO hub_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
                    "EXCLUDED.value",
                    (key, value),
                )
            return hub_id, founder is None

    # -- push and pull -----------------------------------------------------------------------------------------

    def push_rows(self, rows: Sequence[Outgoing], pushed_by: str) -> set[tuple[str, int]]:
        """Insert ``rows`` (whole stretches of chains, each in seq order) in one transaction holding the push lock,
        so hub_seq values commit in their order and a puller reading "hub_seq > cursor" never steps over a row
        that commits later with a smaller hub_seq. A stretch goes in only if its chain still ends at the hub
        where the stretch begins (checked against the hub as the statement starts); the (workstation, seq)
        inserted are returned, and a stretch left out is the caller's to plan again.

        Everything is sent in one round trip (pipeline): the lock is held only while the hub itself works, never
        while this process waits for the CPU, which on a busy workstation would hold up the whole team."""
        if not rows:
            return set()
        base: dict[str, int] = {}
        bases = []
        for row in rows:
            base.setdefault(row.workstation_id, row.seq - 1)
            bases.append(base[row.workstation_id])
        with self.errors(), self.conn.pipeline():
            with self.conn.transaction():
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (HUB_PUSH_LOCK,))
                cur = self.conn.execute(
                    "INSERT INTO hub_events (workstation_id, seq, hash, body, signature, pushed_by) "
                    "SELECT t.w, t.s, t.h, t.b, t.g, %s FROM unnest(%s::text[], %s::bigint[], %s::text[], "
                    "%s::bytea[], %s::text[], %s::bigint[]) AS t(w, s, h, b, g, base) "
                    "WHERE coalesce((SELECT max(e.seq) FROM hub_events e WHERE e.workstation_id = t.w), 0) = t.base "
                    "ORDER BY t.w, t.s ON CONFLICT (workstation_id, seq) DO NOTHING RETURNING workstation_id, seq",
                    (
                        pushed_by,
                        [r.workstation_id for r in rows],
                        [r.seq for r in rows],
                        [r.hash for r in rows],
                        [r.body for r in rows],
                        [r.signature for r in rows],
                        bases,
                    ),
                )
            inserted = cur.fetchall()
        return {(str(w), int(q)) for w, q in inserted}

    def hashes(self, workstation_id: str, up_to: int) -> dict[int, str]:
        """The hashes the hub holds for a workstation's seqs 1..up_to (to find where a fork begins)."""
        with self.errors():
            rows = self.conn.execute(
                "SELECT seq, hash FROM hub_events WHERE workstation_id = %s AND seq <= %s", (workstation_id, up_to)
            ).fetchall()
        return {int(seq): str(h) for seq, h in rows}

    def record_equivocation(self, entry: Outgoing, held_hash: str, reported_by: str) -> bool:
        """Record that ``entry`` was offered where the hub holds ``held_hash`` (kept apart, never in hub_events);
        False if this very offer was recorded before."""
        with self.errors():
            row = self.conn.execute(
                "INSERT INTO hub_equivocations (workstation_id, seq, held_hash, offered_hash, offered_body, "
                "offered_signature, reported_by) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (workstation_id, seq, offered_hash) DO NOTHING RETURNING id",
                (entry.workstation_id, entry.seq, held_hash, entry.hash, entry.body, entry.signature, reported_by),
            ).fetchone()
        return row is not None

    def heads(self) -> dict[str, tuple[int, str]]:
        """(last seq, hash) the hub holds of each workstation's chain: the authority for truncation checks."""
        with self.errors():
            return _heads(self.conn)

    def entry(self, workstation_id: str, seq: int) -> HubEntry | None:
        """The row the hub holds at a workstation's seq, whole (to prove it is signed by that workstation)."""
        with self.errors(), self.conn.cursor(binary=True) as cur:
            row = cur.execute(
                "SELECT hub_seq, workstation_id, seq, hash, body, signature FROM hub_events "
                "WHERE workstation_id = %s AND seq = %s",
                (workstation_id, seq),
            ).fetchone()
        if row is None:
            return None
        q, w, s, h, b, g = row
        return HubEntry(int(q), str(w), int(s), str(h), bytes(b), g)

    def top(self) -> int:
        """The highest hub_seq the hub holds (0 when empty): below a workstation's cursor, the hub went back."""
        with self.errors():
            row = self.conn.execute("SELECT coalesce(max(hub_seq), 0) FROM hub_events").fetchone()
        return int(row[0]) if row else 0

    def entry_hash(self, workstation_id: str, seq: int) -> str | None:
        with self.errors():
            row = self.conn.execute(
                "SELECT hash FROM hub_events WHERE workstation_id = %s AND seq = %s", (workstation_id, seq)
            ).fetchone()
        return None if row is None else str(row[0])

    def pull(self, after: int, limit: int) -> list[HubEntry]:
        """Entries with hub_seq > ``after``, in hub order, at most ``limit``."""
        with self.errors(), self.conn.cursor(binary=True) as cur:  # bodies as bytes, not hex text
            rows = cur.execute(
                "SELECT hub_seq, workstation_id, seq, hash, body, signature FROM hub_events WHERE hub_seq > %s "
                "ORDER BY hub_seq LIMIT %s",
                (after, limit),
            ).fetchall()
        return [HubEntry(int(q), str(w), int(s), str(h), bytes(b), g) for q, w, s, h, b, g in rows]

    def waiting_after(self, after: int) -> int:
        """How many entries the hub holds beyond hub_seq ``after``."""
        with self.errors():
            row = self.conn.execute("SELECT count(*) FROM hub_events WHERE hub_seq > %s", (after,)).fetchone()
        return int(row[0]) if row else 0

    def equivocations(self, after: int = 0) -> list[HubEquivocation]:
        with self.errors():
            rows = self.conn.execute(
                "SELECT id, workstation_id, seq, held_hash, offered_hash, reported_by, at, offered_body, "
                "offered_signature FROM hub_equivocations WHERE id > %s ORDER BY id",
                (after,),
            ).fetchall()
        return [
            HubEquivocation(int(i), str(w), int(s), str(h), str(o), str(r), a.isoformat(), bytes(b), g)
            for i, w, s, h, o, r, a, b, g in rows
        ]


class Listener:
    """LISTEN on the hub's channel on a connection of its own: ``wait`` returns when the hub has news."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        with hub.errors():
            hub.conn.execute(f"LISTEN {HUB_CHANNEL}")

    def wait(self, timeout: float) -> list[str]:
        """The notifications' payloads ('events', 'alarm') that arrived within ``timeout`` seconds (empty when
        none did). Returns at the first one; those already queued come together."""
        import select

        # Waiting on the socket ourselves: psycopg's own timed wait polls in a tight loop (0.6 ms of CPU for each
        # 100 ms waited), which a workstation running sync all day should not pay.
        with self.hub.errors():
            readable, _, _ = select.select([self.hub.conn.fileno()], [], [], timeout)
            if not readable:
                return []
            got = [n.payload for n in self.hub.conn.notifies(timeout=0)]
            if not got:
                # Readable with nothing to read: the hub may have closed the connection (psycopg says so only
                # when asked for something): a lost connection raises HubUnreachable here.
                self.hub.conn.execute("SELECT 1")
            return got

    def close(self) -> None:
        self.hub.close()

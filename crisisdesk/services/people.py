"""Setting up a workstation, signing in, and managing people and their roles."""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.errors import AuthenticationFailed, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.plain_text import control_character
from crisisdesk.domain.roles import Actor, Permission, Role, check_password, check_user_name
from crisisdesk.services.guard import current_actor, require
from crisisdesk.services.passwords import PasswordHasher
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import WORKSTATION_KEY, EventLog
from crisisdesk.store.ledger import Ledger

SYSTEM = "system"
MAX_WORKSTATION_NAME = 100
IDLE_LOCK_KEY = "idle_lock_minutes"
IDLE_LOCK_DEFAULT_MINUTES = 15
IDLE_LOCK_MAX_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    display_name: str
    roles: tuple[str, ...]
    created_at: str
    created_by: str
    disabled_at: str | None = None  # when they were disabled (None: they may sign in)

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "roles": list(self.roles),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "disabled": self.disabled,
            "disabled_at": self.disabled_at,
        }


class PeopleService:
    def __init__(self, db: Database, log: EventLog, hasher: PasswordHasher, clock: Clock) -> None:
        self.db = db
        self.log = log
        self.hasher = hasher
        self.clock = clock

    # -- setting up -------------------------------------------------------------------------------

    def is_initialised(self) -> bool:
        return self.log.workstation_id() is not None

    def require_initialised(self) -> None:
        if not self.is_initialised():
            raise UserError(
                f"the database {self.db.path} is not set up yet: run 'crisisdesk init --admin NAME --password-stdin'"
            )

    def initialise(
        self,
        admin: str,
        password: str,
        *,
        workstation_name: str | None = None,
        on_identity: Callable[[sqlite3.Connection, str], None] | None = None,
    ) -> str:
        """Create this workstation's identity and its first admin. Returns the workstation id.

        ``on_identity(conn, workstation id)`` runs in the same write right after the workstation's first entry
        (the App declares the signing key there: every entry after it is signed)."""
        check_user_name(admin)
        check_password(password)
        password_hash = self.hasher.hash(password)
        ws_id = str(uuid.uuid4())
        name = workstation_name or socket.gethostname() or "workstation"
        control = control_character(name)
        if control or len(name) > MAX_WORKSTATION_NAME:
            why = f"holds a control character ({control})" if control else f"is over {MAX_WORKSTATION_NAME} characters"
            raise UserError(f"the workstation name {name!r} {why}: give a short name on one line, such as 'EOC desk 1'")
        with self.db.write() as conn:
            # Checked inside the write transaction so two first runs cannot both succeed.
            if conn.execute("SELECT 1 FROM local_settings WHERE key = ?", (WORKSTATION_KEY,)).fetchone():
                raise UserError(f"{self.db.path} is already set up; use 'crisisdesk users add' to add people")
            conn.execute("INSERT INTO local_settings (key, value) VALUES (?, ?)", (WORKSTATION_KEY, ws_id))
            self.log.record(conn, SYSTEM, Kind.WORKSTATION_CREATED, {"id": ws_id, "name": name})
            if on_identity is not None:
                on_identity(conn, ws_id)
            self.log.record(
                conn,
                SYSTEM,
                Kind.USER_ADDED,
                {"name": admin, "display_name": admin, "roles": [Role.ADMIN.value], "via": "init"},
            )
            self._set_password(conn, admin, password_hash, actor=SYSTEM)
        return ws_id

    def workstation_name(self) -> str:
        """The name this workstation was set up with (shown in the console's header and title)."""
        ws_id = self.log.workstation_id()
        rows = self.db.select("workstations", "id = ?", [ws_id]) if ws_id else []
        return str(rows[0]["name"]) if rows else "workstation"

    def idle_lock_minutes(self) -> int:
        """After how many idle minutes the console locks (this workstation's setting, 15 unless set;
        0 never locks)."""
        raw = self.db.get_setting(IDLE_LOCK_KEY)
        try:
            minutes = int(raw) if raw is not None else IDLE_LOCK_DEFAULT_MINUTES
        except ValueError:
            return IDLE_LOCK_DEFAULT_MINUTES  # an unreadable setting locks at the default, never not at all
        return max(minutes, 0)

    def set_idle_lock_minutes(self, actor: Actor, minutes: int) -> int:
        """Set after how many idle minutes this workstation's console locks (0: never). Admins only; an event."""
        self._require(actor, Permission.MANAGE_PEOPLE, "set the idle lock")
        if not 0 <= minutes <= IDLE_LOCK_MAX_MINUTES:
            raise UserError(
                f"the idle lock must be 0 (never) to {IDLE_LOCK_MAX_MINUTES} minutes; {minutes} is out of that range"
            )
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO local_settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (IDLE_LOCK_KEY, str(minutes)),
            )
            self.log.record(
                conn, actor.name, Kind.IDLE_LOCK_SET, {"workstation": self.log.workstation_id(), "minutes": minutes}
            )
        return minutes

    # -- signing in -------------------------------------------------------------------------------

    def authenticate(self, name: str, password: str, *, via: str = "cli") -> Actor:
        """Check a password. A failure is recorded and raises ``AuthenticationFailed``."""
        self.require_initialised()
        row = self.db.conn.execute(
            "SELECT u.name, c.password_hash FROM users u LEFT JOIN local_credentials c ON c.user_name = u.name "
            "WHERE u.name = ?",
            (name,),
        ).fetchone()
        if row is None or row[1] is None or not self.hasher.verify(row[1], password):
            # Whoever typed the name is unknown: the system records it, naming the account tried.
            with self.db.write() as conn:
                self.log.record(conn, SYSTEM, Kind.LOGIN_FAILED, {"name": name, "via": via})
            raise AuthenticationFailed(f"unknown user or wrong password for {name!r}")
        canonical_name, stored = row
        # Decided from the log now (the table is for listing): a disabled person's right password opens nothing.
        # Said only after the password matched, so a guess does not learn who is disabled.
        if Ledger(self.db.conn).is_disabled(canonical_name):
            with self.db.write() as conn:
                failed = {"name": canonical_name, "via": via, "why": "disabled"}
                self.log.record(conn, SYSTEM, Kind.LOGIN_FAILED, failed)
            raise AuthenticationFailed(
                f"{canonical_name} is disabled and cannot sign in; an admin can enable them again "
                "(Settings > People, or 'crisisdesk users enable')"
            )
        if self.hasher.needs_rehash(stored):
            with self.db.write() as conn:
                conn.execute(
                    "UPDATE local_credentials SET password_hash = ?, updated_at = ? WHERE user_name = ?",
                    (self.hasher.hash(password), utc_iso(self.clock.now()), canonical_name),
                )
        return self.actor(canonical_name)

    def actor(self, name: str) -> Actor:
        """The person with the roles the log gives them now."""
        return current_actor(self.db, name)

    def record_session(self, actor: Actor, via: str) -> None:
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.SESSION_STARTED, {"name": actor.name, "via": via})

    # -- reading ----------------------------------------------------------------------------------

    def list_people(self, actor: Actor) -> list[Person]:
        self._require(actor, Permission.READ, "list people")
        roles: dict[str, list[str]] = {}
        for grant in self.db.rows("user_roles", order_by="role"):
            roles.setdefault(grant["user_name"].casefold(), []).append(grant["role"])
        return [
            Person(
                name=row["name"],
                display_name=row["display_name"],
                roles=tuple(roles.get(row["name"].casefold(), ())),
                created_at=row["created_at"],
                created_by=row["created_by"],
                disabled_at=row.get("disabled_at"),
            )
            for row in self.db.rows("users", order_by="name")
        ]

    # -- changing ---------------------------------------------------------------------------------

    def add(
        self, actor: Actor, name: str, roles: list[Role], password: str, *, display_name: str | None = None
    ) -> Person:
        self._require(actor, Permission.MANAGE_PEOPLE, f"add {name}")
        check_user_name(name)
        check_password(password)
        if not roles:
            raise UserError("give at least one --role for the new person")
        password_hash = self.hasher.hash(password)
        with self.db.write() as conn:
            if self._exists(name):
                raise UserError(f"a user named {name!r} already exists; choose another name or use 'users grant'")
            self.log.record(
                conn,
                actor.name,
                Kind.USER_ADDED,
                {"name": name, "display_name": display_name or name, "roles": sorted({r.value for r in roles})},
            )
            self._set_password(conn, name, password_hash, actor=actor.name)
        return next(p for p in self.list_people(actor) if p.name == name)

    def grant(self, actor: Actor, name: str, role: Role) -> bool:
        """Give a role. Returns False (and records nothing) if the person already has it."""
        self._require(actor, Permission.MANAGE_PEOPLE, f"grant {role.value} to {name}")
        with self.db.write() as conn:
            canonical = self._existing_name(name)
            if role in self.actor(canonical).roles:
                return False
            self.log.record(conn, actor.name, Kind.ROLE_GRANTED, {"name": canonical, "role": role.value})
        return True

    def revoke(self, actor: Actor, name: str, role: Role) -> bool:
        """Take a role away. Refuses to remove the last admin, which would lock everyone out."""
        self._require(actor, Permission.MANAGE_PEOPLE, f"revoke {role.value} from {name}")
        with self.db.write() as conn:
            canonical = self._existing_name(name)
            if role not in self.actor(canonical).roles:
                return False
            if role is Role.ADMIN:
                self._refuse_last_admin(conn, canonical, "revoke admin from")
            self.log.record(conn, actor.name, Kind.ROLE_REVOKED, {"name": canonical, "role": role.value})
        return True

    def disable(self, actor: Actor, name: str) -> bool:
        """Stop a person signing in (and acting, in a session still open); their past stays in the log.
        Returns False (and records nothing) if they are disabled already."""
        self._require(actor, Permission.MANAGE_PEOPLE, f"disable {name}")
        with self.db.write() as conn:
            canonical = self._existing_name(name)
            ledger = Ledger(conn)
            if ledger.is_disabled(canonical):
                return False
            if Role.ADMIN.value in ledger.roles(canonical):
                self._refuse_last_admin(conn, canonical, "disable")
            if canonical.casefold() == actor.name.casefold():
                raise UserError(f"you cannot disable yourself ({canonical}); ask another admin")
            self.log.record(conn, actor.name, Kind.USER_DISABLED, {"name": canonical})
        return True

    def enable(self, actor: Actor, name: str) -> bool:
        """Let a disabled person sign in again, with the roles they held. False if they were not disabled."""
        self._require(actor, Permission.MANAGE_PEOPLE, f"enable {name}")
        with self.db.write() as conn:
            canonical = self._existing_name(name)
            if not Ledger(conn).is_disabled(canonical):
                return False
            self.log.record(conn, actor.name, Kind.USER_ENABLED, {"name": canonical})
        return True

    def reset_password(self, actor: Actor, name: str, password: str) -> None:
        """Give a person a new password (the old one stops working at once)."""
        self._require(actor, Permission.MANAGE_PEOPLE, f"reset the password of {name}")
        check_password(password)
        password_hash = self.hasher.hash(password)
        with self.db.write() as conn:
            canonical = self._existing_name(name)
            self._set_password(conn, canonical, password_hash, actor=actor.name)

    # -- joining a team ---------------------------------------------------------------------------

    def joining_password(self, password: str) -> str:
        """The hash of the password a person gives to sign in on a workstation joining a team (checked and hashed
        before the join's write, which it must not hold up)."""
        check_password(password)
        return self.hasher.hash(password)

    def sign_in_here(self, conn: sqlite3.Connection, name: str, password_hash: str) -> str:
        """Inside a join's write, after the team's entries and this workstation's identity: ``name`` (a person the
        team's log knows and has not disabled) gets this workstation's local password, recorded as
        ``user.password_set`` by them. Returns their name as the log spells it; a UserError rolls the join back."""
        people = Ledger(conn).people()
        who = name.casefold()
        canonical = people.names.get(who)
        if canonical is None:
            known = ", ".join(sorted(people.names.values())[:10]) or "nobody yet"
            raise UserError(
                f"--as {name}: the team's log knows no person of that name (it knows: {known}); "
                "this database was left as it was, not set up"
            )
        if who in people.disabled:
            raise UserError(
                f"--as {canonical}: {canonical} is disabled in the team's log and cannot sign in; "
                "this database was left as it was, not set up"
            )
        self._set_password(conn, canonical, password_hash, actor=canonical)
        return canonical

    # -- helpers ----------------------------------------------------------------------------------

    def _require(self, actor: Actor, permission: Permission, action: str) -> None:
        require(self.db, self.log, actor, permission, action)

    def _refuse_last_admin(self, conn: sqlite3.Connection, name: str, what: str) -> None:
        """Refuse a change that would leave no admin able to act: nobody could manage people again."""
        others = [who for who in Ledger(conn).enabled_admins() if who != name.casefold()]
        if not others:
            raise UserError(
                f"cannot {what} {name}: they are the last admin who can sign in; grant admin to someone else first"
            )

    def _exists(self, name: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None

    def _existing_name(self, name: str) -> str:
        row = self.db.conn.execute("SELECT name FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UserError(f"no user named {name!r}; 'crisisdesk users list' shows who exists")
        return str(row[0])

    def _set_password(self, conn: sqlite3.Connection, name: str, password_hash: str, *, actor: str) -> None:
        conn.execute(
            "INSERT INTO local_credentials (user_name, password_hash, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_name) DO UPDATE SET "
            "password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            (name, password_hash, utc_iso(self.clock.now())),
        )
        self.log.record(conn, actor, Kind.PASSWORD_SET, {"name": name})

"""Channel accounts: add, list, test and remove; their secrets go to the keyring and nowhere else."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson

from crisisdesk.channels.base import ChannelError
from crisisdesk.channels.registry import make_adapter
from crisisdesk.credentials import SecretStore
from crisisdesk.domain.accounts import KINDS, Account, AccountKind, check_account_name, parse_settings
from crisisdesk.domain.errors import ExternalError, NotFound, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.outbox import UNFINISHED
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.guard import require
from crisisdesk.services.people import SYSTEM
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog

DEFAULT_LIVE = "public-page"
DEFAULT_EXERCISE = "exercise-page"


def account_from_row(row: dict[str, object]) -> Account:
    return Account(
        id=str(row["id"]),
        name=str(row["name"]),
        kind=AccountKind(str(row["kind"])),
        exercise=bool(row["exercise"]),
        settings=orjson.loads(str(row["settings"])),
    )


class ChannelService:
    def __init__(self, db: Database, log: EventLog, secrets: SecretStore, data_dir: Path) -> None:
        self.db = db
        self.log = log
        self.secrets = secrets
        self.data_dir = data_dir

    def add(
        self,
        actor: Actor,
        kind: str,
        name: str,
        *,
        exercise: bool = False,
        settings: list[str] | None = None,
        secret: str | None = None,
    ) -> Account:
        require(self.db, self.log, actor, Permission.MANAGE_CHANNELS, f"add the channel {name}")
        return self._add(
            actor.name, AccountKind.parse(kind), name, exercise=exercise, pairs=settings or [], secret=secret
        )

    def _add(
        self, by: str, kind: AccountKind, name: str, *, exercise: bool, pairs: list[str], secret: str | None
    ) -> Account:
        check_account_name(name)
        values = parse_settings(kind, pairs)
        spec = KINDS[kind]
        if kind is AccountKind.FOLDER and not values.get("path"):
            values["path"] = str(self.data_dir / "channels" / name)
        if spec.secret_label and not (secret or "").strip():
            raise UserError(f"a {kind.value} channel needs its {spec.secret_label}: pipe it in with --secret-stdin")
        if not spec.secret_label and secret:
            raise UserError(f"a {kind.value} channel takes no secret")
        if self._find(name) is not None:
            raise UserError(f"there is already a channel named {name!r}; remove it first or choose another name")
        account = Account(f"ch-{uuid.uuid4().hex[:10]}", name, kind, exercise, values)
        if secret:
            self.secrets.set(account.id, secret.strip())  # the keyring first: an account never lacks its secret
        try:
            with self.db.write() as conn:
                self.log.record(
                    conn,
                    by,
                    Kind.CHANNEL_ADDED,
                    {
                        "account": account.id,
                        "name": name,
                        "kind": kind.value,
                        "exercise": exercise,
                        "settings": values,
                    },
                )
        except BaseException:
            if secret:
                self.secrets.delete(account.id)
            raise
        return account

    def add_defaults(self) -> list[Account]:
        """The embedded default: a live and an exercise public page in the user's data folder."""
        made = []
        for name, exercise, title in (
            (DEFAULT_LIVE, False, "Public alerts"),
            (DEFAULT_EXERCISE, True, "EXERCISE: public alerts (practice page)"),
        ):
            if self._find(name) is None:
                made.append(
                    self._add(
                        SYSTEM, AccountKind.FOLDER, name, exercise=exercise, pairs=[f"title={title}"], secret=None
                    )
                )
        return made

    def accounts(self, actor: Actor) -> list[Account]:
        require(self.db, self.log, actor, Permission.READ, "list channels")
        return self.active()

    def active(self) -> list[Account]:
        return [account_from_row(r) for r in self.db.select("channel_accounts", "removed_at IS NULL", order_by="name")]

    def get(self, name: str) -> Account:
        account = self._find(name)
        if account is None:
            known = ", ".join(a.name for a in self.active()) or "none yet"
            raise NotFound(f"no channel named {name!r}; channels: {known}")
        return account

    def by_id(self, account_id: str) -> Account | None:
        """The account, even if removed since (its sent posts may still be retracted)."""
        rows = self.db.select("channel_accounts", "id = ?", [account_id])
        return account_from_row(rows[0]) if rows else None

    def current(self, account_id: str) -> Account | None:
        """The account if it exists and has not been removed."""
        rows = self.db.select("channel_accounts", "id = ? AND removed_at IS NULL", [account_id])
        return account_from_row(rows[0]) if rows else None

    def remove(self, actor: Actor, name: str) -> Account:
        require(self.db, self.log, actor, Permission.MANAGE_CHANNELS, f"remove the channel {name}")
        account = self.get(name)
        pending = self.db.conn.execute(
            f"SELECT COUNT(*) FROM outbox WHERE account_id = ? AND state IN ({','.join('?' * len(UNFINISHED))})",  # noqa: S608
            (account.id, *UNFINISHED),
        ).fetchone()[0]
        if pending:
            raise UserError(
                f"{name} still has {pending} message(s) in the outbox that have not gone; "
                "let them go ('crisisdesk outbox run --once') or see 'crisisdesk outbox list' first"
            )
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.CHANNEL_REMOVED, {"account": account.id, "name": name})
        self.secrets.delete(account.id)
        return account

    def test(self, actor: Actor, name: str) -> str:
        """Check the connection and the credentials without posting; the outcome is recorded."""
        require(self.db, self.log, actor, Permission.READ, f"test the channel {name}")
        account = self.get(name)
        ok, detail = True, ""
        try:
            adapter = make_adapter(account, self.secrets.get(account.id) if account.spec.secret_label else None)
            try:
                detail = adapter.check()
            finally:
                adapter.close()
        except ChannelError as exc:
            ok, detail = False, exc.reason
        with self.db.write() as conn:
            self.log.record(
                conn, actor.name, Kind.CHANNEL_TESTED, {"account": account.id, "name": name, "ok": ok, "detail": detail}
            )
        if not ok:
            raise ExternalError(f"{name}: {detail}")
        return detail

    def _find(self, name: str) -> Account | None:
        rows = self.db.select("channel_accounts", "name = ? AND removed_at IS NULL", [name])
        return account_from_row(rows[0]) if rows else None

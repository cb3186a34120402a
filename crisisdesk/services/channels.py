"""Channel accounts: add, list, test and remove; their secrets go to the keyring and nowhere else."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from crisisdesk.channels.base import ChannelError, guarded
from crisisdesk.channels.registry import make_adapter
from crisisdesk.credentials import SecretStore
from crisisdesk.domain.accounts import (
    Account,
    AccountKind,
    check_account_name,
    parse_settings,
    secret_refusal,
)
from crisisdesk.domain.destinations import destinations, shared
from crisisdesk.domain.errors import ExternalError, NotFound, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.outbox import UNFINISHED
from crisisdesk.domain.plain_text import control_character
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.guard import require
from crisisdesk.services.people import SYSTEM
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import AccountRecord, Ledger

DEFAULT_LIVE = "public-page"
DEFAULT_EXERCISE = "exercise-page"


def account_from_record(record: AccountRecord) -> Account:
    return Account(record.id, record.name, AccountKind(record.kind), record.exercise, dict(record.settings))


def folder_of(account: Account) -> Path:
    """A folder account's folder as the file system resolves it (``~``, ``..`` and links followed)."""
    return Path(os.path.realpath(Path(account.setting("path")).expanduser()))


def _overlap(a: Path, b: Path) -> bool:
    return a == b or a.is_relative_to(b) or b.is_relative_to(a)


def _readable_file(value: str, key: str) -> str:
    """A file setting (an email cafile) as an absolute path, if it names a readable regular file: the worker
    runs in another folder, and a device or a folder there fails every send with a traceback."""
    path = Path(value).expanduser().absolute()
    try:
        if not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file" if path.exists() else "missing"
            raise UserError(f"{key}={value}: {path} is {what}; give the certificate file (PEM)")
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UserError(f"{key}={value}: {path} cannot be read ({exc.strerror or exc})") from None
    return str(path)


def scrub_secret(text: str, secret: str | None) -> str:
    """``text`` with the secret, as typed or as a library would quote it (escaped), replaced by a mark."""
    if not secret or len(secret) < 4:
        return text
    for form in {secret, repr(secret)[1:-1], repr(secret.encode())[2:-1]}:
        text = text.replace(form, "[secret]")
    return text


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
        if kind is AccountKind.FOLDER:
            # A relative folder is under the channels folder; kept resolved, so the account names one place.
            folder = Path(values.get("path") or name).expanduser()
            values["path"] = os.path.realpath(folder if folder.is_absolute() else self.data_dir / "channels" / folder)
        if values.get("cafile"):
            values["cafile"] = _readable_file(values["cafile"], "cafile")
        secret = (secret or "").strip() or None
        if secret is not None and control_character(secret):
            raise UserError(
                "the secret holds a control character or a line break (pasted with it?): type or paste it again"
            )
        refusal = secret_refusal(kind, values, secret is not None)
        if refusal:
            raise UserError(refusal)
        if self._find(name) is not None:
            raise UserError(f"there is already a channel named {name!r}; remove it first or choose another name")
        account = Account(f"ch-{uuid.uuid4().hex[:10]}", name, kind, exercise, values)
        conflict = self.destination_conflict(account, secret=secret)
        if conflict:
            raise UserError(conflict)
        if secret:
            self.secrets.set(account.id, secret)  # the keyring first: an account never lacks its secret
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

    def secret_store_refusal(self) -> str | None:
        """Why no secret can be stored now (no usable OS keyring), with what to do; None when one can. The secret
        is then refused, never kept anywhere else."""
        return self.secrets.refusal()

    def accounts(self, actor: Actor) -> list[Account]:
        require(self.db, self.log, actor, Permission.READ, "list channels")
        return self.active()

    def active(self) -> list[Account]:
        """Every account not removed, as the log says (the table is for listing only)."""
        found = [account_from_record(r) for r in Ledger(self.db.conn).accounts().values() if not r.removed]
        return sorted(found, key=lambda a: a.name)

    def get(self, name: str) -> Account:
        account = self._find(name)
        if account is None:
            known = ", ".join(a.name for a in self.active()) or "none yet"
            raise NotFound(f"no channel named {name!r}; channels: {known}")
        return account

    def by_id(self, account_id: str) -> Account | None:
        """The account as the log says, even if removed since (its sent posts may still be retracted)."""
        record = Ledger(self.db.conn).account(account_id)
        return account_from_record(record) if record else None

    def current(self, account_id: str) -> Account | None:
        """The account as the log says, if it exists and has not been removed."""
        record = Ledger(self.db.conn).account(account_id)
        return account_from_record(record) if record and not record.removed else None

    def destination_conflict(self, account: Account, *, secret: str | None = None) -> str | None:
        """Why ``account`` may not exist beside the others: an EXERCISE account never shares a destination (a
        folder, a web address, a room, a handle, a recipient, a sending number) with a LIVE one, whatever the kinds
        (an Apprise URL posting to a live webhook shares it). None when it is apart.

        ``secret`` is the account's own secret when it is being added (not in the keyring yet)."""
        others = [a for a in self.active() if a.id != account.id and a.exercise != account.exercise]
        if account.kind is AccountKind.FOLDER:
            mine = folder_of(account)
            for other in others:
                if other.kind is AccountKind.FOLDER and _overlap(mine, folder_of(other)):
                    return self._shared(account, other, f"the folder {mine}")
            return None
        places = destinations(account, secret=self._secret_key(account, secret))
        for other in others:
            if other.kind is AccountKind.FOLDER:
                continue
            both = shared(places, destinations(other, secret=self._secret_key(other, None)))
            if both is not None:
                return self._shared(account, other, both.shown)
        return None

    @staticmethod
    def _shared(account: Account, other: Account, what: str) -> str:
        live, drill = (other, account) if account.exercise else (account, other)
        return (
            f"{account.name} would share a destination with {other.name} ({what}): the EXERCISE channel "
            f"{drill.name} and the LIVE channel {live.name} must reach different places, or a drill reaches the public"
        )

    def _secret_key(self, account: Account, secret: str | None) -> str | None:
        """The secret where it names the destination (an Apprise URL) or the account (a Mastodon token, which the
        domain compares by its digest); it stays in memory, never in a message."""
        if account.kind not in (AccountKind.MASTODON, AccountKind.APPRISE):
            return None
        if secret is None:
            try:
                secret = self.secrets.get(account.id)
            except (UserError, ExternalError):
                return None
        if not secret:
            return None
        return secret.strip()

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
            # Inside the transaction: if the keyring refuses, the removal is not recorded and nothing changed.
            if account.spec.secret_label:
                self.secrets.delete(account.id)
        return account

    def set_secret(self, actor: Actor, name: str, secret: str) -> Account:
        """Keep this workstation's copy of an existing channel's secret in its keyring (a secret never travels
        with the log: each workstation that sends on the channel needs its own copy). Recorded as
        ``channel.secret_set`` {account, name, workstation}, without the secret."""
        require(self.db, self.log, actor, Permission.MANAGE_CHANNELS, f"set the secret of the channel {name}")
        account = self.get(name)
        label = account.spec.secret_label
        if label is None:
            raise UserError(f"{name} is a {account.kind.value} channel, which takes no secret: there is nothing to set")
        secret = secret.strip()
        if not secret:
            raise UserError(f"no {label} on standard input: pipe it in with --secret-stdin")
        if control_character(secret):
            raise UserError(
                "the secret holds a control character or a line break (pasted with it?): type or paste it again"
            )
        refused = self.secrets.refusal()
        if refused:
            raise UserError(refused)
        previous = self.secrets.get(account.id)
        self.secrets.set(account.id, secret)  # the keyring first: the event says it is there
        try:
            with self.db.write() as conn:
                payload = {"account": account.id, "name": account.name, "workstation": self.log.workstation_id()}
                self.log.record(conn, actor.name, Kind.CHANNEL_SECRET_SET, payload)
        except BaseException:
            if previous:
                self.secrets.set(account.id, previous)
            else:
                self.secrets.delete(account.id)
            raise
        return account

    def test(self, actor: Actor, name: str) -> str:
        """Check the connection and the credentials without posting; the outcome is recorded."""
        require(self.db, self.log, actor, Permission.READ, f"test the channel {name}")
        account = self.get(name)
        ok, detail = True, ""
        kind = account.kind.value
        secret: str | None = None
        try:
            secret = self.secrets.get(account.id) if account.spec.secret_label else None
            adapter = guarded(kind, "setting up", make_adapter, account, secret)
            try:
                detail = guarded(kind, "checking", adapter.check)
            finally:
                adapter.close()
        except ChannelError as exc:
            ok, detail = False, exc.reason
        detail = scrub_secret(detail, secret)  # whatever a library quoted, the secret goes in no log and no window
        with self.db.write() as conn:
            self.log.record(
                conn, actor.name, Kind.CHANNEL_TESTED, {"account": account.id, "name": name, "ok": ok, "detail": detail}
            )
        if not ok:
            raise ExternalError(f"{name}: {detail}")
        return detail

    def _find(self, name: str) -> Account | None:
        return next((a for a in self.active() if a.name == name), None)

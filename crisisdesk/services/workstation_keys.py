"""This workstation's signing key: declared when it is set up (or later, for a database older than signing),
replaced and revoked by an admin. The rule saying which signature counts is in domain/signing.py."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from crisisdesk.credentials import SecretStore
from crisisdesk.domain.errors import CrisisdeskError, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.domain.signing import KEY_KINDS, Signer, key_id, new_private_key, private_key_text
from crisisdesk.services.guard import require
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class DeclaredKey:
    workstation: str
    key: str
    declared_at: str
    how: str  # "joined" or "rotated"
    ended: str | None = None  # "replaced at ..." or "revoked at ..."


def find_signer(secrets: SecretStore, workstation_id: str) -> Signer | None:
    """The signer for this workstation's key in the keyring, or None when there is none (or no keyring now):
    entries are then written unsigned, and ``audit verify`` names the first one once the workstation has joined."""
    try:
        text = secrets.signing_key(workstation_id)
    except CrisisdeskError:
        return None
    try:
        return Signer(text) if text else None
    except ValueError:
        return None  # not a key: verify will report the unsigned entries


class WorkstationKeys:
    def __init__(self, db: Database, log: EventLog, secrets: SecretStore) -> None:
        self.db = db
        self.log = log
        self.secrets = secrets

    def _own(self) -> str:
        ws = self.log.workstation_id()
        if not ws:
            raise UserError(f"the database {self.db.path} is not set up yet: run 'crisisdesk init' first")
        return ws

    def declared(self) -> list[DeclaredKey]:
        """Every key the log declares, for any workstation, in the order declared, with when it ended."""
        out: dict[tuple[str, str], DeclaredKey] = {}
        marks = ",".join("?" * len(KEY_KINDS))
        sql = (
            f"SELECT kind, at, json_extract(body, '$.payload.workstation'), json_extract(body, '$.payload.key'), "  # noqa: S608
            f"json_extract(body, '$.payload.previous') FROM events WHERE kind IN ({marks}) ORDER BY position"
        )
        for kind, at, ws, key, previous in self.db.conn.execute(sql, KEY_KINDS):
            if kind == Kind.WORKSTATION_KEY_REVOKED:
                old = out.get((ws, key))
                if old is not None:
                    out[(ws, key)] = DeclaredKey(ws, key, old.declared_at, old.how, f"revoked at {at}")
                continue
            if kind == Kind.WORKSTATION_KEY_ROTATED and (ws, previous) in out:
                old = out[(ws, previous)]
                if old.ended is None:
                    out[(ws, previous)] = DeclaredKey(ws, previous, old.declared_at, old.how, f"replaced at {at}")
            how = "joined" if kind == Kind.WORKSTATION_JOINED else "rotated"
            out[(ws, key)] = DeclaredKey(ws, key, at, how)
        return list(out.values())

    def current(self) -> DeclaredKey | None:
        """This workstation's key in use: the last one declared for it and not ended."""
        ws = self._own()
        live = [k for k in self.declared() if k.workstation == ws and k.ended is None]
        return live[-1] if live else None

    def signing_problem(self) -> str | None:
        """Why this workstation cannot sign what it writes now, in one line, or None when it can (or has declared
        no key: a log kept before signing). Its key in use is declared in the log but the keyring does not hold
        its private key (another keyring, a keyring locked or reset): a program started now writes unsigned entries
        (one already running keeps the key it read), and the team's other workstations refuse them."""
        ws = self.log.workstation_id()
        if not ws:
            return None
        current = self.current()
        if current is None:
            if any(k.workstation == ws for k in self.declared()):
                return (
                    "THIS WORKSTATION CANNOT SIGN: its keys were revoked, so the team refuses what it writes now; "
                    "set up a new workstation ('crisisdesk hub join')"
                )
            return None
        signer = find_signer(self.secrets, ws)
        if signer is not None and signer.key_id == current.key:
            return None
        return (
            f"THIS WORKSTATION CANNOT SIGN: its key {current.key} is not in this keyring, so entries written here "
            "without it are unsigned and the team's other workstations refuse them; an admin replaces the key "
            "('crisisdesk workstation rotate-key') on a keyring that holds it, or revokes it and sets this "
            "workstation up again"
        )

    def join(self, actor: Actor) -> tuple[str, bool]:
        """Make this workstation's key pair and declare it (``workstation.joined``), unless it has one in use
        whose private key the keyring holds (an admin: for a database set up before signing, or whose keyring
        could not hold a key at ``init``). Returns (key id, whether it was made now)."""
        require(self.db, self.log, actor, Permission.MANAGE_PEOPLE, "declare the workstation key")
        ws = self._own()
        current = self.current()
        if current is not None:
            signer = find_signer(self.secrets, ws)
            if signer is not None and signer.key_id == current.key:
                return current.key, False
            raise UserError(
                f"this workstation's key {current.key} is declared in the log but its private key is not in this "
                "keyring: an admin must replace it ('crisisdesk workstation rotate-key') on a keyring that holds it, "
                "or revoke it and declare a new one"
            )
        if any(k.workstation == ws and k.how == "joined" for k in self.declared()):
            raise UserError(
                "this workstation's keys were all revoked: it may not declare a new one by itself; "
                "set up a new workstation"
            )
        with self.db.write() as conn:
            return self.declare(conn, ws), True

    def declare(self, conn: sqlite3.Connection, ws: str) -> str:
        """Make a key pair, keep its private key in the keyring and record ``workstation.joined``, signed by the
        key it declares; every entry after it is signed too. Call inside ``Database.write()`` (``crisisdesk init``
        does, right after the workstation's identity, so every entry of a new workstation is signed)."""
        refused = self.secrets.refusal()
        if refused:
            raise UserError(refused)
        text = private_key_text(new_private_key())
        self.secrets.set_signing_key(ws, text)  # first: a key declared but lost could never sign
        signer = Signer(text)
        previous = self.log.signer
        self.log.use_signer(signer)
        try:
            self.log.record(
                conn,
                SYSTEM,
                Kind.WORKSTATION_JOINED,
                {"workstation": ws, "key": signer.key_id, "public_key": signer.public},
            )
        except BaseException:
            self.log.use_signer(previous)
            raise
        return signer.key_id

    def rotate(self, actor: Actor) -> str:
        """Replace this workstation's key with a new one (an admin). The replacement is signed by the old key;
        entries dated after it must carry the new key's signature. Returns the new key id."""
        require(self.db, self.log, actor, Permission.MANAGE_PEOPLE, "replace the workstation key")
        ws = self._own()
        current = self.current()
        old_text = self.secrets.signing_key(ws)
        old = find_signer(self.secrets, ws)
        if current is None or old is None or old.key_id != current.key:
            raise UserError(
                "this workstation has no key in use whose private key this keyring holds: "
                "run 'crisisdesk workstation keys' to declare one"
            )
        text = private_key_text(new_private_key())
        new = Signer(text)
        self.log.use_signer(old)
        self.secrets.set_signing_key(ws, text)
        try:
            with self.db.write() as conn:
                self.log.record(
                    conn,
                    actor.name,
                    Kind.WORKSTATION_KEY_ROTATED,
                    {"workstation": ws, "key": new.key_id, "public_key": new.public, "previous": old.key_id},
                )
        except BaseException:
            if old_text is not None:
                self.secrets.set_signing_key(ws, old_text)  # the replacement never happened: keep the old key
            raise
        self.log.use_signer(new)
        return new.key_id

    def revoke(self, actor: Actor, workstation: str, key: str, reason: str) -> None:
        """Revoke a workstation's key (an admin): its signatures on entries dated after now are bad."""
        require(self.db, self.log, actor, Permission.MANAGE_PEOPLE, "revoke a workstation key")
        reason = reason.strip()
        if not reason:
            raise UserError("give the reason for revoking the key (for example 'laptop stolen')")
        match = [k for k in self.declared() if k.workstation == workstation and k.key == key]
        if not match:
            raise UserError(
                f"the log declares no key {key} for workstation {workstation}; 'workstation keys' lists them"
            )
        if match[0].ended and match[0].ended.startswith("revoked"):
            raise UserError(f"key {key} of workstation {workstation} is already {match[0].ended}")
        own = self.log.workstation_id()
        signer = self.log.signing(own) if own else None
        if workstation == own and signer is not None and signer.key_id == key:
            raise UserError("this is the key this workstation signs with: replace it first ('workstation rotate-key')")
        with self.db.write() as conn:
            self.log.record(
                conn,
                actor.name,
                Kind.WORKSTATION_KEY_REVOKED,
                {"workstation": workstation, "key": key, "reason": reason},
            )


__all__ = ["DeclaredKey", "WorkstationKeys", "find_signer", "key_id"]

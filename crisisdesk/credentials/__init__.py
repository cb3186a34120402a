"""Secrets in the OS keyring, behind one small interface, referenced by channel account id.

Secrets never enter SQLite, logs, exports or error messages. A keyring backend that stores secrets in plain
files (keyrings.alt) or no backend at all is refused unless the user opts in explicitly
(``CRISISDESK_ALLOW_INSECURE_KEYRING=1`` or ``--allow-insecure-keyring``).

Beside the secrets the keyring keeps each database's log head (workstation, last sequence number and hash),
so that a log that lost its tail is noticed by ``audit verify``. A head is not a secret: any keyring that
keeps it outside the database will do, a plain-file one included.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

import orjson

from crisisdesk.domain.errors import ExternalError, UserError
from crisisdesk.domain.events import LogHead

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

# keyring itself is imported on first use (it brings urllib and http.client, about 40 ms): the console's sign-in
# dialog needs none of it, and the keyring is first used when the session is recorded.
SERVICE = "crisisdesk"
INSECURE_ENV = "CRISISDESK_ALLOW_INSECURE_KEYRING"


class SecretStore(Protocol):
    def get(self, account_id: str) -> str | None: ...

    def set(self, account_id: str, secret: str) -> None: ...

    def delete(self, account_id: str) -> None: ...

    def refusal(self) -> str | None:
        """Why this store will not keep a secret now, with what to do (None: it will)."""
        ...

    def log_head(self, database: str) -> LogHead | None:
        """The head last recorded for the database at this (resolved) path, or None."""
        ...

    def set_log_head(self, database: str, head: LogHead) -> None: ...

    def signing_key(self, workstation_id: str) -> str | None:
        """This workstation's Ed25519 private key (hex), or None when the keyring holds none."""
        ...

    def set_signing_key(self, workstation_id: str, private_key: str) -> None: ...

    def hub_password(self, hub: str) -> str | None:
        """The team hub's password (``hub`` is host:port:database:user), or None when the keyring holds none."""
        ...

    def set_hub_password(self, hub: str, password: str) -> None: ...


def _key(account_id: str) -> str:
    return f"channel:{account_id}"


def _signing_key(workstation_id: str) -> str:
    return f"workstation-key:{workstation_id}"


def _hub_key(hub: str) -> str:
    return f"hub-password:{hub}"


def _head_key(database: str) -> str:
    return f"loghead:{database}"


def _why(exc: Exception) -> str:
    import keyring.errors

    if isinstance(exc, keyring.errors.NoKeyringError):
        return "no OS keyring is available"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def head_text(head: LogHead) -> str:
    return orjson.dumps({"ws": head.workstation_id, "seq": head.seq, "hash": head.hash}).decode()


def head_from_text(text: str, database: str) -> LogHead:
    try:
        data = orjson.loads(text)
        head = LogHead(str(data["ws"]), int(data["seq"]), str(data["hash"]))
    except (ValueError, KeyError, TypeError):
        raise ExternalError(f"the log head kept in the keyring for {database} is unreadable") from None
    return head


def _backends(backend: KeyringBackend) -> list[KeyringBackend]:
    chained = getattr(backend, "backends", None)
    return list(chained) if chained else [backend]


def insecure_reason(backend: KeyringBackend) -> str | None:
    """Why a backend must not hold secrets (None when it is an OS keyring)."""
    usable = []
    for b in _backends(backend):
        module = type(b).__module__
        if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
            continue
        if module.startswith("keyrings.alt"):
            return f"the keyring backend {type(b).__name__} ({module}) keeps secrets in a readable file"
        usable.append(b)
    if not usable:
        return (
            "no OS keyring is available: on Linux start and unlock GNOME Keyring or KWallet "
            "(a desktop session does this; headless: dbus-run-session and gnome-keyring-daemon --unlock)"
        )
    return None


class KeyringSecrets:
    """The OS keyring. Checked on first use; refuses an insecure backend unless allowed."""

    def __init__(self, *, allow_insecure: bool | None = None) -> None:
        self.allow_insecure = allow_insecure if allow_insecure is not None else os.environ.get(INSECURE_ENV) == "1"
        self._checked = False

    def refusal(self) -> str | None:
        import keyring

        reason = insecure_reason(keyring.get_keyring())
        if reason and not self.allow_insecure:
            return (
                f"crisisdesk will not store a secret: {reason}. To accept this anyway, set "
                f"{INSECURE_ENV}=1 or pass --allow-insecure-keyring"
            )
        return None

    def _check(self) -> None:
        if self._checked:
            return
        refused = self.refusal()
        if refused:
            raise UserError(refused)
        self._checked = True

    def get(self, account_id: str) -> str | None:
        self._check()
        import keyring.errors

        try:
            return keyring.get_password(SERVICE, _key(account_id))
        except keyring.errors.KeyringError as exc:
            raise ExternalError(f"the keyring could not be read ({type(exc).__name__}); unlock it and retry") from None

    def set(self, account_id: str, secret: str) -> None:
        self._check()
        import keyring.errors

        try:
            keyring.set_password(SERVICE, _key(account_id), secret)
        except keyring.errors.KeyringError as exc:
            raise ExternalError(
                f"the keyring refused to store the secret ({type(exc).__name__}); unlock it and retry"
            ) from None

    def delete(self, account_id: str) -> None:
        self._check()
        import keyring.errors

        try:
            keyring.delete_password(SERVICE, _key(account_id))
        except keyring.errors.PasswordDeleteError:
            pass  # nothing stored: nothing to delete
        except keyring.errors.KeyringError as exc:
            raise ExternalError(f"the keyring could not delete the secret ({type(exc).__name__})") from None

    # A workstation's private key is a secret like a channel's: the insecure-backend check applies.

    def signing_key(self, workstation_id: str) -> str | None:
        self._check()
        import keyring.errors

        try:
            return keyring.get_password(SERVICE, _signing_key(workstation_id))
        except keyring.errors.KeyringError as exc:
            raise ExternalError(f"the keyring could not be read ({type(exc).__name__}); unlock it and retry") from None

    def set_signing_key(self, workstation_id: str, private_key: str) -> None:
        self._check()
        import keyring.errors

        try:
            keyring.set_password(SERVICE, _signing_key(workstation_id), private_key)
        except keyring.errors.KeyringError as exc:
            raise ExternalError(
                f"the keyring refused to store the workstation key ({type(exc).__name__}); unlock it and retry"
            ) from None

    def hub_password(self, hub: str) -> str | None:
        self._check()
        import keyring.errors

        try:
            return keyring.get_password(SERVICE, _hub_key(hub))
        except keyring.errors.KeyringError as exc:
            raise ExternalError(f"the keyring could not be read ({type(exc).__name__}); unlock it and retry") from None

    def set_hub_password(self, hub: str, password: str) -> None:
        self._check()
        import keyring.errors

        try:
            keyring.set_password(SERVICE, _hub_key(hub), password)
        except keyring.errors.KeyringError as exc:
            raise ExternalError(
                f"the keyring refused to store the hub password ({type(exc).__name__}); unlock it and retry"
            ) from None

    # Heads skip the insecure-backend check: they are not secret, and a plain-file keyring still keeps them
    # outside the database. Any failure of the backend (some raise more than KeyringError: D-Bus, files) is an
    # ExternalError, which callers report; a missing head must never stop a write or a verify.

    def log_head(self, database: str) -> LogHead | None:
        import keyring

        try:
            text = keyring.get_password(SERVICE, _head_key(database))
        except Exception as exc:
            raise ExternalError(f"the keyring could not be read ({_why(exc)})") from None
        return None if text is None else head_from_text(text, database)

    def set_log_head(self, database: str, head: LogHead) -> None:
        import keyring

        try:
            keyring.set_password(SERVICE, _head_key(database), head_text(head))
        except Exception as exc:
            raise ExternalError(f"the keyring refused the log head ({_why(exc)})") from None


class MemorySecrets:
    """Secrets held in memory, for tests and for a session that must not touch the keyring."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}
        self._heads: dict[str, LogHead] = {}
        self._signing: dict[str, str] = {}
        self._hubs: dict[str, str] = {}

    def get(self, account_id: str) -> str | None:
        return self._secrets.get(account_id)

    def set(self, account_id: str, secret: str) -> None:
        self._secrets[account_id] = secret

    def delete(self, account_id: str) -> None:
        self._secrets.pop(account_id, None)

    def refusal(self) -> str | None:
        return None

    def log_head(self, database: str) -> LogHead | None:
        return self._heads.get(database)

    def set_log_head(self, database: str, head: LogHead) -> None:
        self._heads[database] = head

    def signing_key(self, workstation_id: str) -> str | None:
        return self._signing.get(workstation_id)

    def set_signing_key(self, workstation_id: str, private_key: str) -> None:
        self._signing[workstation_id] = private_key

    def hub_password(self, hub: str) -> str | None:
        return self._hubs.get(hub)

    def set_hub_password(self, hub: str, password: str) -> None:
        self._hubs[hub] = password

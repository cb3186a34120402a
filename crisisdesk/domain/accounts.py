"""Channel accounts: where a message goes, what each kind needs, and which incidents may use it.

An account is marked exercise or live when it is added, and that never changes. EXERCISE incidents may target
only exercise accounts and LIVE incidents only live ones; ``mode_refusal`` says so in one place, and the
services, the outbox and the channel layer all ask it.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crisisdesk.domain.choices import parse_choice
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.plain_text import control_character


class AccountKind(enum.StrEnum):
    FOLDER = "folder"
    EMAIL = "email"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    MATRIX = "matrix"
    WEBHOOK = "webhook"
    SMS = "sms"
    APPRISE = "apprise"

    @classmethod
    def parse(cls, text: str) -> AccountKind:
        return parse_choice(cls, text, "channel kind")


@dataclass(frozen=True, slots=True)
class KindSpec:
    """What an account of one kind needs, which texts it sends, and what the channel can do."""

    required: tuple[str, ...]
    optional: Mapping[str, str]  # name -> default ("" = none)
    secret_label: str | None  # what the secret is, in the user's words; None = no secret
    texts: tuple[str, ...]  # text variants it sends (text_rules.Channel values)
    retract: str | None  # None = can retract; otherwise why it cannot
    lookup: str  # how a send whose outcome is unknown is checked before any retry
    help: str
    secret_optional: bool = False  # the channel also works without one (an SMTP relay that takes no login)


# One language or several: short channels post one language; long ones carry every language by default.
_LANG = {"lang": "en"}
_LANGS = {"langs": ""}  # "" = every language of the message

KINDS: dict[AccountKind, KindSpec] = {
    AccountKind.FOLDER: KindSpec(
        required=(),
        optional={"path": "", "title": "Public alerts", "base_url": "", **_LANGS},
        secret_label=None,
        texts=("web", "email-subject", "cap-headline", "cap-description", "cap-instruction"),
        retract=None,
        lookup="the alert file named by the idempotency key",
        help="a public web page, an Atom feed and CAP files in a folder (no account needed)",
    ),
    AccountKind.EMAIL: KindSpec(
        required=("host", "from", "to"),
        optional={"port": "587", "security": "starttls", "username": "", "cafile": "", **_LANGS},
        secret_label="SMTP password",
        texts=("email-subject", "email-body"),
        retract="an email cannot be recalled once delivered",
        lookup="none: SMTP cannot be asked; the Message-ID derived from the key lets receivers drop a duplicate",
        help="email over SMTP, a plain-text and an HTML part per language: security=starttls (the default) or tls "
        "with a login (--secret-stdin), or a relay that takes no login (no secret; security=none for one without "
        "TLS)",
        secret_optional=True,
    ),
    AccountKind.MASTODON: KindSpec(
        required=("base_url",),
        optional={"visibility": "public", **_LANG},
        secret_label="access token",
        texts=("mastodon",),
        retract=None,
        lookup="the server keeps the idempotency key for an hour; the account's recent posts after that",
        help="a Mastodon account (Mastodon.py)",
    ),
    AccountKind.BLUESKY: KindSpec(
        required=("handle",),
        optional={"base_url": "https://bsky.social", **_LANG},
        secret_label="app password",
        texts=("bluesky",),
        retract=None,
        lookup="the record key derived from the idempotency key",
        help="a Bluesky account (atproto)",
    ),
    AccountKind.MATRIX: KindSpec(
        required=("base_url", "room"),
        optional={"user": "", **_LANGS},
        secret_label="access token",
        texts=("web",),
        retract=None,
        lookup="the transaction id (the idempotency key): a repeated send returns the same event",
        help="a Matrix room",
    ),
    AccountKind.WEBHOOK: KindSpec(
        required=("url",),
        optional={**_LANGS},
        secret_label="HMAC signing key",
        texts=("web", "sms", "cap-headline"),
        retract=None,
        lookup="none: the receiver de-duplicates by the Idempotency-Key header",
        help="JSON to a URL, signed with HMAC-SHA256 (X-Crisisdesk-Signature)",
    ),
    AccountKind.SMS: KindSpec(
        required=("base_url", "account_sid", "from", "to"),
        optional={**_LANG},
        secret_label="auth token",
        texts=("sms",),
        retract="a text message cannot be recalled once delivered",
        lookup="the gateway's message list, by recipient and text",
        help="SMS through an HTTP gateway with a Twilio-compatible API",
    ),
    AccountKind.APPRISE: KindSpec(
        required=(),
        optional={"text": "web", **_LANG},
        secret_label="Apprise URL (it carries the service's credentials)",
        texts=("web",),
        retract="Apprise returns no remote id, so nothing sent through it can be retracted",
        lookup="none: Apprise cannot be asked what it delivered",
        help="any Apprise URL, as a catch-all",
    ),
}


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    kind: AccountKind
    exercise: bool
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return "exercise" if self.exercise else "live"

    @property
    def spec(self) -> KindSpec:
        return KINDS[self.kind]

    def setting(self, name: str) -> str:
        value = self.settings.get(name)
        return value if value is not None else self.spec.optional.get(name, "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "mode": self.mode,
            "settings": dict(self.settings),
            "can_retract": self.spec.retract is None,
            "retract_note": self.spec.retract,
        }


_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")  # fullmatch: "$" would let a trailing newline in


def check_account_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(
            f"invalid channel name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


# -- settings as people type them ------------------------------------------------------------------------
# Refused when the account is added, so a setting that cannot work never becomes an alert that fails (or, worse,
# goes somewhere else). Pure checks: files (an email cafile) are checked by the service.

_WEB_ADDRESS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
    r"(?:[^/?#@\s]*@)?"  # a user name (one with a password is refused before this)
    r"(?P<host>\[[^\]/?#@\s]*\]|[\w.-]+)"
    r"(?::(?P<port>[0-9]*))?"
    r"(?P<rest>[/?#]\S*)?"
)
_BASE_URL = "base_url"  # a base the channel appends its own API paths to
_WHOLE_URL = "url"  # the whole address, used as it is
_PORT = re.compile(r"[0-9]{1,5}")
_PHONE_NUMBER = re.compile(r"\+?[0-9 ().-]+")
_EMAIL_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@\w(?:[\w.-]*\w)?")


def _port_ok(text: str) -> bool:
    return _PORT.fullmatch(text) is not None and 1 <= int(text) <= 65535


def _check_web_address(key: str, value: str) -> None:
    m = _WEB_ADDRESS.fullmatch(value)
    ok = m is not None and m["scheme"].lower() in ("http", "https")
    if m is not None and ok and m["host"].startswith("["):
        try:
            ipaddress.IPv6Address(m["host"][1:-1])
        except ValueError:
            ok = False
    if m is not None and ok and m["port"] is not None:
        ok = _port_ok(m["port"])
    if not ok or m is None:
        raise UserError(
            f"{key}={value!r} is not a web address: give an http:// or https:// address with a host "
            "(and a port from 1 to 65535, if any), such as https://example.org"
        )
    if key == _BASE_URL and ("?" in value or "#" in value):
        # The channel adds its API path after the base: after a '?' it would become a query string, and the
        # request would go to whatever the base names (a Matrix base_url ending in '?' posted into another room).
        raise UserError(
            f"{key}={value!r}: a base address takes no '?' or '#' (the channel adds its own path after it); "
            "give the server's address alone"
        )


def _recipients(kind: AccountKind, value: str) -> list[str]:
    found = [x.strip() for x in value.split(",") if x.strip()]
    if not found:
        what = "phone numbers" if kind is AccountKind.SMS else "email addresses"
        raise UserError(f"to={value!r} names no recipient: give one or more {what}, separated by commas")
    return found


def _check_phone_number(number: str) -> None:
    digits = sum(c.isdigit() for c in number)
    if _PHONE_NUMBER.fullmatch(number) is None or not 7 <= digits <= 15:
        raise UserError(
            f"{number!r} is not a phone number: write it with 7 to 15 digits, a leading + for the country code, "
            "and spaces, dashes, dots or parentheses if you like (+1 555 010 0111)"
        )


def _check_email_address(key: str, address: str) -> None:
    if _EMAIL_ADDRESS.fullmatch(address) is None:
        raise UserError(f"{key}: {address!r} is not an email address: write it as name@example.org, without a name")


def _check_matrix_room(room: str) -> None:
    if room[:1] not in ("!", "#") or any(c in "/?#" or c.isspace() for c in room[1:]):
        raise UserError(
            f"room={room!r} is not a Matrix room: give its id (!abc123:example.org) or its alias "
            "(#alerts:example.org), with no '/', '?', '#' or spaces after the first character"
        )


def _check_setting(kind: AccountKind, key: str, value: str) -> None:
    """One setting's value, as its kind uses it (empty optional settings are not checked: they mean none)."""
    if not value:
        return
    if key in (_BASE_URL, _WHOLE_URL):
        _check_web_address(key, value)
    elif kind is AccountKind.EMAIL and key == "port" and not _port_ok(value):
        raise UserError(f"port={value!r}: give the mail server's port, a number from 1 to 65535 (often 587 or 465)")
    elif kind is AccountKind.EMAIL and key == "from":
        _check_email_address(key, value)
    elif kind is AccountKind.EMAIL and key == "to":
        for address in _recipients(kind, value):
            _check_email_address(key, address)
    elif kind is AccountKind.SMS and key == "to":
        for number in _recipients(kind, value):
            _check_phone_number(number)
    elif kind is AccountKind.MATRIX and key == "room":
        _check_matrix_room(value)


def parse_settings(kind: AccountKind, pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs checked against the kind's settings; every required one must be there, and each value
    must be usable as its kind uses it (one line, a web address with a host, a port, a recipient...)."""
    spec = KINDS[kind]
    known = (*spec.required, *spec.optional)
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--set takes KEY=VALUE, not {pair!r}")
        if key not in known:
            raise UserError(f"a {kind.value} channel has no setting {key!r}; its settings are: {', '.join(known)}")
        out[key] = value.strip()
    missing = [k for k in spec.required if not out.get(k)]
    if missing:
        raise UserError(
            f"a {kind.value} channel needs " + ", ".join(f"--set {k}=..." for k in missing) + f" ({spec.help})"
        )
    if kind is AccountKind.EMAIL and out.get("security", "starttls") not in ("starttls", "tls", "none"):
        raise UserError("email security is starttls, tls or none")
    for key, value in out.items():
        control = control_character(value)
        if control:
            raise UserError(f"the {key} setting holds a control character ({control}): a setting is one line of text")
        if _URL_WITH_PASSWORD.match(value):
            raise UserError(
                f"the {key} setting holds a password (user:password@host): settings are stored and exported in the "
                f"clear; give the URL without it and pipe the {spec.secret_label or 'secret'} in with --secret-stdin"
            )
        _check_setting(kind, key, value)
    return out


# scheme://user:password@host... (the domain splits URLs itself: it imports nothing that could fetch one)
_URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]*:[^/?#@\s]*@")


def secret_refusal(kind: AccountKind, settings: Mapping[str, str], secret: bool) -> str | None:
    """Why an account of ``kind`` with these settings may not be added with (or without) a secret, or None."""
    spec = KINDS[kind]
    if spec.secret_label is None:
        return f"a {kind.value} channel takes no secret" if secret else None
    if not secret and not spec.secret_optional:
        return f"a {kind.value} channel needs its {spec.secret_label}: pipe it in with --secret-stdin"
    if kind is AccountKind.EMAIL:
        security = settings.get("security") or spec.optional["security"]
        if secret and security == "none":
            # smtplib would send the password in the clear, to anyone on the way.
            return (
                "security=none would send the SMTP password in the clear: use security=starttls or tls for a server "
                "that needs a login, or give no secret for a relay that takes none"
            )
        if not secret and settings.get("username"):
            return (
                f"username={settings['username']} is for a login, but no SMTP password was given: pipe it in with "
                "--secret-stdin, or leave username out for a relay that takes no login"
            )
    return None


def mode_refusal(account: Account, mode: str) -> str | None:
    """Why a message of ``mode`` must not go to ``account``, or None when the modes match."""
    if mode == "exercise" and not account.exercise:
        return f"{account.name} is a LIVE channel: an exercise message can only go to channels added with --exercise"
    if mode != "exercise" and account.exercise:
        return f"{account.name} is an EXERCISE channel: a live message cannot go to it"
    return None


def targets_for(accounts: Iterable[Account], mode: str) -> list[Account]:
    """The accounts a new message of ``mode`` goes to by default: every one whose mode matches."""
    return [a for a in accounts if mode_refusal(a, mode) is None]


def message_langs(account: Account, available: Iterable[str]) -> list[str]:
    """The languages an account sends, in the message's order; short channels send one."""
    available = list(available)
    if "lang" in account.spec.optional:
        lang = account.setting("lang")
        return [lang] if lang in available else available[:1]
    wanted = [x.strip() for x in account.setting("langs").split(",") if x.strip()]
    chosen = [x for x in available if not wanted or x in wanted]
    return chosen or available[:1]

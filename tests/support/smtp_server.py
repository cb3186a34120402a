"""Real SMTP servers on 127.0.0.1: aiosmtpd with STARTTLS required and login required, and a relay that takes
no login (plain, or with STARTTLS required), as many county mail systems are.

The certificate is self-signed, made for the test session; the email channel is given it as its ``cafile``,
so the client really verifies the server.
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "alerts@millcounty.test", "smtp password 1"


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)  # per message: did it come over TLS
    auth_attempts: list[str] = field(default_factory=list)  # AUTH commands a relay was sent (it takes none)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.over_tls.append(bool(session.ssl))
        return "250 OK"


REFUSED_DOMAIN = "elsewhere.test"  # a relay relays for its own county only


@dataclass
class Relay(Mailbox):
    """A relay that takes no login: it advertises no AUTH, refuses any login tried, and relays only to its
    own domains."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [line for line in responses if not line[4:].startswith("AUTH")]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "554 5.7.1 Relay access denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _authenticator(mailbox: Mailbox) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == USER
            and auth_data.password.decode() == PASSWORD
        )
        if ok:
            mailbox.logins.append(USER)
        # handled=False: aiosmtpd answers 535 itself; with True the client would wait for a timeout.
        return AuthResult(success=ok, handled=False)

    return check


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_relay(folder: Path, *, starttls: bool) -> Iterator[tuple[int, Path, Relay]]:
    """A relay that takes no login: plain SMTP, or with STARTTLS required (then MAIL before it answers 530)."""
    cert, key = self_signed(folder)
    relay = Relay()

    def no_login(mechanism: str, login: bytes, password: bytes) -> bool:
        relay.auth_attempts.append(mechanism)
        return False

    context: ssl.SSLContext | None = None
    if starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=starttls,
        auth_required=False,
        auth_callback=no_login,
    )
    controller.start()
    try:
        yield controller.port, cert, relay
    finally:
        controller.stop()


@contextmanager
def smtp_server(folder: Path) -> Iterator[tuple[int, Path, Mailbox]]:
    cert, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticator(mailbox),
        auth_required=True,
    )
    controller.start()
    try:
        yield port, cert, mailbox
    finally:
        controller.stop()

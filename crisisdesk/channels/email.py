"""Email over SMTP, a plain-text and an HTML part per language.

STARTTLS (or TLS) and a login; or, as many county mail systems are, a relay that takes no login: STARTTLS
without a secret, or ``security=none`` (plain SMTP, which never carries a password: adding such an account with
one is refused).

The Message-ID is derived from the idempotency key, so a message sent again after a crash carries the same
id and mail systems that de-duplicate by it drop the copy. SMTP cannot be asked what it delivered, and mail
cannot be recalled.
"""

from __future__ import annotations

import html
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt
from crisisdesk.domain.accounts import Account

PERMANENT_SMTP = (530, 535, 550, 551, 552, 553, 554)
AUTH_NEEDED = 530  # "Authentication required" (or "must issue STARTTLS first")


class EmailAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        self.host = account.setting("host")
        try:
            self.port = int(account.setting("port"))
        except ValueError:
            raise ChannelError(f"{account.name}: port must be a number", permanent=True) from None
        self.security = account.setting("security")
        self.sender = account.setting("from")
        self.username = account.setting("username") or self.sender
        self.recipients = [x.strip() for x in account.setting("to").split(",") if x.strip()]
        cafile = account.setting("cafile") or None
        self.tls = ssl.create_default_context(cafile=cafile)

    @property
    def resend_is_safe(self) -> bool:
        return True  # the same Message-ID: a mail system that has it already can drop the copy

    def _connect(self) -> smtplib.SMTP:
        what = f"the mail server {self.host}:{self.port}"
        smtp: smtplib.SMTP | None = None
        try:
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=self.tls)
                smtp.ehlo()
            if self.secret:
                smtp.login(self.username, self.secret)
            # Without a secret there is no login: a relay that takes none (it trusts this computer's address).
            return smtp
        except smtplib.SMTPAuthenticationError as exc:
            failure = ChannelError(f"{what} refused the login ({exc.smtp_code})", permanent=True)
        except smtplib.SMTPNotSupportedError:
            failure = ChannelError(f"{what} does not offer STARTTLS or login", permanent=True)
        except ssl.SSLCertVerificationError as exc:
            failure = ChannelError(f"{what}: its certificate is not trusted ({exc.verify_message})", permanent=True)
        except (OSError, smtplib.SMTPException) as exc:
            failure = ChannelError(f"{what} cannot be reached ({type(exc).__name__}: {exc})")
        if smtp is not None:
            smtp.close()
        raise failure

    def check(self) -> str:
        smtp = self._connect()
        try:
            if self.secret:
                smtp.noop()
            else:
                self._probe_relay(smtp)
        finally:
            _quit(smtp)
        if self.secret:
            return f"{self.host}:{self.port} accepted the connection ({self.security}) and the login"
        return (
            f"{self.host}:{self.port} accepted the connection ({self.security}) and, without a login, the sender and "
            f"{len(self.recipients)} recipient(s) (nothing was sent)"
        )

    def _probe_relay(self, smtp: smtplib.SMTP) -> None:
        """Ask a relay that takes no login whether it would take this sender and these recipients: MAIL and RCPT,
        then RSET, so nothing is sent. A relay that wants a login says so here, not at the first alert."""
        what = f"the mail server {self.host}:{self.port}"
        try:
            code, said = smtp.mail(self.sender)
            if code == AUTH_NEEDED:
                raise self._needs_login(code, said)
            if code >= 400:
                raise ChannelError(f"{what} refused the sender {self.sender} ({code} {_text(said)})", permanent=True)
            for recipient in self.recipients:
                code, said = smtp.rcpt(recipient)
                if code == AUTH_NEEDED:
                    raise self._needs_login(code, said)
                if code >= 400:
                    raise ChannelError(
                        f"{what} refused the recipient {recipient} without a login ({code} {_text(said)})",
                        permanent=True,
                    )
            smtp.rset()
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"{what} broke the connection ({type(exc).__name__}: {exc})") from None

    def _needs_login(self, code: int, said: bytes | str) -> ChannelError:
        tls = " or STARTTLS" if self.security == "none" else ""
        return ChannelError(
            f"the mail server {self.host}:{self.port} takes no mail without a login{tls} ({code} {_text(said)}): "
            "add the channel again with its password (--secret-stdin), or ask for this computer to be allowed to relay",
            permanent=True,
        )

    def build(self, post: Post) -> EmailMessage:
        langs = post.langs(self.account)
        msg = EmailMessage()
        msg["Subject"] = post.text("email-subject", langs[0])
        msg["From"] = formataddr((post.title, self.sender)) if post.title else self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(post.published_at.timestamp(), localtime=False)
        msg["Message-ID"] = self.message_id(post)
        msg["X-Crisisdesk-Key"] = post.key
        if post.mode == "exercise":
            msg["X-Crisisdesk-Exercise"] = "yes"
        msg.make_mixed()
        msg["Content-Language"] = ", ".join(langs)  # after make_mixed, which moves Content-* headers down
        for lang in langs:
            part = EmailMessage()
            subject = post.text("email-subject", lang)
            body = post.text("email-body", lang)
            part.set_content(f"{subject}\n\n{body}\n")
            paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
            part.add_alternative(
                f'<!DOCTYPE html><html lang="{html.escape(lang)}"><body><h1>{html.escape(subject)}</h1>'
                f"{paragraphs}</body></html>",
                subtype="html",
            )
            part["Content-Language"] = lang  # last: set_content and add_alternative move Content-* headers
            msg.attach(part)
        return msg

    def message_id(self, post: Post) -> str:
        domain = self.sender.rpartition("@")[2] or socket.getfqdn()
        return f"<{post.key}@{domain}>"

    def send(self, post: Post) -> Receipt:
        if not self.recipients:  # an account added before 'to' was checked: to nobody is not sent
            raise ChannelError(
                f"{self.account.name} has no recipient: its 'to' setting names no email address; "
                "add the account again with the addresses",
                permanent=True,
            )
        message = self.build(post)
        smtp = self._connect()
        try:
            refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"the mail server refused every recipient: {exc.recipients}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == AUTH_NEEDED and not self.secret:
                raise self._needs_login(exc.smtp_code, exc.smtp_error) from None
            permanent = exc.smtp_code in PERMANENT_SMTP
            raise ChannelError(
                f"the mail server said {exc.smtp_code} {exc.smtp_error!r}", permanent=permanent
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(f"the mail server connection broke ({type(exc).__name__})") from None
        finally:
            _quit(smtp)
        note = f" (refused: {', '.join(refused)})" if refused else ""
        return Receipt(remote_id=message["Message-ID"] + note)


def _text(said: bytes | str) -> str:
    return (said.decode("utf-8", "replace") if isinstance(said, bytes) else said).strip()[:200]


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()

"""Email through an SMTP relay that takes no login (a real aiosmtpd relay on 127.0.0.1 that offers no AUTH and
refuses any login tried): plain SMTP (security=none) or STARTTLS without a secret, from the command line."""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import ExternalError, UserError
from crisisdesk.domain.roles import Actor
from tests.conftest import CliRun
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.smtp_server import REFUSED_DOMAIN, smtp_relay, smtp_server

SENDER = "alerts@millcounty.test"
TO = "residents@millcounty.test, press@millcounty.test"


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


def relay_settings(port: int, security: str, cert: Path, to: str = TO) -> list[str]:
    sets = ["host=127.0.0.1", f"port={port}", f"from={SENDER}", f"to={to}", f"security={security}"]
    return [*sets, f"cafile={cert}"] if security == "starttls" else sets


@pytest.mark.parametrize("security", ["none", "starttls"])
def test_a_relay_without_login_is_added_tested_and_sent_through(
    core: App, team: dict[str, Actor], cli_as: CliRun, tmp_path: Path, security: str
) -> None:
    with smtp_relay(tmp_path, starttls=security == "starttls") as (port, cert, relay):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as probe:  # the relay offers no login at all
            probe.ehlo()
            if security == "starttls":
                probe.starttls(context=ssl.create_default_context(cafile=str(cert)))
                probe.ehlo()
            assert not probe.has_extn("auth")
        sets = [arg for s in relay_settings(port, security, cert) for arg in ("--set", s)]
        code, out, err = cli_as("alice", "channels", "add", "email", "county-relay", *sets)  # no --secret-stdin
        assert code == 0, err
        assert "added county-relay: email, LIVE" in out
        code, out, err = cli_as("vic", "channels", "test", "county-relay")
        assert code == 0, err
        assert f"accepted the connection ({security}) and, without a login, the sender and 2 recipient(s)" in out
        assert relay.messages == []  # the test asked, it sent nothing

        inc = open_incident(core, team)
        msg = publish(core, team, inc, ["county-relay"])
        assert core.outbox().run_once().sent == 1
        (mail,) = relay.messages
        (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
        assert row.state == "sent" and mail["Message-ID"] == row.remote_id
        assert relay.envelopes == [(SENDER, ["residents@millcounty.test", "press@millcounty.test"])]
        assert relay.over_tls == [security == "starttls"]  # STARTTLS really used when asked for, and only then
        assert relay.auth_attempts == []  # no login was tried


def test_what_cannot_work_is_refused_when_the_channel_is_added(core: App, admin: Actor) -> None:
    plain = ["host=127.0.0.1", "port=2525", f"from={SENDER}", f"to={TO}", "security=none"]
    with pytest.raises(UserError, match="security=none would send the SMTP password in the clear"):
        core.channels().add(admin, "email", "leaky", settings=plain, secret="hunter2")
    with pytest.raises(UserError, match="username=clerk is for a login, but no SMTP password was given"):
        core.channels().add(admin, "email", "half", settings=[*plain[:-1], "username=clerk"])
    assert [a.name for a in core.channels().active() if a.kind.value == "email"] == []
    # A kind whose secret is not optional still needs it.
    with pytest.raises(UserError, match="needs its HMAC signing key"):
        core.channels().add(admin, "webhook", "hook", settings=["url=http://127.0.0.1:9/hook"])


def test_a_relay_that_refuses_a_recipient_is_found_by_the_test(
    core: App, team: dict[str, Actor], admin: Actor, tmp_path: Path
) -> None:
    with smtp_relay(tmp_path, starttls=False) as (port, cert, relay):
        to = f"residents@millcounty.test, news@{REFUSED_DOMAIN}"
        core.channels().add(admin, "email", "too-far", settings=relay_settings(port, "none", cert, to))
        with pytest.raises(ExternalError, match=rf"refused the recipient news@{REFUSED_DOMAIN} without a login \(554"):
            core.channels().test(team["vic"], "too-far")
        assert relay.messages == []


def test_a_relay_that_wants_starttls_or_a_login_says_so_at_the_test_and_at_the_send(
    core: App, team: dict[str, Actor], admin: Actor, tmp_path: Path
) -> None:
    for sub in ("relay", "server"):
        (tmp_path / sub).mkdir()
    with smtp_relay(tmp_path / "relay", starttls=True) as (port, cert, relay):
        core.channels().add(admin, "email", "plain-to-tls", settings=relay_settings(port, "none", cert))
        with pytest.raises(ExternalError, match=r"takes no mail without a login or STARTTLS \(530"):
            core.channels().test(team["vic"], "plain-to-tls")
        assert relay.messages == []
    with smtp_server(tmp_path / "server") as (port, cert, mailbox):
        core.channels().add(admin, "email", "no-password", settings=relay_settings(port, "starttls", cert))
        with pytest.raises(ExternalError, match=r"takes no mail without a login \(530.*--secret-stdin"):
            core.channels().test(team["vic"], "no-password")
        inc = open_incident(core, team)
        msg = publish(core, team, inc, ["no-password"])
        core.outbox().run_once()
        (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
        assert row.state == "dead" and "takes no mail without a login (530" in (row.reason or "")
        assert mailbox.messages == []

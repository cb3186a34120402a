"""Channels against real local servers: SMTP (aiosmtpd, STARTTLS and login), an SMS gateway, secrets kept out."""

from __future__ import annotations

import io
import json
import types
from datetime import timedelta
from pathlib import Path

import keyring
import pytest

from crisisdesk.app import App, log_dir
from crisisdesk.cli import main
from crisisdesk.credentials import KeyringSecrets, insecure_reason
from crisisdesk.domain.errors import ExternalError, PermissionDenied, UserError
from crisisdesk.domain.roles import Actor
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.file_keyring import FileKeyring
from tests.support.http_servers import sms_gateway, webhook_receiver
from tests.support.smtp_server import PASSWORD, USER, smtp_server


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def smtp(core: App, admin: Actor, tmp_path: Path):  # type: ignore[no-untyped-def]
    with smtp_server(tmp_path) as (port, cert, mailbox):
        core.channels().add(
            admin,
            "email",
            "county-mail",
            settings=[
                "host=127.0.0.1",
                f"port={port}",
                f"from={USER}",
                "to=residents@millcounty.test, press@millcounty.test",
                f"cafile={cert}",
            ],
            secret=PASSWORD,
        )
        yield port, cert, mailbox


def test_email_arrives_once_over_starttls_with_a_part_per_language(core: App, team, smtp) -> None:  # type: ignore[no-untyped-def]
    _, _, mailbox = smtp
    assert "accepted the connection (starttls) and the login" in core.channels().test(team["vic"], "county-mail")
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["county-mail"])
    report = core.outbox().run_once()
    assert report.sent == 1, report
    (mail,) = mailbox.messages
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert mail["Message-ID"] == f"<{row.idem_key}@millcounty.test>" == row.remote_id
    assert mailbox.envelopes[0][1] == ["residents@millcounty.test", "press@millcounty.test"]
    assert mail["Content-Language"] == "en, es" and "Flash Flood" in mail["Subject"]
    parts = [p for p in mail.iter_parts() if p["Content-Language"]]
    assert [p["Content-Language"] for p in parts] == ["en", "es"]
    for part in parts:
        kinds = [sub.get_content_type() for sub in part.iter_parts()]
        assert kinds == ["text/plain", "text/html"]
    spanish_html = next(parts[1].iter_parts()).get_content() + parts[1].get_payload()[1].get_content()
    assert "Mill Creek valley" in spanish_html and 'lang="es"' in spanish_html
    assert core.outbox().run_once().sent == 0


def test_a_wrong_smtp_password_is_dead_with_the_reason(core: App, team, admin, smtp) -> None:  # type: ignore[no-untyped-def]
    port, cert, mailbox = smtp
    core.channels().add(
        admin,
        "email",
        "wrong-mail",
        settings=["host=127.0.0.1", f"port={port}", f"from={USER}", "to=x@millcounty.test", f"cafile={cert}"],
        secret="not the password",
    )
    with pytest.raises(ExternalError, match="refused the login"):
        core.channels().test(team["vic"], "wrong-mail")
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["wrong-mail"])
    core.outbox().run_once()
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert row.state == "dead" and "refused the login (535)" in (row.reason or "")
    assert mailbox.messages == []


def test_an_untrusted_certificate_is_refused_not_ignored(core: App, team, admin, smtp) -> None:  # type: ignore[no-untyped-def]
    port, _, _ = smtp
    core.channels().add(
        admin,
        "email",
        "no-ca-mail",
        settings=["host=127.0.0.1", f"port={port}", f"from={USER}", "to=x@millcounty.test"],
        secret=PASSWORD,
    )
    with pytest.raises(ExternalError, match="certificate is not trusted"):
        core.channels().test(team["vic"], "no-ca-mail")


def test_email_cannot_be_retracted_and_says_so(core: App, team, smtp) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["county-mail", "public-page"])
    core.outbox().run_once()
    core.outbox().request_retract(team["ivan"], msg.id)
    report = core.outbox().run_once()
    assert (report.retracted, report.not_retractable) == (1, 1)
    states = {
        r.account: (r.retract_state, r.retract_reason) for r in core.outbox().rows(team["vic"], message_id=msg.id)
    }
    assert states["county-mail"] == ("impossible", "an email cannot be recalled once delivered")
    assert states["public-page"][0] == "retracted"


def test_sms_goes_to_every_recipient_once_even_when_cut_off_part_way(core: App, team, admin, clock) -> None:  # type: ignore[no-untyped-def]
    with sms_gateway() as (url, gateway):
        core.channels().add(
            admin,
            "sms",
            "county-sms",
            settings=[f"base_url={url}", f"account_sid={gateway.sid}", "from=+15550100", "to=+15550111,+15550122"],
            secret=gateway.token,
        )
        assert "signed in" in core.channels().test(team["vic"], "county-sms")
        inc = open_incident(core, team)
        msg = publish(core, team, inc, ["county-sms"])
        # The gateway stores the first text but the connection breaks before it answers.
        gateway.drop_after_create = True
        report = core.outbox().run_once()
        assert report.failed == 1 and len(gateway.messages) == 1
        gateway.drop_after_create = False
        clock.advance(timedelta(minutes=30))
        assert core.outbox().run_once().sent == 1
        assert sorted(m["to"] for m in gateway.messages) == ["+15550111", "+15550122"]  # nobody texted twice
        (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
        assert row.state == "sent" and row.remote_id == "SM" + "1".zfill(32) + ",SM" + "2".zfill(32)
        text = gateway.messages[0]["body"]
        assert "Mill Creek valley" in text and len(text) <= 4 * 153


def test_a_wrong_sms_token_is_refused_at_test_and_dead_at_send(core: App, team, admin) -> None:  # type: ignore[no-untyped-def]
    with sms_gateway() as (url, gateway):
        core.channels().add(
            admin,
            "sms",
            "bad-sms",
            settings=[f"base_url={url}", f"account_sid={gateway.sid}", "from=+15550100", "to=+15550111"],
            secret="wrong token",
        )
        with pytest.raises(ExternalError, match="refused the credentials"):
            core.channels().test(team["vic"], "bad-sms")
        msg = publish(core, team, open_incident(core, team), ["bad-sms"])
        core.outbox().run_once()
        (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
        assert row.state == "dead" and "HTTP 401" in (row.reason or "") and gateway.messages == []


def test_adding_channels_checks_settings_and_roles(core: App, team, admin) -> None:  # type: ignore[no-untyped-def]
    channels = core.channels()
    with pytest.raises(PermissionDenied, match="manage channels"):
        channels.add(team["carla"], "webhook", "x", settings=["url=http://127.0.0.1:9/"], secret="k")
    with pytest.raises(UserError, match="needs --set url="):
        channels.add(admin, "webhook", "x", secret="k")
    with pytest.raises(UserError, match="has no setting 'colour'"):
        channels.add(admin, "webhook", "x", settings=["url=http://127.0.0.1:9/", "colour=red"], secret="k")
    with pytest.raises(UserError, match="needs its HMAC signing key"):
        channels.add(admin, "webhook", "x", settings=["url=http://127.0.0.1:9/"])
    with pytest.raises(UserError, match="unknown channel kind 'fax'"):
        channels.add(admin, "fax", "x")
    with pytest.raises(UserError, match="already a channel named"):
        channels.add(admin, "folder", "public-page")


def test_secrets_live_in_the_keyring_and_nowhere_else(
    core: App, team, admin, tmp_path: Path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    secrets = {"hook": "hook-secret-7f3a9c", "sms": "sms-token-51be02"}
    with webhook_receiver() as (hook_url, _), sms_gateway(token=secrets["sms"]) as (sms_url, gateway):
        core.channels().add(admin, "webhook", "hook", settings=[f"url={hook_url}"], secret=secrets["hook"])
        core.channels().add(
            admin,
            "sms",
            "sms",
            settings=[f"base_url={sms_url}", f"account_sid={gateway.sid}", "from=+15550100", "to=+15550111"],
            secret=secrets["sms"],
        )
        account = core.channels().get("hook")
        assert keyring.get_password("crisisdesk", f"channel:{account.id}") == secrets["hook"]
        inc = open_incident(core, team)
        publish(core, team, inc, ["hook", "sms"])
        core.outbox().run_once()
        # A failure's reason names the channel, never the secret.
        core.channels().add(admin, "webhook", "dead-hook", settings=["url=http://127.0.0.1:9/x"], secret="dead-4471")
        publish(core, team, inc, ["dead-hook"], message_type="update")
        core.outbox().run_once()
    exports = []
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"audit.{fmt}"
        with out.open("w", encoding="utf-8", newline="") as fh:
            core.audit.export(admin, fmt, fh)
        exports.append(out)
    monkeypatch.setenv("CRISISDESK_PASSWORD", "vic password")
    printed = io.StringIO()
    code = main(["channels", "list", "--json", "--db", str(core.db.path), "--as", "vic"], stdout=printed)
    listing = capsys.readouterr()
    assert "hook" in printed.getvalue()
    core.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    home = Path(core.db.path).parent
    files = [p for p in home.rglob("*") if p.is_file()] + exports
    files += [p for p in log_dir().rglob("*") if p.is_file()]
    assert code == 0 and any(p.name.startswith("crisisdesk.sqlite3") for p in files)
    for secret in [*secrets.values(), "dead-4471"]:
        for path in files:
            assert secret.encode() not in path.read_bytes(), (secret, path)
        assert secret not in printed.getvalue() + listing.out + listing.err
    # Removing the channel removes its secret.
    core.channels().remove(admin, "hook")
    assert keyring.get_password("crisisdesk", f"channel:{account.id}") is None


def test_an_insecure_or_missing_keyring_is_refused_unless_the_user_opts_in(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A stand-in with keyrings.alt's module name (keyrings.alt itself is not installed here).
    plaintext = types.new_class("PlaintextKeyring", (FileKeyring,))
    plaintext.__module__ = "keyrings.alt.file"
    backend = plaintext()
    assert "keeps secrets in a readable file" in (insecure_reason(backend) or "")
    from keyring.backends import fail

    assert "no OS keyring is available" in (insecure_reason(fail.Keyring()) or "")
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    with pytest.raises(UserError, match="CRISISDESK_ALLOW_INSECURE_KEYRING=1"):
        KeyringSecrets().set("ch-1", "secret")
    allowed = KeyringSecrets(allow_insecure=True)
    allowed._check()  # the opt-in passes the check (storing is then the backend's business)


def test_channels_from_the_command_line(core: App, team, admin, cli_as) -> None:  # type: ignore[no-untyped-def]
    run = cli_as

    code, out, err = run(
        "alice", "channels", "add", "apprise", "catch-all", "--secret-stdin", stdin="json://127.0.0.1:9/"
    )
    assert code == 0, err
    assert "cannot retract what it sends" in out and "Apprise returns no remote id" in out
    code, out, _ = run("vic", "channels", "list", "--json")
    listed = {c["name"]: c for c in json.loads(out)}
    assert listed["catch-all"]["can_retract"] is False and listed["exercise-page"]["mode"] == "exercise"
    code, out, _ = run("vic", "channels", "list")
    assert "cannot retract (Apprise returns no remote id" in out
    code, _, err = run("carla", "channels", "remove", "catch-all")
    assert code == 2 and "manage channels" in err
    assert run("alice", "channels", "remove", "catch-all")[0] == 0
    code, _, err = run("alice", "channels", "add", "webhook", "h", "--set", "url=http://x")
    assert code == 2 and "--secret-stdin" in err

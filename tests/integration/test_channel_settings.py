"""Channel settings that cannot work are refused when the account is added; accounts added before these checks
(their settings in the log as they were) fail with a reason instead of reporting SENT (issue 11)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.conftest import ADMIN, CliRun
from tests.integration.outbox_helpers import add_team, open_incident, publish

MAIL = ["host=127.0.0.1", "port=2525", "from=alerts@millcounty.test", "to=residents@millcounty.test"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("cafile", ["/dev/zero", "missing.pem", "folder", "unreadable.pem"])
def test_an_email_cafile_that_is_not_a_readable_file_is_refused(
    core: App, admin: Actor, tmp_path: Path, cafile: str
) -> None:
    (tmp_path / "folder").mkdir()
    unreadable = tmp_path / "unreadable.pem"
    unreadable.write_text("-----BEGIN CERTIFICATE-----\n")
    unreadable.chmod(0)
    if cafile == "unreadable.pem" and os.access(unreadable, os.R_OK):
        pytest.skip("running as root: every file is readable")
    path = cafile if cafile.startswith("/") else str(tmp_path / cafile)
    with pytest.raises(UserError, match="cafile"):
        core.channels().add(admin, "email", "mail", settings=[*MAIL, f"cafile={path}"], secret="pw")
    assert "mail" not in {a.name for a in core.channels().active()}


def test_a_readable_cafile_is_kept_as_an_absolute_path(
    core: App, admin: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "county-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.chdir(tmp_path)  # the worker runs elsewhere: a relative path would name another file there
    account = core.channels().add(admin, "email", "mail", settings=[*MAIL, "cafile=county-ca.pem"], secret="pw")
    assert account.settings["cafile"] == str(tmp_path / "county-ca.pem")


def test_the_hostile_testers_accounts_are_refused_at_add(cli_as: CliRun, tmp_path: Path) -> None:
    """The settings that made the outbox log tracebacks (or send into another room, or to nobody)."""
    attempts = [
        ("webhook", ["url=http://[::1"]),
        ("webhook", ["url=notaurl"]),
        ("webhook", ["url=http://127.0.0.1:99999/x"]),
        ("webhook", ["url=http://a\x00b/"]),
        ("matrix", ["base_url=ftp://x", "room=!a:x"]),
        ("matrix", ["base_url=https://evil.example/_matrix/client/v3/rooms/!b:x/send/m.room.message/1?", "room=!a:x"]),
        ("matrix", ["base_url=http://127.0.0.1:9", "room=!a:x/../../rooms/!b:x"]),
        ("email", [*MAIL[:1], "port=notaport", *MAIL[2:]]),
        ("email", [*MAIL[:1], "port=99999999999999999999", *MAIL[2:]]),
        ("email", ["host=x\ny", *MAIL[1:]]),
        ("email", [*MAIL, "cafile=/dev/zero", "security=tls"]),
        ("sms", ["base_url=http://127.0.0.1:9", "account_sid=AC1", "from=+15550100", "to=,,,"]),
    ]
    for n, (kind, settings) in enumerate(attempts):
        sets = [x for s in settings for x in ("--set", s)]
        code, out, err = cli_as(ADMIN, "channels", "add", kind, f"bad-{n}", *sets, "--secret-stdin", stdin="tok\n")
        assert code == 2, (kind, settings, out, err)
        assert err.startswith("crisisdesk: error: ") and err.count("\n") == 1, err
    code, out, _ = cli_as(ADMIN, "channels", "list")
    assert "bad-" not in out


# -- accounts added before the checks ----------------------------------------------------------------------


def add_unchecked(core: App, kind: str, name: str, settings: dict[str, str], secret: str) -> None:
    """An account as an older crisisdesk recorded it, before its settings were checked at add."""
    account = f"ch-{uuid.uuid4().hex[:10]}"
    core.secrets.set(account, secret)
    with core.db.write() as conn:
        core.log.record(
            conn,
            ADMIN,
            Kind.CHANNEL_ADDED,
            {"account": account, "name": name, "kind": kind, "exercise": False, "settings": settings},
        )


def test_an_sms_or_email_account_with_no_recipient_never_reports_sent(core: App, admin: Actor) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    add_unchecked(
        core, "sms", "old-sms", {"base_url": dead, "account_sid": "AC1", "from": "+15550100", "to": ",,,"}, "t"
    )
    mail = {"host": "127.0.0.1", "port": str(closed_port()), "from": "alerts@millcounty.test", "to": " , "}
    add_unchecked(core, "email", "old-mail", mail, "pw")
    team = add_team(core, admin)
    msg = publish(core, team, open_incident(core, team), ["public-page", "old-sms", "old-mail"])
    core.outbox().run_once()
    rows = {r.account: r for r in core.outbox().rows(team["vic"], message_id=msg.id)}
    assert rows["public-page"].state == "sent"
    for name in ("old-sms", "old-mail"):
        assert rows[name].state == "dead", (name, rows[name])
        assert "no recipient" in (rows[name].reason or ""), rows[name].reason

"""Channel settings that cannot work are refused when the account is added; accounts added before these checks
(their settings in the log as they were) fail with a reason instead of reporting SENT (issue 11)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Actor
from tests.conftest import ADMIN, CliRun

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

"""Hostile tests (issue 16): hub URLs no hub can have, typed at `crisisdesk hub join`. One line, never exit 70."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from crisisdesk.cli import main

INTERNAL = 70


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@127.0.0.1:1/db%00x",
        "postgresql://u%00@127.0.0.1:1/db",
        "postgresql://u@127.0.0.1:0/db",
        "postgresql://u@127.0.0.1:1/db?sslmode=bogus",
        "postgresql://u@127.0.0.1:1/db?application_name=%00",
        "postgresql://u@127.0.0.1:1/db?options=%00",
        "postgresql://u@exa mple.org/db",
        "postgresql://u@" + "a" * 300 + "/db",
        "postgresql://u@127.0.0.1:1/" + "d" * 5000,
        "postgresql://u:p%00w@127.0.0.1:1/db",
        "postgresql://u@127.0.0.1:1/db?sslmode=require&sslmode=disable",
        "postgresql://u@127.0.0.1:1/db?sslrootcert=/nonexistent/ca.pem&sslmode=verify-full",
    ],
)
def test_a_hub_url_no_hub_can_have_is_one_line(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["hub", "join", url, "--workstation", "EOC desk 2", "--password-stdin", "--db", str(tmp_path / "x.sqlite3")],
        stdin=io.StringIO("secret\n"),
        stdout=io.StringIO(),
    )
    err = capsys.readouterr().err
    assert code != INTERNAL and code != 0, (code, err)
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, err

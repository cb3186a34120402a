"""crisisdesk hub init|join|status and sync --once against a real PostgreSQL: what a person types and reads, the
password kept out of every output and of SQLite, and every mistake one line with its exit code (never 70)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from crisisdesk.cli import main
from tests.support.postgres import HubDatabase

PASSWORD = "correct horse"


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(args), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def founded(
    tmp_path: Path, hub_db: HubDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    monkeypatch.setenv("CRISISDESK_PASSWORD", PASSWORD)
    db = tmp_path / "a.sqlite3"
    code, _, err = run(capsys, "init", "--db", str(db), "--admin", "alice")
    assert code == 0, err
    code, out, err = run(capsys, "hub", "init", hub_db.url_with_password, "--db", str(db), "--as", "alice")
    assert code == 0, err
    assert f"founded the team hub {hub_db.url}" in out
    assert hub_db.password not in out + err
    return db


def test_found_join_status_and_sync(
    founded: Path, tmp_path: Path, hub_db: HubDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    joined = tmp_path / "b.sqlite3"
    code, out, err = run(
        capsys, "hub", "join", hub_db.url, "--workstation", "EOC desk 2", "--password-stdin", "--db", str(joined),
        stdin=hub_db.password + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert "joined the team at" in out and "EOC desk 2" in out
    code, out, err = run(capsys, "hub", "status", "--json", "--db", str(joined))
    assert code == 0, err
    status = json.loads(out)
    assert status["connected"] is True and status["hub_url"] == hub_db.url
    assert status["to_push"] == 0 and status["to_apply"] == 0 and status["equivocations"] == 0
    code, out, err = run(capsys, "sync", "--once", "--db", str(founded))
    assert code == 0, err
    assert out.startswith("pushed 0, applied 2")  # the joined workstation's identity and key
    code, out, _ = run(capsys, "hub", "status", "--db", str(founded))
    assert "connected: yes" in out and "waiting to push: 0" in out
    for path in tmp_path.glob("*.sqlite3*"):
        assert hub_db.password.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["hub", "init", "mysql://u@h/db"], 2, "must start with postgresql://"),
        (["hub", "init", "postgresql://u@h"], 2, "names no database"),
        (["hub", "status", "--json"], 0, '"configured": false'),
        (["sync", "--once"], 2, "no hub is set up on this workstation"),
    ],
)
def test_mistakes_before_a_hub(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    says: str,
) -> None:
    monkeypatch.setenv("CRISISDESK_PASSWORD", PASSWORD)
    db = tmp_path / "a.sqlite3"
    assert run(capsys, "init", "--db", str(db), "--admin", "alice")[0] == 0
    got, out, err = run(capsys, *args, "--db", str(db), "--as", "alice")
    assert got == code, (out, err)
    assert says in out + err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 1


def test_hub_mistakes_are_one_line(
    founded: Path, tmp_path: Path, hub_db: HubDatabase, capsys: pytest.CaptureFixture[str]
) -> None:
    server = hub_db.server
    cases = [
        # a wrong password: refused by the hub, the password never echoed
        (
            ["hub", "join", server.url(hub_db.name, password="guess"), "--workstation", "x"],
            3,
            "password authentication",
        ),
        # no such database
        (["hub", "join", server.url("nothere", password=hub_db.password), "--workstation", "x"], 3, "not reachable"),
        # a database that is not a hub
        (["hub", "join", server.url("postgres", password=hub_db.password), "--workstation", "x"], 2, "not set up"),
        # nothing listening there
        (["hub", "join", "postgresql://hub@127.0.0.1:1/x", "--workstation", "x"], 3, "not reachable"),
    ]
    for i, (args, code, says) in enumerate(cases):
        target = tmp_path / f"new{i}.sqlite3"
        got, out, err = run(capsys, *args, "--db", str(target))
        assert got == code, (args, out, err)
        assert says in err and "guess" not in err and hub_db.password not in err
        assert len(err.strip().splitlines()) == 1, err
    # Joining with a database that is already a workstation's.
    got, _, err = run(capsys, "hub", "join", hub_db.url_with_password, "--workstation", "x", "--db", str(founded))
    assert got == 2 and "already set up" in err
    # The hub down: sync says so in one line, exit 3; the workstation's own work is untouched.
    server.stop()
    got, _, err = run(capsys, "sync", "--once", "--db", str(founded))
    assert got == 3 and "not reachable" in err and len(err.strip().splitlines()) == 1
    got, out, _ = run(capsys, "hub", "status", "--db", str(founded))
    assert got == 0 and "connected: no" in out and "last error: " in out
    got, out, _ = run(capsys, "audit", "verify", "--db", str(founded))
    assert got == 0, out
    assert "hub not reachable: " in out and "(checked against the local evidence only)" in out
    server.start()

"""The command line: conventions, people, audit verify and export, and tampering found by verify."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from crisisdesk import __version__
from crisisdesk.cli import build_parser, main
from crisisdesk.domain.events import seal

PASSWORD = "correct horse"


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def cli(db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def run(*args: str, stdin: str = "", password: str | None = PASSWORD, db: bool = True) -> Result:
        if password is None:
            monkeypatch.delenv("CRISISDESK_PASSWORD", raising=False)
        else:
            monkeypatch.setenv("CRISISDESK_PASSWORD", password)
        argv = [*args, "--db", str(db_path)] if db else list(args)
        out = io.StringIO()
        code = main(argv, stdin=io.StringIO(stdin), stdout=out)
        return Result(code, out.getvalue(), capsys.readouterr().err)

    return run


@pytest.fixture
def initialised(cli):  # type: ignore[no-untyped-def]
    r = cli("init", "--admin", "alice", "--password-stdin", "--workstation-name", "EOC desk 1", stdin=PASSWORD + "\n")
    assert r.code == 0, r.err
    r = cli(
        "users",
        "add",
        "bob",
        "--role",
        "communicator",
        "--role",
        "approver",
        "--password-stdin",
        "--as",
        "alice",
        stdin="bob password\n",
    )
    assert r.code == 0, r.err
    return cli


def one_line_error(r: Result, code: int = 2) -> str:
    assert r.code == code, (r.out, r.err)
    assert r.err.startswith("crisisdesk: error: ")
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    return r.err


# -- conventions ------------------------------------------------------------------------------------


def test_version(cli, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"crisisdesk {__version__}"


def _commands(parser, prefix=()):  # type: ignore[no-untyped-def]
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


COMMANDS = list(_commands(build_parser()))


def test_every_command_is_listed() -> None:
    assert {
        "init",
        "users add",
        "users list",
        "users grant",
        "users revoke",
        "audit verify",
        "audit export",
        "gui",
    } <= {" ".join(c) for c in COMMANDS}


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "crisisdesk")
def test_help_on_every_command(command: tuple[str, ...], capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: crisisdesk" in capsys.readouterr().out


def test_a_bad_flag_is_one_line_and_exit_2(initialised) -> None:  # type: ignore[no-untyped-def]
    err = one_line_error(initialised("users", "list", "--colour", "--as", "alice"))
    assert "unrecognized arguments: --colour" in err


def test_a_missing_database_is_one_line_and_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    err = one_line_error(cli("users", "list", "--as", "alice", "--db", str(tmp_path / "none.sqlite3"), db=False))
    assert "no database at" in err and "crisisdesk init" in err


def test_unknown_user_and_wrong_password_are_exit_2(initialised) -> None:  # type: ignore[no-untyped-def]
    assert "unknown user or wrong password" in one_line_error(initialised("users", "list", "--as", "zed"))
    assert "unknown user or wrong password" in one_line_error(
        initialised("users", "list", "--as", "alice", password="nope nope")
    )


def test_no_password_and_no_terminal_is_exit_2(initialised, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(os, "open", lambda *a, **k: (_ for _ in ()).throw(OSError("no tty")))
    err = one_line_error(initialised("users", "list", "--as", "alice", password=None))
    assert "CRISISDESK_PASSWORD" in err


def test_commands_that_act_need_as(initialised) -> None:  # type: ignore[no-untyped-def]
    assert "needs --as NAME" in one_line_error(initialised("users", "list"))


def test_the_database_comes_from_the_environment_when_not_given(cli, db_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRISISDESK_DB", str(db_path))
    r = cli("init", "--admin", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=False)
    assert r.code == 0 and db_path.exists()


def test_the_default_database_lives_in_the_user_data_folder(cli, isolated_user_folders: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("init", "--admin", "alice", "--password-stdin", stdin=PASSWORD + "\n", db=False)
    assert r.code == 0, r.err
    assert (isolated_user_folders / "data" / "crisisdesk" / "crisisdesk.sqlite3").exists()


def test_init_refuses_a_second_time_and_a_short_password(cli, initialised) -> None:  # type: ignore[no-untyped-def]
    assert "already set up" in one_line_error(cli("init", "--admin", "x", "--password-stdin", stdin="whatever pw\n"))
    assert "at least 8" in one_line_error(cli("init", "--admin", "x", "--password-stdin", stdin="short\n"))


# -- people ------------------------------------------------------------------------------------------


def test_users_list_as_text_and_json(initialised) -> None:  # type: ignore[no-untyped-def]
    r = initialised("users", "list", "--as", "bob", password="bob password")
    assert r.code == 0
    assert r.out.splitlines() == ["NAME   ROLES", "alice  admin", "bob    approver, communicator"]
    data = initialised("users", "list", "--json", "--as", "alice").json()
    assert [(p["name"], p["roles"]) for p in data] == [("alice", ["admin"]), ("bob", ["approver", "communicator"])]


def test_grant_and_revoke_from_the_command_line(initialised) -> None:  # type: ignore[no-untyped-def]
    r = initialised("users", "grant", "bob", "--role", "viewer", "--role", "approver", "--as", "alice")
    assert r.code == 0
    assert r.out.splitlines() == ["bob: granted viewer", "bob: already has approver"]
    r = initialised("users", "revoke", "bob", "--role", "viewer", "--as", "alice")
    assert r.out.strip() == "bob: revoked viewer"
    assert "unknown role 'boss'" in one_line_error(
        initialised("users", "grant", "bob", "--role", "boss", "--as", "alice")
    )


def test_only_admins_manage_people_from_the_command_line(initialised) -> None:  # type: ignore[no-untyped-def]
    err = one_line_error(
        initialised("users", "grant", "bob", "--role", "admin", "--as", "bob", password="bob password")
    )
    assert "bob may not manage people" in err


# -- audit -------------------------------------------------------------------------------------------


def test_verify_passes_on_an_intact_log(initialised) -> None:  # type: ignore[no-untyped-def]
    r = initialised("audit", "verify")
    assert r.code == 0
    assert r.out.startswith("audit log intact: 8 entries verified")
    data = initialised("audit", "verify", "--json").json()
    assert data["ok"] is True and data["checked"] == 8


def test_export_jsonl_carries_the_hashed_bytes(initialised, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "audit.jsonl"
    r = initialised("audit", "export", "--format", "jsonl", "--out", str(out), "--as", "alice")
    assert r.code == 0 and "exported 8 entries" in r.err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6, 7, 8]
    for line in lines:  # anyone can check an export without crisisdesk
        assert hashlib.sha256(line["body"].encode()).hexdigest() == line["hash"]
        assert json.loads(line["body"])["payload"] == line["payload"]
    assert lines[6]["kind"] == "user.added" and lines[6]["actor"] == "alice"
    # The export is itself on the record, naming the last entry it carried.
    r = initialised("audit", "export", "--format", "jsonl", "--as", "bob", password="bob password")
    last = json.loads(r.out.splitlines()[-1])
    assert last["kind"] == "audit.exported" and last["actor"] == "alice"
    assert last["payload"] == {"format": "jsonl", "entries": 8, "last_hash": lines[-1]["hash"]}


def test_export_csv_to_stdout(initialised) -> None:  # type: ignore[no-untyped-def]
    r = initialised("audit", "export", "--format", "csv", "--as", "alice")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert len(rows) == 8
    assert rows[0]["kind"] == "workstation.created"
    assert all(hashlib.sha256(row["body"].encode()).hexdigest() == row["hash"] for row in rows)
    assert json.loads(rows[6]["payload"])["roles"] == ["approver", "communicator"]


def test_export_rejects_a_bad_format_and_a_missing_folder(initialised, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one_line_error(initialised("audit", "export", "--format", "xml", "--as", "alice"))
    err = one_line_error(
        initialised("audit", "export", "--format", "csv", "--out", str(tmp_path / "no" / "x.csv"), "--as", "alice")
    )
    assert "does not exist" in err


def test_export_never_replaces_a_device_a_pipe_or_a_link(initialised, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    for target, what in ((pipe, "a named pipe"), (link, "a symbolic link"), (tmp_path, "a folder")):
        err = one_line_error(initialised("audit", "export", "--format", "jsonl", "--out", str(target), "--as", "alice"))
        assert what in err, err
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and link.is_symlink() and os.readlink(link) == "/dev/null"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crisisdesk.sqlite3", "null", "pipe"]  # no temporary left
    # As root, renaming over /dev/full replaced the device node; now it is refused before anything is written.
    before = os.lstat("/dev/full")
    err = one_line_error(initialised("audit", "export", "--format", "csv", "--out", "/dev/full", "--as", "alice"))
    assert "a character device" in err
    after = os.lstat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [p for p in Path("/dev").iterdir() if p.name.startswith(".full.")]
    # A regular file is replaced whole.
    old = tmp_path / "old.jsonl"
    old.write_text("yesterday's export\n")
    r = initialised("audit", "export", "--format", "jsonl", "--out", str(old), "--as", "alice")
    assert r.code == 0, r.err
    assert old.is_file() and "yesterday" not in old.read_text() and json.loads(old.read_text().splitlines()[0])


# -- tampering: each edits the file directly after dropping the triggers -------------------------------------


def tamper(db_path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("DROP TRIGGER events_no_delete")
    for i, sql in enumerate(statements):
        conn.execute(sql, params if i == len(statements) - 1 else ())
    conn.close()


def verify_fails_at(cli, position: int) -> str:  # type: ignore[no-untyped-def]
    r = cli("audit", "verify")
    assert r.code == 1, r.out
    assert r.out.startswith((f"audit log broken at entry #{position} ", f"audit log broken at entry #{position}:"))
    assert "seq None" not in r.out
    data = cli("audit", "verify", "--json").json()
    assert data["ok"] is False and data["bad_position"] == position
    return str(r.out)


def test_an_edited_entry_is_found(initialised, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    tamper(
        db_path,
        "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'communicator', 'admin') AS BLOB) "
        "WHERE position = 7",
    )
    assert "edited" in verify_fails_at(initialised, 7)


def test_a_deleted_entry_is_found(initialised, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    tamper(db_path, "DELETE FROM events WHERE position = 3")
    assert "seq 3 is missing" in verify_fails_at(initialised, 4)


def test_an_inserted_entry_is_found_even_with_a_correct_hash_and_link(initialised, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(db_path)
    ws, prev = conn.execute("SELECT workstation_id, hash FROM events WHERE position = 2").fetchone()
    conn.close()
    forged = seal(
        workstation_id=ws,
        seq=3,
        at="2026-11-22T09:30:00.000000+00:00",
        actor="alice",
        kind="user.role_granted",
        payload={"name": "mallory", "role": "admin"},
        prev_hash=prev,
    )
    tamper(
        db_path,
        "DROP INDEX events_ws_seq",  # the unique (workstation, seq) index alone would refuse the forgery
        "UPDATE events SET position = position + 1000 WHERE position >= 3",
        "UPDATE events SET position = position - 999 WHERE position >= 1000",
        "INSERT INTO events (position, hash, body) VALUES (3, ?, ?)",
        params=(forged.hash, forged.body),
    )
    assert "inserted" in verify_fails_at(initialised, 4)


def test_reordered_entries_are_found(initialised, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    tamper(
        db_path,
        "UPDATE events SET position = 100 WHERE position = 3",
        "UPDATE events SET position = 3 WHERE position = 4",
        "UPDATE events SET position = 4 WHERE position = 100",
    )
    verify_fails_at(initialised, 3)


def test_a_swapped_events_table_is_found(initialised, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    tamper(
        db_path,
        "CREATE TABLE forged AS SELECT * FROM events",
        "DROP TABLE events",
        "ALTER TABLE forged RENAME TO events",
    )
    assert "different shape" in verify_fails_at(initialised, 0)


# -- the installed command, as a person runs it -----------------------------------------------------------


def test_the_real_command_never_shows_a_traceback_for_a_mistake(tmp_path: Path) -> None:
    env = {**os.environ, "CRISISDESK_DB": str(tmp_path / "x.sqlite3")}
    env.pop("CRISISDESK_PASSWORD", None)
    for args, code in (
        (["users", "list", "--as", "alice"], 2),
        (["audit", "verify", "--bogus"], 2),
        (["--version"], 0),
    ):
        p = subprocess.run(
            [sys.executable, "-m", "crisisdesk", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert p.returncode == code, p.stderr
        assert "Traceback" not in p.stderr
    init = subprocess.run(
        [sys.executable, "-m", "crisisdesk", "init", "--admin", "alice", "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    verify = subprocess.run(
        [sys.executable, "-m", "crisisdesk", "audit", "verify", "--json"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0 and orjson.loads(verify.stdout)["checked"] == 6


def test_disable_enable_and_reset_a_password_from_the_command_line(initialised) -> None:  # type: ignore[no-untyped-def]
    r = initialised("users", "disable", "bob", "--as", "alice")
    assert r.out.strip() == "bob: disabled; they cannot sign in, and their past stays in the log"
    assert initialised("users", "disable", "bob", "--as", "alice").out.strip() == "bob: already disabled"
    assert "bob is disabled and cannot sign in" in one_line_error(
        initialised("users", "list", "--as", "bob", password="bob password")
    )
    r = initialised("users", "list", "--as", "alice")
    assert r.out.splitlines()[-1] == "bob    approver, communicator  (disabled: cannot sign in)"
    assert initialised("users", "list", "--json", "--as", "alice").json()[1]["disabled"] is True
    assert "last admin who can sign in" in one_line_error(initialised("users", "disable", "alice", "--as", "alice"))
    assert initialised("users", "enable", "bob", "--as", "alice").out.strip() == "bob: enabled; they may sign in again"
    r = initialised("users", "reset-password", "bob", "--password-stdin", "--as", "alice", stdin="bob's new one\n")
    assert r.out.strip() == "bob: password reset; the old one no longer works"
    assert initialised("users", "list", "--as", "bob", password="bob's new one").code == 0
    assert "wrong password" in one_line_error(initialised("users", "list", "--as", "bob", password="bob password"))
    assert "--password-stdin" in one_line_error(initialised("users", "reset-password", "bob", "--as", "alice"))


# -- signing keys (issue 16: signed events) ---------------------------------------------------------


def test_workstation_keys_are_listed_replaced_and_revoked_from_the_command_line(initialised) -> None:  # type: ignore[no-untyped-def]
    keys = initialised("workstation", "keys", "--json").json()
    assert isinstance(keys, list) and len(keys) == 1 and keys[0]["how"] == "joined" and keys[0]["ended"] is None
    ws, first = keys[0]["workstation"], keys[0]["key"]
    r = initialised("workstation", "join", "--as", "alice")
    assert r.code == 0 and r.out == f"already signing with {first}\n"
    err = one_line_error(initialised("workstation", "rotate-key", "--as", "bob", password="bob password"))
    assert "needs the role admin" in err
    r = initialised("workstation", "rotate-key", "--as", "alice")
    assert r.code == 0, r.err
    second = r.out.split("signing with ")[1].split()[0]
    assert second != first
    err = one_line_error(initialised("workstation", "revoke-key", ws, second, "--reason", "stolen", "--as", "alice"))
    assert "replace it first" in err
    r = initialised("workstation", "revoke-key", ws, first, "--reason", "old laptop sold", "--as", "alice")
    assert r.code == 0, r.err
    listed = {k["key"]: k for k in initialised("workstation", "keys", "--json").json()}
    assert listed[first]["ended"].startswith("revoked at ") and listed[second]["ended"] is None
    text = initialised("workstation", "keys").out
    assert f"key {second}" in text and "in use" in text
    r = initialised("audit", "verify")
    assert r.code == 0 and r.out.splitlines()[-1] == "signatures good: 10 of 11 entries signed"  # all but the creation

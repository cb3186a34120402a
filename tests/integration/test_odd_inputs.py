"""Odd inputs a person, a file or a damaged disk can give the command line: each is a one-line error or works;
never exit 70, never a hang, never a traceback on the terminal (issue 11, the hostile tester's findings)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.cli import main
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Actor
from crisisdesk.services.passwords import Argon2Hasher
from tests.conftest import ADMIN, ADMIN_PASSWORD, CliRun
from tests.integration.outbox_helpers import add_team, open_incident, publish


def run(*argv: str, stdin: str = "", capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def one_line(text: str) -> str:
    assert text.count("\n") == 1 and "Traceback" not in text, text
    return text


@pytest.fixture
def closed_db(tmp_path: Path) -> Path:
    """A set-up workstation (alice, admin), closed so everything is in the main file."""
    path = tmp_path / "crisisdesk.sqlite3"
    app = App.open(path, create=True, clock=FixedClock(), hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.initialise(ADMIN, ADMIN_PASSWORD, workstation_name="EOC desk 1")
    app.close()
    return path


# -- a damaged database ----------------------------------------------------------------------------------


def test_the_damage_line_gives_its_advice_once(closed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truncated = closed_db.with_name("truncated.sqlite3")
    shutil.copy(closed_db, truncated)
    os.truncate(truncated, 8192)  # two pages: the schema points at pages that are gone
    code, out, err = run("audit", "verify", "--db", str(truncated), capsys=capsys)
    assert code == 1, (out, err)
    assert one_line(out).startswith("database file damaged:")
    assert out.count("restore it from a backup") == 1, out


# -- names with a line end --------------------------------------------------------------------------------


def test_a_second_carla_with_a_trailing_newline_cannot_be_added(
    closed_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # "carla\n" passed the name check, and as a second person approved carla's own message.
    monkeypatch.setenv("CRISISDESK_PASSWORD", ADMIN_PASSWORD)
    add = ("users", "add", "--role", "approver", "--password-stdin", "--as", ADMIN, "--db", str(closed_db))
    code, out, err = run(*add, "carla\n", stdin="second password\n", capsys=capsys)
    assert code == 2, (out, err)
    assert one_line(err).startswith("crisisdesk: error: invalid user name")
    code, out, err = run("users", "list", "--as", ADMIN, "--db", str(closed_db), capsys=capsys)
    assert code == 0 and "carla" not in out, (out, err)


def test_a_feed_name_with_a_trailing_newline_is_refused(core: App, admin: Actor) -> None:
    with pytest.raises(UserError, match="invalid feed name"):
        core.feeds().add(admin, "quakes\n", "https://earthquake.example.gov/feed.json", "geojson")


# -- files a person names: only regular files, and only so much of them ------------------------------------

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 60  # seconds: these answer in about one; a command that reads forever fails here instead of hanging


def crisisdesk(*argv: str, password: str | None = None, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """The real command in its own process, as a person runs it (a hang is a failure at the deadline)."""
    env = {**os.environ, "CRISISDESK_PASSWORD": password or "", "PYTHONPATH": str(REPO)}
    p = subprocess.run(
        [sys.executable, "-m", "crisisdesk", *argv],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        env=env,
        timeout=DEADLINE,
        check=False,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)  # reading it waits for a writer that never comes
    return path


@pytest.fixture
def draft(core: App, admin: Actor) -> str:
    team = add_team(core, admin)
    return core.messages().draft(team["carla"], open_incident(core, team), "alert").id


@pytest.mark.parametrize("source", ["/dev/zero", "/dev/urandom", "fifo", "folder"])
def test_a_text_file_that_never_ends_is_refused(core: App, draft: str, fifo: Path, source: str) -> None:
    path = {"fifo": str(fifo), "folder": str(fifo.parent)}.get(source, source)
    edit = ("message", "edit", draft, "--channel", "web", "--lang", "en", "--as", "carla", "--db", str(core.db.path))
    p = crisisdesk(*edit, "--text-file", path, password="carla password")
    assert p.returncode == 2, p.stderr
    assert one_line(p.stderr).startswith(f"crisisdesk: error: --text-file {path} is not a regular file"), p.stderr
    assert core.messages().show(core.people.actor("carla"), draft).version == 1


def test_a_text_file_is_read_only_up_to_its_limit(core: App, draft: str, tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.truncate(4 * 1024**3)  # 4 GiB of holes: reading it whole would take the memory and the time
    edit = ("message", "edit", draft, "--channel", "web", "--lang", "en", "--as", "carla", "--db", str(core.db.path))
    p = crisisdesk(*edit, "--text-file", str(huge), password="carla password")
    assert p.returncode == 2, p.stderr
    err = one_line(p.stderr)
    assert f"--text-file {huge} is larger than 128,000 bytes" in err and "at most 32,000 characters" in err, err


def test_text_on_standard_input_is_read_only_up_to_its_limit(core: App, draft: str, cli_as: CliRun) -> None:
    edit = ("message", "edit", draft, "--channel", "web", "--lang", "en", "--text-file", "-")
    code, out, err = cli_as("carla", *edit, stdin="x" * 10_000_000)
    assert code == 2, (out, err)
    assert "standard input holds more than 32,000 characters" in one_line(err), err


def test_a_cap_file_or_a_rules_file_that_never_ends_is_refused(core: App, fifo: Path, tmp_path: Path) -> None:
    for path in (str(fifo), "/dev/zero"):
        p = crisisdesk("cap", "validate", path)
        assert p.returncode == 2, p.stderr
        assert one_line(p.stderr).startswith(f"crisisdesk: error: {path} is not a regular file"), p.stderr
        p = crisisdesk("rules", "set", path, "--as", ADMIN, "--db", str(core.db.path), password=ADMIN_PASSWORD)
        assert p.returncode == 2, p.stderr
        assert one_line(p.stderr).startswith(f"crisisdesk: error: {path} is not a regular file"), p.stderr
    big = tmp_path / "big-alert.xml"
    big.write_bytes(b"<alert>" + b" " * 2 * 1024 * 1024 + b"</alert>")
    p = crisisdesk("cap", "validate", str(big))
    assert p.returncode == 2 and "is larger than 1,048,576 bytes" in one_line(p.stderr), p.stderr


def test_a_database_path_that_is_a_pipe_or_a_device_is_refused(core: App, fifo: Path) -> None:
    for path in (str(fifo), "/dev/zero", "/dev/null"):
        for argv in (["audit", "verify"], ["users", "list", "--as", ADMIN]):
            p = crisisdesk(*argv, "--db", path, password=ADMIN_PASSWORD)
            assert p.returncode == 2, (argv, path, p.stderr)
            assert one_line(p.stderr).startswith(f"crisisdesk: error: {path} is not a regular file"), p.stderr
    assert Path("/dev/null").is_char_device()


def test_a_password_on_standard_input_is_read_only_up_to_its_limit(
    closed_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISISDESK_PASSWORD", ADMIN_PASSWORD)
    add = ("users", "add", "dora", "--role", "viewer", "--password-stdin", "--as", ADMIN, "--db", str(closed_db))
    code, out, err = run(*add, stdin="p" * 1_000_000, capsys=capsys)
    assert code == 2, (out, err)
    assert "more than 65,536 characters" in one_line(err), err


# -- damaged text in the schema, numbers out of range, output that cannot be written -------------------------


def test_a_table_name_that_is_not_utf8_is_damage_not_a_crash(
    closed_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A damaged schema page: SQLite's error quotes the name, and Python could not decode the error itself.
    data = bytearray(closed_db.read_bytes())
    at = data.find(b"tableusersusers")
    assert at > 0
    data[at + 5] = data[at + 10] = 0xA3  # the 'u' of the name and of tbl_name
    closed_db.write_bytes(bytes(data))
    for extra in ((), ("--deep",)):
        code, out, err = run("audit", "verify", *extra, "--db", str(closed_db), capsys=capsys)
        assert code == 1, (extra, out, err)
        assert one_line(out).startswith("database file damaged:") and "not UTF-8" in out and not err, (out, err)
    code, out, err = run("audit", "verify", "--json", "--db", str(closed_db), capsys=capsys)
    assert code == 1 and '"damage": ' in out and not err, (out, err)
    monkeypatch.setenv("CRISISDESK_PASSWORD", ADMIN_PASSWORD)
    for argv in (("users", "list"), ("channels", "list")):
        code, out, err = run(*argv, "--as", ADMIN, "--db", str(closed_db), capsys=capsys)
        assert code == 2, (argv, out, err)
        assert "is damaged or not a crisisdesk database" in one_line(err), err


@pytest.mark.parametrize(
    "argv",
    [
        ("outbox", "list", "--limit", str(10**30)),
        ("outbox", "list", "--limit", "0"),
        ("outbox", "list", "--limit", "many"),
        ("feeds", "search", "flood", "--limit", str(10**30)),
        ("triage", "list", "--limit", str(-(10**30))),
        ("feeds", "add", "q", "https://quakes.example.gov/feed", "--kind", "geojson", "--interval", str(10**30)),
        ("incident", "step-done", "inc-x", str(10**30)),
        ("text", "check", "hello", "--channel", "mastodon", "--mastodon-limit", str(10**30)),
    ],
)
def test_a_number_out_of_range_is_one_line(cli_as: CliRun, argv: tuple[str, ...]) -> None:
    code, out, err = cli_as(ADMIN, *argv)
    assert code == 2, (out, err)
    option = next((a for a in argv if a.startswith("--") and a not in ("--kind", "--channel")), "STEP")
    assert one_line(err).startswith(f"crisisdesk: error: argument {option}: "), err
    assert "give a whole number from" in err, err


def test_the_feed_service_refuses_an_interval_too_long_to_mean_anything(core: App, admin: Actor) -> None:
    with pytest.raises(UserError, match="too long"):
        core.feeds().add(admin, "quakes", "https://quakes.example.gov/feed", "geojson", interval=10**30)


def test_output_to_a_full_device_is_one_line_and_exit_3(
    closed_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRISISDESK_PASSWORD", ADMIN_PASSWORD)
    for argv in (("users", "list"), ("audit", "export", "--format", "jsonl")):
        full = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 - a real device that is always full
        try:
            code = main([*argv, "--as", ADMIN, "--db", str(closed_db)], stdin=io.StringIO(), stdout=full)
        finally:
            with contextlib.suppress(OSError):  # what is left in its buffer cannot be written either
                full.close()
        err = capsys.readouterr().err
        assert code == 3, err
        assert one_line(err) == "crisisdesk: could not write the output: No space left on device\n", err


def test_the_real_command_writing_to_a_full_device_or_a_closed_pipe(closed_db: Path) -> None:
    app = App.open(closed_db)
    with app.db.write() as conn:  # more than a pipe holds, so the writer meets the closed end
        for i in range(2000):
            app.log.record(conn, ADMIN, "note.added", {"note": f"checked the shelter list, round {i}"})
    app.close()
    export = [sys.executable, "-m", "crisisdesk", "audit", "export", "--format", "jsonl", "--as", ADMIN]
    env = {**os.environ, "CRISISDESK_PASSWORD": ADMIN_PASSWORD, "CRISISDESK_DB": str(closed_db)}
    for argv in (export, [*export[:3], "users", "list", "--as", ADMIN]):
        with open("/dev/full", "wb") as full:
            p = subprocess.run(
                argv, stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=DEADLINE, check=False
            )
        assert p.returncode == 3, p.stderr
        assert p.stderr == "crisisdesk: could not write the output: No space left on device\n", p.stderr
    # A reader that goes away (| head -1): the command stops quietly, as other command-line tools do.
    with subprocess.Popen(export, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        first = reader.stdout.readline()
        reader.stdout.close()
        err = reader.stderr.read()
        code = reader.wait(timeout=DEADLINE)
    assert first.startswith(b"{") and code == 0 and err == b"", (code, err)


# -- a channel that fails unexpectedly: the details in the log file, one line on the terminal ---------------


def log_file() -> Path:
    from crisisdesk.app import log_dir

    return log_dir() / "crisisdesk.log"


@pytest.fixture
def broken_matrix(core: App, admin: Actor) -> str:
    """A live message to the public page and to a Matrix account whose token cannot go in a header: building
    its adapter raises UnicodeEncodeError, which the channel layer catches and logs."""
    team = add_team(core, admin)
    core.channels().add(
        admin,
        "matrix",
        "bad-matrix",
        settings=["base_url=http://127.0.0.1:9", "room=!room:x"],
        secret="t\u00f6k\u00e9n",
    )
    return publish(core, team, open_incident(core, team), ["public-page", "bad-matrix"]).id


def assert_one_line_a_problem(stderr: str) -> None:
    # The row's reason says what went wrong; the traceback is for whoever reads the log file.
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr
    for line in stderr.splitlines():
        assert line.startswith("crisisdesk: "), stderr
    text = log_file().read_text(encoding="utf-8")
    assert "Traceback" in text and "UnicodeEncodeError" in text, text


def test_outbox_run_keeps_tracebacks_in_the_log_file(core: App, broken_matrix: str) -> None:
    p = crisisdesk("outbox", "run", "--once", "--db", str(core.db.path))
    assert p.returncode in (0, 1), p.stderr
    assert "sent 1" in p.stdout, p.stdout
    assert_one_line_a_problem(p.stderr)
    assert p.stderr == "", p.stderr


def test_the_worker_keeps_tracebacks_in_the_log_file(core: App, broken_matrix: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "crisisdesk", "worker", "--db", str(core.db.path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        vic = core.people.actor("vic")
        deadline = time.monotonic() + DEADLINE
        while {r.state for r in core.outbox().rows(vic, message_id=broken_matrix)} & {"queued", "sending"}:
            assert time.monotonic() < deadline, "the worker did not try both rows in time"
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.05)  # polling a condition, with a deadline
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=DEADLINE)
    assert worker.returncode == 0, stderr
    assert_one_line_a_problem(stderr)
    reason = {r.account: r.reason for r in core.outbox().rows(vic, message_id=broken_matrix)}["bad-matrix"]
    assert reason and "UnicodeEncodeError" in reason, reason


def test_a_warning_is_one_line_on_the_terminal_and_whole_in_the_log_file(
    closed_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the command itself logs (here a warning with a traceback, from a command that reaches it): one
    line on standard error naming the log file."""
    import logging

    def warns(ctx: object) -> int:
        try:
            raise RuntimeError("inner detail")
        except RuntimeError:
            logging.getLogger("crisisdesk.services.outbox").warning("outbox pass failed: x\nsecond line", exc_info=True)
        return 0

    from crisisdesk.cli import people

    monkeypatch.setattr(people, "cmd_users_list", warns)
    monkeypatch.setenv("CRISISDESK_PASSWORD", ADMIN_PASSWORD)
    code, _, err = run("users", "list", "--as", ADMIN, "--db", str(closed_db), capsys=capsys)
    assert code == 0
    assert err == f"crisisdesk: outbox pass failed: x (details in {log_file()})\n", err
    text = log_file().read_text(encoding="utf-8")
    assert "second line" in text and "RuntimeError: inner detail" in text, text


@pytest.mark.parametrize("name", ["EOC desk 1\n", "EOC\ndesk", "EOC\x1b[2Jdesk", "EOC \u202edesk"])
def test_a_workstation_name_with_a_control_character_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    db = tmp_path / "new.sqlite3"
    init = ("init", "--admin", ADMIN, "--password-stdin", "--workstation-name", name, "--db", str(db))
    code, out, err = run(*init, stdin=ADMIN_PASSWORD + "\n", capsys=capsys)
    assert code == 2, (out, err)
    assert "workstation name" in one_line(err) and "control character" in err, err

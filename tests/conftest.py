"""Shared fixtures: every test gets its own user folders, a frozen clock, and a real SQLite file."""

from __future__ import annotations

import os
import tempfile

# Before anything imports Qt: no display on CI or a bare workstation.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import keyring
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.passwords import Argon2Hasher
from tests.support import file_keyring
from tests.support.cpu_hog import busy_machine  # noqa: F401 - a fixture, for the modules that ask for it
from tests.support.postgres import HubDatabase, PostgresServer, postgres_server
from tests.support.servers import Pds, Synapse, pds_server, synapse_server
from tests.support.under_load import LOAD_BUILD
from tests.support.under_load import start as start_load_build

ADMIN, ADMIN_PASSWORD = "alice", "correct horse"


@pytest.fixture(autouse=True)
def isolated_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CRISISDESK_DB", raising=False)
    monkeypatch.delenv("CRISISDESK_PASSWORD", raising=False)
    monkeypatch.delenv("CRISISDESK_ALLOW_INSECURE_KEYRING", raising=False)
    # Never the machine's keyring: a file in this test's folder, also found by subprocesses.
    monkeypatch.setenv(file_keyring.ENV, str(home / "test-keyring.json"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.file_keyring.FileKeyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(file_keyring.FileKeyring())
    yield home
    keyring.set_keyring(previous)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))


@pytest.fixture
def hasher() -> Argon2Hasher:
    # Real Argon2id with small costs so the suite stays fast; production uses argon2-cffi's defaults.
    return Argon2Hasher(time_cost=1, memory_cost=1024)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "crisisdesk.sqlite3"


@pytest.fixture
def core(db_path: Path, clock: FixedClock, hasher: Argon2Hasher) -> Iterator[App]:
    """A set-up workstation with one admin, alice."""
    app = App.open(db_path, create=True, clock=clock, hasher=hasher)
    app.initialise(ADMIN, ADMIN_PASSWORD, workstation_name="EOC desk 1")
    yield app
    app.close()


@pytest.fixture
def admin(core: App) -> Actor:
    return core.people.actor(ADMIN)


def actor(name: str, *roles: Role) -> Actor:
    """An actor object as a session holds it; services re-read the roles from the log, so this alone grants
    nothing: use ``person`` for someone who may act."""
    return Actor(name=name, roles=frozenset(roles))


def person(core: App, admin: Actor, name: str, *roles: Role) -> Actor:
    """Someone the admin added (once) with ``roles``, as the log says."""
    if name.casefold() not in {p.name.casefold() for p in core.people.list_people(admin)}:
        core.people.add(admin, name, list(roles), f"{name} password")
    return core.people.actor(name)


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """A real Synapse homeserver on 127.0.0.1 for the whole session (installed on first use)."""
    with synapse_server(tmp_path_factory.mktemp("synapse")) as server:
        yield server


@pytest.fixture(scope="session")
def pds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pds]:
    """A real Bluesky PDS (and PLC) on 127.0.0.1 for the whole session (installed on first use)."""
    with pds_server(tmp_path_factory.mktemp("pds")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1 for the whole session (Debian's postgresql: initdb + pg_ctl)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def hub_db(postgres: PostgresServer) -> Iterator[HubDatabase]:
    """A fresh database on the session's PostgreSQL for one test (the server is started again if a test stopped it)."""
    if not postgres.running():
        postgres.start()
    name = postgres.create_database()
    yield HubDatabase(postgres, name)
    if not postgres.running():
        postgres.start()
    postgres.drop_database(name)


CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli_as(core: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CliRun:
    """Run a crisisdesk command in this process on the fixture's App, as a person: ``cli_as(who, *args)``
    gives (exit code, stdout, stderr). Passwords: alice's, else '<name> password'."""
    from crisisdesk.cli import main

    real_open = App.open
    monkeypatch.setattr(
        App, "open", classmethod(lambda cls, path, **kw: core if path == core.db.path else real_open(path, **kw))
    )
    # Each command ends its channel sessions, as a real process does; the fixture closes the database.
    monkeypatch.setattr(core, "close", lambda: core.outbox().close())

    def run(who: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setenv("CRISISDESK_PASSWORD", ADMIN_PASSWORD if who == ADMIN else f"{who} password")
        out = io.StringIO()
        code = main([*args, "--db", str(core.db.path), "--as", who], stdin=io.StringIO(stdin), stdout=out)
        return code, out.getvalue(), capsys.readouterr().err

    return run


def pytest_collection_finish(session: pytest.Session) -> None:
    """When the under-load test is among those to run, build its load now, in a process beside the other tests
    (tests/support/under_load.py): minutes of one core the session would otherwise wait for."""
    if session.config.option.collectonly or os.environ.get("CRISISDESK_LOAD_BESIDE") == "0":
        return
    if any(item.nodeid.startswith("tests/ui/test_under_load.py") for item in session.items):
        folder = Path(tempfile.mkdtemp(prefix="crisisdesk-under-load-"))
        session.config.stash[LOAD_BUILD] = start_load_build(folder)


def pytest_sessionfinish(session: pytest.Session) -> None:
    build = session.config.stash.get(LOAD_BUILD, None)
    if build is not None:
        build.stop()

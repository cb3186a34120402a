"""Signing in on a workstation that joined a team (`hub join` / `bundle join` with `--as PERSON`), and a channel's
secret given to another workstation (`channels set-secret`): the real command line on real SQLite files, a real
PostgreSQL hub for `hub join` (docs/design/sync.md, "Signing in on a joined workstation")."""

from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.channels.base import ChannelError
from crisisdesk.channels.registry import make_adapter
from crisisdesk.cli import main
from crisisdesk.credentials import SERVICE
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Role
from crisisdesk.services.passwords import Argon2Hasher
from tests.integration.sync_helpers import PASSWORD
from tests.support import file_keyring
from tests.support.postgres import HubDatabase

EXIT_USER, EXIT_EXTERNAL = 2, 3
PASSWORDS = {"alice": PASSWORD, "carla": "carla password", "dora": "dora password"}
SECRET = "hook signing key"


def run(
    db: Path, *args: str, capsys: pytest.CaptureFixture[str], stdin: str = "", who: str | None = None
) -> tuple[int, str, str]:
    out = io.StringIO()
    extra = ["--as", who] if who else []
    code = main([*args, "--db", str(db), *extra], stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def rows(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def not_set_up(db: Path) -> None:
    assert rows(db, "SELECT count(*) FROM events") == [(0,)]
    assert rows(db, "SELECT key FROM local_settings WHERE key IN ('workstation_id', 'hub_url')") == []
    assert rows(db, "SELECT count(*) FROM local_credentials") == [(0,)]


@pytest.fixture
def founder(tmp_path: Path) -> Iterator[App]:
    """alice (admin), carla (communicator), dora (disabled), and a webhook channel with its secret here."""
    clock = FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))
    app = App.open(
        tmp_path / "founder.sqlite3", create=True, clock=clock, hasher=Argon2Hasher(time_cost=1, memory_cost=1024)
    )
    app.initialise("alice", PASSWORD, workstation_name="EOC desk 1")
    alice = app.people.actor("alice")
    app.people.add(alice, "carla", [Role.COMMUNICATOR], PASSWORDS["carla"])
    app.people.add(alice, "dora", [Role.COMMUNICATOR], PASSWORDS["dora"])
    app.people.disable(alice, "dora")
    app.channels().add(alice, "webhook", "county-hook", settings=["url=http://127.0.0.1:9/hook"], secret=SECRET)
    yield app
    app.close()


@pytest.fixture
def bundle(founder: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "team.bundle"
    code, _, err = run(founder.db.path, "bundle", "export", "--since", "all", "--out", str(out), capsys=capsys)
    assert code == 0, err
    return out


def use_keyring(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Another workstation's own keyring (as on its own machine)."""
    monkeypatch.setenv(file_keyring.ENV, str(path))


def test_bundle_join_as_a_person_signs_them_in_here_and_an_admin_sets_the_others(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site.sqlite3"
    use_keyring(monkeypatch, tmp_path / "site-keyring.json")
    monkeypatch.setenv("CRISISDESK_PASSWORD", "alice's site password")
    code, said, err = run(
        site, "bundle", "join", str(bundle), "--workstation", "Site B", "--as", "alice", capsys=capsys
    )
    assert code == 0, err
    assert "alice can sign in here" in said and "nobody can sign in" not in said, said
    app = App.open(site)
    try:
        ws = app.log.workstation_id()
        own = [(e.kind, e.actor, e.payload) for e in app.log.events() if e.workstation_id == ws]
        # The password set in the join's write, after the identity and by the person, before bundle.imported.
        assert [k for k, _, _ in own] == [
            Kind.WORKSTATION_CREATED,
            Kind.WORKSTATION_JOINED,
            Kind.PASSWORD_SET,
            Kind.BUNDLE_IMPORTED,
        ], own
        assert own[2][1:] == ("alice", {"name": "alice"})
        assert app.audit.verify().ok
    finally:
        app.close()
    # The password given at the join opens this workstation; the one set on the founder does not travel.
    code, _, err = run(site, "users", "list", "--json", who="alice", capsys=capsys)
    assert code == 0, err
    monkeypatch.setenv("CRISISDESK_PASSWORD", PASSWORD)
    code, _, err = run(site, "users", "list", who="alice", capsys=capsys)
    assert code != 0 and "wrong password" in err, err
    # alice is an admin by the team's events: she sets carla's password here, and carla signs in.
    monkeypatch.setenv("CRISISDESK_PASSWORD", "alice's site password")
    code, _, err = run(site, "users", "reset-password", "carla", "--password-stdin", who="alice", capsys=capsys,
                       stdin="carla's site password\n")  # fmt: skip
    assert code == 0, err
    monkeypatch.setenv("CRISISDESK_PASSWORD", "carla's site password")
    code, out, err = run(site, "users", "list", "--json", who="carla", capsys=capsys)
    assert code == 0, err
    assert {p["name"] for p in orjson.loads(out)} == {"alice", "carla", "dora"}


def test_without_as_the_join_says_how_people_will_sign_in(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CRISISDESK_PASSWORD", raising=False)
    site = tmp_path / "site.sqlite3"
    code, said, err = run(site, "bundle", "join", str(bundle), "--workstation", "Site B", capsys=capsys)
    assert code == 0, err
    lines = [line for line in said.splitlines() if "sign in" in line]
    assert len(lines) == 1 and "--as NAME" in lines[0], said
    assert rows(site, "SELECT count(*) FROM local_credentials") == [(0,)]


@pytest.mark.parametrize(
    ("person", "says"),
    [
        ("zed", "--as zed: the team's log knows no person of that name (it knows: alice, carla, dora)"),
        ("dora", "--as dora: dora is disabled in the team's log and cannot sign in"),
    ],
)
def test_an_unknown_or_disabled_person_refuses_the_bundle_join_and_leaves_it_not_set_up(
    person: str,
    says: str,
    bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CRISISDESK_PASSWORD", "a long enough password")
    site = tmp_path / "site.sqlite3"
    code, said, err = run(site, "bundle", "join", str(bundle), "--workstation", "Site B", "--as", person, capsys=capsys)
    assert code == EXIT_USER and said == "", (code, said, err)
    assert err.count("\n") == 1 and says in err and "this database was left as it was, not set up" in err, err
    assert "Traceback" not in err
    not_set_up(site)
    # Nothing of the refusal stayed: the same file joins afterwards as a person the log knows.
    code, said, err = run(
        site, "bundle", "join", str(bundle), "--workstation", "Site B", "--as", "carla", capsys=capsys
    )
    assert code == 0 and "carla can sign in here" in said, err


def test_as_without_a_password_is_one_line_before_anything_is_made(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CRISISDESK_PASSWORD", "short")
    site = tmp_path / "site.sqlite3"
    code, _, err = run(site, "bundle", "join", str(bundle), "--workstation", "Site B", "--as", "alice", capsys=capsys)
    assert code == EXIT_USER and err.count("\n") == 1 and "password" in err, err
    assert rows(site, "SELECT count(*) FROM events") == [(0,)]


def test_channels_set_secret_gives_this_workstation_its_copy(
    founder: App,
    bundle: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = tmp_path / "site.sqlite3"
    keyring_file = tmp_path / "site-keyring.json"
    use_keyring(monkeypatch, keyring_file)
    monkeypatch.setenv("CRISISDESK_PASSWORD", "alice's site password")
    code, _, err = run(site, "bundle", "join", str(bundle), "--workstation", "Site B", "--as", "alice", capsys=capsys)
    assert code == 0, err
    # The channel came with the log, its secret did not: what the outbox would say names the command.
    app = App.open(site)
    try:
        account = app.channels().get("county-hook")
        assert app.secrets.get(account.id) is None
        with pytest.raises(ChannelError) as missing:
            make_adapter(account, None)
        assert "crisisdesk channels set-secret county-hook --secret-stdin" in missing.value.reason
        assert "add it again" not in missing.value.reason
    finally:
        app.close()
    code, said, err = run(site, "channels", "set-secret", "county-hook", "--secret-stdin", who="alice",
                          capsys=capsys, stdin=SECRET + "\n")  # fmt: skip
    assert code == 0, err
    assert "county-hook: this workstation's keyring holds its HMAC signing key now" in said
    assert SECRET not in said + err
    app = App.open(site)
    try:
        assert app.secrets.get(account.id) == SECRET
        (recorded,) = [e for e in app.log.events() if e.kind == Kind.CHANNEL_SECRET_SET]
        assert recorded.actor == "alice"
        assert recorded.payload == {
            "account": account.id,
            "name": "county-hook",
            "workstation": app.log.workstation_id(),
        }
        assert app.audit.verify().ok
    finally:
        app.close()
    for path in tmp_path.glob("site.sqlite3*"):
        assert SECRET.encode() not in path.read_bytes()
    assert f"{SERVICE}\0channel:" in keyring_file.read_text().replace("\\u0000", "\0")


@pytest.mark.parametrize(
    ("name", "extra", "stdin", "says"),
    [
        ("nowhere", ["--secret-stdin"], "x\n", "no channel named 'nowhere'"),
        ("gone-hook", ["--secret-stdin"], "x\n", "no channel named 'gone-hook'"),
        ("public-page", ["--secret-stdin"], "x\n", "public-page is a folder channel, which takes no secret"),
        ("county-hook", [], "", "add --secret-stdin"),
        ("county-hook", ["--secret-stdin"], "", "--secret-stdin: no secret on standard input"),
    ],
)
def test_channels_set_secret_mistakes_are_one_line(
    name: str,
    extra: list[str],
    stdin: str,
    says: str,
    founder: App,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alice = founder.people.actor("alice")
    founder.channels().add(alice, "webhook", "gone-hook", settings=["url=http://127.0.0.1:9/gone"], secret="k")
    founder.channels().remove(alice, "gone-hook")
    monkeypatch.setenv("CRISISDESK_PASSWORD", PASSWORD)
    before = rows(founder.db.path, "SELECT count(*) FROM events")
    code, said, err = run(founder.db.path, "channels", "set-secret", name, *extra, who="alice", capsys=capsys,
                          stdin=stdin)  # fmt: skip
    assert code == EXIT_USER and said == "", (code, said, err)
    assert err.count("\n") == 1 and says in err and "Traceback" not in err, err
    assert rows(founder.db.path, "SELECT count(*) FROM events") == before


def test_only_an_admin_sets_a_channel_secret(
    founder: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CRISISDESK_PASSWORD", PASSWORDS["carla"])
    code, _, err = run(founder.db.path, "channels", "set-secret", "county-hook", "--secret-stdin", who="carla",
                       capsys=capsys, stdin="stolen\n")  # fmt: skip
    assert code != 0 and err.count("\n") == 1 and "Traceback" not in err, err
    account = founder.channels().get("county-hook")
    assert founder.secrets.get(account.id) == SECRET


@pytest.mark.slow
def test_hub_join_as_a_person_and_the_refusals(
    founder: App,
    hub_db: HubDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CRISISDESK_PASSWORD", PASSWORD)
    code, _, err = run(founder.db.path, "hub", "init", hub_db.url_with_password, who="alice", capsys=capsys)
    assert code == 0, err
    founders_keyring = os.environ[file_keyring.ENV]
    desk = tmp_path / "desk2.sqlite3"
    use_keyring(monkeypatch, tmp_path / "desk2-keyring.json")
    monkeypatch.setenv("CRISISDESK_PASSWORD", "alice's desk 2 password")
    join = ["hub", "join", hub_db.url, "--workstation", "EOC desk 2", "--password-stdin"]
    # The hub's password on standard input, the person's from CRISISDESK_PASSWORD: kept apart.
    for person, says in (("zed", "knows no person of that name"), ("dora", "dora is disabled")):
        code, said, err = run(desk, *join, "--as", person, capsys=capsys, stdin=hub_db.password + "\n")
        assert code == EXIT_USER and said == "", (code, said, err)
        assert err.count("\n") == 1 and says in err and "not set up" in err, err
        not_set_up(desk)
    code, said, err = run(desk, *join, "--as", "alice", capsys=capsys, stdin=hub_db.password + "\n")
    assert code == 0, err
    assert "alice can sign in here" in said and "pushed 3, applied 0" in said, said
    assert hub_db.password not in said + err
    code, out, err = run(desk, "users", "list", "--json", who="alice", capsys=capsys)
    assert code == 0, err
    assert {p["name"] for p in orjson.loads(out)} == {"alice", "carla", "dora"}
    set_by = rows(desk, "SELECT actor FROM events WHERE kind = ? AND workstation_id = "
                  "(SELECT value FROM local_settings WHERE key = 'workstation_id')", (Kind.PASSWORD_SET,))  # fmt: skip
    assert set_by == [("alice",)]
    # The founder sees who set a password on which workstation (the hub carries the event, not the password).
    monkeypatch.setenv(file_keyring.ENV, founders_keyring)
    # The desk ran the real CLI (the real clock); the founder's clock is a fixed one days behind, and a receiver
    # refuses entries dated more than a day ahead of its own clock: bring the founder's clock to now.
    founder.clock.advance(datetime.now(UTC) - founder.clock.now())  # type: ignore[attr-defined]
    founder.sync().sync_once()
    seen = [e for e in founder.log.events() if e.kind == Kind.PASSWORD_SET and e.actor == "alice"]
    assert [e.workstation_id for e in seen][-1] != founder.log.workstation_id()
    assert rows(desk, "SELECT count(*) FROM local_credentials") == [(1,)]

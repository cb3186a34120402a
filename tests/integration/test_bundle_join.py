"""`crisisdesk bundle join FILE --workstation NAME`: a site with no network joins the team from a bundle, as `hub join`
does from the hub (its own identity and signing key only, no admin of its own), all or nothing: a bundle refused at
joining leaves the new database not set up."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.cli import main
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Role
from crisisdesk.services.passwords import Argon2Hasher
from tests.integration.sync_helpers import PASSWORD, note, notes, workstation, ws_of

EXIT_USER = 2


def run(db: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main([*args, "--db", str(db)], stdin=io.StringIO(""), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def founder(tmp_path: Path) -> Iterator[App]:
    clock = FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))
    app = App.open(
        tmp_path / "founder.sqlite3", create=True, clock=clock, hasher=Argon2Hasher(time_cost=1, memory_cost=1024)
    )
    app.initialise("alice", PASSWORD, workstation_name="EOC desk 1")
    app.people.add(app.people.actor("alice"), "carla", [Role.COMMUNICATOR], "carla password")
    notes(app, 3, "shelter open")
    yield app
    app.close()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_new_site_joins_from_a_bundle_and_its_work_goes_back(
    founder: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "to-site-b.bundle"
    assert run(founder.db.path, "bundle", "export", "--since", "all", "--out", str(out), capsys=capsys)[0] == 0
    site = tmp_path / "site-b.sqlite3"
    code, said, err = run(site, "bundle", "join", str(out), "--workstation", "Site B", capsys=capsys)
    assert code == 0, err
    app = App.open(site)
    try:
        ws = ws_of(app)
        assert ws != ws_of(founder) and f"joined the team as {ws} (Site B)" in said
        assert app.log.last_seq(ws_of(founder)) == founder.log.last_seq(ws_of(founder))
        # Its own identity and key only: no admin of its own, no default channels; the team's people and admin.
        own = [e.kind for e in app.log.events() if e.workstation_id == ws]
        assert own == [Kind.WORKSTATION_CREATED, Kind.WORKSTATION_JOINED, Kind.BUNDLE_IMPORTED], own
        assert {name for (name,) in rows(site, "SELECT name FROM users")} == {"alice", "carla"}
        assert rows(site, "SELECT name FROM channel_accounts") == rows(
            founder.db.path, "SELECT name FROM channel_accounts"
        )
        verified = app.audit.verify()
        assert verified.ok, verified.describe()
        back = note(app, "generator fuelled at site B")
    finally:
        app.close()
    # Its work goes back by a bundle since what the founder holds.
    code, cursor, err = run(founder.db.path, "bundle", "cursor", capsys=capsys)
    assert code == 0, err
    home = tmp_path / "to-founder.bundle"
    code, _, err = run(site, "bundle", "export", "--since", cursor.strip(), "--out", str(home), capsys=capsys)
    assert code == 0, err
    code, said, err = run(founder.db.path, "bundle", "import", str(home), capsys=capsys)
    assert code == 0, err
    assert founder.log.last_seq(ws) == 4 and back.hash in {e.hash for e in founder.log.events()}
    assert founder.audit.verify().ok


def test_a_site_that_joined_from_a_bundle_counts_the_team_s_admin(
    founder: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "to-site-b.bundle"
    assert run(founder.db.path, "bundle", "export", "--since", "all", "--out", str(out), capsys=capsys)[0] == 0
    site = tmp_path / "site-b.sqlite3"
    assert run(site, "bundle", "join", str(out), "--workstation", "Site B", capsys=capsys)[0] == 0
    # Its log begins with the team's entries (its identity written after them): with no hub.founded, the merge
    # rules take the log's first workstation as the founder, so the team's first admin counts here too.
    app = App.open(site)
    try:
        assert Role.ADMIN in app.people.actor("alice").roles
        assert Role.COMMUNICATOR in app.people.actor("carla").roles
    finally:
        app.close()


def not_set_up(db: Path) -> None:
    assert rows(db, "SELECT count(*) FROM events") == [(0,)]
    assert rows(db, "SELECT value FROM local_settings WHERE key = 'workstation_id'") == []


def test_a_bundle_refused_at_joining_leaves_the_database_not_set_up(
    founder: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bundle relaying another site's chain from its seq 3 (a wrong cursor: the new site holds none of it). The
    # bundle is whole and signed; those entries are refused by the chain check inside the joining transaction.
    other = workstation(tmp_path / "other.sqlite3", "bob", "field site", FixedClock(datetime(2026, 11, 22, tzinfo=UTC)))
    notes(other, 3, "field")
    carried = tmp_path / "carried.bundle"
    code, cursor, err = run(founder.db.path, "bundle", "cursor", capsys=capsys)
    assert code == 0, err
    assert (
        run(other.db.path, "bundle", "export", "--since", cursor.strip(), "--out", str(carried), capsys=capsys)[0] == 0
    )
    assert run(founder.db.path, "bundle", "import", str(carried), capsys=capsys)[0] == 0
    partial = tmp_path / "partial.bundle"
    since = f"{ws_of(other)}=2"
    other.close()
    assert run(founder.db.path, "bundle", "export", "--since", since, "--out", str(partial), capsys=capsys)[0] == 0
    site = tmp_path / "site-b.sqlite3"
    code, said, err = run(site, "bundle", "join", str(partial), "--workstation", "Site B", capsys=capsys)
    assert code == EXIT_USER and said == "", (code, said, err)
    assert err.count("\n") == 1 and "refused, none of its entries applied" in err, err
    assert "this database was left as it was, not set up" in err
    not_set_up(site)
    # A changed byte: refused before anything is made.
    good = tmp_path / "good.bundle"
    assert run(founder.db.path, "bundle", "export", "--since", "all", "--out", str(good), capsys=capsys)[0] == 0
    lines = good.read_bytes().split(b"\n")
    header = orjson.loads(lines[0])
    header["from"] = "someone else"
    tampered = tmp_path / "tampered.bundle"
    tampered.write_bytes(b"\n".join([orjson.dumps(header, option=orjson.OPT_SORT_KEYS), *lines[1:]]))
    code, _, err = run(site, "bundle", "join", str(tampered), "--workstation", "Site B", capsys=capsys)
    assert code == EXIT_USER and err.count("\n") == 1, err
    not_set_up(site)
    # And the good one still joins afterwards: nothing of the refusals stayed.
    code, _, err = run(site, "bundle", "join", str(good), "--workstation", "Site B", capsys=capsys)
    assert code == 0, err
    assert len(rows(site, "SELECT DISTINCT workstation_id FROM events")) == 3  # the founder, the field site, itself


def test_a_set_up_database_or_a_bad_name_is_refused_in_one_line(
    founder: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.bundle"
    assert run(founder.db.path, "bundle", "export", "--since", "all", "--out", str(good), capsys=capsys)[0] == 0
    other = App.open(tmp_path / "other.sqlite3", create=True, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    other.initialise("bob", PASSWORD, workstation_name="island")
    other.close()
    code, _, err = run(tmp_path / "other.sqlite3", "bundle", "join", str(good), "--workstation", "X", capsys=capsys)
    assert code == EXIT_USER and "already set up" in err and "bundle import" in err and err.count("\n") == 1, err
    site = tmp_path / "site-b.sqlite3"
    code, _, err = run(site, "bundle", "join", str(good), "--workstation", "bad\nname", capsys=capsys)
    assert code == EXIT_USER and "workstation name" in err and err.count("\n") == 1, err
    not_set_up(site)

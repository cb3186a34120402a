"""Odd inputs a person, a file or a damaged disk can give the command line: each is a one-line error or works;
never exit 70, never a hang, never a traceback on the terminal (issue 11, the hostile tester's findings)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.cli import main
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Actor
from crisisdesk.services.passwords import Argon2Hasher
from tests.conftest import ADMIN, ADMIN_PASSWORD


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

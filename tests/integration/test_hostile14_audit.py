"""Hostile tests (issue 14, Audit): an event body rewritten as TEXT (what an edit with the sqlite3 shell's
replace() leaves, even when it changes nothing) must be reported as a broken or unreadable entry, never crash
sign-in or Verify with an internal error (exit 70)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Actor, Role
from tests.conftest import ADMIN, ADMIN_PASSWORD, person


def _as_text(db_path: Path, position: int) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("UPDATE events SET body = CAST(body AS TEXT) WHERE position = ?", (position,))
    raw.commit()
    raw.close()


def test_hostile14_a_text_body_refuses_sign_in_as_tampering(core: App, admin: Actor, db_path: Path) -> None:
    person(core, admin, "cam", Role.COMMUNICATOR)
    _as_text(db_path, 2)  # the admin's user.added
    # Either the same bytes are accepted, or a clear refusal (the ledger's TamperedLog): never a TypeError.
    refusal = ""
    try:
        core.people.authenticate(ADMIN, ADMIN_PASSWORD)
    except CrisisdeskError as exc:
        refusal = str(exc)
    assert not refusal or "audit verify" in refusal


def test_hostile14_verify_with_progress_reports_a_text_body(core: App, admin: Actor, db_path: Path) -> None:
    person(core, admin, "cam", Role.COMMUNICATOR)
    _as_text(db_path, 2)
    report = core.audit.verify(progress=lambda *_: None, cancel=threading.Event())
    assert report.ok or "#2" in report.describe()


@pytest.mark.parametrize("text", ['"the boss"', "MÜLLER"])
def test_hostile14_the_audit_filter_finds_the_details_as_shown(core: App, admin: Actor, text: str) -> None:
    """The filter promises any part of the details, in any case; the row shows ``Jörg "the boss" Müller``."""
    core.people.add(admin, "mueller", [Role.COMMUNICATOR], "mueller password", display_name='Jörg "the boss" Müller')
    shown = [r for r in core.audit.page(admin) if 'Jörg "the boss" Müller' in r.summary]
    assert shown
    found = core.audit.page(admin, text=text)
    assert {r.position for r in shown} <= {r.position for r in found}

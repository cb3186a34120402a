"""The agency a workstation speaks for: set at init and in settings, each change an event read from the log, and
the sender and identifier prefix of every CAP alert it publishes (issue 13)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.cli import main
from crisisdesk.domain.agency import UNSET_SENDER, Agency
from crisisdesk.domain.cap import parse_xml
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.conftest import ADMIN, ADMIN_PASSWORD
from tests.integration.outbox_helpers import add_team, open_incident, publish

SENDER = "oes@millcounty.example"


def published_cap(core: App, message_id: str) -> str:
    record = core.messages()._ledger().message(message_id)
    assert record is not None and record.publications
    cap = record.publications[-1].cap
    assert cap is not None
    return cap


def test_until_the_agency_is_set_a_published_alert_says_so_never_localhost(core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    inc = open_incident(core, team)
    alert = parse_xml(published_cap(core, publish(core, team, inc, ["public-page"]).id).encode())
    assert alert.sender == UNSET_SENDER == "sender-not-set.invalid"
    assert alert.identifier.startswith("crisisdesk-msg-")
    assert core.settings().agency() == Agency()


def test_alerts_carry_the_agency_sender_and_prefix_and_references_quote_the_earlier_cap(
    core: App, admin: Actor
) -> None:
    team = add_team(core, admin)
    settings = core.settings()
    agency = settings.set_agency(
        admin, name="Mill County Emergency Management", cap_sender=SENDER, cap_prefix="MillOES"
    )
    assert (agency.sender, agency.prefix) == (SENDER, "MillOES")
    inc = open_incident(core, team)
    first = publish(core, team, inc, ["public-page"])
    alert = parse_xml(published_cap(core, first.id).encode())
    assert (alert.sender, alert.identifier) == (SENDER, f"MillOES-{first.id}-v{first.version}")
    # The agency moves to a new sender: a later update says the new one and names the alert as it was sent.
    settings.set_agency(admin, cap_sender="oes@mill.example")
    update = publish(core, team, inc, ["public-page"], message_type="update")
    later = parse_xml(published_cap(core, update.id).encode())
    assert later.sender == "oes@mill.example"
    assert later.references == f"{SENDER},MillOES-{first.id}-v{first.version},{alert.sent}"
    assert core.settings().agency() == Agency("Mill County Emergency Management", "oes@mill.example", "MillOES")


def test_only_an_admin_changes_the_agency_and_a_refusal_is_recorded(core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    before = core.log.count()
    with pytest.raises(PermissionDenied, match="carla may not manage channels"):
        core.settings().set_agency(team["carla"], cap_sender="carla@example.org")
    assert core.log.count() == before + 1  # the refusal, and nothing else
    assert core.settings().agency() == Agency()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("cap_sender", "oes@county gov", "without spaces, commas"),
        ("cap_sender", "a,b", "without spaces, commas"),
        ("cap_sender", "crisisdesk@localhost", "is a placeholder"),
        ("cap_sender", "oes.invalid", "is a placeholder"),
        ("cap_sender", "", "is empty"),
        ("cap_prefix", "Mill OES", "is not 1-40 letters"),
        ("name", "Mill\nCounty", "control character"),
    ],
)
def test_a_bad_agency_setting_is_refused_in_one_line(
    core: App, admin: Actor, field: str, value: str, says: str
) -> None:
    before = core.log.count()
    with pytest.raises(UserError, match=says) as refused:
        core.settings().set_agency(admin, **{field: value})
    assert "\n" not in str(refused.value)
    assert core.log.count() == before


def test_the_agency_is_read_from_the_log_not_from_a_table(core: App, admin: Actor) -> None:
    core.settings().set_agency(admin, cap_sender=SENDER)
    events = [e for e in core.log.events() if e.kind == Kind.AGENCY_SET]
    assert [(e.actor, e.payload) for e in events] == [(ADMIN, {"name": "", "cap_sender": SENDER, "cap_prefix": ""})]
    core.settings().set_agency(admin, cap_sender=SENDER)  # no change, no event
    assert len([e for e in core.log.events() if e.kind == Kind.AGENCY_SET]) == 1
    assert core.audit.verify(deep=True).ok


def cli(db: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main([*args, "--db", str(db)], stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue(), err.getvalue()


def test_init_and_settings_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "desk.sqlite3"
    code, _, err = cli(
        db,
        "init", "--admin", ADMIN, "--password-stdin", "--agency-name", "Mill County OES",
        "--cap-sender", SENDER, "--cap-prefix", "MillOES",
        stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert (code, err) == (0, "")
    monkeypatch.setenv("CRISISDESK_PASSWORD", ADMIN_PASSWORD)
    code, out, _ = cli(db, "settings", "show", "--as", ADMIN)
    assert code == 0 and out.splitlines() == [
        "agency       Mill County OES",
        f"CAP sender   {SENDER}",
        "CAP prefix   MillOES",
    ]
    code, out, _ = cli(db, "settings", "agency", "--cap-sender", "oes@mill.example", "--as", ADMIN)
    assert code == 0 and "CAP sender   oes@mill.example" in out
    code, _, err = cli(db, "settings", "agency", "--cap-sender", "x@localhost", "--as", ADMIN)
    assert code == 2 and err.count("\n") == 1 and "placeholder" in err
    # 'playbooks render' reads the agency from the workstation's database.
    code, out, err = cli(db, "playbooks", "render", "tornado", "--type", "alert", "--example-facts", "--ipaws")
    assert (code, err) == (0, "")
    alert = parse_xml(out.encode())
    assert alert.sender == "oes@mill.example" and alert.identifier.startswith("MillOES-tornado-")


def test_init_without_a_sender_says_how_to_set_it(tmp_path: Path) -> None:
    code, _, err = cli(
        tmp_path / "d.sqlite3", "init", "--admin", ADMIN, "--password-stdin", stdin=ADMIN_PASSWORD + "\n"
    )
    assert code == 0 and err == (
        "crisisdesk: no CAP sender yet: alerts say 'sender-not-set.invalid' until an admin sets it with "
        "'crisisdesk settings agency --cap-sender ID'\n"
    )
    code, _, err = cli(
        tmp_path / "e.sqlite3", "init", "--admin", ADMIN, "--password-stdin", "--cap-sender", "a b",
        stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip
    assert code == 2 and "without spaces" in err and not (tmp_path / "e.sqlite3").exists()

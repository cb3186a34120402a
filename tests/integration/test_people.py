"""People and roles through the service: only admins manage people, and every change is an event."""

from __future__ import annotations

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import AuthenticationFailed, PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from tests.conftest import ADMIN_PASSWORD, actor


def kinds(core: App) -> list[str]:
    return [e.kind for e in core.log.events()]


def test_initialising_creates_the_workstation_and_the_first_admin(core: App) -> None:
    assert core.people.is_initialised()
    assert kinds(core) == [
        Kind.WORKSTATION_CREATED,
        Kind.USER_ADDED,
        Kind.PASSWORD_SET,
        Kind.CHANNEL_ADDED,  # the live and the exercise public page: no accounts needed
        Kind.CHANNEL_ADDED,
    ]
    assert core.people.actor("alice").roles == {Role.ADMIN}
    ws = core.db.conn.execute("SELECT id, name FROM workstations").fetchall()
    assert ws == [(core.log.workstation_id(), "EOC desk 1")]


def test_initialising_twice_is_refused(core: App) -> None:
    with pytest.raises(UserError, match="already set up"):
        core.people.initialise("mallory", "another password")


def test_sign_in_checks_the_password_and_records_failures(core: App) -> None:
    assert core.people.authenticate("alice", ADMIN_PASSWORD).roles == {Role.ADMIN}
    assert core.people.authenticate("ALICE", ADMIN_PASSWORD).name == "alice"  # names are case-insensitive
    with pytest.raises(AuthenticationFailed, match="unknown user or wrong password"):
        core.people.authenticate("alice", "wrong password")
    with pytest.raises(AuthenticationFailed):
        core.people.authenticate("nobody", ADMIN_PASSWORD)
    failures = [e for e in core.log.events() if e.kind == Kind.LOGIN_FAILED]
    assert [(e.actor, e.payload["name"]) for e in failures] == [("system", "alice"), ("system", "nobody")]


def test_an_admin_adds_people_with_roles(core: App, admin: Actor) -> None:
    person = core.people.add(admin, "bob", [Role.COMMUNICATOR, Role.APPROVER], "bob password", display_name="Bob B")
    assert person.roles == ("approver", "communicator")
    assert person.display_name == "Bob B"
    assert person.created_by == "alice"
    assert core.people.authenticate("bob", "bob password").roles == {Role.COMMUNICATOR, Role.APPROVER}
    with pytest.raises(UserError, match="already exists"):
        core.people.add(admin, "Bob", [Role.VIEWER], "bob password")
    with pytest.raises(UserError, match="at least one --role"):
        core.people.add(admin, "dave", [], "dave password")


def test_grant_and_revoke_are_events_and_idempotent(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    n = core.log.count()
    assert core.people.grant(admin, "bob", Role.APPROVER) is True
    assert core.people.grant(admin, "bob", Role.APPROVER) is False
    assert core.people.revoke(admin, "bob", Role.VIEWER) is True
    assert core.people.revoke(admin, "bob", Role.VIEWER) is False
    assert kinds(core)[n:] == [Kind.ROLE_GRANTED, Kind.ROLE_REVOKED]
    assert core.people.actor("bob").roles == {Role.APPROVER}
    with pytest.raises(UserError, match="no user named 'zed'"):
        core.people.grant(admin, "zed", Role.VIEWER)


def test_the_last_admin_cannot_be_revoked(core: App, admin: Actor) -> None:
    with pytest.raises(UserError, match="last admin"):
        core.people.revoke(admin, "alice", Role.ADMIN)
    core.people.add(admin, "carol", [Role.ADMIN], "carol password")
    assert core.people.revoke(admin, "alice", Role.ADMIN)


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_admins_manage_people_and_refusals_are_recorded(core: App, admin: Actor, role: Role) -> None:
    core.people.add(admin, "bob", [role], "bob password")
    bob = actor("bob", role)
    n = core.log.count()
    with pytest.raises(PermissionDenied, match="needs the role admin"):
        core.people.add(bob, "eve", [Role.ADMIN], "eve password")
    with pytest.raises(PermissionDenied):
        core.people.grant(bob, "bob", Role.ADMIN)
    with pytest.raises(PermissionDenied):
        core.people.revoke(bob, "alice", Role.ADMIN)
    refused = list(core.log.events())[n:]
    assert [e.kind for e in refused] == [Kind.ACCESS_DENIED] * 3
    assert refused[0].actor == "bob"
    assert "add eve" in refused[0].payload["action"]
    assert core.people.actor("bob").roles == {role}


def test_passwords_never_reach_the_event_log_or_the_file(core: App, admin: Actor) -> None:
    secret = "S3cret-Lighthouse-Password"
    core.people.add(admin, "bob", [Role.VIEWER], secret)
    core.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert secret.encode() not in core.db.path.read_bytes()
    assert all(secret not in e.body.decode() and "argon2" not in e.body.decode() for e in core.log.events())

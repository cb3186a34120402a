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
        Kind.WORKSTATION_JOINED,  # its signing key
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


# -- disabling, enabling, resetting a password -----------------------------------------------------------------


def test_a_disabled_person_cannot_sign_in_and_their_past_stays(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.COMMUNICATOR], "bob password")
    before = [e.body for e in core.log.events()]
    assert core.people.disable(admin, "Bob") is True
    assert core.people.disable(admin, "bob") is False  # already: nothing recorded
    with pytest.raises(AuthenticationFailed, match="bob is disabled and cannot sign in; an admin can enable"):
        core.people.authenticate("bob", "bob password")
    # A wrong password says nothing about being disabled.
    with pytest.raises(AuthenticationFailed, match="unknown user or wrong password"):
        core.people.authenticate("bob", "not bob's password")
    events = list(core.log.events())
    assert [e.body for e in events[: len(before)]] == before
    assert [e.kind for e in events[len(before) :]] == [Kind.USER_DISABLED, Kind.LOGIN_FAILED, Kind.LOGIN_FAILED]
    assert events[len(before) + 1].payload == {"name": "bob", "via": "cli", "why": "disabled"}
    (bob,) = [p for p in core.people.list_people(admin) if p.name == "bob"]
    assert bob.disabled and bob.roles == ("communicator",)  # the roles wait for them
    # A session still open when they were disabled can do nothing more.
    assert core.people.actor("bob").roles == frozenset()
    assert core.people.enable(admin, "bob") is True
    assert core.people.enable(admin, "bob") is False
    assert core.people.authenticate("bob", "bob password").roles == {Role.COMMUNICATOR}


def test_sign_in_decides_from_the_log_not_the_table(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    core.people.disable(admin, "bob")
    core.db.conn.execute("UPDATE users SET disabled_at = NULL WHERE name = 'bob'")  # the table edited behind its back
    with pytest.raises(AuthenticationFailed, match="disabled"):
        core.people.authenticate("bob", "bob password")


def test_the_last_admin_can_be_neither_revoked_nor_disabled(core: App, admin: Actor) -> None:
    n = core.log.count()
    with pytest.raises(UserError, match="cannot disable alice: they are the last admin who can sign in"):
        core.people.disable(admin, "alice")
    assert core.log.count() == n  # nothing recorded
    core.people.add(admin, "carol", [Role.ADMIN], "carol password")
    carol = core.people.actor("carol")
    with pytest.raises(UserError, match="cannot disable yourself"):
        core.people.disable(admin, "alice")
    assert core.people.disable(carol, "alice") is True
    # alice still holds admin, but disabled: carol is the last admin who can sign in.
    with pytest.raises(UserError, match="cannot revoke admin from carol: they are the last admin who can sign in"):
        core.people.revoke(carol, "carol", Role.ADMIN)
    with pytest.raises(UserError, match="cannot disable carol: they are the last admin"):
        core.people.disable(carol, "carol")
    assert core.people.enable(carol, "alice") is True
    assert core.people.revoke(carol, "carol", Role.ADMIN) is True  # alice can act again


def test_only_admins_disable_enable_and_reset(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.APPROVER], "bob password")
    bob = core.people.actor("bob")
    for attempt in (
        lambda: core.people.disable(bob, "alice"),
        lambda: core.people.enable(bob, "alice"),
        lambda: core.people.reset_password(bob, "alice", "taken over!"),
        lambda: core.people.set_idle_lock_minutes(bob, 0),
    ):
        with pytest.raises(PermissionDenied, match="needs the role admin"):
            attempt()
    assert core.people.authenticate("alice", ADMIN_PASSWORD).name == "alice"


def test_a_reset_password_works_and_the_old_one_does_not(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    n = core.log.count()
    core.people.reset_password(admin, "BOB", "a new long password")
    (event,) = list(core.log.events())[n:]
    assert (event.kind, event.actor, dict(event.payload)) == (Kind.PASSWORD_SET, "alice", {"name": "bob"})
    assert core.people.authenticate("bob", "a new long password").name == "bob"
    with pytest.raises(AuthenticationFailed):
        core.people.authenticate("bob", "bob password")
    with pytest.raises(UserError, match="at least 8"):
        core.people.reset_password(admin, "bob", "short")
    with pytest.raises(UserError, match="no user named 'zed'"):
        core.people.reset_password(admin, "zed", "a new long password")


def test_the_idle_lock_is_set_by_an_admin_as_an_event(core: App, admin: Actor) -> None:
    assert core.people.set_idle_lock_minutes(admin, 5) == 5
    assert core.people.idle_lock_minutes() == 5
    (event,) = [e for e in core.log.events() if e.kind == Kind.IDLE_LOCK_SET]
    assert event.payload == {"workstation": core.log.workstation_id(), "minutes": 5}
    with pytest.raises(UserError, match="0 \\(never\\) to 1440 minutes; 1441"):
        core.people.set_idle_lock_minutes(admin, 1441)
    assert core.people.idle_lock_minutes() == 5


def test_disable_and_enable_replay_into_the_same_tables(core: App, admin: Actor) -> None:
    core.people.add(admin, "bob", [Role.VIEWER], "bob password")
    core.people.add(admin, "eve", [Role.VIEWER], "eve password")
    core.people.disable(admin, "bob")
    core.people.disable(admin, "eve")
    core.people.enable(admin, "eve")
    core.people.reset_password(admin, "eve", "eve's new password")
    core.people.set_idle_lock_minutes(admin, 30)
    report = core.audit.verify(deep=True)
    assert report.ok, report.describe()
    # And the deep check notices a table that says otherwise.
    core.db.conn.execute("UPDATE users SET disabled_at = NULL WHERE name = 'bob'")
    report = core.audit.verify(deep=True)
    assert report.projections is not None and report.projections.total == 1
    assert report.projections.disagreements[0].table == "users"


def test_a_disabled_approvers_approval_stops_counting_until_they_are_enabled(core: App, admin: Actor) -> None:
    from tests.integration.outbox_helpers import add_team, open_incident

    team = add_team(core, admin)
    messages = core.messages()
    incident = open_incident(core, team)
    core.incidents().step_done(team["carla"], incident, 1)
    view = messages.draft(team["carla"], incident, "alert")
    messages.set_targets(team["carla"], view.id, ["public-page"])
    view = messages.submit(team["carla"], view.id)
    messages.approve(team["ivan"], view.id, view.content_hash)
    assert messages.show(admin, view.id).verdict.ok
    core.people.disable(admin, "ivan")
    assert core.people.actor("ivan").roles == frozenset()
    assert not messages.show(admin, view.id).verdict.ok
    with pytest.raises(UserError):
        messages.publish(team["carla"], view.id, confirm=f"PUBLISH LIVE {view.id}")
    core.people.enable(admin, "ivan")
    assert messages.show(admin, view.id).verdict.ok

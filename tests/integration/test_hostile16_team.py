"""Hostile tests (issue 16): a team member's workstation (joined with `hub join`: its own identity and valid key,
no admin of its own) writes entries in other people's names, past the services. Real SQLite files and keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock, utc_iso
from crisisdesk.domain.events import Kind, seal
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Role
from crisisdesk.domain.signing import Signer
from crisisdesk.services.receive import Incoming, Receiver
from crisisdesk.store.ledger import Ledger
from tests.integration.sync_helpers import entries, note, ws_of
from tests.integration.test_incidents import FLOOD_FACTS
from tests.integration.test_merge_workstations import act, founding, member, sync


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))


@pytest.fixture
def team(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[App, App, App]]:
    """The commander's workstation (founding, alice the admin), mallory's (a member) and a backup site."""
    a = founding(tmp_path / "commander.sqlite3", clock)
    clock.advance(timedelta(minutes=1))
    m = member(tmp_path / "mallory.sqlite3", "mallory's desk", clock)
    c = member(tmp_path / "backup.sqlite3", "backup site", clock)
    try:
        alice = a.people.actor("alice")
        a.people.add(alice, "carla", [Role.COMMUNICATOR], "carla password")
        a.people.add(alice, "ivan", [Role.APPROVER], "ivan password")
        clock.advance(timedelta(minutes=1))
        sync(a, m, c)
        yield a, m, c
    finally:
        for app in (a, m, c):
            app.close()


@pytest.mark.xfail(
    strict=True,
    reason="design limit, the trust model: hub access is team membership and the workstation is "
    "the unit of trust: a workstation that joined (declared its key) is trusted for the actor names it writes, "
    "since an actor's login happens on that workstation and cannot be proved to others; the defence against a "
    "rogue member's desk is an admin revoking its key ('workstation revoke-key'), after which its entries dated "
    "later count for nothing",
)
def test_a_member_workstation_cannot_approve_in_another_person_s_name(
    team: tuple[App, App, App], clock: FixedClock
) -> None:
    a, m, _ = team
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    a.messages().submit(act(a, "carla"), msg.id)
    sync(a, m)
    clock.advance(timedelta(minutes=1))
    # Ivan never logged in on mallory's desk; mallory writes his approval herself, signed by her desk's valid key.
    with m.db.write() as conn:
        m.log.record(
            conn,
            "ivan",
            Kind.MESSAGE_APPROVED,
            {"incident": inc.id, "message": msg.id, "version": 1, "hash": msg.content_hash, "roles": ["approver"]},
        )
    sync(a, m)
    view = a.messages().show(act(a, "carla"), msg.id)
    assert not view.verdict.ok, "an approval forged in ivan's name on a desk no admin admitted counts"


def test_a_member_without_the_admin_role_cannot_revoke_the_commander_s_key(
    team: tuple[App, App, App], clock: FixedClock
) -> None:
    a, m, c = team
    commander_key = a.workstation_keys().current()
    assert commander_key is not None
    clock.advance(timedelta(minutes=1))
    with m.db.write() as conn:
        m.log.record(
            conn,
            "mallory",  # no such person, no admin role anywhere
            Kind.WORKSTATION_KEY_REVOKED,
            {"workstation": ws_of(a), "key": commander_key.key, "reason": "stolen (not true)"},
        )
    clock.advance(timedelta(minutes=1))
    note(a, "shelter at the school is open")
    report = Receiver(c).receive([*entries(m), *entries(a)], source="hub")
    assert ws_of(a) not in report.refused, report.lines()
    assert a.audit.verify().ok and c.audit.verify().ok


def test_an_admin_s_revocation_of_a_member_s_key_travels_to_the_other_sites(
    team: tuple[App, App, App], clock: FixedClock
) -> None:
    """The same entry written by an admin counts everywhere: the backup site, receiving the commander's entries
    (with the revocation) and then mallory's desk's, refuses what her desk signed after it."""
    a, m, c = team
    desk_key = m.workstation_keys().current()
    assert desk_key is not None
    clock.advance(timedelta(minutes=1))
    a.workstation_keys().revoke(a.people.actor("alice"), ws_of(m), desk_key.key, "laptop stolen")
    clock.advance(timedelta(minutes=1))
    note(m, "written after the revocation")
    report = Receiver(c).receive([*entries(a), *entries(m)], source="hub")
    assert f"signed by key {desk_key.key} after it was revoked at " in report.refused[ws_of(m)], report.lines()
    assert ws_of(a) not in report.refused


def test_an_entry_dated_before_the_entry_before_it_in_its_chain_is_refused(
    team: tuple[App, App, App], clock: FixedClock
) -> None:
    """dan, an admin on mallory's desk, loses the admin role at 09:40 on the commander's; mallory's desk, which
    has written at 09:50 since, then writes a grant dated 09:36 (before the revocation: dan was an admin then).
    A workstation's own entries never go back in time (record() keeps them in order), so a chain that does was
    written by hand: refused."""
    a, m, c = team
    alice = a.people.actor("alice")
    a.people.add(alice, "dan", [Role.ADMIN], "dan password")
    sync(a, m, c)
    clock.advance(timedelta(minutes=4))
    a.people.revoke(alice, "dan", Role.ADMIN)
    sync(a, m, c)
    clock.advance(timedelta(minutes=10))
    note(m, "mallory's desk at work")
    seq, prev = m.db.conn.execute(
        "SELECT seq, hash FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws_of(m),)
    ).fetchone()
    key = m.secrets.signing_key(ws_of(m))
    assert key is not None
    backdated = seal(
        workstation_id=ws_of(m),
        seq=int(seq) + 1,
        at=utc_iso(clock.now() - timedelta(minutes=14)),
        actor="dan",
        kind=Kind.ROLE_GRANTED,
        payload={"name": "carla", "role": "admin"},
        prev_hash=str(prev),
    )
    assert Receiver(c).receive(entries(m), source="hub").ok  # the honest note first, in a sync of its own
    offered = [Incoming(backdated.hash, backdated.body, Signer(key).sign(backdated.hash))]
    report = Receiver(c).receive(offered, source="hub")
    assert ws_of(m) in report.refused, report.lines()
    assert "before" in report.refused[ws_of(m)]
    assert Role.ADMIN not in c.people.actor("carla").roles


def test_a_new_workstation_whose_chain_is_dated_before_the_team_cannot_found_it_and_make_its_own_admin(
    team: tuple[App, App, App], clock: FixedClock
) -> None:
    """Anyone with the hub's password makes a workstation by hand whose unsigned first entries (before it declares
    its key) are dated in 2000: its creation, a `hub.founded` naming itself and its bootstrap admin. The first
    `hub.founded` in the merge order names the founder, whose bootstrap makes the team's first admin."""
    a, _, c = team
    import uuid

    from crisisdesk.domain.signing import new_private_key, private_key_text

    ws = str(uuid.uuid4())
    key = Signer(private_key_text(new_private_key()))
    long_ago = "2000-01-01T00:00:00.000000+00:00"
    chain: list[Incoming] = []
    prev = "0" * 64
    rows = [
        ("system", Kind.WORKSTATION_CREATED, {"id": ws, "name": "evil desk"}, long_ago),
        ("mallory", Kind.HUB_FOUNDED, {"hub_id": "hub-test", "workstation": ws}, long_ago),
        (
            "system",
            Kind.USER_ADDED,
            {"name": "mallory", "display_name": "mallory", "roles": ["admin"], "via": "init"},
            long_ago,
        ),
        (
            "system",
            Kind.WORKSTATION_JOINED,
            {"workstation": ws, "key": key.key_id, "public_key": key.public},
            utc_iso(clock.now()),
        ),
    ]
    from crisisdesk.domain.events import GENESIS

    prev = GENESIS
    for seq, (actor, kind, payload, at) in enumerate(rows, 1):
        event = seal(workstation_id=ws, seq=seq, at=at, actor=actor, kind=kind, payload=payload, prev_hash=prev)
        signature = key.sign(event.hash) if kind == Kind.WORKSTATION_JOINED else None
        chain.append(Incoming(event.hash, event.body, signature))
        prev = event.hash
    for app in (a, c):
        report = Receiver(app).receive(chain, source="hub")
        roles = Ledger(app.db.conn).roles("mallory")
        assert "admin" not in roles, (report.lines(), roles)
        assert Ledger(app.db.conn).roles("alice") == frozenset({"admin"})


def test_a_member_s_unsigned_history_decides_nothing(team: tuple[App, App, App], clock: FixedClock) -> None:
    """A workstation made by hand whose unsigned entries before its key (dated in 2000, so first in the merge
    order) re-open the team's exercise as LIVE: whatever the Receiver takes in, the Ledger (what the outbox and the
    composer decide on) counts no member's unsigned entry beyond its creation, so the exercise stays an exercise."""
    import uuid

    from crisisdesk.domain.events import GENESIS
    from crisisdesk.domain.signing import new_private_key, private_key_text

    a, _, c = team
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS)
    opened = next(e for e in a.log.events() if e.kind == Kind.INCIDENT_OPENED and e.payload["incident"] == inc.id)
    clock.advance(timedelta(minutes=1))
    sync(a, c)
    ws = str(uuid.uuid4())
    key = Signer(private_key_text(new_private_key()))
    long_ago = "2000-01-01T00:00:00.000000+00:00"
    rows = [
        ("system", Kind.WORKSTATION_CREATED, {"id": ws, "name": "evil desk"}, long_ago),
        ("carla", Kind.INCIDENT_OPENED, {**dict(opened.payload), "mode": "live"}, long_ago),
        (
            "system",
            Kind.WORKSTATION_JOINED,
            {"workstation": ws, "key": key.key_id, "public_key": key.public},
            utc_iso(clock.now()),
        ),
    ]
    chain: list[Incoming] = []
    prev = GENESIS
    for seq, (actor, kind, payload, at) in enumerate(rows, 1):
        event = seal(workstation_id=ws, seq=seq, at=at, actor=actor, kind=kind, payload=payload, prev_hash=prev)
        chain.append(
            Incoming(event.hash, event.body, key.sign(event.hash) if kind == Kind.WORKSTATION_JOINED else None)
        )
        prev = event.hash
    for app in (a, c):
        Receiver(app).receive(chain, source="hub")
        record = Ledger(app.db.conn).incident(inc.id)
        assert record is not None and record.mode == "exercise"

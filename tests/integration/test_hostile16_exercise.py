"""Hostile tests (issue 16): an exercise never reaches the public, whatever another workstation writes about it.
Real SQLite files exchanging entries as the hub hands them over."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock, utc_iso
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.events import Kind, seal
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.signing import Signer
from crisisdesk.services.receive import Incoming, Receiver
from crisisdesk.store.ledger import Ledger
from tests.integration.sync_helpers import ws_of
from tests.integration.test_incidents import FLOOD_FACTS
from tests.integration.test_merge_workstations import act, clock, desks, sync

__all__ = ["clock", "desks"]  # fixtures


def made_up(app: App, actor: str, kind: str, payload: dict[str, object], clock: FixedClock) -> Incoming:
    """The next entry of ``app``'s chain, written by hand and signed with its own key (its tables never saw it)."""
    ws = ws_of(app)
    seq, prev = app.db.conn.execute(
        "SELECT seq, hash FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (ws,)
    ).fetchone()
    key = app.secrets.signing_key(ws)
    assert key is not None
    event = seal(
        workstation_id=ws,
        seq=int(seq) + 1,
        at=utc_iso(clock.now()),
        actor=actor,
        kind=kind,
        payload=payload,
        prev_hash=str(prev),
    )
    return Incoming(event.hash, event.body, Signer(key).sign(event.hash))


def test_a_second_opening_of_an_exercise_as_live_from_another_workstation_does_not_make_it_live(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, c = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS)
    opened = next(e for e in a.log.events() if e.kind == Kind.INCIDENT_OPENED and e.payload["incident"] == inc.id)
    sync(a, b, c)
    clock.advance(timedelta(minutes=1))
    forged = made_up(
        b, "alice", Kind.INCIDENT_OPENED, {**orjson.loads(orjson.dumps(opened.payload)), "mode": "live"}, clock
    )
    for app in (a, c):
        report = Receiver(app).receive([forged], source="hub")
        mode = app.db.conn.execute("SELECT mode FROM incidents WHERE id = ?", (inc.id,)).fetchone()[0]
        record = Ledger(app.db.conn).incident(inc.id)
        assert mode == "exercise" and record is not None and record.mode == "exercise", (mode, report.lines())


def test_a_draft_in_an_exercise_stays_an_exercise_after_another_workstation_opens_it_again_live(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, _ = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS)
    opened = next(e for e in a.log.events() if e.kind == Kind.INCIDENT_OPENED and e.payload["incident"] == inc.id)
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    payload = {**orjson.loads(orjson.dumps(opened.payload)), "mode": "live"}
    Receiver(a).receive([made_up(b, "alice", Kind.INCIDENT_OPENED, payload, clock)], source="hub")
    clock.advance(timedelta(minutes=1))
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    assert msg.mode == "exercise", msg.mode


def test_a_live_account_re_added_as_an_exercise_one_by_another_workstation_stays_live(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, _ = desks
    live = next(acc for acc in Ledger(a.db.conn).accounts().values() if not acc.exercise)
    added = next(e for e in a.log.events() if e.kind == Kind.CHANNEL_ADDED and e.payload["account"] == live.id)
    clock.advance(timedelta(minutes=1))
    payload = {**orjson.loads(orjson.dumps(added.payload)), "exercise": True}
    Receiver(a).receive([made_up(b, "alice", Kind.CHANNEL_ADDED, payload, clock)], source="hub")
    in_table = a.db.conn.execute("SELECT exercise FROM channel_accounts WHERE id = ?", (live.id,)).fetchone()[0]
    record = Ledger(a.db.conn).account(live.id)
    assert record is not None and bool(in_table) == record.exercise == False  # noqa: E712


def test_an_exercise_never_reaches_the_public_page_whatever_a_member_re_adds(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, _ = desks
    live = next(acc for acc in Ledger(a.db.conn).accounts().values() if not acc.exercise)
    added = next(e for e in a.log.events() if e.kind == Kind.CHANNEL_ADDED and e.payload["account"] == live.id)
    clock.advance(timedelta(minutes=1))
    payload = {**orjson.loads(orjson.dumps(added.payload)), "exercise": True}
    Receiver(a).receive([made_up(b, "alice", Kind.CHANNEL_ADDED, payload, clock)], source="hub")
    clock.advance(timedelta(minutes=1))
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    folder = Path(str(live.settings["path"]))
    before = sorted(folder.rglob("*")) if folder.exists() else []
    try:
        a.messages().set_targets(act(a, "carla"), msg.id, [live.name])
        a.messages().submit(act(a, "carla"), msg.id)
        a.messages().approve(act(a, "ivan"), msg.id, a.messages().show(act(a, "carla"), msg.id).content_hash)
        a.messages().publish(act(a, "carla"), msg.id, confirm=f"SEND EXERCISE {msg.id}")
        a.outbox().run_once()
    except (UserError, PermissionDenied):
        pass  # refused somewhere on the way: what should happen
    after = sorted(folder.rglob("*")) if folder.exists() else []
    assert after == before, f"an exercise message reached the public page: {[str(p) for p in after]}"


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        (Kind.INCIDENT_OPENED, {}),
        (Kind.INCIDENT_OPENED, {"incident": "inc-x", "facts": [1, 2]}),
        (Kind.CHANNEL_ADDED, {"account": 5}),
        (Kind.MESSAGE_EDITED, {"message": "msg-none", "version": "two"}),
        (Kind.ROLE_GRANTED, {"name": ["carla"], "role": {"admin": True}}),
        (Kind.MESSAGE_APPROVED, {"message": None}),
    ],
    ids=["opened-empty", "opened-facts-list", "channel-bad", "edited-bad", "grant-bad", "approved-null"],
)
def test_a_signed_entry_with_a_payload_of_the_wrong_shape_refuses_only_its_workstation(
    desks: tuple[App, App, App], clock: FixedClock, kind: str, payload: dict[str, object]
) -> None:
    a, b, c = desks
    clock.advance(timedelta(minutes=1))
    honest = a.incidents().open(act(a, "carla"), "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS)
    hostile = made_up(b, "alice", kind, payload, clock)
    offered = [*entries_of(a), hostile]
    report = Receiver(c).receive(offered, source="hub")
    assert ws_of(b) in report.refused and "\n" not in report.refused[ws_of(b)], report.lines()
    assert c.db.conn.execute("SELECT count(*) FROM incidents WHERE id = ?", (honest.id,)).fetchone()[0] == 1


def entries_of(app: App) -> list[Incoming]:
    rows = app.db.conn.execute(
        "SELECT hash, body, signature FROM events WHERE workstation_id = ? ORDER BY seq", (ws_of(app),)
    ).fetchall()
    return [Incoming(str(h), bytes(body), s) for h, body, s in rows]


@pytest.mark.parametrize(
    "change",
    [
        {"hash": 12345},
        {"roles": "approver"},
        {"version": "1"},
        {"comment": {"nested": [1]}},
        {"roles": None},
    ],
    ids=["hash-int", "roles-text", "version-text", "comment-object", "roles-null"],
)
def test_a_hand_made_approval_of_odd_shape_does_not_break_the_message_on_the_author_s_workstation(
    desks: tuple[App, App, App], clock: FixedClock, change: dict[str, object]
) -> None:
    a, b, _ = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    a.messages().submit(act(a, "carla"), msg.id)
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    payload = {
        "incident": inc.id,
        "message": msg.id,
        "version": 1,
        "hash": msg.content_hash,
        "roles": ["approver"],
        **change,
    }
    Receiver(a).receive([made_up(b, "ivan", Kind.MESSAGE_APPROVED, payload, clock)], source="hub")
    clock.advance(timedelta(minutes=1))
    assert a.messages().show(act(a, "carla"), msg.id).id == msg.id  # no traceback
    with contextlib.suppress(UserError, PermissionDenied):  # a refusal is fine; anything else fails
        a.messages().publish(act(a, "carla"), msg.id, confirm=f"PUBLISH LIVE {msg.id}")


@pytest.mark.parametrize(
    "change",
    [
        {"facts": {"area": 5}},
        {"mode": "rehearsal"},
        {"timezone": "Mars/Olympus_Mons"},
        {"playbook": "no-such-playbook"},
        {"title": ["a", "list"]},
    ],
    ids=["fact-number", "mode-unknown", "zone-unknown", "playbook-unknown", "title-list"],
)
def test_a_hand_made_incident_of_odd_shape_does_not_break_the_incident_list_or_board(
    desks: tuple[App, App, App], clock: FixedClock, change: dict[str, object]
) -> None:
    """A member's workstation opens a NEW incident by hand with a field no service would write. Whether it is
    refused at receipt or shown, listing and showing incidents on the receiving workstation says no traceback."""
    a, b, _ = desks
    model = a.incidents().open(act(a, "carla"), "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS)
    opened = next(e for e in a.log.events() if e.kind == Kind.INCIDENT_OPENED and e.payload["incident"] == model.id)
    clock.advance(timedelta(minutes=1))
    payload = {**orjson.loads(orjson.dumps(opened.payload)), "incident": "inc-odd0000001", **change}
    Receiver(a).receive([made_up(b, "alice", Kind.INCIDENT_OPENED, payload, clock)], source="hub")
    carla = act(a, "carla")
    for incident in a.incidents().list_all(carla):
        with contextlib.suppress(UserError, PermissionDenied):
            a.incidents().show(carla, incident.id)
            a.incidents().timeline(incident.id)

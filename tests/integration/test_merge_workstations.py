"""Merge rules across workstations (issue 16 item 3): two or three real SQLite files exchange their entries through
``EventLog.append_received`` (rows of one's events table: hash, body, signature, as the hub and bundles hand them
over), and decide together: concurrent edits become siblings a person merges, an approval given on one counts on
another, a revocation wins from its time on, and any arrival order gives the same tables."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.passwords import Argon2Hasher
from tests.integration.test_event_log import snapshot
from tests.integration.test_incidents import FLOOD_FACTS

Row = tuple[str, bytes, str | None]
HASHER = Argon2Hasher(time_cost=1, memory_cost=1024)


def founding(path: Path, clock: FixedClock) -> App:
    """The workstation the team was founded on: its first admin (alice) is the team's."""
    app = App.open(path, create=True, clock=clock, hasher=HASHER)
    app.initialise("alice", "correct horse", workstation_name="commander")
    with app.db.write() as conn:
        app.log.record(conn, "alice", Kind.HUB_FOUNDED, {"hub_id": "hub-test", "workstation": app.log.workstation_id()})
    return app


def member(path: Path, name: str, clock: FixedClock) -> App:
    """A workstation that joins a team: its identity and key only (no admin of its own, no channels)."""
    app = App.open(path, create=True, clock=clock, hasher=HASHER)
    ws = str(uuid.uuid4())
    with app.db.write() as conn:
        conn.execute("INSERT INTO local_settings (key, value) VALUES ('workstation_id', ?)", (ws,))
        app.log.record(conn, "system", Kind.WORKSTATION_CREATED, {"id": ws, "name": name})
        app.workstation_keys().declare(conn, ws)
    return app


def missing(src: App, dst: App) -> list[Row]:
    """What ``src`` holds that ``dst`` does not, per workstation in seq order."""
    out: list[Row] = []
    for (ws,) in src.db.conn.execute("SELECT DISTINCT workstation_id FROM events ORDER BY workstation_id"):
        out += [
            (str(h), bytes(b), s)
            for h, b, s in src.db.conn.execute(
                "SELECT hash, body, signature FROM events WHERE workstation_id = ? AND seq > ? ORDER BY seq",
                (ws, dst.log.last_seq(ws)),
            )
        ]
    return out


def deliver(dst: App, rows: Sequence[Row]) -> None:
    with dst.db.write() as conn:
        dst.log.append_received(conn, [(h, b) for h, b, _ in rows], signatures={h: s for h, _, s in rows if s})


def sync(*apps: App) -> None:
    """Everyone hands everyone else what they lack (twice round: relayed entries too)."""
    for _ in range(2):
        for src in apps:
            for dst in apps:
                if src is not dst and (rows := missing(src, dst)):
                    deliver(dst, rows)


def tables(app: App) -> dict[str, list[dict[str, object]]]:
    return snapshot(app.db.conn)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))


@pytest.fixture
def desks(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[App, App, App]]:
    """The commander's workstation (founding), a communicator's and a backup site's, with the team's people
    added on the commander's and known everywhere."""
    a = founding(tmp_path / "commander.sqlite3", clock)
    clock.advance(timedelta(minutes=1))
    b = member(tmp_path / "communicator.sqlite3", "communicator", clock)
    c = member(tmp_path / "backup.sqlite3", "backup site", clock)
    try:
        alice = a.people.actor("alice")
        for name, roles in {
            "carla": [Role.COMMUNICATOR],
            "dan": [Role.COMMUNICATOR],
            "ivan": [Role.APPROVER],
            "ada": [Role.APPROVER, Role.COMMUNICATOR],
        }.items():
            a.people.add(alice, name, roles, f"{name} password")
        clock.advance(timedelta(minutes=1))
        sync(a, b, c)
        yield a, b, c
    finally:
        for app in (a, b, c):
            app.close()


def act(app: App, name: str) -> Actor:
    return app.people.actor(name)


def test_people_added_on_the_founding_workstation_act_everywhere(desks: tuple[App, App, App]) -> None:
    a, b, c = desks
    for app in desks:
        assert act(app, "ivan").roles == frozenset({Role.APPROVER})
        assert act(app, "alice").roles == frozenset({Role.ADMIN})
    assert tables(b)["users"] == tables(a)["users"] == tables(c)["users"]


def test_concurrent_edits_become_siblings_on_both_and_the_same_after_merge(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, c = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    # Apart: carla on the commander's workstation and dan on the communicator's edit the same version.
    mine = a.messages().edit(act(a, "carla"), msg.id, "wea-90", "en", "Flash flood: climb to high ground now.")
    theirs = b.messages().edit(act(b, "dan"), msg.id, "wea-90", "en", "Flash flood in Mill Creek: leave the valley.")
    assert mine.version == theirs.version == 2 and mine.content_hash != theirs.content_hash
    clock.advance(timedelta(minutes=1))
    sync(a, b)
    for app in (a, b):
        view = app.messages().show(act(app, "ivan"), msg.id)
        assert view.state == "conflict"
        assert {(s["hash"], s["author"], s["workstation_name"]) for s in view.siblings} == {
            (mine.content_hash, "carla", "commander"),
            (theirs.content_hash, "dan", "communicator"),
        }
        row = app.db.conn.execute("SELECT conflict, current_version FROM messages WHERE id = ?", (msg.id,)).fetchone()
        assert tuple(row) == (1, 2)
        with pytest.raises(UserError, match=f"crisisdesk message merge {msg.id} --keep HASH"):
            app.messages().submit(act(app, "carla"), msg.id)
        with pytest.raises(UserError, match="merge them first"):
            app.messages().approve(act(app, "ivan"), msg.id, mine.content_hash)
        with pytest.raises(UserError, match="merge them first"):
            app.messages().publish(act(app, "ada"), msg.id, confirm=f"PUBLISH LIVE {msg.id}")
        with pytest.raises(UserError, match="merge them first"):
            app.messages().edit(act(app, "carla"), msg.id, "wea-90", "en", "a third text")
    assert tables(a) == tables(b)  # the same events, folded in the same order
    clock.advance(timedelta(minutes=1))
    merged = b.messages().merge(
        act(b, "dan"),
        msg.id,
        theirs.content_hash[:12],
        channel="wea-90",
        lang="en",
        text="Flash flood in Mill Creek: climb to high ground or leave the valley.",
    )
    assert merged.version == 3 and merged.state == "draft" and not merged.siblings
    sync(a, b, c)
    for app in (a, b, c):
        view = app.messages().show(act(app, "ivan"), msg.id)
        assert (view.state, view.version, view.content_hash) == ("draft", 3, merged.content_hash)
    assert tables(a) == tables(b)
    edit = next(e for e in b.log.events() if e.kind == Kind.MESSAGE_EDITED and e.payload["version"] == 3)
    assert edit.payload["base"] == {"version": 2, "hash": theirs.content_hash}
    assert edit.payload["merges"] == sorted([mine.content_hash, theirs.content_hash])
    # After the merge it goes round as usual: submitted on one, approved on another.
    a.messages().submit(act(a, "carla"), msg.id)
    sync(a, c)
    approved = c.messages().approve(act(c, "ivan"), msg.id, merged.content_hash)
    assert approved.verdict.ok


def test_an_approval_given_on_another_workstation_counts_and_an_author_s_never_does(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, _ = desks
    inc = a.incidents().open(act(a, "ada"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "ada"), inc.id, "alert")
    a.messages().submit(act(a, "ada"), msg.id)
    sync(a, b)
    # ada wrote it: the communicator's workstation refuses her approval as the commander's would...
    with pytest.raises(PermissionDenied, match="someone who wrote none of it must approve it"):
        b.messages().approve(act(b, "ada"), msg.id, msg.content_hash)
    # ...and one written there anyway (by hand, past the service) never counts on the commander's.
    with b.db.write() as conn:
        b.log.record(
            conn,
            "ada",
            Kind.MESSAGE_APPROVED,
            {"incident": inc.id, "message": msg.id, "version": 1, "hash": msg.content_hash, "roles": ["approver"]},
        )
    clock.advance(timedelta(minutes=1))
    sync(a, b)
    view = a.messages().show(act(a, "ada"), msg.id)
    assert not view.verdict.ok and "an author's own approval does not count" in view.verdict.reason
    clock.advance(timedelta(minutes=1))
    b.messages().approve(act(b, "ivan"), msg.id, msg.content_hash, "checked against the river gauge")
    sync(a, b)
    view = a.messages().show(act(a, "ada"), msg.id)
    assert view.verdict.ok and view.verdict.counted == ("ivan",)
    published = a.messages().publish(act(a, "ada"), msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    assert published.state == "published"
    sync(a, b)
    assert tables(a) == tables(b)


def test_an_approval_from_a_workstation_that_never_joined_or_with_a_bad_signature_does_not_count(
    desks: tuple[App, App, App], clock: FixedClock, tmp_path: Path
) -> None:
    a, b, _ = desks
    inc = a.incidents().open(act(a, "ada"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "ada"), inc.id, "alert")
    a.messages().submit(act(a, "ada"), msg.id)
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    b.messages().approve(act(b, "ivan"), msg.id, msg.content_hash)
    rows = missing(b, a)
    forged = [(h, body, None if Kind.MESSAGE_APPROVED.encode() in body else s) for h, body, s in rows]
    deliver(a, forged)  # the approval arrives without its signature
    view = a.messages().show(act(a, "ada"), msg.id)
    assert not view.verdict.ok and not view.approvals  # not trusted: nothing decided on it
    assert a.db.conn.execute("SELECT count(*) FROM approvals").fetchone()[0] == 1  # the table lists it, though


def test_a_role_revoked_on_one_workstation_wins_over_approvals_dated_after_it(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, _ = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    a.messages().submit(act(a, "carla"), msg.id)
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    # On the communicator's workstation alice takes the approver role from ivan; the commander's has not heard.
    assert b.people.revoke(act(b, "alice"), "ivan", Role.APPROVER)
    clock.advance(timedelta(minutes=1))
    approved = a.messages().approve(act(a, "ivan"), msg.id, msg.content_hash)
    assert approved.verdict.ok  # as far as the commander's workstation knows
    clock.advance(timedelta(minutes=1))
    sync(a, b)
    for app in (a, b):
        view = app.messages().show(act(app, "carla"), msg.id)
        assert not view.verdict.ok, app.workstation_name()
        assert act(app, "ivan").roles == frozenset()
        with pytest.raises(PermissionDenied, match="cannot be published"):
            app.messages().publish(act(app, "carla"), msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    # Granted again later, ivan's approval given while he did not hold the role still does not count.
    clock.advance(timedelta(minutes=1))
    a.people.grant(act(a, "alice"), "ivan", Role.APPROVER)
    sync(a, b)
    for app in (a, b):
        assert act(app, "ivan").roles == frozenset({Role.APPROVER})
        assert not app.messages().show(act(app, "carla"), msg.id).verdict.ok
    assert tables(a) == tables(b)


def test_an_admin_revoked_on_one_workstation_grants_nothing_afterwards_on_another(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, _ = desks
    a.people.grant(act(a, "alice"), "dan", Role.ADMIN)
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    assert a.people.revoke(act(a, "alice"), "dan", Role.ADMIN)
    clock.advance(timedelta(minutes=1))
    assert b.people.grant(act(b, "dan"), "dan", Role.APPROVER)  # b has not heard of the revocation yet
    assert act(b, "dan").roles == frozenset({Role.ADMIN, Role.APPROVER, Role.COMMUNICATOR})
    sync(a, b)
    for app in (a, b):
        assert act(app, "dan").roles == frozenset({Role.COMMUNICATOR})
        roles = {r["role"] for r in tables(app)["user_roles"] if r["user_name"] == "dan"}
        assert roles == {"communicator"}
    assert tables(a) == tables(b)


def test_a_member_s_own_bootstrap_admin_is_not_the_team_s(tmp_path: Path, clock: FixedClock) -> None:
    """A workstation set up with an admin of its own before it joined: that admin counts on it until it hears
    of the team's founding, then only the founding workstation's does, there and everywhere."""
    a = founding(tmp_path / "commander.sqlite3", clock)
    b = App.open(tmp_path / "island.sqlite3", create=True, clock=clock, hasher=HASHER)
    try:
        clock.advance(timedelta(minutes=1))
        b.people.initialise("mallory", "correct horse", workstation_name="island")
        b.workstation_keys().join(b.people.actor("mallory"))
        assert act(b, "mallory").roles == frozenset({Role.ADMIN})
        sync(a, b)
        for app in (a, b):
            assert act(app, "mallory").roles == frozenset()
            assert act(app, "alice").roles == frozenset({Role.ADMIN})
        assert tables(a) == tables(b)
    finally:
        a.close()
        b.close()


# -- any arrival order ------------------------------------------------------------------------------------


@pytest.fixture
def history(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    """A morning of three workstations working partly apart, as one set of entries (made once per test: the
    examples below deliver the same entries in different orders)."""
    folder = tmp_path_factory.mktemp("history")
    clock = FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))
    a = founding(folder / "a.sqlite3", clock)
    b = member(folder / "b.sqlite3", "communicator", clock)
    c = member(folder / "c.sqlite3", "backup", clock)
    try:
        alice = act(a, "alice")
        for name, roles in {"carla": [Role.COMMUNICATOR], "dan": [Role.COMMUNICATOR], "ivan": [Role.APPROVER]}.items():
            a.people.add(alice, name, roles, f"{name} password")
        sync(a, b, c)
        inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
        first = a.messages().draft(act(a, "carla"), inc.id, "alert")
        sync(a, b, c)
        clock.advance(timedelta(minutes=1))
        a.messages().edit(act(a, "carla"), first.id, "wea-90", "en", "Flash flood: climb to high ground.")
        b.messages().edit(act(b, "dan"), first.id, "wea-90", "en", "Flash flood: leave the valley.")
        second = c.messages().draft(act(c, "dan"), inc.id, "alert")
        c.messages().submit(act(c, "dan"), second.id)
        sync(b, c)
        b.messages().approve(act(b, "ivan"), second.id, second.content_hash)
        clock.advance(timedelta(seconds=30))
        b.people.revoke(act(b, "alice"), "ivan", Role.APPROVER)
        a.people.grant(act(a, "alice"), "dan", Role.APPROVER)
        sync(a, b, c)
        rows = missing(a, member(folder / "empty.sqlite3", "empty", clock))
    finally:
        for app in (a, b, c):
            app.close()
    return rows


def keep_chains(rows: Sequence[Row], rng: random.Random) -> list[list[Row]]:
    """A random interleaving of the workstations' chains (each in its seq order), cut into random batches."""
    queues: dict[str, list[Row]] = {}
    for row in rows:
        queues.setdefault(orjson.loads(row[1])["ws"], []).append(row)
    order = [ws for ws, q in queues.items() for _ in q]
    rng.shuffle(order)
    flat = [queues[ws].pop(0) for ws in order]
    out: list[list[Row]] = []
    while flat:
        size = rng.randint(1, 25)
        out.append(flat[:size])
        flat = flat[size:]
    return out


def without_own(app: App) -> dict[str, list[dict[str, object]]]:
    """The tables with the receiving workstation's own identity left out (each receiver is a different one)."""
    out = tables(app)
    own = app.log.workstation_id()
    out["workstations"] = [w for w in out["workstations"] if w["id"] != own]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_out_of_order_arrival_gives_the_same_tables_as_in_order(history: list[Row], tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    clock = FixedClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # later than all of it: the member's own comes last
    name = uuid.uuid4().hex[:8]
    in_order = member(tmp_path / f"in-order-{name}.sqlite3", "in order", clock)
    shuffled = member(tmp_path / f"shuffled-{name}.sqlite3", "shuffled", clock)
    try:
        deliver(in_order, history)
        for batch in keep_chains(history, rng):
            deliver(shuffled, batch)
        expected = without_own(in_order)
        got = without_own(shuffled)
        assert {t: r for t, r in got.items() if r != expected[t]} == {}
        assert expected["message_versions"] and expected["approvals"]
        shuffled.log.replay()  # folding the log again from the start changes nothing
        assert without_own(shuffled) == expected
        assert shuffled.log.verify().ok
        # (audit verify still calls other workstations' entries foreign: services/audit.py is the receive part's)
        report = shuffled.audit.verify()
        assert report.chain is not None and report.chain.ok
        assert report.signatures is not None and report.signatures.ok
    finally:
        in_order.close()
        shuffled.close()


def test_a_deep_check_after_merging_finds_the_tables_as_the_log_says(desks: tuple[App, App, App]) -> None:
    a, b, _ = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    a.messages().draft(act(a, "carla"), inc.id, "alert")
    sync(a, b)
    report = b.log.compare_projections()
    assert report.ok, report


def test_the_cli_shows_siblings_with_their_authors_and_workstations_and_merges_them(
    core: App, cli_as: Callable[..., tuple[int, str, str]], tmp_path: Path, clock: FixedClock
) -> None:
    alice = act(core, "alice")
    with core.db.write() as conn:
        core.log.record(
            conn, "alice", Kind.HUB_FOUNDED, {"hub_id": "hub-test", "workstation": core.log.workstation_id()}
        )
    core.people.add(alice, "carla", [Role.COMMUNICATOR], "carla password")
    core.people.add(alice, "dan", [Role.COMMUNICATOR], "dan password")
    inc = core.incidents().open(act(core, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = core.messages().draft(act(core, "carla"), inc.id, "alert")
    clock.advance(timedelta(minutes=1))
    other = member(tmp_path / "communicator.sqlite3", "communicator", clock)
    try:
        sync(core, other)
        clock.advance(timedelta(minutes=1))
        theirs = other.messages().edit(act(other, "dan"), msg.id, "wea-90", "en", "Leave the valley by Route 9.")
        mine = core.messages().edit(act(core, "carla"), msg.id, "wea-90", "en", "Climb to high ground now.")
        sync(core, other)
    finally:
        other.close()
    code, out, _ = cli_as("carla", "message", "show", msg.id)
    assert code == 0
    assert f"{msg.id}  [LIVE]  alert" in out and "conflict" in out.splitlines()[0]
    assert "CONFLICT: 2 versions were edited at the same time on different workstations" in out
    assert f"crisisdesk message merge {msg.id} --keep HASH" in out
    assert f"-- v2 hash {theirs.content_hash}" in out and "by dan on workstation communicator (" in out
    assert f"-- v2 hash {mine.content_hash}" in out and "by carla on workstation EOC desk 1 (" in out
    assert "Leave the valley by Route 9." in out and "Climb to high ground now." in out
    code, out, err = cli_as("carla", "message", "submit", msg.id)
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert f"crisisdesk message merge {msg.id} --keep HASH" in err
    code, out, err = cli_as("carla", "message", "merge", msg.id, "--keep", "0" * 12)
    assert code != 0 and "is none of the sibling versions" in err
    text = tmp_path / "merged.txt"
    text.write_text("Leave the valley by Route 9, or climb to high ground now.\n", encoding="utf-8")
    code, out, err = cli_as(
        "carla",
        "message",
        "merge",
        msg.id,
        "--keep",
        mine.content_hash,
        "--channel",
        "wea-90",
        "--lang",
        "en",
        "--text-file",
        str(text),
    )
    assert code == 0, err
    assert out.startswith(f"{msg.id}: merged into v3, hash ")
    code, out, _ = cli_as("carla", "message", "show", msg.id, "--json")
    shown = json.loads(out)
    assert shown["state"] == "draft" and shown["version"] == 3 and shown["siblings"] == []
    wea = next(v for v in shown["variants"] if v["channel"] == "wea-90" and v["lang"] == "en")
    assert wea["text"] == "Leave the valley by Route 9, or climb to high ground now."
    code, out, err = cli_as("carla", "message", "submit", msg.id)
    assert code == 0, err


def test_a_revoked_workstation_s_approvals_dated_after_the_revocation_do_not_count(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    a, b, _ = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    a.messages().submit(act(a, "carla"), msg.id)
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    remote = b.log.workstation_id()
    key = next(k.key for k in a.workstation_keys().declared() if k.workstation == remote)
    a.workstation_keys().revoke(act(a, "alice"), remote or "", key, "laptop stolen")
    clock.advance(timedelta(minutes=1))
    b.messages().approve(act(b, "ivan"), msg.id, msg.content_hash)  # b has not heard of it
    sync(a, b)
    view = a.messages().show(act(a, "carla"), msg.id)
    assert not view.verdict.ok and not view.approvals  # signed by a key revoked before: nothing decided on it
    assert a.db.conn.execute("SELECT count(*) FROM approvals").fetchone()[0] == 1
    # The same approval given on the commander's own workstation counts.
    a.messages().approve(act(a, "ivan"), msg.id, msg.content_hash)
    assert a.messages().show(act(a, "carla"), msg.id).verdict.ok

"""The Receiver (services/receive.py): entries exported from one workstation's file (rows of its events table)
received by another's, as the hub's pull and a bundle's import hand them over. Real SQLite files, real keys in
the test keyring."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.signing import CHECK_EVERY_UP_TO, Signer, new_private_key, private_key_text
from crisisdesk.services.receive import Incoming, Receiver
from tests.integration.sync_helpers import count, entries, note, notes, workstation, ws_of


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))


@pytest.fixture
def sites(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[App, App, App]]:
    """The commander's workstation, a communicator's and the drill room's."""
    apps = (
        workstation(tmp_path / "commander.sqlite3", "alice", "commander", clock),
        workstation(tmp_path / "communicator.sqlite3", "carla", "communicator", clock),
        workstation(tmp_path / "drill-room.sqlite3", "dora", "drill room", clock),
    )
    yield apps
    for app in apps:
        app.close()


def forge(item: Incoming, signature: str | None) -> Incoming:
    return dataclasses.replace(item, signature=signature)


def stranger_signature(item: Incoming) -> str:
    """A signature labelled with the entry's own key id but made by another key."""
    assert item.signature is not None
    kid = item.signature.split(".")[0]
    return kid + "." + Signer(private_key_text(new_private_key())).sign(item.hash).split(".")[1]


def test_another_workstation_s_entries_are_applied_once_and_the_log_verifies(sites: tuple[App, App, App]) -> None:
    commander, communicator, _ = sites
    notes(communicator, 5, "road closed")
    offered = entries(communicator)
    report = Receiver(commander).receive(offered, source="test")
    assert report.ok and report.applied == len(offered) and report.already_held == 0
    remote = ws_of(communicator)
    assert report.heads[remote] == (len(offered), offered[-1].hash)
    assert commander.log.last_seq(remote) == len(offered)
    stored = commander.db.conn.execute(
        "SELECT hash, signature FROM events WHERE workstation_id = ? ORDER BY seq", (remote,)
    ).fetchall()
    assert stored == [(e.hash, e.signature) for e in offered]  # verbatim, signatures kept
    verified = commander.audit.verify()
    assert verified.ok, verified.describe()
    assert not verified.foreign  # a workstation that joined is no stranger
    # The same entries again: nothing changes.
    before = count(commander)
    again = Receiver(commander).receive(offered, source="test")
    assert again.ok and again.applied == 0 and again.already_held == len(offered) and count(commander) == before
    # And the next ones only.
    note(communicator, "bridge open")
    more = Receiver(commander).receive(entries(communicator), source="test")
    assert more.applied == 1 and more.already_held == len(offered)


def test_a_tampered_body_is_refused_while_another_workstation_s_entries_apply(sites: tuple[App, App, App]) -> None:
    commander, communicator, drill_room = sites
    notes(communicator, 3)
    notes(drill_room, 3)
    offered = entries(communicator)
    i = next(i for i, e in enumerate(offered) if b'"note 0"' in e.body)
    changed = offered[i].body.replace(b'"note 0"', b'"note 9"')
    bad = [*offered[:i], dataclasses.replace(offered[i], body=changed), *offered[i + 1 :]]
    before = count(commander)
    report = Receiver(commander).receive([*bad, *entries(drill_room)], source="hub")
    remote = ws_of(communicator)
    assert set(report.refused) == {remote}
    assert report.refused[remote] == f"entry seq {i + 1}: its content does not match its hash (changed on the way)"
    assert report.applied == len(entries(drill_room)) and count(commander) == before + report.applied
    assert commander.log.last_seq(remote) == 0  # none of the refused workstation's entries, not even the good ones
    assert not report.passed(remote, 1) and report.passed(ws_of(drill_room), 3)


def test_a_broken_chain_is_refused(sites: tuple[App, App, App]) -> None:
    commander, communicator, _ = sites
    notes(communicator, 4)
    offered = entries(communicator)
    report = Receiver(commander).receive([*offered[:3], *offered[4:]], source="hub")
    assert (
        "entry seq 5 does not follow this log: follows seq 3: entry seq 4 is missing"
        in report.refused[ws_of(communicator)]
    )
    # Starting past what this log holds is the same gap.
    report = Receiver(commander).receive(offered[2:], source="hub")
    assert "entry seq 1 is missing" not in report.refused[ws_of(communicator)]
    assert "entry seq 1-2 is missing" in report.refused[ws_of(communicator)]


@pytest.mark.parametrize("change", ["forged", "missing"])
def test_a_forged_or_missing_signature_on_the_head_is_refused(sites: tuple[App, App, App], change: str) -> None:
    commander, communicator, _ = sites
    notes(communicator, CHECK_EVERY_UP_TO + 40)  # a long run: only the head and the key changes are verified
    offered = entries(communicator)
    head = offered[-1]
    offered[-1] = forge(head, stranger_signature(head) if change == "forged" else None)
    before = count(commander)
    report = Receiver(commander).receive(offered, source="hub")
    reason = report.refused[ws_of(communicator)]
    seq = len(offered)
    expected = "the signature does not match the entry's hash" if change == "forged" else "the entry is not signed"
    assert reason.startswith(f"entry seq {seq}: ") and expected in reason
    assert count(commander) == before


def test_a_forged_signature_inside_a_long_run_is_left_for_verify_to_name(sites: tuple[App, App, App]) -> None:
    """Decision 1: the head's good signature vouches for the chain before it; audit verify checks every one."""
    commander, communicator, _ = sites
    notes(communicator, CHECK_EVERY_UP_TO + 40)
    offered = entries(communicator)
    offered[30] = forge(offered[30], stranger_signature(offered[30]))
    report = Receiver(commander).receive(offered, source="hub")
    assert report.ok and report.applied == len(offered)
    verified = commander.audit.verify()
    assert verified.signatures is not None and verified.signatures.bad[ws_of(communicator)].seq == 31
    # In a short run every signature is checked at receipt.
    short = entries(communicator)[:10]
    short[5] = forge(short[5], stranger_signature(short[5]))
    report = Receiver(sites[2]).receive(short, source="hub")
    assert report.refused[ws_of(communicator)].startswith("entry seq 6: the signature does not match")


def test_entries_signed_by_a_revoked_key_after_the_revocation_are_refused(
    sites: tuple[App, App, App], clock: FixedClock
) -> None:
    commander, communicator, _ = sites
    remote = ws_of(communicator)
    Receiver(commander).receive(entries(communicator), source="hub")
    key = next(k.key for k in commander.workstation_keys().declared() if k.workstation == remote)
    clock.advance(timedelta(hours=1))
    commander.workstation_keys().revoke(commander.people.actor("alice"), remote, key, "laptop stolen")
    clock.advance(timedelta(minutes=1))
    held = commander.log.last_seq(remote)
    note(communicator, "written after the revocation")
    report = Receiver(commander).receive(entries(communicator, after=held), source="hub")
    assert f"signed by key {key} after it was revoked at " in report.refused[remote]
    assert commander.log.last_seq(remote) == held
    # The revocation travels to a third site of the same team (it counts there only when alice is an admin in
    # that log, which these three separate sites are not): tests/integration/test_hostile16_team.py.


def test_equivocation_is_reported_recorded_once_and_refuses_the_rest(
    sites: tuple[App, App, App], tmp_path: Path, clock: FixedClock
) -> None:
    """The communicator's file is copied (a restored backup, a cloned laptop) and both copies write seq 5: two
    versions of one entry, each signed by the communicator's key."""
    from tests.integration.sync_helpers import copy_file

    commander, communicator, _ = sites
    notes(communicator, 2)
    twin_path = copy_file(communicator, tmp_path / "twin.sqlite3")
    twin = App.open(twin_path, clock=clock)
    try:
        note(communicator, "the original's seq 5")
        note(communicator, "and its seq 6")
        note(twin, "the twin's seq 5")
        remote = ws_of(communicator)
        Receiver(commander).receive(entries(communicator), source="hub")
        offered = entries(twin)
        report = Receiver(commander).receive(offered, source="bundle b-1")
        (q,) = report.equivocations
        held = commander.log.head_entry(remote, len(offered))
        assert held is not None
        assert (q.workstation, q.seq, q.held_hash, q.offered_hash) == (remote, len(offered), held[0], offered[-1].hash)
        assert q.recorded and "equivocation" in report.refused[remote]
        assert report.already_held == len(offered) - 1 and report.applied == 0

        def alarms() -> list[dict[str, object]]:
            return [dict(e.payload) for e in commander.log.events() if e.kind == Kind.SYNC_EQUIVOCATION]

        assert alarms() == [
            {
                "workstation": remote,
                "seq": q.seq,
                "held_hash": q.held_hash,
                "offered_hash": q.offered_hash,
                "source": "bundle b-1",
            }
        ]
        again = Receiver(commander).receive(offered, source="hub")
        assert len(again.equivocations) == 1 and not again.equivocations[0].recorded
        assert len(alarms()) == 1  # once per workstation, seq and offered hash
        assert commander.audit.verify().ok
        # A different entry whose signature is not the workstation's proves nothing: refused, no alarm.
        fake = dataclasses.replace(offered[-1], signature=stranger_signature(offered[-1]))
        report = Receiver(commander).receive([fake], source="hub")
        assert not report.equivocations and "proves nothing" in report.refused[remote] and len(alarms()) == 1
    finally:
        twin.close()


def test_all_or_nothing_refuses_the_whole_batch_and_changes_nothing(sites: tuple[App, App, App]) -> None:
    commander, communicator, drill_room = sites
    notes(communicator, 3)
    notes(drill_room, 3)
    offered = entries(communicator)
    bad = [*offered[:-1], forge(offered[-1], stranger_signature(offered[-1]))]
    before = count(commander)
    report = Receiver(commander).receive([*entries(drill_room), *bad], source="bundle", all_or_nothing=True)
    assert set(report.refused) == {ws_of(communicator)} and report.applied == 0
    assert count(commander) == before and commander.log.last_seq(ws_of(drill_room)) == 0
    report = Receiver(commander).receive([*entries(drill_room), *offered], source="bundle", all_or_nothing=True)
    assert report.ok and report.applied == len(offered) + len(entries(drill_room))


def test_an_unreadable_entry_is_refused_by_its_place_in_the_batch(sites: tuple[App, App, App]) -> None:
    commander, communicator, _ = sites
    junk = Incoming("0" * 64, b"not json at all", None)
    report = Receiver(commander).receive([*entries(communicator), junk], source="hub")
    place = len(entries(communicator)) + 1
    assert report.refused == {"?": f"entry #{place}: its content is not a crisisdesk event"}
    assert report.applied == len(entries(communicator))


def test_a_workstation_never_takes_its_own_lost_entries_back(sites: tuple[App, App, App], tmp_path: Path) -> None:
    """Its own entries it does not hold mean its log lost its tail: reported, never silently restored."""
    from tests.integration.sync_helpers import copy_file

    commander, communicator, _ = sites
    notes(communicator, 2)
    old = copy_file(communicator, tmp_path / "before.sqlite3")
    notes(communicator, 3, "later")
    full = entries(communicator)
    Receiver(commander).receive(full, source="hub")
    restored = App.open(old, clock=communicator.clock)
    try:
        held = restored.log.last_seq(ws_of(communicator))
        report = Receiver(restored).receive(entries(commander, ws_of(communicator)), source="hub")
        assert report.own_missing == (held + 1, len(full)) and report.applied == 0
        assert restored.log.last_seq(ws_of(communicator)) == held
        assert report.passed(ws_of(communicator), len(full))  # settled: a pull's cursor may move on
        assert any("lost its" in line for line in report.lines())
    finally:
        restored.close()


def test_ten_thousand_entries_from_one_workstation(sites: tuple[App, App, App]) -> None:
    commander, communicator, _ = sites
    for _ in range(10):
        notes(communicator, 1000, "drill inject")
    offered = entries(communicator)
    started = time.perf_counter()
    report = Receiver(commander).receive(offered, source="hub")
    took = time.perf_counter() - started
    assert report.ok and report.applied == len(offered)
    print(f"received {len(offered)} entries in {took:.2f} s ({len(offered) / took:,.0f}/s)")
    assert took < 10  # on a busy 2-CPU machine; about 1 s alone (docs/design/sync.md)
    body = orjson.loads(offered[-1].body)
    assert commander.log.head_entry(body["ws"], body["seq"]) == (offered[-1].hash, offered[-1].body)


def test_same_named_channels_from_two_workstations_both_apply(sites: tuple[App, App, App]) -> None:
    """Two workstations each set up their default channels under the same names while apart: the merge rules keep
    both (the later one in the merge order is told apart by its id), so neither workstation's entries are refused
    (before the merge rules, the names' UNIQUE constraint refused the second workstation's whole run)."""
    commander, communicator, drill_room = sites
    commander.channels().add_defaults()
    communicator.channels().add_defaults()
    notes(drill_room, 2)
    before = count(commander)
    offered = [*entries(communicator), *entries(drill_room)]
    report = Receiver(commander).receive(offered, source="hub")
    assert report.ok and not report.refused
    assert report.applied == len(offered) and count(commander) == before + len(offered)
    again = Receiver(commander).receive([*entries(communicator)], source="bundle", all_or_nothing=True)
    assert again.applied == 0 and count(commander) == before + len(offered)


def test_a_key_replaced_within_the_batch_counts_from_its_rotation_on(
    sites: tuple[App, App, App], clock: FixedClock
) -> None:
    commander, communicator, _ = sites
    notes(communicator, CHECK_EVERY_UP_TO + 10, "before")
    clock.advance(timedelta(minutes=5))
    old_key = communicator.workstation_keys().current()
    new_key = communicator.workstation_keys().rotate(communicator.people.actor("carla"))
    assert old_key is not None and new_key != old_key.key
    clock.advance(timedelta(minutes=5))
    notes(communicator, CHECK_EVERY_UP_TO + 10, "after")
    offered = entries(communicator)
    report = Receiver(commander).receive(offered, source="hub")
    assert report.ok and report.applied == len(offered)
    assert commander.audit.verify().ok
    # An entry after the rotation re-signed with the replaced key is refused (the key change is always verified).
    fresh = sites[2]
    stale = list(offered)
    rotated_at = next(i for i, e in enumerate(stale) if b'"workstation.key_rotated"' in e.body)
    later = stale[rotated_at + 1]
    assert later.signature is not None and later.signature.startswith(new_key + ".")
    # The replaced key's id on an entry dated after the rotation: refused on its dates alone, whatever the bytes.
    stale[rotated_at + 1] = forge(later, old_key.key + "." + later.signature.split(".")[1])
    report = Receiver(fresh).receive(stale, source="hub")
    reason = report.refused[ws_of(communicator)]
    assert reason.startswith(f"entry seq {rotated_at + 2}: signed by key {old_key.key} after it was replaced at ")

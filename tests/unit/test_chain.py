"""The hash chain, as pure functions over (position, hash, body) rows."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisisdesk.domain.events import GENESIS, Event, seal, verify_chain


def chain(n: int, ws: str = "ws-a", start_prev: str = GENESIS) -> list[Event]:
    events, prev = [], start_prev
    for seq in range(1, n + 1):
        e = seal(
            workstation_id=ws,
            seq=seq,
            at=f"2026-11-22T09:{seq % 60:02d}:00.000000+00:00",
            actor="alice",
            kind="user.role_granted",
            payload={"name": f"user{seq}", "role": "viewer"},
            prev_hash=prev,
        )
        events.append(e)
        prev = e.hash
    return events


def rows(events: list[Event]) -> list[tuple[int, str, bytes]]:
    return [(i + 1, e.hash, e.body) for i, e in enumerate(events)]


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    events = chain(5)
    report = verify_chain(rows(events))
    assert report.ok
    assert report.checked == 5
    assert report.head == {"ws-a": (5, events[-1].hash)}


def test_the_hash_is_sha256_of_the_stored_body() -> None:
    e = chain(1)[0]
    assert e.hash == hashlib.sha256(e.body).hexdigest()
    assert e.prev_hash == GENESIS


def test_an_edited_body_is_named() -> None:
    r = rows(chain(5))
    pos, h, body = r[2]
    r[2] = (pos, h, body.replace(b"user3", b"userX"))
    report = verify_chain(r)
    assert not report.ok
    assert report.bad_position == 3
    assert "edited" in (report.reason or "")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    r = rows(chain(5))
    pos, _, body = r[2]
    forged = body.replace(b"user3", b"userX")
    r[2] = (pos, hashlib.sha256(forged).hexdigest(), forged)
    report = verify_chain(r)
    assert (report.ok, report.bad_position, report.bad_seq) == (False, 4, 4)


def test_a_deleted_entry_is_named_by_the_gap() -> None:
    r = rows(chain(5))
    del r[2]
    report = verify_chain(r)
    assert (report.ok, report.bad_position, report.bad_seq) == (False, 4, 4)
    assert "seq 3 is missing" in (report.reason or "")


def test_reordered_entries_are_found() -> None:
    r = rows(chain(5))
    r[2], r[3] = r[3], r[2]
    report = verify_chain(r)
    assert not report.ok
    assert report.bad_position == 4  # positions travel with the rows: the first row read out of order


def test_chains_of_several_workstations_interleave() -> None:
    a, b = chain(3, "ws-a"), chain(3, "ws-b")
    mixed = [a[0], b[0], b[1], a[1], a[2], b[2]]
    report = verify_chain(rows(mixed))
    assert report.ok
    assert set(report.head) == {"ws-a", "ws-b"}


def test_a_body_that_is_not_an_event_is_named() -> None:
    r = rows(chain(2))
    junk = b"not json"
    r.append((3, hashlib.sha256(junk).hexdigest(), junk))
    report = verify_chain(r)
    assert (report.ok, report.bad_position) == (False, 3)


@given(st.data())
def test_any_single_tampering_is_detected(data: st.DataObject) -> None:
    events = chain(8)
    r = rows(events)
    action = data.draw(st.sampled_from(["edit", "delete", "swap", "duplicate", "truncate_head"]))
    i = data.draw(st.integers(0, len(r) - 2))
    if action == "edit":
        pos, h, body = r[i]
        r[i] = (pos, h, body.replace(b"viewer", b"admin!"))
    elif action == "delete":
        del r[i]
    elif action == "swap":
        r[i], r[i + 1] = r[i + 1], r[i]
    elif action == "duplicate":
        r.insert(i + 1, r[i])
    else:
        r = r[i + 1 :]
    assert not verify_chain(r).ok


@pytest.mark.parametrize("n", [0, 1, 2])
def test_short_chains(n: int) -> None:
    assert verify_chain(rows(chain(n))).ok


@given(st.data())
def test_verifying_in_stretches_gives_the_same_verdict_as_one_pass(data: st.DataObject) -> None:
    from crisisdesk.domain.events import stitch, verify_segment

    a, b = chain(6, "ws-a"), chain(5, "ws-b")
    # Any interleaving of the two workstations is legal; each keeps its own order.
    shuffled = data.draw(st.permutations(a + b))
    order = {"ws-a": iter(a), "ws-b": iter(b)}
    events = [next(order[e.workstation_id]) for e in shuffled]
    r = rows(events)
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(r) - 2))
        r[i], r[i + 1] = r[i + 1], r[i]
    if data.draw(st.booleans()):
        del r[data.draw(st.integers(0, len(r) - 1))]
    r = [(n, h, body) for n, (_, h, body) in enumerate(r, start=1)]  # storage is always in position order
    cuts = sorted(data.draw(st.sets(st.integers(1, len(r) - 1), max_size=4)))
    stretches = [r[lo:hi] for lo, hi in zip([0, *cuts], [*cuts, len(r)], strict=True)]
    whole = verify_chain(r)
    split = stitch(verify_segment(s) for s in stretches)
    assert (split.ok, split.bad_position, split.bad_seq, split.reason, split.checked) == (
        whole.ok,
        whole.bad_position,
        whole.bad_seq,
        whole.reason,
        whole.checked,
    )
    if whole.ok:
        assert split.head == whole.head

"""Merge rules (domain/merge.py, issue 16 item 3): the same events give the same team state whatever order they
arrive in; a revocation wins from its time on; approvals merge by union; concurrent edits are siblings."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crisisdesk.domain.events import GENESIS, Event, Kind, seal
from crisisdesk.domain.merge import (
    CONFLICT,
    applies_in_order,
    fold,
    founding_workstation,
    in_merge_order,
    merge_key,
)

WORKSTATIONS = ("ws-a", "ws-b", "ws-c")
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@dataclass
class Team:
    """Chains of several workstations, written by hand (each entry sealed as the event log seals it)."""

    heads: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # ws -> (seq, hash, at)
    events: list[Event] = field(default_factory=list)

    def write(self, ws: str, minute: float, actor: str, kind: str, payload: dict[str, Any]) -> Event:
        seq, prev, last_at = self.heads.get(ws, (0, GENESIS, ""))
        at = (START + timedelta(minutes=minute)).isoformat(timespec="microseconds")
        at = max(at, last_at)  # as EventLog.record: never before the chain's previous entry
        event = seal(workstation_id=ws, seq=seq + 1, at=at, actor=actor, kind=kind, payload=payload, prev_hash=prev)
        self.heads[ws] = (seq + 1, event.hash, at)
        self.events.append(event)
        return event

    def of(self, ws: str) -> list[Event]:
        return [e for e in self.events if e.workstation_id == ws]


def founded_team() -> Team:
    team = Team()
    for i, ws in enumerate(WORKSTATIONS):
        team.write(ws, i * 0.01, "system", Kind.WORKSTATION_CREATED, {"id": ws, "name": ws})
    # Every workstation was set up with an admin of its own; only the founding one's counts in the team.
    team.write("ws-a", 0.1, "system", Kind.USER_ADDED, {"name": "alice", "display_name": "a", "roles": ["admin"]})
    team.write("ws-b", 0.1, "system", Kind.USER_ADDED, {"name": "mallory", "display_name": "m", "roles": ["admin"]})
    team.write("ws-a", 0.2, "system", Kind.HUB_FOUNDED, {"hub_id": "hub-1", "workstation": "ws-a"})
    return team


def version_payload(message: str, version: int, text: str, **extra: Any) -> dict[str, Any]:
    content = f'{{"message":"{message}","text":"{text}"}}'
    return {
        "incident": "inc-1",
        "message": message,
        "version": version,
        "hash": hashlib.sha256(content.encode()).hexdigest(),
        "content": content,
        **extra,
    }


# -- random histories -------------------------------------------------------------------------------------

PEOPLE = ("alice", "bob", "carol", "dave", "mallory")
ROLES = ("admin", "approver", "communicator")


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """A founded team, then up to 40 actions on random workstations at random (per-chain increasing) times: people
    added, roles granted and revoked (by anyone: only an admin's count), people disabled and enabled, messages
    drafted, edited from any version seen so far (siblings), merged and approved."""
    team = founded_team()
    versions: dict[str, list[tuple[int, str]]] = {}
    minute = 1.0
    for _ in range(draw(st.integers(0, 40))):
        ws = draw(st.sampled_from(WORKSTATIONS))
        minute += draw(st.sampled_from((0.0, 0.5, 1.0, 3.0)))
        skew = draw(st.sampled_from((0.0, -2.0, 2.0)))  # workstation clocks disagree
        at = max(minute + skew, 0.3)
        actor = draw(st.sampled_from(PEOPLE))
        name = draw(st.sampled_from(PEOPLE))
        action = draw(st.sampled_from(("add", "grant", "revoke", "disable", "enable", "draft", "edit", "approve")))
        if action == "add":
            roles = draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True))
            team.write(ws, at, actor, Kind.USER_ADDED, {"name": name, "display_name": name, "roles": roles})
        elif action in ("grant", "revoke"):
            kind = Kind.ROLE_GRANTED if action == "grant" else Kind.ROLE_REVOKED
            team.write(ws, at, actor, kind, {"name": name, "role": draw(st.sampled_from(ROLES))})
        elif action in ("disable", "enable"):
            kind = Kind.USER_DISABLED if action == "disable" else Kind.USER_ENABLED
            team.write(ws, at, actor, kind, {"name": name})
        elif action == "draft" or not versions:
            message = f"msg-{len(versions) + 1}"
            p = version_payload(message, 1, f"draft {len(versions)}", type="alert")
            team.write(ws, at, actor, Kind.MESSAGE_DRAFTED, p)
            versions[message] = [(1, p["hash"])]
        elif action == "edit":
            message = draw(st.sampled_from(sorted(versions)))
            base = draw(st.sampled_from(versions[message]))
            merges = draw(st.lists(st.sampled_from(versions[message]), max_size=2, unique=True))
            text = draw(st.sampled_from(("evacuate", "shelter", "all clear")))  # texts repeat: equal hashes
            extra: dict[str, Any] = {"base": {"version": base[0], "hash": base[1]}}
            if merges:
                extra["merges"] = [h for _, h in merges]
            number = max(v for v, _ in [base, *merges]) + 1
            p = version_payload(message, number, text, **extra)
            team.write(ws, at, actor, Kind.MESSAGE_EDITED, p)
            versions[message].append((number, p["hash"]))
        else:
            message = draw(st.sampled_from(sorted(versions)))
            number, hash_ = draw(st.sampled_from(versions[message]))
            p = {"incident": "inc-1", "message": message, "version": number, "hash": hash_, "roles": ["approver"]}
            team.write(ws, at, actor, Kind.MESSAGE_APPROVED, p)
    return team.events


def interleave(events: Sequence[Event], rng: random.Random) -> list[Event]:
    """A delivery order that keeps each workstation's own entries in their seq order (as a pull does)."""
    queues = {ws: [e for e in events if e.workstation_id == ws] for ws in WORKSTATIONS}
    order = [ws for ws, q in queues.items() for _ in q]
    rng.shuffle(order)
    return [queues[ws].pop(0) for ws in order]


def batches(events: Sequence[Event], rng: random.Random) -> list[Event]:
    """Arbitrary batches (a hub pull, a bundle, another hub pull...) delivered in any order, some twice."""
    items = list(events)
    cuts = sorted(rng.sample(range(len(items) + 1), k=min(4, len(items) + 1)))
    parts = [items[a:b] for a, b in zip([0, *cuts], [*cuts, len(items)], strict=True)]
    rng.shuffle(parts)
    again = parts[0] if parts else []
    return [e for part in [*parts, again] for e in part]


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_any_delivery_order_gives_the_same_state(events: list[Event], rng: random.Random) -> None:
    expected = fold(events, own_workstation="ws-c").summary()
    assert fold(interleave(events, rng), own_workstation="ws-c").summary() == expected
    assert fold(batches(events, rng), own_workstation="ws-c").summary() == expected
    shuffled = list(events)
    rng.shuffle(shuffled)
    assert fold(shuffled, own_workstation="ws-c").summary() == expected


@settings(max_examples=100, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_applying_in_order_or_folding_again_agree(events: list[Event], rng: random.Random) -> None:
    """What the event log does on receipt: apply after what it holds when every entry sorts after the last applied
    one, else fold everything again. Either way the order the events are folded in is the merge order."""
    held: list[Event] = []
    folded: list[Event] = []  # the order the state was built in
    delivered = interleave(events, rng)
    while delivered:
        size = rng.randint(1, 6)
        batch, delivered = delivered[:size], delivered[size:]
        last = max((merge_key(e) for e in held), default=None)
        held += batch
        if applies_in_order(last, (merge_key(e) for e in batch)):
            folded += sorted(batch, key=merge_key)
        else:
            folded = in_merge_order(held)
        assert folded == in_merge_order(held)


@settings(max_examples=100, deadline=None)
@given(histories())
def test_each_chain_keeps_its_own_order_in_the_merge_order(events: list[Event]) -> None:
    ordered = in_merge_order(events)
    for ws in WORKSTATIONS:
        seqs = [e.seq for e in ordered if e.workstation_id == ws]
        assert seqs == sorted(seqs)


# -- the rules, one at a time -------------------------------------------------------------------------------


def test_only_the_founding_workstation_s_bootstrap_makes_an_admin() -> None:
    team = founded_team()
    state = fold(team.events, own_workstation="ws-b")
    assert state.founding == "ws-a"
    assert state.roles == {"alice": frozenset({"admin"})}  # mallory, ws-b's own bootstrap, is not in the team
    before = [e for e in team.events if e.kind != Kind.HUB_FOUNDED]
    # Before any hub.founded, a log trusts its own workstation's bootstrap only.
    assert founding_workstation(before, "ws-b") == "ws-b"
    assert fold(before, own_workstation="ws-b").roles == {"mallory": frozenset({"admin"})}


def test_a_revocation_wins_over_what_is_dated_after_it_wherever_it_was_written() -> None:
    team = founded_team()
    team.write("ws-a", 1, "alice", Kind.USER_ADDED, {"name": "bob", "display_name": "b", "roles": ["admin"]})
    team.write("ws-a", 1.5, "alice", Kind.USER_ADDED, {"name": "vic", "display_name": "v", "roles": ["approver"]})
    p = version_payload("msg-1", 1, "evacuate", type="alert")
    team.write("ws-a", 2, "carla", Kind.MESSAGE_DRAFTED, p)
    approve = {"incident": "inc-1", "message": "msg-1", "version": 1, "hash": p["hash"], "roles": ["approver"]}
    early = team.write("ws-c", 2.5, "vic", Kind.MESSAGE_APPROVED, approve)
    # On ws-b, alice takes admin from bob and approver from vic at 10:03; ws-c has not heard of it.
    team.write("ws-b", 3, "alice", Kind.ROLE_REVOKED, {"name": "bob", "role": "admin"})
    team.write("ws-b", 3, "alice", Kind.ROLE_REVOKED, {"name": "vic", "role": "approver"})
    late = team.write("ws-c", 4, "vic", Kind.MESSAGE_APPROVED, approve)
    grant = team.write("ws-c", 5, "bob", Kind.ROLE_GRANTED, {"name": "bob", "role": "approver"})
    for order in (team.events, list(reversed(team.events)), interleave(team.events, random.Random(3))):
        state = fold(order, own_workstation="ws-c")
        assert grant.hash in state.ignored  # bob was no admin any more when he granted himself a role
        assert state.roles["bob"] == frozenset()
        roles_then = {k[4]: v for k, v in state.approval_roles.items() if k[0] == "msg-1"}
        assert roles_then[early.at] == frozenset({"approver"})  # given before the revocation
        assert roles_then[late.at] == frozenset()  # given after it: it never counts


def test_approvals_from_every_workstation_are_kept_each_bound_to_its_hash() -> None:
    team = founded_team()
    p1 = version_payload("msg-1", 1, "evacuate", type="alert")
    team.write("ws-a", 1, "carla", Kind.MESSAGE_DRAFTED, p1)
    for ws, who in (("ws-b", "vic"), ("ws-c", "wes"), ("ws-b", "wes")):
        payload = {"incident": "inc-1", "message": "msg-1", "version": 1, "hash": p1["hash"], "roles": ["approver"]}
        team.write(ws, 2, who, Kind.MESSAGE_APPROVED, payload)
    state = fold(reversed(team.events), own_workstation="ws-a").messages["msg-1"]
    assert sorted((a.approver, a.workstation) for a in state.approvals) == [
        ("vic", "ws-b"),
        ("wes", "ws-b"),
        ("wes", "ws-c"),
    ]
    assert {a.hash for a in state.approvals} == {p1["hash"]}


def test_two_edits_of_the_same_version_are_siblings_until_merged_in_any_order() -> None:
    team = founded_team()
    p1 = version_payload("msg-1", 1, "evacuate", type="alert")
    team.write("ws-a", 1, "carla", Kind.MESSAGE_DRAFTED, p1)
    base = {"version": 1, "hash": p1["hash"]}
    a = version_payload("msg-1", 2, "evacuate now", base=base)
    b = version_payload("msg-1", 2, "evacuate the valley", base=base)
    team.write("ws-a", 2, "carla", Kind.MESSAGE_EDITED, a)
    team.write("ws-b", 2, "dan", Kind.MESSAGE_EDITED, b)
    for order in (team.events, list(reversed(team.events))):
        state = fold(order, own_workstation="ws-a").messages["msg-1"]
        assert state.state == CONFLICT
        assert {(v.hash, v.author, v.workstation) for v in state.heads} == {
            (a["hash"], "carla", "ws-a"),
            (b["hash"], "dan", "ws-b"),
        }
    # A merge that keeps ws-b's text unchanged has its hash, and still ends the conflict.
    merged = version_payload(
        "msg-1", 3, "evacuate the valley", base={"version": 2, "hash": b["hash"]}, merges=[a["hash"], b["hash"]]
    )
    team.write("ws-c", 3, "erin", Kind.MESSAGE_EDITED, merged)
    for order in (team.events, list(reversed(team.events))):
        state = fold(order, own_workstation="ws-a").messages["msg-1"]
        assert state.state == "draft"
        assert [(v.version, v.hash) for v in state.heads] == [(3, merged["hash"])]
        assert state.current.version == 3


def test_an_edit_back_to_an_earlier_text_is_a_new_version_not_a_sibling() -> None:
    team = founded_team()
    p1 = version_payload("msg-1", 1, "evacuate", type="alert")
    team.write("ws-a", 1, "carla", Kind.MESSAGE_DRAFTED, p1)
    p2 = version_payload("msg-1", 2, "shelter")  # an old event: no base, so the version before it
    team.write("ws-a", 2, "carla", Kind.MESSAGE_EDITED, p2)
    p3 = version_payload("msg-1", 3, "evacuate", base={"version": 2, "hash": p2["hash"]})
    team.write("ws-a", 3, "carla", Kind.MESSAGE_EDITED, p3)
    state = fold(team.events, own_workstation="ws-a").messages["msg-1"]
    assert p3["hash"] == p1["hash"]
    assert state.state == "draft" and [(v.version, v.hash) for v in state.heads] == [(3, p1["hash"])]

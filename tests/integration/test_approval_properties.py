"""Stateful property test: whatever people do, nothing is published without an approval of its exact hash by
someone who wrote none of it and who holds the approver role when it is published (or a recorded break glass by
someone holding it then), nothing is published on a closed incident, the log verifies, and replay gives the same
state. People write each other's variants, roles are revoked and granted back, incidents close."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Role
from crisisdesk.services.passwords import Argon2Hasher
from tests.integration.test_event_log import snapshot
from tests.integration.test_incidents import FLOOD_FACTS

PEOPLE = {
    "carla": [Role.COMMUNICATOR],
    "dan": [Role.COMMUNICATOR],
    "ivan": [Role.APPROVER],
    "ada": [Role.APPROVER, Role.COMMUNICATOR],
    "eve": [Role.EXERCISE_CONTROLLER],
    "vic": [Role.VIEWER],
}
people = st.sampled_from(sorted(PEOPLE))
# Mostly the right person for the job, sometimes anyone: so rounds complete often and mistakes still happen.
writers = st.one_of(
    st.sampled_from(["carla", "dan", "ada", "eve"]), st.sampled_from(["carla", "dan", "ada", "eve"]), people
)
approvers = st.one_of(st.sampled_from(["ivan", "ada"]), st.sampled_from(["ivan", "ada"]), people)


class Workday(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="crisisdesk-prop-"))
        self.clock = FixedClock(datetime(2026, 11, 22, 15, 0, tzinfo=UTC))
        self.core = App.open(
            self.folder / "db.sqlite3",
            create=True,
            clock=self.clock,
            hasher=Argon2Hasher(time_cost=1, memory_cost=1024),
        )
        self.core.initialise("root", "root password")
        root = self.core.people.actor("root")
        for name, roles in PEOPLE.items():
            self.core.people.add(root, name, roles, f"{name} password")
        self.actors = {name: self.core.people.actor(name) for name in PEOPLE}
        # Two live and two exercise accounts (the defaults and one more of each), all local folders.
        self.core.channels().add(root, "folder", "county-page", settings=[f"path={self.folder / 'county'}"])
        self.core.channels().add(
            root, "folder", "drill-page", exercise=True, settings=[f"path={self.folder / 'drill'}"]
        )
        self.account_names = [a.name for a in self.core.channels().active()]
        self.incidents = [
            self.core.incidents().open(self.actors["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS).id,
            self.core.incidents().open(self.actors["eve"], "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS).id,
        ]
        self.messages: list[str] = []
        self.seen_hashes: list[str] = []

    def teardown(self) -> None:
        before = snapshot(self.core.db.conn)
        self.core.log.replay()
        assert snapshot(self.core.db.conn) == before
        self.core.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def attempt(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """People make mistakes: a refusal is fine, anything else is a bug."""
        try:
            return fn(*args, **kwargs)
        except UserError:
            return None

    @rule(who=writers, mode=st.sampled_from([Mode.LIVE, Mode.EXERCISE]))
    def open_incident(self, who: str, mode: Mode) -> None:
        """Closed incidents stay closed; new ones keep the day going."""
        incident = self.attempt(self.core.incidents().open, self.actors[who], "flash-flood", mode, facts=FLOOD_FACTS)
        if incident is not None:
            self.incidents.append(incident.id)

    @rule(who=writers, which=st.integers(0, 100), kind=st.sampled_from(["alert", "update"]))
    def draft(self, who: str, which: int, kind: str) -> None:
        incident = self.incidents[which % len(self.incidents)]
        view = self.attempt(self.core.messages().draft, self.actors[who], incident, kind)
        if view is not None:
            self.messages.append(view.id)
            self.seen_hashes.append(view.content_hash)

    @precondition(lambda self: self.messages)
    @rule(
        who=writers,
        pick=st.integers(0, 100),
        text=st.sampled_from(["Go to high ground now. Call 211.", "Stay away from the creek. Call 211."]),
    )
    def edit(self, who: str, pick: int, text: str) -> None:
        msg = self.messages[pick % len(self.messages)]
        view = self.attempt(self.core.messages().edit, self.actors[who], msg, "sms", "en", text)
        if view is not None:
            self.seen_hashes.append(view.content_hash)

    @precondition(lambda self: self.messages)
    @rule(who=writers, pick=st.integers(0, 100), chosen=st.sets(st.integers(0, 3), min_size=1))
    def set_channels(self, who: str, pick: int, chosen: set[int]) -> None:
        """Anyone may try any channels; a live message to an exercise account (or the reverse) is refused."""
        msg = self.messages[pick % len(self.messages)]
        names = [self.account_names[i] for i in sorted(chosen)]
        view = self.attempt(self.core.messages().set_targets, self.actors[who], msg, names)
        if view is not None:
            self.seen_hashes.append(view.content_hash)

    @precondition(lambda self: self.messages)
    @rule(who=writers, pick=st.integers(0, 100))
    def submit(self, who: str, pick: int) -> None:
        self.attempt(self.core.messages().submit, self.actors[who], self.messages[pick % len(self.messages)])

    @precondition(lambda self: self.messages)
    @rule(who=approvers, pick=st.integers(0, 100), stale=st.sampled_from([False, False, True]), old=st.integers(0, 100))
    def approve(self, who: str, pick: int, stale: bool, old: int) -> None:
        msg = self.messages[pick % len(self.messages)]
        current = self.core.messages().show(self.actors["vic"], msg).content_hash
        named = self.seen_hashes[old % len(self.seen_hashes)] if stale else current
        self.attempt(self.core.messages().approve, self.actors[who], msg, named)

    @precondition(lambda self: self.messages)
    @rule(who=approvers, pick=st.integers(0, 100))
    def return_it(self, who: str, pick: int) -> None:
        self.attempt(self.core.messages().return_, self.actors[who], self.messages[pick % len(self.messages)], "redo")

    @precondition(lambda self: self.messages)
    @rule(
        who=writers,
        pick=st.integers(0, 100),
        glass=st.sampled_from([False, False, False, True]),
        right_phrase=st.sampled_from([True, True, False]),
    )
    def publish(self, who: str, pick: int, glass: bool, right_phrase: bool) -> None:
        msg = self.messages[pick % len(self.messages)]
        mode = self.core.messages().show(self.actors["vic"], msg).mode
        phrase = ("SEND EXERCISE " if mode == "exercise" else "PUBLISH LIVE ") + msg
        if not right_phrase:
            phrase = ("PUBLISH LIVE " if mode == "exercise" else "SEND EXERCISE ") + msg
        self.attempt(
            self.core.messages().publish,
            self.actors[who],
            msg,
            confirm=phrase,
            break_glass=glass,
            reason="water rising" if glass else None,
        )

    @precondition(lambda self: self.messages)
    @rule(
        pick=st.integers(0, 100),
        writer=writers,
        approver=approvers,
        stale=st.sampled_from([False, False, False, True]),
        old=st.integers(0, 100),
        right_phrase=st.sampled_from([True, True, True, False]),
    )
    def push_through(self, pick: int, writer: str, approver: str, stale: bool, old: int, right_phrase: bool) -> None:
        """Submit, approve and publish one message in a row, by whoever the draw gives."""
        self.submit(writer, pick)
        self.approve(approver, pick, stale, old)
        self.publish(writer, pick, False, right_phrase)

    @rule(minutes=st.integers(1, 90))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule(who=st.sampled_from(["ivan", "ada", "carla"]), role=st.sampled_from([Role.APPROVER, Role.COMMUNICATOR]))
    def revoke(self, who: str, role: Role) -> None:
        """An admin takes a role away; the session objects in self.actors keep their stale roles on purpose."""
        self.attempt(self.core.people.revoke, self.core.people.actor("root"), who, role)

    @rule(who=st.sampled_from(["ivan", "ada", "carla"]), role=st.sampled_from([Role.APPROVER, Role.COMMUNICATOR]))
    def grant(self, who: str, role: Role) -> None:
        self.attempt(self.core.people.grant, self.core.people.actor("root"), who, role)

    @rule(who=writers, which=st.integers(0, 100))
    def close(self, who: str, which: int) -> None:
        self.attempt(self.core.incidents().close, self.actors[who], self.incidents[which % len(self.incidents)])

    # Composite moves: the sequences where a rule matters, each on a fresh draft so that it is met in a short run.

    def fresh(self, which: int) -> tuple[str, int] | None:
        """A new alert on an incident, drafted by someone who may: (message, its index in self.messages)."""
        incident = self.incidents[which % len(self.incidents)]
        for who in ("carla", "eve"):
            view = self.attempt(self.core.messages().draft, self.actors[who], incident, "alert")
            if view is not None:
                self.messages.append(view.id)
                self.seen_hashes.append(view.content_hash)
                return view.id, len(self.messages) - 1
        return None

    @rule(which=st.integers(0, 100), first=writers, second=writers, approver=approvers)
    def write_together_then_approve(self, which: int, first: str, second: str, approver: str) -> None:
        """Two people write variants of one message, then someone (perhaps one of them) approves and it goes."""
        made = self.fresh(which)
        if made is None:
            return
        msg, pick = made
        edit = self.core.messages().edit
        self.attempt(edit, self.actors[first], msg, "web", "en", "Leave the valley now. Call 211.")
        self.attempt(edit, self.actors[second], msg, "sms", "en", "Climb to high ground. Call 211.")
        self.submit(second, pick)
        self.approve(approver, pick, False, 0)
        self.publish(second, pick, False, True)

    @rule(which=st.integers(0, 100), writer=writers, approver=approvers, role=st.sampled_from(list(Role)))
    def approve_then_lose_the_role(self, which: int, writer: str, approver: str, role: Role) -> None:
        made = self.fresh(which)
        if made is None:
            return
        self.submit(writer, made[1])
        self.approve(approver, made[1], False, 0)
        if approver in ("ivan", "ada", "carla"):
            self.revoke(approver, role)
        self.publish(writer, made[1], False, True)

    @rule(which=st.integers(0, 100), writer=writers, approver=approvers, closer=writers)
    def approve_then_close(self, which: int, writer: str, approver: str, closer: str) -> None:
        made = self.fresh(which)
        if made is None:
            return
        self.submit(writer, made[1])
        self.approve(approver, made[1], False, 0)
        self.close(closer, which)
        self.publish(writer, made[1], False, True)

    @invariant()
    def nothing_published_without_an_approval_of_its_exact_hash_by_someone_else(self) -> None:
        """Walk the log in order, keeping what was true at each moment, and check every publish against it."""
        roles: dict[str, set[str]] = {}
        closed: set[str] = set()
        authors: dict[str, list[str]] = {}  # message -> everyone who wrote a version of it
        approvals: dict[tuple[str, str], set[str]] = {}  # (message, hash) -> approvers
        contents: dict[tuple[str, str], dict[str, object]] = {}
        incident_modes: dict[str, str] = {}
        marks = {"en": "EXERCISE", "es": "SIMULACRO"}
        published = 0
        for e in self.core.log.events():
            p = e.payload
            if e.kind == Kind.USER_ADDED:
                roles[p["name"]] = set(p["roles"])
            elif e.kind == Kind.ROLE_GRANTED:
                roles[p["name"]].add(p["role"])
            elif e.kind == Kind.ROLE_REVOKED:
                roles[p["name"]].discard(p["role"])
            elif e.kind == Kind.INCIDENT_OPENED:
                incident_modes[p["incident"]] = p["mode"]
            elif e.kind == Kind.STATUS_CHANGED and p["status"] == "closed":
                closed.add(p["incident"])
            elif e.kind in (Kind.MESSAGE_DRAFTED, Kind.MESSAGE_EDITED):
                authors.setdefault(p["message"], []).append(e.actor)
                # A new version: approvals given before it never carry over, even to identical content.
                approvals = {k: v for k, v in approvals.items() if k[0] != p["message"]}
                contents[(p["message"], p["hash"])] = orjson.loads(p["content"])
            elif e.kind == Kind.MESSAGE_RETURNED:
                # Sent back: what was approved before no longer counts, even if the same text comes again.
                approvals = {k: v for k, v in approvals.items() if k[0] != p["message"]}
            elif e.kind == Kind.MESSAGE_APPROVED:
                # Whoever approves holds the role then and wrote none of the message.
                assert "approver" in roles[e.actor], e
                assert e.actor not in authors[p["message"]], e
                approvals.setdefault((p["message"], p["hash"]), set()).add(e.actor)
            elif e.kind == Kind.MESSAGE_PUBLISHED:
                published += 1
                key = (p["message"], p["hash"])
                content = contents[key]
                assert content["incident"] not in closed, e  # a closed incident publishes nothing
                # Exercise content stays exercise: its incident's mode, and every text says so.
                assert content["mode"] == incident_modes[str(content["incident"])]
                if content["mode"] == "exercise":
                    variants = content["variants"]
                    assert isinstance(variants, list)
                    assert all(marks[v["lang"]] in v["text"] for v in variants), key
                if p["break_glass"]:
                    assert p["reason"].strip()
                    assert "approver" in roles[e.actor]
                else:
                    valid = {
                        who
                        for who in approvals.get(key, set())
                        if "approver" in roles[who] and who not in authors[p["message"]]
                    }
                    assert valid, e.payload  # someone who wrote none of it and holds the role now
                    assert set(p["approved_by"]) <= valid, e.payload
        self.published = max(getattr(self, "published", 0), published)

    @invariant()
    def no_exercise_version_targets_a_live_account_nor_the_reverse(self) -> None:
        exercise = {a.id: a.exercise for a in self.core.channels().active()}
        modes = dict(self.core.db.conn.execute("SELECT id, mode FROM incidents").fetchall())
        for message, incident, content in self.core.db.conn.execute(
            "SELECT v.message_id, m.incident_id, v.content FROM message_versions v "
            "JOIN messages m ON m.id = v.message_id"
        ):
            for account in orjson.loads(content)["targets"]:
                assert exercise[account] == (modes[incident] == "exercise"), (message, account)
        for row, mode, account in self.core.db.conn.execute("SELECT id, mode, account_id FROM outbox"):
            assert exercise[account] == (mode == "exercise"), row

    @invariant()
    def the_log_verifies(self) -> None:
        assert self.core.log.verify(workers=1).ok


Workday.TestCase.settings = settings(
    max_examples=int(os.environ.get("CRISISDESK_PROPERTY_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestWorkday = Workday.TestCase

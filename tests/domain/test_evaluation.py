"""The drill's evaluation from synthetic event lists: every measure, and every rating boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisisdesk.domain.errors import NotFound
from crisisdesk.domain.evaluation import (
    NOT_RATED,
    LogEvent,
    Measurement,
    NotRated,
    PlaybookTerms,
    Rating,
    evaluate,
    share_rating,
    span_text,
    time_rating,
    worst,
)
from crisisdesk.domain.events import Kind

DRILL = "drl-0123456789"
INCIDENT = "inc-aaaaaaaaaa"
T0 = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)
M = timedelta(minutes=1)

SCENARIO = """\
id: test-flood
name: Test flood
summary: A flash flood on Mill Creek, to test the evaluation.
duration: 1h
incidents:
  - {key: flood, playbook: flash-flood}
participants:
  - {role: communicator, who: PIO desk, count: 2}
  - {role: approver, who: Duty officer}
objectives:
  - id: alert-fast
    title: Alert the public within 10 minutes of the warning
    expect: {measure: first-message, after: warning, within: 10m}
  - id: approvals
    title: Approve each version within 5 minutes
    expect: {measure: approval-latency, within: 5m}
  - id: cadence
    title: Update on the playbook's cadence
    expect: {measure: cadence}
  - id: triage
    title: Triage urgent comments within 5 minutes
    expect: {measure: triage, within: 5m}
  - id: checklist
    title: Work the checklist
    expect: {measure: checklist, at_least: 0.75}
  - id: correction
    title: Correct a wrong message within 15 minutes
    expect: {measure: correction, within: 15m}
  - id: outbox
    title: Deliver what the outage held within 5 minutes of its end
    expect: {measure: outbox-recovery, within: 5m}
injects:
  - {id: warning, at: T+0, kind: feed-item, incident: flood, headline: Flash flood warning for Mill Creek}
  - {id: urgent-1, at: T+5m, kind: comment, incident: flood, text: "Where is the shelter?", urgent: true}
  - {id: calm, at: T+6m, kind: comment, incident: flood, text: "Thanks for the update"}
  - {id: outage, at: T+20m, kind: channel-outage, account: exercise-page, for: 10m}
  - {id: call, at: T+40m, kind: note, text: The sheriff asks for an update}
"""

TERMS = {
    "flash-flood": PlaybookTerms(
        update_every=30 * M,
        checklist=(
            (timedelta(0), "Confirm the warning"),
            (5 * M, "Send the alert"),
            (10 * M, "Tell 911"),
            (30 * M, "Send the first update"),
        ),
    )
}


class Log:
    """A drill's events as the services would record them, at drill minutes from the start (compression 1 unless
    the drill is started with another)."""

    def __init__(self, compression: float = 1.0) -> None:
        self.events: list[LogEvent] = []
        self.compression = compression
        self.now = T0 - M
        self.add(
            Kind.DRILL_LOADED,
            {
                "drill": DRILL,
                "scenario": "test-flood",
                "name": "Test flood",
                "version": "1",
                "source": "test-flood.yaml",
                "sha256": "0" * 64,
                "text": SCENARIO,
            },
            "eve",
        )
        self.now = T0
        self.add(
            Kind.DRILL_STARTED,
            {"drill": DRILL, "compression": compression, "incidents": {"flood": INCIDENT}, "feed_source": "src-1"},
            "eve",
        )
        self.add(Kind.INCIDENT_OPENED, {"incident": INCIDENT, "playbook": "flash-flood", "mode": "exercise"}, "eve")
        self.messages = 0
        self.rows = 0

    def at(self, minutes: float) -> Log:
        """Move the wall clock to drill minute ``minutes`` (of a drill never paused)."""
        self.now = T0 + timedelta(minutes=minutes) / self.compression
        return self

    def add(self, kind: str, payload: dict[str, Any], actor: str = "carla") -> LogEvent:
        event = LogEvent(kind, self.now, actor, payload, len(self.events) + 1)
        self.events.append(event)
        return event

    def fire(self, inject: str, kind: str, **extra: Any) -> None:
        seconds = (self.now - T0).total_seconds() * self.compression
        self.add(
            Kind.DRILL_INJECT_FIRED,
            {
                "drill": DRILL,
                "inject": inject,
                "kind": kind,
                "incident": INCIDENT,
                "scheduled_seconds": seconds,
                "drill_seconds": seconds,
                "by_hand": False,
                "detail": "",
                **extra,
            },
            "system",
        )

    def draft(self, message_type: str = "alert") -> str:
        self.messages += 1
        message = f"msg-{self.messages:03d}"
        self.add(
            Kind.MESSAGE_DRAFTED,
            {
                "incident": INCIDENT,
                "message": message,
                "version": 1,
                "hash": f"h{message}",
                "content": "{}",
                "type": message_type,
            },
        )
        return message

    def ref(self, message: str, version: int = 1) -> dict[str, Any]:
        return {"incident": INCIDENT, "message": message, "version": version, "hash": f"h{message}"}

    def submit(self, message: str) -> None:
        self.add(Kind.MESSAGE_SUBMITTED, self.ref(message))

    def approve(self, message: str, who: str = "ivan") -> None:
        self.add(Kind.MESSAGE_APPROVED, self.ref(message), who)

    def publish(self, message: str, *, accounts: tuple[str, ...] = ("acct-1",), break_glass: bool = False) -> list[str]:
        rows = []
        for account in accounts:
            self.rows += 1
            rows.append({"row": f"row-{self.rows:03d}", "account": account, "key": "k"})
        payload = {**self.ref(message), "break_glass": break_glass, "mode": "exercise", "outbox": rows}
        if break_glass:
            payload["reason"] = "the approver is unreachable"
        self.add(Kind.MESSAGE_PUBLISHED, payload)
        return [r["row"] for r in rows]

    def message(self, message_type: str = "alert", **kw: Any) -> list[str]:
        """Draft, submit, approve and publish at once."""
        m = self.draft(message_type)
        self.submit(m)
        self.approve(m)
        return self.publish(m, **kw)

    def end(self) -> None:
        seconds = (self.now - T0).total_seconds() * self.compression
        self.add(Kind.DRILL_ENDED, {"drill": DRILL, "drill_seconds": seconds}, "eve")

    def evaluate(self, **kw: Any) -> Any:
        return evaluate(DRILL, self.events, playbooks=TERMS, **kw)


def objective(log: Log, objective_id: str, **kw: Any) -> Any:
    return log.evaluate(**kw).objective(objective_id)


# -- the rating bounds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "target", "rating"),
    [
        (timedelta(0), 10 * M, Rating.P),
        (10 * M, 10 * M, Rating.P),
        (10 * M + timedelta(seconds=1), 10 * M, Rating.S),
        (15 * M, 10 * M, Rating.S),
        (15 * M + timedelta(seconds=1), 10 * M, Rating.M),
        (30 * M, 10 * M, Rating.M),
        (30 * M + timedelta(seconds=1), 10 * M, Rating.U),
        (None, 10 * M, Rating.U),
        (3 * M, None, NOT_RATED),  # nothing was expected: no rating either way
        (None, None, NOT_RATED),
    ],
)
def test_a_time_is_rated_against_its_target(
    value: timedelta | None, target: timedelta | None, rating: Rating | NotRated
) -> None:
    assert time_rating(value, target) is rating


@pytest.mark.parametrize(
    ("share", "at_least", "rating"),
    [
        (1.0, 1.0, Rating.P),
        (0.75, 1.0, Rating.S),
        (0.7499, 1.0, Rating.M),
        (0.5, 1.0, Rating.M),
        (0.4999, 1.0, Rating.U),
        (0.0, 1.0, Rating.U),
        (0.8, 0.8, Rating.P),
        (0.6, 0.8, Rating.S),
        (0.5999, 0.8, Rating.M),
        (0.4, 0.8, Rating.M),
        (0.3999, 0.8, Rating.U),
        (0.0, 0.0, Rating.P),
        (None, 1.0, Rating.P),
    ],
)
def test_a_share_is_rated_against_its_target(share: float | None, at_least: float, rating: Rating) -> None:
    assert share_rating(share, at_least) is rating


@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=1, max_value=3_000),
)
def test_a_longer_time_never_rates_better(a: int, b: int, target: int) -> None:
    order = "PSMU"
    shorter, longer = sorted((a, b))
    t = timedelta(seconds=target)
    assert order.index(time_rating(timedelta(seconds=shorter), t)) <= order.index(
        time_rating(timedelta(seconds=longer), t)
    )


def test_the_objective_takes_the_worst_of_its_measurements() -> None:
    assert worst([Rating.P, Rating.M, Rating.S]) is Rating.M
    assert worst([Rating.P]) is Rating.P
    assert worst([]) is Rating.U


def test_spans_read_as_controllers_write_them() -> None:
    assert [span_text(timedelta(seconds=s)) for s in (0, 45, 420, 450, 3900, 3905)] == [
        "0s",
        "45s",
        "7m",
        "7m30s",
        "1h05m",
        "1h05m05s",
    ]
    assert span_text(None) == "never"


# -- first message ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "rating"), [(7, Rating.P), (10, Rating.P), (12, Rating.S), (25, Rating.M), (31, Rating.U)]
)
def test_the_first_message_is_timed_from_its_inject(minutes: int, rating: Rating) -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(minutes).message()
    result = objective(log, "alert-fast")
    (m,) = result.measurements
    assert m.value == minutes * M and m.target == 10 * M and m.rating is rating and result.suggested is rating
    assert m.met is (minutes <= 10)
    assert "T+0 inject warning fired" in m.evidence and f"T+{minutes}m msg-001 (alert) published by carla" in m.evidence


def test_a_message_published_before_the_inject_does_not_answer_it() -> None:
    log = Log()
    log.at(1).message()
    log.at(3).fire("warning", "feed-item", item=1)
    log.at(8).message("update")
    (m,) = objective(log, "alert-fast").measurements
    assert m.value == 5 * M and "msg-002 (update)" in m.evidence


def test_an_inject_never_answered_or_never_fired_is_unable() -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(60).end()
    (m,) = objective(log, "alert-fast").measurements
    assert m.value is None and m.rating is Rating.U and "nothing published by the end" in m.evidence
    log = Log()
    log.at(60).end()
    (m,) = objective(log, "alert-fast").measurements
    assert m.value is None and m.rating is Rating.U and "inject warning never fired" in m.evidence


def test_times_are_drill_times_compressed_and_paused() -> None:
    log = Log(compression=60)  # a wall second is a drill minute
    log.fire("warning", "feed-item", item=1)
    log.at(3)
    log.add(Kind.DRILL_PAUSED, {"drill": DRILL, "drill_seconds": 180}, "eve")
    log.now += timedelta(minutes=20)  # twenty wall minutes paused: no drill time
    log.add(Kind.DRILL_RESUMED, {"drill": DRILL, "drill_seconds": 180}, "eve")
    log.now += timedelta(seconds=5)  # five wall seconds running: five drill minutes
    log.message()
    (m,) = objective(log, "alert-fast").measurements
    assert m.value == 8 * M and m.rating is Rating.P


# -- approval latency ------------------------------------------------------------------------------------


def test_each_version_is_timed_from_submission_to_approval() -> None:
    log = Log()
    a = log.at(1).draft()
    log.submit(a)
    log.at(4).approve(a)
    b = log.at(10).draft("update")
    log.submit(b)
    log.at(16).approve(b)
    c = log.at(20).draft("update")
    log.submit(c)
    log.at(22).add(Kind.MESSAGE_RETURNED, {**log.ref(c), "comment": "name the shelter"}, "ivan")
    d = log.at(30).draft("update")
    log.submit(d)
    log.at(60).end()
    result = log.evaluate()
    approvals = result.objective("approvals")
    values = [(m.label, m.value, m.rating) for m in approvals.measurements]
    assert values == [
        ("msg-001 v1 (alert) submitted to approved", 3 * M, Rating.P),
        ("msg-002 v1 (update) submitted to approved", 6 * M, Rating.S),
        ("msg-003 v1 (update) submitted to returned", 2 * M, Rating.P),
        ("msg-004 v1 (update) submitted to approved", None, Rating.U),
    ]
    assert approvals.suggested is Rating.U
    assert "returned by ivan: name the shelter" in approvals.measurements[2].evidence
    assert "not approved by the end" in approvals.measurements[3].evidence
    assert [m.value for m in result.approval_latencies] == [3 * M, 6 * M, 2 * M, None]
    assert all(m.target == 5 * M for m in result.approval_latencies)


def test_a_policy_of_two_approvals_is_approved_at_the_second() -> None:
    log = Log()
    a = log.at(1).draft()
    log.submit(a)
    log.at(3).approve(a, "ivan")
    log.at(7).approve(a, "olga")
    terms = {"flash-flood": PlaybookTerms(30 * M, approvals_needed=2)}
    (m,) = evaluate(DRILL, log.events, playbooks=terms).objective("approvals").measurements
    assert m.value == 6 * M and m.rating is Rating.S


def test_a_break_glass_publish_is_listed_not_timed_as_an_approval() -> None:
    log = Log()
    a = log.at(1).draft()
    log.submit(a)
    log.at(2).publish(a, break_glass=True)
    result = log.evaluate()
    assert result.approval_latencies == []
    assert result.break_glass == [
        "T+2m msg-001 (alert) v1 published with break glass by carla: the approver is unreachable"
    ]


# -- time to correction ----------------------------------------------------------------------------------


def false_alarm(log: Log, *, corrected_at: float | None) -> list[str]:
    log.fire("warning", "feed-item", item=1)
    log.at(2).message()  # the wrong alert: msg-001
    cancel, fix = log.at(5).draft("cancel"), log.draft("correction")
    log.submit(cancel)
    log.submit(fix)
    clicked = (T0 + 4 * M).isoformat()
    log.add(
        Kind.FALSE_ALARM_DECLARED,
        {"incident": INCIDENT, "cancel": cancel, "correction": fix, "references": ["msg-001"], "clicked_at": clicked},
    )
    log.at(7).approve(cancel)
    log.approve(fix)
    log.publish(cancel)
    rows = log.at(8).publish(fix, accounts=("acct-1", "acct-2"))
    if corrected_at is not None:
        log.at(corrected_at)
        confirmed = log.now.isoformat()
        log.add(
            Kind.FALSE_ALARM_CORRECTED,
            {
                "incident": INCIDENT,
                "cancel": cancel,
                "correction": fix,
                "clicked_at": clicked,
                "declared_at": clicked,
                "confirmed_at": confirmed,
                "elapsed_ms": 1,
            },
        )
    return rows


@pytest.mark.parametrize(
    ("confirmed", "rating"), [(12, Rating.P), (17, Rating.P), (20, Rating.S), (40, Rating.M), (50, Rating.U)]
)
def test_the_correction_is_timed_from_the_wrong_message_to_every_channel_confirmed(
    confirmed: int, rating: Rating
) -> None:
    log = Log()
    false_alarm(log, corrected_at=confirmed)
    (m,) = objective(log, "correction").measurements
    assert m.value == (confirmed - 2) * M and m.rating is rating
    assert [str(e) for e in m.events][:2] == [
        "T+2m msg-001 (alert) published by carla",
        "T+4m false alarm declared by carla",
    ]
    assert f"T+{confirmed}m correction confirmed on every channel" in m.evidence


def test_without_the_corrected_event_the_last_receipt_confirms_it() -> None:
    log = Log()
    rows = false_alarm(log, corrected_at=None)
    log.at(9).add(Kind.OUTBOX_SENT, {"row": rows[0], "remote_id": "1", "url": None, "via": "send"}, "outbox")
    (m,) = objective(log, "correction").measurements
    assert m.value is None and m.rating is Rating.U and "not confirmed on every channel" in m.evidence
    log.at(14).add(Kind.OUTBOX_SENT, {"row": rows[1], "remote_id": "2", "url": None, "via": "send"}, "outbox")
    (m,) = objective(log, "correction", account_names={"acct-2": "exercise-page"}).measurements
    assert m.value == 12 * M and m.rating is Rating.P
    assert "T+14m correction's last channel (exercise-page) confirmed sent" in m.evidence


def test_no_false_alarm_is_no_correction() -> None:
    log = Log()
    log.at(2).message()
    log.at(60).end()
    (m,) = objective(log, "correction").measurements
    assert m.value is None and m.rating is Rating.U and "no false alarm was declared" in m.evidence


# -- update cadence --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "end", "share", "longest", "rating"),
    [
        ([0, 25, 50], 60, 1.0, 25, Rating.P),  # on time, and the end came before the next was due
        ([0, 30, 60], 90, 1.0, 30, Rating.P),  # exactly on the cadence
        ([0, 20, 40, 60, 100], 100, 0.75, 40, Rating.S),  # one due moment missed of four
        ([0, 20, 40, 80], 90, 2 / 3, 40, Rating.M),
        ([0, 45], 60, 0.0, 45, Rating.U),
        ([0, 20], 90, 1 / 3, 70, Rating.U),  # kept one, then 70m to the end: the moments due at 50m and 80m missed
        ([0], 20, None, 20, Rating.P),  # nothing was due yet
    ],
)
def test_updates_are_counted_against_the_playbooks_cadence(
    published: list[int], end: int, share: float | None, longest: int, rating: Rating
) -> None:
    log = Log()
    for n, minute in enumerate(published):
        log.at(minute).message("alert" if n == 0 else "update")
    log.at(end).end()
    (m,) = objective(log, "cadence").measurements
    assert m.share == pytest.approx(share) if share is not None else m.share is None
    assert m.value == longest * M and m.target == 30 * M and m.rating is rating
    assert m.label == "Updates on flood every 30m (longest interval)"


def test_updates_stop_after_a_cancel_or_all_clear() -> None:
    log = Log()
    log.at(0).message()
    log.at(20).message("update")
    log.at(40).message("all-clear")
    log.at(120).end()
    (m,) = objective(log, "cadence").measurements
    assert m.share == 1.0 and m.rating is Rating.P


def test_nothing_published_misses_the_cadence() -> None:
    log = Log()
    log.at(60).end()
    (m,) = objective(log, "cadence").measurements
    assert m.share == 0.0 and m.rating is Rating.U and "nothing published" in m.evidence


# -- triage of urgent comments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "rating"), [(3, Rating.P), (5, Rating.P), (7, Rating.S), (15, Rating.M), (16, Rating.U)]
)
def test_an_urgent_comment_is_timed_to_its_triage(minutes: int, rating: Rating) -> None:
    log = Log()
    log.at(5).fire("urgent-1", "comment", item=17, urgent=True, group="residents", language="en")
    log.at(6).fire("calm", "comment", item=18, urgent=False, group="residents", language="en")
    log.at(5 + minutes).add(Kind.TRIAGE_SET, {"item": "fp-17", "status": "answered", "priority": "urgent"})
    result = log.evaluate(item_keys={"17": "fp-17", "18": "fp-18"})
    (m,) = result.objective("triage").measurements  # the calm comment is not urgent: not measured
    assert m.value == minutes * M and m.rating is rating
    assert f"T+{5 + minutes}m marked answered by carla" in m.evidence


def test_an_untriaged_comment_and_no_comment_at_all_are_unable() -> None:
    log = Log()
    log.at(5).fire("urgent-1", "comment", item=17, urgent=True, language="es")
    log.at(60).end()
    (m,) = objective(log, "triage", item_keys={"17": "fp-17"}).measurements
    assert m.value is None and m.rating is Rating.U and "not triaged by the end" in m.evidence
    log = Log()
    log.at(60).end()
    (m,) = objective(log, "triage").measurements
    assert m.rating is Rating.U and "no urgent comment was injected" in m.evidence


# -- checklist -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "rating"),
    [([1, 2, 3, 4], Rating.P), ([1, 2, 4], Rating.P), ([1, 2], Rating.M), ([1], Rating.U), ([], Rating.U)],
)
def test_the_checklist_is_counted_against_its_share(steps: list[int], rating: Rating) -> None:
    log = Log()
    for step in steps:
        log.at(step * 8).add(Kind.STEP_DONE, {"incident": INCIDENT, "step": step})
    log.at(60).end()
    (m,) = objective(log, "checklist").measurements
    assert m.share == len(steps) / 4 and m.share_target == 0.75 and m.rating is rating


def test_a_step_done_late_says_how_late() -> None:
    log = Log()
    log.at(8).add(Kind.STEP_DONE, {"incident": INCIDENT, "step": 2})  # due at T+5m
    log.at(60).end()
    (m,) = objective(log, "checklist").measurements
    assert "T+8m step 2 done by carla, 3m after it was due: Send the alert" in m.evidence
    assert "T+1h00m step 1 not done: Confirm the warning" in m.evidence


# -- the outbox through an outage ------------------------------------------------------------------------


def outage(log: Log) -> list[str]:
    log.at(20).fire("outage", "channel-outage", account="exercise-page", until_seconds=30 * 60)
    rows = log.at(22).message("update", accounts=("acct-1", "acct-2"))
    log.add(Kind.OUTBOX_FAILED, {"row": rows[0], "reason": "drill: exercise-page is out", "dead": False}, "outbox")
    log.add(Kind.OUTBOX_SENT, {"row": rows[1], "remote_id": "x", "url": None, "via": "send"}, "outbox")
    return rows


@pytest.mark.parametrize(
    ("minutes", "rating"), [(3, Rating.P), (5, Rating.P), (7, Rating.S), (15, Rating.M), (16, Rating.U)]
)
def test_what_an_outage_held_is_timed_from_its_end(minutes: int, rating: Rating) -> None:
    log = Log()
    rows = outage(log)
    log.at(30 + minutes).add(Kind.OUTBOX_SENT, {"row": rows[0], "remote_id": "y", "url": None, "via": "send"}, "outbox")
    result = log.evaluate(account_names={"acct-1": "exercise-page", "acct-2": "exercise-sms"})
    (m,) = result.objective("outbox").measurements
    assert m.value == minutes * M and m.rating is rating and m.start == 30 * M
    assert "T+30m channel outage outage over" in m.evidence
    assert "exercise-sms" not in m.evidence  # not held: it went out at once
    (story,) = result.outbox_stories
    assert story.outcome == "delivered after 1 failure" and story.delivered and story.account == "exercise-page"
    assert result.outbox_failures == [
        f"msg-001 (update) to exercise-page (row {rows[0]}): T+22m failed: drill: exercise-page is out; "
        f"T+{30 + minutes}m sent; delivered after 1 failure"
    ]


def test_a_row_never_delivered_is_unable_and_its_handling_is_told() -> None:
    log = Log()
    rows = outage(log)
    log.at(31).add(Kind.OUTBOX_FAILED, {"row": rows[0], "reason": "gave up", "dead": True}, "outbox")
    log.at(33).add(Kind.OUTBOX_RETRIED, {"row": rows[0], "message": "msg-001"}, "carla")
    log.at(34).add(Kind.OUTBOX_FAILED, {"row": rows[0], "reason": "gave up again", "dead": True}, "outbox")
    log.at(60).end()
    result = log.evaluate(account_names={"acct-1": "exercise-page"})
    (m,) = result.objective("outbox").measurements
    assert m.value is None and m.rating is Rating.U and "never sent" in m.evidence
    (story,) = result.outbox_stories
    assert [str(e) for e in story.events] == [
        "T+22m failed: drill: exercise-page is out",
        "T+31m dead: gave up",
        "T+33m retried by carla",
        "T+34m dead: gave up again",
    ]
    assert story.outcome == "dead after 3 failures: never delivered" and not story.delivered


def test_an_outage_that_held_nothing_is_met() -> None:
    log = Log()
    log.at(20).fire("outage", "channel-outage", account="exercise-page", until_seconds=30 * 60)
    log.at(60).end()
    (m,) = objective(log, "outbox").measurements
    assert m.value == timedelta(0) and m.rating is Rating.P and "nothing was held" in m.evidence


# -- the controller's word, and the rest of the report ----------------------------------------------------


def test_the_controllers_rating_strengths_areas_and_plan_stand_last_edit_wins() -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(12).message()
    log.at(60).end()
    assert objective(log, "alert-fast").rating is Rating.S
    log.add(Kind.DRILL_RATED, {"drill": DRILL, "objective": "alert-fast", "rating": "M", "note": "first"}, "eve")
    log.add(
        Kind.DRILL_RATED,
        {"drill": DRILL, "objective": "alert-fast", "rating": "P", "note": "the warning came by phone first"},
        "eve",
    )
    log.add(
        Kind.DRILL_REPORT_EDITED, {"drill": DRILL, "objective": "alert-fast", "strengths": ["old"], "areas": []}, "eve"
    )
    log.add(
        Kind.DRILL_REPORT_EDITED,
        {
            "drill": DRILL,
            "objective": "alert-fast",
            "strengths": ["Clear alert text"],
            "areas": ["Approver slow to respond"],
        },
        "eve",
    )
    plan = {
        "issue": "Approvals slow",
        "corrective_action": "Second approver on call",
        "capability": "Public Info",
        "responsible": "EM director",
        "start": "2026-12-01",
        "completion": None,
    }
    log.add(Kind.DRILL_REPORT_EDITED, {"drill": DRILL, "objective": None, "plan": [plan]}, "eve")
    # another drill's rating changes nothing here
    log.add(Kind.DRILL_RATED, {"drill": "drl-ffffffffff", "objective": "alert-fast", "rating": "U", "note": "x"}, "eve")
    result = log.evaluate()
    o = result.objective("alert-fast")
    assert (o.suggested, o.rating, o.rating_note, o.rated_by) == (
        Rating.S,
        Rating.P,
        "the warning came by phone first",
        "eve",
    )
    assert o.strengths == ["Clear alert text"] and o.areas == ["Approver slow to respond"]
    (row,) = result.plan
    assert row.issue == "Approvals slow" and row.start == date(2026, 12, 1) and row.completion is None
    assert row.as_payload() == plan
    assert result.objective("cadence").rating_note is None


def test_lint_findings_that_went_out_are_listed_for_the_drills_messages() -> None:
    log = Log()
    log.at(3).message()
    lint = {"msg-001": ["sms/en: CD103 warning: no call to action"], "msg-999": ["not this drill's"]}
    assert log.evaluate(lint_sent=lint).lint_findings_sent == [
        "msg-001 (alert): sms/en: CD103 warning: no call to action"
    ]


def test_each_inject_gets_its_response_time() -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(5).fire("urgent-1", "comment", item=17, urgent=True)
    log.at(6).fire("calm", "comment", item=18, urgent=False)
    log.at(8).message()
    log.at(9).add(Kind.TRIAGE_SET, {"item": "fp-17", "status": "acknowledged", "priority": "urgent"})
    log.at(10).add(Kind.TRIAGE_SET, {"item": "fp-18", "status": "answered", "priority": "normal"})
    log.at(40).fire("call", "note", to="communicator", source="controller", text="update please")
    log.at(44).message("update")
    log.at(60).end()
    result = log.evaluate(item_keys={"17": "fp-17", "18": "fp-18"})
    assert [(m.label, m.value, m.target) for m in result.inject_responses] == [
        ("Inject warning to the first message published", 8 * M, 10 * M),
        ("Urgent comment urgent-1 to its triage decision", 4 * M, None),
        ("Comment calm to its triage decision", 4 * M, None),  # not urgent: not called urgent
        ("Inject call to the first message published", 4 * M, None),
    ]


def test_the_overview_and_the_timeline() -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1, detail="feed item 1 in 'drill: Test flood'")
    log.at(5).fire("urgent-1", "comment", item=17, urgent=True)
    log.at(6).add(
        Kind.DRILL_INJECT_SKIPPED,
        {"drill": DRILL, "inject": "calm", "scheduled_seconds": 360, "drill_seconds": 360},
        "eve",
    )
    log.at(8).message()
    log.at(9).add(Kind.STEP_DONE, {"incident": INCIDENT, "step": 1}, "dora")
    log.at(30).add(Kind.DRILL_PAUSED, {"drill": DRILL, "drill_seconds": 1800}, "eve")
    log.now += timedelta(minutes=5)
    log.add(Kind.DRILL_RESUMED, {"drill": DRILL, "drill_seconds": 1800}, "eve")
    log.now += timedelta(minutes=15)
    log.end()
    result = log.evaluate()
    o = result.overview
    assert o is not None
    assert (o.name, o.status, o.controller, o.players, o.incidents) == (
        "Test flood",
        "ended",
        "eve",
        ["carla", "ivan", "dora"],
        {"flood": INCIDENT},
    )
    assert o.length == 45 * M and o.planned == 60 * M and o.started_at == T0
    rows = {i.id: i for i in o.injects}
    assert rows["warning"].fired == timedelta(0) and rows["warning"].detail.startswith("feed item 1")
    assert rows["calm"].skipped and rows["calm"].fired is None
    assert rows["call"].fired is None and not rows["call"].skipped
    assert rows["outage"].title == "exercise-page fails for 10m"
    lanes = [(e.at, e.lane, e.label) for e in result.timeline]
    assert (timedelta(0), "Injects", "warning") in lanes and (5 * M, "Injects", "urgent-1") in lanes
    assert (8 * M, "Published", "alert") in lanes and (8 * M, "Approvals", "alert approved") in lanes
    assert (9 * M, "Checklist", "step 1") in lanes and (30 * M, "Control", "paused") in lanes
    assert (45 * M, "Control", "ended") in lanes


def test_an_unknown_drill_is_named() -> None:
    with pytest.raises(NotFound, match="no drill 'drl-nothere'"):
        evaluate("drl-nothere", Log().events, playbooks=TERMS)
    with pytest.raises(NotFound, match="has no objective 'nope'"):
        Log().evaluate().objective("nope")


@given(st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=8), st.integers(min_value=0, max_value=30))
def test_updates_never_further_apart_than_the_cadence_keep_it(gaps: list[int], tail: int) -> None:
    log = Log()
    minute = 0
    log.at(minute).message()
    for gap in gaps:
        minute += gap
        log.at(minute).message("update")
    log.at(minute + tail).end()
    (m,) = objective(log, "cadence").measurements
    assert m.share == 1.0 and m.rating is Rating.P and m.value == max([*gaps, tail]) * M


@given(
    st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=8), st.integers(min_value=0, max_value=120)
)
def test_every_due_update_is_counted_once_kept_or_missed(gaps: list[int], tail: int) -> None:
    log = Log()
    minute = 0
    log.at(minute).message()
    for gap in gaps:
        minute += gap
        log.at(minute).message("update")
    log.at(minute + tail).end()
    (m,) = objective(log, "cadence").measurements
    kept = sum(1 for g in gaps if g <= 30)
    missed = sum(-(-g // 30) - 1 for g in gaps if g > 30) + max(0, -(-tail // 30) - 1)
    assert m.share == pytest.approx(kept / (kept + missed))
    assert m.met is (missed == 0)


def test_a_share_with_nothing_due_says_so_rather_than_showing_its_gap_as_the_measure() -> None:
    """Seen in the console: a cadence with no update due yet read '23m (target at least 100%)'."""
    nothing_due = Measurement("Updates", timedelta(minutes=23), timedelta(minutes=30), True, "", share_target=1.0)
    assert nothing_due.value_text == "none due yet (longest interval 23m)"
    half = Measurement("Updates", timedelta(minutes=40), timedelta(minutes=30), False, "", share=0.5, share_target=1.0)
    assert half.value_text == "50%"
    timed = Measurement("First message", timedelta(minutes=7), timedelta(minutes=10), True, "")
    assert timed.value_text == "7m"


def test_a_response_with_no_target_is_not_rated_and_counts_in_no_objective() -> None:
    # "call" is a note no objective sets a target for: the players owed no message, so "never" is not U, and a
    # quick answer is not P either.
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(4).message()
    log.at(40).fire("call", "note", to="communicator", source="controller", text="the water starts to go down")
    log.at(60).end()
    result = log.evaluate()
    call = next(m for m in result.inject_responses if "call" in m.label)
    assert call.value is None and call.target is None and call.rating is NOT_RATED and call.met is None
    assert call.target_text == "none set" and NOT_RATED.words == "not rated"
    assert "nothing published by the end" in call.evidence
    warning = next(m for m in result.inject_responses if "warning" in m.label)
    assert warning.rating is Rating.P
    assert all(isinstance(m.rating, Rating) for o in result.objectives for m in o.measurements)
    assert result.objective("alert-fast").suggested is Rating.P


def test_a_message_answers_one_inject_not_every_inject_before_it() -> None:
    # The walkthrough's drill: the warning at T+0, the sheriff's call at T+3m while the alert was being written,
    # the alert at T+5m10s, the shelter note at T+25m and the update after it.
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(3).fire("call", "note", to="communicator", source="sheriff", text="Old Mill Road is closed")
    log.at(5 + 1 / 6).message()
    log.at(25).fire("shelter", "note", to="communicator", source="IC", text="the shelter is open")
    log.at(26).message("update")
    log.at(60).end()
    result = log.evaluate()
    rows = {m.label.split()[1]: m for m in result.inject_responses}
    assert rows["warning"].value == timedelta(minutes=5, seconds=10)
    call = rows["call"]
    assert call.value is None and call.value_text == "none of its own" and call.rating is NOT_RATED
    assert "T+5m10s msg-001 (alert) published by carla, the response to inject warning" in call.evidence
    assert rows["shelter"].value == 1 * M and "msg-002 (update)" in rows["shelter"].evidence
    # The first-message objective still times the warning to the alert, as it always has.
    assert objective(log, "alert-fast").measurements[0].value == timedelta(minutes=5, seconds=10)


def test_an_inject_a_first_message_objective_measures_is_timed_as_the_objective_times_it() -> None:
    log = Log()
    log.at(1).fire("call", "note", to="communicator", source="sheriff", text="road closed")
    log.at(2).fire("warning", "feed-item", item=1)  # measured by alert-fast: the alert is its response too
    log.at(6).message()
    log.at(60).end()
    rows = {m.label.split()[1]: m for m in log.evaluate().inject_responses}
    assert rows["call"].value == 5 * M
    assert rows["warning"].value == 4 * M and rows["warning"].rating is Rating.P


def skip(log: Log, *injects: str, to: str = "call", seconds: int = 2400) -> None:
    """A jump to ``to`` that passes ``injects``, as the drill service records it."""
    log.add(Kind.DRILL_JUMPED, {"drill": DRILL, "inject": to, "from_seconds": seconds, "to_seconds": seconds}, "eve")
    for inject in injects:
        log.add(
            Kind.DRILL_INJECT_SKIPPED,
            {"drill": DRILL, "inject": inject, "scheduled_seconds": 0, "drill_seconds": seconds},
            "eve",
        )


def test_an_inject_the_controller_skipped_is_not_measured_and_not_the_players_failure() -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(4).message()
    log.at(5).fire("calm", "comment", item=18, urgent=False)  # fired, but not urgent: triage measures none of it
    log.at(40)  # the jump lands where the log's wall clock stands: drill time and wall time stay in step here
    skip(log, "urgent-1", "outage")
    log.fire("call", "note", to="communicator", source="controller", text="the water is falling")
    log.at(60).end()
    result = log.evaluate()
    triage = result.objective("triage")
    (m,) = triage.measurements
    assert m.label == "Urgent comment urgent-1 to its triage decision" and m.skipped
    assert m.value_text == "not measured: skipped by the controller" and m.rating is NOT_RATED and m.met is None
    assert "T+40m inject urgent-1 skipped by eve (a jump to inject call)" in m.evidence
    assert "no urgent comment was injected" not in m.evidence
    # Nothing it measures was played: U as a prompt to the controller, and the report says why.
    assert (
        triage.suggested is Rating.U
        and triage.suggestion_note == "every inject it measures was skipped by the controller"
    )
    outbox = result.objective("outbox")
    assert [x.value_text for x in outbox.measurements] == ["not measured: skipped by the controller"]
    responses = {x.label: x for x in result.inject_responses}
    assert responses["Urgent comment urgent-1 to its triage decision"].rating is NOT_RATED
    assert responses["End of outage outage to every held message delivered"].skipped
    # An objective with something measured takes the suggestion from that alone.
    assert result.objective("alert-fast").suggested is Rating.P and result.objective("alert-fast").suggestion_note == ""


def test_a_skipped_inject_beside_measured_ones_leaves_the_rating_to_what_was_measured() -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(6)
    skip(log, "urgent-1", to="calm", seconds=360)
    log.fire("calm", "comment", item=18, urgent=True)  # made urgent for this drill: measured
    log.at(13).add(Kind.TRIAGE_SET, {"item": "fp-18", "status": "answered", "priority": "urgent"})
    log.at(60).end()
    triage = log.evaluate(item_keys={"18": "fp-18"}).objective("triage")
    assert [(x.label, x.rating) for x in triage.measurements] == [
        ("Urgent comment calm to its triage decision", Rating.S),
        ("Urgent comment urgent-1 to its triage decision", NOT_RATED),
    ]
    assert triage.suggested is Rating.S and triage.suggestion_note == ""


def test_a_first_message_objective_whose_inject_was_skipped_is_not_measured() -> None:
    log = Log()
    log.at(40)
    skip(log, "warning")
    log.fire("call", "note", to="communicator", source="controller", text="go")
    log.at(45).message()
    log.at(60).end()
    result = log.evaluate()
    (m,) = result.objective("alert-fast").measurements
    assert m.skipped and m.rating is NOT_RATED and "inject warning never fired" not in m.evidence
    assert result.objective("alert-fast").suggestion_note

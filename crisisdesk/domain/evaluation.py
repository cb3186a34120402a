"""A drill's evaluation, measured from its events: pure, no I/O.

The input is the events of one drill (its own ``drill.*`` events, and those of its incidents, their messages'
approvals and publications, their outbox rows, and the triage decisions of the items its injects created), in log
order, with the scenario's text taken from ``drill.loaded``. Every time is measured in drill time
(``crisisdesk.domain.drill.DrillClock``): at 60x compression one wall second is a drill minute, and a pause counts
nothing.

What is measured (``Measure``, one per objective's expectation):

- first-message: from the inject named by ``after`` (else the drill's start) to the first message published on
  its incident (else on any of the drill's incidents);
- approval-latency: from each submission of a version to its approval (the playbook's count of approvals; a
  version returned is measured to the return, one never decided counts as never approved, one replaced by a newer
  version before any decision is not counted, and one published with break glass is listed with those instead);
- correction: from the wrong message published (the first one a false alarm's cancel references) to the
  correction confirmed on every channel (``incident.false_alarm_corrected``, else the correction's last receipt);
- cadence: after the first message, each next one due within the playbook's ``cadence.update_every``; an
  interval kept is one update on time, a longer one misses every due moment it passed, and the time from the last
  message to the drill's end misses those it passed too (updates stop after a cancel or an all-clear);
- triage: from each urgent comment's arrival (its inject) to its first triage decision;
- checklist: the playbook's checklist steps done by the drill's end (each with its due offset);
- outbox-recovery: from an outage's end (a channel outage or network loss inject) to every row held on the
  affected accounts delivered.

Alongside: the time from each inject to the first message published after it, when that message is not already
the response to an earlier inject (for a comment: to its triage),
every approval latency, the lint findings of what went out (given by the caller, who runs the lint), break-glass
publications, and every outbox row that failed with how it was handled.

HSEEP rating suggestions, per measurement (the objective takes the worst of its rated measurements; none at all
is U):

- a time against its target T: P when within T, S within 1.5 x T, M within 3 x T, U beyond that or never;
  a time with no target (an inject's response no objective sets a target for) is not rated (``NOT_RATED``, shown
  as "—"): nothing was expected, so neither the time nor its absence says how the players did, and it counts in no
  objective's rating;
- a share against its target share A (``at_least``, default 1.0): P at A or more, S at 0.75 x A or more, M at
  0.5 x A or more, U below (a share with nothing due, such as no update due yet, is P).

Injects the controller skipped (``drill.inject_skipped``: a jump passed them) were never played: each measurement
of one says "not measured: skipped by the controller", carries no rating and counts in no objective's rating, so an
objective takes the worst of what was measured. When nothing it measures was measured at all (every inject it
measures was skipped), its suggestion is U with that said (``ObjectiveResult.suggestion_note``): the log holds no
performance to rate, and U asks the controller to rate it with a note (a drill cut short is their call, not the
players' failure).

Every bound is inclusive: 15 minutes against a 10-minute target is S, 30 minutes is M, 30 minutes and a second is
U. The controller's rating (``drill.rated``) replaces the suggestion, with its note; strengths, areas for
improvement and the improvement plan are the controller's (``drill.report_edited``), the last edit standing.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from crisisdesk.domain.drill import CONTROL_KINDS, DrillClock, malformed, offset_text
from crisisdesk.domain.errors import NotFound
from crisisdesk.domain.events import Event, Kind
from crisisdesk.domain.facts import parse_duration
from crisisdesk.domain.playbook import Playbook, parse_offset
from crisisdesk.domain.scenario import InjectKind, Measure, Objective, Scenario, parse_scenario

# The rating bounds (see the module's docstring): a time within these multiples of its target...
SOME_CHALLENGES_TIME = 1.5
MAJOR_CHALLENGES_TIME = 3.0
# ...a share at least these fractions of its target share.
SOME_CHALLENGES_SHARE = 0.75
MAJOR_CHALLENGES_SHARE = 0.5

_EPSILON = 1e-9  # 0.8 x 0.75 is 0.6000000000000001 in floating point: a bound is met at its value
ENDING_TYPES = frozenset({"cancel", "all-clear"})  # after these an incident needs no more updates
NOT_MEASURED = "not measured: skipped by the controller"
SKIPPED_ALL = "every inject it measures was skipped by the controller"


class Rating(enum.StrEnum):
    """HSEEP performance ratings."""

    P = "P"  # Performed without challenges
    S = "S"  # Performed with some challenges
    M = "M"  # Performed with major challenges
    U = "U"  # Unable to be performed

    @property
    def words(self) -> str:
        return RATING_WORDS[self]


RATING_WORDS = {
    Rating.P: "Performed without challenges",
    Rating.S: "Performed with some challenges",
    Rating.M: "Performed with major challenges",
    Rating.U: "Unable to be performed",
}
_ORDER = {Rating.P: 0, Rating.S: 1, Rating.M: 2, Rating.U: 3}


class NotRated(enum.Enum):
    """A measurement that carries no rating: nothing to rate it against (no target), or nothing measured (its
    inject skipped by the controller). It counts in no objective's rating."""

    NOT_RATED = "—"

    @property
    def words(self) -> str:
        return "not rated"


NOT_RATED = NotRated.NOT_RATED


def worst(ratings: Iterable[Rating]) -> Rating:
    """The worst of ``ratings`` (U when there are none: nothing was observed)."""
    return max(ratings, key=_ORDER.__getitem__, default=Rating.U)


def time_rating(value: timedelta | None, target: timedelta | None) -> Rating | NotRated:
    """P within the target, S within 1.5x, M within 3x, U beyond or never (bounds inclusive); no target: not
    rated (nothing was expected, so neither a time nor its absence says how it went)."""
    if target is None:
        return NOT_RATED
    if value is None:
        return Rating.U
    if value <= target:
        return Rating.P
    if value <= target * SOME_CHALLENGES_TIME:
        return Rating.S
    if value <= target * MAJOR_CHALLENGES_TIME:
        return Rating.M
    return Rating.U


def share_rating(share: float | None, at_least: float) -> Rating:
    """P at the target share or more, S at 0.75 of it, M at 0.5 of it, U below (None: nothing was due: P)."""
    if share is None or share >= at_least - _EPSILON:
        return Rating.P
    if share >= at_least * SOME_CHALLENGES_SHARE - _EPSILON:
        return Rating.S
    if share >= at_least * MAJOR_CHALLENGES_SHARE - _EPSILON:
        return Rating.M
    return Rating.U


def span_text(span: timedelta | None) -> str:
    """A length of drill time: 45s, 7m, 7m30s, 1h05m (never: "never")."""
    if span is None:
        return "never"
    total = round(span.total_seconds())
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        text = f"{hours}h{minutes:02d}m" + (f"{seconds:02d}s" if seconds else "")
    elif minutes:
        text = f"{minutes}m" + (f"{seconds:02d}s" if seconds else "")
    else:
        text = f"{seconds}s"
    return sign + text


# -- what goes in -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One event as the evaluation reads it: its kind, wall time (UTC), who, what, and its place in the log."""

    kind: str
    at: datetime
    actor: str
    payload: Mapping[str, Any]
    position: int = 0

    @classmethod
    def from_event(cls, event: Event, position: int = 0) -> LogEvent:
        return cls(event.kind, datetime.fromisoformat(event.at), event.actor, event.payload, position)


@dataclass(frozen=True, slots=True)
class PlaybookTerms:
    """What the evaluation needs of a playbook: its update cadence, its checklist and its approval count."""

    update_every: timedelta
    checklist: tuple[tuple[timedelta, str], ...] = ()  # (due offset from the incident's opening, what to do)
    approvals_needed: int = 1

    @classmethod
    def from_playbook(cls, playbook: Playbook) -> PlaybookTerms:
        return cls(
            parse_duration(playbook.cadence.update_every),
            tuple((parse_offset(s.at), s.do) for s in playbook.checklist),
            playbook.approval.count,
        )


# -- what comes out ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """One event behind a measurement: its drill time and what happened, in words."""

    at: timedelta
    text: str

    def __str__(self) -> str:
        return f"{offset_text(self.at)} {self.text}"


@dataclass(frozen=True, slots=True)
class Measurement:
    label: str  # "Inject flood-warning to the first message published"
    value: timedelta | None  # None: it never happened
    target: timedelta | None
    met: bool | None
    evidence: str  # the events behind it, in words, with their times
    rating: Rating | NotRated = Rating.U  # the suggestion for this measurement alone (NOT_RATED: counts in none)
    share: float | None = None  # cadence, checklist: the share kept or done (value: the worst interval, or None)
    share_target: float | None = None
    start: timedelta | None = None  # the drill time it is measured from
    events: tuple[Evidence, ...] = ()
    incident: str | None = None
    outcome: str = ""  # what stands in for the value when there is none to show ("none of its own", "not measured...")
    skipped: bool = False  # its inject was skipped by the controller: not measured, not rated

    @property
    def value_text(self) -> str:
        if self.outcome:
            return self.outcome
        if self.share is not None:
            return f"{self.share:.0%}"
        if self.share_target is not None:  # a share with nothing due yet: no share to show, only the longest gap
            return "none due yet" + (f" (longest interval {span_text(self.value)})" if self.value else "")
        return span_text(self.value)

    @property
    def target_text(self) -> str:
        if self.share_target is not None:
            return f"at least {self.share_target:.0%}"
        return f"within {span_text(self.target)}" if self.target is not None else "none set"


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    objective_id: str
    title: str
    capability: str
    measurements: list[Measurement]
    suggested: Rating
    rating: Rating  # the controller's, else the suggestion
    rating_note: str | None
    strengths: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    measure: str = ""  # the expectation's measure (first-message, cadence...)
    expectation: str = ""  # the expectation in words: "first message within 10m of inject flood-warning"
    rated_by: str | None = None
    suggestion_note: str = ""  # why the suggestion is what it is when no measurement rates it


@dataclass(frozen=True, slots=True)
class PlanRow:
    issue: str
    corrective_action: str
    capability: str
    responsible: str
    start: date | None
    completion: date | None

    def as_payload(self) -> dict[str, Any]:
        return {
            "issue": self.issue,
            "corrective_action": self.corrective_action,
            "capability": self.capability,
            "responsible": self.responsible,
            "start": self.start.isoformat() if self.start else None,
            "completion": self.completion.isoformat() if self.completion else None,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> PlanRow:
        def day(value: Any) -> date | None:
            return date.fromisoformat(str(value)) if value else None

        return cls(
            str(data.get("issue") or ""),
            str(data.get("corrective_action") or ""),
            str(data.get("capability") or ""),
            str(data.get("responsible") or ""),
            day(data.get("start")),
            day(data.get("completion")),
        )


@dataclass(frozen=True, slots=True)
class InjectRow:
    """One line of the Master Scenario Events List as it went."""

    id: str
    kind: str
    title: str
    scheduled: timedelta
    fired: timedelta | None  # drill time it fired (None: skipped or never reached)
    skipped: bool = False
    by_hand: bool = False
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: timedelta  # drill time
    lane: str  # Injects, Published, Approvals, Triage, Checklist, False alarm, Outbox, Control
    label: str
    kind: str


@dataclass(frozen=True, slots=True)
class OutboxStory:
    """An outbox row of the drill that failed at least once, and how it was handled."""

    row: str
    account: str
    message: str
    events: tuple[Evidence, ...]
    outcome: str  # "sent after 2 failures", "dead: never delivered"
    delivered: bool

    def __str__(self) -> str:
        steps = "; ".join(str(e) for e in self.events)
        return f"{self.message} to {self.account} (row {self.row}): {steps}; {self.outcome}"


@dataclass(frozen=True, slots=True)
class Overview:
    """The exercise overview of the report."""

    name: str
    scenario_id: str
    version: str
    source: str
    summary: str
    scope: str
    status: str  # loaded, running, paused, ended
    loaded_at: datetime
    loaded_by: str
    started_at: datetime | None
    ended_at: datetime | None
    length: timedelta  # drill time played (to the end, or to now)
    planned: timedelta
    compression: float  # at the start
    controllers: list[str]  # who took control actions, the one who started it first
    players: list[str]  # who acted on the drill's incidents
    incidents: dict[str, str]  # scenario key -> incident id
    playbooks: list[str]
    injects: list[InjectRow]
    scenario: Scenario
    timezone: str = "UTC"  # where its wall times are shown: the scenario's, else its first incident's

    @property
    def controller(self) -> str:
        return self.controllers[0] if self.controllers else self.loaded_by


@dataclass(frozen=True, slots=True)
class Evaluation:
    drill_id: str
    objectives: list[ObjectiveResult]
    # the other measures the issue names, each a Measurement or a line of evidence
    approval_latencies: list[Measurement]
    lint_findings_sent: list[str]
    break_glass: list[str]
    outbox_failures: list[str]
    plan: list[PlanRow]
    overview: Overview | None = None
    inject_responses: list[Measurement] = field(default_factory=list)
    outbox_stories: list[OutboxStory] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    outages: list[tuple[timedelta, timedelta, str]] = field(default_factory=list)  # (from, to, what), drill time

    def objective(self, objective_id: str) -> ObjectiveResult:
        for o in self.objectives:
            if o.objective_id == objective_id:
                return o
        known = ", ".join(o.objective_id for o in self.objectives)
        raise NotFound(f"the drill has no objective {objective_id!r} (its objectives: {known})")


# -- the evaluation ----------------------------------------------------------------------------------------


def scenario_of(drill_id: str, events: Sequence[LogEvent]) -> tuple[LogEvent, Scenario]:
    """The drill's ``drill.loaded`` event and the scenario parsed from the text it holds."""
    loaded = next((e for e in events if e.kind == Kind.DRILL_LOADED and e.payload.get("drill") == drill_id), None)
    if loaded is None:
        raise NotFound(f"no drill {drill_id!r}; 'crisisdesk drill status' lists the drills")
    scenario, _, problems = parse_scenario(str(loaded.payload.get("text") or ""), str(loaded.payload.get("source")))
    if scenario is None:
        first = problems[0] if problems else "no scenario text"
        raise NotFound(f"drill {drill_id}'s scenario in the log cannot be read: {first}")
    return loaded, scenario


@dataclass
class _Message:
    id: str
    incident: str
    type: str
    versions: dict[int, str] = field(default_factory=dict)  # version -> hash


class _Drill:
    """The drill's events, indexed once for the measures."""

    def __init__(
        self,
        drill_id: str,
        events: Sequence[LogEvent],
        *,
        playbooks: Mapping[str, PlaybookTerms],
        item_keys: Mapping[str, str],
        account_names: Mapping[str, str],
        now: datetime | None,
    ) -> None:
        self.id = drill_id
        self.events = sorted(events, key=lambda e: (e.position, e.at))
        self.loaded, self.scenario = scenario_of(drill_id, self.events)
        # A malformed drill event (written by hand, or from another workstation) is passed over, as the drill
        # service's fold passes it over: the evaluation measures the drill the console showed.
        self.own = [
            e
            for e in self.events
            if e.kind.startswith("drill.") and e.payload.get("drill") == drill_id and not malformed(e.kind, e.payload)
        ]
        self.clock = DrillClock.from_events((e.kind, e.at, e.payload) for e in self.own if e.kind in CONTROL_KINDS)
        started = next((e for e in self.own if e.kind == Kind.DRILL_STARTED), None)
        self.started = started
        self.ended = next((e for e in self.own if e.kind == Kind.DRILL_ENDED), None)
        self.incidents: dict[str, str] = dict(started.payload.get("incidents") or {}) if started else {}
        self.incident_ids = set(self.incidents.values())
        last = self.events[-1].at if self.events else self.loaded.at
        self.end_wall = self.ended.at if self.ended else max(now or last, last)
        self.end = self.clock.drill_time(self.end_wall)
        self.playbooks = playbooks
        self.item_keys = item_keys
        self.account_names = account_names
        self.playbook_of: dict[str, str] = {}
        self.opened_at: dict[str, LogEvent] = {}
        self.messages: dict[str, _Message] = {}
        for e in self.events:
            p = e.payload
            if e.kind == Kind.INCIDENT_OPENED and p.get("incident") in self.incident_ids:
                self.playbook_of[p["incident"]] = str(p.get("playbook"))
                self.opened_at[p["incident"]] = e
            elif e.kind in (Kind.MESSAGE_DRAFTED, Kind.MESSAGE_EDITED) and p.get("incident") in self.incident_ids:
                m = self.messages.setdefault(p["message"], _Message(p["message"], p["incident"], str(p.get("type"))))
                if e.kind == Kind.MESSAGE_DRAFTED:
                    m.type = str(p.get("type") or m.type)
                m.versions[int(p["version"])] = str(p["hash"])
        # An inject fires once: a second event naming it (two processes, or by hand) counts no more than the service
        # shows, the first.
        first: dict[str, LogEvent] = {}
        for e in self.own:
            if e.kind == Kind.DRILL_INJECT_FIRED:
                first.setdefault(str(e.payload.get("inject")), e)
        self.fired = list(first.values())
        fired_ids = set(first)
        # inject -> its drill.inject_skipped (a jump passed it), unless it was fired after all
        self.skipped: dict[str, LogEvent] = {
            str(e.payload.get("inject")): e
            for e in self.own
            if e.kind == Kind.DRILL_INJECT_SKIPPED and str(e.payload.get("inject")) not in fired_ids
        }
        self.published = [
            e for e in self.events if e.kind == Kind.MESSAGE_PUBLISHED and e.payload.get("message") in self.messages
        ]
        # outbox row -> (message, account)
        self.rows: dict[str, tuple[str, str]] = {}
        for e in self.published:
            for r in e.payload.get("outbox") or ():
                self.rows[str(r["row"])] = (str(e.payload["message"]), str(r.get("account") or ""))

    def t(self, e: LogEvent | datetime) -> timedelta:
        """Drill time of an event (or a wall moment)."""
        return self.clock.drill_time(e if isinstance(e, datetime) else e.at)

    def fired_time(self, e: LogEvent) -> timedelta:
        seconds = _seconds(e.payload.get("drill_seconds"))
        return timedelta(seconds=seconds) if seconds is not None else self.t(e)

    def incident_key(self, incident_id: str | None) -> str:
        return next((k for k, v in self.incidents.items() if v == incident_id), incident_id or "")

    def in_scope(self, incident_id: Any, key: str | None) -> bool:
        if key is None:
            return incident_id in self.incident_ids
        return bool(incident_id == self.incidents.get(key))

    def message_words(self, message_id: str) -> str:
        m = self.messages.get(message_id)
        return f"{message_id} ({m.type})" if m else message_id

    def account(self, account_id: str) -> str:
        return self.account_names.get(account_id, account_id)


def _seconds(value: Any) -> float | None:
    """Drill seconds as an event holds them: a whole number, or a decimal string (events hold no floats)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def evaluate(
    drill_id: str,
    events: Sequence[LogEvent],
    *,
    playbooks: Mapping[str, PlaybookTerms],
    lint_sent: Mapping[str, Sequence[str]] | None = None,
    item_keys: Mapping[str, str] | None = None,
    account_names: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Evaluation:
    """The drill's evaluation from its events (see the module's docstring).

    ``playbooks``: the terms of each playbook in play, by id; ``lint_sent``: per published message, its lint
    findings on what went out (one line each); ``item_keys``: a feed item's id -> the key triage decisions name it
    by (its fingerprint); ``account_names``: an account's id -> its name; ``now``: the end of a drill still running.
    """
    d = _Drill(
        drill_id,
        events,
        playbooks=playbooks,
        item_keys=item_keys or {},
        account_names=account_names or {},
        now=now,
    )
    ratings, edits, plan = _controller_says(d)
    # Every version's approval, against the target of the drill-wide approval objective if there is one.
    wide = next(
        (
            o.expect.within
            for o in d.scenario.objectives
            if o.expect.measure is Measure.APPROVAL_LATENCY and not o.expect.incident
        ),
        None,
    )
    approvals = _approval_latencies(d, None, parse_duration(wide) if wide else None)
    objectives = []
    for o in d.scenario.objectives:
        measurements = _measure(d, o)
        suggested = worst(m.rating for m in measurements if isinstance(m.rating, Rating))
        skipped_only = bool(measurements) and all(m.skipped for m in measurements)
        rated = ratings.get(o.id)
        strengths, areas = edits.get(o.id, ([], []))
        objectives.append(
            ObjectiveResult(
                objective_id=o.id,
                title=o.title,
                capability=o.capability,
                measurements=measurements,
                suggested=suggested,
                rating=Rating(rated.payload["rating"]) if rated else suggested,
                rating_note=str(rated.payload.get("note") or "") if rated else None,
                strengths=strengths,
                areas=areas,
                measure=o.expect.measure.value,
                expectation=expectation_text(o),
                rated_by=rated.actor if rated else None,
                suggestion_note=SKIPPED_ALL if skipped_only else "",
            )
        )
    stories = _outbox_stories(d)
    return Evaluation(
        drill_id=drill_id,
        objectives=objectives,
        approval_latencies=approvals,
        lint_findings_sent=[
            f"{d.message_words(m)}: {line}"
            for m in d.messages
            if m in (lint_sent or {})
            for line in (lint_sent or {})[m]
        ],
        break_glass=_break_glass(d),
        outbox_failures=[str(s) for s in stories],
        plan=plan,
        overview=_overview(d),
        inject_responses=_inject_responses(d),
        outbox_stories=stories,
        timeline=_timeline(d),
        outages=_outages(d),
    )


def expectation_text(o: Objective) -> str:
    x = o.expect
    within = f" within {span_text(parse_duration(x.within))}" if x.within else ""
    share = f"{x.at_least:.0%}" if x.at_least is not None else "all"
    on = f" on {x.incident}" if x.incident else ""
    return {
        Measure.FIRST_MESSAGE: f"first message published{on}{within} of "
        + (f"inject {x.after}" if x.after else "the start"),
        Measure.APPROVAL_LATENCY: f"each version approved{within} of its submission{on}",
        Measure.CORRECTION: f"a wrong message corrected on every channel{within}{on}",
        Measure.CADENCE: f"{share} of updates on the playbook's cadence{on}",
        Measure.TRIAGE: "urgent comments triaged"
        + within
        + (f" of inject {x.after}" if x.after else " of their arrival")
        + on,
        Measure.CHECKLIST: f"{share} of the checklist done by the end{on}",
        Measure.OUTBOX_RECOVERY: "every held message delivered"
        + within
        + (f" of the end of {x.after}" if x.after else " of each outage's end"),
    }[x.measure]


def _controller_says(
    d: _Drill,
) -> tuple[dict[str, LogEvent], dict[str, tuple[list[str], list[str]]], list[PlanRow]]:
    ratings: dict[str, LogEvent] = {}
    edits: dict[str, tuple[list[str], list[str]]] = {}
    plan: list[PlanRow] = []
    for e in d.own:
        p = e.payload
        if e.kind == Kind.DRILL_RATED:
            ratings[str(p["objective"])] = e
        elif e.kind == Kind.DRILL_REPORT_EDITED:
            if "plan" in p:
                plan = [PlanRow.from_payload(r) for r in p["plan"] or ()]
            elif p.get("objective"):
                edits[str(p["objective"])] = (
                    [str(s) for s in p.get("strengths") or ()],
                    [str(a) for a in p.get("areas") or ()],
                )
    return ratings, edits, plan


def _measure(d: _Drill, o: Objective) -> list[Measurement]:
    x = o.expect
    target = parse_duration(x.within) if x.within else None
    if x.measure is Measure.FIRST_MESSAGE:
        return [_first_message(d, x.after, x.incident, target)]
    if x.measure is Measure.APPROVAL_LATENCY:
        return _approval_latencies(d, x.incident, target)
    if x.measure is Measure.CORRECTION:
        return _corrections(d, x.incident, target)
    if x.measure is Measure.CADENCE:
        return _cadence(d, x.incident, 1.0 if x.at_least is None else x.at_least)
    if x.measure is Measure.TRIAGE:
        return _triage(d, x.after, x.incident, target)
    if x.measure is Measure.CHECKLIST:
        return _checklist(d, x.incident, 1.0 if x.at_least is None else x.at_least)
    return _outbox_recovery(d, x.after, target)


def _timed(
    label: str,
    value: timedelta | None,
    target: timedelta | None,
    evidence: Sequence[Evidence],
    *,
    start: timedelta | None = None,
    incident: str | None = None,
) -> Measurement:
    return Measurement(
        label=label,
        value=value,
        target=target,
        met=None if target is None else (value is not None and value <= target),
        evidence="; ".join(str(e) for e in evidence),
        rating=time_rating(value, target),
        start=start,
        events=tuple(evidence),
        incident=incident,
    )


def _shared(
    label: str,
    kept: int,
    due: int,
    at_least: float,
    evidence: Sequence[Evidence],
    *,
    value: timedelta | None = None,
    target: timedelta | None = None,
    incident: str | None = None,
) -> Measurement:
    """A share measurement: ``kept`` of ``due`` (nothing due: P, and no share)."""
    share = kept / due if due else None
    return Measurement(
        label=label,
        value=value,
        target=target,
        met=share is None or share >= at_least - _EPSILON,
        evidence="; ".join(str(e) for e in evidence),
        rating=share_rating(share, at_least),
        share=share,
        share_target=at_least,
        events=tuple(evidence),
        incident=incident,
    )


def _fired(d: _Drill, inject_id: str) -> LogEvent | None:
    return next((e for e in d.fired if e.payload.get("inject") == inject_id), None)


def _first_message(d: _Drill, after: str | None, key: str | None, target: timedelta | None) -> Measurement:
    if after is not None:
        fired = _fired(d, after)
        label = f"Inject {after} to the first message published"
        if after in d.skipped:
            return _skipped(d, label, after, target, key)
        if fired is None:
            scheduled = _scheduled(d, after)
            return _timed(label, None, target, [Evidence(scheduled, f"inject {after} never fired")])
        incident = key or d.incident_key(fired.payload.get("incident")) or None
        return _first_after(
            d, label, fired, start=d.fired_time(fired), what=f"inject {after} fired", key=incident, target=target
        )
    label = "Drill start to the first message published"
    if d.started is None:
        return _timed(label, None, target, [Evidence(timedelta(0), "the drill never started")])
    return _first_after(d, label, d.started, start=timedelta(0), what="the drill started", key=key, target=target)


def _first_after(
    d: _Drill,
    label: str,
    origin: LogEvent,
    *,
    start: timedelta,
    what: str,
    key: str | None,
    target: timedelta | None,
) -> Measurement:
    evidence = [Evidence(start, what)]
    first = _first_published(d, origin, key)
    if first is None:
        evidence.append(Evidence(d.end, "nothing published by the end"))
        return _timed(label, None, target, evidence, start=start, incident=key)
    at = d.t(first)
    evidence.append(Evidence(at, f"{d.message_words(first.payload['message'])} published by {first.actor}"))
    return _timed(label, max(at - start, timedelta(0)), target, evidence, start=start, incident=key)


def _skipped(d: _Drill, label: str, inject: str, target: timedelta | None, key: str | None) -> Measurement:
    """An inject the controller skipped (a jump passed it): the players never had it, so nothing is measured and
    nothing rated."""
    e = d.skipped[inject]
    jump = next(
        (j for j in reversed(d.own) if j.kind == Kind.DRILL_JUMPED and j.position < e.position),
        None,
    )
    how = f" (a jump to inject {jump.payload.get('inject')})" if jump is not None else ""
    at = _seconds(e.payload.get("drill_seconds"))
    evidence = [
        Evidence(timedelta(seconds=at) if at is not None else d.t(e), f"inject {inject} skipped by {e.actor}{how}")
    ]
    return Measurement(
        label=label,
        value=None,
        target=target,
        met=None,
        evidence="; ".join(str(x) for x in evidence),
        rating=NOT_RATED,
        start=_scheduled(d, inject),
        events=tuple(evidence),
        incident=key,
        outcome=NOT_MEASURED,
        skipped=True,
    )


def _first_published(d: _Drill, origin: LogEvent, key: str | None) -> LogEvent | None:
    """The first publication after ``origin`` in the log (on the incident ``key``, else on any of the drill's)."""
    return next(
        (
            e
            for e in d.published
            if e.position >= origin.position and e.at >= origin.at and d.in_scope(e.payload.get("incident"), key)
        ),
        None,
    )


def _scheduled(d: _Drill, inject_id: str) -> timedelta:
    try:
        return parse_offset(d.scenario.inject(inject_id).at)
    except KeyError:
        return timedelta(0)


def _approval_latencies(d: _Drill, key: str | None, target: timedelta | None) -> list[Measurement]:
    out = []
    submitted: list[LogEvent] = [
        e for e in d.events if e.kind == Kind.MESSAGE_SUBMITTED and e.payload.get("message") in d.messages
    ]
    for s in submitted:
        m = d.messages[s.payload["message"]]
        if not d.in_scope(m.incident, key):
            continue
        needed = d.playbooks.get(d.playbook_of.get(m.incident, ""), PlaybookTerms(timedelta(hours=1))).approvals_needed
        version, hash_ = s.payload.get("version"), s.payload.get("hash")
        label = f"{m.id} v{version} ({m.type}) submitted to approved"
        start = d.t(s)
        evidence = [Evidence(start, f"{m.id} v{version} submitted by {s.actor}")]
        approvals = 0
        decided: LogEvent | None = None
        broke_glass: LogEvent | None = None
        for e in d.events:
            if e.position <= s.position or e.payload.get("message") != m.id:
                continue
            if e.kind == Kind.MESSAGE_APPROVED and e.payload.get("hash") == hash_:
                approvals += 1
                evidence.append(Evidence(d.t(e), f"approved by {e.actor}"))
                if approvals >= needed:
                    decided = e
                    break
            elif e.kind == Kind.MESSAGE_RETURNED and e.payload.get("hash") == hash_:
                evidence.append(Evidence(d.t(e), f"returned by {e.actor}: {e.payload.get('comment', '')}"))
                label = f"{m.id} v{version} ({m.type}) submitted to returned"
                decided = e
                break
            elif e.kind == Kind.MESSAGE_PUBLISHED and e.payload.get("break_glass"):
                evidence.append(Evidence(d.t(e), f"published with break glass by {e.actor}, without approval"))
                broke_glass = e
                break
            elif e.kind in (Kind.MESSAGE_EDITED, Kind.MESSAGE_SUBMITTED):
                break  # a newer version replaced it before it was decided
        if broke_glass is not None:
            continue  # no approval to time: listed with the break-glass uses
        if decided is None:
            if not any(
                e.kind in (Kind.MESSAGE_EDITED, Kind.MESSAGE_SUBMITTED)
                and e.position > s.position
                and e.payload.get("message") == m.id
                for e in d.events
            ):
                evidence.append(Evidence(d.end, "not approved by the end"))
                out.append(_timed(label, None, target, evidence, start=start, incident=d.incident_key(m.incident)))
            continue
        value = d.t(decided) - start
        out.append(_timed(label, value, target, evidence, start=start, incident=d.incident_key(m.incident)))
    return out


def _corrections(d: _Drill, key: str | None, target: timedelta | None) -> list[Measurement]:
    declared = [
        e for e in d.events if e.kind == Kind.FALSE_ALARM_DECLARED and d.in_scope(e.payload.get("incident"), key)
    ]
    label = "Wrong message published to the correction confirmed on every channel"
    if not declared:
        published = [e for e in d.published if d.in_scope(e.payload.get("incident"), key)]
        evidence = [Evidence(d.end, "no false alarm was declared: nothing was corrected")]
        start = d.t(published[0]) if published else None
        return [_timed(label, None, target, evidence, start=start, incident=key)]
    out = []
    for fa in declared:
        p = fa.payload
        references = [str(r) for r in p.get("references") or ()]
        wrong = next((e for e in d.published if e.payload.get("message") in references), None)
        evidence = []
        start = d.t(wrong) if wrong else d.t(fa)
        if wrong is not None:
            evidence.append(Evidence(start, f"{d.message_words(wrong.payload['message'])} published by {wrong.actor}"))
        clicked = p.get("clicked_at")
        evidence.append(
            Evidence(
                d.t(datetime.fromisoformat(clicked)) if clicked else d.t(fa), f"false alarm declared by {fa.actor}"
            )
        )
        correction = str(p.get("correction") or "")
        fix = next((e for e in d.published if e.payload.get("message") == correction), None)
        if fix is not None:
            evidence.append(Evidence(d.t(fix), f"correction {correction} published by {fix.actor}"))
        cancel = next((e for e in d.published if e.payload.get("message") == p.get("cancel")), None)
        if cancel is not None:
            evidence.append(Evidence(d.t(cancel), f"cancel {p.get('cancel')} published by {cancel.actor}"))
        confirmed = _confirmed(d, fa, correction, fix)
        incident = d.incident_key(p.get("incident"))
        if confirmed is None:
            evidence.append(Evidence(d.end, "the correction was not confirmed on every channel by the end"))
            out.append(_timed(label, None, target, evidence, start=start, incident=incident))
            continue
        at, how = confirmed
        evidence.append(Evidence(at, how))
        evidence.sort(key=lambda e: e.at)
        out.append(_timed(label, max(at - start, timedelta(0)), target, evidence, start=start, incident=incident))
    return out


def _confirmed(d: _Drill, fa: LogEvent, correction: str, fix: LogEvent | None) -> tuple[timedelta, str] | None:
    for e in d.events:
        if (
            e.kind == Kind.FALSE_ALARM_CORRECTED
            and e.payload.get("correction") == correction
            and e.position >= fa.position
        ):
            return d.t(datetime.fromisoformat(e.payload["confirmed_at"])), "correction confirmed on every channel"
    if fix is None:
        return None
    rows = [str(r["row"]) for r in fix.payload.get("outbox") or ()]
    sent: dict[str, LogEvent] = {}
    for e in d.events:
        if e.kind == Kind.OUTBOX_SENT and e.payload.get("row") in rows:
            sent.setdefault(str(e.payload["row"]), e)
    if not rows or any(r not in sent for r in rows):
        return None
    last = max(sent.values(), key=lambda e: e.position)
    return d.t(last), f"correction's last channel ({d.account(d.rows[str(last.payload['row'])][1])}) confirmed sent"


def _cadence(d: _Drill, key: str | None, at_least: float) -> list[Measurement]:
    out = []
    for k, incident in sorted(d.incidents.items()):
        if key is not None and k != key:
            continue
        terms = d.playbooks.get(d.playbook_of.get(incident, ""))
        if terms is None:
            continue
        every = terms.update_every
        label = f"Updates on {k} every {span_text(every)} (longest interval)"
        pubs = [e for e in d.published if e.payload.get("incident") == incident]
        if not pubs:
            evidence = [Evidence(d.end, "nothing published on it by the end")]
            out.append(_shared(label, 0, 1, at_least, evidence, target=every, incident=k))
            continue
        kept = missed = 0
        evidence = []
        times = []
        ended = False  # an ending message (cancel, all-clear) stops the updates
        for e in pubs:
            times.append(d.t(e))
            evidence.append(Evidence(times[-1], f"{d.message_words(e.payload['message'])} published"))
            if d.messages[e.payload["message"]].type in ENDING_TYPES:
                ended = True
                break
        if not ended:
            times.append(d.end)  # still going at the end: the due moments it passed are missed
        gaps = [b - a for a, b in itertools.pairwise(times)]
        for n, gap in enumerate(gaps):
            if n == len(gaps) - 1 and not ended:
                missed += max(0, math.ceil(gap / every) - 1)
            elif gap <= every:
                kept += 1
            else:
                missed += math.ceil(gap / every) - 1
                evidence.append(Evidence(times[n + 1], f"update {span_text(gap - every)} late"))
        if not ended and gaps and gaps[-1] > every:
            evidence.append(Evidence(d.end, f"no update in the last {span_text(gaps[-1])}"))
        evidence.sort(key=lambda e: e.at)
        longest = max(gaps, default=timedelta(0))
        out.append(_shared(label, kept, kept + missed, at_least, evidence, value=longest, target=every, incident=k))
    return out


def _comment_key(d: _Drill, fired: LogEvent) -> set[str]:
    item = fired.payload.get("item")
    keys = {str(item)} if item is not None else set()
    if item is not None and str(item) in d.item_keys:
        keys.add(d.item_keys[str(item)])
    return keys


def _triage(d: _Drill, after: str | None, key: str | None, target: timedelta | None) -> list[Measurement]:
    comments = [
        e
        for e in d.fired
        if e.payload.get("kind") == InjectKind.COMMENT
        and (e.payload.get("inject") == after if after else bool(e.payload.get("urgent")))
        and (key is None or e.payload.get("incident") in (None, d.incidents.get(key)))
    ]
    skipped = [
        i
        for i in d.scenario.injects
        if i.id in d.skipped
        and i.kind == InjectKind.COMMENT
        and (i.id == after if after else bool(i.urgent))
        and (key is None or i.incident in (None, key))
    ]
    if not comments and not skipped:
        what = f"inject {after} never fired" if after else "no urgent comment was injected"
        return [_timed("Urgent comments triaged", None, target, [Evidence(d.end, what)], incident=key)]
    return [_triage_one(d, fired, target) for fired in comments] + [
        _skipped(d, f"{'Urgent comment' if i.urgent else 'Comment'} {i.id} to its triage decision", i.id, target, key)
        for i in skipped
    ]


def _triage_one(d: _Drill, fired: LogEvent, target: timedelta | None) -> Measurement:
    inject = str(fired.payload.get("inject"))
    start = d.fired_time(fired)
    keys = _comment_key(d, fired)
    # Every comment's triage is timed (the per-inject responses list them all); only an urgent one says so.
    label = f"{'Urgent comment' if fired.payload.get('urgent') else 'Comment'} {inject} to its triage decision"
    evidence = [Evidence(start, f"comment {inject} arrived ({fired.payload.get('language', '')})".replace(" ()", ""))]
    decision = next(
        (
            e
            for e in d.events
            if e.kind == Kind.TRIAGE_SET and str(e.payload.get("item")) in keys and e.position >= fired.position
        ),
        None,
    )
    incident = d.incident_key(fired.payload.get("incident")) or None
    if decision is None:
        evidence.append(Evidence(d.end, "not triaged by the end"))
        return _timed(label, None, target, evidence, start=start, incident=incident)
    at = d.t(decision)
    evidence.append(Evidence(at, f"marked {decision.payload.get('status')} by {decision.actor}"))
    return _timed(label, max(at - start, timedelta(0)), target, evidence, start=start, incident=incident)


def _checklist(d: _Drill, key: str | None, at_least: float) -> list[Measurement]:
    out = []
    for k, incident in sorted(d.incidents.items()):
        if key is not None and k != key:
            continue
        terms = d.playbooks.get(d.playbook_of.get(incident, ""))
        if terms is None or not terms.checklist:
            continue
        opened = d.opened_at.get(incident)
        origin = d.t(opened) if opened else timedelta(0)
        done: dict[int, LogEvent] = {}
        for e in d.events:
            if e.kind == Kind.STEP_DONE and e.payload.get("incident") == incident and e.at <= d.end_wall:
                done.setdefault(int(e.payload["step"]), e)
        evidence = []
        for n, (due, what) in enumerate(terms.checklist, start=1):
            step = done.get(n)
            if step is None:
                evidence.append(Evidence(d.end, f"step {n} not done: {what}"))
                continue
            at = d.t(step)
            late = at - (origin + due)
            when = f", {span_text(late)} after it was due" if late > timedelta(0) else ""
            evidence.append(Evidence(at, f"step {n} done by {step.actor}{when}: {what}"))
        evidence.sort(key=lambda e: e.at)
        label = f"Checklist of {k} done by the end"
        out.append(_shared(label, len(done), len(terms.checklist), at_least, evidence, incident=k))
    return out


def _outbox_recovery(d: _Drill, after: str | None, target: timedelta | None) -> list[Measurement]:
    outages = [
        e
        for e in d.fired
        if e.payload.get("kind") in (InjectKind.CHANNEL_OUTAGE, InjectKind.NETWORK_LOSS)
        and (after is None or e.payload.get("inject") == after)
    ]
    skipped = [
        i
        for i in d.scenario.injects
        if i.id in d.skipped
        and i.kind in (InjectKind.CHANNEL_OUTAGE, InjectKind.NETWORK_LOSS)
        and (after is None or i.id == after)
    ]
    if not outages and not skipped:
        what = f"inject {after} never fired" if after else "no outage was injected"
        return [_timed("Held messages delivered after the outage", None, target, [Evidence(d.end, what)])]
    return [_recovery_one(d, o, target) for o in outages] + [
        _skipped(d, f"End of outage {i.id} to every held message delivered", i.id, target, None) for i in skipped
    ]


def _recovery_one(d: _Drill, outage: LogEvent, target: timedelta | None) -> Measurement:
    p = outage.payload
    inject = str(p.get("inject"))
    began = d.fired_time(outage)
    until = _seconds(p.get("until_seconds"))
    ends = timedelta(seconds=until) if until is not None else began
    named = {str(a) for a in ([p["account"]] if p.get("account") else p.get("accounts") or ())}
    label = f"End of outage {inject} to every held message delivered"
    what = "channel outage" if p.get("kind") == InjectKind.CHANNEL_OUTAGE else "network loss"
    evidence = [Evidence(began, f"{what} {inject} began"), Evidence(ends, f"{what} {inject} over")]
    sent: dict[str, LogEvent] = {}
    for e in d.events:
        if e.kind == Kind.OUTBOX_SENT and e.payload.get("row") in d.rows:
            sent.setdefault(str(e.payload["row"]), e)
    held = []
    for e in d.published:
        if d.t(e) > ends:
            continue  # published after the outage: nothing held for it
        for r in e.payload.get("outbox") or ():
            row, account = str(r["row"]), str(r.get("account") or "")
            if named and account not in named and d.account(account) not in named:
                continue
            got = sent.get(row)
            if got is None or d.t(got) > began:
                held.append((row, account, got))
    if not held:
        evidence.append(Evidence(ends, "nothing was held"))
        return _timed(label, timedelta(0), target, evidence, start=ends)
    last = timedelta(0)
    for row, account, got in held:
        if got is None:
            evidence.append(Evidence(d.end, f"{d.message_words(d.rows[row][0])} to {d.account(account)} never sent"))
            return _timed(label, None, target, sorted(evidence, key=lambda e: e.at), start=ends)
        at = d.t(got)
        evidence.append(Evidence(at, f"{d.message_words(d.rows[row][0])} sent to {d.account(account)}"))
        last = max(last, at - ends)
    return _timed(label, last, target, sorted(evidence, key=lambda e: e.at), start=ends)


def _inject_responses(d: _Drill) -> list[Measurement]:
    """Every fired inject to the players' first response: a comment to its triage, an outage to what it held,
    anything else on an incident to the first message published after it that is its own.

    A message answers one inject: the first message published after an inject is that inject's, so a later inject
    whose first message after it is the same one (the alert for the warning went out after the sheriff's call came
    in) gets none of its own, not the earlier inject's. An inject a first-message objective measures is timed as
    that objective times it, to any first message after it, so the two never disagree."""
    targets: dict[str, timedelta] = {}
    for o in d.scenario.objectives:
        if o.expect.after and o.expect.within:
            targets.setdefault(o.expect.after, parse_duration(o.expect.within))
    as_objective = {
        o.expect.after for o in d.scenario.objectives if o.expect.measure is Measure.FIRST_MESSAGE and o.expect.after
    }
    answered: dict[int, str] = {}  # a publication's log position -> the inject it answered
    out = []
    for fired in sorted([*d.fired, *d.skipped.values()], key=lambda e: e.position):
        inject = str(fired.payload.get("inject"))
        target = targets.get(inject)
        if fired.kind == Kind.DRILL_INJECT_SKIPPED:
            what_kind = d.scenario.inject(inject).kind
            label = {
                InjectKind.COMMENT: f"Comment {inject} to its triage decision",
                InjectKind.CHANNEL_OUTAGE: f"End of outage {inject} to every held message delivered",
                InjectKind.NETWORK_LOSS: f"End of outage {inject} to every held message delivered",
            }.get(what_kind, f"Inject {inject} to the first message published")
            if what_kind == InjectKind.COMMENT and d.scenario.inject(inject).urgent:
                label = "Urgent " + label[0].lower() + label[1:]
            out.append(_skipped(d, label, inject, target, None))
            continue
        kind = fired.payload.get("kind")
        if kind == InjectKind.COMMENT:
            out.append(_triage_one(d, fired, target))
        elif kind in (InjectKind.CHANNEL_OUTAGE, InjectKind.NETWORK_LOSS):
            out.append(_recovery_one(d, fired, target))
        else:
            key = d.incident_key(fired.payload.get("incident")) or None
            label = f"Inject {inject} to the first message published"
            start = d.fired_time(fired)
            what = f"inject {inject} fired"
            first = _first_published(d, fired, key)
            earlier = answered.get(first.position) if first is not None else None
            if first is not None and earlier is None:
                answered[first.position] = inject
            if first is not None and earlier is not None and inject not in as_objective:
                words = d.message_words(first.payload["message"])
                evidence = [
                    Evidence(start, what),
                    Evidence(d.t(first), f"{words} published by {first.actor}, the response to inject {earlier}"),
                ]
                m = _timed(label, None, target, evidence, start=start, incident=key)
                out.append(replace(m, outcome="none of its own"))
                continue
            out.append(_first_after(d, label, fired, start=start, what=what, key=key, target=target))
    return out


def _outages(d: _Drill) -> list[tuple[timedelta, timedelta, str]]:
    out = []
    for e in d.fired:
        p = e.payload
        if p.get("kind") not in (InjectKind.CHANNEL_OUTAGE, InjectKind.NETWORK_LOSS):
            continue
        until = _seconds(p.get("until_seconds"))
        began = d.fired_time(e)
        ends = timedelta(seconds=until) if until is not None else began
        what = f"{d.account(str(p['account']))} out" if p.get("account") else "network lost"
        out.append((began, ends, what))
    return out


def _break_glass(d: _Drill) -> list[str]:
    return [
        f"{offset_text(d.t(e))} {d.message_words(e.payload['message'])} v{e.payload.get('version')} published with "
        f"break glass by {e.actor}: {e.payload.get('reason', '')}"
        for e in d.published
        if e.payload.get("break_glass")
    ]


def _outbox_stories(d: _Drill) -> list[OutboxStory]:
    steps: dict[str, list[Evidence]] = {}
    failures: dict[str, int] = {}
    delivered: dict[str, bool] = {}
    dead: dict[str, bool] = {}
    for e in d.events:
        p = e.payload
        rows = [str(r) for r in p.get("rows") or ()] if "rows" in p else [str(p.get("row"))]
        for row in rows:
            if row not in d.rows:
                continue
            at = d.t(e)
            if e.kind == Kind.OUTBOX_FAILED:
                failures[row] = failures.get(row, 0) + 1
                dead[row] = bool(p.get("dead"))
                word = "dead" if p.get("dead") else "failed"
                steps.setdefault(row, []).append(Evidence(at, f"{word}: {p.get('reason', '')}"))
            elif e.kind == Kind.OUTBOX_UNKNOWN:
                failures[row] = failures.get(row, 0) + 1
                steps.setdefault(row, []).append(Evidence(at, f"outcome unknown: {p.get('reason', '')}"))
            elif e.kind == Kind.OUTBOX_RETRIED and row in steps:
                dead[row] = False
                steps[row].append(Evidence(at, f"retried by {e.actor}"))
            elif e.kind == Kind.OUTBOX_SENT and row in steps and not delivered.get(row):
                delivered[row] = True
                steps[row].append(Evidence(at, "sent"))
    out = []
    for row, evidence in steps.items():
        message, account = d.rows[row]
        n = failures.get(row, 0)
        tries = f"{n} failure" + ("s" if n != 1 else "")
        if delivered.get(row):
            outcome = f"delivered after {tries}"
        elif dead.get(row):
            outcome = f"dead after {tries}: never delivered"
        else:
            outcome = f"not delivered by the end ({tries})"
        out.append(
            OutboxStory(
                row, d.account(account), d.message_words(message), tuple(evidence), outcome, bool(delivered.get(row))
            )
        )
    return out


def _overview(d: _Drill) -> Overview:
    loaded = d.loaded
    controllers: list[str] = []
    for e in d.own:
        if e.kind in CONTROL_KINDS | {Kind.DRILL_LOADED, Kind.DRILL_INJECT_FIRED} and e.actor not in controllers:
            if e.kind == Kind.DRILL_INJECT_FIRED and not e.payload.get("by_hand"):
                continue  # the clock fired it, as the system
            controllers.append(e.actor)
    if d.started is not None and d.started.actor in controllers:
        controllers.remove(d.started.actor)
        controllers.insert(0, d.started.actor)
    players: list[str] = []
    system = {"system", "outbox"}  # the feeds' and the outbox worker's own events
    for e in d.events:
        if e.kind.startswith("drill.") or e.actor in controllers or e.actor.casefold() in system:
            continue
        if (
            e.payload.get("incident") in d.incident_ids
            or e.payload.get("message") in d.messages
            or e.kind == Kind.TRIAGE_SET
            or (e.kind == Kind.OUTBOX_RETRIED and e.payload.get("row") in d.rows)
        ) and e.actor not in players:
            players.append(e.actor)
    fired = {str(e.payload.get("inject")): e for e in d.fired}
    skipped = {str(e.payload.get("inject")) for e in d.own if e.kind == Kind.DRILL_INJECT_SKIPPED}
    injects = []
    for i in d.scenario.injects:
        f = fired.get(i.id)
        injects.append(
            InjectRow(
                i.id,
                i.kind.value,
                i.title or _inject_words(i),
                parse_offset(i.at),
                d.fired_time(f) if f else None,
                i.id in skipped and f is None,
                bool(f.payload.get("by_hand")) if f else False,
                str(f.payload.get("detail") or "") if f else "",
            )
        )
    status = "ended" if d.ended else ("running" if d.clock.running else ("paused" if d.started else "loaded"))
    started = d.started
    return Overview(
        name=d.scenario.name,
        scenario_id=d.scenario.id,
        version=str(loaded.payload.get("version") or d.scenario.version),
        source=str(loaded.payload.get("source") or ""),
        summary=d.scenario.summary,
        scope=d.scenario.scope,
        status=status,
        loaded_at=loaded.at,
        loaded_by=loaded.actor,
        started_at=started.at if started else None,
        ended_at=d.ended.at if d.ended else None,
        length=d.end,
        planned=d.scenario.length,
        compression=float(started.payload.get("compression", 1.0)) if started else 1.0,
        controllers=controllers,
        players=players,
        incidents=dict(d.incidents),
        playbooks=d.scenario.playbooks,
        injects=injects,
        scenario=d.scenario,
        timezone=d.scenario.timezone
        or next((str(e.payload["timezone"]) for e in d.opened_at.values() if e.payload.get("timezone")), "UTC"),
    )


def _inject_words(inject: Any) -> str:
    kind = inject.kind
    if kind == InjectKind.FEED_ITEM:
        return str(inject.headline)
    if kind == InjectKind.CAP_ALERT:
        return f"CAP alert {inject.file}"
    if kind == InjectKind.COMMENT:
        urgent = "urgent, " if inject.urgent else ""
        return f"Comment ({urgent}{inject.language}): {inject.text}"
    if kind == InjectKind.NOTE:
        return f"Note from {inject.source}: {inject.text}"
    if kind == InjectKind.CHANNEL_OUTAGE:
        return f"{inject.account} fails for {inject.lasting}"
    return f"Network lost for {inject.lasting}"


_LANES = {
    Kind.DRILL_INJECT_FIRED: "Injects",
    Kind.MESSAGE_SUBMITTED: "Approvals",
    Kind.MESSAGE_APPROVED: "Approvals",
    Kind.MESSAGE_RETURNED: "Approvals",
    Kind.MESSAGE_PUBLISHED: "Published",
    Kind.TRIAGE_SET: "Triage",
    Kind.STEP_DONE: "Checklist",
    Kind.FALSE_ALARM_DECLARED: "False alarm",
    Kind.FALSE_ALARM_CORRECTED: "False alarm",
    Kind.OUTBOX_FAILED: "Outbox",
    Kind.OUTBOX_RETRIED: "Outbox",
}
LANES = ("Injects", "Published", "Approvals", "Triage", "Checklist", "False alarm", "Outbox", "Control")


def _timeline(d: _Drill) -> list[TimelineEntry]:
    out = []
    triaged = {k for f in d.fired for k in _comment_key(d, f)}
    for e in d.events:
        p = e.payload
        lane = _LANES.get(e.kind)
        if e.kind in CONTROL_KINDS and p.get("drill") == d.id and e.kind != Kind.DRILL_STARTED:
            lane = "Control"
        if lane is None:
            continue
        if e.kind.startswith("drill.") and p.get("drill") != d.id:
            continue
        if e.kind == Kind.TRIAGE_SET and str(p.get("item")) not in triaged:
            continue
        if lane in ("Approvals", "Published") and p.get("message") not in d.messages:
            continue
        if lane == "Checklist" and p.get("incident") not in d.incident_ids:
            continue
        if lane == "False alarm" and p.get("incident") not in d.incident_ids:
            continue
        if lane == "Outbox" and str(p.get("row")) not in d.rows:
            continue
        at = d.fired_time(e) if e.kind == Kind.DRILL_INJECT_FIRED else d.t(e)
        out.append(TimelineEntry(at, lane, _timeline_label(d, e), e.kind))
    return out


def _timeline_label(d: _Drill, e: LogEvent) -> str:
    p = e.payload
    if e.kind == Kind.DRILL_INJECT_FIRED:
        return str(p.get("inject"))
    if e.kind in (Kind.MESSAGE_SUBMITTED, Kind.MESSAGE_APPROVED, Kind.MESSAGE_RETURNED, Kind.MESSAGE_PUBLISHED):
        m = d.messages[p["message"]]
        verb = {
            Kind.MESSAGE_SUBMITTED: "submitted",
            Kind.MESSAGE_APPROVED: "approved",
            Kind.MESSAGE_RETURNED: "returned",
            Kind.MESSAGE_PUBLISHED: "published",
        }[e.kind]
        return f"{m.type} {verb}" if e.kind != Kind.MESSAGE_PUBLISHED else m.type
    if e.kind == Kind.TRIAGE_SET:
        return str(p.get("status"))
    if e.kind == Kind.STEP_DONE:
        return f"step {p.get('step')}"
    if e.kind == Kind.FALSE_ALARM_DECLARED:
        return "declared"
    if e.kind == Kind.FALSE_ALARM_CORRECTED:
        return "corrected"
    if e.kind == Kind.OUTBOX_FAILED:
        return "dead" if p.get("dead") else "failed"
    if e.kind == Kind.OUTBOX_RETRIED:
        return "retried"
    return e.kind.removeprefix("drill.").replace("_", " ")

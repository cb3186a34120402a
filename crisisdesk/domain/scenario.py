"""The drill scenario format: YAML in, a checked ``Scenario`` or problems with file, line and column out.

A scenario is what an exercise controller runs: the exercise's name, scope and objectives (each tied to one
measurable expectation), the playbooks in play and the EXERCISE incidents the drill opens, the participants' roles,
and the Master Scenario Events List: injects at times relative to the start (``T+0``, ``T+5m``, ``T+1h30m``).
``scenarios/README.md`` documents every key. Read like a playbook (``crisisdesk.domain.playbook.load_yaml``: bounded,
aliases refused, every value's position kept).

Who checks what: ``parse_scenario`` checks the schema (keys, kinds, times, durations). ``check_references`` checks
what needs only the scenario: ids and keys used once, the incidents and injects that injects and objectives name
(an ``after`` of a kind its measure counts after), time targets where a measure needs one, injects and outages
inside the duration, outage accounts among the declared ``accounts``, a CAP file's path inside the scenario's
folder; given the playbooks and the exercise accounts' names it checks those too (the playbooks exist, the facts are
theirs and readable, the accounts are exercise accounts). ``validate_scenario`` is both, from the text. This module
does no I/O: the drill service (``DrillService.validate``) reads the scenario and its CAP files, checks that each
CAP file exists and is a readable CAP alert, and checks the playbooks, facts and outage accounts against this
workstation's library and channel accounts.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crisisdesk.domain.facts import BadFact, parse_duration
from crisisdesk.domain.messages import fact_problem
from crisisdesk.domain.playbook import Path_, Playbook, Positions, Problem, _describe, load_yaml, parse_offset
from crisisdesk.domain.roles import Role

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r}: use lower-case letters, digits and '-', starting with a letter or digit")
    return value


# A drill lasts hours, a functional exercise a few days: anything past this is a typo, and past what a wall clock can
# add to today (a datetime ends in the year 9999) it would stop the drill's clock.
LONGEST = timedelta(days=31)


def _check_duration(value: str) -> str:
    try:
        length = parse_duration(value)
    except BadFact as exc:
        raise ValueError(str(exc)) from None
    if length > LONGEST:
        raise ValueError(f"{value!r} is longer than a drill may last ({LONGEST.days} days)")
    return value


def duration(text: str) -> timedelta:
    """A checked duration ("20m", "1h30m") as a timedelta."""
    return parse_duration(text)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InjectKind(enum.StrEnum):
    FEED_ITEM = "feed-item"  # an item arriving through the drill's exercise-only feed source
    CAP_ALERT = "cap-alert"  # a CAP 1.2 alert arriving through the same source (parsed by the real CAP reader)
    COMMENT = "comment"  # a simulated public comment or question, into the triage queue
    NOTE = "note"  # a note for the players: a phone call, a request from the incident commander
    CHANNEL_OUTAGE = "channel-outage"  # an exercise account fails every send for a while
    NETWORK_LOSS = "network-loss"  # every channel of the drill unreachable for a while (the outbox holds)


class _Inject(_Model):
    id: str
    at: str = Field(description="when, from the drill's start: T+0, T+5m, T+1h30m")
    incident: str | None = Field(default=None, description="the key of the drill incident it concerns")
    title: str | None = Field(default=None, description="a short line for the controller's list")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        try:
            offset = parse_offset(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time from the start: write T+0, T+5m or T+1h30m") from None
        if offset > LONGEST:
            raise ValueError(f"{value!r} is later than a drill may last ({LONGEST.days} days)")
        return value

    @property
    def offset(self) -> timedelta:
        return parse_offset(self.at)


class FeedItemInject(_Inject):
    kind: Literal[InjectKind.FEED_ITEM]
    headline: str
    text: str = ""
    link: str | None = None
    author: str | None = None


class CapAlertInject(_Inject):
    kind: Literal[InjectKind.CAP_ALERT]
    file: str = Field(description="a CAP 1.2 XML file, relative to the scenario file")


class CommentInject(_Inject):
    kind: Literal[InjectKind.COMMENT]
    text: str
    author: str = "a resident"
    group: str = Field(default="residents", description="the stakeholder group, as the monitoring rules name them")
    language: str = "en"
    urgent: bool = False


class NoteInject(_Inject):
    kind: Literal[InjectKind.NOTE]
    to: Role = Field(default=Role.COMMUNICATOR, description="the role it is for")
    source: str = Field(default="controller", description="who it comes from: 'a phone call from the sheriff'")
    text: str


class ChannelOutageInject(_Inject):
    kind: Literal[InjectKind.CHANNEL_OUTAGE]
    account: str = Field(description="the exercise channel account that fails")
    lasting: str = Field(alias="for", description="how long, in drill time: 20m")

    @field_validator("lasting")
    @classmethod
    def _lasting(cls, value: str) -> str:
        return _check_duration(value)


class NetworkLossInject(_Inject):
    kind: Literal[InjectKind.NETWORK_LOSS]
    lasting: str = Field(alias="for", description="how long, in drill time: 15m")

    @field_validator("lasting")
    @classmethod
    def _lasting(cls, value: str) -> str:
        return _check_duration(value)


Inject = Annotated[
    FeedItemInject | CapAlertInject | CommentInject | NoteInject | ChannelOutageInject | NetworkLossInject,
    Field(discriminator="kind"),
]


class Measure(enum.StrEnum):
    """What an objective's expectation measures, from the event log."""

    FIRST_MESSAGE = "first-message"  # from an inject to the first message published for its incident
    APPROVAL_LATENCY = "approval-latency"  # from each submission to its approval
    CORRECTION = "correction"  # from a wrong message published to its correction confirmed on every channel
    CADENCE = "cadence"  # updates published on the playbook's cadence
    TRIAGE = "triage"  # from each urgent comment's arrival to its triage decision
    CHECKLIST = "checklist"  # checklist steps done by the drill's end
    OUTBOX_RECOVERY = "outbox-recovery"  # from an outage's end to every held row delivered


class Expectation(_Model):
    measure: Measure
    after: str | None = Field(default=None, description="the inject measured from (first-message, triage)")
    within: str | None = Field(default=None, description="the time target: 10m")
    incident: str | None = None
    at_least: float | None = Field(default=None, ge=0, le=1, description="checklist, cadence: share kept, 0.8")

    @field_validator("within")
    @classmethod
    def _within(cls, value: str | None) -> str | None:
        return None if value is None else _check_duration(value)


class Objective(_Model):
    id: str
    title: str
    capability: str = Field(default="Public Information and Warning", description="the HSEEP core capability")
    expect: Expectation

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value)


class DrillIncident(_Model):
    key: str = Field(description="how injects and objectives name it")
    playbook: str
    title: str | None = None
    facts: dict[str, str] = Field(default_factory=dict)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return _check_id(value)


class Participant(_Model):
    role: Role
    who: str = Field(description="the seat or team: 'PIO desk', 'Incident commander'")
    count: int = Field(default=1, ge=1, le=100)


class Scenario(_Model):
    id: str
    name: str
    version: str = "1"
    summary: str
    scope: str = "Public information and warning: drafting, approval, publication and public response"
    timezone: str | None = None
    duration: str = Field(description="the planned length, in drill time: 1h")
    incidents: list[DrillIncident] = Field(min_length=1)
    # The exercise channel accounts the drill expects (players publish to them, outages name them); when given,
    # an outage may name only these, and loading checks each is an exercise account on this workstation.
    accounts: list[str] = Field(default_factory=list)
    participants: list[Participant] = Field(default_factory=list)
    objectives: list[Objective] = Field(min_length=1)
    injects: list[Inject] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_id(value)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        return _check_duration(value)

    @property
    def length(self) -> timedelta:
        return parse_duration(self.duration)

    @property
    def playbooks(self) -> list[str]:
        return sorted({i.playbook for i in self.incidents})

    def inject(self, inject_id: str) -> Any:
        for inject in self.injects:
            if inject.id == inject_id:
                return inject
        raise KeyError(inject_id)


# -- reading and checking ----------------------------------------------------------------------------------------

_KINDS = ", ".join(k.value for k in InjectKind)
_TAGS = frozenset(k.value for k in InjectKind)

# What each measure is counted after, and whether it needs a time target.
_AFTER_KINDS: dict[Measure, frozenset[InjectKind]] = {
    # from the inject to the first message published (without one: from the drill's start)
    Measure.FIRST_MESSAGE: frozenset({InjectKind.FEED_ITEM, InjectKind.CAP_ALERT, InjectKind.NOTE, InjectKind.COMMENT}),
    Measure.TRIAGE: frozenset({InjectKind.COMMENT}),  # that comment (without one: every urgent comment)
    # from that outage's end (without one: each outage's end) to every held row delivered
    Measure.OUTBOX_RECOVERY: frozenset({InjectKind.CHANNEL_OUTAGE, InjectKind.NETWORK_LOSS}),
}
_TIMED = frozenset(
    {Measure.FIRST_MESSAGE, Measure.APPROVAL_LATENCY, Measure.CORRECTION, Measure.TRIAGE, Measure.OUTBOX_RECOVERY}
)
_SHARED = frozenset({Measure.CADENCE, Measure.CHECKLIST})  # measured as a share kept: at_least
# Measures of one incident: with several incidents, the expectation (or the inject it follows) names it.
_OF_AN_INCIDENT = frozenset({Measure.FIRST_MESSAGE, Measure.CADENCE, Measure.CORRECTION, Measure.CHECKLIST})
# Injects that arrive for one incident (its feed item raises an alert there; its comment is triaged there).
_FOR_AN_INCIDENT = frozenset({InjectKind.FEED_ITEM, InjectKind.CAP_ALERT, InjectKind.COMMENT})


def _schema_problem(error: Any, pos: Positions, source: str) -> Problem:
    """One pydantic error as a problem at the value it is about, in the file's own words: the union's tag (an
    inject's kind) is no key, so it is left out of the path."""
    path: Path_ = tuple(
        p for p in error["loc"] if not str(p).startswith("function-") and not (isinstance(p, str) and p in _TAGS)
    )
    loc = ".".join(str(p) for p in path)
    kind = error["type"]
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", error.get("input"))
        where = pos.at((*path, "kind"))
        return Problem(source, *where, f"{loc}.kind: {tag!r} is not an inject kind: use one of {_KINDS}")
    if kind == "union_tag_not_found":
        return Problem(source, *pos.at(path), f"missing 'kind' (at {loc}.kind): one of {_KINDS}")
    where = pos.at(path, key=kind == "extra_forbidden")
    return Problem(source, *where, _describe({**error, "loc": path}))


def parse_scenario(text: str, source: str) -> tuple[Scenario | None, Positions, list[Problem]]:
    """Schema-check one scenario file. Cross-references (inject ids, incident keys, playbooks, accounts) are in
    ``validate_scenario``."""
    data, pos, problems = load_yaml(text, source, "scenario")
    if problems:
        return None, pos, problems
    if not isinstance(data, dict):
        return None, pos, [Problem(source, 1, 1, "a scenario is a YAML mapping (id: ..., name: ..., injects: ...)")]
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        out = [_schema_problem(error, pos, source) for error in exc.errors()]
        return None, pos, sorted(out, key=lambda p: (p.line, p.column))
    return scenario, pos, []


def validate_scenario(
    text: str,
    source: str,
    *,
    playbooks: Mapping[str, Playbook] | Collection[str],
    exercise_accounts: Collection[str] | None = None,
) -> tuple[Scenario | None, list[Problem]]:
    """The scenario, or None and every problem at its ``file:line:column``: the schema first, then the
    cross-references. ``playbooks``: the playbooks by id (their facts are checked too), or only their ids.
    ``exercise_accounts``: the names of this workstation's exercise accounts, when the accounts are to be checked.
    Pure: whether a cap-alert's file exists is the drill service's to check (see the module's docstring)."""
    scenario, pos, problems = parse_scenario(text, source)
    if scenario is None:
        return None, problems
    problems = check_references(scenario, pos, source, playbooks=playbooks, exercise_accounts=exercise_accounts)
    return (None if problems else scenario), problems


def check_references(
    scenario: Scenario,
    pos: Positions,
    source: str,
    *,
    playbooks: Mapping[str, Playbook] | Collection[str] | None = None,
    exercise_accounts: Collection[str] | None = None,
) -> list[Problem]:
    """The cross-reference checks of ``validate_scenario`` on a scenario already parsed (``parse_scenario``), in
    the file's order. Without ``playbooks``, the playbooks and their facts are not checked; without
    ``exercise_accounts``, the accounts are checked only against the scenario's own ``accounts``."""
    found = _Found(source, pos, scenario)
    _check(found, playbooks, exercise_accounts)
    return sorted(found.problems, key=lambda p: (p.line, p.column, p.message))


class _Found:
    """The problems found so far, placed, and what the checks share about the scenario."""

    def __init__(self, source: str, pos: Positions, scenario: Scenario) -> None:
        self.source = source
        self.pos = pos
        self.problems: list[Problem] = []
        self.scenario = scenario
        self.keys = [i.key for i in scenario.incidents]
        self.several = len(set(self.keys)) > 1
        self.injects: dict[str, Any] = {}
        for inject in scenario.injects:
            self.injects.setdefault(inject.id, inject)  # the first of an id used twice (that mistake is its own)

    def add(self, path: Path_, message: str, *, key: bool = False) -> None:
        self.problems.append(Problem(self.source, *self.pos.at(path, key=key), message))

    def line(self, path: Path_) -> int:
        return self.pos.at(path)[0]


def _names(items: Collection[str]) -> str:
    return ", ".join(sorted(items)) or "none"


def _unique(found: _Found, ids: list[str], where: str, noun: str, field: str) -> None:
    first: dict[str, int] = {}
    for n, value in enumerate(ids):
        if value in first:
            line = found.line((where, first[value], field))
            found.add((where, n, field), f"{noun} {value!r} is used twice (first on line {line}): give each its own")
        else:
            first[value] = n


def _check(
    found: _Found,
    playbooks: Mapping[str, Playbook] | Collection[str] | None,
    exercise_accounts: Collection[str] | None,
) -> None:
    scenario, keys = found.scenario, found.keys
    _unique(found, keys, "incidents", "incident key", "key")
    _unique(found, [i.id for i in scenario.injects], "injects", "inject id", "id")
    _unique(found, [o.id for o in scenario.objectives], "objectives", "objective id", "id")
    _unique(found, scenario.accounts, "accounts", "account", "")

    if scenario.timezone is not None:
        try:
            ZoneInfo(scenario.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ("America")
            found.add(
                ("timezone",), f"unknown time zone {scenario.timezone!r}: use an IANA name such as America/Chicago"
            )

    for n, incident in enumerate(scenario.incidents):
        if playbooks is not None:
            _check_incident(found, n, incident, playbooks, scenario.timezone)

    if exercise_accounts is not None:
        for n, name in enumerate(scenario.accounts):
            if name not in exercise_accounts:
                found.add(("accounts", n), _not_an_exercise_account(name, exercise_accounts))

    for n, inject in enumerate(scenario.injects):
        _check_inject(found, n, inject, exercise_accounts)

    for n, objective in enumerate(scenario.objectives):
        _check_expectation(found, n, objective)


def _not_an_exercise_account(name: str, exercise_accounts: Collection[str]) -> str:
    return (
        f"{name!r} is not an exercise channel account here (the exercise accounts: {_names(exercise_accounts)}); "
        f"add it with 'crisisdesk channels add KIND {name} --exercise'"
    )


def _check_incident(
    found: _Found,
    n: int,
    incident: DrillIncident,
    playbooks: Mapping[str, Playbook] | Collection[str],
    timezone: str | None,
) -> None:
    if incident.playbook not in playbooks:
        found.add(
            ("incidents", n, "playbook"),
            f"no playbook {incident.playbook!r} (the playbooks: {_names(list(playbooks))})",
        )
        return
    if not isinstance(playbooks, Mapping):
        return
    playbook = playbooks[incident.playbook]
    try:
        tz = ZoneInfo(timezone or playbook.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        tz = ZoneInfo(playbook.timezone)
    for name, value in incident.facts.items():
        problem = fact_problem(playbook, name, value, tz)
        if problem is not None:
            found.add(("incidents", n, "facts", name), problem, key=problem.startswith(f"{playbook.id} has no fact"))


def _check_inject(found: _Found, n: int, inject: Any, exercise_accounts: Collection[str] | None) -> None:
    scenario, keys, several = found.scenario, found.keys, found.several
    here: Path_ = ("injects", n)
    if inject.incident is not None and inject.incident not in keys:
        found.add(
            (*here, "incident"), f"no incident {inject.incident!r} in this scenario (its incidents: {_names(keys)})"
        )
    elif inject.incident is None and several and inject.kind in _FOR_AN_INCIDENT:
        found.add(
            (*here, "id"),
            f"inject {inject.id!r}: say which incident it is for (incident: one of {_names(keys)}); "
            "the scenario has several",
        )
    if inject.offset > scenario.length:
        found.add((*here, "at"), f"{inject.at} is after the scenario's end (duration: {scenario.duration})")
    outage = isinstance(inject, ChannelOutageInject | NetworkLossInject)
    if outage and inject.offset + duration(inject.lasting) > scenario.length:
        found.add(
            (*here, "for"),
            f"the outage lasts past the scenario's end (duration: {scenario.duration}): the outbox's recovery "
            "could not be seen",
        )
    if isinstance(inject, ChannelOutageInject):
        if scenario.accounts and inject.account not in scenario.accounts:
            found.add(
                (*here, "account"),
                f"{inject.account!r} is not among the scenario's accounts ({_names(scenario.accounts)}): add it there",
            )
        elif exercise_accounts is not None and inject.account not in exercise_accounts:
            found.add((*here, "account"), _not_an_exercise_account(inject.account, exercise_accounts))
    if isinstance(inject, CapAlertInject):
        parts = inject.file.replace("\\", "/").split("/")
        if inject.file.startswith(("/", "\\", "~")) or ":" in parts[0] or ".." in parts or not inject.file.strip():
            found.add(
                (*here, "file"),
                f"{inject.file!r}: give the CAP file's path from the scenario's folder, inside it (cap/alert.xml)",
            )


def _check_expectation(found: _Found, n: int, objective: Objective) -> None:
    scenario, keys, several, injects = found.scenario, found.keys, found.several, found.injects
    expect = objective.expect
    here: Path_ = ("objectives", n, "expect")
    measure = expect.measure
    after_kinds = _AFTER_KINDS.get(measure)
    after = None
    if expect.after is not None:
        if after_kinds is None:
            found.add(
                (*here, "after"),
                f"{measure.value} is not measured after an inject: leave out 'after'",
                key=True,
            )
        elif expect.after not in injects:
            found.add((*here, "after"), f"no inject {expect.after!r} (the injects: {_names(injects)})")
        else:
            after = injects[expect.after]
            if after.kind not in after_kinds:
                fitting = ", ".join(k.value for k in InjectKind if k in after_kinds)
                found.add(
                    (*here, "after"),
                    f"{measure.value} is measured after a {fitting} inject; {expect.after!r} is a {after.kind.value}",
                )
                after = None
            elif isinstance(after, CommentInject) and not after.urgent:
                found.add(
                    (*here, "after"),
                    f"{expect.after!r} is not urgent: triage is measured for urgent comments (urgent: true)",
                )
    elif measure is Measure.TRIAGE and not any(isinstance(i, CommentInject) and i.urgent for i in scenario.injects):
        found.add(here, f"objective {objective.id!r}: no urgent comment to triage (a comment inject with urgent: true)")
    elif measure is Measure.OUTBOX_RECOVERY and not any(
        isinstance(i, ChannelOutageInject | NetworkLossInject) for i in scenario.injects
    ):
        found.add(here, f"objective {objective.id!r}: no channel-outage or network-loss inject to recover from")

    if measure in _TIMED and expect.within is None:
        found.add(here, f"objective {objective.id!r}: {measure.value} needs a time target (within: 10m)")
    if measure not in _TIMED and expect.within is not None:
        target = "the playbook's cadence (update_every)" if measure is Measure.CADENCE else "a share (at_least)"
        found.add((*here, "within"), f"{measure.value} has no time target: its target is {target}", key=True)
    if measure not in _SHARED and expect.at_least is not None:
        found.add(
            (*here, "at_least"),
            f"{measure.value} is measured in time (within), not as a share: leave out 'at_least'",
            key=True,
        )

    if expect.incident is not None and expect.incident not in keys:
        found.add(
            (*here, "incident"), f"no incident {expect.incident!r} in this scenario (its incidents: {_names(keys)})"
        )
    elif (
        expect.incident is not None
        and after is not None
        and after.incident is not None
        and after.incident != expect.incident
    ):
        found.add(
            (*here, "incident"),
            f"{expect.after!r} is for incident {after.incident!r}, not {expect.incident!r}",
        )
    elif (
        several and measure in _OF_AN_INCIDENT and expect.incident is None and (after is None or after.incident is None)
    ):
        found.add(
            here,
            f"objective {objective.id!r}: say which incident it measures (incident: one of {_names(keys)}); "
            "the scenario has several",
        )

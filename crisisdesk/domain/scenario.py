"""The drill scenario format: YAML in, a checked ``Scenario`` or problems with file, line and column out.

A scenario is what an exercise controller runs: the exercise's name, scope and objectives (each tied to one
measurable expectation), the playbooks in play and the EXERCISE incidents the drill opens, the participants' roles,
and the Master Scenario Events List: injects at times relative to the start (``T+0``, ``T+5m``, ``T+1h30m``).
``scenarios/README.md`` documents every key. Read like a playbook (``crisisdesk.domain.playbook.load_yaml``: bounded,
aliases refused, every value's position kept).
"""

from __future__ import annotations

import enum
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crisisdesk.domain.facts import BadFact, parse_duration
from crisisdesk.domain.playbook import Positions, Problem, _describe, load_yaml, parse_offset
from crisisdesk.domain.roles import Role

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r}: use lower-case letters, digits and '-', starting with a letter or digit")
    return value


def _check_duration(value: str) -> str:
    try:
        parse_duration(value)
    except BadFact as exc:
        raise ValueError(str(exc)) from None
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
        parse_offset(value)
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


def parse_scenario(text: str, source: str) -> tuple[Scenario | None, Positions, list[Problem]]:
    """Schema-check one scenario file. Cross-references (inject ids, incident keys, playbooks, accounts) are in
    ``validate_scenario``."""
    data, pos, problems = load_yaml(text, source)
    if problems:
        return None, pos, problems
    if not isinstance(data, dict):
        return None, pos, [Problem(source, 1, 1, "a scenario is a YAML mapping (id: ..., name: ..., injects: ...)")]
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        out = []
        for error in exc.errors():
            path = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            path = tuple(p for p in path if p not in {k.value for k in InjectKind})  # the union's tag, not a key
            where = pos.at(path, key=error["type"] in ("extra_forbidden",))
            out.append(Problem(source, *where, _describe(dict(error))))
        return None, pos, sorted(out, key=lambda p: (p.line, p.column))
    return scenario, pos, []

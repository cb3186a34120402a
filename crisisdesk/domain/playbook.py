"""The playbook format: YAML in, a checked ``Playbook`` or a list of problems with file, line and column out.

The schema is a set of pydantic models; PyYAML's node tree gives every value's position so a schema error
is reported where the value is written, not as a path. A playbook file is bounded before it is read into
objects: its size, its nesting and its number of values are capped and YAML aliases are refused, so a crafted
file (a "billion laughs" of aliases, brackets nested 100,000 deep) is refused at once instead of exhausting memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal, NoReturn
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crisisdesk.domain.approval import Policy
from crisisdesk.domain.facts import (
    TRANSLATED_BY_DEFAULT,
    WORDED,
    BadFact,
    FactSpec,
    FactType,
    fact_key,
    parse_duration,
)
from crisisdesk.domain.roles import Role
from crisisdesk.domain.text_rules import Channel

# Keys a template may use besides the channel names: each channel falls back to its group's text.
GROUP_KEYS = ("headline", "short", "long", "instruction")
FALLBACK: dict[Channel, tuple[str, ...]] = {
    Channel.SMS: ("sms", "short"),
    Channel.WEA_90: ("wea-90", "headline"),
    Channel.WEA_360: ("wea-360", "short"),
    Channel.X: ("x", "short"),
    Channel.MASTODON: ("mastodon", "short"),
    Channel.BLUESKY: ("bluesky", "short"),
    Channel.FACEBOOK: ("facebook", "long"),
    Channel.EMAIL_SUBJECT: ("email-subject", "headline"),
    Channel.EMAIL_BODY: ("email-body", "long"),
    Channel.WEB: ("web", "long"),
    Channel.CAP_HEADLINE: ("cap-headline", "headline"),
    Channel.CAP_DESCRIPTION: ("cap-description", "long"),
    Channel.CAP_INSTRUCTION: ("cap-instruction", "instruction"),
}
TEMPLATE_KEYS = frozenset(GROUP_KEYS) | {c.value for c in Channel}
_OFFSET = re.compile(r"T\s*\+\s*(?P<d>.+)")  # these are used with fullmatch: "$" allows a trailing newline
_RELATIVE = re.compile(r"(?P<sign>[+-])\s*(?P<d>\S.*)")  # an example time from now: +2h, -20m, +1h30m
_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
_LANG = re.compile(r"[a-z]{2,3}(-[A-Z]{2})?")

MAX_PLAYBOOK_BYTES = 128 * 1024  # ten times the largest shipped playbook (12 kB)
MAX_YAML_DEPTH = 20  # levels of mappings and lists inside each other; the shipped playbooks use 6
MAX_YAML_VALUES = 5_000  # values (texts, mappings, lists) in a file: the shipped have about 400, 150 a language

CapCategory = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"
]
CapResponse = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fact(_Model):
    type: FactType
    label: dict[str, str]
    help: str
    # One example, or one per language for a fact written in each language: {en: Highway 49 south, es: ...}.
    example: str | dict[str, str]
    required: bool = True
    choices: dict[str, dict[str, str]] = Field(default_factory=dict)
    # What an alert needs, for the completeness lint: which facts say where, until when, and where to learn more.
    # correction: what was wrong and what is true now, which every correction text must state (lint CD110).
    # false-alarm: set by False alarm (one choice), so the cancel and the correction say the alert was sent in error.
    role: Literal["where", "expiry", "source", "correction", "false-alarm"] | None = None
    # Whether the fact is written anew in each language (default: text and area descriptions are, places are names).
    translate: bool | None = None

    @field_validator("example", mode="before")
    @classmethod
    def _example_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: str(v) if isinstance(v, int | float) else v for k, v in value.items()}
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _choices_for_choice(self) -> Fact:
        if self.type is FactType.CHOICE and not self.choices:
            raise ValueError("a choice fact needs 'choices'")
        if self.type is not FactType.CHOICE and self.choices:
            raise ValueError("only a choice fact has 'choices'")
        if self.type not in WORDED and self.translate:
            raise ValueError(
                f"a {self.type.value} fact is the same in every language: only text, place and area "
                "facts are translated"
            )
        if self.type not in WORDED and isinstance(self.example, dict):
            raise ValueError(f"a {self.type.value} fact is the same in every language: give one example")
        one_choice = self.type is FactType.CHOICE and len(self.choices) == 1
        if self.role == "false-alarm" and (not one_choice or self.required):
            raise ValueError("a false-alarm fact is a choice with one choice (what False alarm sets), required: false")
        return self

    @property
    def translated(self) -> bool:
        """Written anew in each of the playbook's languages (a missing one is named)."""
        return self.translate if self.translate is not None else self.type in TRANSLATED_BY_DEFAULT

    def spec(self, name: str) -> FactSpec:
        return FactSpec(
            name=name, type=self.type, required=self.required, choices=self.choices, translated=self.translated
        )

    def examples(self, languages: list[str]) -> dict[str, str]:
        """The example per language it has one for (one example serves every language)."""
        if isinstance(self.example, str):
            return dict.fromkeys(languages, self.example)
        return {lang: self.example[lang] for lang in languages if self.example.get(lang)}


class ChecklistStep(_Model):
    at: str = Field(description="due offset from the incident's start, such as T+10m")
    do: str
    owner: Role

    @field_validator("at")
    @classmethod
    def _offset(cls, value: str) -> str:
        parse_offset(value)
        return value


class Cadence(_Model):
    update_every: str

    @field_validator("update_every")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            parse_duration(value)
        except BadFact as exc:
            raise ValueError(str(exc)) from None
        return value


class Approval(_Model):
    roles: list[Role] = Field(default_factory=lambda: [Role.APPROVER])
    count: int = Field(default=1, ge=1, le=5)
    expires_after: str | None = None
    false_alarm_single_approver: bool = True

    def policy(self, message_type: str) -> Policy:
        """The policy a message of ``message_type`` is approved under (a cancel or correction of a false alarm may
        need only one approver)."""
        single = message_type in ("cancel", "correction") and self.false_alarm_single_approver
        return Policy(
            roles=tuple(r.value for r in self.roles),
            count=1 if single else self.count,
            expires_after=parse_duration(self.expires_after) if self.expires_after else None,
        )


class Cap(_Model):
    category: CapCategory
    response: dict[str, CapResponse]  # per message type (alert, update, ...); all-clear is AllClear
    urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
    severity: Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
    certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
    same_event: str = Field(pattern=r"^[A-Z]{3}$", description="the NWS SAME event code, such as FFW")
    # IPAWS: who originates the alert for EAS (CIV: civil authorities), and whether the alert is meant for EAS and
    # NOAA Weather Radio (default: when urgency, severity and certainty make it an imminent threat).
    eas_org: Literal["CIV", "PEP", "WXR", "EAS"] = "CIV"
    eas: bool | None = None


class Monitoring(_Model):
    keywords: dict[str, list[str]] = Field(default_factory=dict)
    areas: list[str] = Field(default_factory=list)


class Playbook(_Model):
    id: str
    title: dict[str, str]
    version: str
    hazard: str
    summary: str
    languages: list[str] = Field(min_length=1)
    timezone: str = "America/Chicago"
    sender: dict[str, str]  # who speaks, per language: "Mill County Emergency Management"
    sender_short: dict[str, str] = Field(default_factory=dict)  # a short form for short channels: "Mill County"
    event: dict[str, str]  # what, per language: "Flash Flood Warning"
    reading_grade: int = Field(default=8, ge=3, le=16)
    facts: dict[str, Fact]
    checklist: list[ChecklistStep] = Field(default_factory=list)
    cadence: Cadence
    approval: Approval = Field(default_factory=Approval)
    channels: list[Channel]
    monitoring: Monitoring = Field(default_factory=Monitoring)
    # Replies to the public, by name then language: "where-to-go: {en: ..., es: ...}"; facts allowed.
    responses: dict[str, dict[str, str]] = Field(default_factory=dict)
    cap: Cap
    messages: dict[str, dict[str, dict[str, str]]]  # type -> language -> template key -> template

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("an id is 2-64 lowercase letters, digits and '-'")
        return value

    @field_validator("languages")
    @classmethod
    def _langs(cls, value: list[str]) -> list[str]:
        for lang in value:
            if not _LANG.fullmatch(lang):
                raise ValueError(f"{lang!r} is not a language code such as en or es")
        return value

    @model_validator(mode="after")
    def _one_fact_a_role(self) -> Playbook:
        for role in ("correction", "false-alarm"):
            named = [name for name, fact in self.facts.items() if fact.role == role]
            if len(named) > 1:
                raise ValueError(f"only one fact may have role {role}; {', '.join(named)} do")
        return self

    def fact_specs(self) -> dict[str, FactSpec]:
        return {name: fact.spec(name) for name, fact in self.facts.items()}

    @property
    def main_language(self) -> str:
        """The first of its languages: a fact's plain value is written in it."""
        return self.languages[0]

    def example_facts(self, now: datetime, tz: tzinfo | None = None) -> dict[str, str]:
        """The example facts, each as a person would type it (a value per language as ``name@lang``); a relative
        time ("+2h") is read from ``now`` in ``tz`` (default: the playbook's zone), so examples rendered at any time
        are current. The false-alarm fact is left out: the examples are of an incident that is not a false alarm
        (validation renders both)."""
        zone_ = tz or ZoneInfo(self.timezone)
        out: dict[str, str] = {}
        for name, fact in self.facts.items():
            if fact.role == "false-alarm":
                continue
            if isinstance(fact.example, str):
                out[name] = resolve_example(fact, now, zone_)
                continue
            for lang, text in fact.examples(self.languages).items():
                out[fact_key(name, lang, self.main_language)] = text
        return out

    def correction_fact(self) -> str | None:
        """The fact a correction states, what was wrong and what is true now: the one with role correction, or,
        in a playbook written before the role existed, the fact named correction."""
        named = next((n for n, f in self.facts.items() if f.role == "correction"), None)
        return named or ("correction" if "correction" in self.facts else None)

    def false_alarm_fact(self) -> tuple[str, str] | None:
        """The fact False alarm sets and the value it sets, or None when the playbook has none."""
        for name, fact in self.facts.items():
            if fact.role == "false-alarm":
                return name, next(iter(fact.choices))
        return None

    def sends_wea(self) -> bool:
        """Whether the playbook's alerts go to Wireless Emergency Alerts (it has a WEA text among its channels)."""
        return Channel.WEA_90 in self.channels or Channel.WEA_360 in self.channels

    def template(self, message_type: str, lang: str, channel: Channel) -> tuple[str, str] | None:
        """The (key, source) a channel uses, following its fallback, or None."""
        texts = self.messages.get(message_type, {}).get(lang, {})
        for key in FALLBACK[channel]:
            if key in texts:
                return key, texts[key]
        return None


def relative_offset(text: str) -> timedelta | None:
    """The offset of a relative example time (``+2h`` is two hours from now, ``-20m`` twenty minutes ago), or None
    when ``text`` is not one. A malformed duration raises ``BadFact``."""
    m = _RELATIVE.fullmatch(text.strip())
    if not m:
        return None
    offset = parse_duration(m.group("d"))
    return -offset if m.group("sign") == "-" else offset


def resolve_example(fact: Fact, now: datetime, tz: tzinfo) -> str:
    """A fact's example as typed text: a relative time becomes the local date and time it names (to the minute)."""
    example = fact.example if isinstance(fact.example, str) else next(iter(fact.example.values()), "")
    if fact.type is not FactType.DATETIME:
        return example
    offset = relative_offset(example)
    if offset is None:
        return example
    moment = (now.astimezone(tz) + offset).replace(second=0, microsecond=0, tzinfo=None)
    return moment.isoformat(timespec="minutes")


def parse_offset(text: str) -> timedelta:
    m = _OFFSET.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text!r}: write a due offset such as T+10m or T+1h30m")
    if m.group("d").strip() in ("0", "0m"):
        return timedelta(0)
    try:
        return parse_duration(m.group("d"))
    except BadFact as exc:
        raise ValueError(str(exc)) from None


# -- loading with positions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


Path_ = tuple[str | int, ...]


class Positions:
    """Where each value (and each mapping key) of a YAML document is written."""

    def __init__(self) -> None:
        self.values: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}
        self.block: dict[Path_, bool] = {}  # the value is a block scalar (| or >): its text starts a line later
        self.ends: dict[Path_, int] = {}  # the line where each value ends

    def at(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The closest known position: the path itself, else its nearest parent."""
        table = self.keys if key else self.values
        for n in range(len(path), -1, -1):
            if path[:n] in table:
                return table[path[:n]]
            if path[:n] in self.values:
                return self.values[path[:n]]
        return (1, 1)


def _walk(node: yaml.Node, path: Path_, pos: Positions, problems: list[tuple[Path_, str, bool]]) -> None:
    pos.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    pos.ends[path] = node.end_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        pos.block[path] = node.style in ("|", ">")
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                pos.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                problems.append((child, f"duplicate key {key!r}", True))
            seen.add(key)
            pos.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, pos, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), pos, problems)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what no playbook needs before it is built: aliases, deep nesting, and more
    values than a playbook has.

    Aliases are refused rather than expanded under a cap: an alias makes one value appear in many places, so
    each later step (positions, schema, templates) would walk it again; playbooks are written out in full.
    The checks are made as each node is composed (the parser itself does not recurse), so a bomb stops at
    the first value past a limit, with its position. This is the pure-Python loader: libyaml's is ten times
    faster but composes in C, where no check can be added; with the size limit, parsing stays near 0.5 s.
    """

    def __init__(self, text: str, noun: str = "playbook") -> None:
        super().__init__(text)
        self._depth = 0
        self._values = 0
        self._noun = noun  # what the file is, in the limits' messages: a playbook, a scenario

    def _refuse(self, message: str) -> NoReturn:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        raise yaml.composer.ComposerError(None, None, message, mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            alias: yaml.AliasEvent = self.peek_event()  # type: ignore[no-untyped-call]
            self._refuse(
                f"an alias (*{alias.anchor}) repeats a value: write the value out in full, {self._noun}s use none"
            )
        self._values += 1
        if self._values > MAX_YAML_VALUES:
            self._refuse(f"more than {MAX_YAML_VALUES:,} values, the most a {self._noun} may have")
        if self._depth >= MAX_YAML_DEPTH:
            self._refuse(f"nested more than {MAX_YAML_DEPTH} levels deep, the most a {self._noun} may be")
        self._depth += 1
        try:
            node: yaml.Node | None = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML lets Python's own errors through unplaced: a 5,000-digit number, a date of month 13.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            text = str(node.value)
            shown = text if len(text) <= 40 else text[:37] + "..."
            why = str(exc).split(";")[0]  # not Python's advice on sys.set_int_max_str_digits
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shown!r}: {why}", node.start_mark
            ) from None


def size_problem(size: int, source: str, noun: str = "playbook") -> Problem | None:
    """The problem with a playbook (or scenario) file of ``size`` bytes, if it is over the limit."""
    if size <= MAX_PLAYBOOK_BYTES:
        return None
    return Problem(
        source,
        1,
        1,
        f"the file is larger than {MAX_PLAYBOOK_BYTES // 1024} KiB ({MAX_PLAYBOOK_BYTES:,} bytes), the most "
        f"a {noun} may be",
    )


def load_yaml(text: str, source: str, noun: str = "playbook") -> tuple[Any, Positions, list[Problem]]:
    """The bounded YAML of a file (``noun``: what it is, for the limits' messages), with every value's position."""
    pos = Positions()
    # Characters first, so a huge text is not encoded only to be refused.
    too_big = size_problem(len(text), source, noun) or size_problem(
        len(text.encode("utf-8", "surrogatepass")), source, noun
    )
    if too_big:
        return None, pos, [too_big]
    try:
        loader = _BoundedLoader(text, noun)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, pos, [Problem(source, line, col, f"YAML: {exc.problem or exc.context}")]
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: its place, in one line
        at = max(0, min(int(exc.position), len(text)))
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return None, pos, [Problem(source, line, column, f"YAML: character U+{char:04X} is not allowed ({exc.reason})")]
    except yaml.YAMLError as exc:
        return None, pos, [Problem(source, 1, 1, "YAML: " + " ".join(str(exc).split()))]
    found: list[tuple[Path_, str, bool]] = []
    if node is not None:
        _walk(node, (), pos, found)
    problems = [Problem(source, *pos.at(path, key=is_key), msg) for path, msg, is_key in found]
    return data, pos, problems


def _describe(error: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
    msg = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return f"unknown key {loc.rsplit('.', 1)[-1]!r} (at {loc})"
    if error["type"] == "missing":
        return f"missing {loc.rsplit('.', 1)[-1]!r} (at {loc})"
    return f"{loc}: {msg}" if loc else msg


def parse_playbook(text: str, source: str) -> tuple[Playbook | None, Positions, list[Problem]]:
    """Schema-check one playbook file. Semantic checks (templates, limits) are in ``validate``."""
    data, pos, problems = load_yaml(text, source)
    if problems:
        return None, pos, problems
    if not isinstance(data, dict):
        return None, pos, [Problem(source, 1, 1, "a playbook is a YAML mapping (id: ..., title: ..., facts: ...)")]
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        out = []
        for error in exc.errors():
            path = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
            where = pos.at(path, key=error["type"] in ("extra_forbidden",))
            out.append(Problem(source, *where, _describe(dict(error))))
        return None, pos, sorted(out, key=lambda p: (p.line, p.column))
    return playbook, pos, []

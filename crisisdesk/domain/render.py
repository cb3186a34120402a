"""Rendering templates into text, in a sandbox.

Templates are Jinja2 in a sandbox that allows no attribute or item access and no calls, has no globals,
and only crisisdesk's formatting filters. A fact that is not given is named, never rendered blank, and the
output is capped. Facts are formatted per language and in the incident's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import (
    FactSpec,
    FactType,
    format_date_of,
    format_day,
    format_fact,
    format_number,
    format_time_of,
    format_when,
)
from crisisdesk.domain.text_rules import Channel

MAX_OUTPUT = 10_000
MAX_SOURCE = 20_000


class TemplateError(UserError):
    """A template cannot be rendered; the message names the fact or the construct."""


class MissingFact(TemplateError):
    def __init__(self, name: str) -> None:
        super().__init__(f"the fact {name!r} is needed but was not given")
        self.name = name


@dataclass(frozen=True, slots=True)
class FactValue:
    spec: FactSpec
    value: Any
    lang: str
    tz: tzinfo

    def __str__(self) -> str:
        return format_fact(self.spec, self.value, self.lang, self.tz)


@dataclass(frozen=True, slots=True)
class Missing:
    name: str

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> NoReturn:
        raise MissingFact(self.name)


class _Sandbox(SandboxedEnvironment):
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def getattr(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(f"templates cannot read attributes ({attribute!r})")

    def getitem(self, obj: Any, argument: Any) -> NoReturn:
        raise SecurityError("templates cannot index values")


def _value(v: Any, filter_name: str, wanted: FactType) -> Any:
    if isinstance(v, Missing):
        raise MissingFact(v.name)
    if not isinstance(v, FactValue) or v.spec.type is not wanted:
        raise SecurityError(f"the {filter_name} filter takes a {wanted.value} fact")
    return v


def _datetime_filter(fmt: Any, name: str) -> Any:
    def apply(v: Any) -> str:
        fv = _value(v, name, FactType.DATETIME)
        result: str = fmt(fv.value, fv.lang, fv.tz)
        return result

    return apply


def _number(v: Any) -> str:
    fv = _value(v, "number", FactType.NUMBER)
    value: Decimal = fv.value
    return format_number(value, fv.lang)


def _text(v: Any) -> str:
    if isinstance(v, Missing):
        raise MissingFact(v.name)
    return str(v)


def _finalize(v: Any) -> Any:
    return _text(v) if isinstance(v, FactValue | Missing) else v


def _make_env() -> _Sandbox:
    env = _Sandbox(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=False,  # keep the newline after {% endif %}; empty lines are dropped by tidy()
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.globals.clear()  # no range, dict, lipsum, cycler, joiner or namespace
    env.filters = {
        "time": _datetime_filter(format_time_of, "time"),
        "day": _datetime_filter(format_day, "day"),
        "date": _datetime_filter(format_date_of, "date"),
        "when": _datetime_filter(format_when, "when"),
        "number": _number,
        "upper": lambda v: _text(v).upper(),
        "lower": lambda v: _text(v).lower(),
    }
    return env


ENV = _make_env()
FILTERS = frozenset(ENV.filters)


def check_source(source: str) -> tuple[set[str], list[tuple[int, str]]]:
    """Names a template uses and its problems as (line within the template, message)."""
    if len(source) > MAX_SOURCE:
        return set(), [(1, f"template is longer than {MAX_SOURCE} characters")]
    try:
        ast = ENV.parse(source)
    except TemplateSyntaxError as exc:
        return set(), [(exc.lineno or 1, f"template syntax: {exc.message}")]
    problems: list[tuple[int, str]] = []
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Call, nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            problems.append((node.lineno, "templates cannot read attributes or index values"))
        elif isinstance(node, nodes.Call):
            problems.append((node.lineno, "templates cannot call functions"))
        elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
            problems.append((node.lineno, f"unknown filter {node.name!r}: use one of {', '.join(sorted(FILTERS))}"))
    for statement in ast.find_all((nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)):
        problems.append((statement.lineno, "templates cannot include, extend or import other templates"))
    names = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "store"}
    return names - assigned, problems


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return ENV.from_string(source)


_SPACES = re.compile(r"[ \t]+")


def tidy(text: str) -> str:
    """Collapse the spaces and drop the empty lines that optional parts leave behind."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line).replace(" .", ".").replace(" ,", ",")


def render_source(source: str, context: Mapping[str, Any]) -> str:
    """Render one template. Raises ``TemplateError`` naming what is wrong."""
    try:
        template = _compiled(source)
        out: list[str] = []
        size = 0
        for chunk in template.generate(dict(context)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateError(f"template output is longer than {MAX_OUTPUT} characters")
            out.append(chunk)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax, line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"template refused: {exc}") from None
    except UndefinedError as exc:
        raise TemplateError(f"template names something that is not a fact of this playbook ({exc.message})") from None
    except (JinjaError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        # include/import without a loader, comparisons of unlike facts, deep nesting: a template problem, not a crash
        raise TemplateError(f"template failed: {exc}") from None
    return tidy("".join(out))


def fact_context(
    specs: Mapping[str, FactSpec], values: Mapping[str, Any], lang: str, tz: tzinfo
) -> dict[str, FactValue | Missing]:
    return {
        name: FactValue(spec, values[name], lang, tz) if name in values else Missing(name)
        for name, spec in specs.items()
    }


# -- exercise marking ---------------------------------------------------------------------------------------

EXERCISE_MARKER = {"en": "EXERCISE EXERCISE EXERCISE", "es": "SIMULACRO SIMULACRO SIMULACRO"}
EXERCISE_PREFIX = {"en": "EXERCISE:", "es": "SIMULACRO:"}
# Channels too short for the full marker line carry a one-word prefix instead.
SHORT_CHANNELS = frozenset(
    {Channel.WEA_90, Channel.SMS, Channel.X, Channel.BLUESKY, Channel.EMAIL_SUBJECT, Channel.CAP_HEADLINE}
)


def exercise_marker(lang: str) -> str:
    return EXERCISE_MARKER.get(lang, EXERCISE_MARKER["en"])


# Documents are read top to bottom and may be printed: the marker opens and closes them.
DOCUMENT_CHANNELS = frozenset({Channel.EMAIL_BODY, Channel.WEB, Channel.CAP_DESCRIPTION, Channel.CAP_INSTRUCTION})


def mark_exercise(text: str, channel: Channel, lang: str) -> str:
    """Exercise text says so first, on every channel (and last too, on documents)."""
    if channel in SHORT_CHANNELS:
        return f"{EXERCISE_PREFIX.get(lang, EXERCISE_PREFIX['en'])} {text}"
    marker = exercise_marker(lang)
    if channel in DOCUMENT_CHANNELS:
        return f"{marker}\n\n{text}\n\n{marker}"
    return f"{marker}\n{text}"


def strip_exercise_marks(text: str) -> str:
    for mark in (*EXERCISE_MARKER.values(), *EXERCISE_PREFIX.values()):
        text = text.replace(mark, " ")
    return text

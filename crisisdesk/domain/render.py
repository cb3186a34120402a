"""Rendering templates into text, in a sandbox.

Templates are Jinja2 in a sandbox that allows no attribute or item access and no calls, has no globals,
and only crisisdesk's formatting filters. A fact that is not given is named, never rendered blank. Facts are
formatted per language and in the incident's time zone.

Every rendering is bounded, so a hostile template fails in milliseconds instead of exhausting the machine: the
text and lists operators build, the loop steps, the size of numbers, the nesting, the output and the processor
time each have a limit (the ``MAX_*`` names below), and the error names the limit a template reached.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes, pass_context
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

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
    value_in,
)
from crisisdesk.domain.text_rules import Channel

MAX_SOURCE = 20_000  # characters of one template
MAX_OUTPUT = 10_000  # characters a rendering writes; and, apart, that its loops and capturing blocks write
MAX_TEXT = 10_000  # characters of a text, or items of a list, that one operator (*, +, ~, a filter) builds
MAX_BUILT = 1_000_000  # characters built by operators and filters in one rendering, all together
MAX_LOOP_STEPS = 10_000  # iterations of all the loops of one rendering together
MAX_DIGITS = 20  # digits of a number
MAX_DEPTH = 30  # levels of nesting in a template: brackets, operators and blocks inside each other
# Processor time (not wall time, so a busy machine does not fail good templates) of one rendering: the backstop
# for any costly construct the limits above do not count. A shipped template renders in about 0.1 ms.
MAX_CPU_SECONDS = 0.25

_BIGGEST = 10**MAX_DIGITS
_TOO_MANY_DIGITS = f"a number has more than {MAX_DIGITS} digits, the most allowed"
_BUDGET = "crisisdesk budget"  # the rendering's budget in the context: no template can name it (it has a space)


class TemplateError(UserError):
    """A template cannot be rendered; the message names the fact or the construct."""


class MissingFact(TemplateError):
    def __init__(self, name: str) -> None:
        super().__init__(f"the fact {name!r} is needed but was not given")
        self.name = name


class TemplateLimit(TemplateError):
    """A template reached one of the limits; the message names it."""

    def __init__(self, what: str) -> None:
        super().__init__(f"template stopped at a limit: {what}")


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


class _Budget:
    """What one rendering may still spend. Checked by every operator, loop step, filter and piece of output."""

    __slots__ = ("built", "deadline", "steps", "written")

    def __init__(self) -> None:
        self.steps = self.built = self.written = 0
        self.deadline = time.thread_time() + MAX_CPU_SECONDS

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise TemplateLimit(f"rendering took more than {MAX_CPU_SECONDS} s of processor time, the most allowed")

    def loop_step(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_STEPS:
            raise TemplateLimit(f"loops ran more than {MAX_LOOP_STEPS:,} times, the most for one template")
        self.tick()

    def build(self, size: int, what: str) -> None:
        """Called before ``what`` builds a text or list of ``size`` characters or items."""
        if size > MAX_TEXT:
            raise TemplateLimit(f"{what} would build {size:,} characters or items; the most is {MAX_TEXT:,}")
        self.built += size
        if self.built > MAX_BUILT:
            raise TemplateLimit(f"operators and filters built more than {MAX_BUILT:,} characters, the most in all")
        self.tick()

    def write(self, size: int) -> None:
        """Output, counted apart from the rendering's own (render_source) so nothing is counted twice there."""
        self.written += size
        if self.written > MAX_OUTPUT:
            raise TemplateLimit(f"template output is longer than {MAX_OUTPUT:,} characters")


def _budget(context: Context) -> _Budget:
    budget = context.get(_BUDGET)
    if not isinstance(budget, _Budget):  # only render_source renders, and it always gives one
        raise SecurityError("templates render only through render_source")
    return budget


def _number(value: Any) -> Any:
    if isinstance(value, int) and abs(value) >= _BIGGEST:
        raise TemplateLimit(_TOO_MANY_DIGITS)
    return value


def _power_too_big(base: Any, exponent: Any) -> bool:
    """Whether base ** exponent would pass MAX_DIGITS, known before computing it (9**(9**9) takes minutes)."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent < 2:
        return False
    # The result has at least exponent * (bits of base - 1) bits; 10**20 has 66.4.
    return exponent * (abs(base).bit_length() - 1) > MAX_DIGITS * 10 / 3


class _Sandbox(SandboxedEnvironment):
    # Every arithmetic operator goes through call_binop, where sizes are checked before anything is built.
    # Intercepted operators are also never folded at compile time, so "x" * 2000000000 cannot run while compiling.
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def getattr(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(f"templates cannot read attributes ({attribute!r})")

    def getitem(self, obj: Any, argument: Any) -> NoReturn:
        raise SecurityError("templates cannot index values")

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> NoReturn:
        # Nothing is callable (no globals, macros refused): no range(), no recursion through macros.
        raise SecurityError("templates cannot call functions")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget(context)
        budget.tick()
        sized = (str, list, tuple)
        if operator == "*" and isinstance(left, sized) and isinstance(right, int):
            budget.build(len(left) * max(right, 0), "'*'")
        elif operator == "*" and isinstance(right, sized) and isinstance(left, int):
            budget.build(len(right) * max(left, 0), "'*'")
        elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
            budget.build(len(left) + len(right), "'+'")
        elif operator == "%" and isinstance(left, str):
            # "%0999999999d" % 1 builds a gigabyte before its size could be checked; facts need no formatting.
            raise SecurityError("templates cannot format text with '%'")
        elif operator == "**" and _power_too_big(left, right):
            raise TemplateLimit(_TOO_MANY_DIGITS)
        return _number(self.binop_table[operator](left, right))


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


def _format_number(v: Any) -> str:
    fv = _value(v, "number", FactType.NUMBER)
    value: Decimal = fv.value
    return format_number(value, fv.lang)


def _text(v: Any) -> str:
    """What a value writes: facts formatted, text and numbers as they are; lists and the like are refused
    (writing one would turn a list of 10,000 long texts into one enormous text)."""
    if isinstance(v, Missing):
        raise MissingFact(v.name)
    if isinstance(v, FactValue):
        return str(v)
    if isinstance(v, str):
        return v
    if v is None or isinstance(v, int | float | Decimal | Undefined):
        return str(v)
    raise SecurityError(f"templates write facts, text and numbers, not a {type(v).__name__}")


@pass_context
def _upper(context: Context, v: Any) -> str:
    text = _text(v)
    _budget(context).build(len(text), "the upper filter")
    return text.upper()


@pass_context
def _lower(context: Context, v: Any) -> str:
    text = _text(v)
    _budget(context).build(len(text), "the lower filter")
    return text.lower()


# Filters the compiled templates use for the bounds; their names have a space, so no template can write them.
_LOOP, _JOIN, _WRITE = "crisisdesk loop", "crisisdesk join", "crisisdesk write"


@pass_context
def _loop(context: Context, items: Iterable[Any]) -> Iterator[Any]:
    budget = _budget(context)
    for item in items:
        budget.loop_step()
        yield item


@pass_context
def _join(context: Context, parts: list[Any]) -> str:
    """The ~ operator, with the size checked before the text is built."""
    texts = [_text(p) for p in parts]
    _budget(context).build(sum(map(len, texts)), "'~'")
    return "".join(texts)


@pass_context
def _write(context: Context, v: Any) -> str:
    text = _text(v)
    _budget(context).write(len(text))
    return text


class _Bounds(NodeTransformer):
    """Rewrites a parsed template so that its loops, joins, and the output of its loops and capturing blocks go
    through the budget. Output elsewhere is counted as it streams out of render_source, which costs nothing per
    piece: the shipped templates, which have no loops, render as fast as before.

    The sandbox has hooks for operators (call_binop) but none for loops or ~. Rewriting the tree with Jinja's
    own node classes was preferred to subclassing its code generator, which would mean copying its visit_For.
    """

    def __init__(self) -> None:
        self.inside = 0  # loops and blocks whose output repeats or is captured, around the node being visited

    @staticmethod
    def _through(name: str, node: nodes.Node) -> nodes.Filter:
        return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)

    def _repeated(self, node: nodes.Node) -> nodes.Node:
        self.inside += 1
        try:
            self.generic_visit(node)
        finally:
            self.inside -= 1
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self._repeated(node)
        node.iter = self._through(_LOOP, node.iter)
        return node

    # {% set x %}...{% endset %}, {% filter upper %}...{% endfilter %}, macros: output kept, not streamed.
    visit_AssignBlock = visit_FilterBlock = visit_Macro = visit_CallBlock = _repeated

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return self._through(_JOIN, nodes.List(node.nodes, lineno=node.lineno))

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        if self.inside:  # every piece, constant text included: repeated 10,000 times it adds up
            node.nodes = [self._through(_WRITE, child) for child in node.nodes]
        return node


def _make_env() -> _Sandbox:
    env = _Sandbox(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=False,  # keep the newline after {% endif %}; empty lines are dropped by tidy()
        lstrip_blocks=True,
        finalize=_text,  # every value written: facts formatted, lists refused
    )
    # No range, dict, lipsum, cycler, joiner or namespace. The sandbox's own range is capped (100,000 items), but a
    # message has nothing to count, and with no globals nothing at all can be called.
    env.globals.clear()
    env.filters = {
        "time": _datetime_filter(format_time_of, "time"),
        "day": _datetime_filter(format_day, "day"),
        "date": _datetime_filter(format_date_of, "date"),
        "when": _datetime_filter(format_when, "when"),
        "number": _format_number,
        "upper": _upper,
        "lower": _lower,
    }
    return env


ENV = _make_env()
FILTERS = frozenset(ENV.filters)
ENV.filters.update({_LOOP: _loop, _JOIN: _join, _WRITE: _write})


class _Refused(Exception):
    """A template over a static limit: (line, message)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _parse(source: str) -> nodes.Template:
    """The template's tree, refused (``_Refused``) if it is too long, nested too deep or holds a huge number."""
    if len(source) > MAX_SOURCE:
        raise _Refused(1, f"template is longer than {MAX_SOURCE:,} characters")
    deep = f"template is nested more than {MAX_DEPTH} levels deep, the most allowed"
    try:
        tree = ENV.parse(source)
    except RecursionError:  # Jinja's parser recurses per level: far deeper than MAX_DEPTH, so say that
        raise _Refused(1, deep) from None
    except ValueError:  # an integer literal past Python's 4,300 digits
        raise _Refused(1, _TOO_MANY_DIGITS) from None
    # Measured without recursion, before compiling: Jinja's compiler and Python's recurse per level too.
    todo: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while todo:
        node, level = todo.pop()
        if level > MAX_DEPTH:
            raise _Refused(node.lineno, deep)
        if isinstance(node, nodes.Const) and isinstance(node.value, int) and abs(node.value) >= _BIGGEST:
            raise _Refused(node.lineno, _TOO_MANY_DIGITS)
        todo.extend((child, level + 1) for child in node.iter_child_nodes())
    return tree


def check_source(source: str) -> tuple[set[str], list[tuple[int, str]]]:
    """Names a template uses and its problems as (line within the template, message)."""
    try:
        ast = _parse(source)
    except TemplateSyntaxError as exc:
        return set(), [(exc.lineno or 1, f"template syntax: {exc.message}")]
    except _Refused as exc:
        return set(), [(exc.line, exc.message)]
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
    try:
        tree = _parse(source)
    except _Refused as exc:
        raise TemplateError(exc.message) from None
    tree = _Bounds().visit(tree)
    tree.set_environment(ENV)
    return ENV.from_string(tree)


_SPACES = re.compile(r"[ \t]+")
# A sentence ending in a time such as "9:30 p. m." takes no second period ("p. m.." from "{{ expires|time }}.").
_ABBREVIATION_END = re.compile(r"(\b[ap]\. m\.)\.(?!\.)")


def tidy(text: str) -> str:
    """Collapse the spaces and drop the empty lines that optional parts leave behind."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.strip().splitlines()]
    joined = "\n".join(line for line in lines if line).replace(" .", ".").replace(" ,", ",")
    return _ABBREVIATION_END.sub(r"\1", joined)


def render_source(source: str, context: Mapping[str, Any]) -> str:
    """Render one template within the limits. Raises ``TemplateError`` naming what is wrong or the limit reached."""
    try:
        template = _compiled(source)
        out: list[str] = []
        size = 0
        for chunk in template.generate({**context, _BUDGET: _Budget()}):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimit(f"template output is longer than {MAX_OUTPUT:,} characters")
            out.append(chunk)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax, line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateError(f"template refused: {exc}") from None
    except UndefinedError as exc:
        raise TemplateError(f"template names something that is not a fact of this playbook ({exc.message})") from None
    except (JinjaError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        # include/import without a loader, comparisons of unlike facts: a template problem, not a crash
        raise TemplateError(f"template failed: {exc}") from None
    return tidy("".join(out))


def fact_context(
    specs: Mapping[str, FactSpec], values: Mapping[str, Any], lang: str, tz: tzinfo, *, main_lang: str
) -> dict[str, FactValue | Missing]:
    """The facts a template in ``lang`` sees: each in that language's value (``name@lang``, or the plain value in
    ``main_lang``, the playbook's first language). A translated fact with no value in ``lang`` shows another
    language's value rather than nothing: the lint names it (CD121) on the text, where a person sees it."""
    context: dict[str, FactValue | Missing] = {}
    for name, spec in specs.items():
        found = value_in(spec, values, lang, main_lang)
        context[name] = Missing(name) if found is None else FactValue(spec, found[0], lang, tz)
    return context


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

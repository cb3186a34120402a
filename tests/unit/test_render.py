"""The template sandbox and per-language formatting."""

from __future__ import annotations

import re
import time
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import FactSpec, FactType, parse_area, parse_duration
from crisisdesk.domain.render import MissingFact, TemplateError, check_source, fact_context, render_source

SPECS = {
    "area": FactSpec("area", FactType.AREA),
    "expires": FactSpec("expires", FactType.DATETIME),
    "count": FactSpec("count", FactType.NUMBER),
    "wait": FactSpec("wait", FactType.DURATION),
    "shelter": FactSpec("shelter", FactType.PLACE, required=False),
    "level": FactSpec("level", FactType.CHOICE, choices={"go": {"en": "leave now", "es": "salga ahora"}}),
}
CHICAGO = ZoneInfo("America/Chicago")
VALUES = {
    "area": parse_area("Mill Creek | geocode: SAME=006067"),
    "expires": datetime(2026, 11, 23, 3, 30, tzinfo=UTC),  # 9:30 PM Sunday in Chicago
    "count": Decimal("12500.5"),
    "wait": parse_duration("1h30m"),
    "level": "go",
}


def render(source: str, lang: str = "en", tz: ZoneInfo = CHICAGO, values: dict | None = None) -> str:  # type: ignore[type-arg]
    return render_source(source, fact_context(SPECS, VALUES if values is None else values, lang, tz, main_lang="en"))


def test_facts_are_formatted_per_language_and_time_zone() -> None:
    assert render("{{ area }} until {{ expires }}") == "Mill Creek until 9:30 PM Sunday"
    assert render("{{ area }} hasta las {{ expires }}", "es") == "Mill Creek hasta las 9:30 p. m. del domingo"
    assert render("{{ expires|time }}", "es") == "9:30 p. m."  # es-US: the 12-hour clock, "p. m." with a space
    assert render("{{ expires|time }} / {{ expires|date }}") == "9:30 PM / Sunday, November 22"
    assert render("{{ expires|date }}", "es") == "domingo 22 de noviembre"
    assert render("{{ expires|time }}", tz=ZoneInfo("Europe/Madrid")) == "4:30 AM"
    assert render("{{ count }} / {{ wait }} / {{ level }}") == "12,500.5 / 1 hour and 30 minutes / leave now"
    assert render("{{ wait }} / {{ level }}", "es") == "1 hora y 30 minutos / salga ahora"


def test_optional_facts_and_empty_lines_disappear_cleanly() -> None:
    source = "Go now.\n{% if shelter %}Shelter: {{ shelter }}.{% endif %}\nCall 211."
    assert render(source) == "Go now.\nCall 211."
    with_shelter = render(source, values={**VALUES, "shelter": "Mill High"})
    assert with_shelter == "Go now.\nShelter: Mill High.\nCall 211."


def test_a_missing_fact_is_named_not_blank() -> None:
    values = {k: v for k, v in VALUES.items() if k != "expires"}
    with pytest.raises(MissingFact, match="'expires' is needed"):
        render("until {{ expires|time }}", values=values)
    with pytest.raises(MissingFact, match="'shelter'"):
        render("go to {{ shelter }}")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ area.__class__ }}", "attributes"),
        ("{{ area['description'] }}", "index"),
        ("{{ area.description }}", "attributes"),
        ("{{ lipsum() }}", "refused"),
        ("{{ range(10) }}", "refused"),
        ("{{ nobody }}", "not a fact"),
        ("{{ area|attr('description') }}", "No filter named 'attr'"),
        ("{% include 'x' %}", "failed"),
        ("{{ count|time }}", "datetime"),
    ],
)
def test_the_sandbox_refuses_code(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render(source)


def test_static_checks_find_what_rendering_would_refuse() -> None:
    names, problems = check_source("{{ area.x }}\n{{ foo(1) }}\n{{ area|shout }}\n{% include 'a' %}")
    assert [line for line, _ in problems] == [1, 2, 3, 4]
    assert names == {"area", "foo"}
    _, syntax = check_source("{% if %}")
    assert syntax[0][1].startswith("template syntax")


def test_output_is_capped() -> None:
    bomb = "{% for a in 'xxxxxxxxxx' %}" * 6 + "{{ area }}" + "{% endfor %}" * 6
    with pytest.raises(TemplateError, match="longer than"):
        render(bomb)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}%#|.()[]'\" \nareacountexpires_ifendforin")), max_size=80))
def test_no_template_text_does_more_than_fail_cleanly(source: str) -> None:
    try:
        out = render(source)
    except UserError:
        return
    assert len(out) <= 10_000


# -- limits: a hostile template fails in milliseconds, naming the limit, with little memory ---------------------

LETTERS = "'" + "x" * 5000 + "'"
BOMBS = {
    "a huge text, assigned": ('{% set s = "x" * 2000000000 %}', "'\\*' would build 2,000,000,000 characters"),
    "a huge text, written": ('{{ "x" * 10**9 }}', "'\\*' would build 1,000,000,000 characters"),
    "a huge list": ("{% set l = ['x'] * 10**8 %}", "'\\*' would build 100,000,000 characters or items"),
    "a huge number": ("{{ 9**(9**9) }}", "a number has more than 20 digits"),
    "a huge number, step by step": ("{{ 10**19 * 10**19 }}", "a number has more than 20 digits"),
    "a number literal of 5,000 digits": ("{{ " + "9" * 5000 + " }}", "a number has more than 20 digits"),
    "text formatted to a gigabyte": ('{% set s = "%0999999999d" % 1 %}', "cannot format text with '%'"),
    "nested loops over long texts": (
        f"{{% for a in {LETTERS} %}}{{% for b in {LETTERS} %}}{{% endfor %}}{{% endfor %}}",
        "loops ran more than 10,000 times",
    ),
    "nested loops over multiplied texts": (
        '{% for a in "x" * 10000 %}{% for b in "x" * 10000 %}{% endfor %}{% endfor %}',
        "loops ran more than 10,000 times",
    ),
    "nested loops over range()": (
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        "cannot call functions",  # there is no range: a template has no globals and cannot call
    ),
    "a huge range()": ("{{ range(10**12) }}", "cannot call functions"),
    "join over a big range()": ('{{ range(10**9)|join("x") }}', "No filter named 'join'"),
    "~ doubling a text": ('{% set s = "ab" %}' + "{% set s = s ~ s %}" * 40, "'~' would build 16,384 characters"),
    "~ in a loop": ('{% for a in "x" * 9000 %}{{ "ab" ~ a }}{% endfor %}', "output is longer than 10,000 characters"),
    "a loop captured by set": (
        '{% set s %}{% for a in "x" * 9000 %}{{ "ab" ~ a }}{% endfor %}{% endset %}',
        "output is longer than 10,000 characters",
    ),
    "texts built in a loop": (
        '{% for a in "x" * 1000 %}{% set t = "y" * 5000 %}{% endfor %}',
        "built more than 1,000,000 characters",
    ),
    "a list written out": ("{{ ['" + "x" * 1000 + "'] * 10000 }}", "not a list"),
    "a list joined": ("{{ ['" + "x" * 1000 + "'] * 10000 ~ 'x' }}", "not a list"),
    "a macro calling itself": ("{% macro m(s) %}{{ m(s ~ s) }}{% endmacro %}{{ m('ab') }}", "cannot call functions"),
    "brackets nested 500 deep": ("{{ " + "(" * 500 + "1" + ")" * 500 + " }}", "nested more than 30 levels deep"),
    "5,000 additions": ("{{ 1" + "+1" * 5000 + " }}", "nested more than 30 levels deep"),
    "2,000 nots": ("{{ " + "not " * 2000 + "1 }}", "nested more than 30 levels deep"),
    "ifs nested 100 deep": ("{% if 1 %}" * 100 + "x" + "{% endif %}" * 100, "nested more than 30 levels deep"),
    # Comparing two lists of 10,000 different 5,000-letter texts costs 50 MB a time and no operator: the
    # processor-time backstop stops it.
    "costly comparisons in a loop": (
        '{% set a = ["x" * 5000] * 10000 %}{% set b = ["x" * 5000] * 10000 %}'
        '{% for i in "x" * 10000 %}{% if a == b %}{% endif %}{% endfor %}',
        "took more than 0.25 s of processor time",
    ),
}


def _measured(source: str) -> tuple[TemplateError | None, float, float]:
    """(the error, seconds, peak MiB allocated) of rendering ``source``."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        render(source)
        error = None
    except TemplateError as exc:
        error = exc
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return error, seconds, peak


@pytest.mark.timeout(60)  # before the limits, several of these ran for minutes or ate gigabytes
@pytest.mark.parametrize(("source", "message"), list(BOMBS.values()), ids=list(BOMBS))
def test_a_hostile_template_stops_quickly_at_a_named_limit(source: str, message: str) -> None:
    error, seconds, peak = _measured(source)
    assert error is not None, "rendered without error"
    assert re.search(message, str(error)), str(error)
    assert seconds < 3, f"{seconds:.2f} s"  # about 1-300 ms measured; generous for a busy machine
    assert peak < 64, f"{peak:.0f} MiB"  # the texts and lists allowed: a few MiB


def test_static_checks_name_the_limits_before_rendering() -> None:
    _, problems = check_source("{{ " + "(" * 500 + "1" + ")" * 500 + " }}")
    assert problems == [(1, "template is nested more than 30 levels deep, the most allowed")]
    _, problems = check_source("line 1\n{{ 123456789012345678901 }}")
    assert problems == [(2, "a number has more than 20 digits, the most allowed")]
    _, problems = check_source("{% for a in range(10**12) %}{{ a }}{% endfor %}")
    assert problems == [(1, "templates cannot call functions")]
    _, problems = check_source("x" * 20_001)
    assert problems == [(1, "template is longer than 20,000 characters")]


def test_what_a_template_may_do_within_the_limits_still_works() -> None:
    assert render("{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 10**19 }}") == (
        "ababab 1024 3 1 10000000000000000000"
    )
    assert render("{% for c in 'abc' %}{{ c|upper }}{% endfor %}") == "ABC"
    assert render("{% set s %}{{ area }}{% endset %}{{ s ~ '!' }}") == "Mill Creek!"
    assert render("{{ 'x' * 10000 }}") == "x" * 10_000  # exactly at the limit
    assert render('{% for a in "x" * 99 %}{% for b in "x" * 100 %}{% endfor %}{% endfor %}done') == "done"
    assert render("{{ none }} {{ 1.5 }} {{ true }}") == "None 1.5 True"

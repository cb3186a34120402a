"""The template sandbox and per-language formatting."""

from __future__ import annotations

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
    return render_source(source, fact_context(SPECS, VALUES if values is None else values, lang, tz))


def test_facts_are_formatted_per_language_and_time_zone() -> None:
    assert render("{{ area }} until {{ expires }}") == "Mill Creek until 9:30 PM Sunday"
    assert render("{{ area }} hasta las {{ expires }}", "es") == "Mill Creek hasta las 21:30 del domingo"
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

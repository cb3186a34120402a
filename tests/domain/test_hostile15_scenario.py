"""Hostile scenario text: every mistake is a one-line problem at file:line:column, never an exception."""

from __future__ import annotations

import pytest

from crisisdesk.domain.scenario import parse_scenario
from tests.integration.drill_helpers import scenario_text

HUGE = "99999999999999h"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("duration: 1h", f"duration: {HUGE}"),
        ("for: 20m", f"for: {HUGE}"),
        ("within: 10m", f"within: {HUGE}"),
        ("at: T+5m", f"at: T+{HUGE}"),
        ("at: T+5m", "at: T+99999999999999999999m"),
        ("duration: 1h", "duration: PT99999999999999999H"),
    ],
)
def test_a_duration_too_long_for_any_clock_is_a_problem_at_its_place(old: str, new: str) -> None:
    text = scenario_text().replace(old, new, 1)
    assert new in text
    scenario, _, problems = parse_scenario(text, "huge.yaml")
    assert scenario is None
    assert problems, "refused"
    line = text[: text.index(new)].count("\n") + 1
    assert any(p.line == line for p in problems), problems
    assert all("\n" not in p.message for p in problems)


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\ufffe"])
def test_a_character_yaml_refuses_is_one_line_at_its_line_and_column(bad: str) -> None:
    text = scenario_text().replace("name: Test flash flood", f"name: Test {bad}flash flood")
    scenario, _, problems = parse_scenario(text, "ctl.yaml")
    assert scenario is None
    [problem] = problems
    assert "\n" not in str(problem) and "\n" not in problem.message, problem
    assert (problem.line, problem.column) == (2, 12), problem

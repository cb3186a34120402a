"""A playbook file is bounded before it is built: aliases, size, nesting and number of values, each refused at
once with the limit named, at the file, line and column where it was reached."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from crisisdesk.app import shipped_playbooks_dir
from crisisdesk.domain.validate import validate_text

FLOOD = (shipped_playbooks_dir() / "flash-flood.yaml").read_text(encoding="utf-8")


def billion_laughs() -> str:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)]
    return "\n".join(lines) + "\n"


def checked(text: str) -> tuple[list[str], float, float]:
    """(problems, seconds, peak MiB allocated) of validating ``text``: timed once, then once more to measure the
    memory (tracing allocations makes it several times slower)."""
    start = time.perf_counter()
    playbook, problems = validate_text(text, "bomb.yaml")
    seconds = time.perf_counter() - start
    assert playbook is None
    tracemalloc.start()
    try:
        validate_text(text, "bomb.yaml")
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return [str(p) for p in problems], seconds, peak


@pytest.mark.timeout(120)  # before: over 60 s and 2.9 GB
def test_a_billion_laughs_is_refused_at_its_first_alias() -> None:
    problems, seconds, peak = checked(billion_laughs() + FLOOD)
    assert problems == [
        "bomb.yaml:2:12: YAML: an alias (*l0) repeats a value: write the value out in full, playbooks use none"
    ]
    assert seconds < 3, f"{seconds:.2f} s"  # about 1 ms measured
    assert peak < 16, f"{peak:.1f} MiB"


def test_even_one_small_alias_is_refused_but_an_anchor_alone_is_harmless() -> None:
    text = FLOOD.replace("languages: [en, es]", "languages: &languages [en, es]", 1)
    assert validate_text(text, "ok.yaml")[1] == []
    text = text.replace("sender:\n", "sender_short: *languages\nsender:\n", 1)
    problems, _, _ = checked(text)
    line = text.splitlines().index("sender_short: *languages") + 1
    assert problems == [
        f"bomb.yaml:{line}:15: YAML: an alias (*languages) repeats a value: write the value out in full, "
        "playbooks use none"
    ]


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    limit = "bomb.yaml:1:1: the file is larger than 128 KiB (131,072 bytes), the most a playbook may be"
    problems, seconds, _ = checked(FLOOD + "# " + "x" * 50_000_000 + "\n")
    assert (problems, seconds < 3) == ([limit], True)
    # Counted in bytes: 70,000 letters of two bytes each are over it.
    assert checked(FLOOD + "# " + "é" * 70_000 + "\n")[0] == [limit]
    assert validate_text(FLOOD + "# " + "x" * 100_000 + "\n", "big.yaml")[1] == []  # under it: valid


@pytest.mark.timeout(120)  # before: RecursionError, exit 70
def test_deep_nesting_is_refused_without_recursion() -> None:
    text = FLOOD + "deep: " + "[" * 50_000 + "]" * 50_000 + "\n"
    problems, seconds, peak = checked(text)
    line = text.count("\n")
    # The root mapping is level 1, 'deep' level 2: the 20th '[' is level 21.
    assert problems == [f"bomb.yaml:{line}:26: YAML: nested more than 20 levels deep, the most a playbook may be"]
    assert seconds < 3, f"{seconds:.2f} s"
    assert peak < 16, f"{peak:.1f} MiB"
    # At the limit it is only an unknown key.
    at_limit = FLOOD + "deep: " + "[" * 19 + "]" * 19 + "\n"
    assert checked(at_limit)[0] == [f"bomb.yaml:{line}:1: unknown key 'deep' (at deep)"]


def test_more_values_than_a_playbook_has_are_refused() -> None:
    text = FLOOD + "junk: [" + "1," * 20_000 + "1]\n"
    problems, seconds, _ = checked(text)
    assert len(problems) == 1
    assert problems[0].endswith(": YAML: more than 5,000 values, the most a playbook may have")
    assert seconds < 3, f"{seconds:.2f} s"


def test_a_value_python_cannot_read_is_a_placed_problem_not_a_crash() -> None:
    # Before: ValueError out of PyYAML, exit 70.
    text = FLOOD.replace("reading_grade: 8", "reading_grade: " + "1" * 5000)
    assert checked(text)[0] == [
        "bomb.yaml:11:16: YAML: cannot read '1111111111111111111111111111111111111...': Exceeds the limit (4300 "
        "digits) for integer string conversion: value has 5000 digits"
    ]
    text = FLOOD.replace('version: "1.2"', "version: 2026-13-45")
    assert checked(text)[0] == ["bomb.yaml:6:10: YAML: cannot read '2026-13-45': month must be in 1..12"]


@pytest.mark.parametrize("name", ["America", "a" * 300])
def test_a_time_zone_that_is_a_folder_or_too_long_is_a_problem_not_a_crash(name: str) -> None:
    # Before: IsADirectoryError or OSError (file name too long) out of zoneinfo, exit 70.
    text = FLOOD.replace("timezone: America/Los_Angeles", f"timezone: {name}")
    assert checked(text)[0] == [
        f"bomb.yaml:10:11: unknown time zone {name!r}: use an IANA name such as America/Chicago"
    ]

"""The shipped playbook library and validation of broken copies, through the service and the CLI."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crisisdesk.app import App, playbook_service, resources_dir, shipped_playbooks_dir, user_playbooks_dir
from crisisdesk.cli import main
from crisisdesk.domain.cap import parse_xml
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import parse_area
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.messages import parse_values, render_message
from crisisdesk.domain.render import TemplateError
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.domain.text_rules import Channel
from crisisdesk.domain.validate import EXAMPLE_MOMENT, validate_text
from crisisdesk.services.playbooks import PlaybookService
from tests.support.measured import MEASURED_CLI

SHIPPED = sorted(shipped_playbooks_dir().glob("*.yaml"))
FLOOD = shipped_playbooks_dir() / "flash-flood.yaml"
EXPECTED_IDS = {
    "flash-flood",
    "wildfire-evacuation",
    "tornado",
    "winter-storm",
    "extreme-heat",
    "earthquake",
    "boil-water",
    "power-outage",
    "hazmat-shelter",
    "public-health",
    "missing-child",
    "911-outage",
}


@pytest.fixture(scope="module")
def service():  # type: ignore[no-untyped-def]
    return playbook_service()


def test_the_library_has_twelve_valid_playbooks(service) -> None:  # type: ignore[no-untyped-def]
    library = service.load()
    assert library.problems == []
    assert set(library.playbooks) == EXPECTED_IDS
    for pb in library.playbooks.values():
        assert pb.languages == ["en", "es"]
        assert set(pb.messages) == set(MESSAGE_TYPES)
        assert pb.checklist and pb.facts and pb.channels


SENDER = "oes@millcounty.example"  # the sample county's agency, as 'crisisdesk init --cap-sender' would set it


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_template_renders_within_limits_lint_clean_and_as_valid_cap(service, path: Path) -> None:  # type: ignore[no-untyped-def]
    playbook = service.get(path.stem)
    tz = ZoneInfo(playbook.timezone)
    now = service.clock.now()  # the real clock: the example times are relative, so this works on any day
    values = parse_values(playbook, playbook.example_facts(now, tz), tz)
    for message_type in MESSAGE_TYPES:
        for mode in MODES:
            rendered = service.render(path.stem, message_type, None, {}, example_facts=True, mode=mode)
            for lang in playbook.languages:
                variants = render_message(playbook, message_type, lang, values, mode=mode, tz=tz)
                assert {v.channel for v in variants} == {c.value for c in Channel}
                for v in variants:
                    where = f"{path.stem} {message_type}/{lang}/{v.channel} ({mode})"
                    assert not v.measure.over, where
                    assert v.clean, (where, v.findings, v.text)
                    if mode == "exercise":
                        assert ("EXERCISE" if lang == "en" else "SIMULACRO") in v.text, where
            for ipaws in (False, True):
                xml = service.cap(rendered, ipaws=ipaws, sender=SENDER)
                # The schema, the CAP rules (expires after sent among them) and, with IPAWS, every profile rule.
                problems = service.check_cap(xml, ipaws=ipaws)
                assert problems == [], (path.stem, message_type, mode, problems)
                alert = parse_xml(xml)
                assert alert.status == ("Exercise" if mode == "exercise" else "Actual")
                assert [i.language for i in alert.infos] == ["en-US", "es-US"]
                assert all("Z" not in t for t in (alert.sent, *(i.expires or "" for i in alert.infos)))
                assert alert.sender == SENDER and alert.identifier.startswith(f"crisisdesk-{path.stem}-")
                expires = [datetime.fromisoformat(i.expires or "") for i in alert.infos]
                assert all(e > datetime.fromisoformat(alert.sent) for e in expires), "examples must not expire"
                if ipaws:
                    for info in alert.infos:
                        assert_ipaws_choices(playbook, message_type, mode, info)


def assert_ipaws_choices(playbook, message_type: str, mode: str, info) -> None:  # type: ignore[no-untyped-def]
    """The channels and WEA handling each shipped alert asks IPAWS for (the rules in playbooks/README.md)."""
    params = [(n, v) for n, v in info.parameters]
    blocked = {v for n, v in params if n == "BLOCKCHANNEL"}
    handling = [v for n, v in params if n == "WEAHandling"]
    where = (playbook.id, message_type, mode, info.language)
    assert ("EAS-ORG", "CIV") in params, where
    if mode == "exercise":
        assert blocked == {"CMAS", "EAS", "NWEM", "PUBLIC"} and handling == [], where
        return
    assert "PUBLIC" not in blocked and "CAPEXCH" not in blocked, where
    wea = playbook.sends_wea()
    assert ("CMAS" in blocked) is not wea, where
    assert any(n == "CMAMtext" for n, _ in params) is wea, where
    imminent = (playbook.cap.urgency in ("Immediate", "Expected") and playbook.cap.severity in ("Extreme", "Severe")
                and playbook.cap.certainty in ("Observed", "Likely"))  # fmt: skip
    meant = imminent if playbook.cap.eas is None else playbook.cap.eas
    broadcast = meant and message_type != "all-clear"
    assert {"EAS", "NWEM"} & blocked == (set() if broadcast else {"EAS", "NWEM"}), where
    if not wea or playbook.cap.same_event == "CAE":
        assert handling == [], where
    elif message_type in ("cancel", "all-clear"):
        assert handling == ["Public Safety"], where  # Past, Minor, Observed: not an imminent threat
    else:
        assert handling == ["Imminent Threat" if imminent else "Public Safety"], where


def test_the_sample_county_is_one_place() -> None:
    """Every shipped playbook speaks for the same sample county: its zone, its SAME code, shapes inside it, phone
    numbers in its area code from the range kept for fiction, and example times relative to now."""
    library = playbook_service().load()
    for pb in library.playbooks.values():
        assert pb.timezone == "America/Los_Angeles", pb.id
        for name, fact in pb.facts.items():
            if fact.type.value == "area":
                area = parse_area(fact.examples(pb.languages)[pb.main_language])  # the shapes are in the first
                assert area.geocodes == (("SAME", "006067"),), (pb.id, name)
                for polygon in area.polygons:
                    assert all(SACRAMENTO_COUNTY.contains(lat, lon) for lat, lon in polygon), (pb.id, polygon)
                for lat, lon, _ in area.circles:
                    assert SACRAMENTO_COUNTY.contains(lat, lon), (pb.id, name)
            elif fact.type.value == "phone":
                assert fact.example == "211" or re.fullmatch(r"\(916\) 555-01\d\d", fact.example), (pb.id, name)
            elif fact.type.value == "datetime":
                assert re.fullmatch(r"[+-]\d+[hm](\d+m)?", fact.example), (pb.id, name, fact.example)
        for text in pb.monitoring.areas:
            for lat, lon, _ in parse_area(text).circles:
                assert SACRAMENTO_COUNTY.contains(lat, lon), (pb.id, text)


@dataclass(frozen=True)
class Box:
    south: float
    north: float
    west: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


# Well inside Sacramento County, California (SAME 006067): north of the Delta, south of the Placer County line,
# east of the Sacramento River and west of the Amador and El Dorado lines.
SACRAMENTO_COUNTY = Box(south=38.30, north=38.68, west=-121.50, east=-121.05)


def test_example_times_are_read_from_now_when_rendering_and_from_a_fixed_moment_when_validating() -> None:
    clock = FixedClock(datetime(2026, 3, 9, 17, 5, 42, tzinfo=UTC))
    service = PlaybookService([shipped_playbooks_dir()], resources_dir() / "CAP-v1.2.xsd", clock)
    rendered = service.render("earthquake", "alert", ["en"], {}, example_facts=True)
    sacramento = ZoneInfo("America/Los_Angeles")  # 17:05 UTC is 10:05 PDT; seconds are dropped
    assert rendered.values["felt_at"] == datetime(2026, 3, 9, 9, 45, tzinfo=sacramento)  # -20m
    assert rendered.values["expires"] == datetime(2026, 3, 9, 12, 5, tzinfo=sacramento)  # +2h
    flood = validate_text(FLOOD.read_text(), "flood.yaml")[0]
    assert flood is not None
    assert flood.example_facts(EXAMPLE_MOMENT.replace(tzinfo=UTC), UTC)["expires"] == "2026-11-22T21:30"
    broken = FLOOD.read_text().replace('    example: "+2h"', '    example: "+2 fortnights"')
    assert problems_for(broken) == [
        f"broken.yaml:{line_of(broken, '+2 fortnights')}:14: example of 'expires' does not fit its type datetime: "
        "'2 fortnights' is not a duration: write 90m, 2h, 1h30m or PT2H"
    ]


# -- broken copies: every problem at its file, line and column ---------------------------------------


def line_of(text: str, needle: str, nth: int = 0) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[nth]


def problems_for(text: str) -> list[str]:
    playbook, problems = validate_text(text, "broken.yaml")
    assert playbook is None
    return [str(p) for p in problems]


def test_a_schema_error_points_at_the_value() -> None:
    text = FLOOD.read_text().replace("reading_grade: 8", "reading_grade: eight")
    assert problems_for(text) == [
        f"broken.yaml:{line_of(text, 'reading_grade')}:16: reading_grade: "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_an_unknown_key_points_at_the_key() -> None:
    text = FLOOD.read_text().replace("  update_every: 30m", "  update_every: 30m\n  update_evry: 1h")
    [problem] = problems_for(text)
    assert (
        problem == f"broken.yaml:{line_of(text, 'update_evry')}:3: unknown key 'update_evry' (at cadence.update_evry)"
    )


def test_a_template_naming_an_undeclared_fact_points_at_the_template() -> None:
    text = FLOOD.read_text().replace(
        "Go to higher ground now. Do not drive into water.{% if route %}",
        "Go to {{ safe_spot }} now. Do not drive into water.{% if route %}",
    )
    [problem] = problems_for(text)
    line = line_of(text, "{{ safe_spot }}")
    column = text.splitlines()[line - 1].index("safe_spot") + 1
    assert problem == f"broken.yaml:{line}:{column}: the template names 'safe_spot', which is not a declared fact"


def test_missing_cancel_and_correction_templates_are_named() -> None:
    text = FLOOD.read_text()
    start, end = text.index("  correction:\n    en:"), text.index("  all-clear:\n")
    problems = problems_for(text[:start] + text[end:])
    messages_line = line_of(text, "messages:")
    assert (
        f"broken.yaml:{messages_line}:1: missing the 'cancel' template (every playbook ships pre-approved "
        "correction and cancel messages)" in problems
    )
    assert (
        f"broken.yaml:{messages_line}:1: missing the 'correction' template (every playbook ships pre-approved "
        "correction and cancel messages)" in problems
    )


def test_a_missing_language_variant_is_named() -> None:
    text = FLOOD.read_text()
    start = text.index('    es:\n      headline: "ACTUALIZACIÓN')
    end = text.index("  correction:\n    en:")
    problems = problems_for(text[:start] + text[end:])
    assert problems == [f"broken.yaml:{line_of(text, '  update:')}:3: missing the 'es' text of 'update'"]


def test_text_over_a_channel_limit_for_the_example_facts_is_found() -> None:
    long = "Flash Flood Warning here until {{ expires|time }}. Go to higher ground right now and stay there, please."
    text = FLOOD.read_text().replace(
        '"Flash Flood Warning here until {{ expires|time }}. Go to higher ground now."', f'"{long}"'
    )
    problems = problems_for(text)
    wea_line = line_of(text, long)
    rendered = len(long.replace("{{ expires|time }}", "9:30 PM"))  # the example expiry
    assert (
        f"broken.yaml:{wea_line}:15: alert/en/wea-90 with the example facts (live): "
        f"CD001 too long for wea-90: {rendered} characters, limit 90" in problems
    )
    assert (
        f"broken.yaml:{wea_line}:15: alert/en/wea-90 with the example facts (exercise): "
        f"CD001 too long for wea-90: {rendered + 10} characters, limit 90" in problems
    )


def test_sandbox_violations_and_yaml_errors_are_located() -> None:
    text = FLOOD.read_text().replace(
        "Use {{ route }} to reach higher ground.", "Use {{ route.__class__ }} to reach higher ground."
    )
    [problem] = problems_for(text)
    assert problem.startswith(f"broken.yaml:{line_of(text, 'route.__class__')}:")
    assert "cannot read attributes" in problem
    broken = FLOOD.read_text().replace("hazard: flood", "hazard: [flood")
    [problem] = problems_for(broken)
    assert problem.startswith(f"broken.yaml:{line_of(broken, 'hazard: [flood') + 1}:")


def test_a_duplicate_key_is_found() -> None:
    text = FLOOD.read_text().replace("hazard: flood", "hazard: flood\nhazard: water")
    assert problems_for(text) == [f"broken.yaml:{line_of(text, 'hazard: water')}:1: duplicate key 'hazard'"]


def test_one_bad_file_never_stops_the_others(tmp_path: Path) -> None:
    (tmp_path / "flash-flood.yaml").write_text(FLOOD.read_text())
    (tmp_path / "broken.yaml").write_text("id: [oops\n")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00junk")
    library = playbook_service().load([tmp_path])
    assert list(library.playbooks) == ["flash-flood"]
    assert {Path(p.source).name for p in library.problems} == {"broken.yaml", "binary.yaml"}


# -- the command line -----------------------------------------------------------------------------------


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(err):
        code = main(list(args), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue(), err.getvalue()


def test_cli_validate_passes_on_the_library_and_fails_on_a_broken_copy(tmp_path: Path) -> None:
    code, out, err = run("playbooks", "validate")
    assert (code, out) == (0, "")
    assert "12 playbook(s) valid" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text(FLOOD.read_text().replace("reading_grade: 8", "reading_grade: eight"))
    code, out, _ = run("playbooks", "validate", str(bad), str(FLOOD))
    assert code == 1
    assert out.startswith(f"{bad}:{line_of(bad.read_text(), 'reading_grade')}:16: reading_grade:")
    assert run("playbooks", "validate", str(tmp_path / "none.yaml"))[0] == 2


def test_cli_list_and_render_json(tmp_path: Path) -> None:
    code, out, _ = run("playbooks", "list", "--json")
    assert code == 0 and {p["id"] for p in json.loads(out)} == EXPECTED_IDS
    code, out, _ = run("playbooks", "render", "tornado", "--type", "alert", "--lang", "es", "--example-facts", "--json")
    assert code == 0
    variants = json.loads(out)
    assert {v["channel"] for v in variants} == {c.value for c in Channel}
    sms = next(v for v in variants if v["channel"] == "sms")
    assert set(sms) == {"channel", "lang", "text", "length", "unit", "limit", "segments", "encoding", "findings"}
    assert (sms["lang"], sms["unit"], sms["encoding"]) == ("es", "ucs2-units", "ucs-2")
    code, out, _ = run(
        "playbooks",
        "render",
        "tornado",
        "--type",
        "alert",
        "--lang",
        "en",
        "--example-facts",
        "--fact",
        "expires=2026-05-03T18:15",
        "--mode",
        "exercise",
        "--json",
    )
    wea = next(v for v in json.loads(out) if v["channel"] == "wea-90")
    assert wea["text"] == "EXERCISE: Tornado Warning here until 6:15 PM. Take shelter now."


def test_cli_render_cap_validates(tmp_path: Path) -> None:
    code, out, err = run(
        "playbooks",
        "render",
        "flash-flood",
        "--type",
        "cancel",
        "--example-facts",
        "--cap",
        "--ipaws",
        "--sender",
        SENDER,
        "--reference",
        f"{SENDER},MillOES-flash-flood-1,2026-11-22T19:00:00-08:00",
    )
    assert (code, err) == (0, "")
    path = tmp_path / "cancel.xml"
    path.write_text(out)
    assert run("cap", "validate", str(path), "--profile", "ipaws")[0] == 0
    alert = parse_xml(out.encode())
    assert (alert.msg_type, alert.sender, alert.references) == (
        "Cancel",
        SENDER,
        f"{SENDER},MillOES-flash-flood-1,2026-11-22T19:00:00-08:00",
    )
    # With no workstation to read the agency from, the CAP says so, and the IPAWS check names the sender.
    code, out, err = run("playbooks", "render", "flash-flood", "--type", "alert", "--example-facts", "--ipaws")
    assert code == 1 and parse_xml(out.encode()).sender == "sender-not-set.invalid"
    assert err.splitlines() == [
        "crisisdesk: CAP: sender 'sender-not-set.invalid': a placeholder; IPAWS needs the sender your alerting "
        "authority was given (set it with 'crisisdesk settings agency --cap-sender')"
    ]
    code, _, err = run("playbooks", "render", "flash-flood", "--type", "alert", "--example-facts", "--cap",
                       "--sender", "crisisdesk@localhost")  # fmt: skip
    assert code == 2 and "is a placeholder" in err


def test_cli_render_names_a_missing_or_bad_fact() -> None:
    code, _, err = run("playbooks", "render", "flash-flood", "--type", "alert", "--lang", "en")
    assert code == 2 and "is needed but was not given" in err
    code, _, err = run(
        "playbooks", "render", "flash-flood", "--type", "alert", "--example-facts", "--fact", "expires=tonight"
    )
    assert code == 2 and "fact expires: 'tonight' is not a date and time" in err
    code, _, err = run("playbooks", "render", "nope", "--type", "alert")
    assert code == 2 and "no playbook 'nope'" in err


def test_cli_text_check() -> None:
    code, out, _ = run("text", "check", "--channel", "sms", "--json", "Evacúe ahora")
    record = json.loads(out)
    assert code == 0 and (record["length"], record["encoding"], record["segments"]) == (12, "ucs-2", 1)
    code, out, _ = run("text", "check", "--channel", "x", "--json", "-", stdin="Info https://example.gov/a/b/c\n")
    assert json.loads(out)["length"] == 5 + 23
    code, out, _ = run("text", "check", "--channel", "wea-90", "x" * 91)
    assert code == 1 and "CD001" in out
    assert run("text", "check", "--channel", "fax", "hi")[0] == 2


@pytest.mark.parametrize(
    ("channel", "text", "length", "segments"),
    [
        # Issue 13's examples, as each platform counts them (X: twitter-text v3; Mastodon: its server's
        # StatusLengthValidator; SMS: the parts an encoder packs).
        ("x", "Family 👨‍👩‍👧‍👦 shelter 🇺🇸 at école #FloodSafety", 42, 1),
        ("x", "Shelter ⚠️ now", 14, 1),
        ("x", "H🐱☺👨‍👩‍👧‍👦", 7, 1),
        ("x", "See goo.gl/maps/abc", 27, 1),
        ("x", "Info: europa.eu", 29, 1),
        ("x", "Visit ready.nyc now", 33, 1),
        ("x", "ftp://example.gov/file", 22, 1),
        ("mastodon", "नमस्ते evacuate now", 16, 1),
        ("sms", "a" * 152 + "€" + "a" * 152, 306, 3),
        ("sms", "a" * 66 + "🚨" + "a" * 66, 134, 3),
    ],
)
def test_cli_text_check_counts_as_the_platform_does(channel: str, text: str, length: int, segments: int) -> None:
    _, out, _ = run("text", "check", "--channel", channel, "--json", "-", stdin=text + "\n")
    record = json.loads(out)
    assert (record["length"], record["segments"]) == (length, segments)
    _, out, _ = run("text", "check", "--channel", channel, text)
    assert f"{length}/" in out and f"{segments} part(s)" in out


def test_cli_text_check_refuses_an_sms_past_its_parts() -> None:
    # 611 septets, under 4 x 153, but packed (no escape pair split) it takes 5 parts.
    code, out, _ = run("text", "check", "--channel", "sms", "€" * 305 + "a")
    assert code == 1 and "CD001" in out and "5 parts" in out


def test_cli_cap_validate_reports_reasons() -> None:
    data = Path(__file__).parents[1] / "data" / "cap"
    code, out, _ = run("cap", "validate", str(data / "invalid" / "invalid.cap"))
    assert code == 1 and "scope" in out
    code, out, _ = run("cap", "validate", str(data / "oasis" / "v1dot2_appendix_adot4.xml"))
    assert code == 0 and out.strip().endswith("valid CAP 1.2")
    code, out, _ = run(
        "cap", "validate", "--json", "--profile", "ipaws", str(data / "oasis" / "v1dot2_appendix_adot1.xml")
    )
    assert code == 1 and any("IPAWSv1.0" in p for p in json.loads(out)["problems"])
    code, out, _ = run("cap", "validate", str(data / "invalid" / "xee.cap"))
    assert code == 1


# -- playbooks cannot exhaust the machine: each bomb refused at once, through the real command line ------------

LONG = "      long: |\n        Mill County Emergency Management: a Flash"


# Where flash-flood.yaml has its English alert's 'long' text, and its end: the bombs below are reported there.
LONG_LINE = FLOOD.read_text()[: FLOOD.read_text().index(LONG)].count("\n") + 1
END_LINE = len(FLOOD.read_text().splitlines()) + 1


def in_template(bomb: str) -> str:
    """flash-flood with ``bomb`` as the first line of its English alert's 'long' text."""
    text = FLOOD.read_text()
    assert LONG in text
    return text.replace(LONG, LONG.replace("        Mill", f"        {bomb}\n        Mill"), 1)


def billion_laughs() -> str:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)]
    return "\n".join(lines) + "\n" + FLOOD.read_text()


# name: (playbook text, line and column of the problem, what its line says)
PLAYBOOK_BOMBS: dict[str, tuple[Callable[[], str], tuple[int, int], str]] = {
    "alias bomb": (billion_laughs, (2, 12), "YAML: an alias (*l0) repeats a value"),
    "50 MB file": (
        lambda: FLOOD.read_text() + "# " + "x" * 50_000_000 + "\n",
        (1, 1),
        "the file is larger than 128 KiB (131,072 bytes)",
    ),
    "YAML nested 50,000 deep": (
        lambda: FLOOD.read_text() + "deep: " + "[" * 50_000 + "]" * 50_000 + "\n",
        (END_LINE, 26),
        "YAML: nested more than 20 levels deep",
    ),
    'set s = "x" * 2000000000': (
        lambda: in_template('{% set s = "x" * 2000000000 %}'),
        (LONG_LINE, 13),
        "alert/en/long with the example facts: template stopped at a limit: '*' would build 2,000,000,000 characters",
    ),
    '"x" * 10**9': (
        lambda: in_template('{{ "x" * 10**9 }}'),
        (LONG_LINE, 13),
        "'*' would build 1,000,000,000 characters",
    ),
    "nested loops": (
        lambda: in_template('{% for a in "x" * 10000 %}{% for b in "x" * 10000 %}{% endfor %}{% endfor %}'),
        (LONG_LINE, 13),
        "loops ran more than 10,000 times",
    ),
    "nested loops over range()": (
        lambda: in_template("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"),
        (LONG_LINE + 1, 13),
        "templates cannot call functions",
    ),
    "~ doubling": (
        lambda: in_template('{% set s = "ab" %}' + "{% set s = s ~ s %}" * 40),
        (LONG_LINE, 13),
        "'~' would build 16,384 characters",
    ),
    "9**(9**9)": (lambda: in_template("{{ 9**(9**9) }}"), (LONG_LINE, 13), "a number has more than 20 digits"),
    "template nested 500 deep": (
        lambda: in_template("{{ " + "(" * 500 + "1" + ")" * 500 + " }}"),
        (LONG_LINE + 1, 13),
        "template is nested more than 30 levels deep",
    ),
}


@dataclass
class Ran:
    code: int | None  # None: killed at the deadline
    out: str
    err: str
    seconds: float  # of the command itself
    peak_mib: float  # the command's peak resident memory


def run_process(tmp_path: Path, *args: str, deadline: float = 120) -> Ran:
    """The command line in a separate process, killed if it outlives ``deadline``: a bomb that is not refused
    fails the test instead of hanging it or taking the machine's memory."""
    took, out, err = tmp_path / "took", tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", MEASURED_CLI, str(took), "0", *args], stdout=stdout, stderr=stderr
        )
        timer = threading.Timer(deadline, proc.kill)
        timer.start()
        try:
            code = proc.wait()
        finally:
            timer.cancel()
    measured = json.loads(took.read_text()) if took.exists() else {"seconds": float("inf"), "peak_kib": float("inf")}
    return Ran(
        None if code < 0 else code, out.read_text(), err.read_text(), measured["seconds"], measured["peak_kib"] / 1024
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", list(PLAYBOOK_BOMBS))
def test_validating_a_bomb_fails_at_once_in_one_line_naming_the_limit(tmp_path: Path, name: str) -> None:
    build, (line, column), says = PLAYBOOK_BOMBS[name]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(build())
    ran = run_process(tmp_path, "playbooks", "validate", str(bomb))
    # Before: exit 70 (MemoryError, RecursionError) after up to a minute and 3-8 GB, or "valid" after 20-50 s.
    assert ran.code == 1, (ran.code, ran.err)
    problem, *more = ran.out.splitlines()
    assert problem.startswith(f"{bomb}:{line}:{column}: ") and says in problem, problem
    if "range" in name:  # also: two calls, and 'range' is not a fact
        assert len(more) == 2 and all(p.startswith(f"{bomb}:{line}:") for p in more), more
    else:
        assert more == []
    assert ran.err == f"crisisdesk: {1 + len(more)} problem(s); 0 playbook(s) valid\n"
    # Measured: 0.01-0.6 s (the most when the whole good part of the playbook is checked too), 55-61 MiB.
    assert ran.seconds < 3, f"{ran.seconds:.2f} s"
    assert ran.peak_mib < 200, f"{ran.peak_mib:.0f} MiB"


@pytest.mark.timeout(300)
def test_a_bomb_in_the_user_folder_does_not_stop_playbooks_list(tmp_path: Path) -> None:
    folder = user_playbooks_dir()
    folder.mkdir(parents=True)
    (folder / "laughs.yaml").write_text(billion_laughs())
    (folder / "loops.yaml").write_text(PLAYBOOK_BOMBS["nested loops"][0]())
    ran = run_process(tmp_path, "playbooks", "list")
    # Before: killed by the memory guard or a minute's deadline, having listed nothing.
    assert ran.code == 0, (ran.code, ran.err)
    assert {line.split()[0] for line in ran.out.splitlines()} == EXPECTED_IDS
    assert ran.err == (
        f"crisisdesk: 2 problem(s) kept 2 file(s) out: {folder / 'laughs.yaml'}, {folder / 'loops.yaml'}; "
        "'crisisdesk playbooks validate' shows them\n"
    )
    assert ran.peak_mib < 200, f"{ran.peak_mib:.0f} MiB"


def fact_dependent_bomb(bomb: str) -> str:
    """A playbook that validates (its example facts include the optional route) and bombs without the route."""
    return in_template("{% if not route %}" + bomb + "{% endif %}").replace("id: flash-flood", "id: flood-bomb", 1)


@pytest.mark.timeout(120)
def test_rendering_stays_bounded_for_facts_validation_did_not_try(tmp_path: Path) -> None:
    (tmp_path / "flood-bomb.yaml").write_text(fact_dependent_bomb('{% set s = "x" * 2000000000 %}'))
    clock = FixedClock(datetime(2026, 11, 22, tzinfo=UTC))
    service = PlaybookService([tmp_path], resources_dir() / "CAP-v1.2.xsd", clock)
    assert service.load().problems == []
    facts = {"area": "Mill Creek", "expires": "2026-11-22T21:30", "info_url": "https://x.gov", "phone": "211"}
    start = time.perf_counter()
    with pytest.raises(TemplateError, match="'\\*' would build 2,000,000,000 characters"):
        service.render("flood-bomb", "alert", None, facts)  # what drafting a message calls
    assert time.perf_counter() - start < 3


@pytest.mark.timeout(120)
def test_drafting_a_message_stays_bounded(core: App, admin: Actor) -> None:
    folder = user_playbooks_dir()
    folder.mkdir(parents=True)
    loops = '{% for a in "x" * 10000 %}{% for b in "x" * 10000 %}{% endfor %}{% endfor %}'
    (folder / "flood-bomb.yaml").write_text(fact_dependent_bomb(loops))
    core.people.add(admin, "carla", [Role.COMMUNICATOR], "carla password")
    carla = core.people.actor("carla")
    facts = {"area": "Mill Creek", "expires": "2026-11-22T21:30", "info_url": "https://x.gov", "phone": "211"}
    incident = core.incidents().open(carla, "flood-bomb", Mode.LIVE, facts=facts)
    start = time.perf_counter()
    with pytest.raises(UserError, match="loops ran more than 10,000 times"):
        core.messages().draft(carla, incident.id, "alert")
    assert time.perf_counter() - start < 3


@pytest.mark.timeout(60)
def test_a_named_pipe_or_device_is_not_read_as_a_playbook(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # reading it would wait forever for a writer
    library = playbook_service().load([fifo, Path("/dev/zero")])
    assert [str(p) for p in library.problems] == [
        f"{fifo}:1:1: not a regular file: a playbook is a .yaml file",
        "/dev/zero:1:1: not a regular file: a playbook is a .yaml file",
    ]

"""The shipped playbook library and validation of broken copies, through the service and the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crisisdesk.app import playbook_service, shipped_playbooks_dir
from crisisdesk.cli import main
from crisisdesk.domain.cap import parse_xml
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.messages import parse_values, render_message
from crisisdesk.domain.text_rules import Channel
from crisisdesk.domain.validate import validate_text

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


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_template_renders_within_limits_lint_clean_and_as_valid_cap(service, path: Path) -> None:  # type: ignore[no-untyped-def]
    playbook = service.get(path.stem)
    tz = ZoneInfo(playbook.timezone)
    values = parse_values(playbook, playbook.example_facts(), tz)
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
                xml = service.cap(rendered, ipaws=ipaws)
                assert service.check_cap(xml, ipaws=ipaws) == [], (path.stem, message_type, mode)
                alert = parse_xml(xml)
                assert alert.status == ("Exercise" if mode == "exercise" else "Actual")
                assert [i.language for i in alert.infos] == ["en-US", "es-US"]
                assert all("Z" not in t for t in (alert.sent, *(i.expires or "" for i in alert.infos)))


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
        "--reference",
        "crisisdesk@localhost,flash-flood-1,2026-11-22T19:00:00-06:00",
    )
    assert (code, err) == (0, "")
    path = tmp_path / "cancel.xml"
    path.write_text(out)
    assert run("cap", "validate", str(path), "--profile", "ipaws")[0] == 0
    alert = parse_xml(out.encode())
    assert (alert.msg_type, alert.references) == (
        "Cancel",
        "crisisdesk@localhost,flash-flood-1,2026-11-22T19:00:00-06:00",
    )


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

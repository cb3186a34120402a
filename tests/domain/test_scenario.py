"""A scenario file is checked like a playbook: every mistake is one problem at the file, line and column where it is
written, in the file's own words; hostile YAML is refused at once."""

from __future__ import annotations

import time

import pytest

from crisisdesk.app import playbook_service
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.scenario import InjectKind, Measure, parse_scenario, validate_scenario

SOURCE = "river.yaml"
BASE = """\
id: river-drill
name: River drill
summary: A short drill on the flash flood playbook.
duration: 1h
incidents:
  - key: flood
    playbook: flash-flood
    facts:
      area: "Mill Creek valley | geocode: SAME=006067"
      info_url: https://ready.millcounty.gov/flood
accounts: [exercise-page]
objectives:
  - id: first-alert
    title: The alert goes out within 10 minutes of the warning
    expect: {measure: first-message, after: warning, within: 10m}
  - id: triage
    title: Urgent questions are triaged within 5 minutes
    expect: {measure: triage, after: question, within: 5m}
  - id: recovery
    title: The outbox delivers within 5 minutes of the network's return
    expect: {measure: outbox-recovery, after: network, within: 5m}
  - id: checklist
    title: The checklist is kept
    expect: {measure: checklist, at_least: 0.75}
injects:
  - id: warning
    at: T+0
    kind: cap-alert
    file: cap/flood.xml
  - id: question
    at: T+5m
    kind: comment
    text: Is the school road flooded?
    language: en
    urgent: true
  - id: sheriff
    at: T+10m
    kind: note
    source: a phone call from the sheriff
    text: Highway 16 is closed at the creek.
  - id: network
    at: T+20m
    kind: network-loss
    for: 15m
"""
EXERCISE_ACCOUNTS = ["exercise-page", "exercise-sms"]


@pytest.fixture(scope="module")
def library() -> dict[str, Playbook]:
    return playbook_service().load().playbooks


def problems(text: str, library: dict[str, Playbook], **kw: object) -> list[str]:
    kw.setdefault("exercise_accounts", EXERCISE_ACCOUNTS)
    scenario, found = validate_scenario(text, SOURCE, playbooks=library, **kw)  # type: ignore[arg-type]
    assert (scenario is None) == bool(found)
    return [str(p) for p in found]


def line_of(text: str, line_text: str, nth: int | None = None) -> int:
    """The number of the line holding ``line_text``: the only one, or the ``nth`` (from 0)."""
    lines = [n + 1 for n, line in enumerate(text.splitlines()) if line_text in line]
    assert nth is not None or len(lines) == 1, (line_text, lines)
    return lines[nth or 0]


def at(text: str, line_text: str, value: str, message: str, nth: int | None = None) -> str:
    """``river.yaml:LINE:COLUMN: message`` for ``value`` on the line holding ``line_text``."""
    number = line_of(text, line_text, nth)
    line = text.splitlines()[number - 1]
    return f"{SOURCE}:{number}:{line.index(value, line.index(line_text)) + 1}: {message}"


def changed(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# -- a good scenario ---------------------------------------------------------------------------------------------


def test_the_base_scenario_is_clean_and_read_whole(library: dict[str, Playbook]) -> None:
    scenario, found = validate_scenario(BASE, SOURCE, playbooks=library, exercise_accounts=EXERCISE_ACCOUNTS)
    assert found == []
    assert scenario is not None
    assert [i.kind for i in scenario.injects] == [
        InjectKind.CAP_ALERT,
        InjectKind.COMMENT,
        InjectKind.NOTE,
        InjectKind.NETWORK_LOSS,
    ]
    assert [o.expect.measure for o in scenario.objectives] == [
        Measure.FIRST_MESSAGE,
        Measure.TRIAGE,
        Measure.OUTBOX_RECOVERY,
        Measure.CHECKLIST,
    ]
    assert scenario.inject("network").offset.total_seconds() == 20 * 60
    assert scenario.playbooks == ["flash-flood"]
    # Only the playbooks' ids, without their facts, and no accounts to check: clean too.
    assert validate_scenario(BASE, SOURCE, playbooks={"flash-flood"})[1] == []


# -- the schema, in the file's words -----------------------------------------------------------------------------


def test_a_missing_key_is_named_without_the_inject_kind_in_its_path(library: dict[str, Playbook]) -> None:
    text = changed("  - id: sheriff\n    at: T+10m\n", "  - id: sheriff\n")
    assert problems(text, library) == [at(text, "- id: sheriff", "id", "missing 'at' (at injects.2.at)")]


def test_a_bad_time_says_how_to_write_one(library: dict[str, Playbook]) -> None:
    text = changed("at: T+5m", "at: 5 minutes in")
    assert problems(text, library) == [
        at(
            text,
            "at: 5 minutes in",
            "5",
            "injects.1.at: '5 minutes in' is not a time from the start: write T+0, T+5m or T+1h30m",
        )
    ]


def test_an_unknown_inject_kind_is_named_with_the_kinds_there_are(library: dict[str, Playbook]) -> None:
    text = changed("kind: note", "kind: phone-call")
    assert problems(text, library) == [
        at(
            text,
            "kind: phone-call",
            "phone-call",
            "injects.2.kind: 'phone-call' is not an inject kind: use one of "
            "feed-item, cap-alert, comment, note, channel-outage, network-loss",
        )
    ]


def test_an_inject_without_a_kind(library: dict[str, Playbook]) -> None:
    text = changed("    kind: note\n", "")
    assert problems(text, library) == [
        at(
            text,
            "- id: sheriff",
            "id",
            "missing 'kind' (at injects.2.kind): one of feed-item, cap-alert, comment, "
            "note, channel-outage, network-loss",
        )
    ]


def test_an_outage_says_how_long_with_for(library: dict[str, Playbook]) -> None:
    text = changed("    for: 15m\n", "    lasting: 15m\n")
    assert problems(text, library) == [
        at(text, "- id: network", "id", "missing 'for' (at injects.3.for)"),
        at(text, "lasting: 15m", "lasting", "unknown key 'lasting' (at injects.3.lasting)"),
    ]


def test_a_scenario_that_is_not_a_mapping(library: dict[str, Playbook]) -> None:
    assert problems("- just\n- a list\n", library) == [
        f"{SOURCE}:1:1: a scenario is a YAML mapping (id: ..., name: ..., injects: ...)"
    ]


# -- cross-references, one test a mistake --------------------------------------------------------------------------


def test_an_inject_id_used_twice(library: dict[str, Playbook]) -> None:
    text = changed("  - id: sheriff", "  - id: question")
    first = line_of(text, "- id: question", 0)
    assert problems(text, library) == [
        at(
            text,
            "- id: question",
            "question",
            f"inject id 'question' is used twice (first on line {first}): give each its own",
            nth=1,
        )
    ]


def test_an_objective_id_used_twice(library: dict[str, Playbook]) -> None:
    text = changed("  - id: checklist", "  - id: triage")
    first = line_of(text, "- id: triage", 0)
    assert problems(text, library) == [
        at(
            text,
            "- id: triage",
            "triage",
            f"objective id 'triage' is used twice (first on line {first}): give each its own",
            nth=1,
        )
    ]


def test_an_incident_key_used_twice(library: dict[str, Playbook]) -> None:
    text = changed("accounts:", "  - key: flood\n    playbook: power-outage\naccounts:")
    assert problems(text, library) == [
        at(
            text,
            "- key: flood",
            "flood",
            "incident key 'flood' is used twice (first on line 6): give each its own",
            nth=1,
        )
    ]


def test_an_account_listed_twice(library: dict[str, Playbook]) -> None:
    text = changed("accounts: [exercise-page]", "accounts: [exercise-page, exercise-page]")
    assert problems(text, library) == [
        f"{SOURCE}:11:27: account 'exercise-page' is used twice (first on line 11): give each its own"
    ]


def test_an_inject_for_an_incident_the_scenario_does_not_have(library: dict[str, Playbook]) -> None:
    text = changed("    kind: note\n", "    kind: note\n    incident: fire\n")
    assert problems(text, library) == [
        at(text, "incident: fire", "fire", "no incident 'fire' in this scenario (its incidents: flood)")
    ]


def test_with_several_incidents_an_inject_and_an_objective_say_which(library: dict[str, Playbook]) -> None:
    text = changed("accounts:", "  - key: power\n    playbook: power-outage\naccounts:")
    # The comment needs its incident, the note does not (a note may be for everyone), the cap alert is named by
    # the first-message objective and gives it its incident; the checklist objective must say which.
    text = changed("    file: cap/flood.xml\n", "    file: cap/flood.xml\n    incident: flood\n", text)
    assert problems(text, library) == [
        at(
            text,
            "{measure: checklist",
            "{",
            "objective 'checklist': say which incident it measures (incident: one "
            "of flood, power); the scenario has several",
        ),
        at(
            text,
            "- id: question",
            "question",
            "inject 'question': say which incident it is for (incident: one of flood, power); the scenario has several",
        ),
    ]


def test_an_objective_for_an_incident_the_scenario_does_not_have(library: dict[str, Playbook]) -> None:
    text = changed("{measure: checklist, at_least: 0.75}", "{measure: checklist, at_least: 0.75, incident: fire}")
    assert problems(text, library) == [
        at(text, "incident: fire", "fire", "no incident 'fire' in this scenario (its incidents: flood)")
    ]


def test_an_objective_after_an_inject_that_does_not_exist(library: dict[str, Playbook]) -> None:
    text = changed("after: warning", "after: warnign")
    assert problems(text, library) == [
        at(text, "after: warnign", "warnign", "no inject 'warnign' (the injects: network, question, sheriff, warning)")
    ]


def test_triage_is_measured_after_a_comment_and_only_an_urgent_one(library: dict[str, Playbook]) -> None:
    text = changed("after: question", "after: sheriff")
    assert problems(text, library) == [
        at(text, "after: sheriff", "sheriff", "triage is measured after a comment inject; 'sheriff' is a note")
    ]
    text = changed("    urgent: true\n", "")
    assert problems(text, library) == [
        at(
            text,
            "after: question",
            "question",
            "'question' is not urgent: triage is measured for urgent comments (urgent: true)",
        )
    ]
    # Without 'after' every urgent comment counts, so there must be one.
    text = changed("after: question, ", "", text)
    assert problems(text, library) == [
        at(
            text,
            "{measure: triage",
            "{",
            "objective 'triage': no urgent comment to triage (a comment inject with urgent: true)",
        )
    ]


def test_outbox_recovery_is_measured_after_an_outage(library: dict[str, Playbook]) -> None:
    text = changed("{measure: outbox-recovery, after: network,", "{measure: outbox-recovery, after: warning,")
    assert problems(text, library) == [
        at(
            text,
            "after: warning, within: 5m",
            "warning",
            "outbox-recovery is measured after a channel-outage, network-loss inject; 'warning' is a cap-alert",
        )
    ]


def test_a_first_message_without_after_is_measured_from_the_start(library: dict[str, Playbook]) -> None:
    text = changed("{measure: first-message, after: warning, within: 10m}", "{measure: first-message, within: 10m}")
    assert problems(text, library) == []


def test_after_where_nothing_is_measured_after_an_inject(library: dict[str, Playbook]) -> None:
    text = changed("{measure: checklist, at_least: 0.75}", "{measure: approval-latency, after: warning, within: 2m}")
    assert problems(text, library) == [
        at(
            text,
            "approval-latency, after",
            "after",
            "approval-latency is not measured after an inject: leave out 'after'",
        )
    ]
    # A correction is measured from the wrong message's publication, whatever inject led to it.
    text = changed("{measure: checklist, at_least: 0.75}", "{measure: correction, after: sheriff, within: 15m}")
    assert problems(text, library) == [
        at(text, "correction, after", "after", "correction is not measured after an inject: leave out 'after'")
    ]


def test_a_time_target_where_the_measure_needs_one_and_not_where_it_has_none(library: dict[str, Playbook]) -> None:
    text = changed("after: question, within: 5m}", "after: question}")
    assert problems(text, library) == [
        at(text, "{measure: triage", "{", "objective 'triage': triage needs a time target (within: 10m)")
    ]
    text = changed("{measure: checklist, at_least: 0.75}", "{measure: checklist, within: 30m}")
    assert problems(text, library) == [
        at(text, "checklist, within", "within", "checklist has no time target: its target is a share (at_least)")
    ]
    text = changed("{measure: checklist, at_least: 0.75}", "{measure: cadence, within: 30m}")
    assert problems(text, library) == [
        at(
            text,
            "cadence, within",
            "within",
            "cadence has no time target: its target is the playbook's cadence (update_every)",
        )
    ]
    text = changed("after: question, within: 5m}", "after: question, within: 5m, at_least: 0.5}")
    assert problems(text, library) == [
        at(
            text,
            "at_least: 0.5",
            "at_least",
            "triage is measured in time (within), not as a share: leave out 'at_least'",
        )
    ]


def test_a_playbook_that_does_not_exist(library: dict[str, Playbook]) -> None:
    text = changed("playbook: flash-flood", "playbook: flashflood")
    [problem] = problems(text, library)
    assert problem.startswith(
        at(
            text,
            "playbook: flashflood",
            "flashflood",
            "no playbook 'flashflood' (the playbooks: 911-outage, boil-water, earthquake,",
        )
    )
    assert problems(text, library, exercise_accounts=None) == [problem]
    assert [str(p) for p in validate_scenario(text, SOURCE, playbooks=["flash-flood", "tornado"])[1]] == [
        at(text, "playbook: flashflood", "flashflood", "no playbook 'flashflood' (the playbooks: flash-flood, tornado)")
    ]


def test_a_fact_the_playbook_does_not_declare_or_cannot_read(library: dict[str, Playbook]) -> None:
    text = changed("      info_url:", "      depth: 3 ft\n      expires: tonight\n      info_url:")
    assert problems(text, library) == [
        at(
            text,
            "depth: 3 ft",
            "depth",
            "flash-flood has no fact 'depth'; its facts are: area, expires, route, "
            "shelter, info_url, phone, correction, false_alarm",
        ),
        at(
            text,
            "expires: tonight",
            "tonight",
            "fact expires: 'tonight' is not a date and time: write 2026-11-22T21:30 or 2026-11-22 21:30-06:00",
        ),
    ]


def test_an_inject_after_the_end_and_an_outage_lasting_past_it(library: dict[str, Playbook]) -> None:
    text = changed("at: T+10m", "at: T+1h5m")
    assert problems(text, library) == [
        at(text, "at: T+1h5m", "T+", "T+1h5m is after the scenario's end (duration: 1h)")
    ]
    text = changed("    for: 15m\n", "    for: 45m\n")
    assert problems(text, library) == [
        at(
            text,
            "for: 45m",
            "45m",
            "the outage lasts past the scenario's end (duration: 1h): the outbox's recovery could not be seen",
        )
    ]


def test_an_outage_of_an_account_that_is_not_an_exercise_account(library: dict[str, Playbook]) -> None:
    outage = "  - id: sms-down\n    at: T+30m\n    kind: channel-outage\n    account: {name}\n    for: 20m\n"
    # Not among the accounts the scenario declares.
    text = BASE + outage.format(name="exercise-sms")
    assert problems(text, library) == [
        at(
            text,
            "account: exercise-sms",
            "exercise-sms",
            "'exercise-sms' is not among the scenario's accounts (exercise-page): add it there",
        )
    ]
    # Declared, but not an exercise account on this workstation (a live one, say): the declaration and the outage.
    text = changed("accounts: [exercise-page]", "accounts: [exercise-page, county-sms]", BASE) + outage.format(
        name="county-sms"
    )
    why = (
        "'county-sms' is not an exercise channel account here (the exercise accounts: exercise-page, "
        "exercise-sms); add it with 'crisisdesk channels add KIND county-sms --exercise'"
    )
    assert problems(text, library) == [
        at(text, "accounts: [", "county-sms", why),
        at(text, "account: county", "county-sms", why),
    ]
    # The scenario declaring none: the outage's account is checked alone; without the workstation's accounts, not.
    text = changed("accounts: [exercise-page]\n", "", BASE) + outage.format(name="county-sms")
    assert problems(text, library) == [at(text, "account: county", "county-sms", why)]
    assert problems(text, library, exercise_accounts=None) == []


def test_a_cap_file_outside_the_scenarios_folder(library: dict[str, Playbook]) -> None:
    for path in ("/etc/passwd", "../../secrets.xml", "cap/../../x.xml", "~/alert.xml", "C:/alerts/x.xml"):
        text = changed("file: cap/flood.xml", f"file: {path}")
        assert problems(text, library) == [
            at(
                text,
                "file: ",
                path[0],
                f"{path!r}: give the CAP file's path from the scenario's folder, inside it (cap/alert.xml)",
            )
        ]


def test_an_unknown_time_zone(library: dict[str, Playbook]) -> None:
    text = changed("duration: 1h", "duration: 1h\ntimezone: America")
    assert problems(text, library) == [
        at(
            text,
            "timezone: America",
            "America",
            "unknown time zone 'America': use an IANA name such as America/Chicago",
        )
    ]


def test_several_mistakes_are_all_reported_in_the_files_order(library: dict[str, Playbook]) -> None:
    text = changed("playbook: flash-flood", "playbook: nope")
    text = changed("after: warning", "after: nowhere", text)
    text = changed("at: T+10m", "at: T+2h", text)
    found = problems(text, library)
    assert [p.split(":")[1] for p in found] == [
        str(line_of(text, "playbook: nope")),
        str(line_of(text, "after: nowhere")),
        str(line_of(text, "at: T+2h")),
    ]


# -- hostile input, refused like a playbook ---------------------------------------------------------------------


def test_an_alias_is_refused_with_scenario_in_the_message(library: dict[str, Playbook]) -> None:
    text = changed("accounts: [exercise-page]", "accounts: &a [exercise-page]\nparticipants: *a")
    assert problems(text, library) == [
        at(
            text,
            "participants: *a",
            "*",
            "YAML: an alias (*a) repeats a value: write the value out in full, scenarios use none",
        )
    ]


def test_a_billion_laughs_is_refused_at_once(library: dict[str, Playbook]) -> None:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 10)]
    start = time.perf_counter()
    assert problems("\n".join(lines) + "\n" + BASE, library) == [
        f"{SOURCE}:2:12: YAML: an alias (*l0) repeats a value: write the value out in full, scenarios use none"
    ]
    assert time.perf_counter() - start < 3


def test_a_huge_file_is_refused_before_it_is_parsed(library: dict[str, Playbook]) -> None:
    start = time.perf_counter()
    assert problems(BASE + "# " + "x" * 50_000_000 + "\n", library) == [
        f"{SOURCE}:1:1: the file is larger than 128 KiB (131,072 bytes), the most a scenario may be"
    ]
    assert time.perf_counter() - start < 3
    assert problems(BASE + "# " + "x" * 100_000 + "\n", library) == []  # under the limit: fine


def test_deep_nesting_is_refused_without_recursion(library: dict[str, Playbook]) -> None:
    text = BASE + "deep: " + "[" * 50_000 + "]" * 50_000 + "\n"
    start = time.perf_counter()
    assert problems(text, library) == [
        f"{SOURCE}:{text.count(chr(10))}:26: YAML: nested more than 20 levels deep, the most a scenario may be"
    ]
    assert time.perf_counter() - start < 3


def test_too_many_values_are_refused(library: dict[str, Playbook]) -> None:
    text = BASE + "many: [" + ", ".join(["1"] * 6000) + "]\n"
    [problem] = problems(text, library)
    assert problem.endswith("YAML: more than 5,000 values, the most a scenario may have")


def test_parse_scenario_gives_positions_for_the_service(library: dict[str, Playbook]) -> None:
    scenario, pos, found = parse_scenario(BASE, SOURCE)
    assert scenario is not None and found == []
    assert pos.at(("injects", 3, "for")) == (line_of(BASE, "for: 15m"), 10)


def test_an_objective_naming_another_incident_than_its_inject(library: dict[str, Playbook]) -> None:
    text = changed("accounts:", "  - key: power\n    playbook: power-outage\naccounts:")
    text = changed("    file: cap/flood.xml\n", "    file: cap/flood.xml\n    incident: flood\n", text)
    text = changed("    language: en\n", "    language: en\n    incident: flood\n", text)
    text = changed(
        "{measure: checklist, at_least: 0.75}", "{measure: checklist, at_least: 0.75, incident: power}", text
    )
    text = changed("after: warning, within: 10m}", "after: warning, within: 10m, incident: power}", text)
    assert problems(text, library) == [
        at(text, "incident: power}", "power", "'warning' is for incident 'flood', not 'power'", nth=0)
    ]

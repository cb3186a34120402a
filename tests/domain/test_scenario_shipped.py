"""The three shipped scenarios validate clean against the shipped playbooks, and their CAP files are valid CAP 1.2
alerts with status Exercise that crisisdesk's own CAP reader reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from crisisdesk.app import playbook_service
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.scenario import CapAlertInject, InjectKind, Measure, Scenario, validate_scenario
from crisisdesk.feeds.parse import parse_xml

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
CAP_SCHEMA = etree.XMLSchema(etree.parse(str(REPO / "resources" / "CAP-v1.2.xsd")))
CAP_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
# What the players create before a drill (scenarios/README.md says so): exercise-page exists on every workstation.
EXERCISE_ACCOUNTS = ["exercise-page", "exercise-social"]


@pytest.fixture(scope="module")
def library() -> dict[str, Playbook]:
    return playbook_service().load().playbooks


def checked(path: Path, library: dict[str, Playbook]) -> Scenario:
    scenario, problems = validate_scenario(
        path.read_text(encoding="utf-8"), str(path), playbooks=library, exercise_accounts=EXERCISE_ACCOUNTS
    )
    assert [str(p) for p in problems] == []
    assert scenario is not None
    return scenario


def test_the_three_scenarios_are_shipped() -> None:
    assert [p.name for p in SHIPPED] == ["false-alarm-hawaii-2018.yaml", "flash-flood.yaml", "power-outage.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_shipped_scenario_validates_clean_and_names_its_accounts(path: Path, library: dict[str, Playbook]) -> None:
    scenario = checked(path, library)
    assert scenario.id == path.stem
    assert scenario.accounts and all(a.startswith("exercise-") for a in scenario.accounts)
    for account in scenario.accounts:  # the controller reads which accounts to have in the summary
        assert account in " ".join(scenario.summary.split()), (account, scenario.summary)
    # Two players at least, a communicator and an approver: the approval is a second person's.
    assert {"communicator", "approver"} <= {p.role.value for p in scenario.participants}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_cap_file_is_a_valid_cap_12_exercise_alert(path: Path, library: dict[str, Playbook]) -> None:
    scenario = checked(path, library)
    for inject in scenario.injects:
        if not isinstance(inject, CapAlertInject):
            continue
        file = path.parent / inject.file
        document = etree.parse(str(file))
        assert CAP_SCHEMA.validate(document), (file.name, CAP_SCHEMA.error_log)
        assert document.getroot().findtext(f"{CAP_NS}status") == "Exercise"
        assert "../shared/data/cap/" in file.read_text(encoding="utf-8")  # its model is named in a comment
        [item] = parse_xml(file.read_bytes())
        assert item.extra["cap"]["status"] == "Exercise"
        assert item.title.startswith(("EXERCISE", "Update: EXERCISE")), item.title
        assert item.polygons  # the playbook's monitoring area can match it


def test_the_flash_flood_has_an_alert_two_updates_and_urgent_comments_in_two_languages(
    library: dict[str, Playbook],
) -> None:
    scenario = checked(SCENARIOS / "flash-flood.yaml", library)
    kinds = {i.kind for i in scenario.injects}
    assert {InjectKind.CAP_ALERT, InjectKind.COMMENT, InjectKind.NOTE} <= kinds
    urgent = [i for i in scenario.injects if i.kind is InjectKind.COMMENT and i.urgent]
    assert {i.language for i in urgent} == {"en", "es"}
    measures = {o.expect.measure: o.expect for o in scenario.objectives}
    assert measures[Measure.FIRST_MESSAGE].within == "10m"
    # Two updates on the playbook's 30-minute cadence fit after an alert at about T+10m.
    cadence = library["flash-flood"].cadence.update_every
    assert cadence == "30m" and scenario.length.total_seconds() >= 10 * 60 + 2 * 30 * 60


def test_the_false_alarm_is_measured_from_the_wrong_alert_to_the_correction_everywhere(
    library: dict[str, Playbook],
) -> None:
    scenario = checked(SCENARIOS / "false-alarm-hawaii-2018.yaml", library)
    [correction] = [o.expect for o in scenario.objectives if o.expect.measure is Measure.CORRECTION]
    assert correction.within is not None and correction.within == "15m"  # Hawaii 2018 took 38 minutes
    assert scenario.incidents[0].playbook == "tornado"
    assert library["tornado"].false_alarm_fact() is not None


def test_the_power_outage_fails_one_account_then_the_network_and_measures_the_outbox(
    library: dict[str, Playbook],
) -> None:
    scenario = checked(SCENARIOS / "power-outage.yaml", library)
    outages = {i.kind: i for i in scenario.injects if i.kind in (InjectKind.CHANNEL_OUTAGE, InjectKind.NETWORK_LOSS)}
    assert outages[InjectKind.CHANNEL_OUTAGE].account == "exercise-social"
    assert outages[InjectKind.CHANNEL_OUTAGE].lasting == "20m"
    assert outages[InjectKind.NETWORK_LOSS].lasting == "15m"
    recovery = [o.expect.after for o in scenario.objectives if o.expect.measure is Measure.OUTBOX_RECOVERY]
    assert sorted(recovery) == sorted(i.id for i in outages.values())  # type: ignore[type-var]


def readme() -> str:
    return (SCENARIOS / "README.md").read_text(encoding="utf-8")


def test_the_readme_example_validates_clean(library: dict[str, Playbook]) -> None:
    text = readme()
    start = text.index("## A short example")
    block = text[text.index("```yaml\n", start) + len("```yaml\n") : text.index("```\n", start + 20)]
    scenario, problems = validate_scenario(
        block, str(SCENARIOS / "example.yaml"), playbooks=library, exercise_accounts=EXERCISE_ACCOUNTS
    )
    assert [str(p) for p in problems] == []
    assert scenario is not None and scenario.injects[0].kind is InjectKind.CAP_ALERT
    assert (SCENARIOS / scenario.injects[0].file).is_file()  # type: ignore[union-attr]


def test_the_readme_documents_every_key_every_kind_and_every_measure() -> None:
    from crisisdesk.domain.scenario import (
        ChannelOutageInject,
        CommentInject,
        DrillIncident,
        Expectation,
        FeedItemInject,
        NetworkLossInject,
        NoteInject,
        Objective,
        Participant,
    )

    text = readme()
    models = (Scenario, DrillIncident, Objective, Expectation, Participant, FeedItemInject, CapAlertInject,
              CommentInject, NoteInject, ChannelOutageInject, NetworkLossInject)  # fmt: skip
    for model in models:
        for name, field in model.model_fields.items():
            key = field.alias or name
            assert f"`{key}`" in text or f"{key}:" in text, (model.__name__, key)
    for kind in InjectKind:
        assert f"| `{kind.value}` |" in text, kind
    for measure in Measure:
        assert f"| `{measure.value}` |" in text, measure
    for path in SHIPPED:
        assert f"`{path.name}`" in text, path.name

"""Corrections and cancels of the shipped playbooks do their job (the Hawaii lesson), in English and Spanish.

A correction says what was wrong and what is true now on every channel, the 90-character WEA text too; a cancel
says the alert no longer applies; a false alarm's cancel and correction say the alert was sent in error and that
there is no danger, and say nothing that contradicts it (such as "stay on high ground").
"""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crisisdesk.app import playbook_service, shipped_playbooks_dir
from crisisdesk.domain.message_types import MODES
from crisisdesk.domain.messages import Variant, parse_values, render_message
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.validate import EXAMPLE_MOMENT, validate_text

SHIPPED = sorted(shipped_playbooks_dir().glob("*.yaml"))
# The CAP instruction says what to do; the CAP description next to it says the rest.
STATING = {"sms", "wea-90", "wea-360", "x", "mastodon", "bluesky", "facebook", "email-subject", "email-body", "web",
           "cap-headline", "cap-description"}  # fmt: skip
# Written out here, apart from the lint's own lists, so that a lint that stopped looking would not pass these.
CANCELED = {"en": re.compile(r"\bcancel(?:l)?ed\b|\bno longer applies\b", re.I),
            "es": re.compile(r"\bse cancel[oó]\b|\bcancelad[oa]\b|\bya no está vigente\b", re.I)}  # fmt: skip
IN_ERROR = {"en": re.compile(r"\bsent in error\b", re.I), "es": re.compile(r"\bse envió por error\b", re.I)}
# What is true now after a false alarm: no danger, or, where the alert was not about a danger at a place, its
# plain opposite (911 works; no one needs to look for the child; there is no large outage).
NO_DANGER = {
    "en": re.compile(r"\bno (?:\w+ ){0,2}danger\b|\b911 works\b|\bneed to look\b|\bno large (?:power )?outage\b", re.I),
    "es": re.compile(
        r"\bno hay (?:\w+ )?peligro\b|\bel 911 funciona\b|\bno hay que buscar\b|\bno hay un apagón\b", re.I
    ),
}
# What a false alarm's texts must not say: that the alert still holds, or to keep acting on it.
STILL_ON = {"en": re.compile(r"still in effect|stay on high ground|stay in your safe place|stay inside", re.I),
            "es": re.compile(r"sigue vigente|permanezca en un lugar alto|quédese adentro", re.I)}  # fmt: skip


@pytest.fixture(scope="module")
def library() -> dict[str, Playbook]:
    return playbook_service().load().playbooks


def example_values(playbook: Playbook, *, false_alarm: bool = False) -> dict[str, object]:
    tz = ZoneInfo(playbook.timezone)
    raw = playbook.example_facts(EXAMPLE_MOMENT.replace(tzinfo=tz), tz)
    flag = playbook.false_alarm_fact()
    assert flag is not None, f"{playbook.id} has no false-alarm fact"
    if false_alarm:
        raw[flag[0]] = flag[1]
    return parse_values(playbook, raw, tz)


def rendered(
    playbook: Playbook, message_type: str, lang: str, mode: str, *, false_alarm: bool = False
) -> list[Variant]:
    tz = ZoneInfo(playbook.timezone)
    values = example_values(playbook, false_alarm=false_alarm)
    return render_message(playbook, message_type, lang, values, mode=mode, tz=tz)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_correction_states_the_corrected_fact_on_every_channel(library, path: Path) -> None:  # type: ignore[no-untyped-def]
    playbook = library[path.stem]
    name = playbook.correction_fact()
    assert name is not None and playbook.facts[name].role == "correction"
    # Written in each language: the Spanish correction states the Spanish value.
    assert playbook.facts[name].translated
    examples = playbook.facts[name].examples(playbook.languages)
    assert examples["es"] != examples["en"]
    for lang in playbook.languages:
        fact = examples[lang]
        for mode in MODES:
            for v in rendered(playbook, "correction", lang, mode):
                where = (path.stem, lang, mode, v.channel)
                assert v.clean and not v.measure.over, (where, v.findings, v.text)
                if v.channel in STATING:
                    assert fact in " ".join(v.text.split()), (where, v.text)
                    assert not IN_ERROR[lang].search(v.text), (where, v.text)  # an ordinary correction


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_cancel_says_the_alert_no_longer_applies(library, path: Path) -> None:  # type: ignore[no-untyped-def]
    playbook = library[path.stem]
    for lang in playbook.languages:
        for mode in MODES:
            for v in rendered(playbook, "cancel", lang, mode):
                where = (path.stem, lang, mode, v.channel)
                assert v.clean and not v.measure.over, (where, v.findings, v.text)
                if v.channel in STATING:
                    assert CANCELED[lang].search(v.text), (where, v.text)
                    assert not IN_ERROR[lang].search(v.text), (where, v.text)  # not every cancel is a false alarm


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
@pytest.mark.parametrize("message_type", ["cancel", "correction"])
def test_a_false_alarm_says_sent_in_error_and_no_danger_in_both_languages(
    library, path: Path, message_type: str
) -> None:  # type: ignore[no-untyped-def]
    playbook = library[path.stem]
    assert playbook.languages == ["en", "es"]
    for lang in playbook.languages:
        for mode in MODES:
            for v in rendered(playbook, message_type, lang, mode, false_alarm=True):
                where = (path.stem, message_type, lang, mode, v.channel)
                assert v.clean and not v.measure.over, (where, v.findings, v.text)
                assert not STILL_ON[lang].search(v.text), (where, v.text)
                if v.channel in STATING:
                    assert IN_ERROR[lang].search(v.text), (where, v.text)
                    assert NO_DANGER[lang].search(v.text), (where, v.text)


def test_the_examples_are_of_an_incident_that_is_not_a_false_alarm(library) -> None:  # type: ignore[no-untyped-def]
    for playbook in library.values():
        flag = playbook.false_alarm_fact()
        assert flag is not None and flag[0] not in playbook.example_facts(EXAMPLE_MOMENT)


def test_a_shipped_correction_without_the_fact_or_a_cancel_without_canceled_is_refused_by_validation(
    tmp_path: Path,
) -> None:
    text = (shipped_playbooks_dir() / "wildfire-evacuation.yaml").read_text()
    vague = text.replace(
        '%}Evacuation Order CORRECTION: {{ correction }}.{% endif %}"',
        '%}CORRECTION to the Evacuation Order.{% endif %}"',
    ).replace(
        '{% else %}Se canceló la Orden de Evacuación. Maneje con cuidado.{% endif %}"',
        '{% else %}La Orden de Evacuación: maneje con cuidado.{% endif %}"',
    )
    assert vague != text
    playbook, found = validate_text(vague, str(tmp_path / "wildfire-evacuation.yaml"))
    problems = [str(p) for p in found]
    assert playbook is None
    assert any("correction/en/wea-90" in p and "CD110" in p for p in problems), problems
    assert any("cancel/es/wea-90" in p and "CD111" in p for p in problems), problems

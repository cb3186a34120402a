"""Facts with a value per language, the lint that names a missing translation (CD121) and a text in another language
than its own (CD120), and times, dates and numbers in each language's conventions for the US."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crisisdesk.domain import languages
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import Area, format_date_of, format_number, format_time_of, format_when
from crisisdesk.domain.lint import LintContext, lint
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.messages import fact_name, missing_translations, parse_values, render_message
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.text_rules import Channel
from crisisdesk.domain.validate import EXAMPLE_MOMENT, validate_text

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
SHIPPED = sorted(PLAYBOOKS.glob("*.yaml"))
LA = ZoneInfo("America/Los_Angeles")
NOW = EXAMPLE_MOMENT.replace(tzinfo=LA)  # 7:30 PM on Sunday 22 November 2026


def load(name: str, text: str | None = None) -> Playbook:
    path = PLAYBOOKS / f"{name}.yaml"
    playbook, problems = validate_text(text if text is not None else path.read_text(encoding="utf-8"), str(path))
    assert playbook is not None, problems
    return playbook


def codes(findings: object) -> list[str]:
    return [f.code for f in findings]  # type: ignore[attr-defined]


WILDFIRE = load("wildfire-evacuation")
# What an incident opened before facts had a value per language holds: one value each, the English one.
ENGLISH_ONLY = {k: v for k, v in WILDFIRE.example_facts(NOW).items() if "@" not in k}


def wildfire(message_type: str, lang: str, facts: dict[str, str], channel: Channel = Channel.MASTODON):  # type: ignore[no-untyped-def]
    values = parse_values(WILDFIRE, facts, LA)
    [variant] = render_message(WILDFIRE, message_type, lang, values, tz=LA, channels=[channel])
    return variant


# -- the stored form ------------------------------------------------------------------------------------------


def test_a_value_per_language_is_kept_under_name_at_lang_and_the_first_language_under_the_plain_name() -> None:
    assert fact_name(WILDFIRE, "route@es") == "route@es"
    assert fact_name(WILDFIRE, "route@en") == "route"  # English is the playbook's first language
    assert fact_name(WILDFIRE, "route") == "route"
    with pytest.raises(UserError, match=r"fact route@fr: wildfire-evacuation is written in en, es, not 'fr'"):
        fact_name(WILDFIRE, "route@fr")
    with pytest.raises(UserError, match=r"a url is the same in every language; give it as info_url=\.\.\."):
        fact_name(WILDFIRE, "info_url@es")
    with pytest.raises(UserError, match="has no fact 'way_out'"):
        fact_name(WILDFIRE, "way_out@es")


def test_an_area_in_another_language_is_its_description_the_shapes_stay_with_the_first() -> None:
    values = parse_values(WILDFIRE, {**ENGLISH_ONLY, "zone@es": "Zona 4 (Pine Ridge)"}, LA)
    assert values["zone@es"] == Area("Zona 4 (Pine Ridge)")
    assert values["zone"].polygons  # the English value keeps the shape CAP sends
    with pytest.raises(UserError, match=r"zone@es is the description in es only: give the shapes once, in zone"):
        parse_values(WILDFIRE, {"zone@es": "Zona 4 | circle: 38.5,-121.1 2"}, LA)
    headline = wildfire("alert", "es", {**ENGLISH_ONLY, "zone@es": "Zona 4 (Pine Ridge)"}, Channel.CAP_HEADLINE)
    assert "Zona 4 (Pine Ridge)" in headline.text and "Zone 4" not in headline.text


def test_the_missing_translations_of_an_incident_are_named_fact_by_fact() -> None:
    # Free text and area descriptions are written in each language; a route because the playbook says so; a
    # shelter's name and address, a link, a phone, a time are the same in every language.
    assert missing_translations(WILDFIRE, ENGLISH_ONLY) == [("zone", "es"), ("route", "es"), ("correction", "es")]
    assert missing_translations(WILDFIRE, WILDFIRE.example_facts(NOW)) == []
    only_spanish = {"correction@es": "la ruta de salida es la Carretera 49 Sur"}
    assert missing_translations(WILDFIRE, only_spanish) == [("correction", "en")]
    # A fact the playbook no longer has is not this question (the incident still shows).
    assert missing_translations(WILDFIRE, {"gone": "x", "shelter": "Mill High School"}) == []


# -- rendering: the correction ----------------------------------------------------------------------


def test_the_spanish_correction_uses_the_spanish_value() -> None:
    variant = wildfire("correction", "es", WILDFIRE.example_facts(NOW))
    assert "tenía un error: la ruta de salida es la Carretera 49 Sur, no la 49 Norte." in variant.text
    assert "the way out" not in variant.text
    assert not {"CD120", "CD121"} & set(codes(variant.findings))


def test_a_spanish_correction_without_the_spanish_value_says_which_fact_lacks_it() -> None:
    variant = wildfire("correction", "es", ENGLISH_ONLY)
    # What was drafted before: the English stands in (a text rather than none in an emergency), and is named.
    assert "tenía un error: the way out is Highway 49 south, not north." in variant.text
    missing = [f for f in variant.findings if f.code == "CD121"]
    assert [f.severity for f in missing] == ["warning", "warning", "warning"]  # zone, route (in correction), correction
    said = " | ".join(f.message for f in missing)
    shows = "this text shows 'the way out is Highway 49 south, not north'"
    assert f"fact correction has no es value (Spanish): {shows}" in said
    assert "give correction@es and draft again, or write it in Spanish here" in said
    [foreign] = [f for f in variant.findings if f.code == "CD120"]
    assert foreign.severity == "warning"
    assert foreign.message == "not in Spanish: 'the way out is Highway 49 south' reads as English; write it in Spanish"


def test_writing_the_spanish_by_hand_clears_the_named_fact() -> None:
    variant = wildfire("correction", "es", ENGLISH_ONLY)
    fixed = variant.text.replace("the way out is Highway 49 south, not north", "la salida es la Carretera 49 Sur")
    fixed = fixed.replace("Zone 4 (Pine Ridge)", "Zona 4 (Pine Ridge)")
    ctx_values = parse_values(WILDFIRE, ENGLISH_ONLY, LA)
    from crisisdesk.domain.messages import lint_context

    ctx = lint_context(WILDFIRE, "correction", "es", ctx_values, mode="live", tz=LA)
    assert not {"CD120", "CD121"} & set(codes(lint(fixed, Channel.MASTODON, "es", ctx)))


def test_a_spanish_correction_must_state_the_spanish_value_when_there_is_one() -> None:
    from crisisdesk.domain.messages import lint_context

    with_spanish = parse_values(WILDFIRE, WILDFIRE.example_facts(NOW), LA)
    ctx = lint_context(WILDFIRE, "correction", "es", with_spanish, mode="live", tz=LA)
    assert ctx.corrected == ("la ruta de salida es la Carretera 49 Sur, no la 49 Norte",)
    english_words = wildfire("correction", "es", ENGLISH_ONLY).text
    assert "CD110" in codes(lint(english_words, Channel.MASTODON, "es", ctx))
    # Without a Spanish value, the English one stands in, and the text that shows it states it (CD121 names it).
    only_english = parse_values(WILDFIRE, ENGLISH_ONLY, LA)
    ctx = lint_context(WILDFIRE, "correction", "es", only_english, mode="live", tz=LA)
    assert ctx.corrected == ("the way out is Highway 49 south, not north",)
    assert "CD110" not in codes(lint(english_words, Channel.MASTODON, "es", ctx))


def test_the_english_variant_is_unchanged_by_the_spanish_values() -> None:
    with_spanish = wildfire("correction", "en", WILDFIRE.example_facts(NOW)).text
    assert with_spanish == wildfire("correction", "en", ENGLISH_ONLY).text
    assert "the way out is Highway 49 south, not north" in with_spanish


# -- the language lint --------------------------------------------------------------------------------------

CHECKED = LintContext(languages=("en", "es"))


@pytest.mark.parametrize(
    ("text", "lang", "reads_as"),
    [
        (
            "Evacuate now. Use Highway 49 south. Shelter at Mill High School. Info: https://ready.millcounty.gov",
            "es",
            "English",
        ),
        ("ALL CLEAR: 911 works again.", "es", "English"),
        ("Evacúe ahora por la Carretera 49. El refugio está abierto toda la noche.", "en", "Spanish"),
    ],
)
def test_a_variant_not_in_its_language_is_flagged(text: str, lang: str, reads_as: str) -> None:
    [found] = [f for f in lint(text, Channel.SMS, lang, CHECKED) if f.code == "CD120"]
    assert found.severity == "warning" and f"reads as {reads_as}" in found.message


def test_names_links_and_numbers_are_no_language() -> None:
    text = "Vaya al refugio: Mill County Fairgrounds, 900 Fair Way. Info: https://ready.millcounty.gov #FloodSafety"
    ctx = LintContext(languages=("en", "es"), names=("Mill County Fairgrounds, 900 Fair Way",))
    assert "CD120" not in codes(lint(text, Channel.SMS, "es", ctx))
    # Without the language set (a context that does not ask), nothing is detected at all.
    assert "CD120" not in codes(lint("Evacuate now, use Highway 49 south.", Channel.SMS, "es", LintContext()))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_real_spanish_and_english_of_the_shipped_playbooks_pass(path: Path) -> None:
    playbook = load(path.stem)
    values = parse_values(playbook, playbook.example_facts(NOW), LA)
    for message_type in MESSAGE_TYPES:
        for mode in MODES:
            for lang in playbook.languages:
                for variant in render_message(playbook, message_type, lang, values, mode=mode, tz=LA):
                    where = (path.stem, message_type, lang, variant.channel, mode)
                    assert not {"CD120", "CD121"} & set(codes(variant.findings)), (where, variant.findings)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_text_linted_as_the_other_language_is_mostly_flagged(path: Path) -> None:
    """The detector earns its place: a whole English text put in a Spanish variant (and the other way round) is
    flagged, bar the shortest (a two-word headline) and those made only of the incident's names."""
    from crisisdesk.domain.messages import lint_context

    playbook = load(path.stem)
    values = parse_values(playbook, playbook.example_facts(NOW), LA)
    flagged = total = 0
    for message_type in MESSAGE_TYPES:
        for lang, other in (("en", "es"), ("es", "en")):
            ctx = lint_context(playbook, message_type, other, values, mode="live", tz=LA)
            for variant in render_message(playbook, message_type, lang, values, tz=LA):
                total += 1
                flagged += "CD120" in codes(lint(variant.text, Channel(variant.channel), other, ctx))
    assert flagged / total >= 0.9, (flagged, total)


def test_each_clause_is_detected_once() -> None:
    text = "Evacuate now toward the high school. Evacuate now toward the high school."
    languages.forget()
    assert languages.foreign_passages(text, "es", ("en", "es"))
    info = languages.clause_language.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    assert languages.foreign_passages(text, "es", ("en", "es"))
    assert languages.clause_language.cache_info().misses == 1


def test_a_language_the_detector_cannot_tell_apart_is_not_checked() -> None:
    assert languages.foreign_passages("Evacuate now toward the high school.", "xx", ("en", "xx")) == []
    assert languages.foreign_passages("Evacuate now toward the high school.", "en", ("en",)) == []


# -- validating a playbook ----------------------------------------------------------------------------------

FLOOD = (PLAYBOOKS / "flash-flood.yaml").read_text(encoding="utf-8")


def problems_of(text: str) -> list[str]:
    _, problems = validate_text(text, "flood.yaml")
    return [p.message for p in problems]


def test_a_translated_fact_needs_an_example_in_each_language() -> None:
    one = FLOOD.replace(
        'example: {en: "the warning ends at 9:30 PM, not 7:30 PM", es: "el aviso termina a las 9:30 p. m., no a las '
        '7:30 p. m."}',
        "example: the warning ends at 9:30 PM, not 7:30 PM",
    )
    assert one != FLOOD
    [problem] = problems_of(one)
    assert problem.startswith("fact correction has no es value (Spanish) in its example: a text fact is written in")
    spanish_only = FLOOD.replace("example: {en: Highway 16 east, es: Carretera 16 Este}", "example: {es: Carretera 16}")
    assert problems_of(spanish_only) == [
        "fact route has no en value (English) in its example: a place fact is written in each language, so give "
        "example: {en: ..., es: ...}"
    ]
    french = FLOOD.replace("es: Carretera 16 Este}", "es: Carretera 16 Este, fr: Route 16 est}")
    assert problems_of(french) == ["'fr' is not one of the playbook's languages"]


def test_a_fact_name_cannot_hold_the_language_separator() -> None:
    renamed = FLOOD.replace("  phone:\n", "  phone@es:\n")
    assert "a fact's name cannot hold '@': it joins a fact to a language, as route@es" in problems_of(renamed)


def test_only_facts_made_of_words_have_a_value_per_language() -> None:
    url = FLOOD.replace(
        "example: https://ready.millcounty.gov/flood", "example: {en: https://a.gov, es: https://b.gov}"
    )
    assert any("a url fact is the same in every language: give one example" in p for p in problems_of(url))
    phone = FLOOD.replace("    type: phone\n", "    type: phone\n    translate: true\n")
    assert any("only text, place and area facts are translated" in p for p in problems_of(phone))


# -- times, dates and numbers ---------------------------------------------------------------------------------


def test_times_dates_and_numbers_in_each_languages_us_conventions() -> None:
    evening = datetime(2026, 11, 22, 21, 30, tzinfo=LA)
    assert format_time_of(evening, "en", LA) == "9:30 PM"
    assert format_time_of(evening, "es", LA) == "9:30 p. m."  # es-US: 12-hour clock, "p. m." with a space
    assert format_time_of(evening.replace(hour=9, minute=0), "es", LA) == "9 a. m."
    assert format_when(evening, "es", LA) == "9:30 p. m. del domingo"
    assert format_date_of(evening, "es", LA) == "domingo 22 de noviembre"
    assert format_date_of(evening, "en", LA) == "Sunday, November 22"
    assert format_number(Decimal("12500.5"), "es") == "12,500.5"  # US Spanish writes numbers as US English does
    # No no-break or narrow spaces, which IPAWS and some phones mangle, whatever the locale data gives.
    for lang in ("en", "es", "fr", "vi"):
        assert not {"\u00a0", "\u202f"} & set(format_time_of(evening, lang, LA)), lang

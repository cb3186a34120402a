"""Lint codes, each shown on a text that should raise it and one that should not."""

from __future__ import annotations

import pytest

from crisisdesk.domain.lint import LintContext, lint
from crisisdesk.domain.text_rules import Channel

ALERT = LintContext(
    message_type="alert",
    who=["Mill County"],
    what=["Flash Flood Warning"],
    where=["Mill Creek"],
    expiry=["9:30 PM"],
)
GOOD = "Mill County: Flash Flood Warning for Mill Creek until 9:30 PM. Go to higher ground now. https://ready.millcounty.gov"


def codes(text: str, channel: Channel = Channel.X, lang: str = "en", ctx: LintContext = ALERT) -> list[str]:
    return [f.code for f in lint(text, channel, lang, ctx)]


def test_a_complete_plain_alert_is_clean() -> None:
    assert codes(GOOD) == []


def test_curly_quotes_break_ipaws_and_are_errors_on_wea() -> None:
    found = lint(GOOD + " \u201cnow\u201d", Channel.WEA_360, "en", ALERT)
    assert [(f.code, f.severity) for f in found] == [("CD101", "error")]
    assert lint(GOOD + " \u2014", Channel.FACEBOOK, "en", ALERT)[0].severity == "warning"


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\x07", "\ufeff", "\u2066"])
def test_invisible_characters_are_errors(char: str) -> None:
    assert codes(GOOD + char) == ["CD102"]


@pytest.mark.parametrize(
    ("text", "lang"), [("This is not a drill.", "en"), ("ESTO NO ES UN SIMULACRO", "es"), ("a real emergency", "en")]
)
def test_exercise_text_never_says_it_is_real(text: str, lang: str) -> None:
    ctx = LintContext(mode="exercise", message_type="update")
    assert "CD103" in codes(text, lang=lang, ctx=ctx)
    assert "CD103" not in codes(text, lang=lang, ctx=LintContext(message_type="update"))


def test_images_need_alt_text_on_social_channels() -> None:
    ctx = LintContext(message_type="update", media=(("map.png", ""), ("photo.jpg", "Flooded Main Street")))
    assert codes("Update.", Channel.MASTODON, ctx=ctx) == ["CD104"]


def test_hashtags_should_be_camel_case() -> None:
    ctx = LintContext(message_type="update")
    assert codes("See #millcreekflood", ctx=ctx) == ["CD105"]
    assert codes("See #MillCreekFlood and #flood", ctx=ctx) == []


def test_reading_grade_above_the_target_is_flagged() -> None:
    dense = (
        "Notwithstanding considerable meteorological uncertainty, authorities anticipate substantial "
        "precipitation accumulation necessitating precautionary evacuation of vulnerable populations "
        "throughout the designated jurisdiction immediately, considering infrastructure vulnerabilities "
        "and communications interoperability limitations."
    )
    assert "CD106" in codes(dense, Channel.FACEBOOK, ctx=LintContext(message_type="update"))
    plain = (
        "Water is rising fast. Go to higher ground now. Do not drive into water. Turn around. "
        "Call 211 for help. We will post more soon."
    )
    assert "CD106" not in codes(plain, Channel.FACEBOOK, ctx=LintContext(message_type="update"))


def test_an_alert_must_say_who_what_where_what_to_do_until_when_and_where_to_learn_more() -> None:
    found = lint("Something is happening.", Channel.SMS, "en", ALERT)
    assert [f.code for f in found] == ["CD107"]
    for part in ("who", "what", "where", "protective action", "until when", "source link or phone"):
        assert part in found[0].message
    assert codes("Flash Flood Warning here until 9:30 PM. Go up now.", Channel.WEA_90) == []  # headline channel


def test_the_nws_spanish_actions_count_as_protective_actions() -> None:
    ctx = LintContext(message_type="alert")
    for action in ("Diríjase a un lugar alto ahora.", "Entre a un edificio ahora.", "Consiga agua y comida."):
        (found,) = lint(f"{action} Info: https://ready.millcounty.gov", Channel.SMS, "es", ctx) or [None]
        assert found is None, (action, found)
    assert "a protective action" in lint("Hay un Aviso de Tornado. Info: 211", Channel.SMS, "es", ctx)[0].message


def test_unrendered_placeholders_and_plain_http_links() -> None:
    assert codes("Go to {{ shelter }} now", ctx=LintContext(message_type="update")) == ["CD108"]
    assert codes("Info: http://ready.millcounty.gov", ctx=LintContext(message_type="update")) == ["CD109"]
    found = lint("Info: ready.gov", Channel.X, "en", LintContext(message_type="update"))
    assert [(f.code, f.severity) for f in found] == [("CD109", "warning")]


# -- corrections, cancels and false alarms (CD110-CD112) -----------------------------------------------------------

FIXED = {
    "en": "the warning ends at 9:30 PM, not 7:30 PM",
    "es": "el aviso termina a las 9:30 p. m., no a las 7:30 p. m.",
}
STATING = [c for c in Channel if c is not Channel.CAP_INSTRUCTION]


def correction(lang: str, *, false_alarm: bool = False) -> LintContext:
    return LintContext(message_type="correction", corrected=(FIXED[lang],), false_alarm=false_alarm)


@pytest.mark.parametrize("channel", STATING, ids=str)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_correction_must_state_the_corrected_fact_on_every_channel(channel: Channel, lang: str) -> None:
    vague = {"en": "CORRECTION to the Flash Flood Warning. See local news or 211.",
             "es": "CORRECCIÓN al Aviso de Inundación Repentina. Vea las noticias o llame al 211."}[lang]  # fmt: skip
    found = lint(vague, channel, lang, correction(lang))
    assert [(f.code, f.severity) for f in found] == [("CD110", "error")]
    assert FIXED[lang] in found[0].message
    said = {"en": f"CORRECTION: {FIXED['en']}.", "es": f"CORRECCIÓN: {FIXED['es']}."}[lang]
    assert lint(said, channel, lang, correction(lang)) == []
    # Written with other line breaks and capitals, it is still the fact.
    assert lint(said.upper().replace(" ", "\n", 3), channel, lang, correction(lang)) == []


def test_the_cap_instruction_says_what_to_do_and_need_not_repeat_the_fact() -> None:
    assert lint("Stay on high ground.", Channel.CAP_INSTRUCTION, "en", correction("en")) == []
    assert lint("Quédese en un lugar alto.", Channel.CAP_INSTRUCTION, "es", correction("es")) == []


def test_a_correction_with_no_corrected_fact_given_says_to_fill_it_in() -> None:
    found = lint("CORRECTION.", Channel.SMS, "en", LintContext(message_type="correction", corrected=()))
    assert [f.code for f in found] == ["CD110"] and "What was wrong" in found[0].message
    # A text checked on its own (no facts known) is not refused for what lint cannot know.
    assert codes("CORRECTION.", Channel.SMS, ctx=LintContext(message_type="correction")) == []


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("CORRECTION: the Flash Flood Warning here was sent in error. There is no flood danger.", "en"),
        ("FALSE ALARM: there is no danger.", "en"),
        ("CORRECCIÓN: el Aviso de Inundación Repentina fue enviado por error. No hay peligro.", "es"),
        ("Esta alerta se envió por error. No hay peligro.", "es"),
    ],
)
def test_saying_the_alert_was_sent_in_error_states_what_was_wrong(text: str, lang: str) -> None:
    assert lint(text, Channel.WEA_90, lang, correction(lang, false_alarm=True)) == []


@pytest.mark.parametrize("channel", STATING, ids=str)
@pytest.mark.parametrize(
    ("said", "unsaid", "lang"),
    [
        ("The Flash Flood Warning for this area is canceled.", "Roads may still be closed or damaged.", "en"),
        ("The Flash Flood Warning is no longer in effect.", "The water is going down.", "en"),
        ("Se canceló: el Aviso de Inundación Repentina ya no está vigente.", "Algunas calles siguen cerradas.", "es"),
        ("CANCELADO: Aviso de Inundación Repentina para esta zona.", "El agua está bajando.", "es"),
    ],
)
def test_a_cancel_must_say_the_earlier_alert_no_longer_applies(
    channel: Channel, said: str, unsaid: str, lang: str
) -> None:
    ctx = LintContext(message_type="cancel")
    assert lint(said, channel, lang, ctx) == []
    found = lint(unsaid, channel, lang, ctx)
    assert [(f.code, f.severity) for f in found] == [("CD111", "error")]


@pytest.mark.parametrize("channel", STATING, ids=str)
@pytest.mark.parametrize("message_type", ["cancel", "correction"])
def test_a_false_alarms_cancel_and_correction_must_say_it_was_sent_in_error(
    channel: Channel, message_type: str
) -> None:
    ctx = LintContext(message_type=message_type, corrected=(FIXED["en"],), false_alarm=True)
    plain = f"The Flash Flood Warning is canceled: {FIXED['en']}."
    assert "CD112" in codes(plain, channel, ctx=ctx)
    owned = "The Flash Flood Warning was sent in error and is canceled. There is no danger."
    assert codes(owned, channel, ctx=ctx) == []
    es = LintContext(message_type=message_type, corrected=(FIXED["es"],), false_alarm=True)
    assert "CD112" in codes(f"El Aviso está cancelado: {FIXED['es']}.", channel, "es", es)
    assert codes("Esta alerta fue enviada por error y está cancelada. No hay peligro.", channel, "es", es) == []


def test_alerts_updates_and_all_clears_are_not_held_to_the_correction_rules() -> None:
    for message_type in ("alert", "update", "all-clear"):
        ctx = LintContext(message_type=message_type, corrected=(FIXED["en"],), false_alarm=True)
        assert not {"CD110", "CD111", "CD112"} & set(codes("Stay on high ground.", Channel.WEA_90, ctx=ctx))

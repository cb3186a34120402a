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


def test_unrendered_placeholders_and_plain_http_links() -> None:
    assert codes("Go to {{ shelter }} now", ctx=LintContext(message_type="update")) == ["CD108"]
    assert codes("Info: http://ready.millcounty.gov", ctx=LintContext(message_type="update")) == ["CD109"]
    found = lint("Info: ready.gov", Channel.X, "en", LintContext(message_type="update"))
    assert [(f.code, f.severity) for f in found] == [("CD109", "warning")]

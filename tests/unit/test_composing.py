"""What the composer shows beside a text: finding places, the overflow point, SMS parts, the word diff."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from crisisdesk.domain.composing import Change, overflow_at, places, sms_parts, word_diff
from crisisdesk.domain.lint import LintContext, lint
from crisisdesk.domain.text_rules import Channel, gsm7_septets, measure, ucs2_units

SMS_ALPHABET = st.sampled_from([*"abc XYZ.,\n€[]^{}", "é", "ñ", "Ω", "日", "😀", "\u2019"])


def findings_of(text: str, channel: Channel, lang: str = "en", mode: str = "live") -> list:  # type: ignore[type-arg]
    m = measure(channel, text)
    return [*m.findings, *lint(text, channel, lang, LintContext(mode=mode))]


def test_each_finding_sits_where_its_characters_are() -> None:
    text = "Go \u201cnow\u201d to http://x.example.com \u200b {{ place }} #floodwarningnow"
    found = places(text, Channel.WEA_360, "en", findings_of(text, Channel.WEA_360))
    at = {(p.code, text[p.start : p.end]) for p in found}
    assert ("CD101", "\u201c") in at and ("CD101", "\u201d") in at
    assert ("CD102", "\u200b") in at
    assert ("CD108", "{{") in at and ("CD108", "}}") in at
    assert ("CD109", "http://x.example.com") in at
    assert ("CD105", "#floodwarningnow") in at
    assert all(p.severity in ("error", "warning", "info") for p in found)
    assert found == sorted(found, key=lambda p: (p.start, p.end, p.code))


def test_a_drill_phrase_is_found_in_exercise_text_in_either_case() -> None:
    text = "EXERCISE: This Is Not A Drill. Go now."
    found = places(text, Channel.SMS, "en", findings_of(text, Channel.SMS, mode="exercise"))
    assert [text[p.start : p.end] for p in found if p.code == "CD103"] == ["This Is Not A Drill", "Not A Drill"]


def test_the_overflow_starts_where_the_limit_is_passed() -> None:
    text = "a" * 95
    assert overflow_at(Channel.WEA_90, text, 90) == 90
    assert overflow_at(Channel.WEA_90, "a" * 90, 90) is None
    found = places(text, Channel.WEA_90, "en", findings_of(text, Channel.WEA_90), limit=90)
    assert [(p.code, p.start, p.end) for p in found] == [("CD001", 90, 95)]
    # X counts a link as 23 and CJK as 2: the point moves accordingly.
    assert overflow_at(Channel.X, "日" * 141, 280) == 140
    assert overflow_at(Channel.X, "https://ready.millcounty.gov/flood " + "a" * 257, 280) == 35 + 256
    # SMS is limited in parts, packed: a part holds 76 euro signs (152 septets; an escape pair is not split), so
    # four parts end after 304 of them (the plain count of 612 septets said 306).
    assert overflow_at(Channel.SMS, "€" * 307, 612) == 304
    assert overflow_at(Channel.SMS, "€" * 304, 612) is None


def test_a_ucs2_text_marks_the_characters_that_made_it_so() -> None:
    text = "Suba ahora, rápido"
    found = places(text, Channel.SMS, "es", findings_of(text, Channel.SMS, "es"))
    assert [(p.code, text[p.start : p.end]) for p in found] == [("CD010", "á")]


@settings(max_examples=300, deadline=None)
@given(st.lists(SMS_ALPHABET, max_size=400).map("".join))
def test_sms_parts_join_to_the_text_and_each_fits(text: str) -> None:
    parts = sms_parts(text)
    assert "".join(parts) == text
    m = measure(Channel.SMS, text)
    gsm = m.encoding == "gsm-7"
    size = gsm7_septets if gsm else ucs2_units
    assert m.segments == len(parts)
    if len(parts) == 1:
        assert size(text) <= (160 if gsm else 70)
    if len(parts) > 1:
        # A part holds whole characters (an escape pair or a surrogate pair is one), at most 153 septets (67 units).
        for part in parts:
            assert part and size(part) <= (153 if gsm else 67)
        # Packed as an encoder does: a part ends only where the next character would not fit in it.
        for part, after in itertools.pairwise(parts):
            assert size(part + after[0]) > (153 if gsm else 67)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([Channel.SMS, Channel.X, Channel.MASTODON, Channel.BLUESKY, Channel.WEA_90]),
    st.lists(
        st.sampled_from(
            ["a", " ", "日", "€", "😀", "👍🏽", "https://ready.millcounty.gov/flood", "@ann@social.example"]
        ),
        max_size=120,
    ).map("".join),
)
def test_the_overflow_point_agrees_with_the_count(channel: Channel, text: str) -> None:
    m = measure(channel, text)
    at = overflow_at(channel, text, m.limit)
    assert (at is None) == (not m.over)
    if at is not None:
        assert not measure(channel, text[:at]).over


def test_the_word_diff_says_what_was_added_and_removed() -> None:
    before = "Go to higher ground now. Do not drive into water."
    after = "Go to higher ground at once. Do not walk or drive into water."
    changes = word_diff(before, after)
    assert "".join(c.text for c in changes if c.op != "removed") == after
    assert "".join(c.text for c in changes if c.op != "added") == before
    assert Change("removed", "now") in changes and Change("added", "at once") in changes
    assert Change("added", " walk or") in changes
    assert word_diff("same", "same") == [Change("same", "same")]
    assert word_diff("", "new text") == [Change("added", "new text")]

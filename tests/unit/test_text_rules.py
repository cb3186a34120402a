"""Channel text rules: each platform's own count (X's twitter-text conformance runs in test_twitter_text.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from crisisdesk.domain.text_rules import (
    Channel,
    find_urls,
    gsm7_septets,
    is_gsm7,
    mastodon_length,
    measure,
    sms_parts,
    x_valid,
    x_weighted_length,
)

CONFORMANCE = yaml.safe_load((Path(__file__).parents[1] / "data" / "x-text" / "validate.yml").read_text())["tests"]


# This used WeightedTweetsCounterTest, the v2 cases (emoji counted code point by code point: "H🐱☺👨‍👩‍👧‍👦" 16);
# X counts with v3, whose cases are these ("H🐱☺👨‍👩‍👧‍👦" 7).
@pytest.mark.parametrize(
    "case", CONFORMANCE["WeightedTweetsWithDiscountedEmojiCounterTest"], ids=lambda c: c["description"][:60]
)
def test_x_weighted_length_matches_twitter_text_conformance(case: dict) -> None:  # type: ignore[type-arg]
    assert x_weighted_length(case["text"]) == case["expected"]["weightedLength"]
    assert x_valid(case["text"]) == case["expected"]["valid"]
    assert measure(Channel.X, case["text"]).over == (not case["expected"]["valid"])


def test_x_validity_of_empty_and_double_width_text() -> None:
    # The conformance file's "tweets" section is the v1 (140-character) config; v3 is WeightedTweetsCounterTest.
    by_name = {c["description"]: c for c in CONFORMANCE["tweets"]}
    assert not x_valid(by_name["Invalid Tweet: no characters (empty)"]["text"])
    assert x_weighted_length(by_name["Valid Tweet: 140 characters (double byte characters)"]["text"]) == 280


@pytest.mark.parametrize("case", CONFORMANCE["urls_without_protocol"], ids=lambda c: c["description"][:60])
def test_links_without_a_scheme_count_23_on_x(case: dict) -> None:  # type: ignore[type-arg]
    assert x_weighted_length(case["text"]) == 23


def test_gsm7_counts_extension_characters_twice() -> None:
    assert is_gsm7("Evacuate [now] {zone 3} €5")
    assert gsm7_septets("[]{}€") == 10
    m = measure(Channel.SMS, "a" * 160)
    assert (m.length, m.unit, m.segments, m.encoding) == (160, "gsm7-septets", 1, "gsm-7")
    assert measure(Channel.SMS, "a" * 161).segments == 2
    assert measure(Channel.SMS, "a" * 158 + "€").segments == 1  # 160 septets: the euro sign counts two
    assert measure(Channel.SMS, "a" * 159 + "€").segments == 2


def test_one_character_outside_gsm7_switches_the_whole_message_to_ucs2() -> None:
    text = "Evacúe ahora" + "a" * 58  # 70 characters, ú is not in GSM-7
    m = measure(Channel.SMS, text)
    assert (m.length, m.unit, m.encoding, m.segments) == (70, "ucs2-units", "ucs-2", 1)
    assert measure(Channel.SMS, text + "a").segments == 2
    assert any(f.code == "CD010" and "'ú'" in f.message for f in m.findings)
    assert measure(Channel.SMS, "Alerta 🌊").length == 9  # the emoji is two UTF-16 units


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("ú" * 70, 1),
        ("ú" * 71, 2),
        ("ú" * 134, 2),
        ("ú" * 135, 3),
        # An escape pair or a surrogate pair is never split: the plain formula (306 septets, 134 units) says 2.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("a" * 66 + "🚨" + "a" * 66, 3),
        ("€" * 80, 1),  # 160 septets fit one part alone
        ("€" * 81, 2),
    ],
)
def test_sms_parts_are_counted_by_packing(text: str, segments: int) -> None:
    assert measure(Channel.SMS, text).segments == segments == len(sms_parts(text))


def test_the_sms_limit_is_set_in_parts() -> None:
    # 611 septets is under 4 x 153, but each part can hold only 76 euro signs (152 septets): 5 parts.
    text = "€" * 305 + "a"
    m = measure(Channel.SMS, text)
    assert (m.length, m.limit, m.segments, m.segment_limit) == (611, 612, 5, 4)
    assert m.over
    assert m.findings[0].code == "CD001" and "5 parts" in m.findings[0].message
    assert not measure(Channel.SMS, "€" * 304).over  # 4 full parts


def test_wea_counts_characters_after_nfc() -> None:
    assert measure(Channel.WEA_90, "e\u0301" * 90).length == 90
    assert measure(Channel.WEA_90, "x" * 91).findings[0].code == "CD001"
    assert measure(Channel.WEA_360, "x" * 360).findings == ()


def test_mastodon_counts_links_as_23_and_remote_mentions_by_user_name() -> None:
    assert mastodon_length("see https://example.gov/a/very/long/path/that/goes/on") == 4 + 23
    assert mastodon_length("thanks @ready@social.example.gov") == 7 + 6
    assert measure(Channel.MASTODON, "x" * 501).over
    assert not measure(Channel.MASTODON, "x" * 501, mastodon_limit=1000).over


def test_mastodon_counts_grapheme_clusters_as_its_server_does() -> None:
    assert mastodon_length("नमस्ते evacuate now") == 16  # नमस्ते: 6 code points, 3 grapheme clusters
    assert mastodon_length("é" * 10) == 10  # decomposed accents count once each
    assert mastodon_length("👨‍👩‍👧‍👦 go") == 4
    # Only http(s) links count 23 (a link without a scheme is counted as written), and a link wins over the
    # mention inside it; a mention followed by "://" or an accented letter is none.
    assert mastodon_length("see ready.example.gov") == 21
    assert mastodon_length("https://social.example.org/@ann@example.org") == 23
    assert mastodon_length("@ann@social.example://") == len("@ann@social.example://")
    assert mastodon_length("   ") == 0  # the server counts a blank text as nothing


def test_bluesky_counts_graphemes_and_bytes() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"  # 25 bytes of UTF-8
    assert measure(Channel.BLUESKY, family * 120).length == 120
    assert not measure(Channel.BLUESKY, family * 120).over  # exactly 3,000 bytes
    # 300 graphemes but 7,500 bytes: the server's record limit is 3,000 bytes as well as 300 graphemes.
    m = measure(Channel.BLUESKY, family * 300)
    assert (m.length, m.limit, m.byte_length, m.byte_limit, m.over) == (300, 300, 7500, 3000, True)
    assert m.findings[0].code == "CD001" and "7,500 bytes" in m.findings[0].message
    assert measure(Channel.BLUESKY, "é" * 301).over


def test_facebook_warns_where_the_post_folds() -> None:
    assert measure(Channel.FACEBOOK, "x" * 477).findings == ()
    assert [f.code for f in measure(Channel.FACEBOOK, "x" * 478).findings] == ["CD012"]


def test_urls_are_found_with_and_without_scheme() -> None:
    urls = find_urls(
        "Go to https://ready.example.gov/flood. Or call 211, or see example.com/x and http://old.example.org"
    )
    assert [(u.text, u.https) for u in urls] == [
        ("https://ready.example.gov/flood", True),
        ("example.com/x", False),
        ("http://old.example.org", False),
    ]


@given(st.text(max_size=400))
def test_every_measure_is_consistent(text: str) -> None:
    for channel in Channel:
        m = measure(channel, text)
        assert m.length >= 0
        # Past the limit is over; so is past the parts (SMS) or the bytes (Bluesky) the channel also limits.
        assert m.length <= m.limit or m.over
        assert m.over == any(f.code == "CD001" for f in m.findings)

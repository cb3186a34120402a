"""Channel text rules, including the twitter-text v3 conformance cases (tests/data/x-text)."""

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
    sms_segments,
    x_valid,
    x_weighted_length,
)

CONFORMANCE = yaml.safe_load((Path(__file__).parents[1] / "data" / "x-text" / "validate.yml").read_text())["tests"]


@pytest.mark.parametrize("case", CONFORMANCE["WeightedTweetsCounterTest"], ids=lambda c: c["description"][:60])
def test_x_weighted_length_matches_twitter_text_conformance(case: dict) -> None:  # type: ignore[type-arg]
    assert x_weighted_length(case["text"]) == case["expected"]["weightedLength"]
    assert x_valid(case["text"]) == case["expected"]["valid"]


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
    ("units", "gsm", "segments"),
    [
        (0, True, 0),
        (160, True, 1),
        (161, True, 2),
        (306, True, 2),
        (307, True, 3),
        (70, False, 1),
        (71, False, 2),
        (134, False, 2),
        (135, False, 3),
    ],
)
def test_sms_segment_boundaries(units: int, gsm: bool, segments: int) -> None:
    assert sms_segments(units, gsm) == segments


def test_wea_counts_characters_after_nfc() -> None:
    assert measure(Channel.WEA_90, "e\u0301" * 90).length == 90
    assert measure(Channel.WEA_90, "x" * 91).findings[0].code == "CD001"
    assert measure(Channel.WEA_360, "x" * 360).findings == ()


def test_mastodon_counts_links_as_23_and_remote_mentions_by_user_name() -> None:
    assert mastodon_length("see https://example.gov/a/very/long/path/that/goes/on") == 4 + 23
    assert mastodon_length("thanks @ready@social.example.gov") == 7 + 6
    assert measure(Channel.MASTODON, "x" * 501).over
    assert not measure(Channel.MASTODON, "x" * 501, mastodon_limit=1000).over


def test_bluesky_counts_graphemes() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    assert measure(Channel.BLUESKY, family * 300).length == 300
    assert measure(Channel.BLUESKY, family * 301).over


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
        assert m.over == (m.length > m.limit)
        assert m.over == any(f.code == "CD001" for f in m.findings)

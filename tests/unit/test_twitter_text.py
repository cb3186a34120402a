"""twitter-text's own conformance cases (tests/data/x-text, see tests/data/SOURCES.md), run case by case.

- validate.yml: every counting case. WeightedTweetsWithDiscountedEmojiCounterTest and
  UnicodeDirectionalMarkerCounterTest with config v3 (X's); WeightedTweetsCounterTest with v2, which is v3
  without emoji parsing (twitter-text's config/v2.json); "tweets" with v1 (140, every code point 1); every
  expected field is compared: weighted length, validity, permillage and the display and valid ranges (in UTF-16
  code units, as twitter-text reports them). Its URL, username, list and hashtag validator cases check whether
  one string is a well-formed URL or name, which counting does not use; only urls_without_protocol is run (as a
  count of 23).
- extract.yml: every URL case (urls, urls_with_indices, urls_with_directional_markers, tco_urls_with_params).
- tlds.yml: every top-level domain, as a link.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from crisisdesk.domain import twitter_text
from crisisdesk.domain.tlds import COUNTRY_TLDS, GENERIC_TLDS
from crisisdesk.domain.twitter_text import X_V3, Link, XConfig, emoji_spans, extract_links, x_count
from tests.support.x_text_tlds import SOURCE, module_text, tlds_of

DATA = Path(__file__).parents[1] / "data" / "x-text"
VALIDATE = yaml.safe_load((DATA / "validate.yml").read_text(encoding="utf-8"))["tests"]
EXTRACT = yaml.safe_load((DATA / "extract.yml").read_text(encoding="utf-8"))["tests"]
TLDS = yaml.safe_load((DATA / "tlds.yml").read_text(encoding="utf-8"))["tests"]

X_V2 = dataclasses.replace(X_V3, version=2, emoji_parsing=False)
X_V1 = XConfig(
    version=1, max_weighted_length=140, scale=1, default_weight=1, emoji_parsing=False, url_length=23, ranges=()
)


def _cases(section: str, data: dict[str, Any] = VALIDATE) -> list[Any]:
    return [pytest.param(c, id=c["description"][:70]) for c in data[section]]


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_tweet(text: str, config: XConfig) -> dict[str, Any]:
    """x_count in the shape of twitter-text's parseTweet (ranges in UTF-16 units of the text as given)."""
    count = x_count(text, config)
    valid_end = _utf16(count.nfc[: count.valid_end]) - 1 if count.valid_end else 0
    return {
        "weightedLength": count.weighted_length,
        "valid": count.valid,
        "permillage": count.permillage,
        "displayRangeStart": 0,
        "displayRangeEnd": max(_utf16(text) - 1, 0),
        "validRangeStart": 0,
        "validRangeEnd": valid_end + _utf16(text) - _utf16(count.nfc),  # twitter-text's offset for NFC
    }


def test_the_configuration_is_twitter_texts_v3() -> None:
    v3 = json.loads((DATA / "v3.json").read_text(encoding="utf-8"))
    assert (
        XConfig(
            version=v3["version"],
            max_weighted_length=v3["maxWeightedTweetLength"],
            scale=v3["scale"],
            default_weight=v3["defaultWeight"],
            emoji_parsing=v3["emojiParsingEnabled"],
            url_length=v3["transformedURLLength"],
            ranges=tuple((r["start"], r["end"], r["weight"]) for r in v3["ranges"]),
        )
        == X_V3
    )


def test_the_tld_module_holds_every_tld_of_the_conformance_file() -> None:
    tlds = tlds_of(SOURCE)
    assert (list(GENERIC_TLDS), list(COUNTRY_TLDS)) == (tlds["generic"], tlds["country"])
    assert (len(GENERIC_TLDS), len(COUNTRY_TLDS)) == (1259, 315)
    module = Path(twitter_text.__file__).with_name("tlds.py").read_text(encoding="utf-8")
    assert module == module_text(tlds), "regenerate it: uv run python -m tests.support.x_text_tlds"


@pytest.mark.parametrize("case", _cases("WeightedTweetsWithDiscountedEmojiCounterTest"))
def test_v3_weighted_length_with_emoji(case: dict[str, Any]) -> None:
    assert _parse_tweet(case["text"], X_V3) == case["expected"]


@pytest.mark.parametrize("case", _cases("UnicodeDirectionalMarkerCounterTest"))
def test_v3_directional_marks_and_invalid_characters(case: dict[str, Any]) -> None:
    assert _parse_tweet(case["text"], X_V3) == case["expected"]


@pytest.mark.parametrize("case", _cases("WeightedTweetsCounterTest"))
def test_v2_weighted_length_without_emoji_parsing(case: dict[str, Any]) -> None:
    assert _parse_tweet(case["text"], X_V2) == case["expected"]


@pytest.mark.parametrize("case", _cases("tweets"))
def test_v1_validity(case: dict[str, Any]) -> None:
    assert x_count(case["text"], X_V1).valid == case["expected"]


@pytest.mark.parametrize("case", _cases("urls_without_protocol"))
def test_a_link_without_a_scheme_counts_23(case: dict[str, Any]) -> None:
    assert x_count(case["text"]).weighted_length == 23


@pytest.mark.parametrize("case", _cases("urls", EXTRACT) + _cases("tco_urls_with_params", EXTRACT))
def test_extract_urls(case: dict[str, Any]) -> None:
    assert [link.url for link in extract_links(case["text"])] == case["expected"]


@pytest.mark.parametrize(
    "case", _cases("urls_with_indices", EXTRACT) + _cases("urls_with_directional_markers", EXTRACT)
)
def test_extract_urls_with_indices(case: dict[str, Any]) -> None:
    found = [{"url": link.url, "indices": [link.start, link.end]} for link in extract_links(case["text"])]
    assert found == case["expected"]
    assert all(case["text"][link.start : link.end] == link.url for link in extract_links(case["text"]))


def test_every_top_level_domain_makes_a_link() -> None:
    cases = TLDS["country"] + TLDS["generic"]
    wrong = [c["text"] for c in cases if [link.url for link in extract_links(c["text"])] != c["expected"]]
    assert (len(cases), wrong) == (1574, [])


@pytest.mark.parametrize(
    ("text", "weighted"),
    [
        ("Family 👨‍👩‍👧‍👦 shelter 🇺🇸 at école #FloodSafety", 42),
        ("Shelter ⚠️ now", 14),
        ("H🐱☺👨‍👩‍👧‍👦", 7),
        ("See goo.gl/maps/abc", 27),
        ("Info: europa.eu", 29),
        ("Visit ready.nyc now", 33),
        ("ftp://example.gov/file", 22),  # only http and https make a link; "example.gov" follows a slash
    ],
)
def test_the_issues_examples(text: str, weighted: int) -> None:
    assert x_count(text).weighted_length == weighted


def test_a_text_symbol_is_an_emoji_only_with_the_emoji_selector() -> None:
    assert emoji_spans("© 2026") == [] and x_count("© 2026").weighted_length == 6
    assert emoji_spans("©\ufe0f") == [(0, 2)] and x_count("©\ufe0f").weighted_length == 2
    assert x_count("1\u20e3").weighted_length == 2  # a keycap, as validate.yml has it


# -- the scan that tries only where a link can begin gives what a plain scan gives ---------------------------------


def _plain_links(text: str, without_scheme: bool) -> list[Link]:
    """twitter-text's extraction written plainly: the link pattern at every place of the text, left to right."""
    if not text or ("." not in text if without_scheme else ":" not in text):
        return []
    link_re, tco_re, latin_re, _ = twitter_text._patterns()
    found: list[Link] = []
    for m in link_re.finditer(text):
        url, scheme, domain = m.group("url"), m.group("scheme") or "", m.group("domain")
        start, end = m.span("url")
        if not twitter_text._domain_ok(domain, latin_re) or len(scheme or "https://") + _utf16(url) > 4096:
            continue
        if scheme:
            tco = tco_re.match(url)
            if tco and len(tco.group(1)) > 40:
                continue
            if tco:
                url, end = tco.group(0), start + len(tco.group(0))
            found.append(Link(start, end, url, scheme))
        elif without_scheme and not re.search(r"[-_./]$", m.group("before")):
            last = None
            for d in latin_re.finditer(domain):
                last = Link(start + d.start(), start + d.end(), d.group(0), "")
                found.append(last)
            if last is not None and m.group("path"):
                found[-1] = Link(last.start, end, text[last.start : end], "")
    return found


PIECES = st.sampled_from(
    [
        *("a", "b", "A", "ab.", "a_b.", "-", ".", "..", "/", ":", "?", "(", ")", "_", "@", "#", "$", " ", "8080"),
        *("日", "日本.", "みんな", "é", "e\u0301", "😀", "\u202a", "ñ"),
        *("com", "COM", "co", "jp", "org", "xn--", "x.com", "t.co/", "http://", "https://", "https://x."),
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=60).map("".join), st.booleans())
def test_the_quick_scan_finds_what_the_plain_scan_finds(text: str, without_scheme: bool) -> None:
    assert extract_links(text, without_scheme=without_scheme) == _plain_links(text, without_scheme)


@pytest.mark.parametrize(
    "text",
    [
        "x.com日" + "ab." * 330,  # a long run of dotted labels after the last top-level domain
        "ab." * 330 + "a_b.com",  # ... before one that only its last letter reaches
        "a." * 500,
        "日本." * 333,
        "a_b." * 250 + "com",
        "日" * 999 + ".",
    ],
)
def test_a_long_run_of_dotted_labels_is_counted_in_one_pass(text: str) -> None:
    x_count("warm up: example.com")
    # This thread's CPU time: the process's counted threads other tests left working (370 ms once in a full run).
    started = time.thread_time()
    x_count(text)
    # Measured 1-10 ms; a plain scan took 0.1-3 s on these (every place tried, each a pass over the rest).
    assert time.thread_time() - started < 0.25

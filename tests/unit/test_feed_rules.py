"""Rules about items, without I/O: keywords, places, severity, priority, backoff, search words."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import parse_area
from crisisdesk.domain.feeds import (
    Item,
    KeywordSet,
    Priority,
    Rules,
    StakeholderRule,
    Watch,
    backoff_seconds,
    in_polygon,
    matches,
    overlaps,
    priority,
    stakeholder,
)
from crisisdesk.feeds.parse import normal_url
from crisisdesk.services.feeds import fts_query, parse_since

AREA = parse_area("Mill Creek valley | polygon: 38.55,-121.50 38.60,-121.50 38.60,-121.40 38.55,-121.40")


def test_keywords_match_whole_words_phrases_and_accents() -> None:
    words = KeywordSet(["flash flood", "inundación", "creek rising"])
    assert words.find("FLASH   FLOOD on Elm Rd") == ["flash flood"]
    assert words.find("Inundacion en la calle") == ["inundacion"]
    assert words.find("flash flooding") == []  # a whole word, not a prefix
    assert not KeywordSet([]) and KeywordSet([]).find("anything") == []


def test_places() -> None:
    assert in_polygon(38.57, -121.45, AREA.polygons[0])
    assert not in_polygon(38.70, -121.45, AREA.polygons[0])
    near = Item(identity="x", title="t", text="", lat=38.575, lon=-121.45)
    far = Item(identity="y", title="t", text="", lat=-29.8, lon=-177.9)
    assert overlaps(near, AREA) and not overlaps(far, AREA)
    # an alert polygon around the whole area overlaps it though none of its corners is inside
    big = Item(
        identity="z", title="t", text="", polygons=(((38.0, -122.0), (39.0, -122.0), (39.0, -121.0), (38.0, -121.0)),)
    )
    assert overlaps(big, AREA)


def test_matches_tie_alerts_to_incidents_and_severity_alone_to_none() -> None:
    rules = Rules(areas=(parse_area("Mill County | circle: 38.50,-121.40 80"),))
    watch = Watch("inc-1", "Flood", KeywordSet(["flooding"]), (AREA,))
    story = Item(identity="a", title="Flooding on Elm Rd", text="")
    assert [(m.incident_id, m.rules) for m in matches(story, [watch], rules, KeywordSet([]))] == [
        ("inc-1", ("keyword",))
    ]
    severe_far = Item(identity="b", title="Storm", text="", severity="Extreme", lat=45.0, lon=-100.0)
    assert matches(severe_far, [watch], rules, KeywordSet([])) == []
    severe_unplaced = Item(identity="c", title="Storm", text="", severity="Severe")
    (m,) = matches(severe_unplaced, [watch], rules, KeywordSet([]))
    assert m.incident_id is None and m.rules == ("severity",)
    minor = Item(identity="d", title="Storm", text="", severity="Minor", magnitude=3.0)
    assert matches(minor, [], rules, KeywordSet([])) == []
    quake = Item(identity="e", title="M5.1", text="", magnitude=5.1, lat=38.6, lon=-121.3)
    assert matches(quake, [], rules, KeywordSet([]))[0].reasons == ("magnitude 5.1 (threshold 4.5)",)


def test_priority_and_stakeholders() -> None:
    assert priority(urgent=True, concerns_incident=False, sentiment=0.9, group="public") is Priority.URGENT
    assert priority(urgent=False, concerns_incident=True, sentiment=-0.7, group="public") is Priority.HIGH
    assert priority(urgent=False, concerns_incident=True, sentiment=0.1, group="media") is Priority.HIGH
    assert priority(urgent=False, concerns_incident=True, sentiment=0.1, group="public") is Priority.NORMAL
    assert priority(urgent=False, concerns_incident=False, sentiment=0.2, group="public") is Priority.LOW
    rules = Rules(stakeholders=(StakeholderRule("media", authors=("*news*",), words=("reporter",)),))
    assert stakeholder(rules, "@KMill_News", "hi") == "media"
    assert stakeholder(rules, "@sam", "Reporter here") == "media"
    assert stakeholder(rules, "@sam", "hi") == "public"


def test_backoff() -> None:
    assert backoff_seconds(60, 0) == 60
    assert backoff_seconds(60, 1) == 120 and backoff_seconds(60, 3) == 480
    assert backoff_seconds(60, 30) == 3600  # capped at an hour
    assert backoff_seconds(60, 1, retry_after=900) == 900


def test_search_words_become_a_safe_fts_query() -> None:
    assert fts_query("road closed") == '"road" "closed"'
    assert fts_query('"road closed" OR bridge') == '"road closed" OR "bridge"'
    assert fts_query('vacc* NEAR( "x') == '"vacc"* "NEAR(" "x"'
    with pytest.raises(UserError):
        fts_query('  ""  ')


@given(st.text(max_size=60))
def test_any_search_words_give_a_query_or_a_clear_refusal(words: str) -> None:
    try:
        query = fts_query(words)
    except UserError:
        return
    assert query.count('"') % 2 == 0


def test_since() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_since("6h", now) == "2026-11-22T06:00:00.000000+00:00"
    assert parse_since("2026-11-20T00:00+00:00", now) == "2026-11-20T00:00:00.000000+00:00"
    with pytest.raises(UserError, match="--since"):
        parse_since("yesterday-ish", now)


def test_urls_as_identities() -> None:
    assert normal_url("HTTP://Example.org:80/a/?utm_source=x&id=3#top") == "https://example.org/a?id=3"
    assert normal_url("not a url") == "not a url"

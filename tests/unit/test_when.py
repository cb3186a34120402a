"""How the console writes times and ids (crisisdesk.ui.when has no Qt in it, so it is tested without a window)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from crisisdesk.ui.when import full, moment_text, short_id

LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 28, 20, 0, tzinfo=ZoneInfo("UTC"))  # 12:00 in Los Angeles


def test_today_is_the_time_alone_in_the_zone_given() -> None:
    assert moment_text("2026-11-28T18:05:31.123456+00:00", LA, now=NOW) == "10:05"


def test_this_year_has_the_day_and_another_year_the_year() -> None:
    assert moment_text("2026-03-02T18:05:00+00:00", LA, now=NOW) == "Mon 02 Mar 10:05"
    assert moment_text("2025-11-28T18:05:00+00:00", LA, now=NOW) == "28 Nov 2025 10:05"


def test_seconds_where_they_matter_never_microseconds() -> None:
    assert moment_text("2026-11-28T18:05:31.999999+00:00", LA, now=NOW, seconds=True) == "10:05:31"
    assert moment_text("2026-03-02T18:05:07+00:00", LA, now=NOW, seconds=True) == "Mon 02 Mar 10:05:07"


def test_a_day_is_the_zones_day_not_utcs() -> None:
    # 03:00 UTC on the 29th is still the 28th, 19:00, in Los Angeles: today there.
    assert moment_text("2026-11-29T03:00:00+00:00", LA, now=NOW) == "19:00"


def test_no_microseconds_and_no_iso_anywhere() -> None:
    for text in (moment_text("2026-11-28T18:05:31.5+00:00", LA, now=NOW), full("2026-11-28T18:05:31.5+00:00", LA)):
        assert "." not in text and "T18" not in text and "+00:00" not in text
    assert full("2026-11-28T18:05:31+00:00", LA) == "Sat 28 Nov 2026 10:05:31 PST"


def test_empty_and_unreadable_values_are_shown_as_they_are() -> None:
    assert moment_text(None) == "" and moment_text("") == "" and full(None) == ""
    assert moment_text("not a time") == "not a time"


def test_short_ids() -> None:
    assert short_id("01JD8Z3K4M5N6P7Q8R9S") == "01JD8Z3K"
    assert short_id("abc") == "abc" and short_id(None) == ""

"""The evaluation's JSON gives null, not the report's dash, for a measurement with nothing to rate it against, and
says why there is no value (skipped by the controller, none of its own)."""

from __future__ import annotations

from datetime import timedelta

from crisisdesk.domain.evaluation import Measurement, NotRated, Rating
from crisisdesk.services.after_action import _measurement


def test_an_unrated_measurement_is_null_in_json_and_a_rated_one_its_letter() -> None:
    unrated = Measurement(
        "Inject water-falling to the first message published",
        None,
        None,
        None,
        "",
        rating=NotRated.NOT_RATED,
        outcome="not measured: skipped by the controller",
        skipped=True,
    )
    data = _measurement(unrated)
    assert data["rating"] is None and data["skipped"] is True
    assert data["outcome"] == "not measured: skipped by the controller"
    rated = Measurement("First message", timedelta(minutes=7), timedelta(minutes=10), True, "", rating=Rating.P)
    assert _measurement(rated)["rating"] == "P" and _measurement(rated)["skipped"] is False

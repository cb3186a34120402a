"""A drill item's title carries the exercise mark exactly once (a walkthrough saw "EXERCISE: EXERCISE: FLASH FLOOD
WARNING" for a CAP exercise headline that already said so)."""

from __future__ import annotations

import pytest

from crisisdesk.services.drills import marked


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Mill Creek dam about to fail", "EXERCISE: Mill Creek dam about to fail"),
        ("EXERCISE FLASH FLOOD WARNING", "EXERCISE FLASH FLOOD WARNING"),
        ("Exercise exercise: test of the warning", "Exercise exercise: test of the warning"),
        ("  EXERCISE: already", "  EXERCISE: already"),
        ("Exercises at the park cancelled", "EXERCISE: Exercises at the park cancelled"),  # a word, not the mark
    ],
)
def test_the_mark_is_there_once(title: str, shown: str) -> None:
    assert marked(title) == shown

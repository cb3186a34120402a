"""A public message is offered the response in its own language first: a walkthrough saw "¿Dónde está el refugio?"
preselect the English answer. A drill's comment says its language; any other message's is detected."""

from __future__ import annotations

from typing import Any

from crisisdesk.app import App
from crisisdesk.services.feeds import ItemView


def item(text: str, extra: dict[str, Any] | None = None) -> ItemView:
    return ItemView(
        id=1, fingerprint="f", source="s", kind="mastodon", title=text[:40], text=text, url=None, author="ann",
        at="2026-11-22T19:30:00Z", fetched_at="2026-11-22T19:30:00Z", severity=None, magnitude=None, event=None,
        public=True, sentiment=None, stakeholder=None, priority=None, status=None, decided_by=None, extra=extra or {},
    )  # fmt: skip


def test_the_language_of_a_message_among_the_responses_languages(core: App) -> None:
    feeds = core.feeds()
    spanish = item("¿Dónde está el refugio? La inundación llegó a nuestra calle y no tenemos luz.")
    english = item("Where is the nearest shelter? The water is over our street and the power is out.")
    assert feeds.language_of(spanish, ["en", "es"]) == "es"
    assert feeds.language_of(english, ["en", "es"]) == "en"
    assert feeds.language_of(english, ["es"]) == "es"  # one language: nothing to choose
    assert feeds.language_of(english, []) is None
    # a drill's comment carries the language its scenario gave it, whatever the words look like
    said = item("OK", {"drill": {"language": "es", "urgent": True}})
    assert feeds.language_of(said, ["en", "es"]) == "es"

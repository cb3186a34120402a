"""Hostile test (issue 14, Monitor): two people open an incident from the same alert at once. ``open_incident``
read "already opened?" before its write, so both succeeded: two incidents (LIVE ones, possibly) from one alert. It
now asks again inside the write that opens the incident: one opens, the other is told which. The second person is
simulated acting while the first one's incident opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.incidents import Mode
from tests.ui.test_feeds_view import World, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("world")


def test_hostile14_one_alert_opens_one_incident_when_two_people_click(core: App, world: World, db_path: Path) -> None:  # noqa: F811
    feeds = core.feeds()
    alert = next(a for a in feeds.alerts(world.cam) if a.incident_id is None and a.title.startswith("Boil water"))
    before = [i for i in core.incidents().list_all(world.cam, include_closed=False) if i.playbook_id == "boil-water"]
    assert before == []
    other = App.open(db_path)  # the second workstation session on the same file
    try:
        original = feeds.incidents.open
        seconds: list[Any] = []

        def open_meanwhile(*args: Any, **kwargs: Any) -> Any:
            if not seconds:
                seconds.append(None)
                try:
                    seconds[0] = other.feeds().open_incident(
                        world.cam, alert.id, playbook_id="boil-water", mode=Mode.LIVE
                    )
                except UserError as exc:
                    seconds[0] = exc
            return original(*args, **kwargs)

        feeds.incidents.open = open_meanwhile  # type: ignore[method-assign]
        refused = None
        try:
            feeds.open_incident(world.cam, alert.id, playbook_id="boil-water", mode=Mode.LIVE)
        except UserError as exc:
            refused = exc
        opened = [
            i for i in core.incidents().list_all(world.cam, include_closed=False) if i.playbook_id == "boil-water"
        ]
        assert len(opened) == 1, (opened, seconds, refused)
        # The second person's click opened it; the first is told so in one line, naming that incident.
        assert not isinstance(seconds[0], UserError) and refused is not None
        assert str(refused) == f"{alert.id} already opened {opened[0].id}"
    finally:
        other.close()

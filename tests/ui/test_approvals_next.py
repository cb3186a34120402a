"""An approver who stays in Approvals after acting: the versions already waiting stay theirs to pick (no double
approval by a second click), but one submitted afterwards opens by itself. A walkthrough's approver waited on "Choose
a version in the list to read it." while the update they were waiting for sat in the list."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.views.main_window import APPROVALS
from tests.integration.outbox_helpers import open_incident
from tests.ui.test_approvals_view import open_window, submitted, team  # noqa: F401 - the fixture


def test_a_version_submitted_after_acting_opens_one_already_waiting_does_not(
    qtbot: QtBot,
    core: App,
    team: dict[str, Actor],  # noqa: F811 - the fixture
) -> None:
    inc = open_incident(core, team)
    first = submitted(core, team["carla"], inc)
    waiting = submitted(core, team["carla"], inc, "update")
    window = open_window(qtbot, core, team["ivan"])
    window.show_place(APPROVALS)
    view = window.approvals
    assert view.message_id == first  # arriving: the oldest
    view.approve_button.click()
    assert view.message_id is None and view.review is None  # the next one waiting is not chosen for them
    assert {view.proxy.entry(r).message_id for r in range(view.proxy.rowCount())} == {waiting}

    later = submitted(core, team["carla"], inc, "update")
    view.reload()  # what the watcher does when the submission lands
    assert view.message_id == later and view.review is not None and view.review.message.id == later

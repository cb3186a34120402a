"""What waits for a person (the console's badges): versions they may approve, failed and dead deliveries,
overdue checklist steps and updates."""

from __future__ import annotations

from datetime import timedelta

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor, Role
from tests.conftest import person
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.http_servers import webhook_receiver


def test_a_submitted_version_waits_for_approvers_who_did_not_write_it(core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    second = person(core, admin, "gina", Role.APPROVER, Role.COMMUNICATOR)
    messages = core.messages()
    inc = open_incident(core, team)
    draft = messages.draft(team["carla"], inc, "alert")
    assert messages.awaiting_approval(team["ivan"]) == []  # a draft waits for nobody
    messages.submit(team["carla"], draft.id)
    assert messages.awaiting_approval(team["ivan"]) == [draft.id]
    assert messages.awaiting_approval(second) == [draft.id]
    assert messages.awaiting_approval(team["carla"]) == []  # no approver role
    assert messages.awaiting_approval(team["vic"]) == []
    # gina edits it: she is now an author and may not approve it; the edit needs a new submit.
    edited = messages.edit(second, draft.id, draft.variants[0].channel, draft.variants[0].lang, "Flood: leave now.")
    assert messages.awaiting_approval(team["ivan"]) == []
    messages.submit(second, edited.id)
    assert messages.awaiting_approval(second) == []
    assert messages.awaiting_approval(team["ivan"]) == [draft.id]
    messages.approve(team["ivan"], draft.id, messages.show(admin, draft.id).content_hash)
    assert messages.awaiting_approval(team["ivan"]) == []  # approved enough: it waits for its publisher
    assert core.attention().for_person(team["ivan"]).approvals == ()
    # Asking records nothing: no refusal for the viewer who may not approve.
    assert not any(e.kind == "access.denied" and e.actor == "vic" for e in core.log.events())


def test_failed_and_dead_deliveries_and_overdue_items_are_counted(core: App, admin: Actor, clock: FixedClock) -> None:
    team = add_team(core, admin)
    attention = core.attention()
    assert attention.for_person(team["vic"]).overdue == 0
    inc = open_incident(core, team)
    # T+0 is due at once: the step to confirm the warning is overdue a minute later.
    clock.advance(timedelta(minutes=1))
    assert attention.for_person(team["vic"]).overdue == 1
    core.channels().add(admin, "webhook", "down-hook", settings=["url=http://127.0.0.1:9/hook"], secret="k")
    with webhook_receiver() as (url, hook):
        core.channels().add(admin, "webhook", "refusing-hook", settings=[f"url={url}"], secret="k2")
        hook.script.queue.append((401, {}, b'{"error": "bad signature"}'))
        publish(core, team, inc, ["down-hook", "refusing-hook"])
        core.outbox().run_once()
    found = attention.for_person(team["vic"])
    assert (found.failed, found.dead, found.deliveries) == (1, 1, 2)
    # Publishing the alert restarted the update cadence; the checklist steps stay overdue until ticked.
    assert found.overdue == 1
    clock.advance(timedelta(minutes=31))
    assert attention.for_person(team["vic"]).overdue == 5  # the four steps and the update
    core.incidents().close(team["carla"], inc)
    assert attention.for_person(team["vic"]).overdue == 0

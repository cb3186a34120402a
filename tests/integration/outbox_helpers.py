"""Publishing a message to chosen channels, for the outbox and channel tests."""

from __future__ import annotations

from crisisdesk.app import App
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.messages import MessageView
from tests.integration.test_incidents import FLOOD_FACTS

PEOPLE = {
    "carla": [Role.COMMUNICATOR],
    "ivan": [Role.APPROVER],
    "eve": [Role.EXERCISE_CONTROLLER],
    "vic": [Role.VIEWER],
}


def add_team(core: App, admin: Actor) -> dict[str, Actor]:
    for name, roles in PEOPLE.items():
        core.people.add(admin, name, roles, f"{name} password")
    return {name: core.people.actor(name) for name in PEOPLE}


def open_incident(core: App, team: dict[str, Actor], mode: Mode = Mode.LIVE) -> str:
    who = team["carla"] if mode is Mode.LIVE else team["eve"]
    return core.incidents().open(who, "flash-flood", mode, facts=FLOOD_FACTS).id


def publish(
    core: App,
    team: dict[str, Actor],
    incident: str,
    channels: list[str],
    *,
    message_type: str = "alert",
    mode: Mode = Mode.LIVE,
) -> MessageView:
    """Draft, aim at ``channels``, submit, approve by a second person and publish."""
    who = team["carla"] if mode is Mode.LIVE else team["eve"]
    messages = core.messages()
    view = messages.draft(who, incident, message_type)
    view = messages.set_targets(who, view.id, channels)
    messages.submit(who, view.id)
    messages.approve(team["ivan"], view.id, view.content_hash)
    phrase = ("PUBLISH LIVE " if mode is Mode.LIVE else "SEND EXERCISE ") + view.id
    return messages.publish(who, view.id, confirm=phrase)

"""Scripted players: people playing a drill's incident through the real services, as they would at the console.

A communicator fills in the facts, drafts the playbook's message and submits it; an approver, another person,
approves that exact version (its hash); the communicator reads the publish summary, checks it says EXERCISE, and
types its confirmation phrase; the outbox delivers. The same people triage the urgent public messages and, when an
alert was wrong, declare the false alarm and see its cancel and correction through. Nothing here reaches past the
services: no SQL, no event written by hand, no clock moved (the test owns the clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from crisisdesk.app import App
from crisisdesk.domain.accounts import Account
from crisisdesk.domain.facts import zone
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.deliveries import FalseAlarmProgress
from crisisdesk.services.feeds import ItemView
from crisisdesk.services.messages import ConfirmationNeeded, MessageView
from crisisdesk.services.outbox import OutboxRow, RunReport

# The people of a drill, by the roles the shipped scenarios name (two players and the controller).
COMMUNICATOR, APPROVER, CONTROLLER = "carla", "ivan", "eve"
DELIVERED = "sent"  # an outbox row's state once the channel took it


class NotExercise(AssertionError):
    """A player was shown a publish summary that is not EXERCISE: a drill player never confirms that."""


@dataclass(frozen=True, slots=True)
class Team:
    communicator: Actor
    approver: Actor
    controller: Actor


def seat_team(
    app: App,
    admin: Actor,
    *,
    communicator: str = COMMUNICATOR,
    approver: str = APPROVER,
    controller: str = CONTROLLER,
) -> Team:
    """The drill's people, added by the admin (once) with their roles; passwords are '<name> password'."""
    known = {p.name.casefold() for p in app.people.list_people(admin)}
    for name, role in (
        (communicator, Role.COMMUNICATOR),
        (approver, Role.APPROVER),
        (controller, Role.EXERCISE_CONTROLLER),
    ):
        if name.casefold() not in known:
            app.people.add(admin, name, [role], f"{name} password")
    return Team(app.people.actor(communicator), app.people.actor(approver), app.people.actor(controller))


def exercise_accounts(app: App, admin: Actor, names: Iterable[str]) -> list[Account]:
    """The exercise accounts a scenario names, as the admin adds them: folder channels (a page and files on disk in
    the data folder), so a drill needs no server. Existing ones are kept as they are."""
    out = []
    for name in names:
        existing = next((a for a in app.channels().accounts(admin) if a.name == name), None)
        out.append(existing or app.channels().add(admin, "folder", name, exercise=True))
    return out


def local_time(app: App, incident_id: str, after: timedelta) -> str:
    """A time ``after`` from now, as a person types it in the incident's zone: 2026-11-22T19:30."""
    incident = app.incidents().get_unchecked(incident_id)
    moment: datetime = app.clock.now().astimezone(zone(incident.timezone)) + after
    return moment.strftime("%Y-%m-%dT%H:%M")


class Players:
    """A communicator and an approver working one workstation's services."""

    def __init__(self, app: App, team: Team) -> None:
        self.app = app
        self.team = team
        self.published: list[MessageView] = []

    # -- messages -----------------------------------------------------------------------------------------------

    def set_facts(self, incident_id: str, facts: Mapping[str, str]) -> None:
        """The communicator types each fact that changed (one event each, as the form saves them)."""
        incidents = self.app.incidents()
        current = incidents.get(self.team.communicator, incident_id).facts
        for name, value in facts.items():
            if current.get(name) != value:
                incidents.set_fact(self.team.communicator, incident_id, name, value)

    def send(
        self,
        incident_id: str,
        message_type: str = "alert",
        *,
        facts: Mapping[str, str] | None = None,
        channels: list[str] | None = None,
    ) -> MessageView:
        """The whole round: facts, draft, (channels), submit, a second person's approval, publish."""
        if facts:
            self.set_facts(incident_id, facts)
        messages = self.app.messages()
        view = messages.draft(self.team.communicator, incident_id, message_type)
        if channels is not None:
            view = messages.set_targets(self.team.communicator, view.id, channels)
        view = messages.submit(self.team.communicator, view.id)
        return self.approve_and_publish(view)

    def approve_and_publish(self, view: MessageView) -> MessageView:
        """The approver approves the hash they were shown; the communicator publishes after reading the summary."""
        messages = self.app.messages()
        messages.approve(self.team.approver, view.id, view.content_hash)
        try:
            messages.publish(self.team.communicator, view.id)
        except ConfirmationNeeded as shown:
            if "[EXERCISE (exercise channels only)]" not in shown.summary or "LIVE" in shown.summary:
                raise NotExercise(shown.summary) from None
            published = messages.publish(self.team.communicator, view.id, confirm=shown.phrase)
        else:  # pragma: no cover - publish always asks for the phrase; this is a safety net for the test
            raise AssertionError(f"{view.id} was published without its confirmation phrase")
        self.published.append(published)
        return published

    def false_alarm(
        self, incident_id: str, *, correction: str, translations: Mapping[str, str] | None = None
    ) -> list[MessageView]:
        """False alarm, as the console's dialog runs it (``DeliveryService.declare_false_alarm``, the click's moment
        recorded: the clock to correction starts there): the pre-approved cancel and the correction are drafted and
        submitted in one step; the approver approves each and the communicator publishes each, the cancel first."""
        progress = self.app.deliveries().declare_false_alarm(
            self.team.communicator,
            incident_id,
            correction,
            clicked_at=self.app.clock.now(),
            translations=translations,
        )
        messages = self.app.messages()
        drafted = [
            messages.show(self.team.communicator, step.message_id) for step in (progress.cancel, progress.correction)
        ]
        return [self.approve_and_publish(view) for view in drafted]

    def confirm_false_alarm(self, incident_id: str) -> FalseAlarmProgress | None:
        """Once the correction is on every channel, the time to correction is recorded (the console does it when
        its progress shows every receipt); the progress either way."""
        return self.app.deliveries().record_false_alarm_time(self.team.communicator, incident_id)

    # -- the outbox ---------------------------------------------------------------------------------------------

    def deliver(self, *, rounds: int = 20) -> RunReport:
        """Run the outbox as the worker does until a round does nothing (rows due later stay for a later call)."""
        total = RunReport()
        for _ in range(rounds):
            report = self.app.outbox().run_once()
            total.add(report)
            if not report.busy():
                break
        return total

    def rows(self, message_id: str) -> list[OutboxRow]:
        return self.app.outbox().rows(self.team.communicator, message_id=message_id)

    def delivered(self, message_id: str) -> bool:
        """Every channel the message went to has taken it."""
        rows = self.rows(message_id)
        return bool(rows) and all(r.state == DELIVERED for r in rows)

    def undelivered(self) -> list[OutboxRow]:
        """The rows of what the players published that no channel has taken yet (held, failed, waiting)."""
        return [r for view in self.published for r in self.rows(view.id) if r.state != DELIVERED]

    # -- the checklist ------------------------------------------------------------------------------------------

    def step_done(self, incident_id: str, step: int) -> None:
        """Tick a checklist step (1 is the first)."""
        self.app.incidents().step_done(self.team.communicator, incident_id, step)

    # -- the public ---------------------------------------------------------------------------------------------

    def triage_queue(self) -> list[ItemView]:
        return self.app.feeds().triage(self.team.communicator, statuses=("new",))

    def triage(self, item: ItemView, *, note: str | None = None) -> ItemView:
        """Answer a public message: with the playbook's reply that fits when there is one, else acknowledge it."""
        feeds = self.app.feeds()
        replies = [r.name for r in feeds.responses(item)]
        if replies:
            return feeds.set_triage(
                self.team.communicator, str(item.id), status="answered", template=replies[0], note=note
            )
        return feeds.set_triage(self.team.communicator, str(item.id), status="acknowledged", note=note)

    def triage_urgent(self, *, only: Iterable[int] | None = None) -> list[ItemView]:
        """Triage every urgent public message in the queue (or only the items named), most pressing first."""
        wanted = set(only) if only is not None else None
        done = []
        for item in self.triage_queue():
            if item.priority == "urgent" and (wanted is None or item.id in wanted):
                done.append(self.triage(item, note="answered in the drill"))
        return done

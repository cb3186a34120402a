"""A played drill for the after-action tests and the sample report (scripts/aar_sample.py).

``play`` runs the sample scenario through the real drill service (loaded from its file, started at 60x, its
injects fired by the service's clock tick as the fixed clock moves: the feed items and the comment through the
drill's own feed source, the outage through the outbox) and the players through the real services: messages
drafted, submitted, approved and published through MessageService, the outbox worker sending to the exercise public
page (failing while the page is out, then retried by a person), the comment triaged through FeedService, checklist
steps ticked.
Drill time runs at 60x: a drill minute is a wall second of the fixed clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.messages import MessageView

COMPRESSION = 60  # events hold no floats: whole numbers
FLOOD_FACTS = {
    "area": "Mill Creek valley | geocode: SAME=006067",
    "expires": "2026-11-22T21:30",
    "info_url": "https://ready.millcounty.gov/flood",
    "phone": "211",
}

SCENARIO = """\
id: mill-creek-sample
name: Mill Creek flash flood (sample drill)
version: "2"
summary: >-
  Heavy rain over the Mill Creek valley; the National Weather Service issues a flash flood warning. The public
  information desk alerts residents, answers their questions, keeps them updated through a failure of the public
  page, and updates again when the creek is forecast to crest.
duration: 1h
incidents:
  - key: flood
    playbook: flash-flood
    title: "Drill: Mill Creek flash flood"
    facts: {area: "Mill Creek valley | geocode: SAME=006067", expires: "2026-11-23T21:30",
            info_url: "https://ready.millcounty.gov/flood", phone: "211"}
participants:
  - {role: communicator, who: Public information desk, count: 2}
  - {role: approver, who: Duty officer}
  - {role: exercise-controller, who: Exercise control}
objectives:
  - id: alert
    title: Alert the public within 10 minutes of the flash flood warning
    expect: {measure: first-message, after: nws-warning, within: 10m}
  - id: approvals
    title: Approve each message within 5 minutes of its submission
    expect: {measure: approval-latency, within: 5m}
  - id: cadence
    title: Update the public on the playbook's 30-minute cadence
    expect: {measure: cadence, at_least: 1.0}
  - id: triage
    title: Triage urgent public questions within 5 minutes
    expect: {measure: triage, within: 5m}
  - id: checklist
    title: Work the flash flood checklist
    expect: {measure: checklist, at_least: 1.0}
  - id: outbox
    title: Deliver every held message within 5 minutes of the outage's end
    capability: Operational Communications
    expect: {measure: outbox-recovery, after: page-outage, within: 5m}
injects:
  - {id: nws-warning, at: T+0, kind: feed-item, incident: flood,
     headline: Flash Flood Warning for the Mill Creek valley until 3:30 PM}
  - {id: shelter-question, at: T+8m, kind: comment, incident: flood, urgent: true, language: es,
     group: residents, text: "¿Dónde está el refugio más cercano? Tengo dos niños."}
  - {id: ic-call, at: T+15m, kind: note, incident: flood, source: a phone call from the incident commander,
     text: Road crews closed Mill Creek Road at the low-water crossing}
  - {id: page-outage, at: T+20m, kind: channel-outage, account: exercise-page, for: 10m}
  - {id: river-crest, at: T+35m, kind: feed-item, incident: flood,
     headline: Mill Creek forecast to crest at 14 feet near Millbrook at 2 PM}
"""


@dataclass
class PlayedDrill:
    drill_id: str
    incident_id: str
    messages: list[str] = field(default_factory=list)
    comment_item: str = ""
    rows: list[str] = field(default_factory=list)


def team(app: App, admin: Actor) -> dict[str, Actor]:
    people = {
        "carla": [Role.COMMUNICATOR],
        "dora": [Role.COMMUNICATOR],
        "ivan": [Role.APPROVER],
        "eve": [Role.EXERCISE_CONTROLLER],
    }
    known = {p.name for p in app.people.list_people(admin)}
    for name, roles in people.items():
        if name not in known:
            app.people.add(admin, name, roles, f"{name} password")
    return {name: app.people.actor(name) for name in people}


def confirm(view: MessageView) -> str:
    return "SEND EXERCISE " + view.id


class RealDrill:
    """The drill service driven as the console's clock drives it: the fixed clock moved, then a tick."""

    def __init__(self, app: App, clock: FixedClock, controller: Actor, folder: Path, text: str = SCENARIO) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "mill-creek-sample.yaml"
        path.write_text(text, encoding="utf-8")
        self.app, self.clock, self.controller = app, clock, controller
        self.service = app.drills()
        self.drill = self.service.load(controller, path)
        self.started_wall = clock.now()

    @property
    def id(self) -> str:
        return self.drill.id

    def start(self) -> str:
        """Start at 60x (its T+0 injects fire); the incident's id."""
        self.drill = self.service.start(self.controller, self.drill.id, compression=COMPRESSION)
        assert self.drill.started_at is not None
        self.started_wall = self.drill.started_at
        return self.drill.incidents["flood"]

    def to(self, minutes: float) -> None:
        """Move the wall clock forward to drill minute ``minutes``; what is due fires."""
        wall = self.started_wall + timedelta(minutes=minutes) / COMPRESSION
        assert wall >= self.clock.now(), "drill time only moves forward"
        self.clock.advance(wall - self.clock.now())
        self.service.tick(self.clock.now())

    def fired(self, inject: str) -> dict[str, Any]:
        """The payload of the inject's firing, as the log holds it."""
        return next(
            dict(e.payload)
            for e in self.app.log.events()
            if e.kind == Kind.DRILL_INJECT_FIRED and e.payload.get("drill") == self.id and e.payload["inject"] == inject
        )

    def end(self) -> None:
        self.drill = self.service.end(self.controller, self.drill.id)


def play(app: App, clock: FixedClock, admin: Actor, folder: Path) -> PlayedDrill:
    """The sample drill, played from load to end (see the module's docstring); the scenario file goes in
    ``folder``."""
    people = team(app, admin)
    carla, dora, ivan, eve = people["carla"], people["dora"], people["ivan"], people["eve"]
    messages, outbox, feeds = app.messages(), app.outbox(), app.feeds()
    drill = RealDrill(app, clock, eve, folder)
    clock.advance(timedelta(minutes=2))
    incident = drill.start()  # nws-warning fires at T+0
    played = PlayedDrill(drill.id, incident)
    drill.to(1)
    app.incidents().step_done(carla, incident, 1)

    drill.to(2)
    alert = messages.draft(carla, incident, "alert")
    drill.to(3)
    messages.submit(carla, alert.id)
    drill.to(6)
    messages.approve(ivan, alert.id, alert.content_hash)
    drill.to(7)
    messages.publish(carla, alert.id, confirm=confirm(alert))
    app.incidents().step_done(carla, incident, 2)
    outbox.run_once()
    played.messages.append(alert.id)

    drill.to(8)  # shelter-question arrives in the triage queue
    played.comment_item = str(drill.fired("shelter-question")["item"])
    drill.to(11)
    feeds.set_triage(dora, played.comment_item, status="answered", priority_value="urgent")

    drill.to(15)  # ic-call: a note for the communicators
    drill.to(20)  # page-outage: the exercise page fails every send until T+30m
    drill.to(21)
    update = messages.draft(dora, incident, "update")
    drill.to(22)
    messages.submit(dora, update.id)
    drill.to(24)
    messages.approve(ivan, update.id, update.content_hash)
    view = messages.publish(dora, update.id, confirm=confirm(update))
    played.messages.append(update.id)
    outbox.run_once()  # fails: the page is out
    (row,) = [r.id for r in outbox.rows(dora, message_id=view.id)]
    played.rows.append(row)
    drill.to(33)  # the page is back since T+30m; the desk sends the held update again
    outbox.retry(carla, row)
    outbox.run_once()

    drill.to(35)  # river-crest
    drill.to(38)
    app.incidents().step_done(dora, incident, 4)
    drill.to(40)
    second = messages.draft(carla, incident, "update")
    drill.to(41)
    messages.submit(carla, second.id)
    drill.to(49)
    messages.approve(ivan, second.id, second.content_hash)
    drill.to(50)
    messages.publish(carla, second.id, confirm=confirm(second))
    outbox.run_once()
    played.messages.append(second.id)

    drill.to(60)
    drill.end()
    return played

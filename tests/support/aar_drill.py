"""A played drill for the after-action tests and the sample report (scripts/aar_sample.py).

The drill's own events are recorded as the drill service records them (the payloads of issue15-plan.md); everything
the players do goes through the real services: the EXERCISE incident opened, messages drafted, submitted, approved
and published through MessageService, the outbox worker sending to the exercise public page, a comment arriving
through a feed source and triaged through FeedService, checklist steps ticked. A channel outage is the worker's
failure event, as the outbox's drill hook records it, then a person's retry and the worker's send.

Drill time runs at 60x: a drill minute is a wall second of the fixed clock.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock, utc_iso
from crisisdesk.domain.events import Kind
from crisisdesk.domain.feeds import Item
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.feeds.poller import Outcome
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
  - {key: flood, playbook: flash-flood, title: "Drill: Mill Creek flash flood"}
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


class DrillRecorder:
    """Records a drill's own events as the drill service does, and moves the fixed clock in drill time."""

    def __init__(self, app: App, clock: FixedClock, controller: Actor, text: str = SCENARIO) -> None:
        self.app = app
        self.clock = clock
        self.controller = controller
        self.drill_id = f"drl-{uuid.uuid4().hex[:10]}"
        self.text = text
        self.started_wall = clock.now()
        self.compression = COMPRESSION

    def record(self, kind: str, payload: dict[str, Any], actor: str | None = None) -> None:
        with self.app.db.write() as conn:
            self.app.log.record(conn, actor or self.controller.name, kind, {"drill": self.drill_id, **payload})

    def seconds(self) -> int:
        return round((self.clock.now() - self.started_wall).total_seconds() * self.compression)

    def to(self, minutes: float) -> None:
        """Move the wall clock forward to drill minute ``minutes``."""
        wall = self.started_wall + timedelta(minutes=minutes) / self.compression
        assert wall >= self.clock.now(), "drill time only moves forward"
        self.clock.advance(wall - self.clock.now())

    def load(self) -> None:
        self.record(
            Kind.DRILL_LOADED,
            {
                "scenario": "mill-creek-sample",
                "name": "Mill Creek flash flood (sample drill)",
                "version": "2",
                "source": "mill-creek-sample.yaml",
                "sha256": hashlib.sha256(self.text.encode()).hexdigest(),
                "text": self.text,
            },
        )

    def start(self, incidents: dict[str, str]) -> None:
        self.started_wall = self.clock.now()
        self.record(
            Kind.DRILL_STARTED, {"compression": self.compression, "incidents": incidents, "feed_source": "src-drill"}
        )

    def fire(self, inject: str, kind: str, incident: str | None, scheduled: float, **extra: Any) -> None:
        payload = {
            "inject": inject,
            "kind": kind,
            "incident": incident,
            "scheduled_seconds": round(scheduled * 60),
            "drill_seconds": self.seconds(),
            "by_hand": False,
            "detail": extra.pop("detail", ""),
            **extra,
        }
        self.record(Kind.DRILL_INJECT_FIRED, payload, "system")

    def end(self) -> None:
        self.record(Kind.DRILL_ENDED, {"drill_seconds": self.seconds()})


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


def play(app: App, clock: FixedClock, admin: Actor) -> PlayedDrill:
    """The sample drill, played from load to end (see the module's docstring)."""
    people = team(app, admin)
    carla, dora, ivan, eve = people["carla"], people["dora"], people["ivan"], people["eve"]
    messages, outbox, feeds = app.messages(), app.outbox(), app.feeds()
    drill = DrillRecorder(app, clock, eve)
    drill.load()
    clock.advance(timedelta(minutes=2))
    incident = app.incidents().open(
        eve, "flash-flood", Mode.EXERCISE, title="Drill: Mill Creek flash flood", facts=FLOOD_FACTS
    )
    drill.start({"flood": incident.id})
    played = PlayedDrill(drill.drill_id, incident.id)
    social = feeds.add(admin, "drill-mill-creek", "https://social.example/tags/millcreek", "mastodon")

    drill.fire("nws-warning", "feed-item", incident.id, 0, item=None, detail="feed item in 'drill: Mill Creek'")
    drill.to(1)
    app.incidents().step_done(carla, incident.id, 1)

    drill.to(2)
    alert = messages.draft(carla, incident.id, "alert")
    drill.to(3)
    messages.submit(carla, alert.id)
    drill.to(6)
    messages.approve(ivan, alert.id, alert.content_hash)
    drill.to(7)
    messages.publish(carla, alert.id, confirm=confirm(alert))
    app.incidents().step_done(carla, incident.id, 2)
    outbox.run_once()
    played.messages.append(alert.id)

    drill.to(8)
    comment = Item(
        "drill|shelter-question",
        "¿Dónde está el refugio más cercano? Tengo dos niños.",
        "¿Dónde está el refugio más cercano? Tengo dos niños.",
        author="Rosa M.",
        published=utc_iso(clock.now()),
        lang="es",
        public=True,
    )
    feeds.record(feeds.get(social.name), Outcome(items=[comment]))
    item = feeds.item(comment.fingerprint)
    played.comment_item = str(item.id)
    drill.fire(
        "shelter-question",
        "comment",
        incident.id,
        8,
        item=item.id,
        urgent=True,
        group="residents",
        language="es",
        detail=f"comment {item.id} in the triage queue",
    )
    drill.to(11)
    feeds.set_triage(dora, str(item.id), status="answered", priority_value="urgent")

    drill.to(15)
    drill.fire(
        "ic-call",
        "note",
        incident.id,
        15,
        to="communicator",
        source="a phone call from the incident commander",
        text="Road crews closed Mill Creek Road at the low-water crossing",
        detail="note for communicators",
    )

    drill.to(20)
    page = app.channels().get("exercise-page")
    drill.fire(
        "page-outage",
        "channel-outage",
        None,
        20,
        account=page.id,
        until_seconds=30 * 60,
        detail="'exercise-page' failing until T+30m",
    )
    drill.to(21)
    update = messages.draft(dora, incident.id, "update")
    drill.to(22)
    messages.submit(dora, update.id)
    drill.to(24)
    messages.approve(ivan, update.id, update.content_hash)
    view = messages.publish(dora, update.id, confirm=confirm(update))
    played.messages.append(update.id)
    (row,) = [r.id for r in outbox.rows(dora, message_id=view.id)]
    played.rows.append(row)
    with app.db.write() as conn:  # the outbox's drill hook: the exercise account is out, the send fails
        failed = {
            "row": row,
            "reason": "drill: exercise-page is out until T+30m",
            "dead": False,
            "next_try": utc_iso(clock.now() + timedelta(hours=1)),
        }
        app.log.record(conn, "outbox", Kind.OUTBOX_FAILED, failed)
    drill.to(33)
    outbox.retry(carla, row)
    outbox.run_once()

    drill.to(35)
    drill.fire("river-crest", "feed-item", incident.id, 35, item=None, detail="feed item in 'drill: Mill Creek'")
    drill.to(38)
    app.incidents().step_done(dora, incident.id, 4)
    drill.to(40)
    second = messages.draft(carla, incident.id, "update")
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

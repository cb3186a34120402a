"""What an approver and a publisher read before they act: the approval queue, one version's review (exact text,
hash, authors, lint, CAP summary, channels, area, audience, the change from what was published), and the publish
summary with its confirm phrase.

Questions, never attempts: nothing here records anything or changes state (``approve``, ``return_`` and
``publish`` in ``MessageService`` do, and decide again from the log). Whether a person may act is worked out the
way those decide it, so the console can enable a button and say why it is not, in the service's own words.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from crisisdesk.domain.approval import confirm_phrase, own_version_refusal
from crisisdesk.domain.cap import parse_xml
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.incidents import Status, working_permissions
from crisisdesk.domain.outbox import plan
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.composer import VariantChange, changes_since_published
from crisisdesk.services.guard import current_actor
from crisisdesk.services.incidents import Incident, IncidentService
from crisisdesk.services.messages import MessageService, MessageView, VariantView, summary_area, summary_audience
from crisisdesk.store.ledger import Ledger


@dataclass(frozen=True)
class QueueEntry:
    """A submitted version, as the queue lists it."""

    message_id: str
    incident_id: str
    incident_title: str
    mode: str  # live or exercise
    type: str
    version: int
    authors: tuple[str, ...]
    content_hash: str
    may_approve: bool  # this person may approve it now (the badge counts these)
    why_not: str  # why not, in the service's words ('' when they may)


@dataclass(frozen=True)
class CapSummary:
    """The CAP alert publishing would build now, in a few fields."""

    status: str  # Actual or Exercise
    msg_type: str  # Alert, Update, Cancel
    event: str
    urgency: str
    severity: str
    certainty: str
    area: str
    expires: str  # CAP time, with the incident's offset


@dataclass(frozen=True)
class Review:
    message: MessageView
    incident_title: str
    cap: CapSummary
    area: str
    audience: str
    base: str | None  # what the changes are against ("msg-… v2"), None when nothing was published on the incident
    changes: tuple[VariantChange, ...]
    may_approve: bool
    why_not: str  # why this person may not approve it, in the service's words ('' when they may)


@dataclass(frozen=True)
class ChannelLine:
    name: str
    kind: str
    mode: str


@dataclass(frozen=True)
class PublishPreview:
    """What ``publish`` would send, and what it asks: the summary and the phrase it states, without publishing."""

    message: MessageView
    incident_title: str
    summary: str  # the summary ``publish`` gives with its ConfirmationNeeded
    phrase: str
    channels: tuple[ChannelLine, ...]
    area: str
    audience: str
    expires: str
    texts: tuple[VariantView, ...]  # the texts some channel sends
    blocked: str  # why an ordinary publish would be refused now ('' when it would go on the phrase)
    break_glass_blocked: str  # why a break-glass publish would be refused now ('' when it would go)

    @property
    def mode(self) -> str:
        return self.message.mode


class ReviewService:
    def __init__(self, messages: MessageService, incidents: IncidentService) -> None:
        self.messages = messages
        self.incidents = incidents
        self.db = messages.db

    # -- the approval queue -------------------------------------------------------------------------------

    def queue(self, actor: Actor) -> list[QueueEntry]:
        """Every submitted version, oldest first, each saying whether ``actor`` may approve it now and why not.
        Those they may approve are exactly ``MessageService.awaiting_approval``'s (the badge's count)."""
        now = current_actor(self.db, actor.name)
        if not now.may(Permission.READ):
            return []
        waiting = set(self.messages.awaiting_approval(now))
        ids = [r[0] for r in self.db.conn.execute("SELECT id FROM messages WHERE state = 'submitted' ORDER BY rowid")]
        out = []
        for message_id in ids:
            view = self.messages.show(now, message_id)
            if view.state != "submitted":
                continue  # the log decides
            incident = self.incidents.from_log(view.incident_id)
            may = message_id in waiting
            out.append(
                QueueEntry(
                    message_id=message_id,
                    incident_id=view.incident_id,
                    incident_title=incident.title,
                    mode=view.mode,
                    type=view.type,
                    version=view.version,
                    authors=tuple(view.authors),
                    content_hash=view.content_hash,
                    may_approve=may,
                    why_not="" if may else self._why_not(now, view, incident),
                )
            )
        return out

    def review(self, actor: Actor, message_id: str) -> Review:
        """One version as an approver reads it."""
        view = self.messages.show(actor, message_id)
        now = current_actor(self.db, actor.name)
        incident = self.incidents.from_log(view.incident_id)
        diff = changes_since_published(self.messages, view)
        may = message_id in self.messages.awaiting_approval(now)
        return Review(
            message=view,
            incident_title=incident.title,
            cap=self._cap_summary(view, incident),
            area=summary_area(incident),
            audience=summary_audience(view),
            base=diff.base,
            changes=diff.variants,
            may_approve=may,
            why_not="" if may else self._why_not(now, view, incident),
        )

    def cap_summary(self, actor: Actor, message_id: str) -> CapSummary:
        """Event, urgency, severity, certainty, area and expiry of the CAP alert the current version would
        publish now (built as ``publish`` builds it)."""
        view = self.messages.show(actor, message_id)
        return self._cap_summary(view, self.incidents.from_log(view.incident_id))

    def _why_not(self, now: Actor, view: MessageView, incident: Incident) -> str:
        refusal = now.refusal(Permission.APPROVE)
        if refusal:
            return refusal
        if view.state != "submitted":
            return f"{view.id} is {view.state}: only a submitted message can be approved"
        own = own_version_refusal(now.name, view.id, view.authors)
        if own:
            return own
        if view.verdict.ok:
            return f"{view.id} v{view.version} is {view.verdict.reason}: it waits for a publisher"
        if now.name.casefold() in self._approvers_of_current(view):
            return f"{now.name} approved {view.id} v{view.version} already; {view.verdict.reason}"
        roles = self.incidents.playbooks.get(incident.playbook_id).approval.roles
        return (
            f"the playbook's approval policy names the role {' or '.join(r.value for r in roles)}; "
            f"{now.name} holds none of them"
        )

    def _approvers_of_current(self, view: MessageView) -> set[str]:
        """Who approved the current version since it was made and since the last return (casefolded)."""
        record = Ledger(self.db.conn).message(view.id)
        if record is None:
            return set()
        return {
            a.approver.casefold()
            for a in record.approvals
            if a.hash == record.current.hash and record.approval_counts(a)
        }

    def _cap_summary(self, view: MessageView, incident: Incident) -> CapSummary:
        """From the builder ``publish`` uses (one builder: what is read is what is sent)."""
        record = self.messages._record(view.id)
        data = self.messages._cap(incident, record, orjson.loads(record.current.content))
        alert = parse_xml(data)
        infos = alert.infos
        first = infos[0]
        areas = []
        for area in first.areas:
            shapes = [f"{len(area.polygons)} polygon(s)"] if area.polygons else []
            shapes += [f"{len(area.circles)} circle(s)"] if area.circles else []
            shapes += [f"{name} {value}" for name, value in area.geocodes]
            areas.append(area.description + (f" ({', '.join(shapes)})" if shapes else ""))
        return CapSummary(
            status=alert.status,
            msg_type=alert.msg_type,
            event=" / ".join(dict.fromkeys(i.event for i in infos)),
            urgency=first.urgency,
            severity=first.severity,
            certainty=first.certainty,
            area="; ".join(areas) or "none",
            expires=first.expires or "none",
        )

    # -- publishing ---------------------------------------------------------------------------------------

    def publish_preview(self, actor: Actor, message_id: str) -> PublishPreview:
        """The summary and the confirm phrase ``publish`` states, and whether it would go now, ordinarily or with
        break glass: read, never attempted (``publish`` with the phrase decides again)."""
        view = self.messages.show(actor, message_id)
        now = current_actor(self.db, actor.name)
        incident = self.incidents.from_log(view.incident_id)
        common = self._publish_refusal(view, incident)
        blocked = common or self._permission(now, working_permissions(incident.mode), f"publish {message_id}")
        if not blocked and not view.verdict.ok:
            blocked = f"{message_id} v{view.version} cannot be published: {view.verdict.reason}"
        glass = common or (now.refusal(Permission.APPROVE) or "")
        sent = view.sent_texts
        cap = self._cap_summary(view, incident)
        return PublishPreview(
            message=view,
            incident_title=incident.title,
            summary=self.messages.summary(view, incident),
            phrase=confirm_phrase(message_id, incident.mode.value),
            channels=tuple(ChannelLine(a.name, a.kind.value, a.mode) for a in view.accounts),
            area=summary_area(incident),
            audience=summary_audience(view),
            expires=cap.expires,
            texts=tuple(v for v in view.variants if v.channel in sent),
            blocked=blocked,
            break_glass_blocked=glass,
        )

    def _publish_refusal(self, view: MessageView, incident: Incident) -> str:
        """What refuses a publish whoever asks, with or without break glass."""
        if incident.status is Status.CLOSED:
            return f"{incident.id} is closed: nothing more is published on it; open a new incident"
        if view.published:
            return f"{view.id} is already published"
        record = Ledger(self.db.conn).message(view.id)
        if record is None:
            return f"no message {view.id!r}"
        content = orjson.loads(record.current.content)
        if content["mode"] != incident.mode.value:
            return f"{view.id} v{view.version} is {content['mode']} but {incident.id} is {incident.mode.value}"
        try:
            accounts = self.messages.channels
            plan(view.content_hash, content["mode"], [(a, accounts.current(a)) for a in content["targets"]])
        except CrisisdeskError as exc:
            return str(exc)
        return ""

    @staticmethod
    def _permission(now: Actor, wanted: tuple[Permission, ...], action: str) -> str:
        if any(now.may(p) for p in wanted):
            return ""
        if len(wanted) > 1:
            return f"{now.name} may not {action}: that needs one of: " + "; ".join(p.value for p in wanted)
        return now.refusal(wanted[0]) or ""

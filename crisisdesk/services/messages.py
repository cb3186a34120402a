"""Drafting, editing, approving and publishing messages: the two-person rule bound to exact content."""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any

import orjson

from crisisdesk.domain.accounts import Account, mode_refusal, targets_for
from crisisdesk.domain.agency import Agency
from crisisdesk.domain.approval import (
    Approval,
    Verdict,
    confirm_phrase,
    content_bytes,
    content_hash,
    own_version_refusal,
    replace_variant,
    verdict,
    version_content,
)
from crisisdesk.domain.cap import CapError, cap_time, parse_xml
from crisisdesk.domain.clock import Clock
from crisisdesk.domain.errors import NotFound, PermissionDenied, UserError
from crisisdesk.domain.events import Kind, from_body
from crisisdesk.domain.facts import fact_key, parse_datetime, split_key, zone
from crisisdesk.domain.incidents import Mode, Status, working_permissions
from crisisdesk.domain.lint import LintContext, lint
from crisisdesk.domain.messages import check_message_type, correction_facts, parse_values, with_language_check
from crisisdesk.domain.outbox import plan
from crisisdesk.domain.playbook import Playbook
from crisisdesk.domain.render import EXERCISE_MARKER, EXERCISE_PREFIX, mark_exercise
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.domain.text_rules import Channel, Finding, measure
from crisisdesk.services.channels import ChannelService
from crisisdesk.services.guard import current_actor, refuse, require
from crisisdesk.services.incidents import Incident, IncidentService
from crisisdesk.services.outbox import request_retractions
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger, MessageRecord, PublicationRecord, VersionRecord

# A variant longer than this is refused when edited: no channel sends anything near it, and a 50 MB text made
# the database ten times larger and 'message show' take 20 s.
MAX_VARIANT_CHARS = 32_000


class ConfirmationNeeded(UserError):
    """A publish needs the phrase the summary states; the message carries the summary."""

    def __init__(self, summary: str, phrase: str) -> None:
        super().__init__(f"to publish, type the confirm phrase exactly: --confirm '{phrase}'")
        self.summary = summary
        self.phrase = phrase


@dataclass(frozen=True)
class VariantView:
    channel: str
    lang: str
    text: str
    length: int
    limit: int
    unit: str
    findings: tuple[Finding, ...]
    over: bool = False  # past the limit, or past the parts (SMS) or bytes (Bluesky) the channel also limits

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "lang": self.lang,
            "text": self.text,
            "length": self.length,
            "limit": self.limit,
            "unit": self.unit,
            "over": self.over,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class MessageView:
    id: str
    incident_id: str
    type: str
    mode: str
    state: str
    version: int
    author: str  # who wrote the current version
    authors: list[str]  # everyone who wrote a version since the last published one: none of them may approve
    content_hash: str
    references: list[str]
    targets: list[str]
    variants: list[VariantView]
    approvals: list[dict[str, Any]]
    verdict: Verdict
    published: list[dict[str, Any]]
    accounts: list[Account]  # the targets, as accounts (a removed one is left out)
    # In a conflict: the sibling versions (edited at the same time on different workstations) to merge, each with
    # its version, hash, author, workstation (id and name), time and texts.
    siblings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sent_texts(self) -> set[str]:
        """The text variants some target sends."""
        return {t for a in self.accounts for t in a.spec.texts}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "incident": self.incident_id,
            "type": self.type,
            "mode": self.mode,
            "state": self.state,
            "version": self.version,
            "author": self.author,
            "authors": self.authors,
            "hash": self.content_hash,
            "references": self.references,
            "targets": self.targets,
            "channels": [{"id": a.id, "name": a.name, "kind": a.kind.value, "mode": a.mode} for a in self.accounts],
            "approved": self.verdict.ok,
            "approval_status": self.verdict.reason,
            "approvals": self.approvals,
            "published": self.published,
            "variants": [v.as_dict() for v in self.variants],
            "siblings": self.siblings,
        }


class MessageService:
    def __init__(
        self, db: Database, log: EventLog, clock: Clock, incidents: IncidentService, channels: ChannelService
    ) -> None:
        self.db = db
        self.log = log
        self.clock = clock
        self.incidents = incidents
        self.channels = channels

    # -- drafting and editing -------------------------------------------------------------------------

    def draft(
        self,
        actor: Actor,
        incident_id: str,
        message_type: str,
        *,
        references: list[str] | None = None,
        retract_references: bool = False,
    ) -> MessageView:
        """Render the playbook's templates for the incident's facts into version 1 of a new message."""
        check_message_type(message_type)
        incident = self.incidents.writable(actor, incident_id, f"draft a message on {incident_id}")
        rendered = self.incidents.playbooks.render(
            incident.playbook_id,
            message_type,
            None,
            incident.facts,
            mode=incident.mode.value,
            tz_name=incident.timezone,
        )
        if references is None:
            references = [] if message_type == "alert" else self._published_ids(incident_id)
        expiry = next(
            (
                incident.facts[n]
                for n, f in rendered.playbook.facts.items()
                if f.role == "expiry" and n in incident.facts
            ),
            None,
        )
        message_id = f"msg-{uuid.uuid4().hex[:10]}"
        content = version_content(
            message=message_id,
            incident=incident_id,
            message_type=message_type,
            mode=incident.mode.value,
            references=references,
            targets=[a.id for a in targets_for(self.channels.active(), incident.mode.value)],
            expires=expiry,
            variants=[
                {"channel": v.channel, "lang": v.lang, "text": v.text} for vs in rendered.variants.values() for v in vs
            ],
        )
        if retract_references:
            content["retract_references"] = True  # approving this version approves taking those posts back
        self._record_version(
            actor, Kind.MESSAGE_DRAFTED, message_id, version=1, content=content, extra={"type": message_type}
        )
        return self.show(actor, message_id)

    def edit(self, actor: Actor, message_id: str, channel: str, lang: str, text: str) -> MessageView:
        """Change one variant's text. This makes a new version: earlier approvals no longer apply."""
        record = self._record(message_id)
        incident = self.incidents.writable(actor, record.incident, f"edit {message_id}")
        if record.state == "published":
            raise UserError(f"{message_id} is published; draft a correction or an update instead")
        self._refuse_conflict(record, "edited")
        content = self._with_text(record, self._content(record), incident, channel=channel, lang=lang, text=text)
        self._record_version(
            actor,
            Kind.MESSAGE_EDITED,
            message_id,
            version=record.current.version + 1,
            content=content,
            extra={"base": _base(record.current)},
        )
        return self.show(actor, message_id)

    def merge(
        self,
        actor: Actor,
        message_id: str,
        keep: str,
        *,
        channel: str | None = None,
        lang: str | None = None,
        text: str | None = None,
    ) -> MessageView:
        """End a conflict: a new version that keeps one sibling's content (``keep``: its hash, or a unique start of
        it), with one variant's text replaced when ``text`` is given (a merged text), and names every sibling it
        replaces (``merges``). It needs approval like any new version."""
        record = self._record(message_id)
        incident = self.incidents.writable(actor, record.incident, f"merge {message_id}")
        if not record.conflict:
            raise UserError(f"{message_id} has no sibling versions to merge (it is {record.state})")
        kept = [v for v in record.heads if v.hash == keep] or [
            v for v in record.heads if keep and v.hash.startswith(keep)
        ]
        if len(kept) != 1:
            choices = ", ".join(f"v{v.version} {v.hash}" for v in record.heads)
            why = "matches more than one" if kept else "is none"
            raise UserError(f"--keep {keep!r} {why} of the sibling versions of {message_id}: {choices}")
        content = self._content_of(kept[0])
        if text is not None:
            if channel is None or lang is None:
                raise UserError("a merged text needs --channel and --lang: which variant it replaces")
            content = self._with_text(record, content, incident, channel=channel, lang=lang, text=text)
        self._record_version(
            actor,
            Kind.MESSAGE_EDITED,
            message_id,
            version=max(v.version for v in record.heads) + 1,
            content=content,
            extra={"base": _base(kept[0]), "merges": sorted({v.hash for v in record.heads})},
        )
        return self.show(actor, message_id)

    def _with_text(
        self, record: MessageRecord, content: dict[str, Any], incident: Incident, *, channel: str, lang: str, text: str
    ) -> dict[str, Any]:
        Channel.parse(channel)
        if len(text) > MAX_VARIANT_CHARS:
            raise UserError(
                f"that text is {len(text):,} characters; a variant may hold at most {MAX_VARIANT_CHARS:,} "
                "(put long material on a web page and link to it)"
            )
        if incident.mode is Mode.EXERCISE:
            text = _keep_exercise_marker(text, Channel(channel), lang)
        try:
            return replace_variant(content, channel, lang, text)
        except KeyError:
            raise UserError(f"{record.id} has no {channel} text in {lang!r}") from None

    @staticmethod
    def _refuse_conflict(record: MessageRecord, what: str) -> None:
        """A message with sibling versions is neither edited, submitted, approved nor published until a person
        merges them: which text would it be?"""
        if not record.conflict:
            return
        hashes = ", ".join(f"v{v.version} {v.hash[:12]} by {v.author}" for v in record.heads)
        raise UserError(
            f"{record.id} cannot be {what}: it has sibling versions edited at the same time on different "
            f"workstations ({hashes}); merge them first: crisisdesk message merge {record.id} --keep HASH "
            "(or with --channel, --lang and --text-file for a merged text)"
        )

    def set_targets(self, actor: Actor, message_id: str, names: list[str]) -> MessageView:
        """Choose the channels a message goes to. This makes a new version: the channels are approved too."""
        record = self._record(message_id)
        incident = self.incidents.writable(actor, record.incident, f"set the channels of {message_id}")
        if record.state == "published":
            raise UserError(f"{message_id} is published; draft an update to reach other channels")
        self._refuse_conflict(record, "given other channels")
        if not names:
            raise UserError("name at least one channel ('crisisdesk channels list' shows them)")
        accounts = [self.channels.get(n) for n in names]
        for account in accounts:
            refusal = mode_refusal(account, incident.mode.value)
            if refusal:
                refuse(
                    self.db, self.log, actor, f"set the channels of {message_id}", rule="channel mode", reason=refusal
                )
        content = {**self._content(record), "targets": sorted({a.id for a in accounts})}
        self._record_version(
            actor,
            Kind.MESSAGE_EDITED,
            message_id,
            version=record.current.version + 1,
            content=content,
            extra={"base": _base(record.current)},
        )
        return self.show(actor, message_id)

    # -- the approval round -----------------------------------------------------------------------------

    def submit(self, actor: Actor, message_id: str) -> MessageView:
        record = self._record(message_id)
        self.incidents.writable(actor, record.incident, f"submit {message_id}")
        if record.state == "published":
            raise UserError(f"{message_id} is already published")
        self._refuse_conflict(record, "submitted")
        view = self.show(actor, message_id)
        errors = [
            f"{v.channel}/{v.lang}: {f.code} {f.message}"
            for v in view.variants
            for f in v.findings
            if f.severity == "error"
        ]
        if errors:
            raise UserError(f"{message_id} has lint errors to fix before it is submitted: " + "; ".join(errors[:5]))
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.MESSAGE_SUBMITTED, self._ref(record, view.content_hash))
        return self.show(actor, message_id)

    def approve(self, actor: Actor, message_id: str, named_hash: str, comment: str | None = None) -> MessageView:
        record = self._record(message_id)
        now = require(self.db, self.log, actor, Permission.APPROVE, f"approve {message_id}")
        self._refuse_conflict(record, "approved")
        self._check_approvable(now, record, named_hash)
        payload = {**self._ref(record, record.current.hash), "roles": sorted(r.value for r in now.roles)}
        if comment:
            payload["comment"] = comment
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.MESSAGE_APPROVED, payload)
        return self.show(actor, message_id)

    def return_(self, actor: Actor, message_id: str, comment: str) -> MessageView:
        record = self._record(message_id)
        require(self.db, self.log, actor, Permission.APPROVE, f"return {message_id}")
        if not comment.strip():
            raise UserError("say what to change: --comment is required when returning a message")
        if record.state != "submitted":
            raise UserError(f"{message_id} is {record.state}, not submitted")
        with self.db.write() as conn:
            self.log.record(
                conn, actor.name, Kind.MESSAGE_RETURNED, {**self._ref(record, record.current.hash), "comment": comment}
            )
        return self.show(actor, message_id)

    # -- publishing -------------------------------------------------------------------------------------

    def publish(
        self,
        actor: Actor,
        message_id: str,
        *,
        confirm: str | None = None,
        break_glass: bool = False,
        reason: str | None = None,
    ) -> MessageView:
        """Check the policy against the re-hashed current version and record the hand-off to the outbox.

        Every fact this decides on is read from the event log now: the versions and their authors, the approval
        events of the exact hash and whether each approver still holds the role, the incident's mode and status,
        and the accounts' modes.
        """
        record = self._record(message_id)
        self.incidents.get(actor, record.incident)
        incident = self.incidents.from_log(record.incident)
        self._refuse_conflict(record, "published")
        if break_glass:
            require(self.db, self.log, actor, Permission.APPROVE, f"publish {message_id} with break glass")
            if not (reason or "").strip():
                raise UserError("break glass needs --reason: say why this cannot wait for a second person")
        else:
            require(self.db, self.log, actor, working_permissions(incident.mode), f"publish {message_id}")
        if incident.status is Status.CLOSED:
            raise UserError(f"{record.incident} is closed: nothing more is published on it; open a new incident")
        if record.publications:
            raise UserError(f"{message_id} is already published")
        version = record.current
        if content_hash(version.content.encode("utf-8")) != version.hash:
            raise UserError(
                f"{message_id} v{version.version}: its content in the audit log does not match its hash; "
                "run 'crisisdesk audit verify'"
            )
        content = orjson.loads(version.content)
        if content["mode"] != incident.mode.value or content["incident"] != record.incident:
            refuse(
                self.db,
                self.log,
                actor,
                f"publish {message_id}",
                rule="channel mode",
                reason=f"{message_id} v{version.version} is {content['mode']} but {record.incident} is "
                f"{incident.mode.value}",
            )
        view = self.show(actor, message_id)
        if not break_glass and not view.verdict.ok:
            raise PermissionDenied(f"{message_id} v{view.version} cannot be published: {view.verdict.reason}")
        try:
            rows = plan(version.hash, content["mode"], self._targets(content["targets"]))
        except PermissionDenied as exc:
            refuse(self.db, self.log, actor, f"publish {message_id}", rule="channel mode", reason=str(exc))
        phrase = confirm_phrase(message_id, incident.mode.value)
        if confirm != phrase:
            raise ConfirmationNeeded(self.summary(view, incident), phrase)
        payload = {
            **self._ref(record, version.hash),
            "break_glass": break_glass,
            "approved_by": list(view.verdict.counted),
            "mode": content["mode"],
            "outbox": rows,  # the outbox rows are made from this, in this transaction
            "cap": self._cap(incident, record, content).decode("utf-8"),
        }
        if break_glass:
            payload["reason"] = reason or ""
        # In a team, said when the hub does not answer now: the outbox then sends only what the approvals held
        # here allow, without the hub's claim (docs/design/sync.md, "Publishing once"). A short check, and publish
        # runs off the console's GUI thread.
        from crisisdesk.services.claims import hub_board

        hub = hub_board(self.db, self.channels.secrets)
        if hub is not None and not hub.reachable():
            payload["offline"] = True
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.MESSAGE_PUBLISHED, payload)
            if content.get("retract_references"):
                request_retractions(
                    self.log,
                    conn,
                    actor.name,
                    content["references"],
                    asked_by=message_id,
                    reason=f"false alarm: {message_id} cancels it",
                )
        return self.show(actor, message_id)

    def _targets(self, account_ids: list[str]) -> list[tuple[str, Account | None]]:
        return [(a, self.channels.current(a)) for a in account_ids]

    def _cap(self, incident: Incident, record: MessageRecord, content: dict[str, Any]) -> bytes:
        """The CAP document of the approved texts, with the incident's facts (area, expiry, source)."""
        playbook = self.incidents.playbooks.get(incident.playbook_id)
        tz = zone(incident.timezone)
        texts: dict[str, dict[str, str]] = {}
        for v in content["variants"]:
            texts.setdefault(v["lang"], {})[v["channel"]] = v["text"]
        # Who the alert is from, as the log says now: the sender every receiver trusts it by.
        agency = Agency.from_payload(self._ledger().agency())
        references = []
        for ref in content["references"]:
            earlier = self._ledger().message(ref)
            if earlier is not None and earlier.publications:
                references.append(_cap_reference(earlier.publications[-1], agency, ref, tz))
        return self.incidents.playbooks.cap_from_texts(
            playbook,
            content["type"],
            mode=content["mode"],
            texts=texts,
            values=parse_values(playbook, incident.facts, tz),
            tz_name=incident.timezone,
            sender=agency.sender,
            identifier_prefix=agency.prefix,
            identifier=agency.identifier(f"{record.id}-v{record.current.version}"),
            references=references,
            sent=self.clock.now(),
        )

    def summary(self, view: MessageView, incident: Incident) -> str:
        """What the publisher confirms: mode, channels, area, audience, and the text per channel."""
        mode = "EXERCISE (exercise channels only)" if view.mode == "exercise" else "LIVE: this goes to the public"
        accounts = view.accounts
        sent_texts = view.sent_texts
        lines = [
            f"{view.id} v{view.version} [{mode}] {view.type} for {incident.title}",
            "channels: " + (", ".join(f"{a.name} ({a.kind.value}, {a.mode})" for a in accounts) or "none"),
            f"area: {summary_area(incident)}",
            f"audience: {summary_audience(view)}",
            f"hash: {view.content_hash}",
        ]
        for v in view.variants:
            if v.channel in sent_texts:
                lines.append(f"--- {v.channel} [{v.lang}]\n{v.text}")
        return "\n".join(lines)

    # -- false alarm ------------------------------------------------------------------------------------

    def false_alarm(
        self,
        actor: Actor,
        incident_id: str,
        *,
        correction: str | None = None,
        translations: Mapping[str, str] | None = None,
    ) -> list[MessageView]:
        """Draft and submit the pre-approved cancel (referencing every unexpired published message) and a
        public correction, in one step, ready for approval. ``translations``: what was wrong in the playbook's
        other languages (lang -> text), each kept as the fact ``correction@lang``."""
        incident = self.incidents.writable(actor, incident_id, f"declare a false alarm on {incident_id}")
        live = self._unexpired_published(incident_id)
        if not live:
            raise UserError(f"nothing unexpired has been published on {incident_id}: there is nothing to cancel")
        playbook = self.incidents.playbooks.get(incident.playbook_id)
        what_was_wrong = playbook.correction_fact() or "correction"
        # Every refusal before anything is recorded: a refused false alarm changes nothing.
        for lang in translations or {}:
            if lang not in playbook.languages[1:]:
                others = ", ".join(playbook.languages[1:]) or "none"
                raise UserError(f"the playbook has no second language {lang!r} (its other languages: {others})")
        if not correction and what_was_wrong not in incident.facts:
            raise UserError("say what was wrong for the public correction: --correction 'the alert was sent in error'")
        for lang, text in (translations or {}).items():
            if text.strip():
                key = fact_key(what_was_wrong, lang, playbook.main_language)
                self.incidents.set_fact(actor, incident_id, key, text)
        if correction:
            self.incidents.set_fact(actor, incident_id, what_was_wrong, correction)
        flag = playbook.false_alarm_fact()
        if flag is not None and incident.facts.get(flag[0]) != flag[1]:
            # The cancel and the correction then say the alert was sent in error (the playbook's false-alarm texts).
            self.incidents.set_fact(actor, incident_id, *flag)
        cancel = self.draft(actor, incident_id, "cancel", references=live, retract_references=True)
        fix = self.draft(actor, incident_id, "correction", references=live)
        return [self.submit(actor, cancel.id), self.submit(actor, fix.id)]

    def cancellable(self, incident_id: str) -> list[str]:
        """The published messages of an incident a false alarm would cancel now (unexpired, not cancels)."""
        return self._unexpired_published(incident_id)

    def _unexpired_published(self, incident_id: str) -> list[str]:
        now = self.clock.now()
        rows = self.db.conn.execute(
            "SELECT p.message_id, v.content FROM publications p JOIN messages m ON m.id = p.message_id "
            "JOIN message_versions v ON v.message_id = p.message_id AND v.version = p.version "
            "WHERE m.incident_id = ? AND m.type != 'cancel' ORDER BY p.at",
            (incident_id,),
        ).fetchall()
        tz = zone(self.incidents.get_unchecked(incident_id).timezone)
        out = []
        for message_id, content in rows:
            expires = orjson.loads(content).get("expires")
            if expires is None or parse_datetime(expires, tz) > now:
                out.append(message_id)
        return out

    # -- reading ----------------------------------------------------------------------------------------

    def _language_contexts(
        self, ctx: LintContext, playbook: Playbook, incident: Incident, langs: set[str]
    ) -> dict[str, LintContext]:
        """Per language, ``ctx`` with the language lint (CD120, CD121) from the incident's facts as they are now."""
        tz = zone(incident.timezone)
        try:
            values = parse_values(playbook, incident.facts, tz)
        except UserError:  # facts the playbook no longer takes: the language is still checked, without them
            values = {}
        known = [lang for lang in langs if lang in playbook.languages]
        return {lang: with_language_check(ctx, playbook, lang, values, tz=tz) for lang in known}

    def show(self, actor: Actor, message_id: str) -> MessageView:
        """The message as its events say: the exact current text and hash, its authors, and the approvals that
        count now."""
        require(self.db, self.log, actor, Permission.READ, f"read {message_id}")
        record = self._record(message_id)
        self.incidents.get(actor, record.incident)
        incident = self.incidents.from_log(record.incident)
        version = record.current
        content = orjson.loads(version.content)
        playbook = self.incidents.playbooks.get(incident.playbook_id)
        ctx = LintContext(mode=content["mode"], message_type=content["type"], reading_grade=playbook.reading_grade)
        langs = {v["lang"] for v in content["variants"]}
        contexts = self._language_contexts(ctx, playbook, incident, langs)
        if record.state != "published":
            # Checked against the incident's facts now until it is published; after that the text is history.
            contexts = {
                lang: _with_correction_facts(contexts.get(lang, ctx), playbook, incident, lang) for lang in langs
            }
        variants = []
        for v in content["variants"]:
            m = measure(v["channel"], v["text"])
            findings = (*m.findings, *lint(v["text"], Channel(v["channel"]), v["lang"], contexts.get(v["lang"], ctx)))
            variants.append(
                VariantView(v["channel"], v["lang"], v["text"], m.length, m.limit, m.unit, findings, m.over)
            )
        authors = record.authors()
        everyone = self._ledger().everyone_roles()
        approvals = [
            {
                "message_id": message_id,
                "content_hash": a.hash,
                "approver": a.approver,
                "roles": ",".join(sorted(everyone.get(a.approver.casefold(), ()))),
                "at": a.at,
                "comment": a.comment,
            }
            for a in record.approvals
        ]
        published = [
            {
                "message_id": message_id,
                "version": p.version,
                "content_hash": p.hash,
                "at": p.at,
                "by_name": p.by,
                "break_glass": int(p.break_glass),
            }
            for p in record.publications
        ]
        return MessageView(
            id=message_id,
            incident_id=record.incident,
            type=record.type,
            mode=content["mode"],
            state=record.state,
            version=version.version,
            author=version.author,
            authors=authors,
            content_hash=version.hash,
            references=content["references"],
            targets=content["targets"],
            variants=variants,
            approvals=approvals,
            verdict=self._verdict(playbook.approval, record, everyone),
            published=published,
            accounts=[a for _, a in self._targets(content["targets"]) if a is not None],
            siblings=self._siblings(record) if record.conflict else [],
        )

    def _siblings(self, record: MessageRecord) -> list[dict[str, Any]]:
        names = {str(r[0]): str(r[1]) for r in self.db.conn.execute("SELECT id, name FROM workstations")}
        return [
            {
                "version": v.version,
                "hash": v.hash,
                "author": v.author,
                "workstation": v.workstation,
                "workstation_name": names.get(v.workstation, v.workstation),
                "at": v.at,
                "variants": [
                    {"channel": t["channel"], "lang": t["lang"], "text": t["text"]}
                    for t in orjson.loads(v.content)["variants"]
                ],
            }
            for v in record.heads
        ]

    def awaiting_approval(self, actor: Actor) -> list[str]:
        """The submitted messages ``actor`` may approve now, oldest first: they hold a role the playbook's policy
        names, wrote none of the current version (nor any since the last publish), have not approved this exact
        version yet, and it still needs approvals. Decided from the log, as ``approve`` decides; nothing is
        recorded (a question, not an attempt)."""
        now = current_actor(self.db, actor.name)
        if not now.may(Permission.APPROVE):
            return []
        held = {r.value for r in now.roles}
        ledger = self._ledger()
        everyone = ledger.everyone_roles()
        ids = [r[0] for r in self.db.conn.execute("SELECT id FROM messages WHERE state = 'submitted' ORDER BY rowid")]
        out = []
        for message_id in ids:
            record = ledger.message(message_id)
            if record is None or record.state != "submitted":
                continue  # the table says submitted, the log does not: the log decides
            if now.name.casefold() in {a.casefold() for a in record.authors()}:
                continue
            already = any(
                a.approver.casefold() == now.name.casefold()
                and a.hash == record.current.hash
                and a.order > record.current.order
                for a in record.approvals
            )
            if already:
                continue
            policy = self.incidents.playbooks.get(self.incidents.from_log(record.incident).playbook_id).approval
            if not held & {r.value for r in policy.roles}:
                continue
            if self._verdict(policy, record, everyone).ok:
                continue  # approved enough: it waits for a publisher, not for another approval
            out.append(message_id)
        return out

    def diff(self, actor: Actor, message_id: str) -> str:
        """The current version against the last published one (of this message, else of its incident)."""
        view = self.show(actor, message_id)
        base = self.last_published(view.incident_id, message_id)
        if base is None:
            return f"nothing has been published on {view.incident_id} yet: every text of {message_id} is new\n"
        old = {(v["channel"], v["lang"]): v["text"] for v in base[0]["variants"]}
        out: list[str] = []
        for v in view.variants:
            before = old.get((v.channel, v.lang), "")
            if before != v.text:
                out += difflib.unified_diff(
                    before.splitlines(keepends=True) or [""],
                    v.text.splitlines(keepends=True),
                    fromfile=f"{base[1]} v{base[2]} {v.channel} [{v.lang}]",
                    tofile=f"{message_id} v{view.version} {v.channel} [{v.lang}]",
                )
                if out and not out[-1].endswith("\n"):
                    out[-1] += "\n"
        return "".join(out) or f"{message_id} v{view.version} says the same as {base[1]} v{base[2]}\n"

    def returned_comment(self, view: MessageView) -> str | None:
        """The approver's comment of the return that ``view`` is in (None unless it is returned): what to change."""
        if view.state != "returned":
            return None
        found = self.db.conn.execute(
            "SELECT hash, body FROM events WHERE kind = ? AND json_extract(body, '$.payload.message') = ? "
            "ORDER BY position DESC LIMIT 1",
            (Kind.MESSAGE_RETURNED, view.id),
        ).fetchone()
        if found is None:
            return None
        comment: Any = from_body(found[1], found[0]).payload.get("comment")
        return str(comment) if comment else None

    def last_published(self, incident_id: str, message_id: str) -> tuple[dict[str, Any], str, int] | None:
        """What a version is compared with: the last published version of this message, else the last one
        published on its incident, as (content, message id, version); None when nothing was published."""
        base = self.db.conn.execute(
            "SELECT v.content, p.message_id, p.version FROM publications p JOIN message_versions v "
            "ON v.message_id = p.message_id AND v.version = p.version JOIN messages m ON m.id = p.message_id "
            "WHERE m.incident_id = ? ORDER BY (p.message_id = ?) DESC, p.at DESC LIMIT 1",
            (incident_id, message_id),
        ).fetchone()
        if base is None:
            return None
        return orjson.loads(base[0]), str(base[1]), int(base[2])

    # -- helpers ----------------------------------------------------------------------------------------

    def _verdict(self, approval: Any, record: MessageRecord, everyone: dict[str, frozenset[str]]) -> Verdict:
        """The policy against the approval events of the current hash, each approver's roles as they are now."""
        policy = approval.policy(record.type)
        # An approval counts only if given after the current version was made and after the last return: editing
        # a text back to what was approved earlier, or submitting again what an approver sent back, needs a new
        # approval.
        records = [
            Approval(
                a.approver,
                # Held now and when it was given: a revocation wins from its time on, wherever it was written.
                everyone.get(a.approver.casefold(), frozenset()) & a.roles_then,
                a.hash,
                datetime.fromisoformat(a.at),
                after_version=record.approval_counts(a),
            )
            for a in record.approvals
        ]
        return verdict(
            policy,
            content_hash=record.current.hash,
            authors=record.authors(),
            approvals=records,
            now=self.clock.now(),
        )

    def _check_approvable(self, actor: Actor, record: MessageRecord, named_hash: str) -> None:
        message_id, version = record.id, record.current
        if record.state != "submitted":
            raise UserError(f"{message_id} is {record.state}: only a submitted message can be approved")
        if named_hash != version.hash:
            raise UserError(
                f"stale hash: {message_id} is now v{version.version} with hash {version.hash}; "
                "read the current text ('crisisdesk message show') and approve that hash"
            )
        reason = own_version_refusal(actor.name, message_id, record.authors())
        if reason:
            refuse(self.db, self.log, actor, f"approve {message_id}", rule=Permission.APPROVE.value, reason=reason)

    def _record_version(
        self, actor: Actor, kind: str, message_id: str, *, version: int, content: dict[str, Any], extra: dict[str, Any]
    ) -> None:
        data = content_bytes(content)
        payload = {
            "incident": content["incident"],
            "message": message_id,
            "version": version,
            "hash": content_hash(data),
            "content": data.decode("utf-8"),  # stored verbatim: the hash is over exactly these bytes
            **extra,
        }
        with self.db.write() as conn:
            self.log.record(conn, actor.name, kind, payload)

    def _ledger(self) -> Ledger:
        return Ledger(self.db.conn)

    def _record(self, message_id: str) -> MessageRecord:
        record = self._ledger().message(message_id)
        if record is None:
            raise NotFound(f"no message {message_id!r}; 'crisisdesk incident show' lists an incident's messages")
        return record

    @staticmethod
    def _content(record: MessageRecord) -> dict[str, Any]:
        content: dict[str, Any] = orjson.loads(record.current.content)
        return content

    @staticmethod
    def _content_of(version: VersionRecord) -> dict[str, Any]:
        content: dict[str, Any] = orjson.loads(version.content)
        return content

    def _published_ids(self, incident_id: str) -> list[str]:
        rows = self.db.conn.execute(
            "SELECT DISTINCT p.message_id FROM publications p JOIN messages m ON m.id = p.message_id "
            "WHERE m.incident_id = ? ORDER BY p.at",
            (incident_id,),
        )
        return [r[0] for r in rows]

    @staticmethod
    def _ref(record: MessageRecord, hash_: str) -> dict[str, Any]:
        return {"incident": record.incident, "message": record.id, "version": record.current.version, "hash": hash_}


def _base(version: VersionRecord) -> dict[str, Any]:
    """What an edit names as the version it edited: two edits of the same base are siblings (domain/merge.py)."""
    return {"version": version.version, "hash": version.hash}


def _keep_exercise_marker(text: str, channel: Channel, lang: str) -> str:
    """An edited exercise text still says it is an exercise, whatever the editor typed."""
    if EXERCISE_MARKER.get(lang, "") in text or text.startswith(EXERCISE_PREFIX.get(lang, "\0")):
        return text
    return mark_exercise(text, channel, lang)


def _with_correction_facts(ctx: LintContext, playbook: Playbook, incident: Incident, lang: str) -> LintContext:
    """``ctx`` with what a correction must state and whether the incident is a false alarm, from its facts now; what
    cannot be read (a playbook changed since) is left unchecked rather than stopping the message from showing."""
    names = {n for n in (playbook.correction_fact(), (playbook.false_alarm_fact() or ("",))[0]) if n}
    try:
        tz = zone(incident.timezone)
        # name@lang too: a Spanish correction states the Spanish value of what was wrong.
        given = {k: v for k, v in incident.facts.items() if split_key(k)[0] in names}
        values = parse_values(playbook, given, tz)
    except UserError:
        return ctx
    corrected, false_alarm = correction_facts(playbook, lang, values, tz=tz)
    return replace(ctx, corrected=corrected, false_alarm=false_alarm)


def summary_area(incident: Incident) -> str:
    """The area a publish summary names: the incident's area fact as typed."""
    return incident.facts.get("area") or incident.facts.get("zone") or "as the playbook says"


def summary_audience(view: MessageView) -> str:
    return "the public in the area, in " + ", ".join(sorted({v.lang for v in view.variants}))


def _cap_reference(publication: PublicationRecord, agency: Agency, message_id: str, tz: tzinfo) -> str:
    """``sender,identifier,sent`` of an earlier published message, exactly as its CAP said (the agency's sender
    may have changed since); from the publication itself when it recorded no CAP."""
    if publication.cap:
        try:
            earlier = parse_xml(publication.cap.encode("utf-8"))
            return f"{earlier.sender},{earlier.identifier},{earlier.sent}"
        except CapError:
            pass
    sent = datetime.fromisoformat(publication.at)
    return f"{agency.sender},{agency.identifier(f'{message_id}-v{publication.version}')},{cap_time(sent, tz)}"

"""Evaluation and the after-action report (HSEEP AAR/IP) of a drill, from the event log.

The measurements come from the events of the drill and of its incidents (``crisisdesk.domain.evaluation``, pure,
which says what is measured and how the ratings are suggested); the controller's ratings, notes, strengths, areas
for improvement and improvement plan are events too (``drill.rated``, ``drill.report_edited``), so the report is
rebuilt from the log every time: no table holds any of it.

A drill's events are read straight from the log, by the indexed payload fields as the audit view reads them: the
drill's own (``payload.drill``), its incidents' (``payload.incident``), their messages' (``payload.message``), the
outbox rows their publications made (``payload.row``), and the triage decisions of the items its injects created.
Each entry is checked against its hash, as every decision read from the log is.

The report (``export``) is HTML (Jinja2, self-contained: CSS and the charts' SVG inline) and the same HTML laid
out as PDF by WeasyPrint, with the drill's entries of the audit log as an export beside them
(``crisisdesk.services.aar_render`` draws and renders; matplotlib and WeasyPrint load only then).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from crisisdesk.domain.clock import Clock
from crisisdesk.domain.errors import NotFound, UserError
from crisisdesk.domain.evaluation import (
    Evaluation,
    Evidence,
    InjectRow,
    LogEvent,
    Measurement,
    NotRated,
    ObjectiveResult,
    OutboxStory,
    Overview,
    PlanRow,
    PlaybookTerms,
    Rating,
    TimelineEntry,
    evaluate,
    scenario_of,
)
from crisisdesk.domain.events import Kind, from_body, is_canonical
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.audit import AuditService
from crisisdesk.services.guard import require
from crisisdesk.services.messages import MessageService
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger, TamperedLog

__all__ = [
    "FORMATS",
    "AfterActionService",
    "Evaluation",
    "Evidence",
    "InjectRow",
    "Measurement",
    "ObjectiveResult",
    "OutboxStory",
    "Overview",
    "PlanRow",
    "Rating",
    "TimelineEntry",
    "as_dict",
]

FORMATS = ("html", "pdf", "audit")
DRILL_KINDS = tuple(
    k
    for k in (
        Kind.DRILL_LOADED,
        Kind.DRILL_STARTED,
        Kind.DRILL_PAUSED,
        Kind.DRILL_RESUMED,
        Kind.DRILL_JUMPED,
        Kind.DRILL_COMPRESSION_SET,
        Kind.DRILL_INJECT_FIRED,
        Kind.DRILL_INJECT_SKIPPED,
        Kind.DRILL_ENDED,
        Kind.DRILL_RATED,
        Kind.DRILL_REPORT_EDITED,
        Kind.DRILL_REPORT_EXPORTED,
    )
)
# What a person may write into the report: enough for a paragraph each, and a bounded event.
MAX_TEXT = 2000
MAX_ITEMS = 50
CHUNK = 500  # ids in one IN (...)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


class AfterActionService:
    def __init__(
        self,
        db: Database,
        log: EventLog,
        clock: Clock,
        messages: MessageService,
        audit: AuditService,
        *,
        templates: Path,
    ) -> None:
        self.db = db
        self.log = log
        self.clock = clock
        self.messages = messages
        self.incidents = messages.incidents
        self.audit = audit
        self.templates = templates

    # -- reading ----------------------------------------------------------------------------------------

    def evaluate(self, actor: Actor, drill_id: str) -> Evaluation:
        now = require(self.db, self.log, actor, Permission.READ, f"read the evaluation of {drill_id}")
        return self._evaluate(now, self._events(drill_id))

    def _evaluate(self, actor: Actor, events: list[LogEvent]) -> Evaluation:
        drill_id = next(str(e.payload["drill"]) for e in events if e.kind == Kind.DRILL_LOADED and "drill" in e.payload)
        playbooks: dict[str, PlaybookTerms] = {}
        for e in events:
            if e.kind == Kind.INCIDENT_OPENED and e.payload.get("playbook") not in playbooks:
                try:
                    playbook = self.incidents.playbooks.get(str(e.payload["playbook"]))
                except UserError:
                    continue  # a playbook removed since: its cadence and checklist are not measured
                playbooks[playbook.id] = PlaybookTerms.from_playbook(playbook)
        found = evaluate(
            drill_id,
            events,
            playbooks=playbooks,
            lint_sent=self._lint_sent(actor, events),
            item_keys=self._item_keys(events),
            account_names={a.id: a.name for a in Ledger(self.db.conn).accounts().values()},
            now=self.clock.now(),
        )
        overview = found.overview
        if overview is None or overview.status == "ended" or actor.may(Permission.RUN_EXERCISES):
            return found
        # The injects still ahead are the controllers' script: a player who reads the evaluation or exports the
        # report mid-drill (both open to anyone who may read the drill) would have no drill left to play.
        come = [i for i in overview.injects if i.fired is not None or i.skipped]
        return replace(found, overview=replace(overview, injects=come))

    def _events(self, drill_id: str) -> list[LogEvent]:
        """Every entry of the drill (see the module's docstring), in log order, each checked against its hash."""
        found: dict[int, LogEvent] = {}
        marks = ",".join("?" * len(DRILL_KINDS))
        self._read(found, f"kind IN ({marks}) AND json_extract(body, '$.payload.drill') = ?", [*DRILL_KINDS, drill_id])
        if not any(e.kind == Kind.DRILL_LOADED for e in found.values()):
            raise NotFound(f"no drill {drill_id!r}; 'crisisdesk drill status' lists the drills")
        incidents = sorted(
            {
                str(i)
                for e in found.values()
                if e.kind == Kind.DRILL_STARTED
                for i in (e.payload.get("incidents") or {}).values()
            }
        )
        self._read_in(found, "json_extract(body, '$.payload.incident')", incidents)
        messages = sorted(
            {
                str(e.payload["message"])
                for e in found.values()
                if e.kind == Kind.MESSAGE_DRAFTED and e.payload.get("incident") in incidents
            }
        )
        self._read_in(found, "json_extract(body, '$.payload.message')", messages)
        rows = sorted(
            {
                str(r["row"])
                for e in found.values()
                if e.kind == Kind.MESSAGE_PUBLISHED and e.payload.get("message") in messages
                for r in e.payload.get("outbox") or ()
            }
        )
        self._read_in(
            found,
            "json_extract(body, '$.payload.row')",
            rows,
            kinds=(Kind.OUTBOX_SENT, Kind.OUTBOX_FAILED, Kind.OUTBOX_RETRIED, Kind.RETRACT_DONE),
        )
        for chunk in _chunks(rows):
            # The worker names several rows at once in these; few entries, read by their kind.
            marks = ",".join("?" * len(chunk))
            where = (
                f"kind IN (?, ?) AND EXISTS (SELECT 1 FROM json_each(body, '$.payload.rows') WHERE value IN ({marks}))"  # noqa: S608
            )
            self._read(found, where, [Kind.OUTBOX_UNKNOWN, Kind.OUTBOX_RELEASED, *chunk])
        items = sorted(self._item_keys(list(found.values())).values())
        self._read_in(found, "json_extract(body, '$.payload.item')", items, kinds=(Kind.TRIAGE_SET,))
        return [found[p] for p in sorted(found)]

    def _read_in(
        self, found: dict[int, LogEvent], expression: str, values: Sequence[str], *, kinds: Sequence[str] = ()
    ) -> None:
        for chunk in _chunks(values):
            where = f"{expression} IN ({','.join('?' * len(chunk))})"
            if kinds:
                where = f"kind IN ({','.join('?' * len(kinds))}) AND {where}"
            self._read(found, where, [*kinds, *chunk])

    def _read(self, found: dict[int, LogEvent], where: str, args: Sequence[Any]) -> None:
        sql = f"SELECT position, hash, body FROM events WHERE {where}"  # noqa: S608 - only '?' marks are formatted in
        for position, stored_hash, body in self.db.conn.execute(sql, list(args)):
            if position in found:
                continue
            if not isinstance(body, bytes) or hashlib.sha256(body).hexdigest() != stored_hash or not is_canonical(body):
                raise TamperedLog(
                    f"audit log entry #{position} does not match its hash or is not in canonical form, so the drill "
                    "is not evaluated on it; run 'crisisdesk audit verify'"
                )
            found[position] = LogEvent.from_event(from_body(body, stored_hash), position)

    def _item_keys(self, events: Sequence[LogEvent]) -> dict[str, str]:
        """The items the drill's injects created, by the id the inject names -> the key triage decisions use."""
        named = sorted(
            {str(e.payload["item"]) for e in events if e.kind == Kind.DRILL_INJECT_FIRED and e.payload.get("item")}
        )
        keys = {n: n for n in named}  # an inject may name the item by its key already
        numbers = [int(n) for n in named if n.isdigit() and len(n) < 16]  # an item's number, not a fingerprint
        for chunk in _chunks(numbers):
            sql = f"SELECT id, fingerprint FROM feed_items WHERE id IN ({','.join('?' * len(chunk))})"  # noqa: S608
            for item_id, fingerprint in self.db.conn.execute(sql, list(chunk)):
                keys[str(item_id)] = str(fingerprint)
        return keys

    def _lint_sent(self, actor: Actor, events: Sequence[LogEvent]) -> dict[str, list[str]]:
        """Per published message, the lint findings of the texts its channels sent, as the lint reads them now."""
        out: dict[str, list[str]] = {}
        for e in events:
            if e.kind != Kind.MESSAGE_PUBLISHED:
                continue
            message_id = str(e.payload["message"])
            try:
                view = self.messages.show(actor, message_id)
            except UserError:
                continue
            sent = view.sent_texts
            # One line a finding, with every text it was found in (the same warning in ten channels is one line);
            # the lint's "info" notes are for reference, not findings.
            found: dict[tuple[str, str, str], list[str]] = {}
            for v in view.variants:
                if sent and v.channel not in sent:
                    continue
                for f in v.findings:
                    if f.severity != "info":
                        found.setdefault((f.code, f.severity, f.message), []).append(f"{v.channel}/{v.lang}")
            out[message_id] = [
                f"{code} {severity}: {text} (in {', '.join(where)})" for (code, severity, text), where in found.items()
            ]
        return out

    # -- the controller's edits -------------------------------------------------------------------------

    def rate(self, actor: Actor, drill_id: str, objective_id: str, rating: str, note: str) -> Evaluation:
        """The controller's rating of one objective, with why (it replaces the suggestion in the report)."""
        now = require(self.db, self.log, actor, Permission.RUN_EXERCISES, f"rate an objective of {drill_id}")
        try:
            chosen = Rating(rating.strip().upper())
        except ValueError:
            raise UserError(
                f"{rating!r} is not an HSEEP rating: give P (performed without challenges), S (some challenges), "
                "M (major challenges) or U (unable to be performed)"
            ) from None
        note = _text(note, "the note")
        if not note:
            raise UserError("say why with --note: the report shows the controller's note beside the rating")
        _objective(drill_id, self._events(drill_id), objective_id)  # an unknown one is named before anything is kept
        self._record(
            now,
            Kind.DRILL_RATED,
            {"drill": drill_id, "objective": objective_id, "rating": chosen.value, "note": note},
        )
        return self.evaluate(now, drill_id)

    def edit_objective(
        self, actor: Actor, drill_id: str, objective_id: str, *, strengths: list[str], areas: list[str]
    ) -> Evaluation:
        """The strengths and areas for improvement of one objective, as the controller writes them (all of them:
        the last edit stands)."""
        now = require(self.db, self.log, actor, Permission.RUN_EXERCISES, f"edit the report of {drill_id}")
        kept_strengths, kept_areas = _lines(strengths, "a strength"), _lines(areas, "an area for improvement")
        _objective(drill_id, self._events(drill_id), objective_id)
        self._record(
            now,
            Kind.DRILL_REPORT_EDITED,
            {"drill": drill_id, "objective": objective_id, "strengths": kept_strengths, "areas": kept_areas},
        )
        return self.evaluate(now, drill_id)

    def set_plan(self, actor: Actor, drill_id: str, rows: list[PlanRow]) -> Evaluation:
        """The improvement plan, every row (the last edit stands)."""
        now = require(self.db, self.log, actor, Permission.RUN_EXERCISES, f"edit the improvement plan of {drill_id}")
        if len(rows) > MAX_ITEMS:
            raise UserError(f"an improvement plan of {len(rows)} rows: keep it to {MAX_ITEMS}")
        kept = []
        for n, row in enumerate(rows, start=1):
            issue = _text(row.issue, f"row {n}'s issue")
            if not issue:
                raise UserError(f"improvement plan row {n}: say what the issue is")
            if row.start and row.completion and row.completion < row.start:
                raise UserError(
                    f"improvement plan row {n}: completion {row.completion.isoformat()} is before its start "
                    f"{row.start.isoformat()}"
                )
            kept.append(
                replace(
                    row,
                    issue=issue,
                    corrective_action=_text(row.corrective_action, f"row {n}'s corrective action"),
                    capability=_text(row.capability, f"row {n}'s capability"),
                    responsible=_text(row.responsible, f"row {n}'s responsible"),
                )
            )
        self._events(drill_id)  # an unknown drill is named before anything is kept
        self._record(
            now,
            Kind.DRILL_REPORT_EDITED,
            {"drill": drill_id, "objective": None, "plan": [r.as_payload() for r in kept]},
        )
        return self.evaluate(now, drill_id)

    def _record(self, actor: Actor, kind: str, payload: dict[str, Any]) -> None:
        with self.db.write() as conn:
            self.log.record(conn, actor.name, kind, payload)

    # -- the report -------------------------------------------------------------------------------------

    def html(self, actor: Actor, drill_id: str) -> str:
        """The AAR/IP as one self-contained HTML page (nothing is recorded: a preview)."""
        from crisisdesk.services import aar_render

        evaluation = self.evaluate(actor, drill_id)
        return aar_render.html(evaluation, self.templates, self._agency())

    def export(
        self, actor: Actor, drill_id: str, folder: Path, *, html: bool = True, pdf: bool = True, audit: bool = True
    ) -> list[Path]:
        """The AAR/IP as HTML and PDF, with its charts, and the drill's audit export; the files written."""
        now = require(self.db, self.log, actor, Permission.READ, f"export the after-action report of {drill_id}")
        if not (html or pdf or audit):
            raise UserError("nothing to export: leave out one of --no-html, --no-pdf, --no-audit")
        folder = Path(folder)
        try:
            if folder.exists() and not folder.is_dir():
                raise UserError(f"--out {folder} is not a folder; give a folder for the report's files")
            if not folder.exists():
                if not folder.parent.is_dir():
                    raise UserError(f"--out: the folder {folder.parent} does not exist")
                folder.mkdir()
        except OSError as exc:  # a name too long, a folder that takes no new folder (read-only, not ours)
            raise UserError(f"--out {folder}: cannot make the folder: {exc.strerror or exc}") from None
        events = self._events(drill_id)
        evaluation = self._evaluate(now, events)
        written: list[Path] = []
        formats: list[str] = []
        stem = f"{drill_id}-aar"
        if html or pdf:
            from crisisdesk.services import aar_render

            audit_file = f"{drill_id}-audit.jsonl" if audit else None
            page = aar_render.html(evaluation, self.templates, self._agency(), audit_file)
            if html:
                written.append(_write(folder / f"{stem}.html", lambda f: f.write(page.encode("utf-8"))))
                formats.append("html")
            if pdf:
                data = aar_render.pdf(page)
                written.append(_write(folder / f"{stem}.pdf", lambda f: f.write(data)))
                formats.append("pdf")
        if audit:
            positions = [e.position for e in events]

            def entries(f: Any) -> None:
                import io

                text = io.TextIOWrapper(f, encoding="utf-8", newline="")
                self.audit.export(now, "jsonl", text, entries=positions, about={"drill": drill_id})
                text.flush()
                text.detach()

            written.append(_write(folder / f"{drill_id}-audit.jsonl", entries))  # the name the report gives
            formats.append("audit")
        self._record(
            now,
            Kind.DRILL_REPORT_EXPORTED,
            {"drill": drill_id, "files": [p.name for p in written], "formats": formats},
        )
        return written

    def _agency(self) -> str | None:
        agency = Ledger(self.db.conn).agency()
        name = (agency or {}).get("name")
        return str(name) if name else None


def _objective(drill_id: str, events: Sequence[LogEvent], objective_id: str) -> None:
    _, scenario = scenario_of(drill_id, events)
    if all(o.id != objective_id for o in scenario.objectives):
        known = ", ".join(o.id for o in scenario.objectives)
        raise NotFound(f"drill {drill_id} has no objective {objective_id!r} (its objectives: {known})")


def _write(target: Path, fill: Callable[[Any], Any]) -> Path:
    """Write beside the target and rename into place: a failed export never leaves half a file."""
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UserError(f"{target} is not a regular file; the export replaces only a regular file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:  # a folder that takes no file: read-only, not ours, full
        raise UserError(f"cannot write into {target.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# Control characters (a terminal's escapes, a bell) and the bidi overrides, embeddings and isolates: in a report they
# only hide or reorder what the controller wrote (U+202E turns the rest of a line around).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _text(value: str, what: str) -> str:
    text = " ".join(_HIDDEN.sub(" ", str(value or "")).split())
    if len(text) > MAX_TEXT:
        raise UserError(f"{what} is {len(text):,} characters long: keep it to {MAX_TEXT:,}")
    return text


def _lines(values: Sequence[str], what: str) -> list[str]:
    kept = [t for t in (_text(v, what) for v in values) if t]
    if len(kept) > MAX_ITEMS:
        raise UserError(f"{len(kept)} entries for {what}: keep it to {MAX_ITEMS}")
    return kept


def parse_day(text: str, what: str) -> date | None:
    """A plan's date as a person types it (2026-12-01; empty: none)."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{what} {text!r} is not a date: write it as 2026-12-01") from None


def _seconds(value: Any) -> float | None:
    return None if value is None else value.total_seconds()


def _measurement(m: Measurement) -> dict[str, Any]:
    return {
        "label": m.label,
        "seconds": _seconds(m.value),
        "target_seconds": _seconds(m.target),
        "share": m.share,
        "target_share": m.share_target,
        "met": m.met,
        "rating": None if isinstance(m.rating, NotRated) else m.rating.value,  # null: nothing to rate it against
        "outcome": m.outcome,
        "skipped": m.skipped,
        "incident": m.incident,
        "evidence": [{"drill_seconds": e.at.total_seconds(), "text": e.text} for e in m.events],
    }


def as_dict(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation as JSON-ready data: times in seconds of drill time, wall times in UTC ISO 8601."""
    o = evaluation.overview
    overview: dict[str, Any] | None = None
    if o is not None:
        overview = {
            "name": o.name,
            "scenario": o.scenario_id,
            "version": o.version,
            "source": o.source,
            "status": o.status,
            "loaded_at": o.loaded_at.isoformat(),
            "started_at": o.started_at.isoformat() if o.started_at else None,
            "ended_at": o.ended_at.isoformat() if o.ended_at else None,
            "drill_seconds": o.length.total_seconds(),
            "planned_seconds": o.planned.total_seconds(),
            "compression": o.compression,
            "controller": o.controller,
            "controllers": o.controllers,
            "players": o.players,
            "incidents": o.incidents,
            "injects": [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "scheduled_seconds": i.scheduled.total_seconds(),
                    "fired_seconds": _seconds(i.fired),
                    "skipped": i.skipped,
                    "by_hand": i.by_hand,
                }
                for i in o.injects
            ],
        }
    return {
        "drill": evaluation.drill_id,
        "overview": overview,
        "objectives": [
            {
                "id": r.objective_id,
                "title": r.title,
                "capability": r.capability,
                "measure": r.measure,
                "expectation": r.expectation,
                "suggested": r.suggested.value,
                "rating": r.rating.value,
                "rating_note": r.rating_note,
                "rated_by": r.rated_by,
                "strengths": r.strengths,
                "areas": r.areas,
                "measurements": [_measurement(m) for m in r.measurements],
            }
            for r in evaluation.objectives
        ],
        "inject_responses": [_measurement(m) for m in evaluation.inject_responses],
        "approval_latencies": [_measurement(m) for m in evaluation.approval_latencies],
        "lint_findings_sent": evaluation.lint_findings_sent,
        "break_glass": evaluation.break_glass,
        "outbox_failures": evaluation.outbox_failures,
        "plan": [r.as_payload() for r in evaluation.plan],
    }

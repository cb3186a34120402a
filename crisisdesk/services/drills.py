"""Exercise control: load a scenario, start, pause, resume, jump, compress time, inject by hand, end.

CONTRACT (issue 15; the lead wrote the shapes, the drill-service helper fills them in). Every control action is an
event (``Kind.DRILL_*``), and a drill's state (status, drill time, which injects fired) is derived from those events
at the moment it is asked for, never from a table. Injects go through the real feed, triage and outbox paths into
the drill's exercise-only feed source and exercise accounts; nothing in a drill can reach a LIVE account.

Drill time: from the control events, each with its wall time (UTC): while running, drill time advances at
``compression`` drill seconds per wall second (1 to 60); a pause stops it; a jump sets it forward to an inject's
offset. ``crisisdesk.domain.drill`` holds that arithmetic, pure.

Numbers in the events are integers or decimal strings (the log refuses floats): ``compression`` "60",
``drill_seconds`` "300.125", ``until_seconds`` "2100.000"; ``scheduled_seconds`` is a whole number.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.drill import (
    CHANNEL_OUTAGE,
    STARTED,
    STATE_KINDS,
    DrillClock,
    DrillRecord,
    Outage,
    offset_text,
)
from crisisdesk.domain.errors import NotFound, UserError
from crisisdesk.domain.events import Kind, from_body, is_canonical
from crisisdesk.domain.feeds import Item, SourceKind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.playbook import Positions, Problem
from crisisdesk.domain.roles import Actor, Permission, Role
from crisisdesk.domain.scenario import InjectKind, Scenario, check_references, parse_scenario
from crisisdesk.services.guard import require
from crisisdesk.services.people import SYSTEM
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger, TamperedLog

if TYPE_CHECKING:
    from crisisdesk.services.channels import ChannelService
    from crisisdesk.services.feeds import FeedService, Source
    from crisisdesk.services.incidents import IncidentService

log = logging.getLogger(__name__)

MIN_COMPRESSION = 1.0
MAX_COMPRESSION = 60.0
SCENARIO_LIMIT = 1_000_000  # bytes of a scenario file, and of each CAP file it names
SCENARIO_SUFFIXES = (".yaml", ".yml")
ITEM_MARK = "EXERCISE: "  # before the title of every item a drill injects


_SAYS_EXERCISE = re.compile(r"\s*EXERCISE\b", re.IGNORECASE)


def marked(title: str) -> str:
    """A drill item's title with the exercise mark before it, once: a CAP exercise headline often says EXERCISE
    already, and "EXERCISE: EXERCISE: FLASH FLOOD WARNING" read like a stutter in the Monitor."""
    return title if _SAYS_EXERCISE.match(title) else f"{ITEM_MARK}{title}"


class DrillStatus(enum.StrEnum):
    LOADED = "loaded"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class InjectStatus(enum.StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class InjectState:
    id: str
    kind: InjectKind
    scheduled: timedelta  # its offset from the start, in drill time
    summary: str  # one line for the controller's list: "Comment (urgent, es): ¿Dónde está el refugio?"
    incident_id: str | None  # the drill incident it concerns, once started
    status: InjectStatus
    fired_at: timedelta | None = None  # drill time it fired
    fired_wall: datetime | None = None  # UTC
    by_hand: bool = False
    detail: str = ""  # what it did: "feed item 123 in 'drill: Flash flood'", "'sms-exercise' failing until T+35m"
    drill_id: str = ""
    item: str | None = None  # the fingerprint of the feed item it made (feed-item, cap-alert, comment)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "at": offset_text(self.scheduled),
            "scheduled_seconds": int(self.scheduled.total_seconds()),
            "summary": self.summary,
            "incident": self.incident_id,
            "status": self.status.value,
            "fired_at": offset_text(self.fired_at) if self.fired_at is not None else None,
            "fired_seconds": round(self.fired_at.total_seconds(), 3) if self.fired_at is not None else None,
            "fired_wall": utc_iso(self.fired_wall) if self.fired_wall else None,
            "by_hand": self.by_hand,
            "detail": self.detail,
            "item": self.item,
        }


@dataclass(frozen=True, slots=True)
class PlayerNote:
    inject_id: str
    to: Role
    source: str
    text: str
    fired_at: timedelta


@dataclass(frozen=True, slots=True)
class Drill:
    id: str
    scenario: Scenario
    source: str  # the scenario file's name
    status: DrillStatus
    compression: float
    drill_time: timedelta  # at the moment it was read
    loaded_by: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    incidents: dict[str, str] = field(default_factory=dict)  # scenario key -> incident id
    injects: list[InjectState] = field(default_factory=list)
    notes: list[PlayerNote] = field(default_factory=list)
    outages: list[str] = field(default_factory=list)  # what is failing now, one line each
    loaded_at: datetime | None = None
    feed_source: str | None = None  # the id of the drill's exercise-only feed source, once started
    sha256: str = ""  # of the scenario's text as loaded

    @property
    def next_inject(self) -> InjectState | None:
        pending = [i for i in self.injects if i.status is InjectStatus.PENDING]
        return min(pending, key=lambda i: i.scheduled) if pending else None

    @property
    def name(self) -> str:
        return self.scenario.name

    def as_dict(self) -> dict[str, Any]:
        return {
            "drill": self.id,
            "scenario": self.scenario.id,
            "name": self.scenario.name,
            "source": self.source,
            "status": self.status.value,
            "compression": self.compression,
            "drill_time": offset_text(self.drill_time),
            "drill_seconds": round(self.drill_time.total_seconds(), 3),
            "loaded_by": self.loaded_by,
            "loaded_at": utc_iso(self.loaded_at) if self.loaded_at else None,
            "started_at": utc_iso(self.started_at) if self.started_at else None,
            "ended_at": utc_iso(self.ended_at) if self.ended_at else None,
            "incidents": self.incidents,
            "feed_source": self.feed_source,
            "injects": [i.as_dict() for i in self.injects],
            "notes": [
                {
                    "inject": n.inject_id,
                    "to": n.to.value,
                    "source": n.source,
                    "text": n.text,
                    "at": offset_text(n.fired_at),
                }
                for n in self.notes
            ],
            "outages": self.outages,
        }


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    path: Path
    scenario: Scenario | None
    problems: list[Problem]


def _seconds_text(value: float) -> str:
    return f"{value:.3f}"


def _factor_text(value: float) -> str:
    return f"{value:g}"


def check_compression(factor: float) -> float:
    """1 to 60 drill seconds per wall second, or a one-line error."""
    try:
        value = float(factor)
    except (TypeError, ValueError):
        value = math.nan
    if not (MIN_COMPRESSION <= value <= MAX_COMPRESSION):  # also refuses NaN
        raise UserError(
            f"a compression of {factor} is out of range: give {MIN_COMPRESSION:g} (real time) to {MAX_COMPRESSION:g}"
            " (an hour in a minute)"
        )
    return value


def inject_summary(inject: Any) -> str:
    """One line for the controller's list."""
    kind = InjectKind(inject.kind)
    if kind is InjectKind.FEED_ITEM:
        line = f"Feed item: {inject.headline}"
    elif kind is InjectKind.CAP_ALERT:
        line = f"CAP alert: {inject.file}"
    elif kind is InjectKind.COMMENT:
        urgent = "urgent, " if inject.urgent else ""
        line = f"Comment ({urgent}{inject.language}, {inject.group}): {inject.text}"
    elif kind is InjectKind.NOTE:
        line = f"Note for the {inject.to.value} from {inject.source}: {inject.text}"
    elif kind is InjectKind.CHANNEL_OUTAGE:
        line = f"Channel outage: {inject.account} fails for {inject.lasting}"
    else:
        line = f"Network loss: every exercise channel unreachable for {inject.lasting}"
    if inject.title:
        line = f"{inject.title} ({line})"
    return " ".join(line.split())[:300]


class DrillService:
    """See the module's docstring. Methods that act take the ``Actor`` and require ``Permission.RUN_EXERCISES``
    (re-read from the log)."""

    def __init__(
        self,
        db: Database,
        log: EventLog,
        clock: Clock,
        *,
        incidents: Callable[[], IncidentService],
        feeds: Callable[[], FeedService],
        channels: Callable[[], ChannelService],
        folders: Sequence[Path] = (),
    ) -> None:
        self.db = db
        self.log = log
        self.clock = clock
        # Built on first use: the outbox asks this service about outages and needs none of them.
        self._incidents = incidents
        self._feeds = feeds
        self._channels = channels
        self.folders = list(folders)
        self._scenarios: dict[str, Scenario] = {}  # parsed scenario texts by their hash
        self._running: tuple[tuple[int, int], list[DrillRecord]] | None = None
        # Each drill as its events say, folded up to the event at ``_folded_to`` (see ``_refresh``).
        self._folded: dict[str, DrillRecord] = {}
        self._folded_to = 0
        self._by_incident: tuple[tuple[int, int], dict[str, DrillRecord]] | None = None

    # -- scenario files -------------------------------------------------------------------------------------

    def scenarios(self) -> list[ScenarioFile]:
        """Every scenario file (shipped, then the user's folder), each checked, broken ones with their problems."""
        out = []
        for folder in self.folders:
            if not folder.is_dir():
                continue
            for path in sorted(p for p in folder.iterdir() if p.suffix in SCENARIO_SUFFIXES and p.is_file()):
                scenario, problems = self.validate(path)
                out.append(ScenarioFile(path, scenario, problems))
        return out

    def validate(self, path: Path) -> tuple[Scenario | None, list[Problem]]:
        """The file checked: schema, then cross-references (inject ids unique, objectives' injects and incidents
        exist, playbooks exist, outage accounts are exercise accounts). Problems as ``file:line:column``."""
        scenario, problems, _, _ = self._check(path)
        return scenario, problems

    def _check(self, path: Path) -> tuple[Scenario | None, list[Problem], str, dict[str, str]]:
        """(scenario, problems, its text, the CAP files it names by name -> text)."""
        source = str(path)
        try:
            data = _read_limited(path)
        except UserError as exc:
            return None, [Problem(source, 1, 1, str(exc))], "", {}
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return (
                None,
                [Problem(source, 1, 1, f"not UTF-8 text (byte at position {exc.start}); save it as UTF-8")],
                "",
                {},
            )
        scenario, pos, problems = parse_scenario(text, source)
        if scenario is None:
            return None, problems, text, {}
        problems = list(self._cross_references(scenario, pos, source))
        files: dict[str, str] = {}
        for i, inject in enumerate(scenario.injects):
            if inject.kind is not InjectKind.CAP_ALERT or inject.file in files:
                continue
            where = pos.at(("injects", i, "file"))
            target = path.parent / inject.file
            try:
                # The name is checked to stay in the folder (domain.scenario); a link must not lead out of it
                # either: what a drill reads goes whole into the log, and the scenario's folder is what was checked.
                outside = not target.resolve().is_relative_to(path.parent.resolve())
            except (OSError, RuntimeError):  # a loop of links
                outside = True
            if outside:
                problems.append(Problem(source, *where, f"{inject.file} leads outside the scenario's folder (a link)"))
                continue
            try:
                cap = _read_limited(target)
                files[inject.file] = cap.decode("utf-8")
            except UserError as exc:
                problems.append(Problem(source, *where, f"{inject.file}: {exc}"))
                continue
            except UnicodeDecodeError:
                problems.append(Problem(source, *where, f"{inject.file}: not UTF-8 text"))
                continue
            reason = _cap_problem(cap)
            if reason:
                problems.append(Problem(source, *where, f"{inject.file}: {reason}"))
        problems.sort(key=lambda p: (p.line, p.column))
        return (None if problems else scenario), problems, text, files

    def _cross_references(self, scenario: Scenario, pos: Positions, source: str) -> Iterator[Problem]:
        """What the schema cannot see: names that must point at something (the scenario's own ids and keys, the
        playbook library, the channel accounts)."""
        # The scenario's own names (ids, keys, injects after which each measure counts, time targets, duration):
        # domain.scenario's pure checks. The playbooks, facts and accounts are checked below, against this
        # workstation.
        yield from check_references(scenario, pos, source)
        from crisisdesk.domain.facts import zone
        from crisisdesk.domain.messages import fact_name, parse_values

        library = self._incidents().playbooks
        for i, incident in enumerate(scenario.incidents):
            try:
                playbook = library.get(incident.playbook)
            except UserError as exc:
                yield Problem(source, *pos.at(("incidents", i, "playbook")), str(exc))
                continue
            try:
                raw = {fact_name(playbook, k): v for k, v in incident.facts.items()}
                parse_values(playbook, raw, zone(playbook.timezone))
            except UserError as exc:
                yield Problem(source, *pos.at(("incidents", i, "facts")), f"incident {incident.key}: {exc}")
        accounts = {a.name: a for a in self._channels().active()}
        for i, inject in enumerate(scenario.injects):
            if inject.kind is not InjectKind.CHANNEL_OUTAGE:
                continue
            account = accounts.get(inject.account)
            where = pos.at(("injects", i, "account"))
            if account is None:
                known = ", ".join(sorted(n for n, a in accounts.items() if a.exercise)) or "none yet"
                yield Problem(
                    source,
                    *where,
                    f"this workstation has no channel account {inject.account!r}: add it as an EXERCISE account "
                    f"(Settings > Channel accounts, or 'crisisdesk channels add KIND {inject.account} --exercise'), "
                    f"or name one it has (its exercise accounts: {known})",
                )
            elif not account.exercise:
                yield Problem(
                    source, *where, f"{inject.account!r} is a LIVE account: a drill may only fail exercise accounts"
                )

    # -- reading drills from the log -----------------------------------------------------------------------

    def _events_after(self, position: int) -> Iterator[tuple[int, Any]]:
        """The drill events appended after ``position``, checked against their hashes: the drills' state is decided
        on them."""
        kinds = sorted(STATE_KINDS)
        marks = ",".join("?" * len(kinds))
        sql = f"SELECT position, hash, body FROM events WHERE kind IN ({marks}) AND position > ? ORDER BY position"  # noqa: S608
        for found, stored_hash, body in self.db.conn.execute(sql, (*kinds, position)):
            if not isinstance(body, bytes) or hashlib.sha256(body).hexdigest() != stored_hash or not is_canonical(body):
                raise TamperedLog(
                    f"audit log entry #{found} does not match its hash or is not in canonical form, so the drill "
                    "is not read from it; run 'crisisdesk audit verify'"
                )
            yield found, from_body(body, stored_hash)

    def _refresh(self) -> None:
        """Fold the drill events appended since the last look into each drill's record. The log only grows (its
        triggers refuse changes and deletions), so the fold so far stands and only the new events are read: a
        workstation with hundreds of past drills pays for them once, not at every tick of the clock."""
        for position, e in self._events_after(self._folded_to):
            drill_id = str(e.payload.get("drill", ""))
            at = datetime.fromisoformat(e.at)
            if e.kind == Kind.DRILL_LOADED:
                if drill_id not in self._folded:
                    self._folded[drill_id] = DrillRecord(drill_id, e.payload, at, e.actor)
            elif drill_id in self._folded:
                self._folded[drill_id].apply(e.kind, at, e.actor, e.payload)
            self._folded_to = position

    def _records(self, drill_id: str | None = None) -> list[DrillRecord]:
        self._refresh()
        if drill_id is None:
            return list(self._folded.values())
        found = self._folded.get(drill_id)
        return [found] if found is not None else []

    def _record(self, drill_id: str) -> DrillRecord:
        found = self._records(drill_id.strip())
        if not found:
            raise NotFound(f"no drill {drill_id!r}; 'crisisdesk drill status' lists them")
        return found[0]

    def _scenario(self, record: DrillRecord) -> Scenario:
        # Keyed by the text itself, not the hash the event claims: two drills' events naming one hash with different
        # texts must not read each other's scenario.
        text = str(record.loaded.get("text", ""))
        scenario = self._scenarios.get(text)
        if scenario is None:
            parsed, _, problems = parse_scenario(text, str(record.loaded.get("source", "")))
            if parsed is None:  # it was checked when loaded: only a newer format could refuse it now
                raise UserError(f"drill {record.id}'s scenario no longer reads: {problems[0] if problems else '?'}")
            scenario = parsed
            self._scenarios[text] = scenario
        return scenario

    def _readable(self, records: Sequence[DrillRecord]) -> Iterator[tuple[DrillRecord, Scenario]]:
        """The drills whose scenario this version reads, each with it: one drill loaded with an older format (or a
        hand-written ``drill.loaded``) must not stop the clock, the list or the status of every other drill. Asked
        for by name, it is still its one-line error."""
        for record in records:
            try:
                yield record, self._scenario(record)
            except UserError as exc:
                log.warning("drill %s passed over: %s", record.id, exc)

    def _view(self, record: DrillRecord, now: datetime) -> Drill:
        scenario = self._scenario(record)
        started = record.started or {}
        incidents = {str(k): str(v) for k, v in (started.get("incidents") or {}).items()}
        injects: list[InjectState] = []
        notes: list[PlayerNote] = []
        for inject in scenario.injects:
            state = InjectState(
                id=inject.id,
                kind=InjectKind(inject.kind),
                scheduled=inject.offset,
                summary=inject_summary(inject),
                incident_id=_incident_of(inject, incidents),
                status=InjectStatus.PENDING,
                drill_id=record.id,
            )
            if inject.id in record.fired:
                wall, p = record.fired[inject.id]
                seconds = float(p.get("drill_seconds", 0))
                state = replace(
                    state,
                    status=InjectStatus.FIRED,
                    fired_at=timedelta(seconds=seconds),
                    fired_wall=wall,
                    by_hand=bool(p.get("by_hand")),
                    detail=str(p.get("detail", "")),
                    incident_id=p.get("incident") or state.incident_id,
                    item=p.get("item"),
                )
                if inject.kind is InjectKind.NOTE:
                    notes.append(
                        PlayerNote(inject.id, inject.to, inject.source, inject.text, state.fired_at or timedelta())
                    )
            elif inject.id in record.skipped:
                wall, p = record.skipped[inject.id]
                state = replace(state, status=InjectStatus.SKIPPED, fired_wall=wall, detail="skipped by a jump")
            injects.append(state)
        accounts = Ledger(self.db.conn).accounts()
        names = {a.id: a.name for a in accounts.values()}
        # As at the outbox (``outage_until``): whatever an event says, a LIVE account is never shown failing.
        exercise = {a.id for a in accounts.values() if a.exercise}
        outages = [
            self._outage_line(replace(o, accounts=kept), names)
            for o in record.outages(now)
            if (kept := tuple(a for a in o.accounts if a in exercise))
        ]
        return Drill(
            id=record.id,
            scenario=scenario,
            source=str(record.loaded.get("source", "")),
            status=DrillStatus(record.status),
            compression=record.clock.compression,
            drill_time=record.clock.drill_time(now),
            loaded_by=record.loaded_by,
            started_at=record.clock.started,
            ended_at=record.ended_at,
            incidents=incidents,
            injects=injects,
            notes=notes,
            outages=outages,
            loaded_at=record.loaded_at,
            feed_source=started.get("feed_source"),
            sha256=str(record.loaded.get("sha256", "")),
        )

    @staticmethod
    def _outage_line(outage: Outage, names: Mapping[str, str]) -> str:
        until = offset_text(outage.until_seconds)
        if outage.kind == CHANNEL_OUTAGE:
            who = ", ".join(repr(names.get(a, a)) for a in outage.accounts)
            return f"{who} failing until {until} (channel outage, inject {outage.inject})"
        count = len(outage.accounts)
        return f"{count} exercise account(s) unreachable until {until} (network loss, inject {outage.inject})"

    def drills(self, actor: Actor, *, include_ended: bool = True) -> list[Drill]:
        """Every drill, the most recently loaded first."""
        require(self.db, self.log, actor, Permission.READ, "list drills")
        now = self.clock.now()
        views = [self._view(r, now) for r, _ in self._readable(self._records())]
        if not include_ended:
            views = [d for d in views if d.status is not DrillStatus.ENDED]
        return sorted(views, key=lambda d: (d.loaded_at or now, d.id), reverse=True)

    def get(self, actor: Actor, drill_id: str) -> Drill:
        require(self.db, self.log, actor, Permission.READ, f"read drill {drill_id}")
        return self.view(drill_id)

    def view(self, drill_id: str) -> Drill:
        """For the clock and services that already checked the actor: no permission check, no refusal recorded."""
        return self._view(self._record(drill_id), self.clock.now())

    # -- control ------------------------------------------------------------------------------------------

    def load(self, actor: Actor, path: Path) -> Drill:
        """A checked scenario becomes a drill (``drill.loaded``, with the scenario's text and hash in the event)."""
        require(self.db, self.log, actor, Permission.RUN_EXERCISES, "load a drill")
        scenario, problems, text, files = self._check(Path(path))
        if scenario is None or problems:
            more = (
                f" (and {len(problems) - 1} more: 'crisisdesk drill validate' lists them)" if len(problems) > 1 else ""
            )
            raise UserError(f"{problems[0]}{more}" if problems else f"{path}: not a scenario")
        drill_id = f"drl-{uuid.uuid4().hex[:10]}"
        payload = {
            "drill": drill_id,
            "scenario": scenario.id,
            "name": scenario.name,
            "version": scenario.version,
            # A file name is bytes: one that is not UTF-8 is kept readable (the log is JSON, UTF-8 only).
            "source": os.fsencode(Path(path).name).decode("utf-8", "replace"),
            "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "text": text,
            # The CAP files its injects read, as they were when loaded: the drill is rebuilt from the log alone.
            "files": files,
        }
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.DRILL_LOADED, payload)
        return self.get(actor, drill_id)

    def _control(self, actor: Actor, drill_id: str, action: str) -> tuple[Actor, DrillRecord]:
        now = require(self.db, self.log, actor, Permission.RUN_EXERCISES, f"{action} drill {drill_id}")
        return now, self._record(drill_id)

    def start(self, actor: Actor, drill_id: str, *, compression: float = 1.0) -> Drill:
        """Opens the scenario's EXERCISE incidents and the drill's exercise-only feed source; ``drill.started``."""
        actor, record = self._control(actor, drill_id, "start")
        factor = check_compression(compression)
        if record.status != DrillStatus.LOADED:
            raise UserError(
                f"drill {record.id} is {record.status}: a drill starts once ('crisisdesk drill load' again)"
            )
        scenario = self._scenario(record)
        incidents: dict[str, str] = {}
        try:
            for incident in scenario.incidents:
                opened = self._incidents().open(
                    actor,
                    incident.playbook,
                    Mode.EXERCISE,  # a drill opens nothing else
                    title=incident.title or scenario.name,
                    facts=incident.facts,
                )
                incidents[incident.key] = opened.id
            self.warm()  # drill time starts with the event below: what T+0's injects need is read before it
            with self.db.write() as conn:
                if self._inside(record.id).status != DrillStatus.LOADED:
                    raise UserError(f"drill {record.id} was started meanwhile by someone else")
                source = self._feeds().add_drill_source(conn, actor.name, record.id, f"drill: {scenario.name}")
                self.log.record(
                    conn,
                    actor.name,
                    Kind.DRILL_STARTED,
                    {
                        "drill": record.id,
                        "compression": _factor_text(factor),
                        "incidents": incidents,
                        "feed_source": source.id,
                    },
                )
        except BaseException:
            # The incidents were opened before the start was decided (opening one is its own write): when another
            # start won the race, or a later incident could not open (its playbook gone since the load), those
            # opened belong to no drill, and left open they would sit beside the drill's for players to work in.
            for opened_id in incidents.values():
                try:
                    self._incidents().close(actor, opened_id)
                except UserError as exc:
                    log.warning("drill %s: could not close %s it opened: %s", record.id, opened_id, exc)
            raise
        self.tick()  # what is due at T+0 goes now
        return self.get(actor, record.id)

    def pause(self, actor: Actor, drill_id: str) -> Drill:
        actor, record = self._control(actor, drill_id, "pause")
        self._simple(actor, record, Kind.DRILL_PAUSED, (DrillStatus.RUNNING,), "pause")
        return self.get(actor, record.id)

    def resume(self, actor: Actor, drill_id: str) -> Drill:
        actor, record = self._control(actor, drill_id, "resume")
        self._simple(actor, record, Kind.DRILL_RESUMED, (DrillStatus.PAUSED,), "resume")
        self.tick()
        return self.get(actor, record.id)

    def _simple(
        self, actor: Actor, record: DrillRecord, kind: str, allowed: tuple[DrillStatus, ...], verb: str
    ) -> None:
        with self.db.write() as conn:
            now_record = self._inside(record.id)
            if now_record.status not in allowed:
                raise UserError(f"drill {record.id} is {now_record.status}: it cannot {verb} now")
            seconds = now_record.clock.seconds(self.clock.now())
            self.log.record(conn, actor.name, kind, {"drill": record.id, "drill_seconds": _seconds_text(seconds)})

    def set_compression(self, actor: Actor, drill_id: str, factor: float) -> Drill:
        actor, record = self._control(actor, drill_id, "change the time compression of")
        value = check_compression(factor)
        with self.db.write() as conn:
            now_record = self._inside(record.id)
            if now_record.status not in (DrillStatus.RUNNING, DrillStatus.PAUSED):
                raise UserError(f"drill {record.id} is {now_record.status}: its clock runs only once started")
            seconds = now_record.clock.seconds(self.clock.now())
            self.log.record(
                conn,
                actor.name,
                Kind.DRILL_COMPRESSION_SET,
                {"drill": record.id, "factor": _factor_text(value), "drill_seconds": _seconds_text(seconds)},
            )
        self.tick()
        return self.get(actor, record.id)

    def jump(self, actor: Actor, drill_id: str, inject_id: str) -> Drill:
        """Drill time moves forward to the inject's offset and it fires; earlier pending injects are skipped (an
        event each). Backwards is refused."""
        actor, record = self._control(actor, drill_id, "jump")
        scenario = self._scenario(record)
        inject = _inject(scenario, inject_id, record.id)
        target = inject.offset.total_seconds()
        with self.db.write() as conn:
            now_record = self._inside(record.id)
            if now_record.status not in (DrillStatus.RUNNING, DrillStatus.PAUSED):
                raise UserError(f"drill {record.id} is {now_record.status}: jump once it is started")
            if now_record.done(inject.id):
                raise UserError(f"inject {inject.id} already {'fired' if inject.id in now_record.fired else 'skipped'}")
            seconds = now_record.clock.seconds(self.clock.now())
            if target < seconds:
                raise UserError(
                    f"inject {inject.id} is at {offset_text(target)}, before the drill time now "
                    f"({offset_text(seconds)}): a drill only jumps forward; fire it by hand with 'drill inject'"
                )
            self.log.record(
                conn,
                actor.name,
                Kind.DRILL_JUMPED,
                {
                    "drill": record.id,
                    "inject": inject.id,
                    "from_seconds": _seconds_text(seconds),
                    "to_seconds": _seconds_text(target),
                },
            )
            for earlier in sorted(scenario.injects, key=lambda i: i.offset):
                if (
                    earlier.id != inject.id
                    and earlier.offset.total_seconds() < target
                    and not now_record.done(earlier.id)
                ):
                    self.log.record(
                        conn,
                        actor.name,
                        Kind.DRILL_INJECT_SKIPPED,
                        {
                            "drill": record.id,
                            "inject": earlier.id,
                            "scheduled_seconds": int(earlier.offset.total_seconds()),
                            "drill_seconds": _seconds_text(target),
                        },
                    )
        self._fire(record.id, inject.id, by=actor.name, by_hand=False)
        self.tick()  # others due at the same moment
        return self.get(actor, record.id)

    def inject(self, actor: Actor, drill_id: str, inject_id: str) -> Drill:
        """Fire a pending inject now, by hand."""
        actor, record = self._control(actor, drill_id, "inject into")
        inject = _inject(self._scenario(record), inject_id, record.id)
        if record.status not in (DrillStatus.RUNNING, DrillStatus.PAUSED):
            raise UserError(f"drill {record.id} is {record.status}: inject once it is started")
        if record.done(inject.id):
            raise UserError(f"inject {inject.id} already {'fired' if inject.id in record.fired else 'skipped'}")
        if self._fire(record.id, inject.id, by=actor.name, by_hand=True) is None:
            # Someone else's action reached the log first (the same inject by hand, the clock, an end): this one
            # did not happen, and the controller is told so rather than shown a success.
            now_record = self._record(record.id)
            if now_record.done(inject.id):
                raise UserError(f"inject {inject.id} already {'fired' if inject.id in now_record.fired else 'skipped'}")
            raise UserError(f"drill {record.id} is {now_record.status}: inject once it is started")
        return self.get(actor, record.id)

    def end(self, actor: Actor, drill_id: str) -> Drill:
        actor, record = self._control(actor, drill_id, "end")
        with self.db.write() as conn:
            now_record = self._inside(record.id)
            if now_record.status not in (DrillStatus.RUNNING, DrillStatus.PAUSED):
                raise UserError(f"drill {record.id} is {now_record.status}: only a started drill ends")
            seconds = now_record.clock.seconds(self.clock.now())
            self.log.record(
                conn, actor.name, Kind.DRILL_ENDED, {"drill": record.id, "drill_seconds": _seconds_text(seconds)}
            )
            source = (now_record.started or {}).get("feed_source")
            if source:
                self._feeds().remove_drill_source(conn, actor.name, str(source), record.id)
        return self.get(actor, record.id)

    def _inside(self, drill_id: str) -> DrillRecord:
        """The drill re-read inside a write (its lock held): no other process changes it meanwhile."""
        return self._record(drill_id)

    # -- the clock's side ------------------------------------------------------------------------------------

    def warm(self) -> None:
        """What a firing would otherwise pay on the clock's time: the feed rules, the running drills' playbooks and
        scenarios, the CAP reader."""
        import crisisdesk.feeds.parse  # noqa: F401 - imported now, not at the first CAP inject
        from crisisdesk.feeds.triage import sentiment

        sentiment("")  # VADER reads its lexicon at its first use (~30 ms: 2 s of drill time at 60x)
        self._feeds().warm()
        for _ in self._readable(self.running()):
            pass

    def running_ids(self) -> frozenset[str]:
        """The drills started and not ended."""
        return frozenset(r.id for r in self.running())

    def running(self) -> list[DrillRecord]:
        """The drills started and not ended (running or paused), from the log."""
        return [r for r in self._records() if r.status in (DrillStatus.RUNNING, DrillStatus.PAUSED)]

    def tick(self, now: datetime | None = None) -> list[InjectState]:
        """Fire every inject of every running drill whose time has come (as the system); what fired."""
        now = now or self.clock.now()
        fired: list[InjectState] = []
        for record, scenario in self._readable(self.running()):
            if record.status != DrillStatus.RUNNING:
                continue
            seconds = record.clock.seconds(now)
            due = sorted(
                (i for i in scenario.injects if not record.done(i.id) and i.offset.total_seconds() <= seconds),
                key=lambda i: i.offset,
            )
            for inject in due:
                state = self._fire(record.id, inject.id, by=SYSTEM, by_hand=False, only_if_running=True)
                if state is not None:
                    fired.append(state)
        return fired

    def next_due(self, now: datetime | None = None) -> timedelta | None:
        """Wall time until the next pending inject of any running drill (None: nothing running)."""
        now = now or self.clock.now()
        best: timedelta | None = None
        for record, scenario in self._readable(self.running()):
            if record.status != DrillStatus.RUNNING:
                continue
            pending = [i.offset for i in scenario.injects if not record.done(i.id)]
            if not pending:
                continue
            wall = record.clock.wall_at(min(pending).total_seconds())
            if wall is None:
                continue
            wait = max(timedelta(0), wall - now)
            best = wait if best is None else min(best, wait)
        return best

    # -- firing -------------------------------------------------------------------------------------------

    def _fire(
        self, drill_id: str, inject_id: str, *, by: str, by_hand: bool, only_if_running: bool = False
    ) -> InjectState | None:
        """One inject, with what it does, in one transaction with its ``drill.inject_fired``. Re-read under the
        write lock: two clocks (the console's and a worker's) never fire an inject twice."""
        feeds = self._feeds()  # built before the lock is taken
        with self.db.write() as conn:
            record = self._inside(drill_id)
            if record.done(inject_id) or record.status not in (DrillStatus.RUNNING, DrillStatus.PAUSED):
                return None
            if only_if_running and record.status != DrillStatus.RUNNING:
                return None
            scenario = self._scenario(record)
            inject = scenario.inject(inject_id)
            now = self.clock.now()
            seconds = record.clock.seconds(now)
            incidents = {str(k): str(v) for k, v in ((record.started or {}).get("incidents") or {}).items()}
            incident = _incident_of(inject, incidents)
            payload: dict[str, Any] = {
                "drill": drill_id,
                "inject": inject.id,
                "kind": InjectKind(inject.kind).value,
                "incident": incident,
                "scheduled_seconds": int(inject.offset.total_seconds()),
                "drill_seconds": _seconds_text(seconds),
                "by_hand": by_hand,
            }
            payload.update(self._apply(conn, feeds, record, inject, incident, incidents, seconds, now))
            self.log.record(conn, by, Kind.DRILL_INJECT_FIRED, payload)
        return next(i for i in self._view(self._record(drill_id), now).injects if i.id == inject_id)

    def _apply(  # noqa: PLR0917 - one firing's parts, passed on inside its transaction
        self,
        conn: Any,
        feeds: FeedService,
        record: DrillRecord,
        inject: Any,
        incident: str | None,
        incidents: Mapping[str, str],
        seconds: float,
        now: datetime,
    ) -> dict[str, Any]:
        """What the inject does, inside the firing's transaction; the payload's kind-specific part."""
        kind = InjectKind(inject.kind)
        ledger = Ledger(conn)
        if kind in (InjectKind.FEED_ITEM, InjectKind.COMMENT, InjectKind.CAP_ALERT):
            try:
                return self._arrive(conn, feeds, record, inject, incident, incidents, now)
            except UserError as exc:
                # Recorded as fired and not delivered, with why: the clock moves on rather than retrying forever.
                return {"item": None, "items": [], "detail": f"not delivered: {exc}"}
        if kind is InjectKind.NOTE:
            return {
                "to": inject.to.value,
                "source": inject.source,
                "text": inject.text,
                "detail": f"note for the {inject.to.value} from {inject.source}",
            }
        from crisisdesk.domain.facts import parse_duration

        until = seconds + parse_duration(inject.lasting).total_seconds()
        accounts = ledger.accounts()
        if kind is InjectKind.CHANNEL_OUTAGE:
            found = next((a for a in accounts.values() if a.name == inject.account and not a.removed), None)
            if found is None or not found.exercise:
                why = "no such account" if found is None else "it is a LIVE account"
                return {
                    "account": None,
                    "account_name": inject.account,
                    "until_seconds": _seconds_text(until),
                    "detail": f"not applied: {inject.account!r}: {why}; a drill fails only exercise accounts",
                }
            return {
                "account": found.id,
                "account_name": found.name,
                "until_seconds": _seconds_text(until),
                "detail": f"{found.name!r} failing until {offset_text(until)}",
            }
        # Network loss: every exercise account the drill's EXERCISE incidents can publish to, and none other.
        exercise = sorted((a for a in accounts.values() if a.exercise and not a.removed), key=lambda a: a.name)
        return {
            "accounts": [a.id for a in exercise],
            "account_names": [a.name for a in exercise],
            "until_seconds": _seconds_text(until),
            "detail": f"{len(exercise)} exercise account(s) unreachable until {offset_text(until)}",
        }

    def _arrive(  # noqa: PLR0917 - one firing's parts, passed on inside its transaction
        self,
        conn: Any,
        feeds: FeedService,
        record: DrillRecord,
        inject: Any,
        incident: str | None,
        incidents: Mapping[str, str],
        now: datetime,
    ) -> dict[str, Any]:
        """A feed item, a comment or a CAP alert arriving through the drill's source: the payload's part."""
        kind = InjectKind(inject.kind)
        script = {"drill": record.id, "inject": inject.id}
        ledger = Ledger(conn)
        source = self._source(record)
        identity = f"drill:{record.id}:{inject.id}"
        out: dict[str, Any] = {}
        if kind is InjectKind.FEED_ITEM:
            items = [
                Item(
                    identity=identity,
                    title=inject.headline,
                    text=inject.text,
                    url=inject.link,
                    author=inject.author,
                    published=utc_iso(now),
                    extra={"drill": script},
                )
            ]
        elif kind is InjectKind.COMMENT:
            items = [
                Item(
                    identity=identity,
                    title=" ".join(inject.text.split())[:120],
                    text=inject.text,
                    author=inject.author,
                    published=utc_iso(now),
                    lang=inject.language,
                    public=True,
                    extra={
                        "drill": {**script, "group": inject.group, "urgent": inject.urgent, "language": inject.language}
                    },
                )
            ]
            out.update({"urgent": inject.urgent, "group": inject.group, "language": inject.language})
        else:
            items = self._cap_items(record, inject, identity, script, now)
        # Marked where people read them (the Monitor, the triage queue, alerts): a drill's urgent comment beside
        # the public's must never be taken for a real person in danger.
        items = [replace(item, title=marked(item.title)) for item in items]
        # Only the drill's own EXERCISE incidents, as the log says, may get its alerts.
        own = [i for i in incidents.values() if _mode_of(ledger, i) == Mode.EXERCISE.value]
        made = feeds.record_drill(conn, source, items, incidents=own, fallback=incident if incident in own else None)
        numbers = [n for n, _ in made]
        alerts = (
            conn.execute(
                f"SELECT count(*) FROM feed_alerts WHERE fingerprint IN ({','.join('?' * len(made))})",  # noqa: S608
                [fp for _, fp in made],
            ).fetchone()[0]
            if made
            else 0
        )
        what = {"feed-item": "feed item", "comment": "comment", "cap-alert": "CAP alert"}[kind.value]
        shown = ", ".join(str(n) for n in numbers)
        out.update(
            {
                "item": made[0][1] if made else None,
                "items": [fp for _, fp in made],
                "item_numbers": numbers,
                "detail": f"{what} {shown} in {source.name!r}" + (f", {alerts} alert(s)" if alerts else ""),
            }
        )
        return out

    def _source(self, record: DrillRecord) -> Source:
        source_id = (record.started or {}).get("feed_source")
        source = self._feeds().by_id(str(source_id)) if source_id else None
        if source is None or source.kind is not SourceKind.DRILL:
            raise UserError(f"drill {record.id}'s feed source is gone; its feed injects cannot arrive")
        return source

    def _cap_items(
        self, record: DrillRecord, inject: Any, identity: str, script: Mapping[str, Any], now: datetime
    ) -> list[Item]:
        """The CAP file as loaded, read by the real CAP reader (the feeds' parser); each alert's identity is made
        the drill's own, so the same file in another drill is a new item there."""
        from crisisdesk.feeds.parse import ParseError, parse

        text = (record.loaded.get("files") or {}).get(inject.file)
        if text is None:
            raise UserError(f"drill {record.id} holds no copy of {inject.file}; load the scenario again")
        try:
            items = parse(SourceKind.CAP, str(text).encode("utf-8"))
        except ParseError as exc:
            raise UserError(f"{inject.file}: {exc}") from None
        return [
            replace(
                item,
                identity=f"{identity}:{item.identity}",
                published=utc_iso(now),
                extra={**dict(item.extra), "drill": dict(script)},
            )
            for item in items
        ]

    # -- the outbox's side --------------------------------------------------------------------------------

    def outage(self, account_id: str, now: datetime | None = None) -> str | None:
        """Why sends to this exercise account fail now (an injected outage or network loss), or None. Never for a
        LIVE account."""
        held = self.outage_until(account_id, now or self.clock.now())
        return held[0] if held else None

    def outage_until(self, account_id: str, now: datetime) -> tuple[str, datetime | None] | None:
        """(why, the wall moment it ends at the drill's present pace, None while paused) or None. Decided from the log
        at the moment of the send; cheap when no drill runs (one small index read, kept until the database changes)."""
        records = self._running_cached()
        if not records:
            return None
        found: tuple[str, datetime | None] | None = None
        latest = -1.0
        for record in records:
            for outage in record.outages(now):
                if account_id in outage.accounts and outage.until_seconds > latest:
                    latest = outage.until_seconds
                    found = (
                        outage.reason,
                        record.clock.wall_at(outage.until_seconds) if record.clock.running else None,
                    )
        if found is None:
            return None
        account = Ledger(self.db.conn).account(account_id)
        if account is None or not account.exercise:
            return None  # never a LIVE account, whatever an event says
        return found

    # -- the incidents' side ------------------------------------------------------------------------------

    def record_of_incident(self, incident_id: str) -> DrillRecord | None:
        """The drill that opened this incident (its ``drill.started`` names it), or None. Asked for every incident
        the board, the workspace and the badges read: one look at the log's new drill events per database change."""
        version = self.db.data_version()
        if self._by_incident is None or self._by_incident[0] != version:
            found = {
                str(incident): record
                for record in self._records()
                for incident in ((record.started or {}).get("incidents") or {}).values()
            }
            self._by_incident = (version, found)
        return self._by_incident[1].get(incident_id)

    def clock_of_incident(self, incident_id: str) -> DrillClock | None:
        record = self.record_of_incident(incident_id)
        return record.clock if record is not None else None

    def _running_cached(self) -> list[DrillRecord]:
        version = self.db.data_version()
        if self._running is not None and self._running[0] == version:
            return self._running[1]
        records = self.running()  # the drill events appended since the last look: one read of the kind index
        self._running = (version, records)
        return records


# -- helpers -------------------------------------------------------------------------------------------------


def _read_limited(path: Path) -> bytes:
    """A scenario or CAP file's bytes: a regular file, at most ``SCENARIO_LIMIT`` bytes."""
    try:
        if not path.is_file():
            raise UserError(f"{path}: no such file" if not path.exists() else f"{path} is not a regular file")
        with path.open("rb") as f:
            data = f.read(SCENARIO_LIMIT + 1)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > SCENARIO_LIMIT:
        raise UserError(f"{path} is larger than {SCENARIO_LIMIT:,} bytes")
    return data


def _cap_problem(data: bytes) -> str | None:
    from crisisdesk.feeds.parse import ParseError, parse

    try:
        items = parse(SourceKind.CAP, data)
    except ParseError as exc:
        return f"not a readable CAP alert: {exc}"
    if not items:
        return "holds no CAP alert"
    return None


def _incident_of(inject: Any, incidents: Mapping[str, str]) -> str | None:
    """The drill incident an inject concerns: the one it names, else the drill's only one."""
    if inject.incident:
        return incidents.get(inject.incident)
    if len(incidents) == 1:
        return next(iter(incidents.values()))
    return None


def _inject(scenario: Scenario, inject_id: str, drill_id: str) -> Any:
    try:
        return scenario.inject(inject_id.strip())
    except KeyError:
        known = ", ".join(i.id for i in scenario.injects)
        raise UserError(f"drill {drill_id} has no inject {inject_id!r} (its injects: {known})") from None


def _mode_of(ledger: Ledger, incident_id: str) -> str | None:
    record = ledger.incident(incident_id)
    return record.mode if record else None


__all__ = [
    "MAX_COMPRESSION",
    "MIN_COMPRESSION",
    "STARTED",
    "Drill",
    "DrillService",
    "DrillStatus",
    "InjectState",
    "InjectStatus",
    "PlayerNote",
    "ScenarioFile",
]

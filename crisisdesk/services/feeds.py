"""Feeds: sources, polls, items with full-text search, alerts for incidents, and the triage queue.

Sources, the monitoring rules, alerts and triage decisions are events (they are decisions someone, or the
rules, made); items and each source's health are local observations in their own tables.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.errors import NotFound, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.facts import Area, BadFact, FactType, parse_area, zone
from crisisdesk.domain.feeds import (
    ADDABLE_KINDS,
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MIN_INTERVAL,
    PRIORITY_ORDER,
    PUBLIC_KINDS,
    SEVERITIES,
    Item,
    KeywordSet,
    Match,
    Priority,
    Rules,
    SourceKind,
    TriageStatus,
    Watch,
    backoff_seconds,
    matches,
    priority,
    stakeholder,
)
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.messages import parse_values
from crisisdesk.domain.playbook import Problem, load_yaml
from crisisdesk.domain.render import TemplateError, fact_context, render_source
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.domain.triage_policy import IGNORE_REASONS, NEGATIVE_BELOW, POSITIVE_ABOVE, ignore_note
from crisisdesk.feeds.fetch import DEFAULT_LIMITS, Limits
from crisisdesk.feeds.fetch import client as http_client
from crisisdesk.feeds.poller import Outcome, Target, poll_target
from crisisdesk.feeds.triage import sentiment
from crisisdesk.services.guard import require
from crisisdesk.services.incidents import Incident, IncidentService
from crisisdesk.services.people import SYSTEM
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: "$" would let a trailing newline in


# -- views -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    kind: SourceKind
    url: str
    interval: int
    created_at: str
    created_by: str
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    failures: int = 0
    next_poll_at: str | None = None
    items_seen: int = 0
    items_new: int = 0
    etag: str | None = None
    last_modified: str | None = None
    folder_state: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def health(self) -> str:
        if self.failures:
            return "unhealthy"
        if self.last_success is None:
            return "not polled yet"
        return "problems" if self.last_error and self.last_error_at == self.last_success else "ok"

    def target(self) -> Target:
        return Target(self.id, self.name, self.kind, self.url, self.etag, self.last_modified, self.folder_state)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "url": self.url,
            "interval": self.interval,
            "health": self.health,
            "last_attempt": self.last_attempt,
            "last_success": self.last_success,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "failures": self.failures,
            "next_poll_at": self.next_poll_at,
            "items_seen": self.items_seen,
            "items_new_last_poll": self.items_new,
            "added_at": self.created_at,
            "added_by": self.created_by,
        }


@dataclass(frozen=True)
class ItemView:
    id: int
    fingerprint: str
    source: str
    kind: str
    title: str
    text: str
    url: str | None
    author: str | None
    at: str
    fetched_at: str
    severity: str | None
    magnitude: float | None
    event: str | None
    public: bool
    sentiment: float | None
    stakeholder: str | None
    priority: str | None
    status: str | None
    decided_by: str | None
    extra: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Alert:
    id: str
    fingerprint: str
    incident_id: str | None
    rules: list[str]
    reasons: list[str]
    title: str
    url: str | None
    source: str
    raised_at: str
    status: str
    opened_incident: str | None
    item_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Response:
    name: str
    lang: str
    text: str | None
    problem: str | None = None


@dataclass
class PollReport:
    source: str
    new: int = 0
    seen: int = 0
    not_modified: bool = False
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    alerts: int = 0
    seconds: float = 0.0
    next_poll_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# -- the rules file --------------------------------------------------------------------------------------


class _StakeholderModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: str = Field(min_length=1)
    authors: list[str] = Field(default_factory=list)
    words: list[str] = Field(default_factory=list)


class _RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_severity: str = "Severe"
    min_magnitude: float = Field(default=4.5, ge=0, le=10)
    keywords: list[str] = Field(default_factory=list)
    urgent_words: list[str] = Field(default_factory=list)
    stakeholders: list[_StakeholderModel] = Field(default_factory=list)
    default_group: str = "public"
    retention_days: int = Field(default=30, ge=1, le=3650)
    areas: list[str] = Field(default_factory=list)


def parse_rules(text: str, origin: str) -> dict[str, Any]:
    """The rules file checked; a UserError naming the file, line and column of the first mistake."""
    data, problems = check_rules(text, origin)
    if data is None:
        raise UserError(str(problems[0]))
    return data


def check_rules(text: str, origin: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """(the rules, no problems) or (None, every problem found, each at its ``origin:line:column``)."""
    # The playbooks' bounded loader: no aliases, capped size, nesting and values (a rules file is a file too).
    data, pos, problems = load_yaml(text, origin)
    if problems:
        return None, problems
    if data is None:
        data = {}  # an empty file: every rule at its default
    if not isinstance(data, dict):
        return None, [Problem(origin, 1, 1, "the rules are a YAML mapping (min_severity: ..., keywords: [...])")]
    found: list[Problem] = []
    model: _RulesModel | None = None
    try:
        model = _RulesModel.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path = tuple(error["loc"])
            place = pos.at(path, key=error["type"] == "extra_forbidden")
            name = ".".join(str(p) for p in path)
            message = f"unknown rule {name!r}" if error["type"] == "extra_forbidden" else f"{name}: {error['msg']}"
            found.append(Problem(origin, *place, message))
    # Checked whatever else is wrong, so a person sees every mistake at once.
    severity = data.get("min_severity", "Severe")
    if isinstance(severity, str) and severity not in SEVERITIES:
        found.append(Problem(origin, *pos.at(("min_severity",)), f"min_severity: use one of {', '.join(SEVERITIES)}"))
    areas = data.get("areas")
    for i, area in enumerate(areas if isinstance(areas, list) else []):
        if not isinstance(area, str):
            continue
        try:
            parse_area(area)
        except BadFact as exc:
            found.append(Problem(origin, *pos.at(("areas", i)), f"areas.{i}: {exc}"))
    if found or model is None:
        return None, sorted(found, key=lambda p: (p.line, p.column))
    out = model.model_dump()
    out["min_magnitude"] = f"{model.min_magnitude:g}"  # events hold no floats: a decimal string
    return out, []


# -- the service -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RuleSet:
    rules: Rules
    always: KeywordSet  # the rules' own keywords, watched with or without an incident
    urgent: KeywordSet


@dataclass(frozen=True)
class _Round:
    """What one round of recording needs, worked out once: the rules and what open incidents watch."""

    rules: _RuleSet
    watches: list[Watch]
    drill: _DrillScope | None = None


@dataclass(frozen=True)
class _DrillScope:
    """Where a drill's items may raise alerts: its own EXERCISE incidents only. An alert the rules would raise on no
    incident (a severe CAP alert, a watched word) goes to ``fallback`` (the inject's incident), never unattached: an
    unattached alert can be opened as a LIVE incident."""

    incidents: frozenset[str]
    fallback: str | None

    def scope(self, found: list[Match]) -> list[Match]:
        out: list[Match] = []
        for found_match in found:
            match = found_match
            if match.incident_id is None and self.fallback is not None:
                match = Match(self.fallback, match.rules, match.reasons)
            if match.incident_id in self.incidents and all(m.incident_id != match.incident_id for m in out):
                out.append(match)
        return out


class FeedService:
    def __init__(
        self,
        db: Database,
        log: EventLog,
        clock: Clock,
        incidents: IncidentService,
        default_rules: Path,
        *,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.db = db
        self.log = log
        self.clock = clock
        self.incidents = incidents
        self.default_rules = default_rules
        self.limits = limits
        self._http: httpx.Client | None = None
        self._rules: tuple[str, _RuleSet] | None = None
        self._defaults: dict[str, Any] | None = None

    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = http_client(self.limits)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- sources ------------------------------------------------------------------------------------------

    def add(self, actor: Actor, name: str, url: str, kind: str, *, interval: int = DEFAULT_INTERVAL) -> Source:
        require(self.db, self.log, actor, Permission.MANAGE_FEEDS, "add a feed")
        if not _NAME.fullmatch(name):
            raise UserError(f"invalid feed name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        try:
            source_kind = SourceKind(kind)
        except ValueError:
            raise UserError(
                f"unknown feed kind {kind!r}: use one of {', '.join(k.value for k in ADDABLE_KINDS)}"
            ) from None
        if source_kind is SourceKind.DRILL:
            raise UserError("a drill's source is made when its drill starts ('crisisdesk drill start'), not added")
        if interval < MIN_INTERVAL:
            raise UserError(f"an interval of {interval} s is too short: at least {MIN_INTERVAL} s, to be polite")
        if interval > MAX_INTERVAL:
            raise UserError(f"an interval of {interval:,} s is too long: at most {MAX_INTERVAL:,} s (a week)")
        url = url.strip()
        if source_kind is SourceKind.FOLDER:
            folder = Path(url.removeprefix("file://")).expanduser().resolve()
            if not folder.is_dir():
                raise UserError(f"{folder} is not a folder: create it first, then add it")
            url = str(folder)
        elif not re.match(r"^https?://[^\s/]+", url, re.I):
            raise UserError(f"{url!r} is not an http(s) address (only a 'folder' feed takes a path)")
        if self._find(name) is not None:
            raise UserError(f"there is already a feed named {name!r}; remove it first or choose another name")
        source_id = f"feed-{uuid.uuid4().hex[:10]}"
        with self.db.write() as conn:
            self.log.record(
                conn,
                actor.name,
                Kind.FEED_ADDED,
                {"source": source_id, "name": name, "kind": source_kind.value, "url": url, "interval": interval},
            )
        return self.get(name)

    def remove(self, actor: Actor, name: str) -> Source:
        require(self.db, self.log, actor, Permission.MANAGE_FEEDS, "remove a feed")
        source = self.get(name)
        if source.kind is SourceKind.DRILL:
            raise UserError(
                f"{source.name!r} is a drill's source: it goes when its drill ends ('crisisdesk drill end')"
            )
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.FEED_REMOVED, {"source": source.id, "name": source.name})
        return source

    _SOURCE_SQL = """SELECT s.id, s.name, s.kind, s.url, s.interval, s.created_at, s.created_by,
        h.last_attempt, h.last_success, h.last_error, h.last_error_at, coalesce(h.failures, 0) AS failures,
        h.next_poll_at, coalesce(h.items_seen, 0) AS items_seen, coalesce(h.items_new, 0) AS items_new,
        h.etag, h.last_modified, h.folder_state
        FROM feed_sources s LEFT JOIN feed_health h ON h.source_id = s.id WHERE s.removed_at IS NULL"""

    def _source(self, r: dict[str, Any]) -> Source:
        raw = r.pop("folder_state", None)
        state = orjson.loads(raw) if raw else {}
        return Source(**{**r, "kind": SourceKind(r["kind"])}, folder_state={k: (v[0], v[1]) for k, v in state.items()})

    def sources(self, actor: Actor | None = None) -> list[Source]:
        if actor is not None:
            require(self.db, self.log, actor, Permission.READ, "list feeds")
        return [self._source(r) for r in self.db.utils.query(self._SOURCE_SQL + " ORDER BY s.name")]

    def pollable(self) -> list[Source]:
        """The sources polled on their schedule: all but the drills' own (their items are the drills' injects)."""
        return [s for s in self.sources() if s.kind is not SourceKind.DRILL]

    def _find(self, name: str) -> Source | None:
        found = next(self.db.utils.query(self._SOURCE_SQL + " AND s.name = ?", (name,)), None)
        return self._source(found) if found else None

    def get(self, name: str) -> Source:
        found = self._find(name)
        if found is None:
            raise NotFound(f"no feed named {name!r}; 'crisisdesk feeds list' shows them")
        return found

    def by_id(self, source_id: str) -> Source | None:
        found = next(self.db.utils.query(self._SOURCE_SQL + " AND s.id = ?", (source_id,)), None)
        return self._source(found) if found else None

    # -- rules --------------------------------------------------------------------------------------------

    def rules_text(self) -> tuple[str, dict[str, Any]]:
        """(where the rules came from, the rules)."""
        row = self.db.conn.execute("SELECT origin, rules FROM monitoring_rules WHERE id = 1").fetchone()
        if row:
            return row[0], orjson.loads(row[1])
        return str(self.default_rules), self._default_rules()

    def _default_rules(self) -> dict[str, Any]:
        if self._defaults is None:
            self._defaults = parse_rules(self.default_rules.read_text(encoding="utf-8"), self.default_rules.name)
        return self._defaults

    def rules(self) -> Rules:
        return self._rule_set().rules

    def _rule_set(self) -> _RuleSet:
        """The rules in force, and their compiled keyword sets, rebuilt only when the stored rules change."""
        row = self.db.conn.execute("SELECT rules FROM monitoring_rules WHERE id = 1").fetchone()
        key = row[0] if row else ""
        if self._rules is None or self._rules[0] != key:
            rules = Rules.from_dict(orjson.loads(row[0]) if row else self._default_rules())
            self._rules = (key, _RuleSet(rules, KeywordSet(rules.keywords), KeywordSet(rules.urgent_words)))
        return self._rules[1]

    def set_rules(self, actor: Actor, text: str, origin: str) -> Rules:
        require(self.db, self.log, actor, Permission.MANAGE_FEEDS, "set the monitoring rules")
        data = parse_rules(text, origin)
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.RULES_SET, {"rules": data, "origin": origin, "text": text})
        return self.rules()

    # -- polling ------------------------------------------------------------------------------------------

    def poll(self, names: Sequence[str] = (), *, parallel: int = 8, actor: Actor | None = None) -> list[PollReport]:
        """Poll the named sources (all if none) once: fetches in parallel threads, records in this one.
        ``actor``: the person asking (the background poller asks for no one)."""
        if actor is not None:
            require(self.db, self.log, actor, Permission.READ, "poll feeds")
        sources = [self.get(n) for n in names] if names else self.pollable()
        for source in sources:
            if source.kind is SourceKind.DRILL:
                raise UserError(f"{source.name!r} is a drill's source: its items are the drill's injects, not polled")
        if not sources:
            return []
        targets = [s.target() for s in sources]
        http = self.http()
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets)))) as pool:
            outcomes = list(pool.map(lambda t: poll_target(t, http, self.limits), targets))
        # One transaction for the round, after the network: no transaction ever waits on a slow source.
        reports = self.record_many(list(zip(sources, outcomes, strict=True)))
        self.prune()
        return reports

    def poll_one(self, source_id: str) -> PollReport | None:
        """One source, fetched in the calling thread (the scheduler's jobs). None if it was removed."""
        source = self.by_id(source_id)
        if source is None or source.kind is SourceKind.DRILL:
            return None
        return self.record(source, poll_target(source.target(), self.http(), self.limits))

    def record(self, source: Source, outcome: Outcome) -> PollReport:
        """Store what one poll brought and the source's health, in one transaction."""
        return self.record_many([(source, outcome)])[0]

    def record_many(self, polls: Sequence[tuple[Source, Outcome]]) -> list[PollReport]:
        """Store what a round of polls brought, in one transaction (one commit for the round)."""
        with self.db.write() as conn:
            context = _Round(self._rule_set(), self.watches())
            return [self._record(conn, context, source, outcome) for source, outcome in polls]

    def _record(self, conn: Any, context: _Round, source: Source, outcome: Outcome) -> PollReport:
        now = self.clock.now()
        at = utc_iso(now)
        report = PollReport(source.name, seconds=round(outcome.seconds, 3), problems=list(outcome.problems))
        conn.execute("INSERT OR IGNORE INTO feed_health (source_id) VALUES (?)", (source.id,))
        if outcome.error is not None:
            failures = source.failures + 1
            wait = backoff_seconds(source.interval, failures, outcome.retry_after)
            report.error = outcome.error
            report.next_poll_at = utc_iso(now + timedelta(seconds=wait))
            conn.execute(
                "UPDATE feed_health SET last_attempt = ?, last_error = ?, last_error_at = ?, failures = ?,"
                " next_poll_at = ?, items_new = 0 WHERE source_id = ?",
                (at, outcome.error, at, failures, report.next_poll_at, source.id),
            )
            self._remember_poll(conn, source, at, report)
            return report
        new, alerts = self._ingest(conn, context, source, outcome.items, at) if outcome.items else (0, 0)
        report.new, report.seen, report.alerts = new, len(outcome.items), alerts
        report.not_modified = outcome.not_modified
        if source.kind is not SourceKind.DRILL:  # never polled: no next poll
            report.next_poll_at = utc_iso(now + timedelta(seconds=source.interval))
        problem = "; ".join(outcome.problems)[:1000] or None
        conn.execute(
            "UPDATE feed_health SET last_attempt = ?, last_success = ?, failures = 0, next_poll_at = ?,"
            " items_seen = items_seen + ?, items_new = ?,"
            " etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),"
            " folder_state = coalesce(?, folder_state),"
            " last_error = CASE WHEN ? IS NULL THEN last_error ELSE ? END,"
            " last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END"
            " WHERE source_id = ?",
            (
                at,
                at,
                report.next_poll_at,
                len(outcome.items),
                new,
                outcome.etag,
                outcome.last_modified,
                orjson.dumps(outcome.folder_state).decode() if outcome.folder_state is not None else None,
                problem,
                problem,
                problem,
                at,
                source.id,
            ),
        )
        self._remember_poll(conn, source, at, report)
        return report

    # -- ingest -------------------------------------------------------------------------------------------

    def _ingest(self, conn: Any, context: _Round, source: Source, items: Iterable[Item], at: str) -> tuple[int, int]:
        """Store the items not seen before; raise alerts and triage what is new. Returns (new, alerts)."""
        batch: dict[str, Item] = {}
        for item in items:
            batch.setdefault(item.fingerprint, item)
        known: set[str] = set()
        keys = list(batch)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            known.update(
                r[0]
                for r in conn.execute(f"SELECT fingerprint FROM feed_items WHERE fingerprint IN ({marks})", chunk)  # noqa: S608
            )
        fresh = [(fp, item) for fp, item in batch.items() if fp not in known]
        if not fresh:
            return 0, 0
        rules, always, urgent = context.rules.rules, context.rules.always, context.rules.urgent
        watches = context.watches
        drill = context.drill
        if source.kind is SourceKind.DRILL and drill is None:
            drill = _DrillScope(frozenset(), None)  # a drill's items alert nothing outside their drill
        if drill is not None:
            watches = [w for w in watches if w.incident_id in drill.incidents]
        rows = []
        raised: list[tuple[str, Item, Any]] = []
        for fp, item in fresh:
            found = (
                matches(item, watches, rules, always) if (watches or always or item.severity or item.magnitude) else []
            )
            # A drill's comment says its group and whether it is urgent (the scenario's script, not the rules).
            script = (item.extra.get("drill") or {}) if drill is not None else {}
            if drill is not None:
                found = drill.scope(found)
            raised.extend((fp, item, m) for m in found)
            mood = group = prio = None
            public = item.public or source.kind in PUBLIC_KINDS
            if public:
                words = f"{item.title}\n{item.text}"
                mood = sentiment(item.text or item.title)
                group = str(script.get("group") or "") or stakeholder(rules, item.author, words)
                prio = priority(
                    urgent=bool(urgent.find(words)) or bool(script.get("urgent")),
                    concerns_incident=any(m.incident_id for m in found),
                    sentiment=mood,
                    group=group,
                ).value
            rows.append(
                (
                    fp,
                    source.id,
                    source.kind.value,
                    item.url,
                    item.title,
                    item.text,
                    item.author,
                    item.published or at,
                    at,
                    item.lang,
                    item.lat,
                    item.lon,
                    item.severity,
                    item.magnitude,
                    item.event,
                    int(public),
                    mood,
                    group,
                    prio,
                    orjson.dumps(item.extra).decode() if item.extra else None,
                )
            )
        conn.executemany(
            "INSERT INTO feed_items (fingerprint, source_id, kind, url, title, text, author, at, fetched_at, lang,"
            " lat, lon, severity, magnitude, event, public, sentiment, stakeholder, priority, extra)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for fp, item, match in raised:
            self.log.record(
                conn,
                SYSTEM,
                Kind.ALERT_RAISED,
                {
                    "alert": f"alert-{uuid.uuid4().hex[:10]}",
                    "item": fp,
                    "incident": match.incident_id,
                    "rules": list(match.rules),
                    "reasons": list(match.reasons),
                    "title": item.title,
                    "url": item.url,
                    "source": source.name,
                },
            )
        return len(fresh), len(raised)

    # -- a drill's exercise-only source (services.drills) ---------------------------------------------------

    def add_drill_source(self, conn: Any, by: str, drill_id: str, name: str) -> Source:
        """Inside the drill's write: its source, named for people ("drill: Flash flood"), with no address to poll."""
        taken = conn.execute("SELECT 1 FROM feed_sources WHERE name = ? AND removed_at IS NULL", (name,)).fetchone()
        if taken:
            name = f"{name} ({drill_id})"
        source_id = f"feed-{uuid.uuid4().hex[:10]}"
        payload = {"source": source_id, "name": name, "kind": SourceKind.DRILL.value, "url": f"drill:{drill_id}"}
        self.log.record(conn, by, Kind.FEED_ADDED, {**payload, "interval": MAX_INTERVAL, "drill": drill_id})
        found = self.by_id(source_id)
        assert found is not None  # recorded just above, in this transaction
        return found

    def remove_drill_source(self, conn: Any, by: str, source_id: str, drill_id: str) -> None:
        row = conn.execute(
            "SELECT name FROM feed_sources WHERE id = ? AND kind = ? AND removed_at IS NULL",
            (source_id, SourceKind.DRILL.value),
        ).fetchone()
        if row is not None:
            self.log.record(conn, by, Kind.FEED_REMOVED, {"source": source_id, "name": row[0], "drill": drill_id})

    def warm(self) -> None:
        """The rules compiled and the open incidents' playbooks read, before a drill's clock needs them: a drill at 60x
        has 17 ms of wall time per drill second, and reading a playbook takes hundreds."""
        self._rule_set()
        self.watches()

    def record_drill(
        self, conn: Any, source: Source, items: Sequence[Item], *, incidents: Iterable[str], fallback: str | None
    ) -> list[tuple[int, str]]:
        """Inside the drill's write: a drill's items through the real storage, rules, alerts and triage, alerting
        only ``incidents`` (the drill's own EXERCISE incidents). Returns (number, fingerprint) of each item."""
        if source.kind is not SourceKind.DRILL:
            raise UserError(f"{source.name!r} is not a drill's source")
        scope = _DrillScope(frozenset(incidents), fallback)
        context = _Round(self._rule_set(), self.watches(), scope)
        self._record(conn, context, source, Outcome(items=list(items)))
        fingerprints = list(dict.fromkeys(item.fingerprint for item in items))
        marks = ",".join("?" * len(fingerprints))
        numbers = dict(
            conn.execute(f"SELECT fingerprint, id FROM feed_items WHERE fingerprint IN ({marks})", fingerprints)  # noqa: S608
        )
        return [(int(numbers[fp]), fp) for fp in fingerprints if fp in numbers]

    def watches(self) -> list[Watch]:
        """What each open incident watches: its playbook's keywords and areas, and its own area facts."""
        out = []
        rows = self.db.conn.execute(
            "SELECT id, playbook_id, title, timezone FROM incidents WHERE status != 'closed'"
        ).fetchall()
        for incident_id, playbook_id, title, _tz in rows:
            try:
                playbook = self.incidents.playbooks.get(playbook_id)
            except UserError:
                continue  # its playbook is gone from the library; nothing to watch with
            words = [w for ws in playbook.monitoring.keywords.values() for w in ws]
            areas: list[Area] = []
            for text in playbook.monitoring.areas:
                try:
                    areas.append(parse_area(text))
                except BadFact:
                    continue
            facts = self.db.conn.execute(
                "SELECT name, value FROM incident_facts WHERE incident_id = ?", (incident_id,)
            ).fetchall()
            for name, value in facts:
                fact = playbook.facts.get(name)
                if fact is not None and fact.type is FactType.AREA:
                    try:
                        areas.append(parse_area(value))
                    except BadFact:
                        continue
            out.append(Watch(incident_id, title, KeywordSet(words), tuple(areas)))
        return out

    def prune(self) -> int:
        """Delete items past the retention, except those with an alert or a triage decision (the audit needs them)."""
        cutoff = utc_iso(self.clock.now() - self.rules().retention)
        with self.db.write() as conn:
            cur = conn.execute(
                "DELETE FROM feed_items WHERE fetched_at < ?"
                " AND fingerprint NOT IN (SELECT fingerprint FROM feed_alerts)"
                " AND fingerprint NOT IN (SELECT fingerprint FROM triage_decisions)",
                (cutoff,),
            )
            return cur.rowcount

    # -- reading items ------------------------------------------------------------------------------------

    _ITEM_SQL = """SELECT i.id, i.fingerprint, coalesce(s.name, i.source_id) AS source, i.kind, i.title, i.text,
        i.url, i.author, i.at, i.fetched_at, i.severity, i.magnitude, i.event, i.public, i.sentiment,
        i.stakeholder, coalesce(d.priority, i.priority) AS priority,
        CASE WHEN i.public THEN coalesce(d.status, 'new') END AS status, d.decided_by, i.extra
        FROM feed_items i LEFT JOIN feed_sources s ON s.id = i.source_id
        LEFT JOIN triage_decisions d ON d.fingerprint = i.fingerprint"""

    @staticmethod
    def _item(r: dict[str, Any]) -> ItemView:
        return ItemView(**{**r, "public": bool(r["public"]), "extra": orjson.loads(r["extra"]) if r["extra"] else {}})

    def item(self, ref: str) -> ItemView:
        """An item by its number or a fingerprint prefix (at least 6 characters)."""
        ref = ref.strip().removeprefix("item-")
        if ref.isdigit():
            found = list(self.db.utils.query(self._ITEM_SQL + " WHERE i.id = ?", (int(ref),)))
        elif len(ref) >= 6 and re.fullmatch(r"[0-9a-f]+", ref):
            found = list(self.db.utils.query(self._ITEM_SQL + " WHERE i.fingerprint LIKE ? LIMIT 2", (ref + "%",)))
        else:
            raise UserError(f"{ref!r} is not an item: give its number or at least 6 characters of its fingerprint")
        if not found:
            raise NotFound(f"no item {ref!r}; 'crisisdesk feeds search' or 'crisisdesk triage list' shows them")
        if len(found) > 1:
            raise UserError(f"{ref!r} matches more than one item: give more of the fingerprint")
        return self._item(found[0])

    def show(self, actor: Actor, ref: str) -> tuple[ItemView, list[Response]]:
        """One item and the reply templates of the incidents it concerns."""
        require(self.db, self.log, actor, Permission.READ, "read a feed item")
        item = self.item(ref)
        return item, self.responses(item)

    def search(
        self, actor: Actor, query: str, *, since: str | None = None, limit: int = 50, public: bool | None = None
    ) -> list[ItemView]:
        """Newest first. Words are all required; "quoted phrases" and prefix* work; OR between words."""
        require(self.db, self.log, actor, Permission.READ, "search feed items")
        match = fts_query(query)
        where = ["feed_items_fts MATCH ?"]
        params: list[Any] = [match]
        if since:
            where.append("i.at >= ?")
            params.append(parse_since(since, self.clock.now()))
        if public is not None:
            where.append("i.public = ?")
            params.append(int(public))
        sql = (
            self._ITEM_SQL.replace("FROM feed_items i", "FROM feed_items_fts f JOIN feed_items i ON i.id = f.rowid")
            + " WHERE "
            + " AND ".join(where)
            + " ORDER BY f.rowid DESC LIMIT ?"
        )
        return [self._item(r) for r in self.db.utils.query(sql, (*params, limit))]

    def recent(self, actor: Actor, *, limit: int = 100) -> list[ItemView]:
        require(self.db, self.log, actor, Permission.READ, "read feed items")
        return [self._item(r) for r in self.db.utils.query(self._ITEM_SQL + " ORDER BY i.id DESC LIMIT ?", (limit,))]

    def count(self) -> int:
        return int(self.db.conn.execute("SELECT count(*) FROM feed_items").fetchone()[0])

    # -- alerts -------------------------------------------------------------------------------------------

    _ALERT_SQL = """SELECT a.id, a.fingerprint, a.incident_id, a.rules, a.reasons, a.title, a.url, a.source,
        a.raised_at, a.status, a.opened_incident, i.id AS item_id
        FROM feed_alerts a LEFT JOIN feed_items i ON i.fingerprint = a.fingerprint"""

    @staticmethod
    def _alert(r: dict[str, Any]) -> Alert:
        return Alert(**{**r, "rules": orjson.loads(r["rules"]), "reasons": orjson.loads(r["reasons"])})

    def alerts(
        self, actor: Actor, *, include_handled: bool = False, incident: str | None = None, limit: int | None = None
    ) -> list[Alert]:
        """Alerts, newest first; ``limit``: only the newest (a year leaves tens of thousands nobody handled)."""
        require(self.db, self.log, actor, Permission.READ, "read feed alerts")
        where: list[str] = []
        params: list[Any] = []
        if not include_handled:
            where.append("a.status = 'new'")
        if incident:
            where.append("a.incident_id = ?")
            params.append(incident)
        sql = self._ALERT_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY a.raised_at DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._alert(r) for r in self.db.utils.query(sql, params)]

    def count_alerts(self, actor: Actor, *, include_handled: bool = False) -> int:
        require(self.db, self.log, actor, Permission.READ, "read feed alerts")
        sql = (
            "SELECT count(*) FROM feed_alerts"
            if include_handled
            else "SELECT count(*) FROM feed_alerts WHERE status = 'new'"
        )
        return int(self.db.conn.execute(sql).fetchone()[0])

    def alert(self, alert_id: str) -> Alert:
        found = next(self.db.utils.query(self._ALERT_SQL + " WHERE a.id = ?", (alert_id,)), None)
        if found is None:
            raise NotFound(f"no alert {alert_id!r}; 'crisisdesk alerts list' shows them")
        return self._alert(found)

    def handle_alert(self, actor: Actor, alert_id: str, status: str) -> Alert:
        if status not in ("acknowledged", "dismissed"):
            raise UserError("an alert can be acknowledged or dismissed (or opened as an incident)")
        require(self.db, self.log, actor, (Permission.DRAFT, Permission.APPROVE), f"{status[:-1]} an alert")
        alert = self.alert(alert_id)
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.ALERT_HANDLED, {"alert": alert.id, "status": status})
        return self.alert(alert_id)

    def open_incident(
        self, actor: Actor, alert_id: str, *, playbook_id: str | None = None, mode: Mode = Mode.LIVE
    ) -> tuple[Incident, list[str]]:
        """Open an incident from an alert, with the facts its item gives (area, expiry, magnitude, web page).

        Returns the incident and the notes on facts that could not be taken over."""
        alert = self.alert(alert_id)
        if alert.opened_incident:
            raise UserError(f"{alert_id} already opened {alert.opened_incident}")
        item = self.item(str(alert.item_id)) if alert.item_id else None
        if item is None:
            raise NotFound(f"the item behind {alert_id} is no longer stored (past the retention?)")
        script = item.extra.get("drill") if isinstance(item.extra.get("drill"), dict) else None
        if mode is Mode.LIVE and (item.kind == SourceKind.DRILL.value or script is not None):
            drill = (script or {}).get("drill") or "a drill"
            raise UserError(
                f"{alert_id} comes from {drill}'s injects, an exercise script: it can open an EXERCISE incident, "
                "never a LIVE one"
            )
        playbook = self.incidents.playbooks.get(playbook_id) if playbook_id else self._guess_playbook(item)
        facts, notes = facts_from_item(item, playbook, zone(playbook.timezone))
        title = item.title[:120]

        def handled(conn: sqlite3.Connection, incident_id: str) -> None:
            # Asked again inside the write that opens the incident: two people clicking at once open one incident,
            # and the second is told which (the check above only spares a needless write).
            for (body,) in conn.execute(
                "SELECT body FROM events WHERE kind = ? AND json_extract(body, '$.payload.alert') = ? "
                "AND json_extract(body, '$.payload.status') = 'opened' ORDER BY position DESC LIMIT 1",
                (Kind.ALERT_HANDLED, alert.id),
            ):
                raise UserError(f"{alert_id} already opened {orjson.loads(body)['payload'].get('incident')}")
            self.log.record(
                conn, actor.name, Kind.ALERT_HANDLED, {"alert": alert.id, "status": "opened", "incident": incident_id}
            )

        incident = self.incidents.open(actor, playbook.id, mode, title=title, facts=facts, then=handled)
        return incident, notes

    def _guess_playbook(self, item: ItemView) -> Any:
        """The playbook whose monitoring keywords the item names most; refuse to guess on a tie or none."""
        text = f"{item.event or ''}\n{item.title}\n{item.text}"
        scored = []
        for playbook in self.incidents.playbooks.library().playbooks.values():
            words = [w for ws in playbook.monitoring.keywords.values() for w in ws]
            hits = len(KeywordSet(words).find(text))
            if hits:
                scored.append((hits, playbook.id, playbook))
        scored.sort(key=lambda s: (-s[0], s[1]))
        if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
            names = ", ".join(s[1] for s in scored[:4]) or "none matched"
            raise UserError(f"say which playbook with --playbook (candidates: {names})")
        return scored[0][2]

    # -- triage -------------------------------------------------------------------------------------------

    def triage(
        self, actor: Actor, *, statuses: Sequence[str] = ("new", "acknowledged"), limit: int = 200
    ) -> list[ItemView]:
        """Public messages to answer, most pressing first."""
        require(self.db, self.log, actor, Permission.READ, "read the triage queue")
        for s in statuses:
            TriageStatus(s)
        # Most pressing first, then newest: one ORDER BY over every public item sorted a year's 330,000 of them
        # (350 ms). The items someone decided on are few and read whole; the undecided ones are read a priority at
        # a time through the index on (priority, id), newest first, until the queue is full.
        marks = ",".join("?" * len(statuses))
        rank = {p.value: i for p, i in PRIORITY_ORDER.items()}

        def key(item: ItemView) -> tuple[int, int]:
            return (rank.get(str(item.priority), len(rank)), -item.id)

        query = self.db.utils.query
        # From the decisions, few, to their items (the + keeps SQLite off the index of every public item); marks
        # are only question marks.
        decided = f" WHERE +i.public = 1 AND i.fingerprint IN (SELECT fingerprint FROM triage_decisions WHERE status IN ({marks}))"  # noqa: S608, E501
        found = [self._item(r) for r in query(self._ITEM_SQL + decided, statuses)]
        if "new" in statuses:
            # INDEXED BY: without statistics SQLite prefers the (public, id) index and walks every public item
            # looking for a rare priority (150 ms for none among a year's 330,000).
            undecided = (
                self._ITEM_SQL.replace("FROM feed_items i ", "FROM feed_items i INDEXED BY feed_items_triage ")
                + " WHERE i.public = 1 AND d.fingerprint IS NULL"
            )
            for level, n in sorted(rank.items(), key=lambda kv: kv[1]):
                if sum(1 for item in found if key(item)[0] < n) >= limit:
                    break  # the queue is full of items more pressing than this level: none of it can get in
                sql = undecided + " AND i.priority = ? ORDER BY i.id DESC LIMIT ?"
                found += [self._item(r) for r in query(sql, (level, limit))]
            else:
                levels = ",".join("?" * len(rank))
                sql = (
                    undecided + f" AND (i.priority IS NULL OR i.priority NOT IN ({levels})) ORDER BY i.id DESC LIMIT ?"
                )
                found += [self._item(r) for r in query(sql, (*rank, limit))]
        return sorted(found, key=key)[:limit]

    def set_triage(
        self,
        actor: Actor,
        ref: str,
        *,
        status: str,
        priority_value: str | None = None,
        template: str | None = None,
        note: str | None = None,
    ) -> ItemView:
        require(self.db, self.log, actor, Permission.DRAFT, "triage a public message")
        try:
            status = TriageStatus(status).value
            priority_value = Priority(priority_value).value if priority_value else None
        except ValueError:
            raise UserError(
                "status is one of new, acknowledged, answered, ignored; priority one of urgent, high, normal, low"
            ) from None
        item = self.item(ref)
        if not item.public:
            raise UserError(f"item {item.id} is not a public message ({item.kind}); only those are triaged")
        if template is not None and template not in {r.name for r in self.responses(item)}:
            known = ", ".join(sorted({r.name for r in self.responses(item)})) or "none"
            raise UserError(f"no response template {template!r} for this item (known: {known})")
        with self.db.write() as conn:
            self.log.record(
                conn,
                actor.name,
                Kind.TRIAGE_SET,
                {
                    "item": item.fingerprint,
                    "status": status,
                    "priority": priority_value or item.priority,
                    "template": template,
                    "note": note,
                },
            )
        return self.item(str(item.id))

    def incidents_of(self, item: ItemView) -> list[str]:
        rows = self.db.conn.execute(
            "SELECT DISTINCT incident_id FROM feed_alerts WHERE fingerprint = ? AND incident_id IS NOT NULL",
            (item.fingerprint,),
        ).fetchall()
        return [r[0] for r in rows]

    def responses(self, item: ItemView) -> list[Response]:
        """The reply templates of the incidents this item concerns, filled in with each incident's facts."""
        out: list[Response] = []
        for incident_id in self.incidents_of(item):
            incident = self.incidents.get_unchecked(incident_id)
            playbook = self.incidents.playbooks.get(incident.playbook_id)
            tz = zone(incident.timezone)
            problem: str | None = None
            try:
                values = parse_values(playbook, incident.facts, tz)
            except UserError as exc:
                values, problem = {}, str(exc)
            for name, by_lang in playbook.responses.items():
                for lang, source in by_lang.items():
                    try:
                        context = fact_context(
                            playbook.fact_specs(), values, lang, tz, main_lang=playbook.main_language
                        )
                        text = render_source(source, context)
                        out.append(Response(name, lang, text, problem))
                    except TemplateError as exc:
                        out.append(Response(name, lang, None, str(exc)))
        first = self.language_of(item, sorted({r.lang for r in out}))
        return sorted(out, key=lambda r: r.lang != first)  # stable: the playbook's order within each language

    def language_of(self, item: ItemView, languages: Sequence[str]) -> str | None:
        """The language of the item's words among ``languages`` (the responses'), so a question in Spanish is
        offered the Spanish answer first: a drill's comment says its language; anything else is detected."""
        if not languages:
            return None
        script = item.extra.get("drill") if isinstance(item.extra, dict) else None
        said = script.get("language") if isinstance(script, dict) else None
        if isinstance(said, str) and said in languages:
            return said
        if len(languages) == 1:
            return languages[0]
        from crisisdesk.domain.languages import clause_language

        found, _confidence = clause_language(item.text or item.title, tuple(languages))
        return found if found in languages else None

    # -- for the console's settings: each source's polls, the rules as written, and what edited rules would do ----

    POLLS_KEPT = 50  # per source: enough to see a pattern of failures, never a growing table

    def _remember_poll(self, conn: Any, source: Source, at: str, report: PollReport) -> None:
        conn.execute(
            "INSERT INTO feed_polls (source_id, at, ok, error, problems, not_modified, items_seen, items_new,"
            " seconds, next_poll_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source.id,
                at,
                int(report.error is None),
                report.error,
                "; ".join(report.problems)[:1000] or None,
                int(report.not_modified),
                report.seen,
                report.new,
                report.seconds,
                report.next_poll_at,
            ),
        )
        conn.execute(
            "DELETE FROM feed_polls WHERE source_id = ? AND id < (SELECT min(id) FROM"
            " (SELECT id FROM feed_polls WHERE source_id = ? ORDER BY id DESC LIMIT ?))",
            (source.id, source.id, self.POLLS_KEPT),
        )

    def poll_history(self, actor: Actor, name: str, *, limit: int = POLLS_KEPT) -> list[PollRecord]:
        """A source's last polls, newest first: each success or failure with its reason and the next poll then."""
        require(self.db, self.log, actor, Permission.READ, "read a feed's health")
        source = self.get(name)
        rows = self.db.utils.query(
            "SELECT at, ok, error, problems, not_modified, items_seen, items_new, seconds, next_poll_at"
            " FROM feed_polls WHERE source_id = ? ORDER BY id DESC LIMIT ?",
            (source.id, limit),
        )
        return [PollRecord(**{**r, "ok": bool(r["ok"]), "not_modified": bool(r["not_modified"])}) for r in rows]

    def rules_source(self) -> tuple[str, str]:
        """(where the rules came from, their text as written): the last text set, else the default file's."""
        row = self.db.conn.execute("SELECT origin, rules FROM monitoring_rules WHERE id = 1").fetchone()
        if row is None:
            return f"the defaults shipped with crisisdesk ({self.default_rules.name})", self.default_rules.read_text(
                encoding="utf-8"
            )
        written = self.db.conn.execute(
            "SELECT json_extract(body, '$.payload.text') FROM events WHERE kind = ? ORDER BY position DESC LIMIT 1",
            (Kind.RULES_SET,),
        ).fetchone()
        if written and isinstance(written[0], str):
            return row[0], written[0]
        # Set before the text was kept with them: the rules themselves, written out.
        import yaml

        rules = orjson.loads(row[1])
        rules["min_magnitude"] = float(rules.get("min_magnitude", 4.5))
        return row[0], yaml.safe_dump(rules, sort_keys=False, allow_unicode=True, width=110)

    def preview_rules(self, actor: Actor, text: str, *, limit: int = 1000) -> RulesPreview:
        """What rules ``text`` would do to the last ``limit`` items, without saving them: the alerts each would
        raise (and why), and the stakeholder group and urgency of each public message. A UserError at the first
        mistake in the text."""
        require(self.db, self.log, actor, Permission.READ, "preview monitoring rules")
        rules = Rules.from_dict(parse_rules(text, "the edited rules"))
        always, urgent = KeywordSet(rules.keywords), KeywordSet(rules.urgent_words)
        watches = self.watches()
        rows = list(
            self.db.utils.query(
                "SELECT i.id, coalesce(s.name, i.source_id) AS source, i.kind, i.fingerprint, i.title, i.text,"
                " i.author, i.at, i.lat, i.lon, i.severity, i.magnitude, i.event, i.public, i.extra"
                " FROM feed_items i LEFT JOIN feed_sources s ON s.id = i.source_id ORDER BY i.id DESC LIMIT ?",
                (limit,),
            )
        )
        hits: list[RuleHit] = []
        for r in rows:
            item = _stored_item(r)
            found = matches(item, watches, rules, always)
            group: str | None = None
            is_urgent = False
            if item.public:
                words = f"{item.title}\n{item.text}"
                group = stakeholder(rules, item.author, words)
                is_urgent = bool(urgent.find(words))
            if not found and not is_urgent and group in (None, rules.default_group):
                continue
            by = sorted({kind for m in found for kind in m.rules})
            by += (["group"] if group not in (None, rules.default_group) else []) + (
                ["urgent words"] if is_urgent else []
            )
            reasons = [reason for m in found for reason in m.reasons]
            if group is not None and group != rules.default_group:
                reasons.append(f"group {group}")
            if is_urgent:
                reasons.append("urgent words: " + ", ".join(repr(w) for w in urgent.find(words)[:5]))
            hits.append(
                RuleHit(
                    item_id=r["id"],
                    at=r["at"],
                    source=r["source"],
                    title=r["title"],
                    alerts=len(found),
                    incidents=tuple(sorted({m.incident_id for m in found if m.incident_id})),
                    matched_by=tuple(by),
                    group=group,
                    urgent=is_urgent,
                    reasons=tuple(dict.fromkeys(reasons)),
                )
            )
        return RulesPreview(scanned=len(rows), hits=hits)

    # -- the console's Monitor: search with filters, alerts of an item, counts for the chart, ignoring by policy --

    def find(
        self,
        actor: Actor,
        query: str = "",
        *,
        source: str | None = None,
        kind: str | None = None,
        since: str | None = None,
        until: str | None = None,
        incident: str | None = None,
        has_alert: bool | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[ItemView]:
        """Items newest first (by arrival), one page at a time: ``before`` is the number of the last item already
        shown. ``query`` as in ``search`` (empty: every item the filters let through); ``source`` a source's name,
        ``kind`` a source kind, ``since``/``until`` a time or a span back from now (on the item's own time),
        ``incident`` items alerted for that incident, ``has_alert`` items with (or without) any alert."""
        require(self.db, self.log, actor, Permission.READ, "search feed items")
        where: list[str] = []
        params: list[Any] = []
        if query.strip():
            # FTS5 answers ORDER BY rowid DESC (and rowid < ?) from its index: a common word costs no more.
            sql = self._ITEM_SQL.replace(
                "FROM feed_items i", "FROM feed_items_fts f JOIN feed_items i ON i.id = f.rowid"
            )
            where.append("feed_items_fts MATCH ?")
            params.append(fts_query(query))
            order = "f.rowid"
        else:
            sql, order = self._ITEM_SQL, "i.id"
        if before is not None:
            where.append(f"{order} < ?")
            params.append(before)
        if source:
            named = self._find(source)
            if named is None:
                raise NotFound(f"no feed named {source!r}; 'crisisdesk feeds list' shows them")
            where.append("i.source_id = ?")
            params.append(named.id)
        if kind:
            try:
                params.append(SourceKind(kind).value)
            except ValueError:
                raise UserError(
                    f"unknown feed kind {kind!r}: use one of {', '.join(k.value for k in SourceKind)}"
                ) from None
            where.append("i.kind = ?")
        now = self.clock.now()
        if since or until:
            low, high = parse_since(since, now) if since else "", parse_since(until, now) if until else "~"
            # The items' own times follow their arrival closely but not exactly: the numbers of the items in the
            # range (read from the time index) bound the newest-first walk, so a week long ago is not reached
            # through every newer item; the times themselves are still checked.
            first, last = self.db.conn.execute(
                "SELECT min(id), max(id) FROM feed_items WHERE at >= ? AND at < ?", (low, high)
            ).fetchone()
            if first is None:
                return []
            where += [f"{order} >= ?", f"{order} <= ?", "+i.at >= ?", "+i.at < ?"]
            params += [first, last, low, high]
        if has_alert is False:
            where.append("i.fingerprint NOT IN (SELECT fingerprint FROM feed_alerts)")
        limit = max(1, min(limit, 1000))
        if not incident and has_alert is not True:
            sql += (" WHERE " + " AND ".join(where) if where else "") + f" ORDER BY {order} DESC LIMIT ?"
            return [self._item(r) for r in self.db.utils.query(sql, (*params, limit))]
        # Items with alerts are few beside the items: their numbers are read first, newest first, and looked up a
        # chunk at a time, rather than every item (or every item naming a common word) checked against them.
        # CROSS JOIN: from the alerts to their items, never the other way round.
        alerted = self.db.conn.execute(
            "SELECT x.id FROM feed_alerts a CROSS JOIN feed_items x ON x.fingerprint = a.fingerprint"
            " WHERE ? IS NULL OR a.incident_id = ?",
            (incident or None, incident or None),
        )
        ceiling = before if before is not None else 1 << 62
        candidates = sorted({r[0] for r in alerted if r[0] < ceiling}, reverse=True)
        found: list[ItemView] = []
        for start in range(0, len(candidates), 200):
            chunk = candidates[start : start + 200]
            marks = ",".join("?" * len(chunk))
            # the chunk's numbers, and their range for the full-text walk (a lookup per number costs it more)
            bounded = [*where, f"{order} >= ?", f"{order} <= ?", f"i.id IN ({marks})"]
            page = sql + " WHERE " + " AND ".join(bounded) + f" ORDER BY {order} DESC LIMIT ?"
            values = (*params, chunk[-1], chunk[0], *chunk, limit - len(found))
            found += [self._item(r) for r in self.db.utils.query(page, values)]
            if len(found) >= limit:
                break
        return found

    def alerts_of(self, actor: Actor, item_id: int) -> list[Alert]:
        """Every alert an item raised (handled or not), newest first."""
        require(self.db, self.log, actor, Permission.READ, "read feed alerts")
        sql = self._ALERT_SQL + " WHERE i.id = ? ORDER BY a.raised_at DESC"
        return [self._alert(r) for r in self.db.utils.query(sql, (item_id,))]

    def mood_counts(self, actor: Actor, *, since: str | None = None, incident: str | None = None) -> list[MoodCount]:
        """Public messages about the open incidents (those an alert tied to one), counted by the hour of the
        message (UTC), the stakeholder group and the sentiment band (see ``domain.triage_policy``)."""
        require(self.db, self.log, actor, Permission.READ, "read the public mood")
        sql = (
            "SELECT substr(i.at, 1, 13) AS hour,"
            " CASE WHEN i.sentiment <= ? THEN 'negative' WHEN i.sentiment >= ? THEN 'positive' ELSE 'neutral' END"
            " AS mood, coalesce(i.stakeholder, ?) AS grp, count(*) AS n"
            " FROM feed_items i WHERE i.public = 1 AND i.id IN (SELECT x.id FROM feed_alerts a"
            " JOIN incidents n ON n.id = a.incident_id JOIN feed_items x ON x.fingerprint = a.fingerprint"
            " WHERE n.status != 'closed' AND (? IS NULL OR a.incident_id = ?))"
        )
        params: list[Any] = [NEGATIVE_BELOW, POSITIVE_ABOVE, self.rules().default_group, incident, incident]
        if since:
            sql += " AND i.at >= ?"
            params.append(parse_since(since, self.clock.now()))
        sql += " GROUP BY hour, mood, grp ORDER BY hour, mood, grp"
        return [MoodCount(f"{r[0]}:00:00+00:00", r[1], r[2], int(r[3])) for r in self.db.conn.execute(sql, params)]

    def ignore(self, actor: Actor, ref: str, reason: str, *, note: str | None = None) -> ItemView:
        """Leave a public message unanswered for one of the acceptable-use policy's reasons (recorded in the note)."""
        if reason not in IGNORE_REASONS:
            raise UserError("give one of the acceptable-use policy's reasons: " + "; ".join(IGNORE_REASONS))
        return self.set_triage(actor, ref, status=TriageStatus.IGNORED.value, note=ignore_note(reason, note))


# -- the console's settings: a source's polls, and what edited rules would do -----------------------------


@dataclass(frozen=True)
class PollRecord:
    at: str
    ok: bool
    error: str | None
    problems: str | None
    not_modified: bool
    items_seen: int
    items_new: int
    seconds: float
    next_poll_at: str | None


@dataclass(frozen=True)
class RuleHit:
    """One recent item the rules would act on."""

    item_id: int
    at: str
    source: str
    title: str
    alerts: int  # how many alerts it would raise (one per incident it concerns, or one of its own)
    incidents: tuple[str, ...]
    matched_by: tuple[str, ...]  # keyword, area, severity (alerts); group, urgent words (public messages)
    group: str | None  # a public message's stakeholder group
    urgent: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RulesPreview:
    scanned: int
    hits: list[RuleHit]


def _stored_item(r: dict[str, Any]) -> Item:
    """A stored item as the rules see it: its text, author, severity, magnitude and place (its point, and the CAP
    areas' polygons and circles kept in its extra)."""
    extra = orjson.loads(r["extra"]) if r["extra"] else {}
    polygons: list[tuple[tuple[float, float], ...]] = []
    circles: list[tuple[float, float, float]] = []
    for area in (extra.get("cap") or {}).get("areas") or []:
        for poly in area.get("polygons") or []:
            if len(poly) >= 3:
                polygons.append(tuple((float(p[0]), float(p[1])) for p in poly))
        for c in area.get("circles") or []:
            circles.append((float(c[0]), float(c[1]), float(c[2])))
    return Item(
        identity=r["fingerprint"],
        title=r["title"],
        text=r["text"],
        author=r["author"],
        lat=r["lat"],
        lon=r["lon"],
        polygons=tuple(polygons),
        circles=tuple(circles),
        severity=r["severity"],
        magnitude=r["magnitude"],
        event=r["event"],
        public=bool(r["public"]),
    )


@dataclass(frozen=True)
class MoodCount:
    """How many public messages of one group, in one sentiment band, arrived in one hour (its start, UTC)."""

    hour: str
    mood: str
    group: str
    count: int


# -- helpers ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def fts_query(query: str) -> str:
    """A person's search words as a safe FTS5 query: every word a quoted term, prefix* and OR kept."""
    terms = []
    for phrase, word in _TOKEN.findall(query):
        if phrase:
            if phrase.strip():
                terms.append('"' + phrase.replace('"', "") + '"')
            continue
        if word == "OR" and terms and terms[-1] != "OR":
            terms.append("OR")
            continue
        prefix = word.endswith("*") and len(word) > 1
        core = word.rstrip("*").replace('"', "")
        if core:
            terms.append(f'"{core}"' + ("*" if prefix else ""))
    while terms and terms[-1] == "OR":
        terms.pop()
    if not terms:
        raise UserError("give at least one word to search for")
    return " ".join(terms)


def parse_since(text: str, now: datetime) -> str:
    """``--since``: an ISO date or time, or a span back from now (90m, 6h, 2d)."""
    text = text.strip()
    m = re.fullmatch(r"(\d+)\s*([mhd])", text)
    if m:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return utc_iso(now - timedelta(**{unit: int(m.group(1))}))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--since {text!r}: give a time (2026-11-22T08:00+00:00, 2026-11-22) or a span (90m, 6h, 2d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the workstation's local time
    return utc_iso(moment)


def facts_from_item(item: ItemView, playbook: Any, tz: Any) -> tuple[dict[str, str], list[str]]:
    """Facts for a new incident from an alert's item: the CAP area, the expiry, the magnitude, the web page."""
    cap = item.extra.get("cap") or {}
    facts: dict[str, str] = {}
    notes: list[str] = []
    for name, fact in playbook.facts.items():
        value: str | None = None
        if fact.type is FactType.AREA:
            value = _area_text(cap.get("areas") or [], item)
        elif fact.role == "expiry" and fact.type is FactType.DATETIME and cap.get("expires"):
            try:
                value = datetime.fromisoformat(str(cap["expires"])).astimezone(tz).strftime("%Y-%m-%dT%H:%M")
            except ValueError:
                notes.append(f"{name}: the alert's expiry {cap['expires']!r} is not a time")
        elif name == "magnitude" and fact.type is FactType.NUMBER and item.magnitude is not None:
            value = f"{item.magnitude:g}"
        elif fact.role == "source" and fact.type is FactType.URL and item.url:
            value = item.url
        if value is None:
            continue
        try:
            parse_values(playbook, {name: value}, tz)
        except UserError as exc:
            notes.append(f"{name}: not taken over ({exc})")
            continue
        facts[name] = value
    return facts, notes


def _area_text(areas: list[dict[str, Any]], item: ItemView) -> str | None:
    parts: list[str] = []
    names: list[str] = []
    for area in areas:
        if area.get("description"):
            names.append(str(area["description"]))
        for poly in area.get("polygons") or []:
            parts.append("polygon: " + " ".join(f"{p[0]},{p[1]}" for p in poly))
        for c in area.get("circles") or []:
            parts.append(f"circle: {c[0]},{c[1]} {c[2]}")
        for name, value in area.get("geocodes") or []:
            if name and value and " " not in value and "=" not in value:
                parts.append(f"geocode: {name}={value}")
    if not parts:
        return None
    description = "; ".join(names)[:200] or item.title[:100]
    return " | ".join([description.replace("|", "/"), *parts])

"""Feed items and what is decided about them: identity, rules, alerts and triage. No I/O here.

An *item* is one thing a source said: a news story, an official alert, an earthquake, a 311 request or a
public post. Its *fingerprint* names the thing itself, not where it was read, so the same alert from two polls
or two mirrors is one item.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from crisisdesk.domain.facts import Area, parse_area


class SourceKind(StrEnum):
    RSS = "rss"
    ATOM = "atom"
    JSONFEED = "jsonfeed"
    CAP = "cap"  # one CAP alert, or a CAP-in-Atom/RSS index as weather services publish them
    GEOJSON = "geojson"  # earthquake feeds, weather alert APIs
    OPEN311 = "open311"  # GeoReport v2 requests, JSON or XML
    MASTODON = "mastodon"  # a hashtag or search timeline (API URL)
    BLUESKY = "bluesky"  # app.bsky.feed.searchPosts
    FOLDER = "folder"  # a local folder: every file dropped in is read and parsed by its content
    DRILL = "drill"  # a drill's exercise-only source: its items are the drill's injects, never polled


KIND_HELP: dict[SourceKind, str] = {
    SourceKind.RSS: "an RSS 0.9x/1.0/2.0 feed",
    SourceKind.ATOM: "an Atom 1.0 feed",
    SourceKind.JSONFEED: "a JSON Feed 1.0 or 1.1",
    SourceKind.CAP: "a CAP alert, or an Atom/RSS index of CAP alerts",
    SourceKind.GEOJSON: "a GeoJSON FeatureCollection (USGS earthquakes, api.weather.gov alerts)",
    SourceKind.OPEN311: "Open311 GeoReport v2 service requests (requests.json or requests.xml)",
    SourceKind.MASTODON: "a Mastodon API timeline: /api/v1/timelines/tag/NAME or /api/v2/search?q=...",
    SourceKind.BLUESKY: "Bluesky search: .../xrpc/app.bsky.feed.searchPosts?q=...",
    SourceKind.FOLDER: "a local folder; files dropped in are read (CAP, feeds, GeoJSON, Open311)",
    SourceKind.DRILL: "a drill's exercise-only source, made when a drill starts ('crisisdesk drill start')",
}
# What a person may add with 'feeds add': a drill's source is made by its drill.
ADDABLE_KINDS = tuple(k for k in SourceKind if k is not SourceKind.DRILL)

# Public messages: people talking to or about us, so they go to the triage queue.
PUBLIC_KINDS = frozenset({SourceKind.MASTODON, SourceKind.BLUESKY, SourceKind.OPEN311})

MIN_INTERVAL = 30  # seconds; nobody should be polled harder than this
MAX_INTERVAL = 7 * 24 * 3600  # a week: a source watched more rarely is not watched during an incident
DEFAULT_INTERVAL = 300


@dataclass(frozen=True, slots=True)
class Item:
    """One item, already reduced to plain text. ``identity`` is what the fingerprint is made from."""

    identity: str
    title: str
    text: str
    url: str | None = None
    author: str | None = None
    published: str | None = None  # UTC, ISO 8601
    lang: str | None = None
    lat: float | None = None
    lon: float | None = None
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[tuple[float, float, float], ...] = ()
    severity: str | None = None  # CAP severity
    magnitude: float | None = None
    event: str | None = None
    public: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.identity)


def fingerprint(identity: str) -> str:
    return hashlib.blake2b(identity.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# -- severity --------------------------------------------------------------------------------------------

SEVERITIES = ("Unknown", "Minor", "Moderate", "Severe", "Extreme")


def severity_rank(severity: str | None) -> int:
    if not severity:
        return -1
    for i, name in enumerate(SEVERITIES):
        if name.lower() == severity.strip().lower():
            return i
    return -1


# -- geometry --------------------------------------------------------------------------------------------

EARTH_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def in_polygon(lat: float, lon: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Ray casting over (lat, lon) corners; fine at county scale, where CAP polygons live."""
    inside = False
    n = len(polygon)
    for i in range(n):
        y1, x1 = polygon[i]
        y2, x2 = polygon[(i + 1) % n]
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def point_in_area(lat: float, lon: float, area: Area) -> bool:
    if any(in_polygon(lat, lon, p) for p in area.polygons):
        return True
    return any(distance_km(lat, lon, c_lat, c_lon) <= r for c_lat, c_lon, r in area.circles)


def item_points(item: Item) -> list[tuple[float, float]]:
    """Points that stand for the item's place: its point, its polygons' corners and centres, its circles' centres."""
    points: list[tuple[float, float]] = []
    if item.lat is not None and item.lon is not None:
        points.append((item.lat, item.lon))
    for poly in item.polygons:
        points.extend(poly)
        points.append((sum(p[0] for p in poly) / len(poly), sum(p[1] for p in poly) / len(poly)))
    points.extend((c[0], c[1]) for c in item.circles)
    return points


def overlaps(item: Item, area: Area) -> bool:
    """Whether the item's place touches the area: one of its points inside, or the area's centre inside it."""
    if any(point_in_area(lat, lon, area) for lat, lon in item_points(item)):
        return True
    centres = [(c[0], c[1]) for c in area.circles] + [
        (sum(p[0] for p in poly) / len(poly), sum(p[1] for p in poly) / len(poly)) for poly in area.polygons
    ]
    for lat, lon in centres:
        if any(in_polygon(lat, lon, poly) for poly in item.polygons):
            return True
        if any(distance_km(lat, lon, c_lat, c_lon) <= r for c_lat, c_lon, r in item.circles):
            return True
    return False


# -- words -----------------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case- and accent-insensitive form, so 'Inundación' matches 'inundacion'."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class KeywordSet:
    """Whole-word, case- and accent-insensitive matching of many keywords (phrases allowed) in one pass."""

    def __init__(self, keywords: Iterable[str]) -> None:
        words = sorted({fold(k).strip() for k in keywords if k and k.strip()}, key=len, reverse=True)
        self.keywords = tuple(words)
        if words:
            alternatives = "|".join(r"\s+".join(re.escape(w) for w in k.split()) for k in words)
            self._pattern: re.Pattern[str] | None = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        else:
            self._pattern = None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def find(self, text: str) -> list[str]:
        if self._pattern is None:
            return []
        found: list[str] = []
        for m in self._pattern.finditer(fold(text)):
            word = " ".join(m.group(0).split())
            if word not in found:
                found.append(word)
        return found


# -- monitoring rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StakeholderRule:
    group: str
    authors: tuple[str, ...] = ()  # glob patterns on the author's handle or name, case-insensitive
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """The workstation's monitoring rules (resources/monitoring.yaml, or a file set with 'rules set')."""

    min_severity: str = "Severe"
    min_magnitude: float = 4.5
    keywords: tuple[str, ...] = ()  # watched always, besides each active incident's playbook keywords
    urgent_words: tuple[str, ...] = ()
    stakeholders: tuple[StakeholderRule, ...] = ()
    default_group: str = "public"
    retention_days: int = 30
    # The area the workstation answers for: a severe item placed outside it raises no alert of its own.
    areas: tuple[Area, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rules:
        return cls(
            min_severity=str(data.get("min_severity", "Severe")),
            min_magnitude=float(data.get("min_magnitude", 4.5)),
            keywords=tuple(str(k) for k in data.get("keywords", ())),
            urgent_words=tuple(str(k) for k in data.get("urgent_words", ())),
            stakeholders=tuple(
                StakeholderRule(
                    group=str(s["group"]),
                    authors=tuple(str(a) for a in s.get("authors", ())),
                    words=tuple(str(w) for w in s.get("words", ())),
                )
                for s in data.get("stakeholders", ())
            ),
            default_group=str(data.get("default_group", "public")),
            retention_days=int(data.get("retention_days", 30)),
            areas=tuple(parse_area(str(a)) for a in data.get("areas", ())),
        )

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)


def stakeholder(rules: Rules, author: str | None, text: str) -> str:
    who = (author or "").casefold()
    for rule in rules.stakeholders:
        if who and any(fnmatch.fnmatchcase(who, pattern.casefold()) for pattern in rule.authors):
            return rule.group
        if rule.words and KeywordSet(rule.words).find(text):
            return rule.group
    return rules.default_group


@dataclass(frozen=True)
class Watch:
    """What one open incident watches for: its playbook's keywords and its areas."""

    incident_id: str
    title: str
    keywords: KeywordSet
    areas: tuple[Area, ...]


@dataclass(frozen=True)
class Match:
    incident_id: str | None
    rules: tuple[str, ...]  # keyword, area, severity
    reasons: tuple[str, ...]


def matches(item: Item, watches: Sequence[Watch], rules: Rules, always: KeywordSet) -> list[Match]:
    """Every alert this item raises: one per incident it concerns, and one unattached if it is severe on its own."""
    text = f"{item.title}\n{item.text}"
    severe: list[str] = []
    if item.severity and severity_rank(item.severity) >= severity_rank(rules.min_severity) >= 0:
        severe.append(f"CAP severity {item.severity} (threshold {rules.min_severity})")
    if item.magnitude is not None and item.magnitude >= rules.min_magnitude:
        severe.append(f"magnitude {item.magnitude:g} (threshold {rules.min_magnitude:g})")
    found: list[Match] = []
    for watch in watches:
        kinds: list[str] = []
        reasons: list[str] = []
        words = watch.keywords.find(text)
        if words:
            kinds.append("keyword")
            reasons.append("keywords " + ", ".join(repr(w) for w in words[:5]))
        places = [a.description for a in watch.areas if overlaps(item, a)]
        if places:
            kinds.append("area")
            reasons.append("inside " + ", ".join(places[:3]))
        if kinds:
            if severe:
                kinds.append("severity")
                reasons.extend(severe)
            found.append(Match(watch.incident_id, tuple(kinds), tuple(reasons)))
    if severe and rules.areas and item_points(item) and not any(overlaps(item, a) for a in rules.areas):
        severe = []  # placed, and outside the area this workstation answers for
    if not found:
        words = always.find(text)
        if severe or words:
            kinds = (["severity"] if severe else []) + (["keyword"] if words else [])
            reasons = severe + (["keywords " + ", ".join(repr(w) for w in words[:5])] if words else [])
            found.append(Match(None, tuple(kinds), tuple(reasons)))
    return found


# -- triage ----------------------------------------------------------------------------------------------


class TriageStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    IGNORED = "ignored"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


PRIORITY_ORDER = {p: i for i, p in enumerate(Priority)}

# Groups whose words travel further than one person's: an answer to them matters more.
AMPLIFIERS = frozenset({"media", "officials", "responders"})


def priority(*, urgent: bool, concerns_incident: bool, sentiment: float, group: str) -> Priority:
    """Someone in danger first; then what is about an incident and angry or amplified; then the rest."""
    if urgent:
        return Priority.URGENT
    if concerns_incident and (sentiment <= -0.5 or group in AMPLIFIERS):
        return Priority.HIGH
    if concerns_incident or sentiment <= -0.5 or group in AMPLIFIERS:
        return Priority.NORMAL
    return Priority.LOW


# -- health ----------------------------------------------------------------------------------------------

MAX_BACKOFF = 3600.0


def backoff_seconds(interval: float, failures: int, retry_after: float | None = None) -> float:
    """After ``failures`` failures in a row: the interval doubled per failure, up to an hour; a server's
    Retry-After wins when it asks for longer."""
    if failures <= 0:
        return interval
    wait = min(MAX_BACKOFF, float(interval) * 2.0 ** min(failures, 12))
    return max(wait, retry_after or 0.0)

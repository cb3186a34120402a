"""Typed facts: what a communicator fills in, parsed from text and formatted per language and time zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from babel.units import format_unit

from crisisdesk.domain.errors import UserError


class FactType(StrEnum):
    TEXT = "text"
    DATETIME = "datetime"
    DURATION = "duration"
    PLACE = "place"
    AREA = "area"
    PHONE = "phone"
    URL = "url"
    CHOICE = "choice"
    NUMBER = "number"


class BadFact(ValueError):
    """A fact's text does not fit its type; the message says what is expected."""


def locale_for(lang: str) -> str:
    """Babel locale for a playbook language: US county offices write US English and US Spanish."""
    return {"en": "en_US", "es": "es_US"}.get(lang, lang.replace("-", "_"))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones ("America"), a huge name
        raise UserError(f"unknown time zone {name!r}: give an IANA name such as America/Chicago") from None


# -- areas -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Area:
    """A CAP area: a description and at least one of polygon, circle, geocode."""

    description: str
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[tuple[float, float, float], ...] = ()  # lat, lon, radius km
    geocodes: tuple[tuple[str, str], ...] = ()  # (valueName, value), e.g. ("SAME", "006037")

    def __str__(self) -> str:
        return self.description

    def cap_polygons(self) -> list[str]:
        return [" ".join(f"{lat},{lon}" for lat, lon in poly) for poly in self.polygons]

    def cap_circles(self) -> list[str]:
        return [f"{lat},{lon} {radius}" for lat, lon, radius in self.circles]


def _point(text: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise BadFact(f"{text!r} is not a point: write LAT,LON such as 38.55,-121.47") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadFact(f"{text!r} is off the globe: latitude -90..90, longitude -180..180")
    return lat, lon


def parse_area(text: str) -> Area:
    """``DESCRIPTION | polygon: LAT,LON LAT,LON ... | circle: LAT,LON KM | geocode: SAME=006067``."""
    parts = [p.strip() for p in text.split("|")]
    description, shapes = parts[0], parts[1:]
    if not description:
        raise BadFact("an area needs a description first, such as 'Mill Creek valley | geocode: SAME=006067'")
    polygons, circles, geocodes = [], [], []
    for shape in shapes:
        kind, _, body = shape.partition(":")
        kind, body = kind.strip().lower(), body.strip()
        if kind == "polygon":
            points = tuple(_point(p) for p in body.split())
            if len(points) >= 3 and points[0] != points[-1]:
                points = (*points, points[0])  # CAP polygons are closed
            if len(points) < 4:
                raise BadFact("a polygon needs at least three corners")
            polygons.append(points)
        elif kind == "circle":
            try:
                centre, radius = body.split()
                circles.append((*_point(centre), float(radius)))
            except ValueError:
                raise BadFact(f"circle {body!r}: write 'circle: LAT,LON RADIUS_KM'") from None
        elif kind == "geocode":
            for code in body.split():
                name, sep, value = code.partition("=")
                if not sep or not name or not value:
                    raise BadFact(f"geocode {code!r}: write NAME=VALUE such as SAME=006067")
                geocodes.append((name, value))
        else:
            raise BadFact(f"unknown area shape {kind!r}: use polygon, circle or geocode")
    return Area(description, tuple(polygons), tuple(circles), tuple(geocodes))


# -- parsing ----------------------------------------------------------------------------------------------

_DURATION = re.compile(
    r"\s*(?:(?P<h>\d+(?:\.\d+)?)\s*(?:h|hr|hrs|hours?)\s*)?(?:(?P<m>\d+)\s*(?:m|min|mins|minutes?)\s*)?", re.I
)
# Used with fullmatch: "$" would allow a trailing newline.
_ISO_DURATION = re.compile(r"P(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?)")
_PHONE = re.compile(r"\+?[\d\s().-]{3,20}")
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.I)


def parse_duration(text: str) -> timedelta:
    m = _DURATION.fullmatch(text) or _ISO_DURATION.fullmatch(text.strip().upper())
    if not m or not (m.group("h") or m.group("m")):
        raise BadFact(f"{text!r} is not a duration: write 90m, 2h, 1h30m or PT2H")
    try:
        return timedelta(hours=float(m.group("h") or 0), minutes=int(m.group("m") or 0))
    except OverflowError:  # more than a timedelta holds (999,999,999 days)
        raise BadFact(f"{text.strip()!r} is longer than any clock can count: write hours or minutes") from None


def parse_datetime(text: str, tz: tzinfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadFact(f"{text!r} is not a date and time: write 2026-11-22T21:30 or 2026-11-22 21:30-06:00") from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class FactSpec:
    name: str
    type: FactType
    required: bool = True
    choices: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> {lang: label}
    translated: bool = False  # written anew in each of the playbook's languages (see ``WORDED``)


# -- values per language --------------------------------------------------------------------------------------
#
# A fact made of words (text, a place, an area's description) may have a value per language. They are kept as the
# facts always were, a name and a text each: the plain name holds the value in the playbook's first language (and,
# for a fact that is the same in every language, the value for all of them); "name@es" holds the Spanish one. So an
# incident recorded before there were values per language reads exactly as it did.
#
# Which facts are translated: free text (what was wrong, which phones, how much snow) is words of one language, and
# so is an area's description ("all of Mill County", "Zone 4 (Pine Ridge)"): each language needs its own value, and a
# missing one is named. A place is a name and an address ("Mill High School, 1200 Oak Street") and is the same in
# every language unless the playbook marks it ``translate: true`` (a route such as "Highway 49 south"); a playbook may
# also mark a text fact ``translate: false`` (a person's name). Links, phone numbers, times, durations, numbers and
# choices are one value, written in each language's own conventions when rendered.

WORDED = frozenset({FactType.TEXT, FactType.PLACE, FactType.AREA})
TRANSLATED_BY_DEFAULT = frozenset({FactType.TEXT, FactType.AREA})
LANG_SEP = "@"


def split_key(key: str) -> tuple[str, str | None]:
    """``"route@es"`` -> ``("route", "es")``; ``"route"`` -> ``("route", None)``."""
    name, sep, lang = key.partition(LANG_SEP)
    return (name, lang) if sep else (key, None)


def fact_key(name: str, lang: str, main_lang: str) -> str:
    """Where the value of ``name`` in ``lang`` is kept: the plain name for the playbook's first language."""
    return name if lang == main_lang else f"{name}{LANG_SEP}{lang}"


def value_in(spec: FactSpec, values: Mapping[str, Any], lang: str, main_lang: str) -> tuple[Any, bool] | None:
    """A fact's value in ``lang`` and whether it is that language's own (False: another language's value stands in,
    for a translated fact whose ``lang`` value is missing); None when the fact has no value at all."""
    own = values.get(fact_key(spec.name, lang, main_lang))
    if own is not None:
        return own, True
    plain = values.get(spec.name)
    if plain is not None:
        return plain, not spec.translated
    prefix = spec.name + LANG_SEP
    other = next((v for k, v in values.items() if k.startswith(prefix)), None)
    return None if other is None else (other, False)


def base_language(code: str) -> str:
    """ "es-US" -> "es"."""
    return code.partition("-")[0].lower()


def language_name(code: str) -> str:
    """ "es" -> "Spanish": how the console and its messages name a language (in English, the staff's language)."""
    return str(Locale("en").languages.get(base_language(code), code))


def translation_problem(name: str, lang: str) -> str:
    """How a missing translation is named everywhere: the command line, the fact form, the lint."""
    return f"fact {name} has no {lang} value ({language_name(lang)})"


def parse_area_description(name: str, lang: str, text: str) -> Area:
    """An area's description in another language: the shapes are given once, with the fact's plain value."""
    if "|" in text:
        raise BadFact(f"{name}@{lang} is the description in {lang} only: give the shapes once, in {name}")
    return Area(text.strip())


def parse_fact(spec: FactSpec, text: str, tz: tzinfo) -> Any:
    """Turn what a person typed into a typed value, or raise ``BadFact`` saying what is expected."""
    text = text.strip()
    if not text:
        raise BadFact("empty")
    match spec.type:
        case FactType.TEXT | FactType.PLACE:
            return text
        case FactType.DATETIME:
            return parse_datetime(text, tz)
        case FactType.DURATION:
            return parse_duration(text)
        case FactType.AREA:
            return parse_area(text)
        case FactType.PHONE:
            if not _PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 3:
                raise BadFact(f"{text!r} is not a phone number")
            return text
        case FactType.URL:
            if not _URL.fullmatch(text):
                raise BadFact(f"{text!r} is not a web address: start it with https://")
            return text
        case FactType.CHOICE:
            if text not in spec.choices:
                raise BadFact(f"{text!r} is not one of: {', '.join(spec.choices)}")
            return text
        case FactType.NUMBER:
            try:
                return Decimal(text.replace(",", ""))
            except InvalidOperation:
                raise BadFact(f"{text!r} is not a number") from None
    raise BadFact(f"unknown fact type {spec.type}")  # pragma: no cover - the enum is exhaustive


# -- formatting -------------------------------------------------------------------------------------------


def _plural_unit(value: int, unit: str, lang: str) -> str:
    return format_unit(value, unit, length="long", locale=locale_for(lang))


def format_duration(value: timedelta, lang: str) -> str:
    minutes = round(value.total_seconds() / 60)
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(_plural_unit(hours, "duration-hour", lang))
    if rest or not hours:
        parts.append(_plural_unit(rest, "duration-minute", lang))
    joiner = " y " if lang == "es" else " and "
    return joiner.join(parts)


# The US writes the 12-hour clock in both languages. CLDR's es_US gives "p.m."; US Spanish government texts (and the
# RAE) write "p. m.", with a space, which is what residents read in the county's other notices.
_SPANISH_PERIOD = re.compile(r"\b([ap])\.\s?m\.", re.I)
# Babel puts a (narrow) no-break space before the period in some locales: IPAWS and many phones mangle it.
_ODD_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})
TWELVE_HOUR_LANGS = frozenset({"en", "es"})


def format_time_of(value: datetime, lang: str, tz: tzinfo) -> str:
    """A time of day as the language writes it in the US: 9:30 PM / 9:30 p. m., and on the hour 9 PM / 9 p. m.
    Other languages get their locale's short time."""
    local = value.astimezone(tz)
    base = base_language(lang)
    if base not in TWELVE_HOUR_LANGS:
        return format_time(local, "short", locale=locale_for(lang)).translate(_ODD_SPACES)
    text = format_time(local, "h:mm a", locale=locale_for(lang)).translate(_ODD_SPACES)
    if base == "es":
        text = _SPANISH_PERIOD.sub(lambda m: f"{m.group(1).lower()}. m.", text)
    return text.replace(":00 ", " ")  # "9 PM", not "9:00 PM"


def format_day(value: datetime, lang: str, tz: tzinfo) -> str:
    return format_date(value.astimezone(tz), "EEEE", locale=locale_for(lang))


def format_date_of(value: datetime, lang: str, tz: tzinfo) -> str:
    pattern = "EEEE, MMMM d" if lang == "en" else "EEEE d 'de' MMMM"
    return format_date(value.astimezone(tz), pattern, locale=locale_for(lang))


def format_when(value: datetime, lang: str, tz: tzinfo) -> str:
    """The default way a time is written: "9:30 PM Sunday" / "9:30 p. m. del domingo"."""
    time, day = format_time_of(value, lang, tz), format_day(value, lang, tz)
    return f"{time} del {day}" if lang == "es" else f"{time} {day}"


def format_number(value: Decimal, lang: str) -> str:
    return format_decimal(value, locale=locale_for(lang))


def format_fact(spec: FactSpec, value: Any, lang: str, tz: tzinfo) -> str:
    match spec.type:
        case FactType.DATETIME:
            return format_when(value, lang, tz)
        case FactType.DURATION:
            return format_duration(value, lang)
        case FactType.NUMBER:
            return format_number(value, lang)
        case FactType.CHOICE:
            labels = spec.choices.get(value, {})
            return labels.get(lang) or labels.get("en") or str(value)
    return str(value)

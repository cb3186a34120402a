"""Times and ids as a person reads them in the console.

Every time a view shows is in a zone a person lives in: the incident's when the row belongs to one, otherwise
this workstation's. No microseconds, no raw ISO: "14:05" today, "Sat 28 Nov 14:05" this year, "28 Nov 2025 14:05"
before. The tooltip of a cell may carry the full moment with its zone (``full``).

Ids are shown short (``short_id``) and only where a person needs to tell two rows apart or quote one.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo


def workstation_zone() -> tzinfo:
    """The zone this workstation's clock is set to (the system's), for rows that belong to no incident."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else ZoneInfo("UTC")


def _moment(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # the log writes UTC; a naive value is never local time
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment


def moment_text(
    value: str | datetime | None, zone: tzinfo | None = None, *, now: datetime | None = None, seconds: bool = False
) -> str:
    """A moment in ``zone`` (default: the workstation's), as short as it can be without being ambiguous;
    ``seconds`` where seconds matter (how long a false alarm took to declare)."""
    if value is None or value == "":
        return ""
    try:
        moment = _moment(value)
    except ValueError:
        return str(value)
    zone = zone or workstation_zone()
    here = moment.astimezone(zone)
    today = (now or datetime.now(zone)).astimezone(zone)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    if here.date() == today.date():
        return here.strftime(clock)
    if here.year == today.year:
        return here.strftime(f"%a %d %b {clock}")
    return here.strftime(f"%d %b %Y {clock}")


def full(value: str | datetime | None, zone: tzinfo | None = None) -> str:
    """The whole moment with seconds and the zone's name, for a tooltip or an export."""
    if value is None or value == "":
        return ""
    try:
        moment = _moment(value)
    except ValueError:
        return str(value)
    return moment.astimezone(zone or workstation_zone()).strftime("%a %d %b %Y %H:%M:%S %Z")


def short_id(value: str | None, length: int = 8) -> str:
    """The start of an id, enough to tell rows apart and to find it again with a search; the whole id elsewhere."""
    if not value:
        return ""
    return value if len(value) <= length else value[:length]

"""A scenario written for the drill tests (into the test's folder), its CAP file, and the people who run it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor, Role
from tests.conftest import person

FLOOD_FACTS = {
    "area": "Mill Creek valley | geocode: SAME=006067",
    "expires": "2026-11-22T21:30",
    "info_url": "https://ready.millcounty.gov/flood",
    "phone": "211",
}

CAP_WARNING = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NWS-DRILL-FLASH-FLOOD-1</identifier>
  <sender>w-nws.webmaster@noaa.gov</sender>
  <sent>2026-11-22T09:35:00-08:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>Flash Flood Warning</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Flash Flood Warning for the Mill Creek valley</headline>
    <description>Flash flooding is ongoing along Mill Creek. Creek rising fast near the bridge.</description>
    <area>
      <areaDesc>Mill Creek valley</areaDesc>
      <circle>38.57,-121.45 10</circle>
    </area>
  </info>
</alert>
"""

# Minutes from the start of each inject of the test scenario, by id.
SCHEDULE = {
    "first-report": 0,
    "nws-warning": 5,
    "shelter-question": 10,
    "ic-call": 12,
    "page-down": 15,
    "blackout": 40,
    "late-report": 55,
}


def scenario_text(*, outage_account: str = "exercise-page", extra_inject: str = "") -> str:
    return f"""id: test-flood
name: Test flash flood
version: "1"
summary: A flash flood on Mill Creek, for the drill service's tests.
duration: 1h
incidents:
  - key: flood
    playbook: flash-flood
    title: Mill Creek flash flood
    facts:
      area: "{FLOOD_FACTS["area"]}"
      expires: "{FLOOD_FACTS["expires"]}"
      info_url: "{FLOOD_FACTS["info_url"]}"
      phone: "{FLOOD_FACTS["phone"]}"
participants:
  - role: communicator
    who: PIO desk
  - role: approver
    who: Incident commander
objectives:
  - id: first-alert
    title: Alert the public within 10 minutes of the first report
    expect:
      measure: first-message
      after: first-report
      within: 10m
injects:
  - id: first-report
    at: T+0
    kind: feed-item
    headline: Creek rising at the Mill Creek bridge
    text: Water over the road at the Mill Creek bridge, creek rising fast.
  - id: nws-warning
    at: T+5m
    kind: cap-alert
    file: warning.xml
  - id: shelter-question
    at: T+10m
    kind: comment
    text: "¿Dónde está el refugio? Estamos atrapados en la calle Oak"
    author: vecina_oak
    group: residents
    language: es
    urgent: true
  - id: ic-call
    at: T+12m
    kind: note
    to: communicator
    source: a phone call from the incident commander
    text: Add the shelter at Mill Creek High School to the next update.
  - id: page-down
    at: T+15m
    kind: channel-outage
    account: {outage_account}
    for: 20m
  - id: blackout
    at: T+40m
    kind: network-loss
    for: 10m
  - id: late-report
    at: T+55m
    kind: feed-item
    headline: Flooding on Oak Street
    text: Road flooded on Oak Street near the school.
{extra_inject}"""


def write_scenario(folder: Path, text: str | None = None, name: str = "test-flood.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "warning.xml").write_text(CAP_WARNING, encoding="utf-8")
    path = folder / name
    path.write_text(text if text is not None else scenario_text(), encoding="utf-8")
    return path


def controller(core: App, admin: Actor) -> Actor:
    return person(core, admin, "eve", Role.EXERCISE_CONTROLLER)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def advance(clock: FixedClock, n_minutes: float, compression: float = 1.0) -> None:
    """Move the wall clock so that a running drill at ``compression`` gains ``n_minutes`` of drill time."""
    clock.advance(timedelta(minutes=n_minutes) / compression)

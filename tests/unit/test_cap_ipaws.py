"""The IPAWS-OPEN profile and the CAP rules every profile keeps: one good alert passes them all, and each crafted
fault is found as exactly one line that names the element (issue 13)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from lxml import etree

from crisisdesk.cli import main
from crisisdesk.domain.cap import CapSettings, ipaws_choice, ipaws_problems, parse_xml, rule_problems, schema_problems

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).parents[2] / "resources" / "CAP-v1.2.xsd")))
REAL_IPAWS = sorted((Path(__file__).parents[1] / "data" / "cap" / "realworld" / "oasiscap").glob("ipaws-*.xml"))

GOOD = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>MillOES-msg-1-v1</identifier>
  <sender>oes@millcounty.example</sender>
  <sent>2026-11-22T19:30:00-08:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <code>IPAWSv1.0</code>
  <references>oes@millcounty.example,MillOES-msg-0-v1,2026-11-22T19:00:00-08:00</references>
  <info>
    <language>en-US</language>
    <category>Met</category>
    <event>Flash Flood Warning</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <eventCode><valueName>SAME</valueName><value>FFW</value></eventCode>
    <effective>2026-11-22T19:30:00-08:00</effective>
    <onset>2026-11-22T19:45:00-08:00</onset>
    <expires>2026-11-22T21:30:00-08:00</expires>
    <senderName>Mill County Emergency Management</senderName>
    <headline>Flash Flood Warning for Mill Creek valley until 9:30 PM.</headline>
    <parameter><valueName>EAS-ORG</valueName><value>CIV</value></parameter>
    <parameter><valueName>BLOCKCHANNEL</valueName><value>NWEM</value></parameter>
    <parameter><valueName>WEAHandling</valueName><value>Imminent Threat</value></parameter>
    <parameter><valueName>CMAMtext</valueName>
      <value>Flash Flood Warning here until 9:30 PM. Go to higher ground now.</value></parameter>
    <parameter><valueName>CMAMlongtext</valueName>
      <value>Flash Flood Warning for Mill Creek valley until 9:30 PM.</value></parameter>
    <area>
      <areaDesc>Mill Creek valley</areaDesc>
      <polygon>38.55,-121.50 38.60,-121.50 38.60,-121.40 38.55,-121.50</polygon>
      <circle>38.57,-121.45 12</circle>
      <geocode><valueName>SAME</valueName><value>006067</value></geocode>
    </area>
  </info>
</alert>
"""


def all_problems(xml: str) -> list[str]:
    data = xml.encode("utf-8")
    alert = parse_xml(data)
    return schema_problems(data, SCHEMA) + rule_problems(alert) + ipaws_problems(alert)


def changed(old: str, new: str, count: int = 1) -> str:
    assert GOOD.count(old) >= 1, old
    return GOOD.replace(old, new, count)


def test_the_good_alert_passes_the_schema_the_rules_and_the_ipaws_profile() -> None:
    assert all_problems(GOOD) == []


@pytest.mark.parametrize("path", REAL_IPAWS, ids=lambda p: p.stem)
def test_real_ipaws_alerts_pass_every_rule_crisisdesk_checks(path: Path) -> None:
    # Alerts IPAWS took and sent: the rules must not refuse what the real gateway accepted (a Cancel with no
    # <info>, BLOCKCHANNEL CAPEXCH, WEAHandling Public Safety and Imminent Threat, CMAMlongtext).
    alert = parse_xml(path.read_bytes())
    assert rule_problems(alert) + ipaws_problems(alert) == []


PARAMETER = "<parameter><valueName>{}</valueName><value>{}</value></parameter>"
CMAM90 = "Flash Flood Warning here until 9:30 PM. Go to higher ground now."
# name: (the alert with one fault, what its one finding starts with, what else it says)
FAULTS: dict[str, tuple[str, str, str]] = {
    "expires before sent": (
        changed("<expires>2026-11-22T21:30:00-08:00", "<expires>2026-11-22T19:00:00-08:00").replace(
            "<effective>2026-11-22T19:30:00-08:00</effective>\n    <onset>2026-11-22T19:45:00-08:00</onset>\n", ""
        ),
        "info[en-US]/expires 2026-11-22T19:00:00-08:00 is not after sent 2026-11-22T19:30:00-08:00",
        "over before it is sent",
    ),
    "expires at sent": (
        # The same moment as sent, written in another offset.
        changed("<expires>2026-11-22T21:30:00-08:00", "<expires>2026-11-23T03:30:00+00:00").replace(
            "<onset>2026-11-22T19:45:00-08:00</onset>", "<onset>2026-11-22T19:30:00-08:00</onset>"
        ),
        "info[en-US]/expires 2026-11-23T03:30:00+00:00 is not after sent 2026-11-22T19:30:00-08:00",
        "over before it is sent",
    ),
    "onset after expires": (
        changed("<onset>2026-11-22T19:45:00-08:00", "<onset>2026-11-22T22:00:00-08:00"),
        "info[en-US]/onset 2026-11-22T22:00:00-08:00 is after expires",
        "2026-11-22T21:30:00-08:00",
    ),
    "effective after expires": (
        changed("<effective>2026-11-22T19:30:00-08:00", "<effective>2026-11-23T06:00:00-08:00"),
        "info[en-US]/effective 2026-11-23T06:00:00-08:00 is after expires",
        "2026-11-22T21:30:00-08:00",
    ),
    "references without sent": (
        changed(",2026-11-22T19:00:00-08:00</references>", "</references>"),
        "references: 'oes@millcounty.example,MillOES-msg-0-v1' is not sender,identifier,sent",
        "",
    ),
    "references joined by commas": (
        changed(
            "2026-11-22T19:00:00-08:00</references>",
            "2026-11-22T19:00:00-08:00,x,y,2026-11-22T19:10:00-08:00</references>",
        ),
        "references: ",
        "is not sender,identifier,sent",
    ),
    "references with a sent time in Z": (
        changed(",2026-11-22T19:00:00-08:00</references>", ",2026-11-23T03:00:00Z</references>"),
        "references: 'oes@millcounty.example,MillOES-msg-0-v1,2026-11-23T03:00:00Z': its sent time",
        "CAP's form",
    ),
    "an Update naming nothing": (
        changed("<references>oes@millcounty.example,MillOES-msg-0-v1,2026-11-22T19:00:00-08:00</references>\n", ""),
        "references: a Update message must name the messages it changes",
        "",
    ),
    "no IPAWS code": (changed("<code>IPAWSv1.0</code>", "<code>CAP-CP</code>"), "code: IPAWS needs", "IPAWSv1.0"),
    "a placeholder sender": (
        GOOD.replace("oes@millcounty.example", "crisisdesk@localhost"),
        "sender 'crisisdesk@localhost': a placeholder",
        "IPAWS needs the sender your alerting authority was given",
    ),
    "an Alert with no info": (
        GOOD[: GOOD.index("  <info>")]
        .replace("<msgType>Update</msgType>", "<msgType>Alert</msgType>")
        .replace("  <references>oes@millcounty.example,MillOES-msg-0-v1,2026-11-22T19:00:00-08:00</references>\n", "")
        + "</alert>\n",
        "info: IPAWS needs at least one <info> in an Alert message",
        "",
    ),
    "no SAME event code": (
        changed("<valueName>SAME</valueName><value>FFW</value>", "<valueName>NWS</valueName><value>FFW</value>"),
        "info[en-US]/eventCode: IPAWS needs exactly one SAME event code (found 0)",
        "",
    ),
    "two SAME event codes": (
        changed(
            "</eventCode>", "</eventCode>\n    <eventCode><valueName>SAME</valueName><value>FLW</value></eventCode>"
        ),
        "info[en-US]/eventCode: IPAWS needs exactly one SAME event code (found 2)",
        "",
    ),
    "a SAME event code not of three capitals": (
        changed("<value>FFW</value>", "<value>ffw</value>"),
        "info[en-US]/eventCode SAME 'ffw': must be three capital letters",
        "",
    ),
    "no expires": (
        changed("    <expires>2026-11-22T21:30:00-08:00</expires>\n", ""),
        "info[en-US]/expires: IPAWS needs <expires>",
        "",
    ),
    "no EAS-ORG": (
        changed(PARAMETER.format("EAS-ORG", "CIV"), ""),
        "info[en-US]/parameter EAS-ORG: IPAWS needs it",
        "CIV for a county",
    ),
    "an unknown EAS-ORG": (
        changed(PARAMETER.format("EAS-ORG", "CIV"), PARAMETER.format("EAS-ORG", "COUNTY")),
        "info[en-US]/parameter EAS-ORG 'COUNTY': not one of PEP, CIV, WXR, EAS",
        "",
    ),
    "EAS-ORG twice": (
        changed(PARAMETER.format("EAS-ORG", "CIV"), PARAMETER.format("EAS-ORG", "CIV") * 2),
        "info[en-US]/parameter EAS-ORG: given 2 times",
        "",
    ),
    "an unknown BLOCKCHANNEL": (
        changed(PARAMETER.format("BLOCKCHANNEL", "NWEM"), PARAMETER.format("BLOCKCHANNEL", "WEA")),
        "info[en-US]/parameter BLOCKCHANNEL 'WEA': not one of CMAS, EAS, NWEM, PUBLIC, CAPEXCH",
        "",
    ),
    "an unknown WEAHandling": (
        changed(PARAMETER.format("WEAHandling", "Imminent Threat"), PARAMETER.format("WEAHandling", "Urgent")),
        "info[en-US]/parameter WEAHandling 'Urgent': not one of Imminent Threat, Public Safety",
        "",
    ),
    "an Imminent Threat that is not one": (
        changed("<severity>Severe</severity>", "<severity>Moderate</severity>"),
        "info[en-US]/parameter WEAHandling 'Imminent Threat': needs urgency Immediate or Expected",
        "(this info is Immediate, Moderate, Likely); use 'Public Safety'",
    ),
    "CMAMtext over 90": (
        changed(CMAM90, CMAM90 + " Do not walk or drive into the water."),
        "info[en-US]/parameter CMAMtext: 101 characters, over WEA's 90",
        "",
    ),
    "CMAMlongtext over 360": (
        changed("Flash Flood Warning for Mill Creek valley until 9:30 PM.</value>", "x" * 361 + "</value>"),
        "info[en-US]/parameter CMAMlongtext: 361 characters, over WEA's 360",
        "",
    ),
    "CMAMlongtext without CMAMtext": (
        changed(f"<parameter><valueName>CMAMtext</valueName>\n      <value>{CMAM90}</value></parameter>", ""),
        "info[en-US]/parameter CMAMlongtext: needs CMAMtext",
        "",
    ),
    "CMAMtext in a language WEA does not carry": (
        changed("<language>en-US</language>", "<language>fr-CA</language>"),
        "info[fr-CA]/parameter CMAMtext: WEA carries en-US and es-US only, not fr-CA",
        "",
    ),
    "no area": (
        GOOD[: GOOD.index("    <area>")] + GOOD[GOOD.index("  </info>") :],
        "info[en-US]/area: IPAWS needs at least one <area>",
        "",
    ),
    "an area without a SAME geocode": (
        changed(
            "<valueName>SAME</valueName><value>006067</value>", "<valueName>FIPS6</valueName><value>006067</value>"
        ),
        "info[en-US]/area 'Mill Creek valley'/geocode: IPAWS needs a SAME geocode",
        "",
    ),
    "a SAME geocode of five digits": (
        changed("<value>006067</value>", "<value>06067</value>"),
        "info[en-US]/area 'Mill Creek valley'/geocode SAME '06067': must be six digits",
        "",
    ),
    "a polygon of three points": (
        changed("38.55,-121.50 38.60,-121.50 38.60,-121.40 38.55,-121.50", "38.55,-121.50 38.60,-121.50 38.55,-121.50"),
        "info[en-US]/area 'Mill Creek valley'/polygon '38.55,-121.50 38.60,-121.50 38.55,-121.50' has 3 points",
        "at least 4",
    ),
    "a polygon not closed": (
        changed("38.60,-121.40 38.55,-121.50<", "38.60,-121.40 38.55,-121.40<"),
        "info[en-US]/area 'Mill Creek valley'/polygon ",
        "is not closed: its first and last points differ",
    ),
    "a polygon point off the globe": (
        changed("38.60,-121.40 38.55", "38.60,-221.40 38.55"),
        "info[en-US]/area 'Mill Creek valley'/polygon point '38.60,-221.40' is not LAT,LON",
        "",
    ),
    "a circle without a radius": (
        changed("<circle>38.57,-121.45 12</circle>", "<circle>38.57,-121.45</circle>"),
        "info[en-US]/area 'Mill Creek valley'/circle '38.57,-121.45': write 'LAT,LON RADIUS'",
        "",
    ),
    "an identifier with a space": (
        changed("<identifier>MillOES-msg-1-v1", "<identifier>MillOES msg-1-v1"),
        "identifier 'MillOES msg-1-v1': must not contain spaces",
        "",
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_is_one_line_naming_its_element(name: str) -> None:
    xml, starts, says = FAULTS[name]
    problems = all_problems(xml)
    assert len(problems) == 1, problems
    [problem] = problems
    assert problem.startswith(starts) and says in problem, problem
    assert "\n" not in problem


def test_every_profile_refuses_expires_before_sent(tmp_path: Path) -> None:
    """Without --profile too: an alert that is over when it is sent is wrong for any receiver."""
    xml, starts, _ = FAULTS["expires before sent"]
    path = tmp_path / "late.xml"
    path.write_text(xml.replace("<code>IPAWSv1.0</code>", ""))
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["cap", "validate", str(path)], stdin=io.StringIO(), stdout=out)
    assert code == 1
    assert out.getvalue().splitlines() == [f"{path}: {starts}: the alert would be over before it is sent"]


def test_cap_validate_prints_one_line_per_finding(tmp_path: Path) -> None:
    path = tmp_path / "two.xml"
    path.write_text(
        changed(PARAMETER.format("EAS-ORG", "CIV"), "").replace("<value>006067</value>", "<value>6067</value>")
    )
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = main(["cap", "validate", str(path), "--profile", "ipaws"], stdin=io.StringIO(), stdout=out)
    assert code == 1
    lines = out.getvalue().splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == [
        "info[en-US]/parameter EAS-ORG",
        "info[en-US]/area 'Mill Creek valley'/geocode SAME '6067'",
    ]
    path.write_text(GOOD)
    out = io.StringIO()
    assert main(["cap", "validate", str(path), "--profile", "ipaws"], stdin=io.StringIO(), stdout=out) == 0
    assert out.getvalue() == f"{path}: valid CAP 1.2 (IPAWS profile)\n"


def choice(**kw: object) -> tuple[tuple[str, ...], str | None]:
    settings = CapSettings(**{**BASE_SETTINGS, **kw.pop("settings", {})})  # type: ignore[dict-item]
    args: dict[str, object] = {"mode": "live", "message_type": "alert", "wea": True, "urgency": "Immediate",
                               "severity": "Severe", "certainty": "Likely", **kw}  # fmt: skip
    made = ipaws_choice(settings, **args)  # type: ignore[arg-type]
    return made.blocked, made.wea_handling


BASE_SETTINGS = {"category": "Met", "response": {"alert": "Evacuate"}, "urgency": "Immediate", "severity": "Severe",
                 "certainty": "Likely", "same_event": "FFW"}  # fmt: skip


def test_which_ipaws_channels_an_alert_is_meant_for() -> None:
    assert choice() == ((), "Imminent Threat")
    assert choice(mode="exercise") == (("CMAS", "EAS", "NWEM", "PUBLIC"), None)
    assert choice(wea=False) == (("CMAS",), None)
    assert choice(message_type="all-clear", urgency="Past", severity="Minor", certainty="Observed") == (
        ("EAS", "NWEM"),
        "Public Safety",
    )
    assert choice(message_type="cancel", urgency="Past", severity="Minor", certainty="Observed") == (
        (),
        "Public Safety",
    )
    # An advisory is not broadcast unless its playbook says so; a playbook may also keep a warning off the air.
    advisory = {"urgency": "Expected", "severity": "Moderate", "certainty": "Possible"}
    assert choice(settings=advisory, **advisory) == (("EAS", "NWEM"), "Public Safety")
    assert choice(settings={**advisory, "eas": True}, **advisory) == ((), "Public Safety")
    assert choice(settings={"eas": False}) == (("EAS", "NWEM"), "Imminent Threat")
    assert choice(settings={"same_event": "CAE"}) == ((), None)  # IPAWS sends CAE to WEA as an AMBER alert

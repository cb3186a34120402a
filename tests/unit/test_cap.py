"""CAP 1.2: reading the OASIS examples and real-world alerts field for field, building, and the rules."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from crisisdesk.domain.cap import CapError, build_xml, ipaws_problems, parse_xml, rule_problems, schema_problems

DATA = Path(__file__).parents[1] / "data" / "cap"
SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).parents[2] / "resources" / "CAP-v1.2.xsd")))
CAP_NS = ("urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1")
REAL = (
    sorted(p for p in (DATA / "realworld").rglob("*") if p.is_file())
    + sorted((DATA / "oasis").rglob("*.xml"))
    + sorted((DATA / "oasis" / "variants").glob("*.cap"))
)


def leaves(data: bytes) -> Counter[tuple[str, str]]:
    """Every CAP leaf element as (path of local names, stripped text)."""
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    found: Counter[tuple[str, str]] = Counter()

    def walk(el: etree._Element, path: str) -> None:
        q = etree.QName(el)
        if q.namespace not in CAP_NS:
            return  # signatures and other extensions are not CAP fields
        here = f"{path}/{q.localname}"
        children = [c for c in el if isinstance(c.tag, str)]
        if children:
            for c in children:
                walk(c, here)
        elif (el.text or "").strip():
            found[(here, el.text.strip())] += 1

    walk(root, "")
    return found


def test_oasis_a1_reads_field_for_field() -> None:
    alert = parse_xml((DATA / "oasis" / "v1dot2_appendix_adot1.xml").read_bytes())
    assert (alert.identifier, alert.sender, alert.sent) == ("43b080713727", "hsas@dhs.gov", "2003-04-02T14:39:01-05:00")
    assert (alert.status, alert.msg_type, alert.scope) == ("Actual", "Alert", "Public")
    info = alert.infos[0]
    assert info.categories == ("Security",)
    assert info.event == "Homeland Security Advisory System Update"
    assert (info.urgency, info.severity, info.certainty) == ("Immediate", "Severe", "Likely")
    assert info.headline == "Homeland Security Sets Code ORANGE"
    assert info.parameters == (("HSAS", "ORANGE"),)
    assert info.resources[0].mime_type == "image/gif"
    assert info.areas[0].description == "U.S. nationwide and interests worldwide"


def test_oasis_a3_and_a4_read_circles_geocodes_and_two_languages() -> None:
    quake = parse_xml((DATA / "oasis" / "v1dot2_appendix_adot3.xml").read_bytes())
    assert quake.infos[0].event == "Earthquake"
    assert quake.infos[0].areas[0].circles == ("32.9525,-115.5527 0",)
    amber = parse_xml((DATA / "oasis" / "v1dot2_appendix_adot4.xml").read_bytes())
    assert [i.language for i in amber.infos] == ["en-US", "es-US"]
    assert [i.event for i in amber.infos] == ["Child Abduction", "Abducción de Niño"]
    assert amber.infos[1].event_codes == (("SAME", "CAE"),)
    assert amber.infos[1].areas[0].geocodes == (("SAME", "006037"),)
    assert amber.infos[1].areas[0].description == "condado de Los Ángeles"


@pytest.mark.parametrize("path", REAL, ids=lambda p: str(p.relative_to(DATA)))
def test_real_alerts_read_back_field_for_field(path: Path) -> None:
    data = path.read_bytes()
    alert = parse_xml(data)
    rebuilt = build_xml(alert)
    assert leaves(rebuilt) == leaves(data)  # nothing lost, nothing invented
    assert parse_xml(rebuilt) == alert


def test_cap_11_is_read_too() -> None:
    alert = parse_xml((DATA / "oasis" / "variants" / "KAR0-0306112239-SW.cap").read_bytes())
    assert alert.identifier and alert.infos


@pytest.mark.parametrize("name", ["xee.cap", "xee.atom"])
def test_entities_are_refused(name: str) -> None:
    with pytest.raises(CapError):
        parse_xml((DATA / "invalid" / name).read_bytes())


def test_an_entity_bomb_is_refused_quickly() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><alert>&b;</alert>'
    )
    with pytest.raises(CapError):
        parse_xml(bomb)


def test_the_broken_files_are_found_broken() -> None:
    assert schema_problems((DATA / "invalid" / "invalid.cap").read_bytes(), SCHEMA)  # missing <scope>
    canada = parse_xml((DATA / "invalid" / "canada_errors.cap").read_bytes())
    assert any("references" in p for p in rule_problems(canada))
    with pytest.raises(CapError, match="not a CAP"):
        parse_xml(b"<rss/>")
    with pytest.raises(CapError, match="well-formed"):
        parse_xml(b"<alert>")


def test_the_real_ipaws_alerts_meet_the_ipaws_profile_rules_we_check() -> None:
    for path in sorted((DATA / "realworld" / "oasiscap").glob("ipaws-*.xml")):
        alert = parse_xml(path.read_bytes())
        assert not schema_problems(path.read_bytes(), SCHEMA), path.name
        problems = ipaws_problems(alert)
        assert not [p for p in problems if "IPAWSv1.0" in p or "SAME event" in p], (path.name, problems)


def test_times_with_z_are_refused_by_the_rules() -> None:
    data = (
        (DATA / "oasis" / "v1dot2_appendix_adot1.xml")
        .read_bytes()
        .replace(b"2003-04-02T14:39:01-05:00", b"2003-04-02T19:39:01Z")
    )
    assert any("never Z" in p for p in rule_problems(parse_xml(data)))

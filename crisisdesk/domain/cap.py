"""CAP 1.2: build alerts from rendered messages, parse alerts from bytes, and check the rules.

Parsing is namespace-agnostic (CAP 1.1 and 1.2 read alike) and safe: no entities, no DTD, no network.
Schema validation takes an ``lxml.etree.XMLSchema`` that the caller loads from ``resources/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from lxml import etree

from crisisdesk.domain.facts import Area, FactType

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
IPAWS_CODE = "IPAWSv1.0"
MSG_TYPES = {"alert": "Alert", "update": "Update", "correction": "Update", "all-clear": "Update", "cancel": "Cancel"}
LANG_TAGS = {"en": "en-US", "es": "es-US"}
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")  # fullmatch


class CapError(ValueError):
    """Bytes that are not a readable CAP alert; the message says why."""


@dataclass(frozen=True)
class CapResource:
    description: str
    mime_type: str
    size: str | None = None
    uri: str | None = None
    deref_uri: str | None = None  # the resource itself, base64, when it travels inside the alert
    digest: str | None = None


@dataclass(frozen=True)
class CapArea:
    description: str
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()
    altitude: str | None = None
    ceiling: str | None = None


@dataclass(frozen=True)
class CapInfo:
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str | None = None
    response_types: tuple[str, ...] = ()
    audience: str | None = None
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: str | None = None
    onset: str | None = None
    expires: str | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    resources: tuple[CapResource, ...] = ()
    areas: tuple[CapArea, ...] = ()


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    codes: tuple[str, ...] = ()
    note: str | None = None
    references: str | None = None
    incidents: str | None = None
    infos: tuple[CapInfo, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- building -------------------------------------------------------------------------------------------------


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, f"{{{CAP12}}}{name}").text = text


def _pairs(parent: etree._Element, name: str, pairs: Sequence[tuple[str, str]]) -> None:
    for value_name, value in pairs:
        el = etree.SubElement(parent, f"{{{CAP12}}}{name}")
        _sub(el, "valueName", value_name)
        _sub(el, "value", value)


def build_xml(alert: CapAlert) -> bytes:
    """CAP 1.2 XML, elements in the schema's order."""
    root = etree.Element(f"{{{CAP12}}}alert", nsmap={None: CAP12})  # type: ignore[dict-item]
    for name, value in (
        ("identifier", alert.identifier),
        ("sender", alert.sender),
        ("sent", alert.sent),
        ("status", alert.status),
        ("msgType", alert.msg_type),
        ("source", alert.source),
        ("scope", alert.scope),
        ("restriction", alert.restriction),
        ("addresses", alert.addresses),
    ):
        _sub(root, name, value)
    for code in alert.codes:
        _sub(root, "code", code)
    _sub(root, "note", alert.note)
    _sub(root, "references", alert.references)
    _sub(root, "incidents", alert.incidents)
    for info in alert.infos:
        el = etree.SubElement(root, f"{{{CAP12}}}info")
        _sub(el, "language", info.language)
        for category in info.categories:
            _sub(el, "category", category)
        _sub(el, "event", info.event)
        for response in info.response_types:
            _sub(el, "responseType", response)
        for name, value in (
            ("urgency", info.urgency),
            ("severity", info.severity),
            ("certainty", info.certainty),
            ("audience", info.audience),
        ):
            _sub(el, name, value)
        _pairs(el, "eventCode", info.event_codes)
        for name, value in (
            ("effective", info.effective),
            ("onset", info.onset),
            ("expires", info.expires),
            ("senderName", info.sender_name),
            ("headline", info.headline),
            ("description", info.description),
            ("instruction", info.instruction),
            ("web", info.web),
            ("contact", info.contact),
        ):
            _sub(el, name, value)
        _pairs(el, "parameter", info.parameters)
        for resource in info.resources:
            r = etree.SubElement(el, f"{{{CAP12}}}resource")
            for name, value in (
                ("resourceDesc", resource.description),
                ("mimeType", resource.mime_type),
                ("size", resource.size),
                ("uri", resource.uri),
                ("derefUri", resource.deref_uri),
                ("digest", resource.digest),
            ):
                _sub(r, name, value)
        for area in info.areas:
            a = etree.SubElement(el, f"{{{CAP12}}}area")
            _sub(a, "areaDesc", area.description)
            for polygon in area.polygons:
                _sub(a, "polygon", polygon)
            for circle in area.circles:
                _sub(a, "circle", circle)
            _pairs(a, "geocode", area.geocodes)
            _sub(a, "altitude", area.altitude)
            _sub(a, "ceiling", area.ceiling)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def cap_time(moment: datetime, tz: tzinfo) -> str:
    """CAP date-time: local time with a numeric offset, never "Z"."""
    text = moment.astimezone(tz).replace(microsecond=0).isoformat()
    return text[:-1] + "+00:00" if text.endswith("Z") else text


# -- parsing -------------------------------------------------------------------------------------------------

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
}


def safe_parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CapError(f"not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.internalDTD is not None or b"<!ENTITY" in data[:4096]:
        raise CapError("a document type declaration with entities is refused")
    return root


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and _local(c) == name]


def _text(el: etree._Element, name: str) -> str | None:
    found = _children(el, name)
    if not found or found[0].text is None:
        return None
    return found[0].text.strip()


def _texts(el: etree._Element, name: str) -> tuple[str, ...]:
    return tuple((c.text or "").strip() for c in _children(el, name))


def _pair_list(el: etree._Element, name: str) -> tuple[tuple[str, str], ...]:
    return tuple((_text(c, "valueName") or "", _text(c, "value") or "") for c in _children(el, name))


def parse_xml(data: bytes) -> CapAlert:
    """Read a CAP 1.1 or 1.2 alert field for field."""
    root = safe_parse(data)
    if _local(root) != "alert":
        raise CapError(f"the root element is <{_local(root)}>, not a CAP <alert>")
    required = {n: _text(root, n) for n in ("identifier", "sender", "sent", "status", "msgType", "scope")}
    infos = []
    for info in _children(root, "info"):
        infos.append(
            CapInfo(
                language=_text(info, "language"),
                categories=_texts(info, "category"),
                event=_text(info, "event") or "",
                response_types=_texts(info, "responseType"),
                urgency=_text(info, "urgency") or "",
                severity=_text(info, "severity") or "",
                certainty=_text(info, "certainty") or "",
                audience=_text(info, "audience"),
                event_codes=_pair_list(info, "eventCode"),
                effective=_text(info, "effective"),
                onset=_text(info, "onset"),
                expires=_text(info, "expires"),
                sender_name=_text(info, "senderName"),
                headline=_text(info, "headline"),
                description=_text(info, "description"),
                instruction=_text(info, "instruction"),
                web=_text(info, "web"),
                contact=_text(info, "contact"),
                parameters=_pair_list(info, "parameter"),
                resources=tuple(
                    CapResource(
                        description=_text(r, "resourceDesc") or "",
                        mime_type=_text(r, "mimeType") or "",
                        size=_text(r, "size"),
                        uri=_text(r, "uri"),
                        deref_uri=_text(r, "derefUri"),
                        digest=_text(r, "digest"),
                    )
                    for r in _children(info, "resource")
                ),
                areas=tuple(
                    CapArea(
                        description=_text(a, "areaDesc") or "",
                        polygons=_texts(a, "polygon"),
                        circles=_texts(a, "circle"),
                        geocodes=_pair_list(a, "geocode"),
                        altitude=_text(a, "altitude"),
                        ceiling=_text(a, "ceiling"),
                    )
                    for a in _children(info, "area")
                ),
            )
        )
    return CapAlert(
        identifier=required["identifier"] or "",
        sender=required["sender"] or "",
        sent=required["sent"] or "",
        status=required["status"] or "",
        msg_type=required["msgType"] or "",
        scope=required["scope"] or "",
        source=_text(root, "source"),
        restriction=_text(root, "restriction"),
        addresses=_text(root, "addresses"),
        codes=_texts(root, "code"),
        note=_text(root, "note"),
        references=_text(root, "references"),
        incidents=_text(root, "incidents"),
        infos=tuple(infos),
    )


# -- rules ---------------------------------------------------------------------------------------------------


def schema_problems(data: bytes, schema: etree.XMLSchema) -> list[str]:
    try:
        root = safe_parse(data)
    except CapError as exc:
        return [str(exc)]
    if schema.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]


def _polygon_problem(text: str) -> str | None:
    points = text.split()
    if len(points) < 4:
        return f"polygon {text[:40]!r} needs at least 4 points"
    if points[0] != points[-1]:
        return f"polygon {text[:40]!r} is not closed (the first and last points differ)"
    return None


def rule_problems(alert: CapAlert) -> list[str]:
    """CAP 1.2 rules the schema does not check."""
    problems = []
    times = [("sent", alert.sent)]
    for info in alert.infos:
        times += [("effective", info.effective), ("onset", info.onset), ("expires", info.expires)]  # type: ignore[list-item]
    for name, value in times:
        if value is not None and not _DATETIME.fullmatch(value):
            problems.append(f"{name} {value!r}: CAP times need a numeric offset such as -06:00 (never Z)")
    if alert.msg_type in ("Update", "Cancel", "Ack", "Error") and not (alert.references or "").strip():
        problems.append(f"a {alert.msg_type} message must name the messages it changes in <references>")
    for ref in (alert.references or "").split():
        if ref.count(",") != 2:
            problems.append(f"reference {ref!r}: write sender,identifier,sent")
    if alert.scope == "Restricted" and not alert.restriction:
        problems.append("a Restricted alert needs <restriction>")
    if alert.scope == "Private" and not alert.addresses:
        problems.append("a Private alert needs <addresses>")
    for field_name, value in (("identifier", alert.identifier), ("sender", alert.sender)):
        if any(ch in value for ch in " ,<&"):
            problems.append(f"{field_name} must not contain spaces, commas, '<' or '&'")
    for info in alert.infos:
        for area in info.areas:
            for polygon in area.polygons:
                problem = _polygon_problem(polygon)
                if problem:
                    problems.append(problem)
            for circle in area.circles:
                if not re.fullmatch(r"-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?", circle):
                    problems.append(f"circle {circle!r}: write 'LAT,LON RADIUS'")
    return problems


def ipaws_problems(alert: CapAlert) -> list[str]:
    """The IPAWS-OPEN CAP 1.2 profile (v1.0) rules that crisisdesk output must meet."""
    problems = []
    if IPAWS_CODE not in alert.codes:
        problems.append(f"IPAWS needs <code>{IPAWS_CODE}</code>")
    if not alert.infos:
        problems.append("IPAWS needs at least one <info>")
    for info in alert.infos:
        lang = info.language or "en-US"
        same = [v for n, v in info.event_codes if n == "SAME"]
        if len(same) != 1:
            problems.append(f"{lang}: IPAWS needs exactly one SAME event code (found {len(same)})")
        elif not re.fullmatch(r"[A-Z]{3}", same[0]):
            problems.append(f"{lang}: SAME event code {same[0]!r} must be three capital letters")
        if not info.expires:
            problems.append(f"{lang}: IPAWS needs <expires>")
        params = dict(info.parameters)
        if "CMAMtext" in params and len(params["CMAMtext"]) > 90:
            problems.append(f"{lang}: CMAMtext is {len(params['CMAMtext'])} characters, over 90")
        if "CMAMlongtext" in params and len(params["CMAMlongtext"]) > 360:
            problems.append(f"{lang}: CMAMlongtext is {len(params['CMAMlongtext'])} characters, over 360")
        if "CMAMlongtext" in params and "CMAMtext" not in params:
            problems.append(f"{lang}: CMAMlongtext needs CMAMtext as well")
        if not info.areas:
            problems.append(f"{lang}: IPAWS needs at least one <area>")
        for area in info.areas:
            if not any(n == "SAME" for n, _ in area.geocodes):
                problems.append(f"{lang}: area {area.description!r} needs a SAME geocode")
            for name, value in area.geocodes:
                if name == "SAME" and not re.fullmatch(r"\d{6}", value):
                    problems.append(f"{lang}: SAME geocode {value!r} must be six digits")
    return problems


# -- from a rendered message ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapSettings:
    """What CAP needs from a playbook besides text."""

    category: str
    response: Mapping[str, str]
    urgency: str
    severity: str
    certainty: str
    same_event: str


def message_to_cap(
    *,
    identifier: str,
    sender: str,
    sent: datetime,
    tz: tzinfo,
    message_type: str,
    mode: str,
    settings: CapSettings,
    texts: Mapping[str, Mapping[str, str]],  # lang -> channel -> rendered text
    events: Mapping[str, str],
    sender_names: Mapping[str, str],
    facts: Mapping[str, tuple[FactType, str | None, Any]],  # name -> (type, role, value)
    references: Sequence[str] = (),
    ipaws: bool = False,
) -> CapAlert:
    expires_at = next((v for t, role, v in facts.values() if role == "expiry" and isinstance(v, datetime)), None)
    if message_type in ("cancel", "all-clear") or expires_at is None:
        expires_at = sent + timedelta(hours=1)
    web = next((v for t, role, v in facts.values() if t is FactType.URL and role == "source"), None)
    contact = next((v for t, role, v in facts.values() if t is FactType.PHONE and role == "source"), None)
    areas = [v for t, role, v in facts.values() if isinstance(v, Area)]
    finished = message_type in ("cancel", "all-clear")
    if message_type == "all-clear":
        response = "AllClear"
    else:
        response = settings.response.get(message_type) or settings.response.get("alert", "None")
    infos = []
    for lang, by_channel in texts.items():
        parameters = []
        if by_channel.get("wea-90"):
            parameters.append(("CMAMtext", by_channel["wea-90"]))
        if by_channel.get("wea-360"):
            parameters.append(("CMAMlongtext", by_channel["wea-360"]))
        infos.append(
            CapInfo(
                language=LANG_TAGS.get(lang, lang),
                categories=(settings.category,),
                event=events[lang],
                response_types=(response,),
                urgency="Past" if finished else settings.urgency,
                severity="Minor" if finished else settings.severity,
                certainty="Observed" if finished else settings.certainty,
                event_codes=(("SAME", settings.same_event),),
                expires=cap_time(expires_at, tz),
                sender_name=sender_names[lang],
                headline=by_channel.get("cap-headline"),
                description=by_channel.get("cap-description"),
                instruction=by_channel.get("cap-instruction"),
                web=web,
                contact=contact,
                parameters=tuple(parameters) if ipaws else (),
                areas=tuple(
                    CapArea(
                        description=a.description,
                        polygons=tuple(a.cap_polygons()),
                        circles=tuple(a.cap_circles()),
                        geocodes=a.geocodes,
                    )
                    for a in areas
                ),
            )
        )
    return CapAlert(
        identifier=identifier,
        sender=sender,
        sent=cap_time(sent, tz),
        status="Exercise" if mode == "exercise" else "Actual",
        msg_type=MSG_TYPES[message_type],
        scope="Public",
        codes=(IPAWS_CODE,) if ipaws else (),
        note="EXERCISE - not a real event" if mode == "exercise" else None,
        references=" ".join(references) or None,
        infos=tuple(infos),
    )

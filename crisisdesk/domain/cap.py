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


def _where(info: CapInfo) -> str:
    """How a finding names an <info> block: by its language (CAP's default is en-US)."""
    return f"info[{info.language or 'en-US'}]"


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _moment(value: str | None) -> datetime | None:
    """A CAP date-time as an aware datetime, or None when absent or not in CAP's form (reported on its own)."""
    if value is None or not _DATETIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _polygon_problem(text: str) -> str | None:
    points = text.split()
    for point in points:
        lat, sep, lon = point.partition(",")
        try:
            ok = bool(sep) and -90 <= float(lat) <= 90 and -180 <= float(lon) <= 180
        except ValueError:
            ok = False
        if not ok:
            return f"point {_shown(point, 30)} is not LAT,LON (latitude -90..90, longitude -180..180)"
    if len(points) < 4:
        return f"{_shown(text)} has {len(points)} points; a polygon needs at least 4 (the first repeated last)"
    if points[0] != points[-1]:
        return f"{_shown(text)} is not closed: its first and last points differ"
    return None


def reference_problem(reference: str) -> str | None:
    """What is wrong with one entry of <references> (``sender,identifier,sent``), or None."""
    parts = reference.split(",")
    if len(parts) != 3 or not all(parts):
        return f"{_shown(reference, 100)} is not sender,identifier,sent"
    if not _DATETIME.fullmatch(parts[2]):
        return (
            f"{_shown(reference, 100)}: its sent time {parts[2]!r} needs CAP's form, such as 2026-11-22T21:30:00-08:00"
        )
    return None


def rule_problems(alert: CapAlert) -> list[str]:
    """CAP 1.2 rules the schema does not check, for every profile. Each problem is one line naming the element."""
    problems = []
    times: list[tuple[str, str | None]] = [("sent", alert.sent)]
    for info in alert.infos:
        times += [(f"{_where(info)}/{n}", v) for n, v in (("effective", info.effective), ("onset", info.onset))]
        times.append((f"{_where(info)}/expires", info.expires))
    for name, value in times:
        if value is not None and not _DATETIME.fullmatch(value):
            problems.append(f"{name} {value!r}: CAP times need a numeric offset such as -08:00 (never Z)")
    sent = _moment(alert.sent)
    for info in alert.infos:
        expires = _moment(info.expires)
        if expires is None:
            continue
        if sent is not None and expires <= sent:
            problems.append(
                f"{_where(info)}/expires {info.expires} is not after sent {alert.sent}: the alert would be over "
                "before it is sent"
            )
        for name, value in (("effective", info.effective), ("onset", info.onset)):
            moment = _moment(value)
            if moment is not None and moment > expires:
                problems.append(f"{_where(info)}/{name} {value} is after expires {info.expires}")
    if alert.msg_type in ("Update", "Cancel", "Ack", "Error") and not (alert.references or "").strip():
        problems.append(f"references: a {alert.msg_type} message must name the messages it changes")
    for ref in (alert.references or "").split():
        problem = reference_problem(ref)
        if problem:
            problems.append(f"references: {problem}")
    if alert.scope == "Restricted" and not alert.restriction:
        problems.append("restriction: a Restricted alert needs <restriction>")
    if alert.scope == "Private" and not alert.addresses:
        problems.append("addresses: a Private alert needs <addresses>")
    for field_name, value in (("identifier", alert.identifier), ("sender", alert.sender)):
        if any(ch in value for ch in " ,<&"):
            problems.append(f"{field_name} {_shown(value)}: must not contain spaces, commas, '<' or '&'")
    for info in alert.infos:
        for area in info.areas:
            where = f"{_where(info)}/area {_shown(area.description, 30)}"
            for polygon in area.polygons:
                problem = _polygon_problem(polygon)
                if problem:
                    problems.append(f"{where}/polygon {problem}")
            for circle in area.circles:
                if not re.fullmatch(r"-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?", circle):
                    problems.append(f"{where}/circle {_shown(circle)}: write 'LAT,LON RADIUS'")
    return problems


# The IPAWS-OPEN parameters crisisdesk writes and checks. BLOCKCHANNEL keeps an alert off a dissemination
# channel: CMAS (Wireless Emergency Alerts), EAS (radio and television), NWEM (NOAA Weather Radio, non-weather
# emergency messages), PUBLIC (the public alert feed) and CAPEXCH (the exchange between alerting authorities).
EAS_ORIGINATORS = {"PEP": "Primary Entry Point", "CIV": "civil authorities", "WXR": "National Weather Service",
                   "EAS": "a broadcast station or cable system"}  # fmt: skip
BLOCK_CHANNELS = ("CMAS", "EAS", "NWEM", "PUBLIC", "CAPEXCH")
# WEAHandling as real IPAWS alerts carry it; an Imminent Threat must also meet the WEA urgency, severity and
# certainty test (Immediate or Expected, Extreme or Severe, Observed or Likely).
WEA_HANDLING = ("Imminent Threat", "Public Safety")
IMMINENT = ({"Immediate", "Expected"}, {"Extreme", "Severe"}, {"Observed", "Likely"})
WEA_LANGUAGES = ("en-US", "es-US")  # WEA carries English and Spanish
CMAM_LIMITS = {"CMAMtext": 90, "CMAMlongtext": 360}
# Senders that only stand in for a real one: IPAWS wants the sender its alerting authority was given.
_PLACEHOLDER_SENDER = re.compile(r"(?i).*(@|\.|^)(localhost|invalid)$")


def is_imminent(urgency: str, severity: str, certainty: str) -> bool:
    return urgency in IMMINENT[0] and severity in IMMINENT[1] and certainty in IMMINENT[2]


def _ipaws_parameter_problems(info: CapInfo) -> list[str]:
    where = f"{_where(info)}/parameter"
    problems = []
    counts: dict[str, int] = {}
    for name, _ in info.parameters:
        counts[name] = counts.get(name, 0) + 1
    values = {name: [v for n, v in info.parameters if n == name] for name in counts}
    eas_org = values.get("EAS-ORG", [])
    if not eas_org:
        problems.append(f"{where} EAS-ORG: IPAWS needs it (one of {', '.join(EAS_ORIGINATORS)}; CIV for a county)")
    elif len(eas_org) > 1:
        problems.append(f"{where} EAS-ORG: given {len(eas_org)} times; give it once")
    elif eas_org[0] not in EAS_ORIGINATORS:
        problems.append(f"{where} EAS-ORG {eas_org[0]!r}: not one of {', '.join(EAS_ORIGINATORS)}")
    for value in values.get("BLOCKCHANNEL", []):
        if value not in BLOCK_CHANNELS:
            problems.append(f"{where} BLOCKCHANNEL {value!r}: not one of {', '.join(BLOCK_CHANNELS)}")
    handling = values.get("WEAHandling", [])
    if len(handling) > 1:
        problems.append(f"{where} WEAHandling: given {len(handling)} times; give it once")
    for value in handling[:1]:
        if value not in WEA_HANDLING:
            problems.append(f"{where} WEAHandling {value!r}: not one of {', '.join(WEA_HANDLING)}")
        elif value == "Imminent Threat" and not is_imminent(info.urgency, info.severity, info.certainty):
            problems.append(
                f"{where} WEAHandling 'Imminent Threat': needs urgency Immediate or Expected, severity Extreme or "
                f"Severe and certainty Observed or Likely (this info is {info.urgency}, {info.severity}, "
                f"{info.certainty}); use 'Public Safety'"
            )
    for name, limit in CMAM_LIMITS.items():
        texts = values.get(name, [])
        if len(texts) > 1:
            problems.append(f"{where} {name}: given {len(texts)} times; give it once")
        for text in texts[:1]:
            if len(text) > limit:
                problems.append(f"{where} {name}: {len(text)} characters, over WEA's {limit}")
            if not text.strip():
                problems.append(f"{where} {name}: empty")
    if "CMAMlongtext" in counts and "CMAMtext" not in counts:
        problems.append(f"{where} CMAMlongtext: needs CMAMtext (the 90-character text) as well")
    if ("CMAMtext" in counts or "CMAMlongtext" in counts) and (info.language or "en-US") not in WEA_LANGUAGES:
        problems.append(f"{where} CMAMtext: WEA carries {' and '.join(WEA_LANGUAGES)} only, not {info.language}")
    return problems


def ipaws_problems(alert: CapAlert) -> list[str]:
    """The rules of the IPAWS-OPEN CAP 1.2 profile (v1.0) and of IPAWS-OPEN's parameters that a file can show.
    Each problem is one line naming the element."""
    problems = []
    if IPAWS_CODE not in alert.codes:
        problems.append(f"code: IPAWS needs <code>{IPAWS_CODE}</code>")
    if _PLACEHOLDER_SENDER.fullmatch(alert.sender):
        problems.append(
            f"sender {alert.sender!r}: a placeholder; IPAWS needs the sender your alerting authority was given "
            "(set it with 'crisisdesk settings agency --cap-sender')"
        )
    if not alert.infos and alert.msg_type != "Cancel":  # IPAWS takes a Cancel that names its references alone
        problems.append(f"info: IPAWS needs at least one <info> in a{'n' if alert.msg_type == 'Alert' else ''} "
                        f"{alert.msg_type} message")  # fmt: skip
    for info in alert.infos:
        where = _where(info)
        same = [v for n, v in info.event_codes if n == "SAME"]
        if len(same) != 1:
            problems.append(f"{where}/eventCode: IPAWS needs exactly one SAME event code (found {len(same)})")
        elif not re.fullmatch(r"[A-Z]{3}", same[0]):
            problems.append(f"{where}/eventCode SAME {same[0]!r}: must be three capital letters, such as FFW")
        if not info.expires:
            problems.append(f"{where}/expires: IPAWS needs <expires>")
        problems += _ipaws_parameter_problems(info)
        if not info.areas:
            problems.append(f"{where}/area: IPAWS needs at least one <area>")
        for area in info.areas:
            at = f"{where}/area {_shown(area.description, 30)}"
            same_codes = [v for n, v in area.geocodes if n == "SAME"]
            if not same_codes:
                problems.append(f"{at}/geocode: IPAWS needs a SAME geocode (the county's six-digit code)")
            for value in same_codes:
                if not re.fullmatch(r"\d{6}", value):
                    problems.append(f"{at}/geocode SAME {value!r}: must be six digits (PSSCCC), such as 006067")
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
    eas_org: str = "CIV"
    eas: bool | None = None  # meant for EAS and NOAA Weather Radio; None: when the alert is an imminent threat


@dataclass(frozen=True)
class IpawsChoice:
    """Which IPAWS channels one <info> is meant for, and how WEA handles it."""

    blocked: tuple[str, ...]
    wea_handling: str | None


def ipaws_choice(
    settings: CapSettings, *, mode: str, message_type: str, wea: bool, urgency: str, severity: str, certainty: str
) -> IpawsChoice:
    """The channels an alert is not meant for, and its WEAHandling (see playbooks/README.md, "CAP for IPAWS").

    - An exercise reaches no public channel: every one is blocked, whatever its status says to a receiver.
    - WEA (CMAS) only when the playbook sends WEA texts; EAS and NOAA Weather Radio (NWEM) only when the playbook
      means them (by default: an alert that meets the imminent-threat test), and never for an all-clear, which a
      broadcast would relay under the hazard's own event code as if it were a new warning. A cancel keeps the
      alert's channels, so whatever carried the alert can take it back.
    - The public feed (PUBLIC) and the exchange between alerting authorities (CAPEXCH) always carry a live alert.
    - WEAHandling: "Imminent Threat" when the info meets WEA's urgency, severity and certainty test, "Public
      Safety" otherwise; none for a child abduction (IPAWS sends CAE as an AMBER alert) or when WEA is blocked.
    """
    if mode == "exercise":
        return IpawsChoice(blocked=("CMAS", "EAS", "NWEM", "PUBLIC"), wea_handling=None)
    imminent = is_imminent(settings.urgency, settings.severity, settings.certainty)
    broadcast = (imminent if settings.eas is None else settings.eas) and message_type != "all-clear"
    blocked = [] if wea else ["CMAS"]
    if not broadcast:
        blocked += ["EAS", "NWEM"]
    handling = None
    if wea and settings.same_event != "CAE":
        handling = "Imminent Threat" if is_imminent(urgency, severity, certainty) else "Public Safety"
    return IpawsChoice(blocked=tuple(blocked), wea_handling=handling)


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
    wea: bool = True,  # the playbook sends WEA texts (wea-90, wea-360 among its channels)
    area_descriptions: Mapping[tuple[str, str], str] | None = None,  # (area fact, lang) -> its description there
) -> CapAlert:
    expires_at = next((v for t, role, v in facts.values() if role == "expiry" and isinstance(v, datetime)), None)
    if message_type in ("cancel", "all-clear") or expires_at is None:
        expires_at = sent + timedelta(hours=1)
    web = next((v for t, role, v in facts.values() if t is FactType.URL and role == "source"), None)
    contact = next((v for t, role, v in facts.values() if t is FactType.PHONE and role == "source"), None)
    areas = [(name, v) for name, (t, role, v) in facts.items() if isinstance(v, Area)]
    described = area_descriptions or {}
    finished = message_type in ("cancel", "all-clear")
    if message_type == "all-clear":
        response = "AllClear"
    else:
        response = settings.response.get(message_type) or settings.response.get("alert", "None")
    urgency = "Past" if finished else settings.urgency
    severity = "Minor" if finished else settings.severity
    certainty = "Observed" if finished else settings.certainty
    infos = []
    for lang, by_channel in texts.items():
        parameters: list[tuple[str, str]] = []
        if ipaws:
            pairs = (("CMAMtext", "wea-90"), ("CMAMlongtext", "wea-360"))
            cmam = [(n, by_channel[c]) for n, c in pairs if by_channel.get(c)] if wea else []
            choice = ipaws_choice(
                settings,
                mode=mode,
                message_type=message_type,
                wea=bool(cmam),
                urgency=urgency,
                severity=severity,
                certainty=certainty,
            )
            parameters.append(("EAS-ORG", settings.eas_org))
            parameters += [("BLOCKCHANNEL", channel) for channel in choice.blocked]
            if choice.wea_handling:
                parameters.append(("WEAHandling", choice.wea_handling))
            parameters += cmam
        infos.append(
            CapInfo(
                language=LANG_TAGS.get(lang, lang),
                categories=(settings.category,),
                event=events[lang],
                response_types=(response,),
                urgency=urgency,
                severity=severity,
                certainty=certainty,
                event_codes=(("SAME", settings.same_event),),
                expires=cap_time(expires_at, tz),
                sender_name=sender_names[lang],
                headline=by_channel.get("cap-headline"),
                description=by_channel.get("cap-description"),
                instruction=by_channel.get("cap-instruction"),
                web=web,
                contact=contact,
                parameters=tuple(parameters),
                areas=tuple(
                    CapArea(
                        description=described.get((name, lang), a.description),
                        polygons=tuple(a.cap_polygons()),
                        circles=tuple(a.cap_circles()),
                        geocodes=a.geocodes,
                    )
                    for name, a in areas
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

"""Parsers: bytes in, plain-text items out. A parser never sees a URL or a path, and never fetches anything.

XML goes through one hardened lxml parser: no DTD loading, no entity resolution, no network, no huge trees,
and a document that declares entities is refused outright (billion laughs, XXE). Every parser raises
:class:`ParseError` with a reason a person can act on, and nothing else, for any input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from lxml import etree

from crisisdesk.domain.clock import utc_iso
from crisisdesk.domain.feeds import (
    Item,
    SourceKind,
    severity_rank,
)
from crisisdesk.feeds.text import one_line, plain

MAX_ITEMS = 5_000  # per document: a source with more is cut here and says so


class ParseError(ValueError):
    """The body is not what the source's kind promises, or is refused. The message says why."""


_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
}
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE = re.compile(rb"<!DOCTYPE\s[^>\[]*(\[|>)", re.I)


def xml_root(body: bytes) -> etree._Element:
    if _ENTITY_DECL.search(body, 0, 65536):
        raise ParseError("the document declares XML entities, which are refused (an entity bomb or XXE)")
    doctype = _DOCTYPE.search(body, 0, 65536)
    if doctype:
        if doctype.group(1) == b"[":
            raise ParseError("the document carries an internal document type declaration, which is refused")
        # An external one (RSS 0.91's Netscape DTD) is never loaded: drop it rather than refuse the feed.
        body = body[: doctype.start()] + body[doctype.end() :]
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XML: {exc.msg}") from None
    except ValueError as exc:  # e.g. a declared encoding Python does not know
        raise ParseError(f"not readable as XML: {exc}") from None
    if root is None:
        raise ParseError("the document is empty")
    if root.getroottree().docinfo.internalDTD is not None:
        raise ParseError("the document carries a document type declaration, which is refused")
    return root


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _kids(el: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            yield tag.rpartition("}")[2], child


def _ns(el: etree._Element) -> str:
    tag = el.tag
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _inner(el: etree._Element) -> str:
    """An element's text, or for XHTML content its markup."""
    if len(el):
        return (el.text or "") + "".join(etree.tostring(c, encoding="unicode") for c in el)
    return el.text or ""


# -- identity ------------------------------------------------------------------------------------------

_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


def normal_url(url: str) -> str:
    """A URL as an identity: scheme and host lower-cased, default port, fragment and tracking parameters gone."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    if not parts.scheme or not parts.netloc:
        return url.strip()
    host = parts.netloc.lower()
    if (parts.scheme.lower(), host.rpartition(":")[2]) in (("http", "80"), ("https", "443")):
        host = host.rpartition(":")[0]
    query = "&".join(q for q in parts.query.split("&") if q and not q.lower().startswith(_TRACKING))
    path = parts.path.rstrip("/") or "/"
    # http and https copies of a page are one page
    return urlunsplit(("https" if parts.scheme.lower() == "http" else parts.scheme.lower(), host, path, query, ""))


def identity_of(*, guid: str | None, url: str | None, title: str, text: str) -> str:
    """For items with no identity of their own: the guid, else the link, else the words."""
    if guid and guid.strip():
        g = guid.strip()
        return "id|" + (normal_url(g) if "://" in g else g)
    if url and url.strip():
        return "url|" + normal_url(url)
    words = " ".join(f"{title} {text}".casefold().split())
    return "text|" + words


# -- dates -----------------------------------------------------------------------------------------------


def date(value: object) -> str | None:
    """RFC 3339, RFC 822 or epoch milliseconds to UTC ISO 8601; None for anything unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return utc_iso(datetime.fromtimestamp(value / 1000, tz=UTC))
        text = str(value).strip()
        if not text:
            return None
        iso = text[:4].isdigit()
        moment = datetime.fromisoformat(text.replace("z", "Z")) if iso else parsedate_to_datetime(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return utc_iso(moment)
    except (ValueError, TypeError, OverflowError, OSError, IndexError):
        return None


# -- CAP -------------------------------------------------------------------------------------------------

CAP_NAMESPACES = frozenset(
    {
        "urn:oasis:names:tc:emergency:cap:1.0",
        "urn:oasis:names:tc:emergency:cap:1.1",
        "urn:oasis:names:tc:emergency:cap:1.2",
        "http://www.incident.com/cap/1.0",
    }
)


def _points(text: str) -> tuple[tuple[float, float], ...]:
    points = []
    for pair in text.split():
        lat_s, _, lon_s = pair.partition(",")
        try:
            lat, lon = float(lat_s), float(lon_s)
        except ValueError:
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            points.append((lat, lon))
    return tuple(points)


def _circle(text: str) -> tuple[float, float, float] | None:
    centre, _, radius = text.strip().partition(" ")
    pts = _points(centre)
    try:
        r = float(radius)
    except ValueError:
        return None
    return (pts[0][0], pts[0][1], r) if pts and 0 <= r <= 20_000 else None


def _cap_fields(el: etree._Element) -> dict[str, str]:
    return {name: (child.text or "").strip() for name, child in _kids(el) if not len(child)}


def cap_item(alert: etree._Element, *, link: str | None = None) -> Item:
    head = _cap_fields(alert)
    infos = [child for name, child in _kids(alert) if name == "info"]
    # The English info first if there is one, else the first: the team reads English; every info's areas count.
    main = next((i for i in infos if _cap_fields(i).get("language", "en").lower().startswith("en")), None)
    main = main if main is not None else (infos[0] if infos else None)
    info = _cap_fields(main) if main is not None else {}
    polygons: list[tuple[tuple[float, float], ...]] = []
    circles: list[tuple[float, float, float]] = []
    areas: list[dict[str, Any]] = []
    severity: str | None = None
    for one in infos:
        sev = _cap_fields(one).get("severity")
        if sev and severity_rank(sev) > severity_rank(severity):
            severity = sev
        for name, area in _kids(one):
            if name != "area":
                continue
            desc, polys, circs, codes = "", [], [], []
            for field, value in _kids(area):
                text = (value.text or "").strip()
                if field == "areaDesc":
                    desc = text
                elif field == "polygon" and (pts := _points(text)) and len(pts) >= 3:
                    polys.append(pts)
                elif field == "circle" and (c := _circle(text)):
                    circs.append(c)
                elif field == "geocode":
                    f = _cap_fields(value)
                    codes.append((f.get("valueName", ""), f.get("value", "")))
            polygons.extend(polys)
            circles.extend(circs)
            if one is main:
                areas.append({"description": desc, "polygons": polys, "circles": circs, "geocodes": codes})
    msg_type = head.get("msgType", "")
    headline = info.get("headline") or info.get("event") or head.get("identifier", "CAP alert")
    prefix = "" if msg_type in ("", "Alert") else f"{msg_type}: "
    text = "\n\n".join(x for x in (info.get("description"), info.get("instruction")) if x) or head.get("note", "")
    web = info.get("web") or link
    identity = "cap|" + "|".join((head.get("sender", ""), head.get("identifier", ""), head.get("sent", "")))
    return Item(
        identity=identity,
        title=one_line(prefix + headline),
        text=plain(text),
        url=web,
        author=one_line(info.get("senderName") or head.get("sender")),
        published=date(head.get("sent")),
        lang=info.get("language"),
        polygons=tuple(polygons),
        circles=tuple(circles),
        severity=severity,
        event=info.get("event"),
        extra={
            "cap": {
                "identifier": head.get("identifier"),
                "sender": head.get("sender"),
                "sent": head.get("sent"),
                "status": head.get("status"),
                "msgType": msg_type,
                "references": head.get("references"),
                "event": info.get("event"),
                "urgency": info.get("urgency"),
                "severity": severity,
                "certainty": info.get("certainty"),
                "headline": info.get("headline"),
                "instruction": plain(info.get("instruction")),
                "expires": info.get("expires"),
                "areas": areas,
            }
        },
    )


# -- RSS, RDF and Atom -----------------------------------------------------------------------------------


def _atom_link(el: etree._Element) -> str | None:
    best = None
    for name, child in _kids(el):
        if name == "link":
            href = child.get("href") or (child.text or "").strip()
            if href and child.get("rel", "alternate") == "alternate":
                return href
            best = best or href
    return best


def _georss(fields: Mapping[str, etree._Element]) -> tuple[float | None, float | None, tuple[Any, ...]]:
    lat = lon = None
    polygons: tuple[Any, ...] = ()
    point = fields.get("point")
    if point is not None and point.text:
        parts = point.text.split()
        if len(parts) == 2:
            try:
                lat, lon = float(parts[0]), float(parts[1])
            except ValueError:
                lat = lon = None
    poly = fields.get("polygon")
    if poly is not None and poly.text:
        nums = poly.text.split()
        pts = _points(" ".join(f"{a},{b}" for a, b in zip(nums[::2], nums[1::2], strict=False)))
        if len(pts) >= 3:
            polygons = (pts,)
    if lat is None:
        geo_lat, geo_long = fields.get("lat"), fields.get("long")
        if geo_lat is not None and geo_long is not None:
            try:
                lat, lon = float(geo_lat.text or ""), float(geo_long.text or "")
            except ValueError:
                lat = lon = None
    if lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        lat = lon = None
    return lat, lon, polygons


def _entry(el: etree._Element, atom: bool) -> Item:
    fields: dict[str, etree._Element] = {}
    cap_index: dict[str, str] = {}
    alert = None
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag[0] == "{":
            ns, _, name = tag[1:].partition("}")
        else:
            ns, name = "", tag
        if ns in CAP_NAMESPACES:
            if name == "alert":
                alert = child
            else:
                cap_index[name] = (child.text or "").strip()
            continue
        if name == "content" and atom:
            for sub_name, sub in _kids(child):
                if sub_name == "alert":
                    alert = sub
        fields.setdefault(name, child)
    link = _atom_link(el) if atom else ((fields["link"].text or "").strip() if "link" in fields else None)
    if alert is not None:
        return cap_item(alert, link=link)

    def text_of(*names: str) -> tuple[str, bool]:
        for n in names:
            node = fields.get(n)
            if node is not None:
                raw = _inner(node)
                if raw.strip():
                    return raw, node.get("type", "html" if not atom else "text") != "text" or not atom
        return "", True

    title_raw, title_markup = text_of("title")
    body_raw, body_markup = text_of("content", "encoded", "summary", "description")
    title = one_line(title_raw, markup=title_markup)
    text = plain(body_raw, markup=body_markup)
    guid_node = fields.get("id") if atom else fields.get("guid")
    guid = (guid_node.text or "").strip() if guid_node is not None else None
    if not atom and not guid:
        about = el.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
        guid = about or None
    author = None
    for n in ("author", "creator"):
        node = fields.get(n)
        if node is not None:
            name_node = next((c for k, c in _kids(node) if k == "name"), None)
            author = one_line((name_node.text if name_node is not None else node.text) or "") or None
            break
    when = None
    for n in ("published", "pubDate", "date", "issued", "updated", "modified"):
        node = fields.get(n)
        if node is not None and (when := date(node.text)):
            break
    lat, lon, polygons = _georss(fields)
    severity = cap_index.get("severity") or None
    extra: dict[str, Any] = {}
    if cap_index:
        extra["cap"] = {k: cap_index.get(k) for k in ("event", "urgency", "severity", "certainty", "expires")}
        extra["cap"]["areas"] = [{"description": cap_index.get("areaDesc", ""), "polygons": [], "circles": []}]
        if (poly := cap_index.get("polygon")) and len(pts := _points(poly)) >= 3:
            polygons = (pts,)
            extra["cap"]["areas"][0]["polygons"] = [pts]
    return Item(
        identity=identity_of(guid=guid, url=link, title=title, text=text),
        title=title or one_line(text) or "(untitled)",
        text=text,
        url=link,
        author=author,
        published=when,
        lat=lat,
        lon=lon,
        polygons=polygons,
        severity=severity,
        event=cap_index.get("event") or None,
        extra=extra,
    )


def _feed_items(root: etree._Element) -> Iterator[Item]:
    name = _local(root.tag)
    if name == "feed":
        for n, child in _kids(root):
            if n == "entry":
                yield _entry(child, atom=True)
    elif name in ("rss", "RDF"):
        containers = [root] + [c for n, c in _kids(root) if n == "channel"]
        for container in containers:
            for n, child in _kids(container):
                if n == "item":
                    yield _entry(child, atom=False)
    elif name == "alert":
        yield cap_item(root)
    elif name in ("service_requests", "requests", "service_request", "request"):
        yield from _open311_xml(root)
    elif name == "errors":
        raise ParseError(f"the server answered with an error: {_open311_error(root)}")
    else:
        raise ParseError(f"<{name}> is not a feed: expected <rss>, <rdf:RDF>, <feed>, a CAP <alert> or Open311")


def parse_xml(body: bytes) -> list[Item]:
    return _bounded(_feed_items(xml_root(body)))


# -- Open311 ---------------------------------------------------------------------------------------------


def _open311_error(root: etree._Element) -> str:
    parts = []
    for _, err in _kids(root):
        f = _cap_fields(err)
        parts.append(f"{f.get('code', '?')} {f.get('description', '')}".strip())
    return "; ".join(parts) or "no details"


def _open311_item(r: Mapping[str, Any]) -> Item:
    def s(key: str) -> str:
        value = r.get(key)
        return "" if value is None or isinstance(value, dict | list) else str(value).strip()

    lat = lon = None
    try:
        lat, lon = float(s("lat")), float(s("long"))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            lat = lon = None
    except ValueError:
        lat = lon = None
    service = s("service_name") or s("service_code") or "Service request"
    status = s("status")
    where = s("address")
    title = " - ".join(x for x in (service, where) if x) + (f" ({status})" if status else "")
    text = "\n\n".join(x for x in (s("description"), s("status_notes")) if x)
    rid = s("service_request_id") or s("token")
    return Item(
        identity="open311|" + rid + "|" + s("requested_datetime")
        if rid
        else identity_of(guid=None, url=s("media_url") or None, title=title, text=text),
        title=one_line(title),
        text=plain(text),
        url=s("media_url") or None,
        author=None,
        published=date(s("requested_datetime")),
        lat=lat,
        lon=lon,
        event=service,
        public=True,
        extra={"open311": {"id": rid, "status": status, "service_code": s("service_code"), "address": where}},
    )


def _open311_xml(root: etree._Element) -> Iterator[Item]:
    name = _local(root.tag)
    requests = [root] if name in ("request", "service_request") else [c for n, c in _kids(root)]
    for r in requests:
        yield _open311_item(_cap_fields(r))


def parse_open311(body: bytes) -> list[Item]:
    if body.lstrip()[:1] == b"<":
        return parse_xml(body)
    data = _json(body)
    if isinstance(data, dict):
        if "errors" in data or ("code" in data and "description" in data):
            raise ParseError(f"the server answered with an error: {str(data)[:200]}")
        data = [data]
    if not isinstance(data, list):
        raise ParseError("Open311 JSON must be a list of service requests")
    return _bounded(_open311_item(r) for r in data if isinstance(r, dict))


# -- JSON kinds ------------------------------------------------------------------------------------------


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON: {exc}") from None


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def parse_jsonfeed(body: bytes) -> list[Item]:
    data = _json(body)
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise ParseError("not a JSON Feed: the 'version' must be https://jsonfeed.org/version/1 or 1.1")
    entries = data.get("items")
    if not isinstance(entries, list):
        raise ParseError("a JSON Feed needs an 'items' list")
    feed_author = _jf_author(data)

    def item(e: Mapping[str, Any]) -> Item:
        url = _str(e.get("url")) or _str(e.get("external_url"))
        title = one_line(_str(e.get("title")) or "", markup=False)
        if _str(e.get("content_text")):
            text = plain(e["content_text"], markup=False)
        else:
            text = plain(_str(e.get("content_html")) or _str(e.get("summary")) or "")
        raw_id = e.get("id")
        guid = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
        return Item(
            identity=identity_of(guid=guid, url=url, title=title, text=text),
            title=title or one_line(text) or "(untitled)",
            text=text,
            url=url,
            author=_jf_author(e) or feed_author,
            published=date(_str(e.get("date_published")) or _str(e.get("date_modified"))),
            lang=_str(e.get("language")),
        )

    return _bounded(item(e) for e in entries if isinstance(e, dict))


def _jf_author(d: Mapping[str, Any]) -> str | None:
    authors = d.get("authors")
    author = authors[0] if isinstance(authors, list) and authors else d.get("author")
    return one_line(_str(author.get("name")) or "") or None if isinstance(author, dict) else None


def _num(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return None


def parse_geojson(body: bytes) -> list[Item]:
    data = _json(body)
    if not isinstance(data, dict) or data.get("type") not in ("FeatureCollection", "Feature"):
        raise ParseError("not GeoJSON: expected a FeatureCollection")
    features = data.get("features") if data.get("type") == "FeatureCollection" else [data]
    if not isinstance(features, list):
        raise ParseError("a FeatureCollection needs a 'features' list")
    return _bounded(_feature(f) for f in features if isinstance(f, dict))


def _feature(f: Mapping[str, Any]) -> Item:
    props, geom = _obj(f.get("properties")), _obj(f.get("geometry"))
    lat = lon = None
    polygons: list[tuple[tuple[float, float], ...]] = []
    coords = geom.get("coordinates")
    if geom.get("type") == "Point" and isinstance(coords, list) and len(coords) >= 2:
        x, y = _num(coords[0]), _num(coords[1])
        if x is not None and y is not None and -90 <= y <= 90 and -180 <= x <= 180:
            lat, lon = y, x
    elif geom.get("type") in ("Polygon", "MultiPolygon") and isinstance(coords, list):
        rings = coords if geom["type"] == "Polygon" else [p[0] for p in coords if isinstance(p, list) and p]
        for ring in rings[:1] if geom["type"] == "Polygon" else rings:
            if isinstance(ring, list):
                pts = tuple(
                    (float(p[1]), float(p[0]))
                    for p in ring
                    if isinstance(p, list) and len(p) >= 2 and _num(p[0]) is not None and _num(p[1]) is not None
                )
                if len(pts) >= 3:
                    polygons.append(pts)
    magnitude = _num(props.get("mag"))
    event = _str(props.get("event")) or _str(props.get("type"))
    title = _str(props.get("headline")) or _str(props.get("title")) or _str(props.get("place")) or event or ""
    text = "\n\n".join(x for x in (_str(props.get("description")), _str(props.get("instruction"))) if x)
    if not text and _str(props.get("place")):
        text = f"{props.get('place')}" + (f", magnitude {magnitude:g}" if magnitude is not None else "")
    fid = f.get("id") if isinstance(f.get("id"), str | int) else props.get("@id") or props.get("id")
    url = _str(props.get("url")) or _str(props.get("@id")) or (_str(fid) if isinstance(fid, str) else None)
    severity = _str(props.get("severity"))
    extra: dict[str, Any] = {}
    if severity or props.get("messageType"):
        extra["cap"] = {
            "identifier": _str(props.get("id")),
            "sender": _str(props.get("sender")),
            "sent": _str(props.get("sent")),
            "msgType": _str(props.get("messageType")),
            "event": event,
            "urgency": _str(props.get("urgency")),
            "severity": severity,
            "certainty": _str(props.get("certainty")),
            "headline": _str(props.get("headline")),
            "instruction": plain(_str(props.get("instruction"))),
            "expires": _str(props.get("expires")) or _str(props.get("ends")),
            "areas": [{"description": _str(props.get("areaDesc")) or "", "polygons": polygons, "circles": []}],
        }
    return Item(
        identity="geo|" + str(fid)
        if fid not in (None, "")
        else identity_of(guid=None, url=url, title=title, text=text),
        title=one_line(title) or "(untitled)",
        text=plain(text),
        url=url,
        author=_str(props.get("senderName")) or _str(props.get("net")),
        published=date(props.get("time") if props.get("time") is not None else _str(props.get("sent"))),
        lat=lat,
        lon=lon,
        polygons=tuple(polygons),
        severity=severity,
        magnitude=magnitude,
        event=event,
        extra=extra,
    )


def parse_mastodon(body: bytes) -> list[Item]:
    data = _json(body)
    if isinstance(data, dict) and isinstance(data.get("statuses"), list):
        data = data["statuses"]  # /api/v2/search
    if isinstance(data, dict) and "error" in data:
        raise ParseError(f"the server answered with an error: {str(data['error'])[:200]}")
    if not isinstance(data, list):
        raise ParseError("not a Mastodon timeline: expected a list of statuses (or a search result)")
    return _bounded(_status(s) for s in data if isinstance(s, dict))


def _status(s: Mapping[str, Any]) -> Item:
    if isinstance(s.get("reblog"), dict):
        s = s["reblog"]
    account = _obj(s.get("account"))
    text = plain(_str(s.get("content")) or "")
    spoiler = one_line(_str(s.get("spoiler_text")) or "")
    uri = _str(s.get("uri")) or _str(s.get("url")) or str(s.get("id", ""))
    return Item(
        identity="post|" + normal_url(uri),
        title=spoiler or one_line(text, limit=140) or "(no text)",
        text=text,
        url=_str(s.get("url")) or _str(s.get("uri")),
        author="@" + (_str(account.get("acct")) or _str(account.get("username")) or "unknown"),
        published=date(_str(s.get("created_at"))),
        lang=_str(s.get("language")),
        public=True,
        extra={"display_name": one_line(_str(account.get("display_name")) or "")},
    )


def parse_bluesky(body: bytes) -> list[Item]:
    data = _json(body)
    if isinstance(data, dict) and "error" in data and "posts" not in data:
        raise ParseError(f"the server answered with an error: {data.get('error')}: {str(data.get('message'))[:200]}")
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list):
        raise ParseError("not a Bluesky search result: expected an object with a 'posts' list")
    return _bounded(_post(p) for p in posts if isinstance(p, dict))


def _post(p: Mapping[str, Any]) -> Item:
    record, author = _obj(p.get("record")), _obj(p.get("author"))
    text = plain(_str(record.get("text")) or "", markup=False)
    uri = _str(p.get("uri")) or ""
    handle = _str(author.get("handle")) or _str(author.get("did")) or "unknown"
    rkey = uri.rpartition("/")[2]
    langs = record.get("langs")
    return Item(
        identity="post|" + uri,
        title=one_line(text, limit=140, markup=False) or "(no text)",
        text=text,
        url=f"https://bsky.app/profile/{handle}/post/{rkey}" if uri.startswith("at://") and rkey else None,
        author="@" + handle,
        published=date(_str(record.get("createdAt")) or _str(p.get("indexedAt"))),
        lang=str(langs[0]) if isinstance(langs, list) and langs else None,
        public=True,
        extra={"display_name": one_line(_str(author.get("displayName")) or "")},
    )


def _bounded(items: Iterable[Item]) -> list[Item]:
    out: list[Item] = []
    for item in items:
        out.append(item)
        if len(out) >= MAX_ITEMS:
            break
    return out


# -- dispatch --------------------------------------------------------------------------------------------

PARSERS: dict[SourceKind, Callable[[bytes], list[Item]]] = {
    SourceKind.RSS: parse_xml,
    SourceKind.ATOM: parse_xml,
    SourceKind.CAP: parse_xml,
    SourceKind.JSONFEED: parse_jsonfeed,
    SourceKind.GEOJSON: parse_geojson,
    SourceKind.OPEN311: parse_open311,
    SourceKind.MASTODON: parse_mastodon,
    SourceKind.BLUESKY: parse_bluesky,
}


def sniff(body: bytes) -> SourceKind:
    """What a file dropped into a watched folder is, from its first bytes."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096]
    if head.startswith(b"<"):
        return SourceKind.CAP  # the XML parser reads RSS, Atom, CAP and Open311 by their root element
    if head.startswith((b"{", b"[")):
        if b"jsonfeed.org/version" in head:
            return SourceKind.JSONFEED
        if b"FeatureCollection" in head or b'"Feature"' in head:
            return SourceKind.GEOJSON
        if b"service_request_id" in head:
            return SourceKind.OPEN311
        if b'"posts"' in head:
            return SourceKind.BLUESKY
        if b'"account"' in body[:65536] or b'"statuses"' in head:
            return SourceKind.MASTODON
        raise ParseError("a JSON file of no known kind (JSON Feed, GeoJSON, Open311, Mastodon or Bluesky)")
    raise ParseError("neither XML nor JSON")


def parse(kind: SourceKind, body: bytes) -> list[Item]:
    """Items from one document. Raises ParseError, and only ParseError, for anything it cannot read."""
    if not body.strip():
        raise ParseError("the body is empty")
    if kind is SourceKind.FOLDER:
        kind = sniff(body)
    try:
        items = PARSERS[kind](body)
    except ParseError:
        raise
    except RecursionError:
        raise ParseError("the document is nested too deeply") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, etree.LxmlError) as exc:
        raise ParseError(f"unreadable {kind} document: {type(exc).__name__}: {exc}"[:300]) from None
    return items

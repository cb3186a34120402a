"""Where a channel account's messages land, as keys that compare equal when two accounts reach the same people.

An EXERCISE account must never share a destination with a LIVE one (the Hawaii 2018 lesson), and a destination
can be spelt many ways: ``http://127.0.0.1:8080/hook`` and ``http://localhost:8080/./hook/``, ``B@X.gov`` and
``b+drill@x.gov.``, ``+1 555 000 1234`` and ``(555) 000-1234``, an Apprise ``json://`` URL and a webhook. Each
spelling is brought to one key here, and keys are compared across kinds (an Apprise URL that posts to a live
webhook shares its destination). Folders are compared by the service, which resolves them on disk.

The domain does no I/O, so host names are not resolved: two names for one server are only caught when they are
loopback names. That is the limit of a check that must work offline.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from dataclasses import dataclass

from crisisdesk.domain.accounts import Account, AccountKind

# scheme://userinfo@host:port/path?query#fragment, loosely: anything odd is compared as written.
_URL = re.compile(
    r"^\s*(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*):)?//(?:[^/?#@]*@)?"
    r"(?P<host>\[[^\]]*\]|[^/?#:]*)(?::(?P<port>\d*))?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?"
)
# Apprise's schemes that post to a web address, and which web scheme each means.
_WEB_SCHEMES = {"http": "http", "https": "https", "json": "http", "jsons": "https", "form": "http", "forms": "https"}
_WEB_SCHEMES |= {"xml": "http", "xmls": "https"}
_DEFAULT_PORT = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


@dataclass(frozen=True, slots=True)
class Destination:
    key: str  # compared
    shown: str  # said in a refusal (never a secret)


def _percent(text: str) -> str:
    """Percent-escapes of unreserved characters decoded, the others in upper case (RFC 3986, 6.2.2)."""

    def one(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else f"%{m.group(1).upper()}"

    return re.sub(r"%([0-9A-Fa-f]{2})", one, text)


def _unquote(text: str) -> str:
    """Every percent-escape decoded as UTF-8 (for host names, where an escape can only mean a character)."""
    data = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8"))
    return data.decode("utf-8", "replace")


def _host(raw: str) -> str:
    host = _unquote(raw).strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    with contextlib.suppress(ValueError):
        address = ipaddress.IPv4Address(int(host)) if host.isdigit() else ipaddress.ip_address(host)
    if address is not None:
        if address.is_loopback or address.is_unspecified:
            return "loopback"
        return address.compressed
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return "loopback"
    try:
        return ".".join(label.encode("idna").decode("ascii") if label else "" for label in host.split("."))
    except UnicodeError:
        return host


def _path(raw: str) -> str:
    """Dot segments removed, repeated and trailing slashes dropped, escapes normalised."""
    out: list[str] = []
    for segment in _percent(raw).split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out)


def web_key(value: str) -> str | None:
    """A web address as a destination key, or None when it is not one (http(s), or Apprise's json/form/xml).

    http and https count as one destination: the same server and path, whichever way it is reached."""
    m = _URL.match(value)
    if m is None:
        return None
    scheme = _WEB_SCHEMES.get((m.group("scheme") or "").lower())
    if scheme is None:
        return None
    port = int(m.group("port")) if m.group("port") else _DEFAULT_PORT[scheme]
    host = _host(m.group("host"))
    shown_port = "" if port in (80, 443) else f":{port}"
    query = "&".join(sorted(_percent(p) for p in (m.group("query") or "").split("&") if p))
    return f"web:{host}{shown_port}{_path(m.group('path'))}" + (f"?{query}" if query else "")


def email_key(value: str) -> str | None:
    """An email address as a destination key: display name and +tag dropped, case and trailing dot ignored."""
    text = value.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1]
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or not domain:
        return None
    local = local.split("+", 1)[0].casefold()
    return f"email:{local}@{_host(domain)}"


def phone_key(value: str) -> str | None:
    """A phone number as a destination key: its last ten digits (a national and an international spelling of
    one number agree; '00' and '+' prefixes drop out)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 5:
        return None
    return f"tel:{digits[-10:]}"


def _apprise(url: str) -> set[Destination]:
    """Where an Apprise URL delivers, as far as it can be told: web hooks and email; else the URL itself."""
    web = web_key(url)
    if web is not None:
        return {Destination(web, "the address in its Apprise URL")}
    m = re.match(r"^\s*(mailtos?)://(?:([^:/?#@]*)(?::[^/?#@]*)?@)?([^/?#:]*)[^?]*(?:\?(.*))?$", url, re.I)
    if m:
        found: set[Destination] = set()
        for param in (m.group(4) or "").split("&"):
            key, _, value = param.partition("=")
            if key.lower() in ("to", "cc", "bcc"):
                for address in re.split(r"[,\s]+", _percent(value)):
                    if (k := email_key(address)) is not None:
                        found.add(Destination(k, "a recipient in its Apprise URL"))
        if not found and m.group(2) and (k := email_key(f"{m.group(2)}@{m.group(3)}")) is not None:
            found.add(Destination(k, "the recipient in its Apprise URL"))
        if found:
            return found
    return {Destination("apprise:" + url.strip().rstrip("/").casefold(), "its Apprise URL")}


def destinations(account: Account, *, secret: str | None = None) -> frozenset[Destination]:
    """Where ``account``'s messages land. ``secret`` is needed where the secret names the destination (an Apprise
    URL) or tells accounts on one server apart (a Mastodon token, compared by a digest the caller makes)."""
    kind = account.kind
    found: set[Destination] = set()

    def add(key: str | None, shown: str) -> None:
        if key is not None:
            found.add(Destination(key, shown))

    if kind is AccountKind.EMAIL:
        for x in re.split(r"[,;]", account.setting("to")):
            if x.strip():
                add(email_key(x), x.strip())
    elif kind is AccountKind.SMS:
        for x in account.setting("to").split(","):
            if x.strip():
                add(phone_key(x), x.strip())
        gateway = web_key(account.setting("base_url")) or account.setting("base_url")
        for x in account.setting("from").split(","):
            if (k := phone_key(x)) is not None:
                add(f"sms-from:{gateway}:{k}", f"the sending number {x.strip()}")
    elif kind is AccountKind.WEBHOOK:
        url = account.setting("url")
        add(web_key(url) or f"url:{url.strip()}", url.strip())
    elif kind is AccountKind.MATRIX:
        room = account.setting("room").strip()
        # A room id names one room wherever it is reached from; an alias is compared as a name.
        add(f"matrix-room:{room}" if room.startswith("!") else f"matrix-alias:{room.casefold()}", f"the room {room}")
    elif kind is AccountKind.BLUESKY:
        handle = account.setting("handle").strip().lstrip("@").rstrip(".").casefold()
        add(f"bluesky:{handle}", f"the handle {handle}")
    elif kind is AccountKind.MASTODON and secret:
        server = web_key(account.setting("base_url")) or account.setting("base_url")
        add(f"mastodon:{server}:{secret}", "the same Mastodon account (same server and token)")
    elif kind is AccountKind.APPRISE and secret:
        found |= _apprise(secret)
    return frozenset(found)


def shared(a: frozenset[Destination], b: frozenset[Destination]) -> Destination | None:
    """One destination the two sets share (the first by key), or None."""
    keys = {d.key for d in b}
    common = sorted((d for d in a if d.key in keys), key=lambda d: d.key)
    return common[0] if common else None

"""Where a channel account's messages land, as keys that compare equal when two accounts reach the same people.

An EXERCISE account must never share a destination with a LIVE one (the Hawaii 2018 lesson), and a destination
can be spelt many ways: ``http://127.0.0.1:8080/hook`` and ``http://localhost:8080/./hook/``, ``B@X.gov`` and
``b+drill@x.gov.``, ``+1 555 000 1234`` and ``(555) 000-1234``, an Apprise ``json://`` URL and a webhook. Each
spelling is brought to one key here, and keys are compared across kinds (an Apprise URL that posts to a live
webhook shares its destination). Folders are compared by the service, which resolves them on disk.

The domain does no I/O, so names are not resolved: two host names for one server are only caught when they are
loopback names; a second Mastodon token for the same account, a Bluesky DID for a handle, a Matrix alias for a
room id are not caught. That is the limit of a check that must work offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
from dataclasses import dataclass

import idna

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


def _ipv4(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address in any form a resolver takes (inet_aton): 127.0.0.1, 127.1, 2130706433, 0177.0.0.1, 0x7f.1."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        try:
            numbers.append(int(part, 16) if part.startswith(("0x", "0X")) else int(part, 8 if part[:1] == "0" else 10))
        except ValueError:
            return None
    *leading, last = numbers  # each leading part is one byte from the top; the last fills what they leave
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        return None
    value = sum(n << (24 - 8 * i) for i, n in enumerate(leading)) + last
    with contextlib.suppress(ValueError):
        return ipaddress.IPv4Address(value)
    return None


def _host(raw: str) -> str:
    host = _unquote(raw).strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = _ipv4(host)
    if address is None:
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address is not None:
        if address.is_loopback or address.is_unspecified:
            return "loopback"
        return address.compressed
    # IDNA 2008 with UTS 46 mapping, as the HTTP client resolves it (straße stays straße, fullwidth folds).
    with contextlib.suppress(idna.IDNAError, UnicodeError):
        host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return "loopback"
    return host


def _path(raw: str) -> str:
    """Dot segments removed, repeated and trailing slashes dropped, escapes normalised.

    Compared the way the most lenient server would route it, since two spellings one server takes for the same path
    are one destination: an escaped slash (%2F, %5C) and a backslash are slashes (Flask and Django decode before
    routing; Apprise takes a backslash), ``;parameters`` are dropped (Java servers do), and case is ignored (IIS
    does). Over-matching only refuses an exercise account that might reach a live receiver."""
    decoded = re.sub(r"%(2[Ff]|5[Cc])", "/", raw).replace("\\", "/")
    out: list[str] = []
    for written in _percent(decoded).split("/"):
        segment = written.split(";", 1)[0].lower()
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

    http and https on their own default ports count as one destination: the same server and path, whichever way
    it is reached. The query is left out: a receiver reached with ``?drill=1`` is still that receiver (and Apprise
    reads its own options from there)."""
    m = _URL.match(value)
    if m is None:
        return None
    scheme = _WEB_SCHEMES.get((m.group("scheme") or "").lower())
    if scheme is None:
        return None
    port = int(m.group("port")) if m.group("port") else _DEFAULT_PORT[scheme]
    host = _host(m.group("host"))
    shown_port = "" if port == _DEFAULT_PORT[scheme] else f":{port}"
    return f"web:{host}{shown_port}{_path(m.group('path'))}"


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
    """A phone number as a destination key: ``tel:+DIGITS`` when it is international (``+`` or ``00``), else
    ``tel:DIGITS`` without the trunk 0. Two keys name one number when they are equal, or when a national one
    ends an international one after at most a three-digit country code (see ``_same``)."""
    text = value.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 5:
        return None
    if text.startswith("+"):
        return f"tel:+{digits}"
    if digits.startswith("00"):
        return f"tel:+{digits[2:]}"
    return f"tel:{digits.lstrip('0')}"


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    if not (a.startswith("tel:") and b.startswith("tel:")):
        return False
    x, y = a[4:], b[4:]
    if x.startswith("+") and y.startswith("+"):
        return False  # both international and different
    x, y = x.lstrip("+"), y.lstrip("+")
    short, long = sorted((x, y), key=len)
    return long.endswith(short) and len(long) - len(short) <= 3 and len(short) >= 7


def token_digest(token: str) -> str:
    """What names a Mastodon account where only its token does (compared, never shown)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()[:16]


def _apprise(secret: str) -> set[Destination]:
    """Where an Apprise URL (or several, as Apprise takes them, separated by commas or spaces) delivers, as far
    as it can be told offline: web hooks, mailboxes, Matrix rooms, phone numbers, Mastodon accounts; else each
    URL itself."""
    found: set[Destination] = set()
    for url in (u for u in re.split(r"[,\s]+", secret.strip()) if u):
        found |= _one_apprise(url)
    return found


def _one_apprise(url: str) -> set[Destination]:
    shown = "the destination in its Apprise URL"
    web = web_key(url)
    if web is not None:
        return {Destination(web, shown)}
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(?:([^/?#@]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?", url)
    if m is None:
        return {Destination("apprise:" + url.rstrip("/").casefold(), shown)}
    scheme, userinfo, host, path, query = m.group(1).lower(), m.group(2) or "", m.group(3), m.group(4), m.group(5)
    params = [p.partition("=") for p in (query or "").split("&") if p]
    pieces = [_unquote(x) for x in path.split("/") if x]
    found: set[Destination] = set()
    if scheme in ("mailto", "mailtos"):
        named = [v for k, _, v in params if k.lower() in ("to", "cc", "bcc")] + pieces
        for address in (a for v in named for a in re.split(r"[,\s]+", _unquote(v)) if a):
            if (k := email_key(address)) is not None:
                found.add(Destination(k, shown))
        user = userinfo.split(":", 1)[0]
        if not found and user and (k := email_key(f"{_unquote(user)}@{_unquote(host)}")) is not None:
            found.add(Destination(k, shown))
    elif scheme in ("matrix", "matrixs"):
        for room in [*pieces, *(v for k, _, v in params if k.lower() in ("to", "room", "rooms"))]:
            for name in (x for x in re.split(r"[,\s]+", _unquote(room)) if x):
                r = name if name[:1] in "!#" else f"#{name}"
                found.add(Destination(f"matrix-room:{r}" if r[0] == "!" else f"matrix-alias:{r.casefold()}", shown))
    elif scheme in ("twilio", "sns", "clicksend", "msg91", "bulksms", "d7sms", "nexmo", "vonage", "sinch", "plivo"):
        for number in [*pieces, *(v for k, _, v in params if k.lower() in ("to", "from", "source"))]:
            for n in re.split(r"[,\s]+", _unquote(number)):
                if len("".join(ch for ch in n if ch.isdigit())) >= 7 and (k := phone_key(n)) is not None:
                    found.add(Destination(k, shown))
    elif scheme in ("mastodon", "mastodons", "toot", "toots") and userinfo:
        server = web_key(f"https://{host}") or host.casefold()
        found.add(Destination(f"mastodon:{server}:{token_digest(_unquote(userinfo.split(':')[-1]))}", shown))
    return found or {Destination("apprise:" + url.rstrip("/").casefold(), shown)}


def destinations(account: Account, *, secret: str | None = None) -> frozenset[Destination]:
    """Where ``account``'s messages land. ``secret`` is needed where the secret names the destination (an Apprise
    URL) or tells accounts on one server apart (a Mastodon token, compared by its digest, never shown)."""
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
        add(f"mastodon:{server}:{token_digest(secret)}", "the same Mastodon account (same server and token)")
    elif kind is AccountKind.APPRISE and secret:
        found |= _apprise(secret)
    return frozenset(found)


def shared(a: frozenset[Destination], b: frozenset[Destination]) -> Destination | None:
    """One destination the two sets share (the first by key), or None."""
    common = sorted((d for d in a if any(_same(d.key, e.key) for e in b)), key=lambda d: d.key)
    return common[0] if common else None

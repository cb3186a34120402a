"""Channel text rules: every channel's length counted in its own unit.

- SMS: GSM 03.38 7-bit septets (extension characters count two) or, if one character is outside GSM-7,
  UCS-2 code units for the whole message; segments of 160/153 septets or 70/67 units.
- WEA: 90 and 360 characters.
- X: twitter-text v3 weighted length (per code point after NFC: weight 1 inside the config's ranges,
  2 outside, so CJK and emoji count 2; every URL counts 23).
- Mastodon: characters, every URL counting 23, per-instance limit (500 by default).
- Bluesky: 300 grapheme clusters.
- Facebook: 63,206 characters; posts fold behind "See more" after about 477.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

import regex

from crisisdesk.domain.choices import parse_choice

# -- GSM 03.38 ---------------------------------------------------------------------------------------------

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SMS_GSM7_SINGLE, SMS_GSM7_PART = 160, 153
SMS_UCS2_SINGLE, SMS_UCS2_PART = 70, 67


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def gsm7_septets(text: str) -> int:
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def ucs2_units(text: str) -> int:
    """UTF-16 code units: characters beyond the Basic Multilingual Plane take two."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def sms_segments(units: int, gsm7: bool) -> int:
    single, part = (SMS_GSM7_SINGLE, SMS_GSM7_PART) if gsm7 else (SMS_UCS2_SINGLE, SMS_UCS2_PART)
    if units == 0:
        return 0
    if units <= single:
        return 1
    return -(-units // part)


# -- URLs (for X and Mastodon, which count each link as 23) ------------------------------------------------

# Top-level domains X links without a scheme (a working subset of twitter-text's list).
_TLDS = frozenset(
    """
    com net org gov edu mil int info biz name pro aero coop museum mobi asia tel travel jobs cat app dev io ai
    co me tv us uk ca mx es fr de it nl be ch at se no dk fi ie pt pl cz ru ua jp cn kr tw hk sg in au nz br ar
    cl pe za ng ke eg il tr gr ro hu bg rs hr si sk lt lv ee is lu li mt cy pr gu vi ly to ws cc fm la health
    news online site website page link live community city county state emergency alert
    """.split()
)
_URL = regex.compile(
    r"(?<![\w@.])(?P<scheme>https?://)?"
    r"(?P<host>(?:[\p{L}\p{N}](?:[\p{L}\p{N}_-]*[\p{L}\p{N}])?\.)+(?P<tld>\p{L}{2,63}))"
    r"(?P<port>:\d{1,5})?"
    r"(?P<path>/[^\s]*)?",
    regex.IGNORECASE,
)
_TRAILING_PUNCT = ".,;:!?)]}'\""


def _label_ok(label: str) -> bool:
    if not label or label.startswith("-") or label.endswith("-") or "_" in label:
        return False
    if label.isascii():
        return len(label) <= 63
    try:
        return len("xn--" + label.encode("punycode").decode("ascii")) <= 63
    except UnicodeError:
        return False


@dataclass(frozen=True, slots=True)
class UrlSpan:
    start: int
    end: int
    text: str
    https: bool
    has_scheme: bool


def find_urls(text: str) -> list[UrlSpan]:
    """Links as X and Mastodon see them: with a scheme, or a bare domain with a known top-level domain."""
    return list(_find_urls(text))


# Lint asks twice for the same text and the composer once more, on every keystroke: the scan of a long text is the
# costliest part of it, so the last few answers are kept.
@functools.lru_cache(maxsize=8)
def _find_urls(text: str) -> tuple[UrlSpan, ...]:
    spans = []
    for m in _URL.finditer(text):
        scheme, host, tld = m.group("scheme"), m.group("host"), m.group("tld")
        if not scheme and tld.lower() not in _TLDS:
            continue
        labels = host.split(".")
        if scheme:  # underscores are allowed in subdomains with a scheme, not in the registrable part
            registrable = labels[-2:]
            if not all(_label_ok(label) for label in registrable) or not all(
                _label_ok(label.replace("_", "a")) for label in labels[:-2]
            ):
                continue
        elif not all(_label_ok(label) for label in labels):
            continue
        start, end = m.start(), m.end()
        while end > start and text[end - 1] in _TRAILING_PUNCT and m.group("path"):
            end -= 1
        spans.append(UrlSpan(start, end, text[start:end], (scheme or "").lower() == "https://", bool(scheme)))
    return tuple(spans)


# -- X (twitter-text v3) -----------------------------------------------------------------------------------

X_MAX_WEIGHTED = 280
X_SCALE = 100
X_DEFAULT_WEIGHT = 200
X_URL_LENGTH = 23
X_RANGES = ((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100))


def _x_weight(ch: str) -> int:
    cp = ord(ch)
    for start, end, weight in X_RANGES:
        if start <= cp <= end:
            return weight
    return X_DEFAULT_WEIGHT


def x_weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    total, pos = 0, 0
    for url in find_urls(text):
        total += sum(_x_weight(ch) for ch in text[pos : url.start])
        total += X_URL_LENGTH * X_SCALE
        pos = url.end
    total += sum(_x_weight(ch) for ch in text[pos:])
    return total // X_SCALE


def x_valid(text: str) -> bool:
    return bool(text.strip()) and x_weighted_length(text) <= X_MAX_WEIGHTED


# -- Mastodon, Bluesky ------------------------------------------------------------------------------------

MASTODON_URL_LENGTH = 23
_MASTODON_MENTION = re.compile(r"(?<![\w/])@(\w+)@[\w.-]+\w")


def mastodon_length(text: str) -> int:
    """Characters, with every link counting 23 and a remote mention counting only its user name."""
    pos, total = 0, 0
    for url in find_urls(text):
        if not url.has_scheme:
            continue  # Mastodon links only URLs with a scheme
        total += len(_MASTODON_MENTION.sub(r"@\1", text[pos : url.start])) + MASTODON_URL_LENGTH
        pos = url.end
    return total + len(_MASTODON_MENTION.sub(r"@\1", text[pos:]))


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


# -- channels -----------------------------------------------------------------------------------------------


class Channel(StrEnum):
    SMS = "sms"
    WEA_90 = "wea-90"
    WEA_360 = "wea-360"
    X = "x"
    MASTODON = "mastodon"
    BLUESKY = "bluesky"
    FACEBOOK = "facebook"
    EMAIL_SUBJECT = "email-subject"
    EMAIL_BODY = "email-body"
    WEB = "web"
    CAP_HEADLINE = "cap-headline"
    CAP_DESCRIPTION = "cap-description"
    CAP_INSTRUCTION = "cap-instruction"

    @classmethod
    def parse(cls, text: str) -> Channel:
        return parse_choice(cls, text, "channel")


SMS_MAX_SEGMENTS = 4  # a channel default: long enough for a Spanish alert in UCS-2 (268 units)
FACEBOOK_FOLD = 477
EMAIL_SUBJECT_COMFORT = 78
CAP_HEADLINE_LIMIT = 160  # CAP 1.2: "SHOULD be less than 160 characters"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str  # "error" blocks approval; "warning" must be looked at; "info" is for reference
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass(frozen=True, slots=True)
class Measure:
    channel: str
    length: int
    unit: str
    limit: int
    segments: int = 1
    encoding: str = "unicode"
    findings: tuple[Finding, ...] = field(default=())

    @property
    def over(self) -> bool:
        return self.length > self.limit


def measure(channel: Channel | str, text: str, *, mastodon_limit: int = 500) -> Measure:
    """Length, unit, limit, segments and encoding of ``text`` on ``channel``, with length findings."""
    channel = Channel(channel)
    findings: list[Finding] = []
    segments, encoding = 1, "unicode"
    if channel is Channel.SMS:
        gsm = is_gsm7(text)
        length = gsm7_septets(text) if gsm else ucs2_units(text)
        unit = "gsm7-septets" if gsm else "ucs2-units"
        encoding = "gsm-7" if gsm else "ucs-2"
        segments = sms_segments(length, gsm)
        limit = SMS_MAX_SEGMENTS * (SMS_GSM7_PART if gsm else SMS_UCS2_PART)
        if not gsm:
            odd = sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION})
            shown = " ".join(repr(c) for c in odd[:5])
            findings.append(Finding("CD010", "info", f"sent as UCS-2 (70 characters a part) because of {shown}"))
        if segments > 1 and length <= limit:
            findings.append(Finding("CD011", "info", f"arrives as {segments} joined parts"))
    elif channel in (Channel.WEA_90, Channel.WEA_360):
        length, unit = len(unicodedata.normalize("NFC", text)), "characters"
        limit = 90 if channel is Channel.WEA_90 else 360
    elif channel is Channel.X:
        length, unit, limit = x_weighted_length(text), "x-weighted", X_MAX_WEIGHTED
    elif channel is Channel.MASTODON:
        length, unit, limit = mastodon_length(text), "characters", mastodon_limit
    elif channel is Channel.BLUESKY:
        length, unit, limit = graphemes(text), "graphemes", 300
    elif channel is Channel.FACEBOOK:
        length, unit, limit = len(text), "characters", 63_206
        if length > FACEBOOK_FOLD:
            findings.append(
                Finding("CD012", "warning", f"folds behind 'See more' after about {FACEBOOK_FOLD} characters")
            )
    elif channel is Channel.EMAIL_SUBJECT:
        length, unit, limit = len(text), "characters", 200
        if "\n" in text:
            findings.append(Finding("CD013", "error", "an email subject must be one line"))
        elif length > EMAIL_SUBJECT_COMFORT:
            findings.append(Finding("CD014", "info", f"phones cut subjects after about {EMAIL_SUBJECT_COMFORT}"))
    elif channel is Channel.CAP_HEADLINE:
        length, unit, limit = len(text), "characters", CAP_HEADLINE_LIMIT
    else:  # email body, web page, CAP description and instruction: no channel limit, a sanity cap
        length, unit, limit = len(text), "characters", 20_000
    if length > limit:
        findings.insert(0, Finding("CD001", "error", f"too long for {channel.value}: {length} {unit}, limit {limit}"))
    if not text.strip():
        findings.insert(0, Finding("CD002", "error", f"the {channel.value} text is empty"))
    return Measure(channel.value, length, unit, limit, segments, encoding, tuple(findings))

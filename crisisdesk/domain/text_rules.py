"""Channel text rules: every channel's length counted in its own unit.

- SMS: GSM 03.38 7-bit septets (extension characters count two) or, if one character is outside GSM-7,
  UCS-2 code units for the whole message. The parts are packed as a phone's encoder packs them: one part of
  160 septets (70 units), else parts of 153 (67), never splitting an escape pair or a surrogate pair, so a
  text can need a part more than its length divided by 153 says. The limit is set in parts.
- WEA: 90 and 360 characters.
- X: twitter-text v3 (crisisdesk.domain.twitter_text): NFC; every link 23 (links without a scheme too, with
  the full TLD list); an emoji sequence 2; other code points 1 inside the config's ranges, 2 outside.
- Mastodon: as the server's StatusLengthValidator counts: grapheme clusters, every http(s) link 23, a remote
  mention @user@domain as @user; per-instance limit (500 by default).
- Bluesky: 300 grapheme clusters and 3,000 bytes of UTF-8 (app.bsky.feed.post's text: maxGraphemes 300,
  maxLength 3000).
- Facebook: 63,206 characters; posts fold behind "See more" after about 477.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import regex

from crisisdesk.domain.choices import parse_choice
from crisisdesk.domain.twitter_text import X_V3, extract_links, x_count

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


def _sms_cost(gsm: bool) -> Callable[[str], int]:
    if gsm:
        return lambda ch: 2 if ch in GSM7_EXTENSION else 1
    return lambda ch: 2 if ord(ch) > 0xFFFF else 1


def sms_parts(text: str) -> list[str]:
    """The parts a phone receives, packed as an encoder packs them: one part up to 160 GSM-7 septets (70 UCS-2
    units), else parts of up to 153 (67), never splitting an escape pair or a surrogate pair across two parts."""
    if not text:
        return []
    gsm = is_gsm7(text)
    single, part = (SMS_GSM7_SINGLE, SMS_GSM7_PART) if gsm else (SMS_UCS2_SINGLE, SMS_UCS2_PART)
    cost = _sms_cost(gsm)
    if (gsm7_septets(text) if gsm else ucs2_units(text)) <= single:
        return [text]
    parts: list[str] = []
    start, used = 0, 0
    for i, ch in enumerate(text):
        c = cost(ch)
        if used + c > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += c
    parts.append(text[start:])
    return parts


# -- links (for X and Mastodon, which count each link as 23) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class UrlSpan:
    start: int
    end: int
    text: str
    https: bool
    has_scheme: bool


def find_urls(text: str) -> list[UrlSpan]:
    """Links as X finds them (twitter-text's rules): with http:// or https://, or a plain-Latin domain with a
    known top-level domain and no scheme."""
    return list(_find_urls(text))


# Lint asks twice for the same text and the composer once more, on every keystroke: the last few answers are kept.
@functools.lru_cache(maxsize=8)
def _find_urls(text: str) -> tuple[UrlSpan, ...]:
    return tuple(
        UrlSpan(link.start, link.end, link.url, link.scheme.lower() == "https://", bool(link.scheme))
        for link in extract_links(text)
    )


# -- X (twitter-text v3) -----------------------------------------------------------------------------------

X_MAX_WEIGHTED = X_V3.max_weighted_length
X_SCALE = X_V3.scale
X_URL_LENGTH = X_V3.url_length


def x_weighted_length(text: str) -> int:
    return x_count(text).weighted_length


def x_valid(text: str) -> bool:
    return bool(text.strip()) and x_count(text).valid


# -- Mastodon, Bluesky ------------------------------------------------------------------------------------

MASTODON_URL_LENGTH = 23
MASTODON_MAX_DOMAIN = 253
_WORD = r"[\p{L}\p{M}\p{Nd}\p{Pc}]"  # Ruby's [[:word:]]
# Mastodon's Account::MENTION_RE: @user or @user@domain, not after "=", "/" or a word character.
_MASTODON_MENTION = regex.compile(
    rf"(?<![=/]|{_WORD})@((?i:[a-z0-9_]+(?:[.\-]+[a-z0-9_]+)*)(?:@{_WORD}+(?:[.\-]+{_WORD}+)*)?)"
)
# twitter-text's end_mention_match: a mention followed by an @, a Latin accent or "://" is none.
_NOT_A_MENTION_AFTER = regex.compile(
    r"[@\uFF20\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263\u0268"
    r"\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF]|://"
)
_GRAPHEME = regex.compile(r"\X")


def _mastodon_rewrite(text: str) -> tuple[str, list[int]]:
    """The text the server counts (each link 23 x's, each remote mention only @user) and, for each of its
    characters, where it comes from in ``text``; as StatusLengthValidator#countable_text."""
    if not text or text.isspace():
        return "", []
    entities: list[tuple[int, int, str]] = []
    for link in extract_links(text, without_scheme=False):
        entities.append((link.start, link.end, "x" * MASTODON_URL_LENGTH))
    if "@" in text or "\uff20" in text:
        for m in _MASTODON_MENTION.finditer(text):
            if _NOT_A_MENTION_AFTER.match(text, m.end()):
                continue
            user, _, domain = m.group(1).partition("@")
            if len(domain) > MASTODON_MAX_DOMAIN:
                continue
            entities.append((m.start(), m.end(1), "@" + user))
    entities.sort(key=lambda e: e[0])
    out: list[str] = []
    origin: list[int] = []
    pos = 0
    for start, end, replacement in entities:
        if start < pos:
            continue  # overlaps the entity before (a mention inside a link)
        out.append(text[pos:start])
        origin.extend(range(pos, start))
        out.append(replacement)
        origin.extend([start] * len(replacement))
        pos = end
    out.append(text[pos:])
    origin.extend(range(pos, len(text)))
    return "".join(out), origin


def mastodon_costs(text: str) -> list[tuple[int, int]]:
    """(where in ``text``, 1) for each grapheme cluster the server counts: links as 23, remote mentions as
    @user; the domain of a remote mention costs nothing."""
    counted, origin = _mastodon_rewrite(text)
    return [(origin[m.start()], 1) for m in _GRAPHEME.finditer(counted)]


def mastodon_length(text: str) -> int:
    counted, _ = _mastodon_rewrite(text)
    return graphemes(counted)


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


BLUESKY_GRAPHEMES = 300
BLUESKY_BYTES = 3000


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
    segment_limit: int = 0  # SMS: the most parts a text may take (0: the channel has no parts)
    byte_length: int = 0  # Bluesky: the text's UTF-8 bytes, which the server also limits
    byte_limit: int = 0

    @property
    def over(self) -> bool:
        """Past the limit in the channel's unit, or past the parts or bytes the channel also limits."""
        return (
            self.length > self.limit
            or (self.segment_limit > 0 and self.segments > self.segment_limit)
            or (self.byte_limit > 0 and self.byte_length > self.byte_limit)
        )


def measure(channel: Channel | str, text: str, *, mastodon_limit: int = 500) -> Measure:
    """Length, unit, limit, segments and encoding of ``text`` on ``channel``, with length findings."""
    channel = Channel(channel)
    findings: list[Finding] = []
    segments, encoding, segment_limit, byte_length, byte_limit = 1, "unicode", 0, 0, 0
    too_long = ""
    if channel is Channel.SMS:
        gsm = is_gsm7(text)
        length = gsm7_septets(text) if gsm else ucs2_units(text)
        unit = "gsm7-septets" if gsm else "ucs2-units"
        encoding = "gsm-7" if gsm else "ucs-2"
        segments, segment_limit = len(sms_parts(text)), SMS_MAX_SEGMENTS
        limit = SMS_MAX_SEGMENTS * (SMS_GSM7_PART if gsm else SMS_UCS2_PART)
        if not gsm:
            odd = sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION})
            shown = " ".join(repr(c) for c in odd[:5])
            findings.append(Finding("CD010", "info", f"sent as UCS-2 (70 characters a part) because of {shown}"))
        if segments > SMS_MAX_SEGMENTS:
            too_long = f"{segments} parts ({length} {unit}), limit {SMS_MAX_SEGMENTS} parts"
        elif segments > 1:
            findings.append(Finding("CD011", "info", f"arrives as {segments} joined parts"))
    elif channel in (Channel.WEA_90, Channel.WEA_360):
        length, unit = len(unicodedata.normalize("NFC", text)), "characters"
        limit = 90 if channel is Channel.WEA_90 else 360
    elif channel is Channel.X:
        length, unit, limit = x_weighted_length(text), "x-weighted", X_MAX_WEIGHTED
    elif channel is Channel.MASTODON:
        length, unit, limit = mastodon_length(text), "characters", mastodon_limit
    elif channel is Channel.BLUESKY:
        length, unit, limit = graphemes(text), "graphemes", BLUESKY_GRAPHEMES
        byte_length, byte_limit = len(text.encode("utf-8", "surrogatepass")), BLUESKY_BYTES
        if length <= limit and byte_length > byte_limit:
            too_long = f"{byte_length:,} bytes of UTF-8, limit {byte_limit:,} (the server counts bytes too)"
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
        too_long = f"{length} {unit}, limit {limit}"
    if too_long:
        findings.insert(0, Finding("CD001", "error", f"too long for {channel.value}: {too_long}"))
    if not text.strip():
        findings.insert(0, Finding("CD002", "error", f"the {channel.value} text is empty"))
    return Measure(
        channel.value, length, unit, limit, segments, encoding, tuple(findings), segment_limit, byte_length, byte_limit
    )

"""twitter-text's rules, which X uses to count a post and Mastodon uses to find the links it counts as 23.

Written from twitter-text's conformance files (tests/data/x-text: validate.yml, extract.yml, tlds.yml) and its
documented configuration (config v3), which the tests run case by case:

- Links: a link has a domain that ends in a known top-level domain (the full list, crisisdesk.domain.tlds) or
  punycode; only http:// and https:// count as a scheme, and a link without one is found only when its domain
  is plain Latin (``ftp://example.gov/file`` has no link: its ``example.gov`` follows a slash). The path may
  hold balanced parentheses and ends on a letter, digit or one of ``+-=_#/``; a t.co link keeps only its slug.
- X's weighted length (config v3): the text in NFC; every link counts 23; an emoji sequence (flags, keycaps,
  skin tones, ZWJ families, tag sequences) counts as one emoji of weight 2 (``emoji`` knows the sequences;
  as in twemoji, a symbol that is text by default is an emoji only with U+FE0F); any other code point counts
  1 inside the configured ranges (Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari..., general punctuation)
  and 2 outside them (CJK, most symbols).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import emoji
import regex

from crisisdesk.domain.tlds import COUNTRY_TLDS, GENERIC_TLDS

# -- character groups (twitter-text's regexen) ---------------------------------------------------------------------

_PUNCT = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066-\u2069"
_LATIN_ACCENTS = (
    r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263\u0268\u026F\u0272\u0289"
    r"\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
_CYRILLIC = r"\u0400-\u04FF"
INVALID_CHARACTERS = frozenset("\ufffe\ufeff\uffff")  # a post holding one is refused

MAX_URL_LENGTH = 4096
MAX_TCO_SLUG = 40
MAX_LABEL = 63


def _trie(names: Sequence[str]) -> str:
    """One pattern for a list of names, letter by letter: it gives up after a letter or two where no name fits (a
    plain alternation of 1,574 names tries each in turn, at every dot of the text). Longer names come first."""
    root: dict[str, Any] = {}
    for name in names:
        node = root
        for ch in name.lower():
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return pattern(root)


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(links, a t.co link, a plain-Latin domain, a top-level domain after its dot), compiled on first use."""
    end_of_tld = r"(?=[^0-9a-zA-Z@+\-]|$)"
    tld = rf"(?:{_trie(GENERIC_TLDS)}{end_of_tld}|{_trie(COUNTRY_TLDS)}{end_of_tld}|xn--[\-0-9a-z]+)"
    domain_char = rf"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
    # A label is the whole run of its characters up to the dot (nothing shorter is followed by a dot), so it is
    # matched possessively: a long run of letters with no link in it then costs one pass, not one per letter.
    subdomain = rf"(?:(?={domain_char})(?:{domain_char}|[_\-])++(?<={domain_char})\.)"
    domain_name = rf"(?:(?={domain_char})(?:{domain_char}|-)++(?<={domain_char})\.)"
    domain = rf"(?:{subdomain}*{domain_name}{tld})"
    path_char = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~&|@{_LATIN_ACCENTS}]"
    parens = rf"\((?:{path_char}+|(?:{path_char}*\({path_char}+\){path_char}*))\)"
    path_end = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{parens})"
    path_part = rf"(?:(?:{path_char}*(?:{parens}{path_char}*)*{path_end})|(?:@{path_char}+/))"
    query_char = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
    query_end = r"[a-z0-9\-_&=#/]"
    before = rf"(?:[^A-Za-z0-9@\uFF20$#\uFF03{_INVALID}]|[{_DIRECTIONAL}]|^)"  # and the full-width @ and #
    link = (
        rf"(?P<before>{before})"
        rf"(?P<url>(?P<scheme>https?://)?(?P<domain>{domain})(?::[0-9]+)?"
        rf"(?P<path>/{path_part}*)?(?:\?{query_char}*{query_end})?)"
    )
    tco = rf"^https?://t\.co/([a-z0-9]+)(?:\?{query_char}*{query_end})?"
    latin_domain = rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]++\.)+{tld}"
    flags = re.IGNORECASE
    return (
        re.compile(link, flags),
        re.compile(tco, flags),
        re.compile(latin_domain, flags),
        re.compile(rf"\.{tld}", flags),
    )


@dataclass(frozen=True, slots=True)
class Link:
    """A link found in a text: characters [start, end), and its scheme ("" when written without one)."""

    start: int
    end: int
    url: str
    scheme: str


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _domain_ok(domain: str, latin_domain: re.Pattern[str]) -> bool:
    """Each label at most 63 characters once punycode-encoded; an "xn--" domain must be ASCII already."""
    if domain.startswith("xn--") and not latin_domain.search(domain):
        return False
    for label in domain.split("."):
        if all(ord(ch) < 0x7F for ch in label):
            size = len(label)
        else:
            try:
                size = len("xn--" + label.encode("punycode").decode("ascii"))
            except UnicodeError:
                return False
        if not 1 <= size <= MAX_LABEL:
            return False
    return True


def _one_char(pattern: str) -> Callable[[str, int], bool]:
    compiled = re.compile(pattern, re.IGNORECASE)
    return lambda text, i: compiled.match(text, i) is not None


_is_domain_char = _one_char(rf"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]")
_is_latin_char = _one_char(rf"[\-a-z0-9{_LATIN_ACCENTS}]")


class _LinkChains:
    """Where a link can begin that ends in the top-level domain after a given dot: the domain name before the
    dot (letters, digits and hyphens, beginning and ending with a letter or digit), and before it whole
    subdomains (underscores allowed), the first of which may be the end of a longer run. Each dot's answer is
    kept, so a text is walked once however many top-level domains it holds."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.known: dict[int, int] = {}

    def _label_start(self, end: int, extra: str) -> int:
        text, i = self.text, end
        while i > 0 and text[i - 1] != "." and (text[i - 1] in extra or _is_domain_char(text, i - 1)):
            i -= 1
        return i

    def _subdomains_start(self, dot: int) -> int:
        """The first place a link may begin whose subdomains run up to ``text[dot]``."""
        text, walked, lo = self.text, [], dot + 1
        while dot not in self.known:
            walked.append(dot)
            sub = self._label_start(dot, "-_")
            if sub == dot or not _is_domain_char(text, dot - 1):
                break  # an empty label, or one ending in "-" or "_": nothing before this dot
            if not _is_domain_char(text, sub):
                lo = sub  # a label beginning with "-" or "_": a link may begin inside it
                break
            lo = sub
            if sub == 0 or text[sub - 1] != ".":
                break
            dot = sub - 1
        else:
            lo = self.known[dot]
        for d in walked:
            self.known[d] = lo
        return lo

    def __call__(self, dot: int) -> int | None:
        text = self.text
        name = self._label_start(dot, "-")
        if name == dot or not _is_domain_char(text, dot - 1):
            return None
        if name > 0 and text[name - 1] == ".":
            return min(name, self._subdomains_start(name - 1))
        return name  # after an underscore (only that part can be a domain name), or at the start of a run


def _latin_region_start(text: str, dot: int, floor: int) -> int | None:
    """Where a plain-Latin domain (letters, digits, hyphens and Latin accents; every label whole but the first)
    can begin that ends in the top-level domain after ``text[dot]``. Stops at ``floor``, where the walk from the
    top-level domain before reached: every label it passes there is Latin too, so the two regions join."""
    lo = dot
    while lo > floor and (text[lo - 1] == "." or _is_latin_char(text, lo - 1)):
        if text[lo - 1] == "." and (lo == dot or text[lo] == "."):
            break  # an empty label ends the chain
        lo -= 1
    if text[lo : lo + 1] == ".":
        lo += 1
    return lo if lo < dot else None


def _regions(text: str, tld_re: re.Pattern[str], region_start: Callable[[int, int], int | None]) -> list[list[int]]:
    """[first, last] spans of ``text`` where a match may begin (last: the end of its top-level domain)."""
    regions: list[list[int]] = []
    floor = 0
    for m in tld_re.finditer(text):
        lo = region_start(m.start(), floor)
        if lo is not None:
            while regions and lo <= regions[-1][1] + 1:  # a later domain may reach back past earlier ones
                lo = min(lo, regions.pop()[0])
            regions.append([lo, m.end()])
        floor = m.start() + 1
    return regions


def _matches(text: str, pattern: re.Pattern[str], regions: list[list[int]], room: int) -> Iterator[re.Match[str]]:
    """What ``pattern.finditer(text)`` finds, trying only places in ``regions`` (and up to ``room`` characters
    before each, for a scheme and the character before a link). Trying every place costs a pass over the rest of
    the run of letters at each one (seconds for a long run of dotted labels); no match can begin elsewhere."""
    pos = 0
    for lo, hi in regions:
        start = max(pos, lo - room)
        while start <= hi:
            # Searching up to just past the top-level domain keeps the search from trying every later place;
            # the match found is then taken whole (with its path) from where it begins.
            found = pattern.search(text, start, hi + 1)
            if found is None:
                break
            whole = pattern.match(text, found.start())
            if whole is None:
                start = found.start() + 1
                continue
            yield whole
            pos = start = whole.end()


def extract_links(text: str, *, without_scheme: bool = True) -> list[Link]:
    """Links as twitter-text extracts them (``without_scheme=False`` is Mastodon's way: only http(s):// links)."""
    if not text or ("." not in text if without_scheme else ":" not in text):
        return []
    link_re, tco_re, latin_re, tld_re = _patterns()
    chains = _LinkChains(text)
    regions = _regions(text, tld_re, lambda dot, _floor: chains(dot))
    found: list[Link] = []
    for m in _matches(text, link_re, regions, room=len("https://") + 1):
        url, scheme, domain = m.group("url"), m.group("scheme") or "", m.group("domain")
        start, end = m.span("url")
        if not _domain_ok(domain, latin_re) or len(scheme or "https://") + _utf16_length(url) > MAX_URL_LENGTH:
            continue
        if scheme:
            tco = tco_re.match(url)
            if tco:
                if len(tco.group(1)) > MAX_TCO_SLUG:
                    continue
                url, end = tco.group(0), start + len(tco.group(0))
            found.append(Link(start, end, url, scheme))
            continue
        if not without_scheme or m.group("before")[-1:] in ("-", "_", ".", "/"):
            continue
        # Without a scheme only plain-Latin domains are links; each one in a longer run of letters counts alone,
        # and the path goes with the last of them.
        last: Link | None = None
        latin_regions = _regions(domain, tld_re, functools.partial(_latin_region_start, domain))
        for d in _matches(domain, latin_re, latin_regions, room=0):
            last = Link(start + d.start(), start + d.end(), d.group(0), "")
            found.append(last)
        if last is not None and m.group("path"):
            found[-1] = Link(last.start, end, text[last.start : end], "")
    return found


# -- emoji ---------------------------------------------------------------------------------------------------------

_MAYBE_EMOJI = regex.compile(r"[^\x00-\xA8]")
_TEXT_BY_DEFAULT = regex.compile(r"\P{Emoji_Presentation}")


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each emoji sequence: an emoji with its skin tone, a flag, a keycap, a ZWJ family, a tag
    sequence. A symbol that is text by default (©, ☺, ⚠) is an emoji only when U+FE0F asks for it, as twemoji
    (which X's counter uses) has it: this decides only whether © and ® count 1 or 2."""
    if not _MAYBE_EMOJI.search(text):
        return []
    spans = []
    for found in emoji.emoji_list(text):
        start, end = found["match_start"], found["match_end"]
        if end - start == 1 and _TEXT_BY_DEFAULT.match(text[start]):
            continue
        spans.append((start, end))
    return spans


# -- X's weighted length -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XConfig:
    """A twitter-text configuration (config/v*.json)."""

    version: int
    max_weighted_length: int
    scale: int
    default_weight: int
    emoji_parsing: bool
    url_length: int
    ranges: tuple[tuple[int, int, int], ...]  # (first code point, last code point, weight)

    def weight(self, ch: str) -> int:
        cp = ord(ch)
        for first, last, weight in self.ranges:
            if first <= cp <= last:
                return weight
        return self.default_weight


# config/v3.json, the one X uses (the test compares it with the file).
X_V3 = XConfig(
    version=3,
    max_weighted_length=280,
    scale=100,
    default_weight=200,
    emoji_parsing=True,
    url_length=23,
    ranges=((0, 4351, 100), (8192, 8205, 100), (8208, 8223, 100), (8242, 8247, 100)),
)


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of the NFC text that X weighs as one: a link, an emoji sequence or a code point."""

    start: int
    end: int
    weight: int  # in the config's scale


def x_pieces(nfc: str, config: XConfig = X_V3) -> list[Piece]:
    """The pieces of ``nfc`` (already NFC) in order, each with its weight."""
    return list(_x_pieces(nfc, config))


# The composer counts a text and then places its overflow, on every keystroke: the last few answers are kept.
@functools.lru_cache(maxsize=8)
def _x_pieces(nfc: str, config: XConfig) -> tuple[Piece, ...]:
    links = {link.start: link.end for link in extract_links(nfc)}
    emojis = dict(emoji_spans(nfc)) if config.emoji_parsing else {}
    url_weight = config.url_length * config.scale
    out: list[Piece] = []
    i, n = 0, len(nfc)
    while i < n:
        if i in links:
            out.append(Piece(i, links[i], url_weight))
            i = links[i]
        elif i in emojis:
            out.append(Piece(i, emojis[i], config.default_weight))
            i = emojis[i]
        else:
            out.append(Piece(i, i + 1, config.weight(nfc[i])))
            i += 1
    return tuple(out)


@dataclass(frozen=True, slots=True)
class XCount:
    """What twitter-text's parseTweet says of a text."""

    weighted_length: int
    valid: bool
    permillage: int
    valid_end: int  # the NFC text's first character past what fits (and holds no invalid character)
    nfc: str


def x_count(text: str, config: XConfig = X_V3) -> XCount:
    nfc = unicodedata.normalize("NFC", text)
    total, valid, valid_end = 0, True, 0
    cap = config.max_weighted_length * config.scale
    for piece in _x_pieces(nfc, config):
        total += piece.weight
        # twitter-text looks at the last character of each piece, as here.
        valid = valid and nfc[piece.end - 1] not in INVALID_CHARACTERS
        if valid and total <= cap:
            valid_end = piece.end
    weighted = total // config.scale  # every weight of the shipped configurations is a multiple of the scale
    valid = valid and 0 < weighted <= config.max_weighted_length
    permillage = math.floor(weighted / config.max_weighted_length * 1000)  # as twitter-text's floating point
    return XCount(weighted, valid, permillage, valid_end, nfc)

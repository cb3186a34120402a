"""What the composer shows beside a variant's text: where each lint finding sits, where a text runs over its
channel's limit, how an SMS splits into parts, and what changed since the last published text, word by word.

All pure and fast enough to run on every keystroke of a long text (the composer calls them on the GUI thread).
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from crisisdesk.domain.lint import (
    _HASHTAG,
    _PLACEHOLDER,
    BIDI,
    IPAWS_UNSAFE,
    NOT_A_DRILL,
    STRICT_CHANNELS,
    ZERO_WIDTH,
)
from crisisdesk.domain.text_rules import (
    BLUESKY_BYTES,
    EMAIL_SUBJECT_COMFORT,
    FACEBOOK_FOLD,
    GSM7_BASIC,
    GSM7_EXTENSION,
    SMS_MAX_SEGMENTS,
    Channel,
    Finding,
    find_urls,
    mastodon_costs,
    sms_parts,
)
from crisisdesk.domain.twitter_text import X_V3, x_pieces

__all__ = ["Change", "Place", "overflow_at", "places", "sms_parts", "word_diff"]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a finding sits in the text: characters [start, end)."""

    start: int
    end: int
    code: str
    severity: str


# -- where a text runs over its limit -----------------------------------------------------------------------------


def _x_costs(text: str) -> list[tuple[int, int]]:
    """(where in ``text``, weight in hundredths) of each piece X weighs: twitter-text weighs the NFC text, and
    a piece of it that a decomposed accent made shorter is placed at the start of its grapheme cluster here."""
    nfc = unicodedata.normalize("NFC", text)
    pieces = x_pieces(nfc, X_V3)
    if nfc == text:
        return [(p.start, p.weight) for p in pieces]
    starts, nfc_starts, at = [], [], 0
    for cluster in regex.finditer(r"\X", text):
        starts.append(cluster.start())
        nfc_starts.append(at)
        at += len(unicodedata.normalize("NFC", cluster.group()))
    return [(starts[bisect.bisect_right(nfc_starts, p.start) - 1], p.weight) for p in pieces]


def _costs(channel: Channel, text: str) -> Iterable[tuple[int, int]]:
    """(start index, cost in the channel's unit) of each piece of ``text``, in order."""
    if channel is Channel.BLUESKY:
        return ((m.start(), 1) for m in regex.finditer(r"\X", text))
    if channel is Channel.X:
        return _x_costs(text)
    if channel is Channel.MASTODON:
        return mastodon_costs(text)
    return ((i, 1) for i in range(len(text)))


def _bluesky_byte_overflow(text: str) -> int | None:
    """The start of the first grapheme cluster that ends past Bluesky's 3,000 bytes, or None."""
    used = 0
    for m in regex.finditer(r"\X", text):
        used += len(m.group().encode("utf-8", "surrogatepass"))
        if used > BLUESKY_BYTES:
            return m.start()
    return None


def overflow_at(channel: Channel | str, text: str, limit: int, *, parts: int = SMS_MAX_SEGMENTS) -> int | None:
    """The index of the first character past ``limit`` (in the channel's unit), or None when the text fits.

    SMS is limited in parts: there it is where part ``parts + 1`` begins as the text is packed (``limit`` is not
    used). Bluesky also limits bytes: there it is where either limit is passed first. WEA counts characters after
    NFC; this counts them as typed, which differs only for decomposed accents."""
    channel = Channel(channel)
    if channel is Channel.SMS:
        packed = sms_parts(text)
        return None if len(packed) <= parts else sum(len(p) for p in packed[:parts])
    scale = X_V3.scale if channel is Channel.X else 1
    at, total = None, 0
    for start, cost in _costs(channel, text):
        total += cost
        if total > limit * scale:
            at = start
            break
    if channel is Channel.BLUESKY:
        by_bytes = _bluesky_byte_overflow(text)
        if by_bytes is not None and (at is None or by_bytes < at):
            return by_bytes
    return at


# -- where each finding sits --------------------------------------------------------------------------------------


def _chars(text: str, wanted: Iterable[str]) -> list[tuple[int, int]]:
    chars = "".join(sorted(wanted))
    if not chars:
        return []
    # A character class scans a long text ten times faster than a loop over it.
    return [(m.start(), m.end()) for m in re.finditer(f"[{re.escape(chars)}]", text)]


def _hidden(text: str) -> list[tuple[int, int]]:
    return [
        (i, i + 1)
        for i, ch in enumerate(text)
        if ch in BIDI or ch in ZERO_WIDTH or (unicodedata.category(ch) == "Cc" and ch not in "\n\t")
    ]


def _phrases(text: str, phrases: Sequence[str]) -> list[tuple[int, int]]:
    spans = set()
    for phrase in phrases:
        spans |= {(m.start(), m.end()) for m in re.finditer(re.escape(phrase), text, re.IGNORECASE)}
    return sorted(spans)


def _shouty_hashtags(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _HASHTAG.finditer(text):
        tag = m.group(1)
        letters = [c for c in tag if c.isalpha()]
        if len(tag) >= 8 and letters and (all(c.islower() for c in letters) or all(c.isupper() for c in letters)):
            spans.append((m.start(), m.end()))
    return spans


def places(
    text: str, channel: Channel | str, lang: str, findings: Sequence[Finding], *, limit: int | None = None
) -> list[Place]:
    """Where in ``text`` each of ``findings`` (from ``measure`` and ``lint`` of this text) sits. Findings about the
    whole text (reading grade, what an alert must say, how many parts) have no place; the list of findings shows
    them. ``limit`` is the channel's limit as ``measure`` gave it (for CD001)."""
    channel = Channel(channel)
    out: list[Place] = []
    for code, severity in dict.fromkeys((f.code, f.severity) for f in findings):
        spans: list[tuple[int, int]] = []
        if code == "CD001" and limit is not None:
            at = overflow_at(channel, text, limit)
            spans = [] if at is None else [(at, len(text))]
        elif code == "CD010":
            spans = [(i, i + 1) for i, ch in enumerate(text) if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION]
        elif code == "CD012" and len(text) > FACEBOOK_FOLD:
            spans = [(FACEBOOK_FOLD, len(text))]
        elif code == "CD013":
            spans = _chars(text, "\n")
        elif code == "CD014" and len(text) > EMAIL_SUBJECT_COMFORT:
            spans = [(EMAIL_SUBJECT_COMFORT, len(text))]
        elif code == "CD101":
            spans = _chars(text, IPAWS_UNSAFE)
            if channel in STRICT_CHANNELS:
                spans += [(i, i + 1) for i, ch in enumerate(text) if ord(ch) > 0xFFFF]
        elif code == "CD102":
            spans = _hidden(text)
        elif code == "CD103":
            spans = _phrases(text, NOT_A_DRILL.get(lang, ()) + NOT_A_DRILL["en"])
        elif code == "CD105":
            spans = _shouty_hashtags(text)
        elif code == "CD108":
            spans = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        elif code == "CD109":
            spans = [(u.start, u.end) for u in find_urls(text) if not (u.has_scheme and u.https)]
        out += [Place(s, e, code, severity) for s, e in spans]
    return sorted(out, key=lambda p: (p.start, p.end, p.code))


# -- what changed, word by word -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Change:
    """A run of the new text: ``same`` as before, ``added``, or ``removed`` (text that was there before)."""

    op: str
    text: str


def word_diff(before: str, after: str) -> list[Change]:
    """``after`` against ``before`` in words (runs of letters or digits), spaces and punctuation marks; adjacent
    runs of the same kind are joined, and a replacement reads as removed then added."""
    a, b = _TOKEN.findall(before), _TOKEN.findall(after)
    out: list[Change] = []

    def put(op: str, tokens: Sequence[str]) -> None:
        if not tokens:
            return
        text = "".join(tokens)
        if out and out[-1].op == op:
            out[-1] = Change(op, out[-1].text + text)
        else:
            out.append(Change(op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            put("same", b[j1:j2])
        else:
            put("removed", a[i1:i2])
            put("added", b[j1:j2])
    return out

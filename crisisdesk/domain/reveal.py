"""Exact text for an approver: every character that does not show itself named and escaped, and what changed
word by word.

An approver must see what will go out, not what a text widget makes of it: a right-to-left override reorders
what follows it, a zero-width space splits a link, a non-breaking space passes for a space. ``reveal`` cuts a
text into pieces: runs of ordinary characters as they are, and each hidden character as its own piece, written
as an escape (``⟦U+202E RLO⟧``) with its Unicode name, so a view can mark it (and never lets it act).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Short names a person can read at a glance; the rest show their code point.
SHORT = {
    "\t": "TAB",
    "\r": "CR",
    "\u00a0": "NBSP",
    "\u00ad": "SHY",
    "\u061c": "ALM",
    "\u180e": "MVS",
    "\u200b": "ZWSP",
    "\u200c": "ZWNJ",
    "\u200d": "ZWJ",
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u2028": "LSEP",
    "\u2029": "PSEP",
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2060": "WJ",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
    "\ufeff": "BOM",
}
# Control, format (bidi, zero-width, tags), separators, private use, unassigned, surrogates.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"})


@dataclass(frozen=True, slots=True)
class Piece:
    text: str  # what to show: the characters themselves, or the escape of one hidden character
    hidden: str | None = None  # for an escape: "U+202E RIGHT-TO-LEFT OVERRIDE"
    offset: int = 0  # where the piece starts in the original text


def is_hidden(ch: str) -> bool:
    """A character that does not show itself as what it is. A line break shows itself; a space too."""
    if ch in ("\n", " "):
        return False
    category = unicodedata.category(ch)
    return category in HIDDEN_CATEGORIES or category == "Zs"  # Zs: every space but the plain one


def describe(ch: str) -> str:
    name = unicodedata.name(ch, "") or {"Cc": "CONTROL CHARACTER", "Cn": "UNASSIGNED"}.get(
        unicodedata.category(ch), unicodedata.category(ch)
    )
    return f"U+{ord(ch):04X} {name}"


def escape(ch: str) -> str:
    short = SHORT.get(ch)
    return f"⟦U+{ord(ch):04X} {short}⟧" if short else f"⟦U+{ord(ch):04X}⟧"


def reveal(text: str) -> list[Piece]:
    pieces: list[Piece] = []
    start = 0
    for i, ch in enumerate(text):
        if is_hidden(ch):
            if start < i:
                pieces.append(Piece(text[start:i], offset=start))
            pieces.append(Piece(escape(ch), describe(ch), i))
            start = i + 1
    if start < len(text):
        pieces.append(Piece(text[start:], offset=start))
    return pieces


def revealed(text: str) -> str:
    """The text with every hidden character escaped: safe to show anywhere as plain text."""
    return "".join(p.text for p in reveal(text))


def hidden_characters(text: str) -> list[Piece]:
    return [p for p in reveal(text) if p.hidden]

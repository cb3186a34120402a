"""Item text reduced to plain text before it is stored or shown: no markup, no scripts, no control characters."""

from __future__ import annotations

import html

import regex
from lxml import etree
from lxml import html as lxml_html

MAX_TEXT = 20_000  # characters kept of one item's text
MAX_TITLE = 500

# Control characters (but tab and newline), bidi overrides and isolates, zero-width characters, BOM.
_INVISIBLE = regex.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = regex.compile(r"[ \t\u00a0]+")
_LINES = regex.compile(r"\s*\n\s*(?:\n\s*)+")
_MARKUP = regex.compile(r"[<&]")
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article"}
)
_DROP = frozenset({"script", "style", "head", "template", "noscript", "iframe", "object", "svg", "math"})


def _tidy(text: str, limit: int) -> str:
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _LINES.sub("\n\n", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _from_html(markup: str) -> str:
    try:
        doc = lxml_html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return html.unescape(regex.sub(r"<[^>]*>", " ", markup))
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _DROP:
            if el.tail:
                parts.append(el.tail)
            return
        if tag in _BLOCKS:
            parts.append("\n")
        if el.text and tag:
            parts.append(el.text)
        for child in el:
            walk(child)
        if tag in _BLOCKS:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    walk(doc)
    return "".join(parts)


def plain(text: str | None, *, limit: int = MAX_TEXT, markup: bool = True) -> str:
    """Plain text for storing and showing. ``markup=False`` for fields that are text by definition (Atom
    type="text", JSON Feed content_text), which are only unescaped-free tidied."""
    if not text:
        return ""
    if markup and _MARKUP.search(text):
        text = _from_html(text)
    return _tidy(text, limit)


def one_line(text: str | None, *, limit: int = MAX_TITLE, markup: bool = True) -> str:
    return " ".join(plain(text, limit=limit * 2, markup=markup).split())[:limit]

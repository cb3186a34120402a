"""Item text reduced to plain text before it is stored or shown: no markup, no scripts, no control characters."""

from __future__ import annotations

import html
import re

from lxml import etree
from lxml import html as lxml_html

MAX_TEXT = 20_000  # characters kept of one item's text
MAX_TITLE = 500

# Control characters (but tab and newline), bidi overrides and isolates, zero-width characters, BOM: deleted.
_DELETE = dict.fromkeys(
    [
        *range(0x00, 0x09),
        *range(0x0B, 0x20),
        *range(0x7F, 0xA0),
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        0xFEFF,
    ]
)
_TAG = re.compile(r"<[^>]*>")
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article"}
)
_DROP = frozenset({"script", "style", "head", "template", "noscript", "iframe", "object", "svg", "math"})


def _tidy(text: str, limit: int) -> str:
    text = text.translate(_DELETE)
    # Spaces collapsed within lines, blank runs of lines collapsed to one blank line.
    lines = [" ".join(line.split()) for line in text.replace("\t", " ").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    text = "\n".join(out).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _from_html(markup: str) -> str:
    try:
        doc = lxml_html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return html.unescape(_TAG.sub(" ", markup))
    # All in C: drop what is never text, break lines after blocks, then serialise as text.
    etree.strip_elements(doc, *_DROP, with_tail=False)
    for el in doc.iter(*_BLOCKS):
        el.tail = "\n" + el.tail if el.tail else "\n"
    return str(etree.tostring(doc, method="text", encoding="unicode"))


# Markup made only of these tags (the usual in feed summaries) is stripped by pattern, far faster than parsing;
# anything else (scripts, styles, comments, CDATA, stray '<') goes through the HTML parser.
_SIMPLE_TAG = re.compile(
    r"</?(?:p|a|b|i|u|s|em|strong|small|span|br|hr|img|code|sub|sup|div|ul|ol|li|h[1-6]|blockquote|pre"
    r"|table|thead|tbody|tr|td|th|figure|figcaption)(?:\s[^<>]*)?/?>",
    re.I,
)
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|tr|h[1-6]|blockquote|pre|hr|ul|ol|table)(?:\s[^<>]*)?/?>", re.I)


def _simple_html(markup: str) -> str | None:
    if "<" in _SIMPLE_TAG.sub("", markup):
        return None
    return html.unescape(_SIMPLE_TAG.sub("", _BLOCK_TAG.sub("\n", markup)))


def plain(text: str | None, *, limit: int = MAX_TEXT, markup: bool = True) -> str:
    """Plain text for storing and showing. ``markup=False`` for fields that are text by definition (Atom
    type="text", JSON Feed content_text), which are only unescaped-free tidied."""
    if not text:
        return ""
    if markup and "<" in text:
        simple = _simple_html(text)
        text = simple if simple is not None else _from_html(text)
    elif markup and "&" in text:
        text = html.unescape(text)
    return _tidy(text, limit)


def one_line(text: str | None, *, limit: int = MAX_TITLE, markup: bool = True) -> str:
    return " ".join(plain(text, limit=limit * 2, markup=markup).split())[:limit]

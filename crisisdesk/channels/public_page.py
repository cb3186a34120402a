"""What the folder channel publishes for residents, as text: the public page (HTML) and its Atom feeds.

Pure functions of the folder's entries (dicts as ``folder.py`` stores them). Every piece of message text is
escaped here and nowhere else; the only markup made from it is a link around an ``http(s)://`` or ``www.``
address, whose text and address are escaped too. Times are shown in the incident's time zone, written as each
language writes them in the US ("Sunday, November 22, 2026, 9:30 PM CST"; "domingo, 22 de noviembre de 2026,
9:30 p. m. CST"), with the exact instant in a ``<time datetime>``.
"""

from __future__ import annotations

import contextlib
import functools
import html
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import quote, urlsplit

import idna
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import locale_for, zone
from crisisdesk.domain.message_types import MESSAGE_TYPES

ATOM = "http://www.w3.org/2005/Atom"
XHTML = "http://www.w3.org/1999/xhtml"

# The page's own words. A language without a table here gets the English words, marked lang="en".
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "current": "Current alerts",
        "earlier": "Earlier messages",
        "none": "There are no current alerts.",
        "updated": "Updated",
        "feeds": "Follow",
        "feed": "all messages (Atom feed)",
        "cap-feed": "active alerts (CAP, Atom feed)",
        "live": "LIVE",
        "exercise": "EXERCISE",
        "exercise-note": "This is an exercise message, not a real emergency.",
        "sent": "Sent",
        "cap": "CAP file (XML)",
        "alert": "Alert",
        "update": "Update",
        "correction": "Correction",
        "cancel": "Cancellation",
        "all-clear": "All clear",
    },
    "es": {
        "current": "Alertas vigentes",
        "earlier": "Mensajes anteriores",
        "none": "No hay alertas vigentes.",
        "updated": "Actualizado",
        "feeds": "Suscríbase",
        "feed": "todos los mensajes (canal Atom)",
        "cap-feed": "alertas vigentes (CAP, canal Atom)",
        "live": "REAL",
        "exercise": "SIMULACRO",
        "exercise-note": "Este es un mensaje de simulacro, no una emergencia real.",
        "sent": "Enviado",
        "cap": "archivo CAP (XML)",
        "alert": "Alerta",
        "update": "Actualización",
        "correction": "Corrección",
        "cancel": "Cancelación",
        "all-clear": "Fin de la alerta",
    },
}

# A web address in message text: http(s):// or www., up to a space or a character that cannot be in one.
_ADDRESS = re.compile(r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"`{}|\\^]+", re.IGNORECASE)
_TRAILING = ".,;:!?'*"  # sentence punctuation after an address is not part of it
_PAIRS = {")": "(", "]": "["}
# Characters HTML and XML 1.0 cannot carry (a control character in a message is dropped, not shown).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _e(text: str) -> str:
    """Text or an attribute value for HTML or XML: escaped, and without characters they cannot carry."""
    return html.escape(_NOT_TEXT.sub("", text), quote=True)


def _address_end(found: str) -> str:
    """``found`` without the punctuation that ends the sentence around it, or an unmatched closing bracket."""
    while found:
        last = found[-1]
        if last in _TRAILING or (last in _PAIRS and found.count(last) > found.count(_PAIRS[last])):
            found = found[:-1]
        else:
            break
    return found


def linked(text: str) -> str:
    """One line of message text as HTML: escaped, with each web address made a link to itself."""
    out: list[str] = []
    at = 0
    for m in _ADDRESS.finditer(text):
        shown = _address_end(m.group())
        # The scheme only where the address starts with one: "www.https://x" is a www. address whose link gets
        # https:// in front (it was taken as its own href, a relative link, because it holds "://").
        if shown.lower().startswith(("https://", "http://")):
            href, host_part = shown, shown.split("://", 1)[1]
        else:
            href, host_part = f"https://{shown}", shown[4:]
        if not host_part or not (host_part[0].isalnum()):
            continue  # "https://" alone, or "www." then nothing: not an address
        out.append(_e(text[at : m.start()]))
        out.append(f'<a href="{_e(href)}">{_e(shown)}</a>')
        at = m.start() + len(shown)
    out.append(_e(text[at:]))
    return "".join(out)


def paragraphs(text: str, *, xhtml: bool = False) -> list[str]:
    """Message text as HTML paragraphs: a blank line between paragraphs, a line break within one (XHTML for
    Atom content, where an unclosed <br> is not XML)."""
    br = "<br/>" if xhtml else "<br>"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [
        "<p>" + br.join(linked(line) for line in para.strip().split("\n")) + "</p>"
        for para in text.split("\n\n")
        if para.strip()
    ]


# -- words and times -------------------------------------------------------------------------------------


def _primary(lang: str) -> str:
    """The language without its region or script: "es" for "es-US"."""
    return lang.split("-", maxsplit=1)[0].lower()


def label(lang: str, key: str) -> tuple[str, str]:
    """The page's word for ``key`` in ``lang`` and the language it is really in (English when there is none)."""
    table = LABELS.get(_primary(lang))
    if table is None:
        return LABELS["en"][key], "en"
    return table[key], lang


def said(lang: str, key: str) -> str:
    """``label`` as HTML for a place whose language is ``lang``: marked when it is in another language."""
    text, actual = label(lang, key)
    return _e(text) if actual == lang else f'<span lang="{actual}">{_e(text)}</span>'


@functools.cache
def _babel(identifier: str) -> Locale:
    try:
        return Locale.parse(identifier)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


def _locale(lang: str) -> Locale:
    return _babel(locale_for(lang))


def moment(iso: str) -> datetime:
    value = datetime.fromisoformat(iso)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local_time(iso: str, tz_name: str, lang: str) -> tuple[str, str]:
    """(the instant for ``<time datetime>``, the words) for a stored UTC time, in the incident's zone.

    US English and US Spanish write the 12-hour clock; Spanish writes the day period "p. m." as the Spanish
    academies do (CLDR's es_US data has "p.m."). Other languages get their locale's own short time."""
    tz: tzinfo
    try:
        tz = zone(tz_name)
    except UserError:  # an entry written by hand with a zone this computer does not know: UTC, not no page
        tz = UTC
    local = moment(iso).astimezone(tz)
    base = _primary(lang)
    locale = _locale(lang)
    day = format_date(local, "full", locale=locale)
    if base in ("en", "es"):
        clock = format_time(local, "h:mm a", locale=_babel("es") if base == "es" else locale)
    else:
        clock = format_time(local, "short", locale=locale)
    zone_name = format_time(local, "z", locale=locale)
    return local.isoformat(timespec="seconds"), f"{day}, {clock} {zone_name}"


def time_element(iso: str, tz_name: str, lang: str) -> str:
    instant, words = local_time(iso, tz_name, lang)
    return f'<time datetime="{_e(instant)}">{_e(words)}</time>'


def atom_time(iso: str) -> str:
    """An RFC 3339 time in UTC, to the second (stored times carry microseconds)."""
    return moment(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- where the folder is read from -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    """The address the folder is read at: ``base_url`` when set (a web server serves the folder), else the
    folder's own file:// address (right on this computer only)."""

    base: str  # absolute, ending with "/"
    served: bool  # True when base is the base_url setting
    tag_authority: str | None  # the host name that tag: ids are minted under; None: urn:uuid ids
    tag_path: str  # the base's path, for the specific part of tag: ids

    @classmethod
    def of(cls, base_url: str, folder_uri: str) -> Site:
        if not base_url:
            return cls(folder_uri.rstrip("/") + "/", served=False, tag_authority=None, tag_path="")
        parts = urlsplit(base_url)
        host = (parts.hostname or "").rstrip(".")
        authority: str | None = None
        with contextlib.suppress(idna.IDNAError, UnicodeError):
            authority = idna.encode(host, uts46=True, transitional=False).decode("ascii") if host else None
        if authority and (re.fullmatch(r"[0-9.]+", authority) or ":" in host):
            authority = None  # an IP address is no DNS name: RFC 4151 tags need one
        path = quote(parts.path.strip("/"), safe="/:@!$&'()*+,;=-._~%")
        return cls(base_url.rstrip("/") + "/", served=True, tag_authority=authority, tag_path=path)

    def url(self, path: str) -> str:
        return self.base + quote(path, safe="/#:@!$&'()*+,;=-._~%")

    def mint(self, name: str, day: str) -> str:
        """A permanent id for ``name`` (``msg-…-v2``, ``atom.xml``): an RFC 4151 tag under the site's host,
        dated ``day`` (YYYY-MM-DD, when the name was first published), or a name-based UUID without one."""
        if self.tag_authority:
            specific = f"{self.tag_path}/{name}" if self.tag_path else name
            return f"tag:{self.tag_authority},{day}:{specific}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, self.base + name)}"


def anchor(entry: dict[str, Any]) -> str:
    return f"{entry['message']}-v{entry['version']}"


def entry_id(entry: dict[str, Any], site: Site) -> str:
    """The entry's Atom id: the one minted when it was written, or (an entry from before ids were kept) one
    minted the same way now, which stays the same on every render."""
    kept = entry.get("atom_id")
    if isinstance(kept, str) and kept:
        return kept
    return site.mint(anchor(entry), atom_time(entry["published_at"])[:10])


# -- the page --------------------------------------------------------------------------------------------


def _headline(entry: dict[str, Any], lang: str) -> str:
    texts = entry["texts"][lang]
    return str(texts.get("cap-headline") or texts.get("email-subject") or entry["title"])


def article(entry: dict[str, Any], earlier: bool, site: Site) -> str:
    """One message on the page: per language, a heading with the EXERCISE or LIVE marker in words, the text with
    its links, and when it was sent in the incident's time zone."""
    mode = "exercise" if entry["mode"] == "exercise" else "live"
    name = anchor(entry)
    langs = [lang for lang in entry["langs"] if lang in entry["texts"]] or list(entry["texts"])[:1]
    css = f"{'earlier' if earlier else 'current'} {mode}"
    out = [f'<article id="{_e(name)}" class="{css}" aria-labelledby="{_e(name)}-{_e(langs[0])}">']
    tz_name = str(entry.get("timezone") or "UTC")
    for lang in langs:
        lang_attr = _e(lang)
        out.append(f'<section lang="{lang_attr}">')
        out.append(
            f'<h3 id="{_e(name)}-{lang_attr}"><span class="mode">{said(lang, mode)}</span> '
            f"{_e(_headline(entry, lang))}</h3>"
        )
        if mode == "exercise":
            out.append(f'<p class="note">{said(lang, "exercise-note")}</p>')
        out += paragraphs(entry["texts"][lang].get("web") or "")
        kind = said(lang, entry["type"]) if entry["type"] in MESSAGE_TYPES else _e(entry["type"])
        cap = f' · <a href="{_e(site.url("cap/" + entry["cap"]))}">{said(lang, "cap")}</a>' if entry.get("cap") else ""
        out.append(
            f'<p class="meta">{kind} · {said(lang, "sent")} '
            f"{time_element(entry['published_at'], tz_name, lang)}{cap}</p>"
        )
        out.append("</section>")
    out.append("</article>")
    return "\n".join(out)


def _both(langs: Sequence[str], key: str, *, sep: str = " / ") -> str:
    """The page's word for ``key`` in its first language, then in each other one (marked with its language)."""
    first, *rest = langs
    words = [said(first, key)]
    words += [f'<span lang="{_e(lang)}">{_e(label(lang, key)[0])}</span>' for lang in rest if _primary(lang) in LABELS]
    return sep.join(words)


STYLE = (
    "body{font:1.1rem/1.5 system-ui,sans-serif;max-width:46rem;margin:auto;padding:1rem;color:#1a1a1a;"
    "background:#fff}a{color:#0645ad}a:visited{color:#5a2a82}h1{margin:.5rem 0}h2{margin:1.5rem 0 .5rem}"
    "h3{margin:.3rem 0;font-size:1.2rem}article{border-left:.4rem solid #b00020;padding:.2rem 1rem;margin:1rem 0}"
    "article.earlier{border-left-color:#6b6b6b;color:#333}"
    "article.exercise{border-left-style:dashed;background:#fff6d5}"
    "section+section{border-top:1px solid #ccc;margin-top:.6rem}"
    ".mode{display:inline-block;font-size:.8em;font-weight:700;letter-spacing:.06em;padding:0 .4em;"
    "border:2px solid;border-radius:.2em;vertical-align:.1em}"
    ".live .mode{background:#b00020;border-color:#b00020;color:#fff}"
    ".exercise .mode{background:#fff;border-style:dashed;color:#1a1a1a}"
    ".note{font-weight:700}.meta{color:#4a4a4a;font-size:.95rem}"
)


def page(
    *,
    title: str,
    langs: Sequence[str],
    current: Iterable[str],
    earlier: Iterable[str],
    updated: tuple[str, str] | None,
) -> bytes:
    """The whole page from rendered articles. ``langs`` are the page's languages, its main one first;
    ``updated`` is (UTC time, time zone) of the newest message, or None on a page with none."""
    main_lang = langs[0]
    current, earlier = list(current), list(earlier)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(main_lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        '<link rel="alternate" type="application/atom+xml" href="atom.xml" title="Atom">',
        '<link rel="alternate" type="application/atom+xml" href="cap/index.atom" title="CAP">',
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
    ]
    if updated is not None:
        at, tz_name = updated
        stamps = [f"{said(main_lang, 'updated')} {time_element(at, tz_name, main_lang)}"]
        stamps += [
            f'<span lang="{_e(lang)}">{_e(label(lang, "updated")[0])} {time_element(at, tz_name, lang)}</span>'
            for lang in langs[1:]
            if _primary(lang) in LABELS
        ]
        parts.append(f'<p class="meta">{" · ".join(stamps)}</p>')
    parts.append(
        f'<p class="meta">{_both(langs, "feeds")}: <a href="atom.xml">{said(main_lang, "feed")}</a> · '
        f'<a href="cap/index.atom">{said(main_lang, "cap-feed")}</a></p>'
    )
    parts += ["</header>", "<main>"]
    parts.append(f"<h2>{_both(langs, 'current')}</h2>")
    if current:
        parts += current
    else:
        parts.append(f"<p>{_both(langs, 'none', sep=' ')}</p>")
    if earlier:
        parts.append(f"<h2>{_both(langs, 'earlier')}</h2>")
        parts += earlier
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts).encode("utf-8")


# -- Atom ------------------------------------------------------------------------------------------------


def atom_entry(entry: dict[str, Any], cap_index: bool, site: Site) -> str:
    """One Atom entry: the first language's headline and text as title and summary, every language in the
    content (XHTML, each part marked with its language), absolute links, the kept id."""
    langs = [lang for lang in entry["langs"] if lang in entry["texts"]] or list(entry["texts"])[:1]
    first = langs[0]
    mode = "exercise" if entry["mode"] == "exercise" else "live"
    title = _headline(entry, first)
    if mode == "exercise":
        title = f"{label(first, 'exercise')[0]}: {title}"
    page_link = site.url(f"index.html#{anchor(entry)}")
    links = []
    if cap_index and entry.get("cap"):
        links.append(f'<link rel="alternate" type="application/cap+xml" href="{_e(site.url("cap/" + entry["cap"]))}"/>')
        links.append(f'<link rel="related" type="text/html" href="{_e(page_link)}"/>')
    else:
        links.append(f'<link rel="alternate" type="text/html" href="{_e(page_link)}"/>')
    parts = []
    for lang in langs:
        body = "".join(paragraphs(entry["texts"][lang].get("web") or "", xhtml=True))
        note = f"<p><strong>{_e(label(lang, 'exercise-note')[0])}</strong></p>" if mode == "exercise" else ""
        parts.append(
            f'<div xml:lang="{_e(lang)}" lang="{_e(lang)}"><h2>{_e(_headline(entry, lang))}</h2>{note}{body}</div>'
        )
    updated = atom_time(entry["published_at"])
    return (
        f'  <entry xml:lang="{_e(first)}">\n'
        f"    <id>{_e(entry_id(entry, site))}</id>\n"
        f"    <title>{_e(title)}</title>\n"
        f"    <updated>{updated}</updated>\n"
        f"    <published>{updated}</published>\n"
        + "".join(f"    {link}\n" for link in links)
        + f'    <category term="{mode}" label="{_e(label(first, mode)[0])}"/>\n'
        f'    <category term="{_e(entry["type"])}"/>\n'
        f"    <summary>{_e(entry['texts'][first].get('web') or title)}</summary>\n"
        f'    <content type="xhtml"><div xmlns="{XHTML}">{"".join(parts)}</div></content>\n'
        "  </entry>\n"
    )


def feed(
    *,
    title: str,
    author: str,
    lang: str,
    feed_id: str,
    self_path: str,
    site: Site,
    updated: str,
    entries: Iterable[str],
) -> bytes:
    """A whole Atom feed from rendered entries (text: lxml per entry per send cost a millisecond each)."""
    head = (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<feed xmlns="{ATOM}" xml:lang="{_e(lang)}">\n'
        f"  <title>{_e(title)}</title>\n"
        f"  <id>{_e(feed_id)}</id>\n"
        f"  <updated>{_e(updated)}</updated>\n"
        f'  <link rel="self" type="application/atom+xml" href="{_e(site.url(self_path))}"/>\n'
        f'  <link rel="alternate" type="text/html" href="{_e(site.url("index.html"))}"/>\n'
        f"  <author><name>{_e(author)}</name></author>\n"
    )
    return (head + "".join(entries) + "</feed>\n").encode("utf-8")

"""The local folder channel: a public web page, an Atom feed and CAP files with an index of active alerts.

It needs no account, so a new workstation can run a whole incident with nothing else. Layout::

    entries/<key>.json   one per message sent (the commit point: written and fsynced before anything else
                         refers to it; its presence is the receipt that ``lookup`` finds)
    cap/<message>-v<n>.xml  the CAP 1.2 document of each message sent
    cap/index.atom       CAP-in-Atom index of the active alerts (as weather services publish them)
    index.html           the public page: active alerts first, then earlier messages
    atom.xml             an Atom feed of every message (newest 50)

Every file is written to a temporary name in the same folder and renamed over the old one, so a reader (a
web server, a sync tool) never sees half a file. A message is *active* until a later message references it
(an update supersedes it; a cancel or all-clear ends it) or it is retracted.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import os
import re
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt
from crisisdesk.domain.accounts import Account

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
ENDING_TYPES = ("cancel", "all-clear")


def write_atomic(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (fsynced first when ``durable``)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # a public page: readable by the web server that serves the folder
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class FolderAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        path = account.setting("path")
        if not path:
            raise ChannelError(f"{account.name} has no folder: set one with --set path=FOLDER", permanent=True)
        self.root = Path(path).expanduser()
        self._entries: dict[str, dict[str, Any]] | None = None
        self._rendered: dict[tuple[str, str], str] = {}
        self._order: list[str] | None = None  # entry keys, oldest first
        self._ended: set[str] = set()  # messages referenced by a later one (superseded or ended)
        self._active: dict[str, dict[str, Any]] = {}

    @property
    def can_lookup(self) -> bool:
        return True

    @property
    def resend_is_safe(self) -> bool:
        return True  # an entry is named by its key: writing it again replaces it

    # -- the contract -----------------------------------------------------------------------------------

    def check(self) -> str:
        try:
            self._prepare()
            probe = self.root / ".crisisdesk-write-check"
            write_atomic(probe, b"ok")
            probe.unlink()
        except OSError as exc:
            raise ChannelError(f"cannot write to {self.root}: {exc.strerror or exc}", permanent=True) from None
        return f"{self.root} is writable"

    def send(self, post: Post) -> Receipt:
        langs = post.langs(self.account)
        cap_name = f"{post.message_id}-v{post.version}.xml" if post.cap else None
        entry: dict[str, Any] = {
            "key": post.key,
            "seq": time.time_ns(),
            "message": post.message_id,
            "version": post.version,
            "type": post.message_type,
            "mode": post.mode,
            "title": post.title,
            "published_at": post.published_at.astimezone(UTC).isoformat(),
            "references": list(post.references),
            "langs": langs,
            "texts": {lang: dict(post.texts[lang]) for lang in langs},
            "cap": cap_name,
            "retracted": False,
        }
        with self._locked():
            entries = self._load()
            if post.cap and cap_name:
                write_atomic(self.root / "cap" / cap_name, post.cap, durable=True)
            write_atomic(self._entry_path(post.key), orjson.dumps(entry), durable=True)
            fresh = post.key not in entries  # a resend replaces its entry: then the index is rebuilt
            entries[post.key] = entry
            self._publish(entries, entry if fresh else None)
        return self._receipt(entry)

    def lookup(self, post: Post) -> Receipt | None:
        with self._locked():
            entries = self._load(refresh=True)
            entry = entries.get(post.key)
            if entry is None:
                return None
            self._publish(entries)  # the process may have died before the page was written
            return self._receipt(entry)

    def retract(self, receipt: Receipt, post: Post) -> None:
        with self._locked():
            entries = self._load(refresh=True)
            entry = entries.get(receipt.remote_id)
            if entry is None:
                return  # never written, or removed by hand: nothing to take back
            entry = {**entry, "retracted": True}
            write_atomic(self._entry_path(entry["key"]), orjson.dumps(entry), durable=True)
            entries[entry["key"]] = entry
            if entry.get("cap"):
                with contextlib.suppress(FileNotFoundError):
                    (self.root / "cap" / entry["cap"]).unlink()
            self._publish(entries)

    # -- files ------------------------------------------------------------------------------------------

    def _prepare(self) -> None:
        for sub in ("entries", "cap"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def _entry_path(self, key: str) -> Path:
        return self.root / "entries" / f"{key}.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer per folder, across processes (two workstations' workers sharing a folder)."""
        try:
            self._prepare()
            with open(self.root / ".lock", "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        except OSError as exc:
            # A full disk or a read-only folder: the outbox keeps the message and tries again later.
            raise ChannelError(f"cannot write to {self.root}: {exc.strerror or exc}") from None

    def _load(self, *, refresh: bool = False) -> dict[str, dict[str, Any]]:
        if self._entries is None or refresh:
            entries = {}
            for path in (self.root / "entries").glob("*.json"):
                try:
                    entry = orjson.loads(path.read_bytes())
                except (OSError, orjson.JSONDecodeError):
                    continue  # a damaged entry is skipped, not fatal; its message can be sent again
                entries[entry["key"]] = entry
            self._entries = entries
        return self._entries

    def _receipt(self, entry: dict[str, Any]) -> Receipt:
        base = self.account.setting("base_url").rstrip("/")
        anchor = f"#{entry['message']}-v{entry['version']}"
        url = f"{base}/index.html{anchor}" if base else (self.root / "index.html").as_uri() + anchor
        return Receipt(remote_id=entry["key"], url=url)

    def _publish(self, entries: dict[str, dict[str, Any]], added: dict[str, Any] | None = None) -> None:
        """Rewrite the page, the feed and the CAP index from the entries (kept indexed between sends, so a
        send costs the same with ten entries or ten thousand)."""
        if added is None or not self._index_add(entries, added):
            self._index(entries)
        recent: list[dict[str, Any]] = []
        for key in reversed(self._order or []):
            if not entries[key]["retracted"]:
                recent.append(entries[key])
                if len(recent) == FEED_SIZE:
                    break
        active = list(reversed(self._active.values()))
        now = datetime.now(UTC).isoformat(timespec="seconds")
        write_atomic(self.root / "index.html", self._page(active, recent, now))
        write_atomic(self.root / "atom.xml", self._feed(recent, now, cap_index=False))
        write_atomic(self.root / "cap" / "index.atom", self._feed(active, now, cap_index=True))

    def _index(self, entries: dict[str, dict[str, Any]]) -> None:
        self._order = sorted(entries, key=lambda k: entries[k]["seq"])
        live = [entries[k] for k in self._order if not entries[k]["retracted"]]
        self._ended = {ref for e in live for ref in e["references"]}
        self._active = {e["key"]: e for e in live if e["message"] not in self._ended and e["type"] not in ENDING_TYPES}

    def _index_add(self, entries: dict[str, dict[str, Any]], entry: dict[str, Any]) -> bool:
        """Add the newest entry to the index; False when it is not simply the newest (then reindex)."""
        if (
            self._order is None
            or entry["key"] in self._active
            or (self._order and entries[self._order[-1]]["seq"] >= entry["seq"])
        ):
            return False
        self._order.append(entry["key"])
        refs = set(entry["references"])
        self._ended |= refs
        for key in [k for k, e in self._active.items() if e["message"] in refs]:
            del self._active[key]
        if entry["message"] not in self._ended and entry["type"] not in ENDING_TYPES:
            self._active[entry["key"]] = entry
        return True

    def _page(self, active: list[dict[str, Any]], recent: list[dict[str, Any]], now: str) -> bytes:
        title = html.escape(self.account.setting("title"))
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            '<link rel="alternate" type="application/atom+xml" href="atom.xml" title="All messages">',
            "<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:46rem;margin:auto;padding:1rem}"
            "article{border-left:.4rem solid #b00;padding:.2rem 1rem;margin:1rem 0}"
            "article.earlier{border-color:#888;color:#333}.exercise{background:#fff3c4}"
            "h2{margin:.3rem 0}.meta{color:#555;font-size:.9rem}</style></head><body>",
            f"<h1>{title}</h1>",
            f'<p class="meta">Updated {html.escape(now)}. <a href="atom.xml">Atom feed</a> · '
            '<a href="cap/index.atom">CAP alerts</a></p>',
        ]
        if active:
            parts.append("<h2>Current alerts</h2>")
            parts += [self._cached("article-current", e, self._article) for e in active]
        else:
            parts.append("<p>There are no current alerts.</p>")
        shown = {e["key"] for e in active}
        earlier = [e for e in recent if e["key"] not in shown]
        if earlier:
            parts.append("<h2>Earlier messages</h2>")
            parts += [self._cached("article-earlier", e, self._article) for e in earlier]
        parts.append("</body></html>")
        return "\n".join(parts).encode("utf-8")

    def _cached(self, kind: str, entry: dict[str, Any], build: Any) -> str:
        """An entry's rendering is kept: entries do not change, except when retracted (then they are not shown)."""
        key = (kind, entry["key"])
        found = self._rendered.get(key)
        if found is None:
            found = build(entry, kind)
            self._rendered[key] = found
        return str(found)

    @staticmethod
    def _article(entry: dict[str, Any], kind: str) -> str:
        css = kind.removeprefix("article-")
        exercise = " exercise" if entry["mode"] == "exercise" else ""
        out = [f'<article id="{entry["message"]}-v{entry["version"]}" class="{css}{exercise}">']
        for lang in entry["langs"]:
            texts = entry["texts"][lang]
            heading = texts.get("cap-headline") or texts.get("email-subject") or entry["title"]
            out.append(f'<section lang="{html.escape(lang)}"><h3>{html.escape(heading)}</h3>')
            for para in (texts.get("web") or "").split("\n\n"):
                if para.strip():
                    out.append("<p>" + html.escape(para.strip()).replace("\n", "<br>") + "</p>")
            out.append("</section>")
        cap = f' · <a href="cap/{html.escape(entry["cap"])}">CAP</a>' if entry.get("cap") else ""
        out.append(
            f'<p class="meta">{html.escape(entry["type"])} · {html.escape(entry["published_at"])}{cap}</p></article>'
        )
        return "\n".join(out)

    def _feed(self, entries: list[dict[str, Any]], now: str, *, cap_index: bool) -> bytes:
        """Atom, written as text from cached, escaped entries (lxml per entry per send cost a millisecond each)."""
        title = self.account.setting("title") + (": active CAP alerts" if cap_index else "")
        kind = "cap" if cap_index else "all"
        head = (
            "<?xml version='1.0' encoding='utf-8'?>\n"
            f'<feed xmlns="{ATOM}">\n'
            f"  <title>{_x(title)}</title>\n"
            f"  <id>urn:crisisdesk:{_x(self.account.id)}:{kind}</id>\n"
            f"  <updated>{_x(now)}</updated>\n"
            f"  <author><name>{_x(self.account.setting('title'))}</name></author>\n"
        )
        body = "".join(self._cached(f"atom-{kind}", e, self._atom_entry) for e in entries)
        return (head + body + "</feed>\n").encode("utf-8")

    def _atom_entry(self, e: dict[str, Any], kind: str) -> str:
        base = self.account.setting("base_url").rstrip("/")
        texts = e["texts"][e["langs"][0]]
        title = texts.get("cap-headline") or texts.get("email-subject") or e["title"]
        if kind == "atom-cap" and e.get("cap"):
            href = f"{base}/cap/{e['cap']}" if base else e["cap"]
            link = f'    <link rel="alternate" type="application/cap+xml" href="{_x(href)}"/>\n'
        else:
            anchor = f"index.html#{e['message']}-v{e['version']}"
            link = f'    <link rel="alternate" href="{_x(f"{base}/{anchor}" if base else anchor)}"/>\n'
        summary = "\n\n".join(e["texts"][x].get("web", "") for x in e["langs"])
        return (
            "  <entry>\n"
            f"    <id>urn:crisisdesk:{_x(e['message'])}:v{e['version']}</id>\n"
            f"    <title>{_x(title)}</title>\n"
            f"    <updated>{_x(e['published_at'])}</updated>\n"
            f"{link}"
            f"    <summary>{_x(summary)}</summary>\n"
            "  </entry>\n"
        )


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str) -> str:
    """Text or an attribute value for XML: escaped, and without characters XML 1.0 cannot carry."""
    return html.escape(_NOT_XML.sub("", text), quote=True)

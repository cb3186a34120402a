"""The local folder channel: a public web page, an Atom feed and CAP files with an index of active alerts.

It needs no account, so a new workstation can run a whole incident with nothing else. Layout::

    entries/<key>.json   one per message sent (the commit point: written and fsynced before anything else
                         refers to it; its presence is the receipt that ``lookup`` finds)
    cap/<message>-v<n>.xml  the CAP 1.2 document of each message sent
    cap/index.atom       CAP-in-Atom index of the active alerts (as weather services publish them)
    index.html           the public page: active alerts first, then earlier messages
    atom.xml             an Atom feed of every message (newest 50)

Every file is written to a temporary name in the same folder and renamed over the old one, so a reader (a
web server, a sync tool) never sees half a file. ``public_page`` writes what residents read.

Links in the feeds are absolute. With ``base_url`` (the address a web server serves the folder at) they are
under it, and entry ids are RFC 4151 tags under its host (``tag:alerts.example.gov,2026-11-22:msg-…-v1``).
Without it, the folder is read on this computer only: links are its file:// address and ids are name-based
UUIDs. An entry's id is minted when it is first written and kept in its file, so it never changes.

A message is *active* until a later message references it (an update supersedes it; a cancel or all-clear
ends it) or it is retracted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from crisisdesk.channels import public_page
from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt
from crisisdesk.domain.accounts import Account

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
        # Links in the feeds are absolute: under base_url when the folder is served, else its file:// address.
        self.site = public_page.Site.of(account.setting("base_url"), self.root.absolute().as_uri())
        self._entries: dict[str, dict[str, Any]] | None = None
        self._rendered: dict[tuple[str, str], str] = {}
        self._order: list[str] | None = None  # entry keys, oldest first
        self._ended: set[str] = set()  # messages referenced by a later one (superseded or ended)
        self._active: dict[str, dict[str, Any]] = {}
        self._first_day: str | None = None  # the date of the folder's first message: feed ids are dated by it

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
        if not self.site.served:
            return (
                f"{self.root} is writable; base_url is not set, so the feeds link to file:// addresses on this "
                "computer: to publish the folder on a web server, add the channel again with "
                "--set base_url=https://ADDRESS-OF-THE-FOLDER"
            )
        return f"{self.root} is writable; the page and the feeds are read at {self.site.base}"

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
            "timezone": post.timezone,
            "references": list(post.references),
            "langs": langs,
            "texts": {lang: dict(post.texts[lang]) for lang in langs},
            "cap": cap_name,
            "retracted": False,
        }
        with self._locked():
            entries = self._load()
            earlier = entries.get(post.key)
            # The Atom id is minted once, when the entry is first written, and kept: a resend, a new base_url
            # or a later version of crisisdesk never changes what feed readers know the entry by.
            entry["atom_id"] = (earlier or {}).get("atom_id") or public_page.entry_id(entry, self.site)
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
        return Receipt(remote_id=entry["key"], url=self.site.url(f"index.html#{public_page.anchor(entry)}"))

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
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        write_atomic(self.root / "index.html", self._page(active, recent, now))
        write_atomic(self.root / "atom.xml", self._feed(recent, now, cap_index=False))
        write_atomic(self.root / "cap" / "index.atom", self._feed(active, now, cap_index=True))

    def _index(self, entries: dict[str, dict[str, Any]]) -> None:
        self._order = sorted(entries, key=lambda k: entries[k]["seq"])
        live = [entries[k] for k in self._order if not entries[k]["retracted"]]
        self._ended = {ref for e in live for ref in e["references"]}
        self._active = {e["key"]: e for e in live if e["message"] not in self._ended and e["type"] not in ENDING_TYPES}
        self._first_day = min((public_page.atom_time(e["published_at"])[:10] for e in entries.values()), default=None)

    def _index_add(self, entries: dict[str, dict[str, Any]], entry: dict[str, Any]) -> bool:
        """Add the newest entry to the index; False when it is not simply the newest (then reindex)."""
        if (
            self._order is None
            or entry["key"] in self._active
            or (self._order and entries[self._order[-1]]["seq"] >= entry["seq"])
        ):
            return False
        self._order.append(entry["key"])
        day = public_page.atom_time(entry["published_at"])[:10]
        self._first_day = min(self._first_day or day, day)
        refs = set(entry["references"])
        self._ended |= refs
        for key in [k for k, e in self._active.items() if e["message"] in refs]:
            del self._active[key]
        if entry["message"] not in self._ended and entry["type"] not in ENDING_TYPES:
            self._active[entry["key"]] = entry
        return True

    def _page(self, active: list[dict[str, Any]], recent: list[dict[str, Any]], now: str) -> bytes:
        shown = {e["key"] for e in active}
        earlier = [e for e in recent if e["key"] not in shown]
        newest = max([*active, *recent], key=lambda e: e["seq"], default=None)  # its zone is the page's
        return public_page.page(
            title=self.account.setting("title"),
            langs=self._page_langs([*active, *earlier]),
            current=[self._cached("article-current", e, self._article) for e in active],
            earlier=[self._cached("article-earlier", e, self._article) for e in earlier],
            updated=(now, newest.get("timezone") or "UTC") if newest else None,
        )

    def _page_langs(self, shown: list[dict[str, Any]]) -> list[str]:
        """The page's languages, its main one first: the account's langs setting, else those of its messages."""
        wanted = [x.strip() for x in self.account.setting("langs").split(",") if x.strip()]
        found = wanted or list(dict.fromkeys(lang for e in shown for lang in e["langs"]))
        return found or ["en"]

    def _cached(self, kind: str, entry: dict[str, Any], build: Any) -> str:
        """An entry's rendering is kept: entries do not change, except when retracted (then they are not shown)."""
        key = (kind, entry["key"])
        found = self._rendered.get(key)
        if found is None:
            found = build(entry, kind)
            self._rendered[key] = found
        return str(found)

    def _article(self, entry: dict[str, Any], kind: str) -> str:
        return public_page.article(entry, kind == "article-earlier", self.site)

    def _atom_entry(self, entry: dict[str, Any], kind: str) -> str:
        return public_page.atom_entry(entry, kind == "atom-cap", self.site)

    def _feed(self, entries: list[dict[str, Any]], now: str, *, cap_index: bool) -> bytes:
        title = self.account.setting("title")
        kind = "cap" if cap_index else "all"
        self_path = "cap/index.atom" if cap_index else "atom.xml"
        return public_page.feed(
            title=title + (": active CAP alerts" if cap_index else ""),
            author=title,
            lang=self._page_langs(entries)[0],
            feed_id=self._feed_id(self_path),
            self_path=self_path,
            site=self.site,
            updated=now,
            entries=[self._cached(f"atom-{kind}", e, self._atom_entry) for e in entries],
        )

    def _feed_id(self, path: str) -> str:
        """A feed's id, the same on every render: minted under the site, dated by the folder's first message
        (a feed is only written once the folder has one)."""
        return self.site.mint(path, self._first_day or datetime.now(UTC).strftime("%Y-%m-%d"))

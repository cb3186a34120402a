"""The local folder channel on its own: files written whole, valid XML whatever the text, retraction."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from crisisdesk.channels.base import Post
from crisisdesk.channels.folder import FolderAdapter
from crisisdesk.domain.accounts import Account, AccountKind

ATOM = "{http://www.w3.org/2005/Atom}"


def post(key: str, text: str, *, references: tuple[str, ...] = (), kind: str = "alert") -> Post:
    return Post(
        row=f"ob-{key[:12]}",
        key=key,
        message_id=f"msg-{key[:6]}",
        version=1,
        content_hash="0" * 64,
        message_type=kind,
        mode="live",
        title="Flood <warning> & more",
        texts={"en": {"web": text, "cap-headline": text[:40], "email-subject": "s"}},
        published_at=datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        cap=b"<alert/>",
        references=references,
    )


def test_hostile_text_still_makes_valid_feeds_and_an_escaped_page(tmp_path: Path) -> None:
    account = Account("ch-1", "page", AccountKind.FOLDER, False, {"path": str(tmp_path), "title": "A & B <alerts>"})
    adapter = FolderAdapter(account, None)
    text = 'Water <script>alert(1)</script> & "rising"\x01\x0b now\n\nSecond paragraph'
    receipt = adapter.send(post("a" * 64, text))
    assert receipt.remote_id == "a" * 64 and receipt.url and receipt.url.endswith("#msg-aaaaaa-v1")
    feed = etree.parse(str(tmp_path / "atom.xml"))
    (summary,) = feed.iter(f"{ATOM}summary")
    assert summary.text == 'Water <script>alert(1)</script> & "rising" now\n\nSecond paragraph'
    assert feed.find(f"{ATOM}title").text == "A & B <alerts>"
    index = etree.parse(str(tmp_path / "cap" / "index.atom"))
    (entry,) = index.iter(f"{ATOM}entry")
    cap_links = [link.get("href") for link in entry.iter(f"{ATOM}link") if link.get("type") == "application/cap+xml"]
    assert cap_links == [(tmp_path / "cap" / "msg-aaaaaa-v1.xml").as_uri()]  # absolute: no base_url, the folder
    page = (tmp_path / "index.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # no half-written files left
    assert oct((tmp_path / "index.html").stat().st_mode & 0o777) == "0o644"


def test_an_update_supersedes_and_a_cancel_ends_an_alert(tmp_path: Path) -> None:
    account = Account("ch-1", "page", AccountKind.FOLDER, False, {"path": str(tmp_path)})
    adapter = FolderAdapter(account, None)
    adapter.send(post("a" * 64, "the alert"))
    adapter.send(post("b" * 64, "the update", references=("msg-aaaaaa",), kind="update"))
    index = (tmp_path / "cap" / "index.atom").read_text()
    assert "msg-bbbbbb-v1.xml" in index and "msg-aaaaaa-v1.xml" not in index
    adapter.send(post("c" * 64, "cancelled", references=("msg-bbbbbb",), kind="cancel"))
    assert "<entry>" not in (tmp_path / "cap" / "index.atom").read_text()
    assert "There are no current alerts" in (tmp_path / "index.html").read_text()
    # A fresh adapter (a restarted worker) finds every entry by its key.
    again = FolderAdapter(account, None)
    assert again.lookup(post("b" * 64, "the update")) is not None
    assert again.lookup(post("d" * 64, "never sent")) is None

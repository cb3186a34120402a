"""The public page and its feeds, read by real clients: axe-core in headless Chromium, and feedparser.

The page under test holds LIVE and EXERCISE messages in English and Spanish, current and earlier, with links
and hostile text. One folder never gets both modes in use (an exercise channel may not share a live one's
folder); the adapter is driven directly here so that one page shows every kind of article at once.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import orjson
import pytest
from lxml import etree

from crisisdesk.app import App
from crisisdesk.channels.base import Post
from crisisdesk.channels.folder import FolderAdapter
from crisisdesk.domain.accounts import Account, AccountKind
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Actor
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support import browser

ATOM = "http://www.w3.org/2005/Atom"
BASE = "https://alerts.millcounty.example/public"
CHICAGO = "America/Chicago"
HOSTILE = (
    'Water <script>alert(1)</script> & "rising" <img src=x onerror=alert(1)>. '
    'Not links: javascript:alert(1) and data:text/html,<b>x</b>; a trap: https://x.example/"onmouseover="alert(1)'
)
# Axe rules that must have run and passed on the page: what makes it usable, and a check that is not vacuous.
MUST_PASS = {
    "html-has-lang",
    "html-lang-valid",
    "valid-lang",
    "landmark-one-main",
    "region",
    "page-has-heading-one",
    "heading-order",
    "empty-heading",
    "color-contrast",
    "link-name",
    "link-in-text-block",
    "document-title",
    "duplicate-id-aria",
    "aria-valid-attr-value",
}


def post(
    key: str,
    *,
    mode: str = "live",
    kind: str = "alert",
    en: str = "Flash flooding on Mill Creek. Move to higher ground now.",
    es: str = "Inundaciones repentinas en Mill Creek. Busque terreno alto ahora.",
    references: tuple[str, ...] = (),
    at: datetime = datetime(2026, 11, 23, 3, 30, tzinfo=UTC),  # 9:30 PM on Sunday the 22nd in Chicago
) -> Post:
    return Post(
        row=f"ob-{key}",
        key=key * 64,
        message_id=f"msg-{key * 6}",
        version=1,
        content_hash="0" * 64,
        message_type=kind,
        mode=mode,
        title="Mill Creek flood",
        texts={
            "en": {"web": en, "cap-headline": "Flash Flood Warning", "email-subject": "Flash Flood Warning"},
            "es": {"web": es, "cap-headline": "Aviso de inundación repentina", "email-subject": "Aviso"},
        },
        published_at=at,
        cap=b"<alert/>",
        references=references,
        timezone=CHICAGO,
    )


def folder(path: Path, **settings: str) -> FolderAdapter:
    values = {"path": str(path), "title": "Mill County alerts", **settings}
    return FolderAdapter(Account("ch-page", "public-page", AccountKind.FOLDER, False, values), None)


def full_page(path: Path, **settings: str) -> FolderAdapter:
    """A folder with a LIVE alert superseded by an update, an EXERCISE alert with links and hostile text."""
    adapter = folder(path, **settings)
    adapter.send(
        post(
            "a",
            en="Flash flooding on Mill Creek. Details: https://millcounty.example/flood?zone=4&lang=en.\n\n"
            "Shelters: Lincoln High School (www.millcounty.example/shelters).",
            es="Inundaciones repentinas en Mill Creek. Detalles: https://millcounty.example/flood?zone=4&lang=es.",
        )
    )
    adapter.send(
        post(
            "b",
            mode="exercise",
            en=f"DRILL. {HOSTILE}\nSee www.ready.gov/floods.",
            es="SIMULACRO. Vea https://www.ready.gov/es/inundaciones.",
            at=datetime(2026, 11, 23, 4, 5, tzinfo=UTC),
        )
    )
    adapter.send(
        post(
            "c",
            kind="update",
            references=("msg-aaaaaa",),
            en="Water is still rising on Mill Creek.",
            es="El agua sigue subiendo en Mill Creek.",
            at=datetime(2026, 7, 1, 14, 0, tzinfo=UTC),  # summer: CDT
        )
    )
    return adapter


def test_the_page_passes_axe_core_in_chromium_with_best_practices(tmp_path: Path) -> None:
    full_page(tmp_path / "public-page", base_url=BASE)
    # The other state residents see: no current alert (the only one was cancelled).
    quiet = folder(tmp_path / "public-page-quiet")
    quiet.send(post("d"))
    quiet.send(post("e", kind="cancel", references=("msg-dddddd",), en="The warning is cancelled.", es="Cancelado."))
    pages = [tmp_path / "public-page" / "index.html", tmp_path / "public-page-quiet" / "index.html"]
    assert "There are no current alerts." in pages[1].read_text()
    shots = Path(os.environ.get("CRISISDESK_SCREENSHOTS") or tmp_path)
    report = browser.axe(pages, shots=shots)
    assert report["axe"] == "4.14.1" and "Chrome" in report["browser"]
    for found in report["pages"]:
        problems = [f"{v['id']} ({v['help']}): {v['nodes'][:3]}" for v in found["violations"]]
        assert problems == [], f"{found['path']}:\n" + "\n".join(problems)
        assert found["incomplete"] == [], found["incomplete"]  # nothing left for a person to judge either
        assert set(found["passes"]) >= MUST_PASS, MUST_PASS - set(found["passes"])
    assert (shots / "public-page.png").stat().st_size > 10_000 and (shots / "public-page-quiet.png").is_file()
    # A phone-sized window too: the same page, no violation.
    narrow = browser.axe(pages[:1], width=360)
    assert narrow["pages"][0]["violations"] == []


class _Tags(HTMLParser):
    """Every element and attribute of a page, and the text of each <a>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_message_text_never_becomes_markup_and_addresses_become_links(tmp_path: Path) -> None:
    full_page(tmp_path, base_url=BASE)
    page = (tmp_path / "index.html").read_text()
    parsed = _Tags()
    parsed.feed(page)
    body_tags = {tag for tag, _ in parsed.tags}
    allowed = "html head meta title link style body header h1 h2 h3 p main article section span time a br"
    assert body_tags <= set(allowed.split()), body_tags
    assert all(not name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    hrefs = [attrs["href"] for tag, attrs in parsed.tags if tag == "a"]
    assert "https://millcounty.example/flood?zone=4&lang=en" in hrefs  # the full stop after it is not in it
    assert "https://www.millcounty.example/shelters" in hrefs  # www. without a scheme, without the ")"
    assert "https://www.ready.gov/floods" in hrefs and "https://www.ready.gov/es/inundaciones" in hrefs
    assert "https://x.example/" in hrefs  # the trap's address ends at the quote; the rest stays text
    assert all(h and (h.startswith(("https://", "atom.xml", "cap/"))) for h in hrefs), hrefs
    text = "".join(parsed.text)
    assert '<script>alert(1)</script> & "rising" <img src=x onerror=alert(1)>' in text  # shown, as text
    assert "javascript:alert(1)" in text and 'https://x.example/"onmouseover="alert(1)' in text


def test_each_alert_has_a_heading_its_marker_in_words_and_times_in_the_incident_zone(tmp_path: Path) -> None:
    full_page(tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">') and page.count("<main>") == 1
    articles = re.findall(r'<article id="([^"]+)" class="([^"]+)"', page)
    assert articles == [
        ("msg-cccccc-v1", "current live"),
        ("msg-bbbbbb-v1", "current exercise"),
        ("msg-aaaaaa-v1", "earlier live"),
    ]
    headings = re.findall(r'<h3 id="[^"]+"><span class="mode">([^<]+)</span> ([^<]+)</h3>', page)
    assert ("EXERCISE", "Flash Flood Warning") in headings and (
        "SIMULACRO",
        "Aviso de inundación repentina",
    ) in headings
    assert ("LIVE", "Flash Flood Warning") in headings and ("REAL", "Aviso de inundación repentina") in headings
    assert "This is an exercise message, not a real emergency." in page
    assert "Este es un mensaje de simulacro, no una emergencia real." in page
    # Times in the incident's zone, as each language writes them in the US (babel puts a narrow no-break space
    # inside "p. m.", so the day period is never split across lines).
    assert '<time datetime="2026-11-22T21:30:00-06:00">Sunday, November 22, 2026, 9:30 PM CST</time>' in page
    assert (
        '<time datetime="2026-11-22T21:30:00-06:00">domingo, 22 de noviembre de 2026, 9:30 p.\u202fm. CST</time>'
        in page
    )
    assert '<time datetime="2026-07-01T09:00:00-05:00">Wednesday, July 1, 2026, 9:00 AM CDT</time>' in page
    assert "miércoles, 1 de julio de 2026, 9:00 a.\u202fm. CDT" in page
    assert "+00:00" not in page and ".000" not in page  # no raw UTC ISO text left


def feed_of(path: Path) -> Any:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path}: {parsed.get('bozo_exception')}"
    return parsed


def test_feedparser_reads_every_feed_with_absolute_links_self_language_and_tag_ids(tmp_path: Path) -> None:
    adapter = full_page(tmp_path, base_url=BASE)
    assert adapter.check().endswith(f"the page and the feeds are read at {BASE}/")
    for name, kind, count in (("atom.xml", "all", 3), ("cap/index.atom", "cap", 2)):
        parsed = feed_of(tmp_path / name)
        feed = parsed.feed
        assert feed.language == "en"
        (self_link,) = [link.href for link in feed.links if link.rel == "self"]
        assert self_link == f"{BASE}/{name}"
        assert [link.href for link in feed.links if link.rel == "alternate"] == [f"{BASE}/index.html"]
        assert feed.id == f"tag:alerts.millcounty.example,2026-07-01:public/{name}"  # dated by the first message
        assert len(parsed.entries) == count
        for entry in parsed.entries:
            assert entry.id.startswith("tag:alerts.millcounty.example,2026-"), entry.id
            assert all(link.href.startswith(f"{BASE}/") for link in entry.links), entry.links
            assert entry.updated_parsed and entry.published_parsed
        if kind == "cap":
            cap_links = [link.href for e in parsed.entries for link in e.links if link.type == "application/cap+xml"]
            assert cap_links == [f"{BASE}/cap/msg-cccccc-v1.xml", f"{BASE}/cap/msg-bbbbbb-v1.xml"]
    parsed = feed_of(tmp_path / "atom.xml")
    exercise = next(e for e in parsed.entries if e.id.endswith("msg-bbbbbb-v1"))
    assert exercise.title.startswith("EXERCISE: ") and {t.term for t in exercise.tags} == {"exercise", "alert"}
    assert exercise.id == "tag:alerts.millcounty.example,2026-11-23:public/msg-bbbbbb-v1"
    content = exercise.content[0].value
    assert '<a href="https://www.ready.gov/floods">' in content and "<script" not in content
    assert "SIMULACRO" in content and "no una emergencia real" in content  # every language in the content


def test_ids_are_minted_once_and_stay_across_renders_restarts_and_resends(tmp_path: Path) -> None:
    adapter = full_page(tmp_path, base_url=BASE)
    before = {e.link: e.id for e in feed_of(tmp_path / "atom.xml").entries}
    feed_id = feed_of(tmp_path / "atom.xml").feed.id
    adapter.send(post("f", kind="update", references=("msg-cccccc",), at=datetime(2026, 11, 23, 6, 0, tzinfo=UTC)))
    adapter.send(post("b", mode="exercise", en="sent again", at=datetime(2026, 11, 23, 4, 5, tzinfo=UTC)))
    again = folder(tmp_path, base_url="https://elsewhere.example")  # a restarted worker, another address
    assert again.lookup(post("a")) is not None  # re-renders the page and the feeds
    after = {e.id for e in feed_of(tmp_path / "atom.xml").entries}
    assert set(before.values()) <= after and len(after) == 4
    assert feed_of(tmp_path / "atom.xml").feed.id == "tag:elsewhere.example,2026-07-01:atom.xml" != feed_id
    # An entry written before ids were kept gets one minted the same way on every render.
    entry_file = tmp_path / "entries" / ("a" * 64 + ".json")
    old = orjson.loads(entry_file.read_bytes())
    del old["atom_id"]
    entry_file.write_bytes(orjson.dumps(old))
    for _ in range(2):
        folder(tmp_path, base_url=BASE).lookup(post("a"))
        ids = {e.id for e in feed_of(tmp_path / "atom.xml").entries}
        assert "tag:alerts.millcounty.example,2026-11-23:public/msg-aaaaaa-v1" in ids


def test_without_base_url_the_feeds_use_the_folder_address_and_say_so(tmp_path: Path) -> None:
    adapter = full_page(tmp_path)
    assert "base_url is not set, so the feeds link to file:// addresses" in adapter.check()
    parsed = feed_of(tmp_path / "atom.xml")
    assert len(parsed.entries) == 3
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", e.id) for e in parsed.entries)
    feed_of(tmp_path / "cap" / "index.atom")
    # The addresses as written (feedparser folds "file:///" into "file://", so the file is read as XML here).
    feed = etree.parse(str(tmp_path / "atom.xml")).getroot()
    links = {(link.getparent().tag, link.get("rel")): link.get("href") for link in feed.iter(f"{{{ATOM}}}link")}
    assert links[(f"{{{ATOM}}}feed", "self")] == (tmp_path / "atom.xml").as_uri()
    assert all(href.startswith(tmp_path.as_uri() + "/") for href in links.values()), links


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


def test_a_published_alert_shows_its_time_in_the_incident_zone(core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page"])
    assert core.outbox().run_once().sent == 1
    zone = ZoneInfo(core.incidents().get(team["vic"], inc).timezone)
    page = (Path(core.channels().get("public-page").settings["path"]) / "index.html").read_text()
    (article,) = re.findall(rf'<article id="{msg.id}-v{msg.version}".*?</article>', page, re.DOTALL)
    sent = core.clock.now().astimezone(zone)  # the test clock is fixed: the publish happened at this time
    assert f'<time datetime="{sent.isoformat(timespec="seconds")}">' in article
    assert sent.strftime("%-I:%M %p") in article  # 12-hour US time in English


def test_a_missing_chromium_fails_under_ci_and_skips_with_the_reason_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CRISISDESK_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no chromium on it
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing under CI: Chromium is not installed"):
        browser.chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium"):
        browser.chromium()


@pytest.mark.parametrize(
    ("base_url", "said"),
    [
        ("ftp://alerts.millcounty.example/", "is not a web address: give an http:// or https:// address"),
        ("alerts.millcounty.example/public", "is not a web address"),
        ("https://alerts.millcounty.example/public?x=1", "a base address takes no '?' or '#'"),
        ("https://clerk:pw@alerts.millcounty.example/", "holds a password"),
    ],
)
def test_a_base_url_that_cannot_be_the_folder_address_is_refused(
    core: App, admin: Actor, tmp_path: Path, base_url: str, said: str
) -> None:
    with pytest.raises(UserError, match=re.escape(said)):
        core.channels().add(admin, "folder", "served", settings=[f"path={tmp_path}", f"base_url={base_url}"])
    account = core.channels().add(admin, "folder", "served", settings=[f"path={tmp_path}", f"base_url={BASE}/"])
    assert account.setting("base_url") == f"{BASE}/"
    assert core.channels().test(admin, "served").endswith(f"the page and the feeds are read at {BASE}/")

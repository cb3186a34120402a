"""Hostile text in the after-action report: the scenario's words and the controller's (a name, a summary, an
objective's title, a note for the players, a rating's note, strengths, areas, plan rows) with markup, script, bidi
overrides, control characters, 10,000-character fields and words that never break. The HTML stays inert, and the
PDF is made and keeps every word on its page (pdftotext -bbox), each page turned into a PNG by pdftoppm."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from lxml import html as lxml_html

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.services.after_action import PlanRow
from tests.integration.drill_helpers import controller, scenario_text, write_scenario

MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)> {{ 7*7 }} &amp;"
BIDI = "\u202eevil\u202c \u2066iso\u2069 \u202bemb"
CONTROLS = "bell\x07 escape\x1b[31m del\x7f c1\x85\x9b"
LONG_WORD = "W" * 1990


def poppler() -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm and pdftotext (poppler-utils): .ci/run installs them")
        pytest.skip("pdftoppm and pdftotext (poppler-utils) read the PDF")


def hostile_scenario(folder: Path) -> Path:
    text = scenario_text()
    text = text.replace("name: Test flash flood", f"name: 'Flood {MARKUP} {BIDI}'")
    text = text.replace(
        "summary: A flash flood on Mill Creek, for the drill service's tests.", "summary: " + "S" * 10_000
    )
    text = text.replace("who: PIO desk", "who: '<b>PIO</b> desk'")
    text = text.replace("text: Add the shelter at Mill Creek High School to the next update.", "text: " + "N" * 10_000)
    text = text.replace(
        "title: Alert the public within 10 minutes of the first report", "title: '<i>Alert</i> " + "T" * 3_000 + "'"
    )
    return write_scenario(folder, text)


@pytest.fixture
def exported(core: App, admin: Actor, tmp_path: Path) -> tuple[str, Path]:
    eve = controller(core, admin)
    drills, aar = core.drills(), core.after_action()
    drill = drills.load(eve, hostile_scenario(tmp_path / "s")).id
    drills.start(eve, drill, compression=60)
    drills.jump(eve, drill, "late-report")
    drills.end(eve, drill)
    aar.rate(eve, drill, "first-alert", "M", f"{MARKUP} {BIDI} {CONTROLS} " + LONG_WORD[:1800])
    aar.edit_objective(
        eve, drill, "first-alert", strengths=[MARKUP, LONG_WORD, BIDI, CONTROLS], areas=[MARKUP * 20, LONG_WORD]
    )
    row = PlanRow(MARKUP, LONG_WORD, "Public Information and Warning", BIDI + CONTROLS, date(2026, 12, 1), None)
    aar.set_plan(eve, drill, [row, row])
    out = tmp_path / "out"
    aar.export(eve, drill, out)
    return drill, out


def test_the_report_html_stays_inert_whatever_the_text(exported: tuple[str, Path]) -> None:
    drill, out = exported
    page = (out / f"{drill}-aar.html").read_text(encoding="utf-8")
    doc = lxml_html.fromstring(page)
    assert doc.xpath("//script") == [] and doc.xpath("//img") == [] and doc.xpath("//iframe") == []
    assert doc.xpath("//@*[starts-with(name(), 'on')]") == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as the words they are
    assert "{{ 7*7 }}" in page  # not a template: never evaluated


def test_the_page_keeps_no_bidi_override_or_control_character(exported: tuple[str, Path]) -> None:
    drill, out = exported
    page = (out / f"{drill}-aar.html").read_text(encoding="utf-8")
    note = page[page.index("bell") - 200 : page.index("bell") + 200]
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", page), "a bidi override in the page (the scenario's name)"
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", page), "a control character in the page"
    assert "evil" in note and "bell" in note and "escape" in note  # the words themselves are kept


def test_the_report_pdf_keeps_every_word_on_its_page(exported: tuple[str, Path], tmp_path: Path) -> None:
    poppler()
    drill, out = exported
    pdf = out / f"{drill}-aar.pdf"
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = re.findall(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', boxes, re.S)
    assert len(pages) >= 2
    outside = [
        (n, word)
        for n, (width, _height, body) in enumerate(pages, start=1)
        for x_max, word in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<', body)
        if float(x_max) > float(width) + 0.5
    ]
    assert outside == [], f"{len(outside)} words run past the page's right edge, e.g. {outside[:3]}"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    assert len(list(tmp_path.glob("page-*.png"))) == len(pages)

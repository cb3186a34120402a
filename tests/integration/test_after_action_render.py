"""The report's page and charts from synthetic drills (the event lists of tests/domain/test_evaluation.py): what
a person reading the AAR sees for ratings, skipped injects and the timeline chart."""

from __future__ import annotations

from pathlib import Path

from lxml import html as lxml_html

from crisisdesk.services import aar_render
from tests.domain.test_evaluation import Log

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "aar"


def page(log: Log, **kw: object) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(aar_render.html(log.evaluate(**kw), TEMPLATES))


def responses(tree: lxml_html.HtmlElement) -> dict[str, list[str]]:
    """The per-inject responses table: label -> its cells' text."""
    table = tree.xpath("//h3[starts-with(., 'Time from each inject')]/following-sibling::table[1]")[0]
    rows = {}
    for tr in table.xpath("./tbody/tr"):
        cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        rows[cells[0]] = cells
    return rows


def test_a_response_no_objective_expects_shows_a_dash_not_a_rating() -> None:
    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(4).message()
    log.at(40).fire("call", "note", to="communicator", source="controller", text="the water starts to go down")
    log.at(60).end()
    rows = responses(page(log))
    call = rows["Inject call to the first message published"]
    assert call[1:4] == ["never", "none set", "—"]
    assert rows["Inject warning to the first message published"][3] == "P"


def test_a_skipped_inject_reads_not_measured_and_its_objective_says_why_it_is_u() -> None:
    from tests.domain.test_evaluation import skip

    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(4).message()
    log.at(40)
    skip(log, "urgent-1", "calm", "outage")
    log.fire("call", "note", to="communicator", source="controller", text="the water is falling")
    log.at(60).end()
    evaluation = log.evaluate()
    tree = lxml_html.fromstring(aar_render.html(evaluation, TEMPLATES))
    section = tree.get_element_by_id("objective-triage")
    text = " ".join(section.text_content().split())
    assert "Suggested U: every inject it measures was skipped by the controller" in text
    (row,) = section.xpath(".//table[@class='measurements']/tbody/tr")
    cells = [" ".join(td.text_content().split()) for td in row.xpath("./td")]
    assert cells[1:4] == ["not measured: skipped by the controller", "within 5m", "—"]
    assert "T+40m inject urgent-1 skipped by eve (a jump to inject call)" in cells[4]
    # Not an area for improvement, not a bar on the chart of measured times.
    assert "Urgent comment urgent-1" not in " ".join(
        section.xpath(".//h4[.='Areas for improvement']/following-sibling::ul[1]")[0].text_content().split()
    )
    assert all(not m.skipped for _, m in aar_render.timed(evaluation))
    assert responses(tree)["Comment calm to its triage decision"][1:4] == [
        "not measured: skipped by the controller",
        "none set",
        "—",
    ]

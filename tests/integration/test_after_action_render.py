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

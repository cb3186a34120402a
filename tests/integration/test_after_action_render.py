"""The report's page and charts from synthetic drills (the event lists of tests/domain/test_evaluation.py): what
a person reading the AAR sees for ratings, skipped injects and the timeline chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def chart_drill(*, outage: bool = False) -> Log:
    """Approvals, a pause and its resume at one drill moment, and the last inject two minutes before the end."""
    from datetime import timedelta

    from crisisdesk.domain.events import Kind
    from tests.domain.test_evaluation import DRILL

    log = Log()
    log.fire("warning", "feed-item", item=1)
    log.at(5).fire("urgent-1", "comment", item=17, urgent=True)  # the third name up is the highest: "call" below
    m = log.at(6).draft()
    log.submit(m)
    log.at(8).approve(m)
    log.publish(m)
    if outage:
        log.at(20).fire("outage", "channel-outage", account="acct-1", until_seconds=1800)
    log.at(30).add(Kind.DRILL_PAUSED, {"drill": DRILL, "drill_seconds": 1800}, "eve")
    log.now += timedelta(minutes=5)  # paused: no drill time passes
    log.add(Kind.DRILL_RESUMED, {"drill": DRILL, "drill_seconds": 1800}, "eve")
    log.now += timedelta(minutes=9)
    log.fire("call", "note", to="communicator", source="sheriff", text="road closed", drill_seconds=2340)
    log.now += timedelta(minutes=2)
    log.end()
    return log


def drawn(log: Log) -> tuple[Any, Any]:
    """The chart's figure, laid out as it is printed, and the renderer that measured it."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = aar_render.timeline_figure(log.evaluate())
    with rc_context(aar_render._style("test")):
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
    return fig, renderer


def test_the_timeline_tells_submitted_from_approved_in_its_legend() -> None:
    fig, _ = drawn(chart_drill())
    (ax,) = fig.axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "submitted for approval" in legend and "approved" in legend
    by_label = {c.get_label(): c for c in ax.collections}
    submitted, approved = by_label["submitted for approval"], by_label["approved"]
    assert len(submitted.get_offsets()) == 1 and len(approved.get_offsets()) == 1
    # A hollow square and a filled one: not the same mark.
    assert tuple(submitted.get_facecolor()[0]) != tuple(approved.get_facecolor()[0])


def test_a_pause_and_its_resume_are_a_heavy_named_tick() -> None:
    fig, _ = drawn(chart_drill())
    (ax,) = fig.axes
    control = next(c for c in ax.collections if c.get_label().startswith("control action"))
    assert control.get_sizes()[0] >= 200 and control.get_linewidths()[0] >= 2
    assert "paused, resumed" in [t.get_text() for t in ax.texts]


def test_the_end_label_does_not_overlap_the_last_injects_name() -> None:
    fig, renderer = drawn(chart_drill())
    (ax,) = fig.axes
    (end,) = [t for t in ax.texts if t.get_text().startswith("end")]
    assert end.get_text() == "end T+41m"
    names = [t for t in ax.texts if t.get_text() in {"warning", "call"}]
    assert len(names) == 2
    box = end.get_window_extent(renderer).padded(2)  # crowding is closer than 2 points, not only touching
    for name in names:
        assert not box.overlaps(name.get_window_extent(renderer).padded(2)), name.get_text()


def test_the_caption_names_grey_bands_only_when_there_are_outages() -> None:
    def caption(log: Log) -> str:
        tree = lxml_html.fromstring(aar_render.html(log.evaluate(), TEMPLATES))
        return " ".join(tree.xpath("//figure[@id='timeline-chart']/figcaption")[0].text_content().split())

    assert "grey bands" not in caption(chart_drill())
    assert "grey bands are outages" in caption(chart_drill(outage=True))

"""The after-action report drawn and laid out: charts (matplotlib, SVG), the page (Jinja2), the PDF (WeasyPrint).

Imported only when a report is made: matplotlib and WeasyPrint take a second to load, which the console's start and
every other command should not pay (tests/ui/test_startup.py).

Why these: WeasyPrint lays out the very HTML page that is exported (CSS paged media: page size, running headers,
page numbers, table headers repeated on each page), so the HTML and the PDF cannot drift apart, and it is pure
Python over the system's Pango (no browser, no TeX). matplotlib draws the charts as SVG, which goes inline into the
HTML (a self-contained file) and into the PDF as vectors (sharp at any zoom, text kept as text).
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crisisdesk.domain.drill import offset_text
from crisisdesk.domain.evaluation import (
    LANES,
    MAJOR_CHALLENGES_TIME,
    SOME_CHALLENGES_TIME,
    Evaluation,
    Measurement,
    Rating,
    span_text,
)

TEMPLATE = "aar.html.j2"
LONG_WORD = 40  # characters without a space: past this a word gets places to break (see ``_breakable``)
# Okabe-Ito colours: told apart with any colour vision; the rating's letter is always printed beside it too.
RATING_COLOURS = {Rating.P: "#009E73", Rating.S: "#E69F00", Rating.M: "#D55E00", Rating.U: "#6B1F1F"}
ZONE_COLOURS = ("#DCEFE8", "#FBF0D9", "#F7E0D3", "#EADCDC")  # the P, S, M and U bands behind the bars, light
LANE_STYLE = {
    "Injects": ("#0072B2", "D"),
    "Published": ("#009E73", "o"),
    "Approvals": ("#56B4E9", "s"),
    "Triage": ("#CC79A7", "^"),
    "Checklist": ("#000000", "P"),
    "False alarm": ("#D55E00", "X"),
    "Outbox": ("#E69F00", "v"),
    "Control": ("#777777", "|"),
}
FONT = "DejaVu Sans"
WIDTH_IN = 7.1  # the printed page's text width (US Letter less its margins): the charts print at their own size


# -- charts ---------------------------------------------------------------------------------------------


def _svg(fig: Any) -> str:
    """The figure as an inline <svg> element (no XML prolog, no date: the same drill draws the same bytes)."""
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg") :]


def _style(salt: str) -> Any:  # matplotlib types the keys as a Literal of every rc name
    return {
        "svg.fonttype": "none",  # text stays text: searchable in the HTML, in the PDF's text layer
        "svg.hashsalt": salt,  # ids differ between the two charts of one page
        "font.family": FONT,
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _minutes_axis(ax: Any, end_minutes: float) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set_xlim(0, max(end_minutes, 1.0) * 1.04)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 3, 5, 6, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: offset_text(timedelta(minutes=x)) if x >= 0 else ""))


# What each mark means, for the legend: (the entry's words, marker, face colour, edge colour). A lane's marks share its
# colour; the Approvals lane tells a submission (hollow) from an approval (filled) and a return (a left arrow).
MARKS = {
    "inject": ("inject", "D", "#0072B2", "#0072B2"),
    "published": ("message published", "o", "#009E73", "#009E73"),
    "submitted": ("submitted for approval", "s", "white", "#0072B2"),
    "approved": ("approved", "s", "#56B4E9", "#0072B2"),
    "returned": ("returned for changes", "<", "#56B4E9", "#0072B2"),
    "triage": ("triage decision", "^", "#CC79A7", "#CC79A7"),
    "checklist": ("checklist step done", "P", "#000000", "#000000"),
    "false alarm": ("false alarm declared or corrected", "X", "#D55E00", "#D55E00"),
    "outbox": ("send failed or retried", "v", "#E69F00", "#E69F00"),
    "control": ("control action (pause, resume, jump, speed)", "|", "#333333", "#333333"),
}
_MARK_OF_LANE = {
    "Injects": "inject",
    "Published": "published",
    "Triage": "triage",
    "Checklist": "checklist",
    "False alarm": "false alarm",
    "Outbox": "outbox",
    "Control": "control",
}
_APPROVAL_MARKS = {"submitted": "submitted", "approved": "approved", "returned": "returned"}


def _mark(entry: Any) -> str:
    if entry.lane == "Approvals":
        return _APPROVAL_MARKS.get(str(entry.label).rsplit(" ", 1)[-1], "submitted")
    return _MARK_OF_LANE[entry.lane]


def timeline_figure(evaluation: Evaluation) -> Any:
    """The timeline chart as a matplotlib Figure: injects and the players' actions along drill time, a lane each,
    the outages shaded, a legend of the marks under it."""
    from matplotlib import rc_context

    with rc_context(_style("timeline")):
        return _timeline_figure(evaluation)


def _timeline_figure(evaluation: Evaluation) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.transforms import blended_transform_factory

    # The drill's end is the dashed line, not a mark in the Control lane.
    entries = [e for e in evaluation.timeline if not (e.lane == "Control" and e.label == "ended")]
    lanes = [lane for lane in LANES if lane == "Injects" or any(e.lane == lane for e in entries)]
    overview = evaluation.overview
    end = max(
        [e.at for e in entries] + [overview.length if overview else timedelta(0), *(o[1] for o in evaluation.outages)],
        default=timedelta(minutes=1),
    )
    end_minutes = end.total_seconds() / 60
    marks = [m for m in MARKS if any(_mark(e) == m for e in entries)]
    legend_rows = math.ceil(len(marks) / 3)
    fig = Figure(figsize=(WIDTH_IN, 0.42 * len(lanes) + 1.3 + 0.2 * legend_rows))
    ax = fig.add_subplot()
    y = {lane: len(lanes) - n for n, lane in enumerate(lanes)}
    for start, stop, what in evaluation.outages:
        a, b = start.total_seconds() / 60, stop.total_seconds() / 60
        ax.axvspan(a, b, color="#BBBBBB", alpha=0.35, lw=0)
        ax.text(a + 0.3, 0.55, what, ha="left", va="bottom", fontsize=7, color="#333333")
    for mark in marks:
        words, marker, face, edge = MARKS[mark]
        chosen = [e for e in entries if _mark(e) == mark]
        xs = [e.at.total_seconds() / 60 for e in chosen]
        ys = [y[e.lane] for e in chosen]
        if mark == "control":
            # A pause and its resume fall on one drill moment: a tall, heavy tick, named under it, stays visible.
            ax.scatter(xs, ys, s=260, marker=marker, color=edge, linewidths=2.6, zorder=3, label=words)
        else:
            ax.scatter(
                xs, ys, s=34, marker=marker, facecolors=face, edgecolors=edge, linewidths=1.2, zorder=3, label=words
            )
    for n, e in enumerate(x for x in entries if x.lane == "Injects"):
        ax.annotate(
            e.label,
            (e.at.total_seconds() / 60, y["Injects"]),
            xytext=(3, 6 + 9 * (n % 3)),  # three heights: neighbours' names do not overlap
            textcoords="offset points",
            fontsize=7,
            color="#0B3C5D",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4, "alpha": 0.85},  # the end line behind it
            zorder=4,
        )
    for e in entries:
        if e.lane == "Published":
            ax.annotate(
                e.label,
                (e.at.total_seconds() / 60, y["Published"]),
                xytext=(0, -11),
                textcoords="offset points",
                fontsize=6.5,
                ha="center",
                color="#1E5C4A",
            )
    if "Control" in y:
        # Control actions at one moment (paused, resumed) share one name under their tick.
        named: dict[float, list[str]] = {}
        for e in entries:
            if e.lane == "Control":
                at = round(e.at.total_seconds() / 60, 1)
                if e.label not in named.setdefault(at, []):
                    named[at].append(e.label)
        for at, names in named.items():
            ax.annotate(
                ", ".join(names),
                (at, y["Control"]),
                xytext=(0, -14),
                textcoords="offset points",
                fontsize=6.5,
                ha="center",
                color="#333333",
            )
    if overview is not None and overview.status == "ended":
        at = overview.length.total_seconds() / 60
        ax.axvline(at, color="#333333", lw=0.8, ls="--")
        # Above the plot, where no inject's name is written: the end never crowds the last inject's label.
        ax.text(
            at,
            1.01,
            f"end {offset_text(overview.length)}",
            transform=blended_transform_factory(ax.transData, ax.transAxes),
            ha="center",
            va="bottom",
            fontsize=7,
            color="#333333",
            clip_on=False,
        )
    ax.set_yticks([y[lane] for lane in lanes], lanes)
    ax.set_ylim(0.4, len(lanes) + 1.1)
    ax.grid(axis="x", color="#DDDDDD", lw=0.6)
    ax.set_axisbelow(True)
    _minutes_axis(ax, end_minutes)
    ax.set_xlabel("Drill time")
    ax.tick_params(axis="y", length=0)
    if marks:
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16 - 0.02 * legend_rows),
            ncol=3,
            fontsize=7,
            frameon=False,
            handletextpad=0.4,
            columnspacing=1.2,
            markerscale=0.8,
        )
    return fig


def timeline_svg(evaluation: Evaluation) -> str:
    """The timeline chart (``timeline_figure``) as inline SVG."""
    from matplotlib import rc_context

    with rc_context(_style("timeline")):
        return _svg(timeline_figure(evaluation))


def timed(evaluation: Evaluation) -> list[tuple[str, Measurement]]:
    """The objectives' measurements that are times against a target, for the chart: (objective id, measurement).
    Cadence counts too, as its longest interval against the update interval."""
    return [
        (o.objective_id, m)
        for o in evaluation.objectives
        for m in o.measurements
        if m.target is not None
        and m.target.total_seconds() > 0
        and (m.share is None or m.value is not None)
        and isinstance(m.rating, Rating)  # one not rated (skipped by the controller) has no bar
    ]


def measured_svg(evaluation: Evaluation) -> str:
    """Each measured time against its target, as a multiple of it (so a 3-minute and a 30-minute target read
    alike), over the rating bands: P to 1x, S to 1.5x, M to 3x, U beyond."""
    import textwrap

    from matplotlib import rc_context
    from matplotlib.figure import Figure

    rows = timed(evaluation)
    top = MAJOR_CHALLENGES_TIME * 1.2  # the axis ends here; anything longer is drawn to it, marked
    with rc_context(_style("measured")):
        fig = Figure(figsize=(WIDTH_IN, 0.46 * max(len(rows), 1) + 0.9))
        ax = fig.add_subplot()
        if not rows:
            ax.text(0.5, 0.5, "No timed measurements in this drill", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return _svg(fig)
        bounds = [0, 1, SOME_CHALLENGES_TIME, MAJOR_CHALLENGES_TIME, top]
        for colour, a, b in zip(ZONE_COLOURS, bounds, bounds[1:], strict=False):
            ax.axvspan(a, b, color=colour, lw=0, zorder=0)
        for at, letter in zip((0.5, 1.25, 2.25, top - 0.3), "PSMU", strict=True):
            ax.text(at, len(rows) - 0.45, letter, ha="center", va="bottom", fontsize=8, color="#555555")
        labels = []
        for n, (objective, m) in enumerate(rows):
            y = len(rows) - 1 - n
            assert m.target is not None
            assert isinstance(m.rating, Rating)  # timed() keeps only rated measurements
            target = span_text(m.target)
            if m.value is None:
                ax.barh(
                    y, top, height=0.5, color="white", edgecolor=RATING_COLOURS[m.rating], hatch="///", lw=0.8, zorder=2
                )
                ax.text(
                    0.05,
                    y,
                    f"never (target {target})   {m.rating.value}",
                    va="center",
                    fontsize=7.5,
                    zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
                )
            else:
                ratio = m.value / m.target
                shown = min(ratio, top)
                ax.barh(y, max(shown, 0.02), height=0.5, color=RATING_COLOURS[m.rating], zorder=2)
                text = f"{span_text(m.value)} of {target}   {m.rating.value}" + (
                    "  (beyond the axis)" if ratio > top else ""
                )
                inside = shown > top - 0.9  # no room after the bar: the words go inside it
                at, align = (shown - 0.05, "right") if inside else (shown + 0.05, "left")
                box = None if inside else {"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.85}
                ax.text(
                    at,
                    y,
                    text,
                    va="center",
                    ha=align,
                    fontsize=7.5,
                    zorder=4,
                    bbox=box,
                    color="white" if inside else "#111111",
                )
            label = f"{objective}: {m.label}"
            labels.append("\n".join(textwrap.wrap(label, 38, max_lines=2, placeholder="…")))
        ax.axvline(1, color="#111111", lw=1.2, zorder=3)
        ax.set_yticks(range(len(rows) - 1, -1, -1), labels, fontsize=7)
        ax.set_ylim(-0.6, len(rows) - 0.1)
        ax.set_xlim(0, top)
        ax.set_xticks([0, 0.5, 1, 1.5, 2, 2.5, 3], ["0", "0.5x", "target", "1.5x", "2x", "2.5x", "3x"])
        ax.set_xlabel("Time taken as a multiple of its target (bands: P, S, M, U)")
        ax.tick_params(axis="y", length=0)
        return _svg(fig)


# -- the page -------------------------------------------------------------------------------------------


def _moment(value: datetime | None, zone: str) -> str:
    if value is None:
        return "not yet"
    try:
        local = value.astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        local = value
    return local.strftime("%d %b %Y %H:%M ") + (local.tzname() or "UTC")


def _day(value: Any) -> str:
    return value.isoformat() if value else ""


def _share(value: float | None) -> str:
    return "nothing due" if value is None else f"{value:.0%}"


def html(evaluation: Evaluation, templates: Path, agency: str | None = None, audit_file: str | None = None) -> str:
    """The AAR/IP as one self-contained HTML page; ``audit_file``: the drill's audit export written beside it."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(templates)), autoescape=True, undefined=StrictUndefined, finalize=_breakable
    )
    env.filters["t"] = offset_text
    env.filters["span"] = span_text
    env.filters["day"] = _day
    env.filters["share"] = _share
    env.tests["rated"] = lambda value: isinstance(value, Rating)  # else NOT_RATED: shown as "—", not a badge
    overview = evaluation.overview
    zone = overview.timezone if overview else "UTC"
    env.filters["moment"] = lambda value: _moment(value, zone)
    from markupsafe import Markup

    return env.get_template(TEMPLATE).render(
        e=evaluation,
        o=overview,
        agency=agency,
        audit_file=audit_file,
        capabilities=_unique(o.capability for o in evaluation.objectives),
        timeline=Markup(timeline_svg(evaluation)),  # noqa: S704 - matplotlib's own SVG; its text is escaped by it
        measured=Markup(measured_svg(evaluation)),  # noqa: S704
        timed=timed(evaluation),
        colours=RATING_COLOURS,
        Rating=Rating,
    )


# Control characters and the bidi overrides, embeddings and isolates, from the scenario's words as from the
# controller's: in a report they only hide or reorder text (U+202E turns the rest of a line around).
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LONG_RUN = re.compile(rf"\S{{{LONG_WORD},}}")


def _breakable(value: Any) -> Any:
    """Every text the page shows, without hidden characters (``_HIDDEN``) and with places to break in each word of
    ``LONG_WORD`` characters or more (a pasted link, a run of one character), so that it breaks at its column's edge
    rather than run off the printed page: a zero-width space every ``LONG_WORD // 2`` characters. Not
    ``overflow-wrap: anywhere``, which makes WeasyPrint weigh a break at every character of a 10,000-character field
    (minutes). The charts (markup already) are left as they are."""
    if not isinstance(value, str) or hasattr(value, "__html__"):
        return value
    value = _HIDDEN.sub("", value)
    if len(value) >= LONG_WORD:
        return _LONG_RUN.sub(lambda m: "\u200b".join(textwrap.wrap(m.group(0), LONG_WORD // 2)), value)
    return value


def _unique(values: Any) -> list[str]:
    out: list[str] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def pdf(page: str) -> bytes:
    """The same page laid out for print by WeasyPrint (its @page rules: US Letter, headers, page numbers)."""
    import logging

    from weasyprint import HTML

    # WeasyPrint reports CSS it does not support as warnings on its logger; the page uses none, and a person
    # exporting a report has nothing to do about them.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    data: bytes = HTML(string=page, base_url=None).write_pdf()
    return data

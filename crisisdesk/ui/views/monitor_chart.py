"""The Monitor's chart: public messages about the open incidents per hour, stacked by sentiment or by group.

QtCharts is imported here only, and this module only when the chart is first shown (``FeedsView``): the
console's start does not pay for it. The chart is also said in words (``summary``) for those who do not see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCharts import QBarCategoryAxis, QBarSet, QChart, QChartView, QStackedBarSeries, QValueAxis
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QWidget

from crisisdesk.ui import palette, when
from crisisdesk.ui.models.feeds import hourly

if TYPE_CHECKING:
    from crisisdesk.services.feeds import MoodCount

# Each band or group in a state colour of the palette (its light or dark shade); the legend says it in words.
MOOD_STATES: dict[str, palette.State] = {"negative": "bad", "neutral": "muted", "positive": "ok"}
GROUP_STATES: dict[str, palette.State] = {
    "public": "muted",
    "media": "warning",
    "officials": "exercise",
    "responders": "ok",
}


class MoodChart(QChartView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(220)
        self.setAccessibleName("Chart: public messages about open incidents per hour")
        self.by = "mood"
        self.hours: list[str] = []
        self.sets: dict[str, list[int]] = {}
        self.series: QStackedBarSeries | None = None
        self.show_counts([], "mood")

    def show_counts(self, counts: Sequence[MoodCount], by: str) -> None:
        self.by = by
        self.hours, self.sets = hourly(counts, by)
        chart = QChart()
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setTitle("By sentiment" if by == "mood" else "By stakeholder group")
        series = QStackedBarSeries()
        states = MOOD_STATES if by == "mood" else GROUP_STATES
        for key, values in self.sets.items():
            bars = QBarSet(key)
            bars.append([float(v) for v in values])
            colour = palette.state_colour(states.get(key, "bad"))
            bars.setColor(colour)
            bars.setBorderColor(colour)
            series.append(bars)
        chart.addSeries(series)
        x = QBarCategoryAxis()
        x.append(self._labels())
        y = QValueAxis()
        y.setLabelFormat("%d")
        top = max((sum(col) for col in zip(*self.sets.values(), strict=True)), default=0)
        y.setRange(0, max(4, top))
        y.setTickCount(5)
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)
        self._paint(chart, [x, y])
        old = self.chart()
        self.setChart(chart)
        self.series = series
        if old is not None:
            old.deleteLater()

    def _labels(self) -> list[str]:
        # each hour once; a day's first hour (or the first shown) with its day, the rest as "14:00"
        labels = []
        previous = ""
        for hour in self.hours:
            text = when.moment_text(hour)
            day = text.rsplit(" ", 1)[0] if " " in text else ""
            labels.append(text if day != previous else text.rsplit(" ", 1)[-1])
            previous = day
        return labels

    @staticmethod
    def _paint(chart: QChart, axes: list[QBarCategoryAxis | QValueAxis]) -> None:
        colours = palette.current()
        base = colours.color(QPalette.ColorRole.Base)
        text = colours.color(QPalette.ColorRole.Text)
        grid = colours.color(QPalette.ColorRole.Mid)
        chart.setBackgroundBrush(base)
        chart.setTitleBrush(text)
        chart.legend().setLabelColor(text)
        for axis in axes:
            axis.setLabelsColor(text)
            axis.setLinePenColor(grid)
            axis.setGridLineColor(grid)

    def values(self, key: str) -> list[int]:
        """What the chart draws for one band or group, hour by hour (read back from its bar set)."""
        assert self.series is not None
        for bars in self.series.barSets():
            if bars.label() == key:
                return [int(bars.at(i)) for i in range(bars.count())]
        return []

    def summary(self) -> str:
        """The chart in words: the totals over the hours shown, and the latest hour."""
        if not self.hours:
            return "No public messages about the open incidents yet."
        total = {k: sum(v) for k, v in self.sets.items()}
        last = {k: v[-1] for k, v in self.sets.items()}
        start, end = when.moment_text(self.hours[0]), when.moment_text(self.hours[-1])
        span = f"in the hour from {start}" if start == end else f"from {start} to {end}"
        words = ", ".join(f"{n} {k}" for k, n in total.items() if n) or "none"
        latest = ", ".join(f"{n} {k}" for k, n in last.items() if n) or "none"
        return f"{sum(total.values())} public messages {span}: {words}. The latest hour: {latest}."

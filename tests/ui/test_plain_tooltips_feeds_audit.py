"""A feed item's title or an audit entry's details that look like HTML are shown as words in their tooltips, in the
Monitor's search results and in the Audit table too (the hostile round on drills found that rich text loads the image
an '<img src="/dev/zero">' names, and hangs the console at the first hover; feed items come from anyone)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt

from crisisdesk.services.feeds import ItemView
from crisisdesk.ui.models.feeds import ItemsModel

HOSTILE = '<img src="/dev/zero"> Flood on Oak Street'


def test_a_search_results_tooltip_of_a_hostile_title_is_plain_words(qapp: object) -> None:
    model = ItemsModel()
    model.beginResetModel()
    model.rows = [
        ItemView(
            id=1, fingerprint="f", source="<b>news</b>", kind="rss", title=HOSTILE, text="", url=None,
            author='<img src="/dev/zero">', at="2026-11-22T19:30:00Z", fetched_at="2026-11-22T19:30:00Z",
            severity=None, magnitude=None, event=None, public=False, sentiment=None, stakeholder=None, priority=None,
            status=None, decided_by=None, extra={},
        )
    ]  # fmt: skip
    model.endResetModel()
    for column in range(1, model.columnCount()):
        tip = model.index(0, column).data(Qt.ItemDataRole.ToolTipRole)
        assert "<img" not in tip and "<b>" not in tip, tip
        if GuiQt.mightBeRichText(tip):
            assert tip.startswith("<p>") and "&lt;" in tip

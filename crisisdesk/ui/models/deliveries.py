"""One published message's deliveries as a table: a row per channel, its receipt shown as a link."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from crisisdesk.services.deliveries import Delivery
from crisisdesk.ui.models.rows import AnyIndex, RowsModel
from crisisdesk.ui.palette import Tint
from crisisdesk.ui.when import full, moment_text

COLUMNS = ("Channel", "Mode", "State", "Tries", "Next try", "Receipt", "Reason", "Retraction")
RECEIPT = COLUMNS.index("Receipt")
STATE_WORDS = {
    "queued": "queued",
    "sending": "sending now",
    "sent": "✔ sent",
    "failed": "failed: will retry",
    "dead": "✖ DEAD: needs a person",
    "unknown": "? unknown: checking the channel",
    # Publishing once across a team (issue 16): another workstation held the hub's claim and sent it; not sent here.
    "elsewhere": "⇄ published by another workstation",
}
STATE_TINTS: dict[str, Tint] = {
    "sent": "ok",
    "failed": "warning",
    "unknown": "warning",
    "dead": "bad",
    "sending": "busy",
    "elsewhere": "quiet",
}


def mode_words(mode: str) -> str:
    """LIVE and EXERCISE in words and a shape (solid dot, hatched square), never colour alone."""
    return "▨ EXERCISE" if mode == "exercise" else "● LIVE"


def span(seconds: float) -> str:
    """A duration as a person says it: 45 s, 3 min 05 s, 2 h 10 min."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class DeliveriesModel(RowsModel[Delivery]):
    columns = COLUMNS

    def __init__(self, parent: object = None) -> None:
        super().__init__(None, parent)
        self.tz = ZoneInfo("UTC")
        self.now: datetime | None = None

    def show(self, deliveries: tuple[Delivery, ...], tz: ZoneInfo, now: datetime) -> None:
        self.tz, self.now = tz, now
        self.beginResetModel()  # the next-try countdown changes with ``now`` even when the rows do not
        self.rows = list(deliveries)
        self.endResetModel()

    def next_try(self, d: Delivery) -> str:
        r = d.row
        if r.state != "failed":
            return ""
        if not r.next_try_at:
            return "now"
        at = datetime.fromisoformat(r.next_try_at)
        wait = (at - self.now).total_seconds() if self.now else 0
        shown = moment_text(at, self.tz, now=self.now)
        return f"{shown} (in {span(wait)})" if wait > 0 else f"{shown} (due)"

    def cells(self, d: Delivery) -> tuple[str, ...]:
        r = d.row
        receipt = f"↗ {r.remote_url}" if r.remote_url else (r.remote_id or "")
        if r.state == "sent" and r.sent_at:
            receipt = receipt or "(no address)"
        retraction = (r.retract_state or "") + (f": {r.retract_reason}" if r.retract_reason else "")
        if not r.retract_state and d.cannot_retract:
            retraction = "cannot be retracted"
        return (
            f"{r.account} ({r.kind})",
            mode_words(r.mode),
            STATE_WORDS.get(r.state, r.state),
            str(r.attempts),
            self.next_try(d),
            receipt,
            r.reason or (f"sent at {moment_text(r.sent_at, self.tz, now=self.now)}" if r.sent_at else ""),
            retraction,
        )

    def colour(self, d: Delivery) -> Tint | None:
        return STATE_TINTS.get(d.row.state)

    def tooltip(self, d: Delivery, column: int) -> str | None:
        if column == RECEIPT and d.row.remote_url:
            return f"Open {d.row.remote_url}"
        if column == COLUMNS.index("Retraction") and d.cannot_retract:
            return d.cannot_retract
        if column == COLUMNS.index("Next try") and d.row.state == "failed" and d.row.next_try_at:
            return f"Next try {full(d.row.next_try_at, self.tz)}"
        if column == COLUMNS.index("Reason") and not d.row.reason and d.row.sent_at:
            return f"Sent {full(d.row.sent_at, self.tz)}"
        return self.cells(d)[column]

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # A receipt is underlined in the row's own text colour: a link that reads on every row tint, light or dark.
        if (
            role == Qt.ItemDataRole.FontRole
            and index.isValid()
            and index.column() == RECEIPT
            and index.row() < len(self.rows)
            and self.rows[index.row()].row.remote_url
        ):
            font = QFont()
            font.setUnderline(True)
            return font
        return super().data(index, role)

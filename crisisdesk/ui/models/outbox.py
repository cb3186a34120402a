"""The outbox as a table: one immutable row per (message version, channel), newest first."""

from __future__ import annotations

from crisisdesk.services.outbox import OutboxRow
from crisisdesk.ui.models.deliveries import STATE_TINTS, mode_words
from crisisdesk.ui.models.rows import RowsModel
from crisisdesk.ui.palette import Tint

COLUMNS = ("Row", "Message", "Channel", "Mode", "State", "Tries", "Receipt or reason", "Retraction")


def detail(row: OutboxRow) -> str:
    if row.state == "sent":
        return f"{row.remote_url or row.remote_id} ({row.sent_at})"
    if row.state == "failed":
        return f"{row.reason}; next try {row.next_try_at or 'now'}"
    return row.reason or ""


class OutboxModel(RowsModel[OutboxRow]):
    columns = COLUMNS

    def cells(self, r: OutboxRow) -> tuple[str, ...]:
        retraction = (r.retract_state or "") + (f": {r.retract_reason}" if r.retract_reason else "")
        return (
            r.id,
            f"{r.message_id} v{r.version}",
            f"{r.account} ({r.kind})",
            mode_words(r.mode),  # in words and a shape, as every other table says it
            r.state,
            str(r.attempts),
            detail(r),
            retraction,
        )

    def colour(self, r: OutboxRow) -> Tint | None:
        return STATE_TINTS.get(r.state)

    def tooltip(self, r: OutboxRow, column: int) -> str | None:
        return detail(r) if column == 6 else None

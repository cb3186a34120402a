"""Feed tables: alerts and the triage queue, one immutable row each, as plain text (never rich text)."""

from __future__ import annotations

from crisisdesk.services.feeds import Alert, ItemView
from crisisdesk.ui.models.rows import RowsModel
from crisisdesk.ui.palette import Tint

PRIORITY_TINTS: dict[str, Tint] = {"urgent": "bad", "high": "warning", "low": "quiet"}


class AlertsModel(RowsModel[Alert]):
    columns = ("Raised", "Incident", "Item", "Why", "Source")

    def cells(self, a: Alert) -> tuple[str, ...]:
        return (a.raised_at[:16].replace("T", " "), a.incident_id or "none", a.title, "; ".join(a.reasons), a.source)

    def colour(self, a: Alert) -> Tint | None:
        return "warning" if a.incident_id else None


class TriageModel(RowsModel[ItemView]):
    columns = ("Priority", "Status", "Group", "Sentiment", "From", "Message", "Source")

    def cells(self, i: ItemView) -> tuple[str, ...]:
        mood = "" if i.sentiment is None else f"{i.sentiment:+.2f}"
        return (
            (i.priority or "").upper(),
            i.status or "",
            i.stakeholder or "",
            mood,
            i.author or "",
            i.title,
            i.source,
        )

    def colour(self, i: ItemView) -> Tint | None:
        return PRIORITY_TINTS.get(i.priority or "")

"""The composer's two tables: the variants of a message (one row per channel and language, with its count and its
worst finding) and the findings of the text being edited."""

from __future__ import annotations

from dataclasses import dataclass

from crisisdesk.ui.models.rows import RowsModel
from crisisdesk.ui.palette import Tint

SEVERITY_MARKS = {"error": "✕ error", "warning": "⚠ warning", "info": "· info"}
SEVERITY_TINTS: dict[str, Tint] = {"error": "bad", "warning": "warning"}


@dataclass(frozen=True)
class VariantRow:
    channel: str
    channel_name: str
    lang: str
    length: int
    limit: int
    errors: int
    warnings: int
    sent: bool  # some chosen channel account carries this text
    unsaved: bool

    @property
    def check(self) -> str:
        if self.errors:
            return f"✕ {self.errors} error{'s' if self.errors > 1 else ''}"
        if self.warnings:
            return f"⚠ {self.warnings} warning{'s' if self.warnings > 1 else ''}"
        return "✓ ok"


class VariantsModel(RowsModel[VariantRow]):
    columns = ("Text", "Lang", "Length", "Check", "Channel")

    def cells(self, r: VariantRow) -> tuple[str, ...]:
        name = r.channel_name + (" • unsaved" if r.unsaved else "")
        return (name, r.lang, f"{r.length}/{r.limit}", r.check, "chosen" if r.sent else "none chosen")

    def colour(self, r: VariantRow) -> Tint | None:
        if r.errors:
            return "bad"
        if r.warnings:
            return "warning"
        return None if r.sent else "quiet"

    def tooltip(self, r: VariantRow, column: int) -> str | None:
        if column == 4:
            return (
                "a chosen channel sends this text"
                if r.sent
                else "no chosen channel sends this text: it is kept for the record and for CAP"
            )
        return self.cells(r)[column]

    def find(self, channel: str, lang: str) -> int | None:
        return next((i for i, r in enumerate(self.rows) if (r.channel, r.lang) == (channel, lang)), None)


@dataclass(frozen=True)
class FindingRow:
    code: str
    severity: str
    message: str
    start: int | None  # where in the text it first sits; None for the text as a whole


class FindingsModel(RowsModel[FindingRow]):
    columns = ("Code", "Severity", "Finding")

    def cells(self, r: FindingRow) -> tuple[str, ...]:
        return (r.code, SEVERITY_MARKS.get(r.severity, r.severity), r.message)

    def colour(self, r: FindingRow) -> Tint | None:
        return SEVERITY_TINTS.get(r.severity)

"""Tables of the settings pages: feed sources and their polls, what edited rules would match, and the playbook
library (files, facts, checklist, problems). Small tables (a workstation has tens of sources and playbooks, a
source keeps its last 50 polls, a rules preview lists what matched among the last 1,000 items): each is read
whole in a task and shown with ``set_rows``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from crisisdesk.ui import palette
from crisisdesk.ui.models.rows import RowsModel
from crisisdesk.ui.when import full, moment_text, workstation_zone

if TYPE_CHECKING:  # the services' types only: they bring pydantic, httpx and lxml, which sign-in needs not
    from crisisdesk.domain.playbook import ChecklistStep, Fact, Problem
    from crisisdesk.services.feeds import PollRecord, RuleHit, Source
    from crisisdesk.services.playbooks import PlaybookFile

HEALTH_TINT: dict[str, palette.Tint] = {"unhealthy": "bad", "problems": "warning", "not polled yet": "quiet"}


def every(seconds: int) -> str:
    """A polling interval as a person says it: "every 5 min", "every 2 h 30 min", "every 45 s"."""
    if seconds % 60:
        return f"every {seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"every {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours % 24 == 0 and not rest:
        days = hours // 24
        return f"every {days} day" + ("s" if days > 1 else "")
    return f"every {hours} h" + (f" {rest} min" if rest else "")


class SourcesModel(RowsModel["Source"]):
    columns = ("Name", "Kind", "Address", "Polled", "Health", "Last success", "Next poll")

    def cells(self, row: Source) -> tuple[str, ...]:
        zone = workstation_zone()
        health = row.health
        if row.failures:
            health = f"unhealthy: {row.failures} failures in a row" if row.failures > 1 else "unhealthy: failed"
        return (
            row.name,
            row.kind.value,
            row.url,
            every(row.interval),
            health,
            moment_text(row.last_success, zone) or "never",
            moment_text(row.next_poll_at, zone) or "at the next round",
        )

    def colour(self, row: Source) -> palette.Tint | None:
        return HEALTH_TINT.get(row.health)

    def tooltip(self, row: Source, column: int) -> str | None:
        if column == 4 and row.last_error:
            return f"Last error ({full(row.last_error_at)}): {row.last_error}"
        if column in (5, 6):
            return full(row.last_success if column == 5 else row.next_poll_at) or None
        return super().tooltip(row, column)


class PollsModel(RowsModel["PollRecord"]):
    """One source's last polls, newest first."""

    columns = ("When", "Result", "Items", "Took", "Next poll then", "Reason")

    def cells(self, row: PollRecord) -> tuple[str, ...]:
        zone = workstation_zone()
        if not row.ok:
            result = "failed"
        elif row.not_modified:
            result = "ok, not modified"
        else:
            result = "ok"
        items = f"{row.items_new} new of {row.items_seen}" if row.ok else ""
        reason = row.error or row.problems or ""
        return (
            moment_text(row.at, zone),
            result,
            items,
            f"{row.seconds:.1f} s",
            moment_text(row.next_poll_at, zone),
            reason,
        )

    def colour(self, row: PollRecord) -> palette.Tint | None:
        if not row.ok:
            return "bad"
        return "warning" if row.problems else None

    def tooltip(self, row: PollRecord, column: int) -> str | None:
        if column == 0:
            return full(row.at)
        if column == 4:
            return full(row.next_poll_at) or None
        return super().tooltip(row, column)


class RuleHitsModel(RowsModel["RuleHit"]):
    """Recent items the edited rules would act on."""

    columns = ("When", "Source", "Item", "Would", "Matched by", "Group", "Why")

    def cells(self, row: RuleHit) -> tuple[str, ...]:
        would = []
        if row.alerts:
            would.append("alert (incident)" if row.incidents else "alert")
        if row.urgent:
            would.append("urgent")
        return (
            moment_text(row.at, workstation_zone()),
            row.source,
            row.title,
            "; ".join(would) or "group only",
            ", ".join(row.matched_by),
            row.group or "",
            "; ".join(row.reasons),
        )

    def colour(self, row: RuleHit) -> palette.Tint | None:
        if row.urgent:
            return "bad"
        return "warning" if row.alerts else None

    def tooltip(self, row: RuleHit, column: int) -> str | None:
        if column == 0:
            return full(row.at)
        if column == 3 and row.incidents:
            return "An alert for " + ", ".join(row.incidents)
        return super().tooltip(row, column)


class PlaybookFilesModel(RowsModel["PlaybookFile"]):
    columns = ("File", "Title", "Check")

    def cells(self, row: PlaybookFile) -> tuple[str, ...]:
        pb = row.playbook
        title = "(not loaded)"
        if pb is not None:
            title = pb.title.get("en") or next(iter(pb.title.values()), "")
        n = len(row.problems)
        check = "valid" if not n else f"{n} problem{'s' if n > 1 else ''}: not loaded"
        return (row.path.name, title, check)

    def colour(self, row: PlaybookFile) -> palette.Tint | None:
        return "bad" if row.problems else None

    def tooltip(self, row: PlaybookFile, column: int) -> str | None:
        if column == 0:
            return str(row.path)
        if column == 2 and row.problems:
            return "\n".join(str(p) for p in row.problems[:10])
        return super().tooltip(row, column)


class ProblemsModel(RowsModel["Problem"]):
    """A playbook file's problems: where (the file's name, line and column; the whole path in the tooltip)."""

    columns = ("Where", "Problem")

    def cells(self, row: Problem) -> tuple[str, ...]:
        return (f"{Path(row.source).name}:{row.line}:{row.column}", row.message)

    def tooltip(self, row: Problem, column: int) -> str | None:
        return str(row) if column == 0 else row.message


class FactsModel(RowsModel["tuple[str, Fact]"]):
    columns = ("Fact", "Type", "Required", "Label", "Example", "Help")

    def cells(self, row: tuple[str, Fact]) -> tuple[str, ...]:
        name, fact = row
        label = fact.label.get("en") or next(iter(fact.label.values()), "")
        example = fact.example if isinstance(fact.example, str) else " / ".join(fact.example.values())
        return (name, fact.type.value, "yes" if fact.required else "no", label, example, fact.help)


class ChecklistModel(RowsModel["ChecklistStep"]):
    columns = ("Due", "Who", "Step")

    def cells(self, row: ChecklistStep) -> tuple[str, ...]:
        return (row.at, row.owner.value, row.do)

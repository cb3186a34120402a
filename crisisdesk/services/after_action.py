"""Evaluation and the after-action report (HSEEP AAR/IP) of a drill, from the event log.

CONTRACT (issue 15; the lead wrote the shapes, the evaluation-and-report helper fills them in). The measurements
come from the events of the drill and of its incidents (``crisisdesk.domain.evaluation``, pure); the controller's
ratings, notes, strengths, areas for improvement and improvement plan are events too (``drill.rated``,
``drill.report_edited``), so the report is rebuilt from the log every time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from crisisdesk.domain.roles import Actor


class Rating(enum.StrEnum):
    """HSEEP performance ratings."""

    P = "P"  # Performed without challenges
    S = "S"  # Performed with some challenges
    M = "M"  # Performed with major challenges
    U = "U"  # Unable to be performed


@dataclass(frozen=True, slots=True)
class Measurement:
    label: str  # "Inject flood-warning to the first message published"
    value: timedelta | None  # None: it never happened
    target: timedelta | None
    met: bool | None
    evidence: str  # the events behind it, in words, with their times


@dataclass(frozen=True, slots=True)
class ObjectiveResult:
    objective_id: str
    title: str
    capability: str
    measurements: list[Measurement]
    suggested: Rating
    rating: Rating  # the controller's, else the suggestion
    rating_note: str | None
    strengths: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PlanRow:
    issue: str
    corrective_action: str
    capability: str
    responsible: str
    start: date | None
    completion: date | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    drill_id: str
    objectives: list[ObjectiveResult]
    # the other measures the issue names, each a Measurement or a line of evidence
    approval_latencies: list[Measurement]
    lint_findings_sent: list[str]
    break_glass: list[str]
    outbox_failures: list[str]
    plan: list[PlanRow]


class AfterActionService:
    def evaluate(self, actor: Actor, drill_id: str) -> Evaluation:
        raise NotImplementedError

    def rate(self, actor: Actor, drill_id: str, objective_id: str, rating: str, note: str) -> Evaluation:
        raise NotImplementedError

    def edit_objective(
        self, actor: Actor, drill_id: str, objective_id: str, *, strengths: list[str], areas: list[str]
    ) -> Evaluation:
        raise NotImplementedError

    def set_plan(self, actor: Actor, drill_id: str, rows: list[PlanRow]) -> Evaluation:
        raise NotImplementedError

    def export(
        self, actor: Actor, drill_id: str, folder: Path, *, html: bool = True, pdf: bool = True, audit: bool = True
    ) -> list[Path]:
        """The AAR/IP as HTML and PDF, with its charts, and the drill's audit export; the files written."""
        raise NotImplementedError

"""crisisdesk drill evaluate / rate / report / report-edit / report-plan, run through the real ``main`` (its error
handling and exit codes; the drill group is crisisdesk.cli.drill's, which adds these), on a drill played through
the drill service and the players' services."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.cli.context import EXIT_OK, EXIT_USER
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.conftest import CliRun
from tests.support.aar_drill import PlayedDrill, play

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def played(core: App, admin: Actor, clock: FixedClock, tmp_path: Path) -> PlayedDrill:
    return play(core, clock, admin, tmp_path / "scenario")


def test_evaluate_prints_each_objective_with_its_evidence_and_as_json(cli_as: CliRun, played: PlayedDrill) -> None:
    code, out, err = cli_as("vic_is_not_here", "drill", "evaluate", played.drill_id)
    assert code == EXIT_USER and err.count("\n") == 1  # an unknown person: one line
    code, out, err = cli_as("eve", "drill", "evaluate", played.drill_id)
    assert code == EXIT_OK, err
    assert f"{played.drill_id}: Mill Creek flash flood (sample drill) (ended, T+1h00m of drill time)" in out
    assert "[P] alert: Alert the public within 10 minutes of the flash flood warning" in out
    assert "    Inject nws-warning to the first message published: 7m (within 10m) P" in out
    assert f"      T+7m {played.messages[0]} (alert) published by carla" in out
    assert "[M] approvals:" in out and "[S] checklist:" in out
    code, out, err = cli_as("eve", "drill", "evaluate", played.drill_id, "--json")
    assert code == EXIT_OK, err
    data = json.loads(out)
    alert = next(o for o in data["objectives"] if o["id"] == "alert")
    assert alert["measurements"][0]["seconds"] == 420 and alert["measurements"][0]["target_seconds"] == 600
    assert data["overview"]["players"] == ["carla", "ivan", "dora"]


def test_rate_edit_and_plan_as_the_controller(core: App, cli_as: CliRun, played: PlayedDrill) -> None:
    d = played.drill_id
    code, _, err = cli_as("carla", "drill", "rate", d, "approvals", "S", "--note", "busy desk")
    assert code == EXIT_USER and "run exercises" in err and err.count("\n") == 1
    code, _, err = cli_as("eve", "drill", "rate", d, "approvals", "Q", "--note", "busy desk")
    assert code == EXIT_USER and "'Q' is not an HSEEP rating" in err
    code, _, err = cli_as("eve", "drill", "rate", d, "approvals", "S")
    assert code == EXIT_USER and "--note" in err
    code, _, err = cli_as("eve", "drill", "rate", d, "nope", "S", "--note", "x")
    assert code == EXIT_USER and "has no objective 'nope' (its objectives: alert, approvals" in err
    code, out, err = cli_as("eve", "drill", "rate", d, "approvals", "S", "--note", "one slow approval on a busy desk")
    assert code == EXIT_OK, err
    assert out == "approvals: S (Performed with some challenges); suggested from the log: M\n"

    code, _, err = cli_as("eve", "drill", "report-edit", d, "approvals")
    assert code == EXIT_USER and "--strength" in err
    code, _, err = cli_as(
        "eve",
        "drill",
        "report-edit",
        d,
        "approvals",
        "--strength",
        "Clear texts",
        "--area",
        "A second approver on call",
        "--area",
        "Faster handover",
    )
    assert code == EXIT_OK and "1 strength(s), 2 area(s)" in err

    code, _, err = cli_as(
        "eve",
        "drill",
        "report-plan",
        d,
        "--row",
        "Slow approvals | Second approver | PIW | EM director | 2026-12-01 | 2027-01-15",
        "--row",
        "Checklist | Read it aloud",
    )
    assert code == EXIT_OK and "2 row(s)" in err
    code, _, err = cli_as("eve", "drill", "report-plan", d, "--row", "x | y | z | w | 1 December |")
    assert code == EXIT_USER and "--row 1: start '1 December' is not a date: write it as 2026-12-01" in err
    code, _, err = cli_as("eve", "drill", "report-plan", d, "--row", "a|b|c|d|e|f|g")
    assert code == EXIT_USER and "at most 6" in err

    evaluation = core.after_action().evaluate(core.people.actor("eve"), d)
    approvals = evaluation.objective("approvals")
    assert (approvals.rating.value, approvals.areas) == ("S", ["A second approver on call", "Faster handover"])
    assert [r.responsible for r in evaluation.plan] == ["EM director", ""]
    assert evaluation.plan[0].completion is not None and evaluation.plan[1].start is None


def test_report_writes_the_files_it_is_asked_for(
    core: App, cli_as: CliRun, played: PlayedDrill, tmp_path: Path
) -> None:
    d = played.drill_id
    out_dir = tmp_path / "aar"
    code, out, err = cli_as("eve", "drill", "report", d, "--out", str(out_dir), "--no-pdf")
    assert code == EXIT_OK, err
    assert out.splitlines() == [str(out_dir / f"{d}-aar.html"), str(out_dir / f"{d}-audit.jsonl")]
    assert all(Path(line).stat().st_size > 0 for line in out.splitlines())
    code, _, err = cli_as("eve", "drill", "report", d, "--out", str(out_dir), "--no-pdf", "--no-html", "--no-audit")
    assert code == EXIT_USER and "nothing to export" in err
    code, _, err = cli_as("eve", "drill", "report", "drl-nothere", "--out", str(out_dir))
    assert code == EXIT_USER and "no drill 'drl-nothere'" in err
    code, _, err = cli_as("eve", "drill", "report", d)
    assert code == EXIT_USER and "--out" in err
    exported = [e.payload for e in core.log.events() if e.kind == Kind.DRILL_REPORT_EXPORTED]
    assert [p["formats"] for p in exported] == [["html", "audit"]]


def test_the_report_commands_load_no_chart_or_pdf_library_until_a_report_is_made() -> None:
    code = (
        "import sys, crisisdesk.cli.drill_report, crisisdesk.services.after_action; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'weasyprint')))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert ran.stdout.strip() == "[]"

"""drill evaluate / rate / report / report-edit / report-plan: a drill's evaluation and its after-action report.

``crisisdesk.cli.drill`` builds the ``drill`` group and calls ``add_report_commands`` with it.
"""

from __future__ import annotations

from pathlib import Path

from crisisdesk.cli.context import EXIT_OK, AddCommand, Context, Subparsers, warn
from crisisdesk.domain.drill import offset_text
from crisisdesk.domain.errors import UserError

PLAN_COLUMNS = ("issue", "corrective action", "capability", "responsible", "start", "completion")


def cmd_drill_evaluate(ctx: Context) -> int:
    from crisisdesk.services.after_action import as_dict

    evaluation = ctx.app().after_action().evaluate(ctx.actor(), ctx.args.drill)
    if ctx.args.json:
        ctx.json(as_dict(evaluation))
        return EXIT_OK
    o = evaluation.overview
    if o is not None:
        ctx.out(f"{evaluation.drill_id}: {o.name} ({o.status}, {offset_text(o.length)} of drill time)")
    for obj in evaluation.objectives:
        rated = "" if obj.rating_note is None else f" (suggested {obj.suggested.value}; rated by {obj.rated_by})"
        ctx.out(f"\n[{obj.rating.value}] {obj.objective_id}: {obj.title}{rated}")
        if obj.rating_note:
            ctx.out(f"    note: {obj.rating_note}")
        for m in obj.measurements:
            ctx.out(f"    {m.label}: {m.value_text} ({m.target_text}) {m.rating.value}")
            for e in m.events:
                ctx.out(f"      {e}")
        for s in obj.strengths:
            ctx.out(f"    strength: {s}")
        for a in obj.areas:
            ctx.out(f"    to improve: {a}")
    ctx.out("\nApproval latency:")
    for m in evaluation.approval_latencies or ():
        ctx.out(f"    {m.label}: {m.value_text} ({m.target_text}) {m.rating.value}")
    if not evaluation.approval_latencies:
        ctx.out("    nothing was submitted")
    for title, lines in (
        ("Break-glass publications", evaluation.break_glass),
        ("Lint findings that went out", evaluation.lint_findings_sent),
        ("Outbox failures and how they were handled", evaluation.outbox_failures),
    ):
        ctx.out(f"{title}: {'none' if not lines else ''}".rstrip())
        for line in lines:
            ctx.out(f"    {line}")
    if evaluation.plan:
        ctx.out("Improvement plan:")
        for row in evaluation.plan:
            when = " to ".join(d.isoformat() for d in (row.start, row.completion) if d)
            ctx.out(f"    {row.issue}: {row.corrective_action} ({row.responsible}{', ' + when if when else ''})")
    return EXIT_OK


def cmd_drill_rate(ctx: Context) -> int:
    a = ctx.args
    evaluation = ctx.app().after_action().rate(ctx.actor(), a.drill, a.objective, a.rating, a.note)
    o = evaluation.objective(a.objective)
    ctx.out(f"{a.objective}: {o.rating.value} ({o.rating.words}); suggested from the log: {o.suggested.value}")
    return EXIT_OK


def cmd_drill_report(ctx: Context) -> int:
    a = ctx.args
    files = (
        ctx.app()
        .after_action()
        .export(ctx.actor(), a.drill, Path(a.out), html=not a.no_html, pdf=not a.no_pdf, audit=not a.no_audit)
    )
    for path in files:
        ctx.out(str(path))
    return EXIT_OK


def cmd_drill_report_edit(ctx: Context) -> int:
    a = ctx.args
    if not a.strength and not a.area and not a.clear:
        raise UserError("say what to keep: --strength TEXT and --area TEXT (each may repeat), or --clear")
    evaluation = (
        ctx.app()
        .after_action()
        .edit_objective(ctx.actor(), a.drill, a.objective, strengths=a.strength or [], areas=a.area or [])
    )
    o = evaluation.objective(a.objective)
    warn(f"{a.objective}: {len(o.strengths)} strength(s), {len(o.areas)} area(s) for improvement")
    return EXIT_OK


def cmd_drill_report_plan(ctx: Context) -> int:
    from crisisdesk.services.after_action import PlanRow, parse_day

    a = ctx.args
    if not a.row and not a.clear:
        raise UserError(
            "give the plan's rows: --row 'ISSUE | CORRECTIVE ACTION | CAPABILITY | RESPONSIBLE | START | COMPLETION' "
            "(it may repeat), or --clear"
        )
    rows = []
    for n, text in enumerate(a.row or [], start=1):
        parts = [p.strip() for p in text.split("|")]
        if len(parts) > len(PLAN_COLUMNS):
            raise UserError(f"--row {n} has {len(parts)} parts; give at most {len(PLAN_COLUMNS)}, split by '|'")
        parts += [""] * (len(PLAN_COLUMNS) - len(parts))
        rows.append(
            PlanRow(
                parts[0],
                parts[1],
                parts[2],
                parts[3],
                parse_day(parts[4], f"--row {n}: start"),
                parse_day(parts[5], f"--row {n}: completion"),
            )
        )
    evaluation = ctx.app().after_action().set_plan(ctx.actor(), a.drill, rows)
    warn(f"improvement plan of {a.drill}: {len(evaluation.plan)} row(s)")
    return EXIT_OK


def add_report_commands(drill: Subparsers, command: AddCommand) -> None:
    p = command(
        drill,
        "evaluate",
        "a drill's evaluation from the log: each objective's measurements in drill time and its rating",
        cmd_drill_evaluate,
    )
    p.add_argument("drill", metavar="DRILL")
    p.add_argument("--json", action="store_true", help="as JSON (times in seconds of drill time)")

    p = command(
        drill,
        "rate",
        "the controller's HSEEP rating of one objective (P, S, M or U), with why; it replaces the suggestion",
        cmd_drill_rate,
    )
    p.add_argument("drill", metavar="DRILL")
    p.add_argument("objective", metavar="OBJECTIVE")
    p.add_argument("rating", metavar="P|S|M|U")
    p.add_argument("--note", required=True, metavar="TEXT", help="why: shown beside the rating in the report")

    p = command(
        drill,
        "report",
        "the after-action report and improvement plan (HTML and PDF) and the drill's audit export, into a folder",
        cmd_drill_report,
    )
    p.add_argument("drill", metavar="DRILL")
    p.add_argument("--out", required=True, metavar="FOLDER", help="where the files go (made if missing)")
    p.add_argument("--no-pdf", action="store_true", help="leave out the PDF")
    p.add_argument("--no-html", action="store_true", help="leave out the HTML page")
    p.add_argument("--no-audit", action="store_true", help="leave out the drill's audit export")

    p = command(
        drill,
        "report-edit",
        "an objective's strengths and areas for improvement in the report (replaces what was there)",
        cmd_drill_report_edit,
    )
    p.add_argument("drill", metavar="DRILL")
    p.add_argument("objective", metavar="OBJECTIVE")
    p.add_argument("--strength", action="append", metavar="TEXT", help="a strength (repeat for more)")
    p.add_argument("--area", action="append", metavar="TEXT", help="an area for improvement (repeat for more)")
    p.add_argument("--clear", action="store_true", help="remove every strength and area of the objective")

    p = command(
        drill,
        "report-plan",
        "the improvement plan of the report (replaces what was there)",
        cmd_drill_report_plan,
    )
    p.add_argument("drill", metavar="DRILL")
    p.add_argument(
        "--row",
        action="append",
        metavar="ROW",
        help="'ISSUE | CORRECTIVE ACTION | CAPABILITY | RESPONSIBLE | START | COMPLETION' (dates as 2026-12-01; "
        "repeat for more rows)",
    )
    p.add_argument("--clear", action="store_true", help="an empty plan")

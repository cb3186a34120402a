"""Build a sample drill, export its after-action report, and draw the PDF's pages into docs/aar/.

    uv run python scripts/aar_sample.py [--out docs/aar] [--dpi 80]

The drill is the one the after-action tests play (tests/support/aar_drill.py: a Mill Creek flash flood at 60x, two
communicators, an approver, a channel outage), on a scratch database with the user's folders pointed at scratch
too; the controller then rates, writes strengths, areas for improvement and an improvement plan, as they would in
the console before the export. The PDF's pages become PNG with pdftoppm (poppler-utils), to look at.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "aar")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm is missing: install poppler-utils", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="crisisdesk-aar-") as scratch:
        folder = Path(scratch)
        # Never the user's folders: the data folder (its channels) and the log folder are scratch.
        for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            os.environ[var] = str(folder / var.lower())
        sys.path.insert(0, str(REPO))
        from crisisdesk.app import App
        from crisisdesk.credentials import MemorySecrets
        from crisisdesk.domain.clock import FixedClock
        from crisisdesk.services.after_action import PlanRow
        from crisisdesk.services.passwords import Argon2Hasher
        from tests.support.aar_drill import play

        clock = FixedClock(datetime(2026, 11, 22, 21, 0, tzinfo=UTC))
        app = App.open(
            folder / "crisisdesk.sqlite3",
            create=True,
            clock=clock,
            hasher=Argon2Hasher(time_cost=1, memory_cost=1024),
            secrets=MemorySecrets(),
        )
        try:
            app.initialise(
                "alice",
                "sample password",
                workstation_name="EOC desk 1",
                agency_name="Mill County Emergency Management",
            )
            played = play(app, clock, app.people.actor("alice"), folder / "scenario")
            eve = app.people.actor("eve")
            report = app.after_action()
            d = played.drill_id
            report.rate(
                eve,
                d,
                "checklist",
                "M",
                "Step 3 (tell the road crews and 911) was never done: the road "
                "crews heard of the closure from the sheriff.",
            )
            report.edit_objective(
                eve,
                d,
                "alert",
                strengths=["The alert went out 7 minutes after the warning, in English and Spanish."],
                areas=[],
            )
            report.edit_objective(
                eve,
                d,
                "approvals",
                strengths=["Two of three versions were approved within 3 minutes."],
                areas=[
                    "The second update waited 8 minutes for the only approver on duty, who was on the phone "
                    "with the incident commander."
                ],
            )
            report.edit_objective(
                eve,
                d,
                "outbox",
                strengths=["The desk saw the failed delivery and retried it as soon as the page was back."],
                areas=["Nobody told the public the page was down; the other channels could have said so."],
            )
            report.set_plan(
                eve,
                d,
                [
                    PlanRow(
                        "A single approver on duty slows updates",
                        "Name a second approver on every shift and page both",
                        "Public Information and Warning",
                        "Emergency management director",
                        date(2026, 12, 1),
                        date(2027, 1, 15),
                    ),
                    PlanRow(
                        "Checklist step 3 forgotten under load",
                        "Read the checklist aloud at each update; add the road crews to the alert's distribution",
                        "Public Information and Warning",
                        "PIO lead",
                        date(2026, 12, 1),
                        date(2026, 12, 31),
                    ),
                    PlanRow(
                        "No word to the public during a channel outage",
                        "Add an outage notice to the update templates",
                        "Operational Communications",
                        "Communications manager",
                        date(2027, 1, 5),
                        None,
                    ),
                ],
            )
            export = folder / "export"
            files = report.export(eve, d, export, audit=False)
        finally:
            app.close()
        out: Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("aar-page-*.png"):
            old.unlink()
        pdf = next(f for f in files if f.suffix == ".pdf")
        shutil.copyfile(pdf, out / "aar-sample.pdf")
        subprocess.run([pdftoppm, "-r", str(args.dpi), "-png", str(pdf), str(out / "aar-page")], check=True)  # noqa: S603
    for page in sorted(out.glob("aar-page-*.png")):
        print(page)
    print(out / "aar-sample.pdf")
    return 0


if __name__ == "__main__":
    sys.exit(main())

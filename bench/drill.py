"""A one-hour drill at 60x on the real clock (issue 15, item 6): it must take about a minute, and every inject must
fire within 1 s of drill time of its schedule (17 ms of wall time at 60x).

1. The shipped clock: ``DrillRunner``, the thread the console and ``crisisdesk worker`` start, which sleeps until the
   next inject is due (computed from the drill's clock) and wakes on database changes.
2. The obvious alternative, in the same run: a loop that ticks every second (a fixed 1 s poll), half a period out of
   step with the drill's start (its average phase: the poll runs from when the console started).

A scenario of a dozen injects of every kind across the hour (feed items, CAP alerts, urgent comments, notes, a
channel outage, a network loss) is written into a temporary folder with its CAP file, loaded and started at 60x in a
real SQLite file; lateness is the drill time each inject fired at (its event's ``drill_seconds``, and the drill time
of the event's own wall time) minus its scheduled offset.

Run: uv run python bench/drill.py [--skip-polling] [--compression 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TMP = Path(tempfile.mkdtemp(prefix="crisisdesk-bench-drill-"))
for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
    os.environ[var] = str(TMP / var.lower())
os.environ["CRISISDESK_TEST_KEYRING"] = str(TMP / "keyring.json")

import keyring  # noqa: E402

from crisisdesk.app import App  # noqa: E402
from crisisdesk.domain.drill import DrillClock  # noqa: E402
from crisisdesk.domain.events import Kind  # noqa: E402
from crisisdesk.domain.roles import Role  # noqa: E402
from crisisdesk.services.drill_runner import DrillRunner  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402
from tests.integration.drill_helpers import CAP_WARNING  # noqa: E402
from tests.support.file_keyring import FileKeyring  # noqa: E402

INJECTS = """  - {id: report-1, at: T+0, kind: feed-item, headline: Creek rising at the Mill Creek bridge}
  - {id: nws-1, at: T+4m, kind: cap-alert, file: warning.xml}
  - {id: comment-1, at: T+9m, kind: comment, text: "Are we trapped? Water at the door", urgent: true}
  - {id: ic-1, at: T+13m, kind: note, text: The incident commander wants an update now}
  - {id: outage-1, at: T+17m, kind: channel-outage, account: exercise-page, for: 10m}
  - {id: report-2, at: T+22m, kind: feed-item, headline: Road flooded on Oak Street}
  - {id: comment-2, at: T+28m, kind: comment, text: "¿Dónde está el refugio?", language: es, urgent: true}
  - {id: nws-2, at: T+33m, kind: cap-alert, file: warning.xml}
  - {id: loss-1, at: T+39m, kind: network-loss, for: 8m}
  - {id: ic-2, at: T+44m, kind: note, text: The sheriff reports the bridge closed}
  - {id: report-3, at: T+51m, kind: feed-item, headline: High water receding on Mill Creek}
  - {id: comment-3, at: T+57m, kind: comment, text: "When can we go home?"}
"""

SCENARIO = f"""id: bench-hour
name: One-hour flash flood (bench)
summary: A dozen injects of every kind across one hour.
duration: 1h
incidents:
  - key: flood
    playbook: flash-flood
    facts: {{area: "Mill Creek valley | geocode: SAME=006067", expires: "2026-12-31T21:30",
            info_url: "https://ready.millcounty.gov/flood", phone: "211"}}
objectives:
  - id: alert
    title: Alert within ten minutes of the first report
    expect: {{measure: first-message, after: report-1, within: 10m}}
injects:
{INJECTS}"""


def setup() -> tuple[App, Path]:
    keyring.set_keyring(FileKeyring())
    app = App.open(TMP / "crisisdesk.sqlite3", create=True, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.initialise("alice", "correct horse")
    app.people.add(app.people.actor("alice"), "eve", [Role.EXERCISE_CONTROLLER], "eve password")
    folder = TMP / "scenario"
    folder.mkdir()
    (folder / "warning.xml").write_text(CAP_WARNING, encoding="utf-8")
    (folder / "hour.yaml").write_text(SCENARIO, encoding="utf-8")
    return app, folder / "hour.yaml"


def lateness(app: App, drill_id: str) -> list[tuple[str, int, float, float]]:
    """(inject, scheduled, late by its recorded drill_seconds, late by the drill time of its event's wall time)."""
    events = [e for e in app.log.events() if e.kind.startswith("drill.") and e.payload.get("drill") == drill_id]
    clock = DrillClock.from_events((e.kind, datetime.fromisoformat(e.at), e.payload) for e in events)
    out = []
    for e in events:
        if e.kind == Kind.DRILL_INJECT_FIRED:
            scheduled = int(e.payload["scheduled_seconds"])
            recorded = float(e.payload["drill_seconds"]) - scheduled
            committed = clock.seconds(datetime.fromisoformat(e.at)) - scheduled
            out.append((str(e.payload["inject"]), scheduled, recorded, committed))
    return out


def run(app: App, path: Path, compression: float, clock_kind: str) -> dict[str, float]:
    eve = app.people.actor("eve")
    drills = app.drills()
    drill = drills.load(eve, path)
    db = app.db.path
    stop = threading.Event()
    if clock_kind == "runner":
        runner = DrillRunner(lambda: App.open(db).drills())
        runner.start()
        stopper = runner.stop
    else:

        def poll() -> None:
            own = App.open(db).drills()
            while not stop.is_set():
                own.tick()
                stop.wait(1.0)  # the fixed poll
            own.db.close()

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        # A poll runs from when the console started, not from the drill's start: half a period out of step is its
        # average phase (in step, a 1 s poll at 60x would meet whole-minute injects by luck).
        time.sleep(0.5)

        def stopper() -> None:
            stop.set()
            thread.join()

    cpu = time.process_time()
    started = time.perf_counter()
    drills.start(eve, drill.id, compression=compression)
    total = len(drills.get(eve, drill.id).injects)
    while True:
        now = drills.get(eve, drill.id)
        if now.next_inject is None and now.drill_time >= now.scenario.length:
            break
        time.sleep(0.05)  # the bench's own look at the log; the clock under test is the other thread
    drills.end(eve, drill.id)
    wall = time.perf_counter() - started
    stopper()
    cpu = time.process_time() - cpu
    late = lateness(app, drill.id)
    assert len(late) == total, f"{len(late)} of {total} injects fired"
    worst = max(late, key=lambda x: abs(x[2]))
    worst_commit = max(late, key=lambda x: abs(x[3]))
    print(f"\n{clock_kind} at {compression:g}x: the hour took {wall:.1f} s of wall time, {cpu:.2f} s of CPU (process)")
    print(f"  {'inject':<10} {'at':>6} {'late (fired)':>13} {'late (committed)':>17}")
    for inject, scheduled, recorded, committed in late:
        print(f"  {inject:<10} {scheduled:>6} {recorded:>12.3f}s {committed:>16.3f}s")
    print(
        f"  worst lateness: {worst[2]:.3f} s of drill time ({worst[0]}) when fired, {worst_commit[3]:.3f} s "
        f"({worst_commit[0]}) when committed; mean {statistics.mean(x[2] for x in late):.3f} s"
    )
    return {"wall": wall, "worst": worst[2], "worst_committed": worst_commit[3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compression", type=float, default=60.0)
    parser.add_argument("--skip-polling", action="store_true", help="only the shipped clock")
    args = parser.parse_args()
    app, path = setup()
    print(f"scenario: 12 injects across 1 h, at {args.compression:g}x; database {app.db.path}")
    shipped = run(app, path, args.compression, "runner")
    if not args.skip_polling:
        run(app, path, args.compression, "fixed 1 s poll")
    ok = shipped["worst"] <= 1.0 and shipped["worst_committed"] <= 1.0
    print(f"\ntarget (every inject within 1 s of drill time): {'met' if ok else 'MISSED'} by the shipped clock")
    app.close()


if __name__ == "__main__":
    main()

"""The console on a year of data: how long each place takes to open, how big tables scroll, and the memory.

    uv run python bench/year.py --out /tmp/year.sqlite3 --build-in /dev/shm     # once (see bench/README.md)
    uv run python bench/console_year.py --db /tmp/year.sqlite3 [--who alice] [--rows 100000]

Offscreen, the real ``MainWindow`` with its real task pool (``synchronous=False``) and watcher, signed in as
``--who`` (an admin sees every place). Whatever view is in each place is measured: the script only asks the
window for its places and waits for the window's own task helper to have nothing running.

1. The window: from ``MainWindow(...)`` to its first place (Incidents) shown with its data.
2. Each place, first visit (the view is built, reads its data in tasks, draws) and a second visit: the time from
   ``show_place`` until no task of the window is running and what they brought is drawn (target: 200 ms).
3. Scrolling each place's biggest table to its end, as a person dragging the scroll bar down again and again: each
   step moves to the bottom (a model that pages asks for the next page there), and the table is painted at once.
   Frame time = the step and its paint; the heartbeat (``tests/ui/heartbeat.py``, a 10 ms timer on the GUI
   thread) says how long the GUI thread was kept busy between two beats, pages being read meanwhile.
   Stops at ``--rows`` rows, when the model has no more, or after ``--scroll-seconds``.
4. The process's memory (resident set, from /proc) before the window, with it open, and at the end.

The window reads only; the database is not changed (nothing is published or polled). Exit 0 with the figures on
stdout (and ``--json PATH``); exit 2 with one line when the database is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_OPEN_MS = 200.0
IDLE_DEADLINE_S = 60.0


def rss_mb() -> tuple[float, float]:
    """(resident now, the most it has been) in MB, from /proc/self/status."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found.get("VmRSS", 0.0), found.get("VmHWM", 0.0)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"load average {load[0]:.1f}"
    )


def desktop_screen(folder: Path) -> None:
    """A 1920 x 1080 offscreen screen, as scripts/screenshots.py draws on (the default is 800 x 800)."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return
    config = folder / "offscreen-screen.json"
    screen = {"name": "desk", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"screens": [screen]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the console on a year of data (bench/year.py).")
    parser.add_argument("--db", type=Path, required=True, help="the database bench/year.py built")
    parser.add_argument("--who", default="alice", help="who is signed in (default alice, the admin)")
    parser.add_argument("--rows", type=int, default=100_000, help="scroll until this many rows (default 100,000)")
    parser.add_argument("--scroll-seconds", type=float, default=180.0, help="give up scrolling a table after this")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    db: Path = args.db.expanduser()
    if not db.is_file():
        print(f"console_year: {db} is not a file: build it first with bench/year.py", file=sys.stderr)
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="crisisdesk-console-year-"))
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        os.environ.setdefault(var, str(scratch / var.lower()))
    desktop_screen(scratch)
    figures: dict[str, Any] = {"machine": machine(), "db": str(db), "db_mb": round(db.stat().st_size / 1e6)}

    started = time.perf_counter()
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QAbstractItemView, QApplication

    from crisisdesk.app import App
    from crisisdesk.credentials import MemorySecrets
    from crisisdesk.ui import palette
    from crisisdesk.ui.views.main_window import MainWindow
    from tests.ui.heartbeat import Heartbeat

    figures["imports_s"] = round(time.perf_counter() - started, 2)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    app.setPalette(palette.light_palette())
    figures["rss_before_window_mb"] = round(rss_mb()[0])

    core = App.open(db, secrets=MemorySecrets())
    wake = QTimer()
    wake.setInterval(5)  # wakes the waits below so their deadlines and idleness are looked at

    def settle(window: MainWindow, what: str) -> None:
        """Run the event loop until none of the window's tasks runs (twice in a row, with the paints between)."""
        deadline = time.monotonic() + IDLE_DEADLINE_S
        wake.start()
        try:
            quiet = 0
            while quiet < 2:
                QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
                if window.session.tasks.busy:
                    quiet = 0
                    QApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
                else:
                    quiet += 1
                if time.monotonic() > deadline:
                    raise SystemExit(f"console_year: {what} did not finish within {IDLE_DEADLINE_S:.0f} s")
        finally:
            wake.stop()

    heartbeat = Heartbeat()
    with heartbeat:
        heartbeat.step("window")
        began = time.perf_counter()
        window = MainWindow(core, core.people.actor(args.who), synchronous=False)
        window.resize(1280, 800)
        window.show()
        settle(window, "the window")
        figures["window_to_incidents_ms"] = round((time.perf_counter() - began) * 1000)
        figures["rss_window_open_mb"] = round(rss_mb()[0])

        opened: dict[str, dict[str, float]] = {}
        for visit in ("first", "second"):
            for place in window.places:
                heartbeat.step(f"open {place} ({visit})")
                began = time.perf_counter()
                window.show_place(place)
                settle(window, f"the {place} place")
                window.repaint()  # what it shows, drawn now (offscreen paints only when asked)
                opened.setdefault(place, {})[visit] = round((time.perf_counter() - began) * 1000, 1)
                heartbeat.beat()  # the time since the last beat belongs to this step
                busiest = heartbeat.busiest.get(f"open {place} ({visit})", 0.0)
                opened[place][f"{visit}_busiest_beat"] = round(busiest * 1000, 1)
        figures["open_ms"] = opened
        figures["rss_places_built_mb"] = round(rss_mb()[0])

        # The board with every closed incident of the year (a checkbox on the Incidents place, when there is one)
        closed_filter = getattr(window.incidents, "closed_filter", None)
        if closed_filter is not None:
            window.show_place(window.places[0])
            settle(window, "the Incidents place")
            for visit in ("first", "second"):  # the first time, the task's App loads the playbooks it meets
                step = f"board with closed incidents ({visit})"
                heartbeat.step(step)
                began = time.perf_counter()
                closed_filter.setChecked(True)
                settle(window, "the board with closed incidents")
                window.repaint()
                figures[f"board_with_closed_{visit}_ms"] = round((time.perf_counter() - began) * 1000)
                figures["board_with_closed_rows"] = window.incidents.model.rowCount()
                heartbeat.beat()
                figures[f"board_with_closed_{visit}_busiest_beat_ms"] = round(
                    heartbeat.busiest.get(step, 0.0) * 1000, 1
                )
                closed_filter.setChecked(False)
                settle(window, "the board")

        scrolled: dict[str, dict[str, Any]] = {}
        for place in window.places:
            window.show_place(place)
            settle(window, f"the {place} place")
            views = [v for v in window.place(place).findChildren(QAbstractItemView) if v.isVisible() and v.model()]
            if not views:
                continue
            view = max(views, key=lambda v: v.model().rowCount())
            model = view.model()
            if model.rowCount() < 50:
                continue  # not a big table: nothing to scroll
            bar = view.verticalScrollBar()
            frames: list[float] = []
            frames_cpu: list[float] = []  # the GUI thread's own time in each frame (the machine's load left out)
            step = f"scroll {place}"
            heartbeat.step(step)
            began = time.perf_counter()
            while True:
                frame, cpu = time.perf_counter(), time.thread_time()
                bar.setValue(bar.maximum())  # the thumb dragged to the bottom: a paging model fetches more here
                view.viewport().repaint()
                frames.append(time.perf_counter() - frame)
                frames_cpu.append(time.thread_time() - cpu)
                QApplication.processEvents()
                if window.session.tasks.busy:
                    settle(window, f"a page of {place}")
                    view.viewport().repaint()
                rows = model.rowCount()
                at_end = bar.value() == bar.maximum() and not model.canFetchMore(view.rootIndex())
                if rows >= args.rows or at_end or time.perf_counter() - began > args.scroll_seconds:
                    break
            took = time.perf_counter() - began
            heartbeat.beat()
            # and back up a screen at a time, as a person reads: frames over rows already loaded
            back: list[float] = []
            back_cpu: list[float] = []
            for _ in range(200):
                frame, cpu = time.perf_counter(), time.thread_time()
                bar.setValue(bar.value() - bar.pageStep())
                view.viewport().repaint()
                back.append(time.perf_counter() - frame)
                back_cpu.append(time.thread_time() - cpu)
                QApplication.processEvents()
            scrolled[place] = {
                "rows": model.rowCount(),
                "more_to_fetch": model.canFetchMore(view.rootIndex()),
                "seconds_to_end": round(took, 1),
                "jumps": len(frames),
                "frame_ms_median": round(statistics.median(frames) * 1000, 1),
                "frame_ms_max": round(max(frames) * 1000, 1),
                "frame_cpu_ms_median": round(statistics.median(frames_cpu) * 1000, 1),
                "frame_cpu_ms_max": round(max(frames_cpu) * 1000, 1),
                "page_up_frame_ms_median": round(statistics.median(back) * 1000, 1),
                "page_up_frame_ms_max": round(max(back) * 1000, 1),
                "page_up_frame_cpu_ms_median": round(statistics.median(back_cpu) * 1000, 1),
                "page_up_frame_cpu_ms_max": round(max(back_cpu) * 1000, 1),
                "busiest_beat_ms": round(heartbeat.busiest.get(step, 0.0) * 1000, 1),
                "widest_gap_ms": round(heartbeat.widest.get(step, 0.0) * 1000, 1),
            }
        figures["scroll"] = scrolled
        now, peak = rss_mb()
        figures["rss_end_mb"], figures["rss_peak_mb"] = round(now), round(peak)
    window.dispose()
    core.close()

    print(f"machine: {figures['machine']}")
    print(f"database: {db} ({figures['db_mb']:,} MB)")
    print(
        f"imports {figures['imports_s']:.2f} s; "
        f"window to its Incidents place shown {figures['window_to_incidents_ms']} ms"
    )
    print(f"{'place':<12} {'first visit':>12} {'(GUI busiest)':>14} {'second visit':>13} {'(GUI busiest)':>14}")
    for place, times in opened.items():
        flag = "" if times["first"] <= TARGET_OPEN_MS else "  over 200 ms"
        print(
            f"{place:<12} {times['first']:>9.0f} ms {times['first_busiest_beat']:>11.0f} ms "
            f"{times['second']:>10.0f} ms {times['second_busiest_beat']:>11.0f} ms{flag}"
        )
    if "board_with_closed_first_ms" in figures:
        print(
            f"Incidents with 'Show closed incidents': {figures['board_with_closed_rows']:,} rows (a page) in "
            f"{figures['board_with_closed_first_ms']:,} ms the first time, "
            f"{figures['board_with_closed_second_ms']:,} ms the second (GUI busiest "
            f"{figures['board_with_closed_first_busiest_beat_ms']} / "
            f"{figures['board_with_closed_second_busiest_beat_ms']} ms)"
        )
    for place, s in scrolled.items():
        print(
            f"scroll {place}: {s['rows']:,} rows{' (more to fetch)' if s['more_to_fetch'] else ''} in "
            f"{s['seconds_to_end']} s over {s['jumps']} jumps to the end;\n"
            f"  jump frames: median {s['frame_ms_median']} ms wall / {s['frame_cpu_ms_median']} ms GUI thread, "
            f"max {s['frame_ms_max']} / {s['frame_cpu_ms_max']} ms;\n"
            f"  page-up frames: median {s['page_up_frame_ms_median']} / {s['page_up_frame_cpu_ms_median']} ms, "
            f"max {s['page_up_frame_ms_max']} / {s['page_up_frame_cpu_ms_max']} ms;\n"
            f"  GUI thread busiest between two beats {s['busiest_beat_ms']} ms "
            f"(widest wall gap {s['widest_gap_ms']} ms)"
        )
    print(
        f"memory (resident): {figures['rss_before_window_mb']} MB before the window, "
        f"{figures['rss_window_open_mb']} MB with it open, {figures['rss_places_built_mb']} MB with every place built, "
        f"{figures['rss_end_mb']} MB after scrolling (peak {figures['rss_peak_mb']} MB)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""'crisisdesk drill ...' as a person types it: each command, its output, its one-line errors and exit codes (1 for
a scenario with problems, 2 for any other mistake, as every crisisdesk command), and 'drill run' as a real process on
the real clock, stopped by its end or by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.passwords import Argon2Hasher
from tests.conftest import ADMIN, CliRun, person
from tests.integration.drill_helpers import advance, scenario_text, write_scenario
from tests.integration.outbox_helpers import REPO, open_live
from tests.support.wait import wait_until


@pytest.fixture
def eve(core: App, admin: Actor) -> Actor:
    return person(core, admin, "eve", Role.EXERCISE_CONTROLLER)


def one_line(code: int, err: str, expected: int = 2) -> str:
    assert code == expected, err
    assert err.startswith("crisisdesk: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_validate_prints_problems_as_file_line_column_and_exits_1(cli_as: CliRun, eve: Actor, tmp_path: Path) -> None:
    good = write_scenario(tmp_path / "good")
    bad = write_scenario(tmp_path / "bad", scenario_text().replace("playbook: flash-flood", "playbook: nope"))
    code, out, err = cli_as("eve", "drill", "validate", str(good))
    assert (code, out) == (0, "") and "1 scenario(s) valid" in err
    code, out, err = cli_as("eve", "drill", "validate", str(good), str(bad))
    assert code == 1
    assert out.startswith(f"{bad}:8:15: ") and "nope" in out and out.count("\n") == 1
    assert "1 scenario(s) valid, 1 with problems" in err


def test_a_whole_drill_from_the_command_line(
    cli_as: CliRun, core: App, eve: Actor, tmp_path: Path, clock: FixedClock
) -> None:
    path = write_scenario(tmp_path / "s")
    code, out, err = cli_as("eve", "drill", "load", str(path))
    assert code == 0, err
    drill = out.strip()
    assert drill.startswith("drl-") and out.count("\n") == 1 and f"drill start {drill}" in err
    code, out, err = cli_as("eve", "drill", "start", drill, "--compression", "10")
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"{drill}  Test flash flood  RUNNING  T+0 at 10x  next: nws-warning at T+5m")
    assert "(EXERCISE)" in out.splitlines()[1]
    advance(clock, 16, 10)
    core.drills().tick()
    code, out, _ = cli_as("eve", "drill", "status", drill)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{drill}  Test flash flood  RUNNING  T+16m at 10x")
    assert any("ic-call" in line and "fired at T+16m" in line for line in lines)  # one tick, late: all due at once
    assert "notes for the players:" in lines and "failing now:" in lines
    assert any("'exercise-page' failing until T+36m" in line for line in lines)  # 20 min from its firing
    code, out, _ = cli_as("eve", "feeds", "list")
    first, second = out.splitlines()
    assert first.split() == ["drill:", "Test", "flash", "flood", "drill", "never", "polled", f"drill:{drill}"]
    assert second.strip() == "a drill's exercise-only source: 3 item(s) injected so far"  # a report, a CAP, a comment
    code, out, _ = cli_as("eve", "drill", "status", drill, "--json")
    data = json.loads(out)
    assert data["status"] == "running" and data["drill_seconds"] == 960
    assert [i["status"] for i in data["injects"]].count("fired") == 5
    assert cli_as("eve", "drill", "pause", drill)[1].startswith(f"{drill}  Test flash flood  PAUSED")
    assert cli_as("eve", "drill", "resume", drill)[1].startswith(f"{drill}  Test flash flood  RUNNING")
    assert " at 60x " in cli_as("eve", "drill", "compression", drill, "60")[1]
    code, out, _ = cli_as("eve", "drill", "jump", drill, "late-report")
    assert code == 0 and "skipped" in out and "late-report" in out
    code, out, _ = cli_as("eve", "drill", "status")
    assert out.startswith(f"{drill}  Test flash flood  RUNNING  T+55m at 60x")
    code, out, _ = cli_as("eve", "drill", "end", drill)
    assert out.startswith(f"{drill}  Test flash flood  ENDED")
    kinds = [e.kind for e in core.log.events() if e.kind.startswith("drill.") and e.payload.get("drill") == drill]
    for kind in (
        Kind.DRILL_PAUSED,
        Kind.DRILL_RESUMED,
        Kind.DRILL_COMPRESSION_SET,
        Kind.DRILL_JUMPED,
        Kind.DRILL_ENDED,
    ):
        assert kinds.count(kind) == 1


def test_scenarios_lists_the_user_folder_with_each_ones_state(cli_as: CliRun, core: App, eve: Actor) -> None:
    from crisisdesk.app import user_scenarios_dir

    folder = user_scenarios_dir()
    good = write_scenario(folder)
    broken = write_scenario(folder, scenario_text().replace("at: T+5m", "at: soon"), name="broken.yaml")
    code, out, _ = cli_as("eve", "drill", "scenarios")
    assert code == 0
    lines = {line.split("  ")[0]: line for line in out.splitlines()}
    assert lines[str(good)] == f"{good}  test-flood  Test flash flood  ready"
    assert lines[str(broken)].startswith(f"{broken}  BROKEN  1 problem(s): {broken}:")
    drill = cli_as("eve", "drill", "load", str(good))[1].strip()
    cli_as("eve", "drill", "start", drill)
    code, out, _ = cli_as("eve", "drill", "scenarios")
    assert f"{good}  test-flood  Test flash flood  {drill} running" in out.splitlines()


def test_mistakes_are_one_line_never_a_traceback(cli_as: CliRun, core: App, eve: Actor, tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s")
    drill = cli_as("eve", "drill", "load", str(path))[1].strip()
    bad = write_scenario(tmp_path / "bad", scenario_text().replace("at: T+5m", "at: soon"))
    assert f"{bad}:" in one_line(*cli_as("eve", "drill", "load", str(bad))[::2])
    assert "no such file" in one_line(*cli_as("eve", "drill", "load", str(tmp_path / "none.yaml"))[::2])
    assert "out of range" in one_line(*cli_as("eve", "drill", "start", drill, "--compression", "100")[::2])
    assert "give a number" in one_line(*cli_as("eve", "drill", "start", drill, "--compression", "fast")[::2])
    assert "no drill 'drl-nope'" in one_line(*cli_as("eve", "drill", "pause", "drl-nope")[::2])
    assert "cannot pause now" in one_line(*cli_as("eve", "drill", "pause", drill)[::2])
    cli_as("eve", "drill", "start", drill)
    assert "no inject 'nope'" in one_line(*cli_as("eve", "drill", "jump", drill, "nope")[::2])
    assert "already fired" in one_line(*cli_as("eve", "drill", "inject", drill, "first-report")[::2])
    person(core, core.people.actor(ADMIN), "carla", Role.COMMUNICATOR)
    assert "carla may not run exercises" in one_line(*cli_as("carla", "drill", "end", drill)[::2])
    assert "needs a command" in one_line(*cli_as("eve", "drill")[::2])


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "CRISISDESK_DB": str(db), "CRISISDESK_PASSWORD": "eve password"}


QUICK = """id: quick
name: Quick drill
summary: Three injects in three minutes of drill time (three seconds at 60x).
duration: 3m
incidents:
  - key: flood
    playbook: flash-flood
    facts: {area: "Mill Creek valley | geocode: SAME=006067", expires: "2026-11-22T21:30",
            info_url: "https://ready.millcounty.gov/flood", phone: "211"}
objectives:
  - id: alert
    title: Alert fast
    expect: {measure: first-message, after: one, within: 10m}
injects:
  - {id: one, at: T+0, kind: note, text: Go}
  - {id: two, at: T+1m, kind: feed-item, headline: Creek rising at the bridge}
  - {id: three, at: T+2m, kind: note, text: Almost done}
"""


def test_drill_run_runs_the_clock_in_the_foreground_until_the_planned_end(
    db_path: Path, hasher: Argon2Hasher, tmp_path: Path
) -> None:
    app = open_live(db_path, hasher)
    eve = person(app, app.people.actor(ADMIN), "eve", Role.EXERCISE_CONTROLLER)
    (tmp_path / "quick.yaml").write_text(QUICK, encoding="utf-8")
    drill = app.drills().start(eve, app.drills().load(eve, tmp_path / "quick.yaml").id, compression=60).id
    run = subprocess.run(
        [sys.executable, "-m", "crisisdesk", "drill", "run", drill, "--end", "--as", "eve"],
        env=_env(db_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[1] for line in lines[:2]] == ["two", "three"]
    assert "the planned length (3m) is over: drill ended" in lines[-1]
    assert app.drills().get(eve, drill).status.value == "ended"
    app.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_the_clock_and_the_drill_keeps_its_state(
    db_path: Path, hasher: Argon2Hasher, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    app = open_live(db_path, hasher)
    eve = person(app, app.people.actor(ADMIN), "eve", Role.EXERCISE_CONTROLLER)
    write_scenario(tmp_path / "s")
    drill = app.drills().start(eve, app.drills().load(eve, tmp_path / "s" / "test-flood.yaml").id).id
    proc = subprocess.Popen(
        [sys.executable, "-m", "crisisdesk", "drill", "run", drill, "--as", "eve"],
        env=_env(db_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the clock is running once it says so
    assert "on the clock at 1x; stop it with Ctrl-C" in first
    proc.send_signal(stop_signal)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "the clock stopped; drill" in err and "keeps its state" in err and "Traceback" not in err
    wait_until(lambda: app.drills().get(eve, drill).status.value == "running", 5, "the drill still running")
    app.close()

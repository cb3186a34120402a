"""Hostile scenario files on disk: a file name that is not UTF-8 (a Linux file name is bytes) loads, its name kept
readable in the log, rather than an internal error from the log's JSON."""

from __future__ import annotations

import os
from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.services.drills import DrillStatus
from tests.conftest import CliRun
from tests.integration.drill_helpers import controller, scenario_text, write_scenario


def test_a_scenario_whose_file_name_is_not_utf8_loads(core: App, admin: Actor, tmp_path: Path, cli_as: CliRun) -> None:
    eve = controller(core, admin)
    folder = tmp_path / "s"
    write_scenario(folder)  # its CAP file beside it
    path = Path(os.fsdecode(bytes(folder) + b"/flood\xff.yaml"))  # as Python sees a name with a Latin-1 byte
    path.write_text(scenario_text(), encoding="utf-8")
    drill = core.drills().load(eve, path)
    assert drill.status is DrillStatus.LOADED and drill.source == "flood\ufffd.yaml"
    code, out, err = cli_as("eve", "drill", "load", str(path))
    assert code == 0, err
    assert out.startswith("drl-")
    code, out, err = cli_as("eve", "drill", "status")
    assert code == 0 and "Test flash flood" in out, err


def test_a_cap_file_that_is_a_link_out_of_the_scenario_folder_is_refused(
    core: App, admin: Actor, tmp_path: Path
) -> None:
    eve = controller(core, admin)
    elsewhere = tmp_path / "elsewhere"
    write_scenario(elsewhere)  # a readable CAP alert, outside the scenario's folder
    folder = tmp_path / "s"
    path = write_scenario(folder)
    (folder / "warning.xml").unlink()
    (folder / "warning.xml").symlink_to(elsewhere / "warning.xml")
    scenario, problems = core.drills().validate(path)
    assert scenario is None
    [problem] = problems
    assert "warning.xml" in problem.message and "outside" in problem.message, problem
    assert problem.line == path.read_text(encoding="utf-8").splitlines().index("    file: warning.xml") + 1
    # A link inside the folder is the author's own arrangement, and stays allowed.
    (folder / "cap").mkdir()
    (folder / "cap" / "real.xml").write_bytes((elsewhere / "warning.xml").read_bytes())
    (folder / "warning.xml").unlink()
    (folder / "warning.xml").symlink_to(folder / "cap" / "real.xml")
    assert core.drills().validate(path) == (core.drills().validate(path)[0], [])
    assert core.drills().load(eve, path).status is DrillStatus.LOADED

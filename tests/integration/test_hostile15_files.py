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

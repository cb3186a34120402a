"""Hostile tests of the after-action export: a folder that cannot be made or written is a one-line error (exit 2
from the command line), never an OSError traceback, and never half a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Actor
from tests.conftest import CliRun
from tests.integration.drill_helpers import controller, write_scenario

UNWRITABLE = [
    "/proc/1/no-such-folder",  # its parent exists and takes no new folder
    "/proc/self",  # exists, is a folder, takes no file
    "/sys/kernel",  # the same, on sysfs
]


@pytest.fixture
def drill(core: App, admin: Actor, tmp_path: Path) -> str:
    eve = controller(core, admin)
    loaded = core.drills().load(eve, write_scenario(tmp_path / "s"))
    core.drills().start(eve, loaded.id)
    core.drills().end(eve, loaded.id)
    return loaded.id


@pytest.mark.parametrize("out", [*UNWRITABLE, "long"])
def test_an_export_into_a_folder_that_cannot_be_written_is_a_one_line_error(
    core: App, drill: str, cli_as: CliRun, tmp_path: Path, out: str
) -> None:
    if out == "long":
        out = str(tmp_path / ("x" * 300))  # longer than a file name may be
    assert Path("/proc/self").is_dir()
    with pytest.raises(UserError):
        core.after_action().export(core.people.actor("eve"), drill, Path(out), pdf=False)
    code, stdout, err = cli_as("eve", "drill", "report", drill, "--out", out, "--no-pdf")
    assert code == 2, err
    assert err.startswith("crisisdesk: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert stdout == ""

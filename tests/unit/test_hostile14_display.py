"""Hostile tests (issue 14, part 7): without a usable display ``crisisdesk`` says so in one line and exits 2;
never Qt's abort (exit 134) as the only clue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crisisdesk.cli import display


def _run(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env |= {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_RUNTIME_DIR": str(tmp_path)}
    env |= extra
    exe = Path(sys.executable).parent / "crisisdesk"
    return subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the display check is for Linux")
def test_hostile14_garbage_wayland_display_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _run(tmp_path, WAYLAND_DISPLAY="garbage-no-such-socket", QT_QPA_PLATFORM="wayland")
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "qt.qpa" not in done.stderr


def test_hostile14_garbage_x_display_is_refused_before_qt() -> None:
    # The plugin path emptied so the X11 plugin's own check does not answer first (on a machine with the xcb
    # libraries it passes, and the display value alone decides).
    env = {"DISPLAY": "foo", "QT_QPA_PLATFORM_PLUGIN_PATH": "/nonexistent-hostile14"}
    assert display.problem(env) is not None

"""scripts/screenshots.py, run as a person runs it (a process of its own), into a scratch folder: it exits 0 within
its deadline and leaves every picture, each a PNG of a window's size with something drawn on it."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "screenshots.py"
DEADLINE_S = 300  # it takes 15-30 s; a loaded CI machine gets room, a hung view does not get forever


def script_pictures() -> tuple[str, ...]:
    """The pictures the script says it draws (its PICTURES), read from its text without running it."""
    for node in ast.parse(SCRIPT.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PICTURES" for t in node.targets):
            names = ast.literal_eval(node.value)
            assert isinstance(names, tuple)
            return names
    raise AssertionError("scripts/screenshots.py has no PICTURES")


PICTURES = script_pictures()
# README.md shows some of them: each must be one the script draws (a renamed picture would leave README broken).
IN_README = tuple(sorted(set(re.findall(r"docs/screenshots/([\w-]+)\.png", (REPO / "README.md").read_text()))))


def colours(image: QImage, step: int = 3) -> int:
    """How many distinct colours a grid of every ``step``-th pixel holds (a blank or one-colour grab has 1 or 2)."""
    seen = {image.pixel(x, y) for y in range(0, image.height(), step) for x in range(0, image.width(), step)}
    return len(seen)


@pytest.mark.slow
def test_the_script_draws_every_view_and_dialog(tmp_path: Path, qapp: QApplication) -> None:
    out = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # the user folders are this test's (tests/conftest.py)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        cwd=tmp_path,  # not the checkout: the script finds its own way
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr}"
    assert done.stderr == "", done.stderr  # no Qt warning, no refusal, no traceback
    assert f"{len(PICTURES)} pictures in" in done.stdout and took < DEADLINE_S
    made = sorted(p.name for p in out.iterdir())
    assert len(PICTURES) >= 29 and IN_README and set(IN_README) <= set(PICTURES), set(IN_README) - set(PICTURES)
    assert made == sorted(f"{name}.png" for name in PICTURES)
    for name in PICTURES:
        path = out / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        image = QImage(str(path))
        assert not image.isNull(), name
        assert image.width() >= 400 and image.height() >= 120, (name, image.size())  # the sign-in is the smallest
        assert colours(image) > 12, f"{name} looks blank: {colours(image)} colours"
    windows = [n for n in PICTURES if n.startswith(("incidents-board", "incident-workspace", "approvals", "window-"))]
    for name in windows:
        assert QImage(str(out / f"{name}.png")).width() >= 1100, name


def test_a_folder_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(taken)],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"screenshots: {taken} is not a folder\n"
    assert taken.read_text() == "not a folder"

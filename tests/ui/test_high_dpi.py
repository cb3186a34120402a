"""High DPI: the console tells Qt how to round a fractional scale before its application exists, and the main
window drawn on a screen at twice the pixels (QT_SCALE_FACTOR=2, in a process of its own: the factor is read when
the application starts) is the same window at twice the pixels, not a window laid out in fixed device pixels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from crisisdesk.app import App

DRAW = """
import json, sys
from pathlib import Path
from crisisdesk.ui.scaling import ROUNDING, prepare_high_dpi
prepare_high_dpi()
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from crisisdesk.app import App
from crisisdesk.ui.views.main_window import MainWindow
core = App.open(Path(sys.argv[1]))
window = MainWindow(core, core.people.actor("alice"), synchronous=True)
window.resize(1000, 640)
window.show()
app.processEvents()
picture = window.grab()
picture.save(sys.argv[2])
window.show_mode("exercise", "Pine Ridge drill")
window.show_place("Incidents")
app.processEvents()
band = window.mode_band.grab().toImage()
ratio, row = band.devicePixelRatio(), int((window.mode_band.height() - 4) * band.devicePixelRatio())
ground = window.mode_band.background.lightness()
light = [band.pixelColor(x, row).lightness() > ground + 12 for x in range(int(300 * ratio))]
stripes = sum(1 for a, b in zip(light, light[1:]) if b and not a)
print(json.dumps({
    "rounding": QGuiApplication.highDpiScaleFactorRoundingPolicy() == ROUNDING,
    "ratio": picture.devicePixelRatio(),
    "pixels": [picture.width(), picture.height()],
    "window": [window.width(), window.height()],
    "nav": [window.nav.width(), window.nav.geometry().right()],
    "stripes": stripes,
}))
window.dispose()
core.close()
"""


def draw(db: Path, out: Path, scale: str) -> dict[str, object]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale}
    done = subprocess.run(
        [sys.executable, "-c", DRAW, str(db), str(out)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_window_at_twice_the_pixels(core: App, db_path: Path, tmp_path: Path) -> None:
    core.close()  # the drawing process opens the database itself
    once, twice = draw(db_path, tmp_path / "window-1x.png", "1"), draw(db_path, tmp_path / "window-2x.png", "2")
    assert once["rounding"] and twice["rounding"]
    assert once["ratio"] == 1 and twice["ratio"] == 2
    # The same layout in device-independent pixels, drawn with twice the pixels each way.
    assert twice["window"] == once["window"] and twice["nav"] == once["nav"]
    assert twice["pixels"] == [2 * n for n in once["window"]]  # type: ignore[attr-defined]
    big, small = QImage(str(tmp_path / "window-2x.png")), QImage(str(tmp_path / "window-1x.png"))
    assert (big.width(), big.height()) == (2 * small.width(), 2 * small.height())
    # The exercise band's stripes are as many to a length of band at 2x as at 1x (a pattern brush, drawn in device
    # pixels, had twice as many, half as wide and faint).
    assert isinstance(once["stripes"], int) and once["stripes"] >= 10
    assert once["stripes"] == twice["stripes"]
    # The header's band of colour sits where it sits at 1x: nothing drawn at a fixed device-pixel place.
    header_row = small.height() // 20
    assert small.pixelColor(5, header_row) == big.pixelColor(10, 2 * header_row)

"""axe-core in a real headless Chromium: Debian's ``chromium`` driven by npm's ``puppeteer-core``.

``.ci/run`` installs both (apt-get, then npm in ``tests/support/axe``); on a developer's machine the npm
packages are installed here on first use. A missing Chromium or npm skips the test with the reason, except
under CI (``CI=true``), where it fails the run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.support.servers import unavailable

AXE_DIR = Path(__file__).parent / "axe"
INSTALL_DEADLINE = 600  # seconds: npm fetching puppeteer-core and axe-core on a slow link
RUN_DEADLINE = 180  # seconds for the whole check (the script waits for the browser and each page with its own)


def chromium() -> str:
    found = os.environ.get("CRISISDESK_CHROMIUM") or shutil.which("chromium")
    if not found:
        unavailable("Chromium is not installed (apt-get install chromium; .ci/run installs it)")
    assert found is not None
    return found


def _pins() -> dict[str, str]:
    return dict(json.loads((AXE_DIR / "package.json").read_text())["dependencies"])


def _installed() -> bool:
    for name, version in _pins().items():
        manifest = AXE_DIR / "node_modules" / name / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != version:
            return False
    return True


def node() -> str:
    """Node with axe-core and puppeteer-core installed at their pinned versions (installed now if need be)."""
    node_bin, npm = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm is None:
        unavailable("Node.js and npm are not installed (apt-get install nodejs npm; .ci/run installs them)")
    assert node_bin is not None and npm is not None
    if not _installed():
        env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}  # puppeteer-core downloads no browser anyway
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=AXE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_DEADLINE,
            check=False,
        )
        if done.returncode != 0 or not _installed():
            unavailable(f"npm could not install axe-core and puppeteer-core: {done.stderr.strip()[-500:]}")
    return node_bin


def axe(pages: list[Path], *, shots: Path | None = None, width: int = 1000) -> dict[str, Any]:
    """Run every WCAG 2.x A/AA and best-practice rule of axe-core on ``pages``; the report as check.mjs makes it."""
    command = [node(), str(AXE_DIR / "check.mjs"), "--chromium", chromium(), "--width", str(width)]
    if shots is not None:
        command += ["--shots", str(shots)]
    done = subprocess.run(
        [*command, *map(str, pages)], capture_output=True, text=True, timeout=RUN_DEADLINE, check=False
    )
    assert done.returncode == 0, f"the axe check failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report

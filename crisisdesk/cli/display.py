"""Can Qt open a display here? Asked by ``crisisdesk gui`` before anything imports Qt: when its platform plugin
cannot load, Qt aborts the process with its own messages, and a person sees nothing of ours. Standard library only
(no PySide6 import, so it lives with the command line), and cheap: a few environment variables, at most one socket
connect and one ``dlopen`` of the plugin Qt loads next anyway.

Only Linux and the other X11/Wayland systems are checked; Windows and macOS always have their platform.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import socket
import sys
from pathlib import Path

# Platforms that need no display server (QT_QPA_PLATFORM=offscreen for a headless check).
NO_DISPLAY_NEEDED = frozenset({"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs", "vkkhrdisplay"})

HOW = (
    "run it in a desktop session, under a virtual display ('xvfb-run crisisdesk'), or set "
    "QT_QPA_PLATFORM=offscreen for a headless check"
)


def problem(environ: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """Why the console cannot open a window here, in one line with what to do; None when it can (or when this
    cannot tell: then Qt has its say)."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    env = os.environ if environ is None else environ
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    # "wayland;xcb" means try each in turn; "offscreen:fontengine=freetype" carries options after the colon.
    choices = [c.split(":")[0].strip() for c in requested.split(";") if c.strip()]
    if any(c in NO_DISPLAY_NEEDED for c in choices):
        return None
    if not choices:  # Qt's own choice: Wayland in a Wayland session, else X11
        wayland = env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE") == "wayland"
        choices = ["wayland", "xcb"] if wayland else ["xcb"]
    wayland_problem: str | None = None
    for choice in choices:  # in turn, as Qt tries them
        if choice == "wayland" and env.get("WAYLAND_DISPLAY"):
            wayland_problem = _wayland_problem(env["WAYLAND_DISPLAY"], env)
            if wayland_problem is None:
                return None
        if choice == "xcb" and env.get("DISPLAY"):
            return _x11_problem(env["DISPLAY"], env)
    if wayland_problem is not None:
        return wayland_problem
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return f"the console needs a display and there is none (DISPLAY and WAYLAND_DISPLAY are not set): {HOW}"
    wanted = requested or "xcb"
    return f"the console cannot use the display: QT_QPA_PLATFORM={wanted} but its display is not set; {HOW}"


def _x11_problem(display: str, env: os._Environ[str] | dict[str, str]) -> str | None:
    missing = _xcb_plugin_problem(env)
    if missing is not None:
        return missing
    found = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
    if found is None:
        if re.fullmatch(r"[\w.\-\[\]:]*:\d+(?:\.\d+)?", display):
            return None  # a remote display (host:0, ssh forwarding): Qt connects, and says so if it cannot
        return f"the console cannot use the display: DISPLAY={display!r} is not a display (:0, or host:0); {HOW}"
    number = found.group(1)
    # The X server's socket, where X11 puts it (a file, then the same name in the abstract namespace).
    for address in (f"/tmp/.X11-unix/X{number}", f"\0/tmp/.X11-unix/X{number}"):  # noqa: S108
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            try:
                s.connect(address)
            except OSError:
                continue
            return None
    return f"the console cannot open the display {display}: no X server answers there; {HOW}"


def _wayland_problem(name: str, env: os._Environ[str] | dict[str, str]) -> str | None:
    """A Wayland compositor's socket: WAYLAND_DISPLAY as a path, or a name in XDG_RUNTIME_DIR."""
    runtime = env.get("XDG_RUNTIME_DIR", "")
    path = name if name.startswith("/") else os.path.join(runtime, name) if runtime else ""
    if path:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            try:
                s.connect(path)
            except OSError:
                pass
            else:
                return None
    return f"the console cannot open the Wayland display {name!r}: no compositor answers there; {HOW}"


def _xcb_plugin_problem(env: os._Environ[str] | dict[str, str]) -> str | None:
    """Load Qt's X11 plugin as Qt will (its libraries resolved); a missing system library is named with the Debian
    package that has it."""
    plugin = _plugin_dir(env) / "libqxcb.so"
    if not plugin.exists():
        return None  # another Qt layout: let Qt look for itself
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = re.search(r"([\w.+-]+\.so(?:\.\d+)*): cannot open", str(exc))
        if found is None:
            return f"the console cannot use the display: Qt's X11 plugin does not load ({exc}); {HOW}"
        library = found.group(1)
        return (
            f"the console cannot use the display: Qt's X11 plugin needs {library}, which is not installed "
            f"(on Debian or Ubuntu: apt-get install {_debian_package(library)}); or set QT_QPA_PLATFORM=offscreen "
            "for a headless check"
        )
    return None


def _plugin_dir(env: os._Environ[str] | dict[str, str]) -> Path:
    if env.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        return Path(env["QT_QPA_PLATFORM_PLUGIN_PATH"])
    spec = importlib.util.find_spec("PySide6")  # finds the package without importing it
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return Path(folders[0] if folders else ".") / "Qt" / "plugins" / "platforms"


def _debian_package(library: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (Debian's naming)."""
    name, _, version = library.partition(".so")
    version = version.lstrip(".").split(".")[0]
    if not version:
        return name
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"

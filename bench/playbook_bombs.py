"""Validate hostile playbooks through the real command line and measure each: time, peak memory, exit code.

Target: every bomb refused (exit 1, one line naming the limit) in under a second, with memory near a normal run.

    uv run python bench/playbook_bombs.py [--timeout 60] [--memory-gib 4] [--only NAME ...]

Each bomb is the shipped flash-flood playbook with one hostile part, validated by the command line's
``main(["playbooks", "validate", FILE])`` in its own process, so a bomb that hangs or eats memory is stopped by
the timeout or the address-space guard instead of taking the machine with it. Two times are given: the whole
process, and the command itself (after Python has started and imported the playbook modules, which takes about
a second on its own). Peak memory is the command process's own high-water mark (VmHWM), or wait4's figure for
a process that was killed. The last line runs ``playbooks list`` with the alias bomb in the user playbook folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.measured import MEASURED_CLI  # noqa: E402 - after the checkout is on the path

FLOOD = (ROOT / "playbooks" / "flash-flood.yaml").read_text(encoding="utf-8")
LONG = "      long: |\n        Mill County Emergency Management: a Flash"


def billion_laughs() -> str:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, 10):
        refs = ", ".join([f"*l{n - 1}"] * 10)
        lines.append(f"lol{n}: &l{n} [{refs}]")
    return "\n".join(lines) + "\n"


def in_template(bomb: str) -> str:
    """The alert's English 'long' text with the bomb on its first line."""
    return FLOOD.replace(LONG, LONG.replace("        Mill", f"        {bomb}\n        Mill"), 1)


BOMBS: dict[str, Callable[[], str]] = {
    "yaml alias bomb (billion laughs)": lambda: billion_laughs() + FLOOD,
    "file of 50 MB": lambda: FLOOD + "# " + "x" * 50_000_000 + "\n",
    "YAML nesting 50,000 deep": lambda: FLOOD + "deep: " + "[" * 50_000 + "]" * 50_000 + "\n",
    '{% set s = "x" * 2000000000 %}': lambda: in_template('{% set s = "x" * 2000000000 %}'),
    '{{ "x" * 10**9 }}': lambda: in_template('{{ "x" * 10**9 }}'),
    "{{ 9**(9**9) }}": lambda: in_template("{{ 9**(9**9) }}"),
    '{% set s = "%0999999999d" % 1 %}': lambda: in_template('{% set s = "%0999999999d" % 1 %}'),
    "nested loops over range(100000)": lambda: in_template(
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
    ),
    "nested loops over 5,000-letter texts": lambda: in_template(
        "{% for a in '" + "x" * 5000 + "' %}{% for b in '" + "x" * 5000 + "' %}{% endfor %}{% endfor %}"
    ),
    'nested loops over "x" * 10000': lambda: in_template(
        '{% for a in "x" * 10000 %}{% for b in "x" * 10000 %}{% endfor %}{% endfor %}'
    ),
    "{{ range(10**12) }}": lambda: in_template("{{ range(10**12) }}"),
    '{{ range(10**9)|join("x") }}': lambda: in_template('{{ range(10**9)|join("x") }}'),
    "{% set s = s ~ s %} x 40": lambda: in_template('{% set s = "ab" %}' + "{% set s = s ~ s %}" * 40),
    "recursive macro": lambda: in_template("{% macro m(s) %}{{ m(s ~ s) }}{% endmacro %}{{ m('ab') }}"),
    "template nesting 500 deep": lambda: in_template("{{ " + "(" * 500 + "1" + ")" * 500 + " }}"),
    "{{ 1+1+...+1 }} (5,000 terms)": lambda: in_template("{{ 1" + "+1" * 5000 + " }}"),
}


def run(args: list[str], env: dict[str, str], timeout: float, memory: int) -> tuple[str, float, str, float, str]:
    """(exit, seconds, seconds of the command itself, peak MiB, first output line) of one command."""

    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as took:
        start = time.perf_counter()
        command = [sys.executable, "-c", MEASURED_CLI, took.name, str(memory), *args]
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        timer.cancel()
        proc.returncode = 0  # reaped by wait4 above
        out.seek(0)
        lines = out.read().decode("utf-8", "replace").splitlines()
        measured = json.loads(took.read() or "{}")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        code = f"killed at {timeout:.0f} s" if sig == signal.SIGKILL else f"signal {sig}"
    else:
        code = str(os.WEXITSTATUS(status))
    first = next((line for line in lines if line.strip()), "")
    own = f"{measured['seconds']:.2f} s" if measured else "-"
    return code, seconds, own, measured.get("peak_kib", usage.ru_maxrss) / 1024, first[:150]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a bomb is killed")
    parser.add_argument("--memory-gib", type=float, default=4, help="address-space guard per bomb")
    parser.add_argument("--only", nargs="*", help="names (substrings) of the bombs to run")
    args = parser.parse_args()
    memory = int(args.memory_gib * 2**30)
    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    print(f"guards: {args.timeout:.0f} s, {args.memory_gib:g} GiB address space per run\n")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "XDG_DATA_HOME": str(Path(tmp) / "data")}
        cli = ["playbooks"]
        plain = Path(tmp) / "flash-flood.yaml"
        plain.write_text(FLOOD, encoding="utf-8")
        rows = [("the shipped flash-flood (for comparison)", *run([*cli, "validate", str(plain)], env, 60, memory))]
        for name, build in BOMBS.items():
            if args.only and not any(o in name for o in args.only):
                continue
            path = Path(tmp) / "bomb.yaml"
            path.write_text(build(), encoding="utf-8")
            rows.append((name, *run([*cli, "validate", str(path)], env, args.timeout, memory)))
            print(*rows[-1][:5], sep="  ", flush=True)
            path.unlink()
        user = Path(tmp) / "data" / "crisisdesk" / "playbooks"
        user.mkdir(parents=True)
        (user / "bomb.yaml").write_text(BOMBS["yaml alias bomb (billion laughs)"](), encoding="utf-8")
        rows.append(("playbooks list, alias bomb in the user folder", *run([*cli, "list"], env, args.timeout, memory)))
    print(f"\n{'':<46} {'exit':<16} {'process':>9} {'command':>9} {'peak':>10}  first line of output")
    for name, code, seconds, own, mib, first in rows:
        print(f"{name:<46} {code:<16} {seconds:7.2f} s {own:>9} {mib:6.0f} MiB  {first}")


if __name__ == "__main__":
    main()

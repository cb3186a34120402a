"""The processes running on this machine, read from /proc (Linux): what the tests check was started or stopped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    command: bytes  # the command line, its words separated by NUL bytes


def processes() -> Iterator[Process]:
    """Every process whose details could be read (one that ends meanwhile is left out)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # it ended meanwhile
        # The command's name in stat is in parentheses and may hold spaces: the parent's pid follows the last ")".
        yield Process(int(entry.name), int(stat.rsplit(")", 1)[1].split()[1]), command)

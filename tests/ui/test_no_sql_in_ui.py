"""The console reads and writes through the services only: no SQL, no connection, anywhere in crisisdesk/ui."""

from __future__ import annotations

import ast
from pathlib import Path

import crisisdesk.ui

UI = Path(crisisdesk.ui.__file__).parent
SQL_ATTRIBUTES = {"conn", "execute", "executemany", "executescript", "utils"}  # sqlite3 and sqlite-utils


def sql_in(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in SQL_ATTRIBUTES:
            found.append(f"line {node.lineno}: .{node.attr}")
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr == "connect" and ast.unparse(func.value) == "sqlite3":
            found.append(f"line {node.lineno}: sqlite3.connect")
    return found


def test_no_module_of_the_console_touches_the_database_directly() -> None:
    offences = {
        str(path.relative_to(UI)): found
        for path in sorted(UI.rglob("*.py"))
        if (found := sql_in(path.read_text(encoding="utf-8")))
    }
    assert offences == {}


def test_the_check_finds_sql() -> None:
    assert sql_in("core.db.conn.execute('SELECT 1')") == ["line 1: .execute", "line 1: .conn"]
    assert sql_in("import sqlite3\nsqlite3.connect('x')") == ["line 2: sqlite3.connect"]

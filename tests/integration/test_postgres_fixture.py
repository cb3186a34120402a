"""The PostgreSQL fixture the hub tests stand on: a real server, a fresh database per test, a password that counts."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.support.postgres import HubDatabase


def test_the_hub_role_logs_in_with_its_password_only(hub_db: HubDatabase) -> None:
    with psycopg.connect(hub_db.url, password=hub_db.password, connect_timeout=5) as conn:
        row = conn.execute("SELECT current_user, current_database()").fetchone()
    assert row == ("hub", hub_db.name)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(hub_db.url, password="not the password", connect_timeout=5)


def test_each_test_gets_a_new_empty_database(hub_db: HubDatabase) -> None:
    started = time.monotonic()
    other = hub_db.server.create_database()
    took = time.monotonic() - started
    try:
        with psycopg.connect(hub_db.server.url(other), password=hub_db.password, connect_timeout=5) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)
        assert took < 5, f"CREATE DATABASE took {took:.2f} s"
    finally:
        hub_db.server.drop_database(other)


def test_a_test_can_stop_and_start_the_server(hub_db: HubDatabase) -> None:
    with psycopg.connect(hub_db.url, password=hub_db.password, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (7)")
    hub_db.server.stop()
    assert not hub_db.server.running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(hub_db.url, password=hub_db.password, connect_timeout=2)
    hub_db.server.start()
    with psycopg.connect(hub_db.url, password=hub_db.password, connect_timeout=5) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (7,)

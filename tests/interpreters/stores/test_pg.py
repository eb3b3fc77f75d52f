"""What the Postgres stores share (``interpreters/stores/_pg.py``), on a real server.

Covers: DSNs shown without their password, driver errors on one line, and `cancellable`
returning the result, raising the error of the work, and cancelling a query on the server.
Trio and asyncio.
"""

from __future__ import annotations

import threading

import anyio
import psycopg
import pytest

from interpreters.stores._pg import cancellable, connect, describe, one_line

pytestmark = pytest.mark.anyio


def test_a_dsn_is_described_without_its_password() -> None:
    assert describe("postgresql://ann:hunter2@db.example:6543/app") == "postgresql://ann@db.example:6543/app"
    assert describe("host=h dbname=d password=x") == "postgresql://h:5432/d"
    assert describe("not a dsn ===") == "<unparsable DSN>"


def test_driver_errors_are_put_on_one_line() -> None:
    assert one_line(RuntimeError("a\n\tb  c\n")) == "a b c"


async def test_cancellable_returns_raises_and_cancels_on_the_server(postgres_dsn: str) -> None:
    conn = connect(postgres_dsn, 5)
    try:
        stop = threading.Event()
        assert await cancellable(conn, stop, lambda: conn.execute("SELECT 41 + 1").fetchone()) == (42,)
        with pytest.raises(psycopg.errors.DivisionByZero):
            await cancellable(conn, stop, lambda: conn.execute("SELECT 1 / 0"))
        with anyio.move_on_after(0.3) as scope:
            await cancellable(conn, stop, lambda: conn.execute("SELECT pg_sleep(60)"))
        assert scope.cancelled_caught and stop.is_set()  # back long before the 60 s sleep ended
        assert conn.execute("SELECT 'still usable'").fetchone() == ("still usable",)
    finally:
        conn.close()

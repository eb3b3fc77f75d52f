"""What the Postgres stores share (``interpreters/stores/_pg.py``), on a real server.

Covers: DSNs shown without their password, driver errors on one line, and a query run with
``interpreters._threads.interruptible`` and the server's cancel request: it returns the result,
raises the error of the work, and a cancellation stops the query on the server.
Trio and asyncio.
"""

from __future__ import annotations

import threading

import anyio
import psycopg
import pytest

from interpreters._threads import interruptible
from interpreters.stores._pg import connect, describe, one_line

pytestmark = pytest.mark.anyio


def test_a_dsn_is_described_without_its_password() -> None:
    assert describe("postgresql://ann:hunter2@db.example:6543/app") == "postgresql://ann@db.example:6543/app"
    assert describe("host=h dbname=d password=x") == "postgresql://h:5432/d"
    assert describe("not a dsn ===") == "<unparsable DSN>"


def test_driver_errors_are_put_on_one_line() -> None:
    assert one_line(RuntimeError("a\n\tb  c\n")) == "a b c"


async def test_a_query_returns_raises_and_is_cancelled_on_the_server(postgres_dsn: str) -> None:
    conn = connect(postgres_dsn, 5)
    try:
        stop = threading.Event()

        def cancel() -> None:
            conn.cancel_safe(timeout=5.0)

        assert await interruptible(
            lambda: conn.execute("SELECT 41 + 1").fetchone(), stop=stop, interrupt=cancel
        ) == (42,)
        with pytest.raises(psycopg.errors.DivisionByZero):
            await interruptible(lambda: conn.execute("SELECT 1 / 0"), stop=stop, interrupt=cancel)
        with anyio.move_on_after(0.3) as scope:
            await interruptible(lambda: conn.execute("SELECT pg_sleep(60)"), stop=stop, interrupt=cancel)
        assert scope.cancelled_caught and stop.is_set()  # back long before the 60 s sleep ended
        assert conn.execute("SELECT 'still usable'").fetchone() == ("still usable",)
    finally:
        conn.close()

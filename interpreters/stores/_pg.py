"""What the Postgres stores share: the optional driver, one connection used from worker threads.

psycopg 3 is imported only when a Postgres store is opened, so ``import
interpreters`` works without the ``[postgres]`` extra. Its *synchronous*
connection is used from anyio worker threads (as the SQLite stores use
``sqlite3``), so the stores run the same under trio and asyncio; psycopg's
own async connection and asyncpg are asyncio-only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio

if TYPE_CHECKING:
    import psycopg

__all__ = ["cancellable", "connect", "describe", "one_line", "require_psycopg"]

T = TypeVar("T")

INSTALL = "pip install 'tower-llm-fx[postgres]'"


def require_psycopg() -> Any:
    """The ``psycopg`` module, or an `ImportError` saying which extra to install."""
    try:
        import psycopg
    except ImportError as exc:
        raise ImportError(f"the Postgres stores need psycopg 3, which is not installed: {INSTALL}") from exc
    return psycopg


def one_line(exc: BaseException) -> str:
    """A driver error's message on one line (libpq's span several)."""
    return " ".join(str(exc).split())


def describe(dsn: str) -> str:
    """``dsn`` without its password (for reprs and error messages)."""
    psycopg = require_psycopg()
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    params.pop("password", None)
    host, port, db = params.get("host", "localhost"), params.get("port", 5432), params.get("dbname", "")
    user = params.get("user")
    return f"postgresql://{user + '@' if user else ''}{host}:{port}/{db}"


def connect(dsn: str, connect_timeout: float) -> psycopg.Connection[Any]:
    """A new autocommit connection (statements run in explicit ``conn.transaction()`` blocks)."""
    driver = require_psycopg()
    conn: psycopg.Connection[Any] = driver.connect(
        dsn, autocommit=True, connect_timeout=max(1, round(connect_timeout))
    )
    return conn


async def cancellable(conn: psycopg.Connection[Any], stop: threading.Event, fn: Callable[[], T]) -> T:
    """``fn()`` in a worker thread; if the caller is cancelled meanwhile, cancel the query early.

    The thread call is shielded (the connection must not serve the next call
    while a query of this one still runs); a cancellation of the caller sets
    ``stop`` and sends the server a cancel request, so the transaction rolls
    back and the caller's cancellation is raised as soon as the thread lets go.
    """
    box: list[tuple[bool, Any]] = []

    async with anyio.create_task_group() as tg:

        async def call() -> None:
            with anyio.CancelScope(shield=True):
                try:
                    box.append((True, await anyio.to_thread.run_sync(fn)))
                except Exception as exc:
                    box.append((False, exc))
            tg.cancel_scope.cancel()

        tg.start_soon(call)
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            if not box:  # cancelled from outside, not by call() finishing
                stop.set()
                conn.cancel_safe(timeout=5.0)
            raise
    ok, value = box[0]
    if not ok:
        raise value
    return cast("T", value)

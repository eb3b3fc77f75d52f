"""What the Postgres stores share: the optional driver, one connection used from worker threads.

psycopg 3 is imported only when a Postgres store is opened, so ``import
interpreters`` works without the ``[postgres]`` extra. Its *synchronous*
connection is used from anyio worker threads (as the SQLite stores use
``sqlite3``), so the stores run the same under trio and asyncio; psycopg's
own async connection and asyncpg are asyncio-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import psycopg

__all__ = ["connect", "describe", "one_line", "require_psycopg"]

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

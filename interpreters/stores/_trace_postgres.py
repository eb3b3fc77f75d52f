"""`PostgresTraceStore`: traces in a Postgres database (psycopg 3, the ``[postgres]`` extra).

The SQLite trace store's layout on a server: a header row per trace and one
row per exchange keyed by ``(trace_id, idx)``, holding the same JSON Lines
text as the file store, so every store decodes through ``decode_trace``.
One connection per store, opened on first use and used from worker threads
(so trio and asyncio alike); close it with ``aclose()`` or ``async with``.
``tower_llm_fx_trace_schema`` records the schema version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, final

import anyio.to_thread

from tower_llm_fx.serde import DEFAULT, Codec
from tower_llm_fx.trace import (
    DeltaBase,
    Exchange,
    Trace,
    TraceDecodeError,
    TraceMeta,
    TraceStoreError,
    check_trace_id,
    decode_trace,
    encode_exchange,
    encode_header,
    next_base,
)

from ._pg import connect, describe, one_line, require_psycopg
from ._traces import exists_error, not_found_error

if TYPE_CHECKING:
    from types import TracebackType

    import psycopg

__all__ = ["PostgresTraceStore"]

T = TypeVar("T")

_SCHEMA_VERSION = 1
_LOCK_ID = 0x7472616365  # pg_advisory_xact_lock key held while creating the tables ("trace")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tower_llm_fx_trace_schema (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS tower_llm_fx_traces (
        id TEXT PRIMARY KEY,
        header TEXT NOT NULL,
        created_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS tower_llm_fx_trace_exchanges (
        trace_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (trace_id, idx)
    )""",
)


@final
class PostgresTraceStore:
    """Traces in the Postgres database at ``dsn`` (tables created on first use).

    Safe for many processes on many machines; appends to one trace must still
    come from one writer, in order. ``codec`` encodes and decodes the values
    (default: the library's). Every operation raises `TraceStoreError`
    naming the server when it cannot be reached.

    >>> import os, trio
    >>> async def main(dsn):
    ...     async with PostgresTraceStore(dsn) as store:
    ...         return await store.list()
    >>> trio.run(main, os.environ["TOWER_LLM_FX_POSTGRES_DSN"])  # doctest: +SKIP
    ()
    """

    def __init__(self, dsn: str, *, connect_timeout: float = 10.0, codec: Codec = DEFAULT) -> None:
        require_psycopg()
        self._dsn = dsn
        self._where = describe(dsn)
        self.connect_timeout = connect_timeout
        self.codec = codec
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()  # one operation at a time on the connection (in its thread)
        self._bases: dict[str, DeltaBase] = {}  # the latest model call appended to each trace

    def __repr__(self) -> str:
        return f"PostgresTraceStore({self._where!r})"

    async def __aenter__(self) -> PostgresTraceStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self.aclose()

    async def aclose(self) -> None:
        """Close the connection (a later operation opens a new one)."""

        def close() -> None:
            with self._lock:
                conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()

        await anyio.to_thread.run_sync(close)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = connect(self._dsn, self.connect_timeout)
            try:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    row = conn.execute("SELECT MAX(version) FROM tower_llm_fx_trace_schema").fetchone()
                    version = None if row is None else row[0]
                    if version is None:
                        conn.execute("INSERT INTO tower_llm_fx_trace_schema VALUES (%s)", (_SCHEMA_VERSION,))
                    elif version > _SCHEMA_VERSION:
                        raise TraceStoreError(
                            f"{self._where} uses trace-store schema version {version}; this tower_llm_fx "
                            f"understands up to {_SCHEMA_VERSION}. Upgrade tower_llm_fx to use it."
                        )
            except Exception:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        psycopg = require_psycopg()

        def work() -> T:
            with self._lock:
                try:
                    conn = self._connection()
                    with conn.transaction():
                        return fn(conn)
                except psycopg.Error as exc:
                    raise TraceStoreError(
                        f"Postgres failed on {self._where}: {one_line(exc)}; "
                        "check that the server is up and reachable"
                    ) from exc

        return await anyio.to_thread.run_sync(work)

    @staticmethod
    def _ids(conn: psycopg.Connection[Any]) -> list[str]:
        rows = conn.execute('SELECT id FROM tower_llm_fx_traces ORDER BY id COLLATE "C"').fetchall()
        return [row[0] for row in rows]

    async def begin(self, trace_id: str, meta: TraceMeta) -> None:
        check_trace_id(trace_id)
        header = encode_header(meta)

        def insert(conn: psycopg.Connection[Any]) -> None:
            cur = conn.execute(
                "INSERT INTO tower_llm_fx_traces (id, header, created_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING",
                (trace_id, header, meta.created_at),
            )
            if cur.rowcount == 0:
                raise exists_error(trace_id, self._where)

        await self._run(insert)
        self._bases.pop(trace_id, None)

    async def append(self, trace_id: str, index: int, exchange: Exchange) -> None:
        base = self._bases.get(trace_id)
        line = encode_exchange(
            index, exchange, base if base is not None and base[0] < index else None, codec=self.codec
        )

        def insert(conn: psycopg.Connection[Any]) -> None:
            cur = conn.execute(
                "INSERT INTO tower_llm_fx_trace_exchanges (trace_id, idx, line) "
                "SELECT %s, %s, %s WHERE EXISTS (SELECT 1 FROM tower_llm_fx_traces WHERE id = %s) "
                "ON CONFLICT (trace_id, idx) DO NOTHING "
                "RETURNING 1",
                (trace_id, index, line, trace_id),
            )
            if cur.fetchone() is None:
                exists = conn.execute(
                    "SELECT 1 FROM tower_llm_fx_traces WHERE id = %s", (trace_id,)
                ).fetchone()
                if exists is None:
                    raise not_found_error(trace_id, f"{self._where} (begin() it first)", self._ids(conn))
                raise TraceStoreError(
                    f"exchange #{index} of trace {trace_id!r} was already written; "
                    "appends must come in order, one writer per trace"
                )

        await self._run(insert)
        new_base = next_base(index, exchange, base)
        if new_base is not None:
            self._bases[trace_id] = new_base

    async def load(self, trace_id: str, *, allow_truncated: bool = False) -> Trace:
        def read(conn: psycopg.Connection[Any]) -> str:
            row = conn.execute("SELECT header FROM tower_llm_fx_traces WHERE id = %s", (trace_id,)).fetchone()
            if row is None:
                raise not_found_error(trace_id, self._where, self._ids(conn))
            lines = conn.execute(
                "SELECT line FROM tower_llm_fx_trace_exchanges WHERE trace_id = %s ORDER BY idx", (trace_id,)
            ).fetchall()
            return str(row[0]) + "".join(str(line) for (line,) in lines)

        text = await self._run(read)

        def decode() -> Trace:
            try:
                return decode_trace(text, allow_truncated=allow_truncated, codec=self.codec)
            except TraceDecodeError as exc:
                raise exc.at(
                    f"{self._where}#{trace_id} (line 1 is the header, line n+2 exchange n)"
                ) from None

        return await anyio.to_thread.run_sync(decode)

    async def list(self) -> tuple[str, ...]:
        return tuple(await self._run(self._ids))

    async def delete(self, trace_id: str) -> None:
        self._bases.pop(trace_id, None)

        def remove(conn: psycopg.Connection[Any]) -> None:
            cur = conn.execute("DELETE FROM tower_llm_fx_traces WHERE id = %s", (trace_id,))
            if cur.rowcount == 0:
                raise not_found_error(trace_id, self._where, self._ids(conn))
            conn.execute("DELETE FROM tower_llm_fx_trace_exchanges WHERE trace_id = %s", (trace_id,))

        await self._run(remove)

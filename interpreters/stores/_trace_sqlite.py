"""`SqliteTraceStore`: traces in one SQLite database (stdlib ``sqlite3``).

Every operation opens its own connection in a worker thread
(``anyio.to_thread.run_sync``), so the event loop never blocks on the disk and
there is no connection to close. Rows hold the same JSON Lines text as the
file store (a header per trace, one row per exchange keyed by
``(trace_id, idx)``), so both decode through ``decode_trace`` and an append
is one transaction. ``PRAGMA user_version`` records the schema version (the
format of the values is in each trace's header, as in a file).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar, final

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

from ._sqlite import sqlite_problem, use_wal
from ._traces import exists_error, not_found_error

__all__ = ["SqliteTraceStore"]

T = TypeVar("T")

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tower_llm_fx_traces (
    id TEXT PRIMARY KEY,
    header TEXT NOT NULL,
    created_at TEXT
);
CREATE TABLE IF NOT EXISTS tower_llm_fx_trace_exchanges (
    trace_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (trace_id, idx)
) WITHOUT ROWID;
"""


@final
class SqliteTraceStore:
    """Traces in the SQLite database at ``path`` (created when needed).

    Safe for several processes at once (SQLite locking, WAL journal); appends
    to one trace must still come from one writer, in order. ``codec`` encodes
    and decodes the values (default: the library's). ``timeout`` is how long
    an operation waits for another connection's write lock.

    Every operation raises `TraceStoreError` (naming the file and what to do)
    when the database's folder does not exist, the file is not a SQLite
    database, or another connection keeps it locked for longer than ``timeout``.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, codec: Codec = DEFAULT
    ) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.codec = codec
        self._ready = False
        self._bases: dict[str, DeltaBase] = {}  # the latest model call appended to each trace

    def __repr__(self) -> str:
        return f"SqliteTraceStore({str(self.path)!r})"

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.timeout)
        try:
            if not self._ready:
                self._init(conn)
            with conn:  # one transaction: commit on success, roll back on error
                yield conn
        finally:
            conn.close()

    def _init(self, conn: sqlite3.Connection) -> None:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > _SCHEMA_VERSION:
            raise TraceStoreError(
                f"{self.path} uses trace-store schema version {version}; this tower_llm_fx understands "
                f"up to {_SCHEMA_VERSION}. Upgrade tower_llm_fx to use it."
            )
        use_wal(conn, self.timeout)  # waits for a writer, which switching to WAL does not do by itself
        conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        self._ready = True

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def work() -> T:
            try:
                with self._connect() as conn:
                    return fn(conn)
            except sqlite3.Error as exc:  # locked for longer than timeout, no folder, not a database
                raise TraceStoreError(sqlite_problem(exc, str(self.path), self.timeout, "timeout")) from exc

        return await anyio.to_thread.run_sync(work)

    @staticmethod
    def _ids(conn: sqlite3.Connection) -> list[str]:
        return [row[0] for row in conn.execute("SELECT id FROM tower_llm_fx_traces ORDER BY id")]

    async def begin(self, trace_id: str, meta: TraceMeta) -> None:
        check_trace_id(trace_id)
        header = encode_header(meta)

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO tower_llm_fx_traces (id, header, created_at) VALUES (?, ?, ?)",
                    (trace_id, header, meta.created_at),
                )
            except sqlite3.IntegrityError:
                raise exists_error(trace_id, str(self.path)) from None

        await self._run(insert)
        self._bases.pop(trace_id, None)

    async def append(self, trace_id: str, index: int, exchange: Exchange) -> None:
        base = self._bases.get(trace_id)
        line = encode_exchange(
            index, exchange, base if base is not None and base[0] < index else None, codec=self.codec
        )

        def insert(conn: sqlite3.Connection) -> None:
            try:
                cur = conn.execute(
                    "INSERT INTO tower_llm_fx_trace_exchanges (trace_id, idx, line) "
                    "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM tower_llm_fx_traces WHERE id = ?)",
                    (trace_id, index, line, trace_id),
                )
            except sqlite3.IntegrityError:
                raise TraceStoreError(
                    f"exchange #{index} of trace {trace_id!r} was already written; "
                    "appends must come in order, one writer per trace"
                ) from None
            if cur.rowcount == 0:
                raise not_found_error(trace_id, f"{self.path} (begin() it first)", self._ids(conn))

        await self._run(insert)
        new_base = next_base(index, exchange, base)
        if new_base is not None:
            self._bases[trace_id] = new_base

    async def load(self, trace_id: str, *, allow_truncated: bool = False) -> Trace:
        def read(conn: sqlite3.Connection) -> str:
            row = conn.execute("SELECT header FROM tower_llm_fx_traces WHERE id = ?", (trace_id,)).fetchone()
            if row is None:
                raise not_found_error(trace_id, str(self.path), self._ids(conn))
            lines = conn.execute(
                "SELECT line FROM tower_llm_fx_trace_exchanges WHERE trace_id = ? ORDER BY idx", (trace_id,)
            )
            return str(row[0]) + "".join(str(line) for (line,) in lines)

        text = await self._run(read)

        def decode() -> Trace:
            try:
                return decode_trace(text, allow_truncated=allow_truncated, codec=self.codec)
            except TraceDecodeError as exc:
                raise exc.at(f"{self.path}#{trace_id} (line 1 is the header, line n+2 exchange n)") from None

        return await anyio.to_thread.run_sync(decode)

    async def list(self) -> tuple[str, ...]:
        return tuple(await self._run(self._ids))

    async def delete(self, trace_id: str) -> None:
        self._bases.pop(trace_id, None)

        def remove(conn: sqlite3.Connection) -> None:
            cur = conn.execute("DELETE FROM tower_llm_fx_traces WHERE id = ?", (trace_id,))
            if cur.rowcount == 0:
                raise not_found_error(trace_id, str(self.path), self._ids(conn))
            conn.execute("DELETE FROM tower_llm_fx_trace_exchanges WHERE trace_id = ?", (trace_id,))

        await self._run(remove)

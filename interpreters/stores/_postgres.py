"""The Postgres session store: the SQLite store's contract on a server many machines share.

Design (the SQLite store's, on a server):

* One psycopg 3 connection per store, used from worker threads one call at
  a time under an ``anyio.Lock`` (so trio and asyncio alike; see ``_pg.py``).
  A cancelled call sends the server a cancel request: its transaction rolls
  back, and a save is still either wholly written or not at all.
* A save is one transaction: a conditional ``UPDATE ... WHERE last_seq =
  after_seq`` (or, for a new session, ``INSERT ... ON CONFLICT DO NOTHING``)
  takes the session's row lock, so of two writers appending after the same
  record exactly one wins and the other gets ``SessionConflict`` and writes
  nothing; then the new records are inserted. Rows are never updated or
  deleted by a run. Its cost does not depend on the session's length.
* Records are the same JSON text as in SQLite (``text``, not ``jsonb``,
  which would reorder keys and so not round-trip exactly).
* ``tower_llm_fx_schema_version`` records the migrations applied; opening
  runs the missing ones in one transaction under an advisory lock (several
  processes may open a new database at once) and refuses a newer schema.
  Tables are prefixed ``tower_llm_fx_`` so they can share a database with yours.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast, final

import anyio
import orjson

from interpreters._threads import interruptible
from tower_llm_fx import Effect
from tower_llm_fx.serde import DEFAULT, Codec, compact_json
from tower_llm_fx.sessions import (
    Compaction,
    LoadSession,
    Record,
    Saved,
    SaveSession,
    SessionError,
    SessionLog,
    decode_record,
)

from ._pg import connect, describe, one_line, require_psycopg
from ._sessions import SessionInfo, check_fork, check_fork_point, conflict, unhandled

if TYPE_CHECKING:
    import psycopg

__all__ = ["MIGRATIONS", "PostgresStore", "migrate", "open_postgres_store"]

R = TypeVar("R")
T = TypeVar("T")

_LOCK_ID = 0x746F776572  # pg_advisory_xact_lock key held while migrating ("tower")

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE tower_llm_fx_sessions (
                session_id  TEXT PRIMARY KEY,
                last_seq    BIGINT NOT NULL CHECK (last_seq >= 0),
                created_at  DOUBLE PRECISION NOT NULL,
                updated_at  DOUBLE PRECISION NOT NULL,
                forked_from TEXT
            )""",
            """CREATE TABLE tower_llm_fx_records (
                session_id TEXT NOT NULL,
                seq        BIGINT NOT NULL CHECK (seq >= 1),
                kind       TEXT NOT NULL CHECK (kind IN ('message', 'compaction')),
                data       TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (session_id, seq)
            )""",
        ),
    ),
)
"""``(version, statements)`` in order; append new ones, never edit old ones."""


def migrate(
    conn: psycopg.Connection[Any], migrations: Sequence[tuple[int, Sequence[str]]] = MIGRATIONS
) -> int:
    """Bring ``conn``'s schema up to date in one transaction; return the schema version.

    Safe when several processes open the same database at once: the first
    one migrates (under an advisory lock), the others then see the result.

    Raises:
        SessionError: the database was written by a newer version of this library.
    """
    latest = migrations[-1][0] if migrations else 0
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tower_llm_fx_schema_version "
            "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM tower_llm_fx_schema_version").fetchone()
        current: int = row[0] if row is not None else 0
        if current > latest:
            raise SessionError(
                f"this session database has schema version {current}, but this version of tower_llm_fx "
                f"knows versions up to {latest}; upgrade tower_llm_fx to open it"
            )
        for version, statements in migrations:
            if version > current:
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO tower_llm_fx_schema_version VALUES (%s, %s)", (version, time.time())
                )
    return max(current, latest)


def _encode(record: Record, codec: Codec) -> tuple[str, str]:
    kind = "compaction" if type(record) is Compaction else "message"
    data = codec.encode(record)
    text = compact_json(data)
    try:
        orjson.dumps(data)  # refuses exactly what orjson.loads would not read back exactly
    except TypeError:
        text = "\n" + text  # still the same JSON; tells _parse to use json
    return kind, text


def _parse(text: str, session_id: str) -> Any:
    """A stored row's JSON, or a `SessionError` saying the row is corrupt (never a raw error)."""
    if not text.startswith("\n"):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # let json decide and explain
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        problem = "nests too deep" if isinstance(exc, RecursionError) else f"is not valid JSON ({exc})"
        raise SessionError(
            f"a stored record of session {session_id!r} {problem}: the database is corrupt or the row "
            "was written by something else; restore it from a backup"
        ) from None


class _Stopped(Exception):
    """The caller was cancelled before the work began (never seen: the cancellation wins)."""


@final
class PostgresStore:
    """A session store in a Postgres database; open it with `open_postgres_store`."""

    def __init__(self, conn: psycopg.Connection[Any], dsn: str, *, codec: Codec = DEFAULT) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        self._where = describe(dsn)
        self._lock = anyio.Lock()
        self._stop = threading.Event()
        self.codec = codec

    def __repr__(self) -> str:
        return f"open_postgres_store({self._where!r})"

    async def _run(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        psycopg = require_psycopg()
        async with self._lock:
            conn = self._conn
            if conn is None:
                raise SessionError(f"{self!r} is closed; use it inside its `async with` block")
            self._stop.clear()
            try:
                return await interruptible(
                    lambda: fn(conn), stop=self._stop, interrupt=lambda: conn.cancel_safe(timeout=5.0)
                )
            except psycopg.Error as exc:
                raise SessionError(
                    f"Postgres failed on {self._where}: {one_line(exc)}; check that the server is up and reachable"
                ) from exc

    async def __call__(self, effect: Effect[R], /) -> R:
        if isinstance(effect, LoadSession):
            return cast("R", await self.load(effect.session_id))
        if isinstance(effect, SaveSession):
            return cast("R", await self._run(lambda conn: self._save(conn, effect)))
        raise unhandled(self, effect)

    def _save(self, conn: psycopg.Connection[Any], effect: SaveSession) -> Saved:
        sid, after = effect.session_id, effect.after_seq
        encoded = [_encode(r, self.codec) for r in effect.records]
        if self._stop.is_set():  # cancelled while encoding: do not begin
            raise _Stopped
        now = time.time()
        last = after + len(encoded)
        with conn.transaction():
            inserted = 0
            if after == 0:
                inserted = conn.execute(
                    "INSERT INTO tower_llm_fx_sessions VALUES (%s, %s, %s, %s, NULL) "
                    "ON CONFLICT (session_id) DO NOTHING",
                    (sid, last, now, now),
                ).rowcount
            if not inserted:  # an existing session (possibly empty: a fork at record 0)
                cur = conn.execute(
                    "UPDATE tower_llm_fx_sessions SET last_seq = %s, updated_at = %s "
                    "WHERE session_id = %s AND last_seq = %s",
                    (last, now, sid, after),
                )
                inserted = cur.rowcount
            if inserted != 1:
                row = conn.execute(
                    "SELECT last_seq FROM tower_llm_fx_sessions WHERE session_id = %s", (sid,)
                ).fetchone()
                raise conflict(sid, after, 0 if row is None else row[0])
            if encoded:
                conn.cursor().executemany(
                    "INSERT INTO tower_llm_fx_records VALUES (%s, %s, %s, %s, %s)",
                    [(sid, after + i, kind, data, now) for i, (kind, data) in enumerate(encoded, 1)],
                )
        return Saved(session_id=sid, last_seq=last)

    def _records(
        self, conn: psycopg.Connection[Any], session_id: str, upto: int | None = None
    ) -> tuple[Record, ...]:
        rows = conn.execute(
            "SELECT seq, data FROM tower_llm_fx_records WHERE session_id = %s AND seq <= %s ORDER BY seq",
            (session_id, upto if upto is not None else 2**62),
        ).fetchall()
        for i, (seq, _) in enumerate(rows, 1):
            if seq != i:
                raise SessionError(f"session {session_id!r} is missing record {i}; the database is corrupt")
        if self.codec is DEFAULT:
            return tuple(decode_record(_parse(data, session_id)) for _, data in rows)
        return tuple(decode_record(_parse(data, session_id), codec=self.codec) for _, data in rows)

    async def load(self, session_id: str, /) -> SessionLog:
        """The session's whole log (empty for an unknown session)."""
        records = await self._run(lambda conn: self._records(conn, session_id))
        return SessionLog(session_id=session_id, records=records)

    async def list_sessions(self) -> tuple[SessionInfo, ...]:
        """Every session, sorted by id."""

        def query(conn: psycopg.Connection[Any]) -> list[Any]:
            return conn.execute(
                "SELECT session_id, last_seq, created_at, updated_at, forked_from FROM tower_llm_fx_sessions "
                'ORDER BY session_id COLLATE "C"'
            ).fetchall()

        rows = await self._run(query)
        return tuple(
            SessionInfo(session_id=r[0], last_seq=r[1], created_at=r[2], updated_at=r[3], forked_from=r[4])
            for r in rows
        )

    async def delete_session(self, session_id: str, /) -> bool:
        """Delete a session and all its records in one transaction; return whether it existed."""

        def delete(conn: psycopg.Connection[Any]) -> bool:
            with conn.transaction():
                conn.execute("DELETE FROM tower_llm_fx_records WHERE session_id = %s", (session_id,))
                cur = conn.execute("DELETE FROM tower_llm_fx_sessions WHERE session_id = %s", (session_id,))
                return cur.rowcount > 0

        return await self._run(delete)

    async def fork_session(self, source: str, target: str, /, *, upto_seq: int | None = None) -> SessionInfo:
        """Copy ``source``'s records up to ``upto_seq`` (default: all) into a new session ``target``.

        Raises:
            SessionError: unknown source, existing target, or a fork point that
                would leave a tool call without its result.
        """

        def fork(conn: psycopg.Connection[Any]) -> SessionInfo:
            with conn.transaction():
                row = conn.execute(
                    "SELECT last_seq FROM tower_llm_fx_sessions WHERE session_id = %s FOR SHARE", (source,)
                ).fetchone()
                exists = conn.execute(
                    "SELECT 1 FROM tower_llm_fx_sessions WHERE session_id = %s", (target,)
                ).fetchone()
                upto = check_fork(
                    source, target, None if row is None else row[0], exists is not None, upto_seq
                )
                assert row is not None
                if upto < row[0]:
                    check_fork_point(source, self._records(conn, source, upto), upto)
                now = time.time()
                cur = conn.execute(
                    "INSERT INTO tower_llm_fx_sessions VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (session_id) DO NOTHING",
                    (target, upto, now, now, source),
                )
                if cur.rowcount != 1:  # created meanwhile by another writer
                    check_fork(source, target, row[0], True, upto_seq)
                conn.execute(
                    "INSERT INTO tower_llm_fx_records SELECT %s, seq, kind, data, created_at "
                    "FROM tower_llm_fx_records WHERE session_id = %s AND seq <= %s",
                    (target, source, upto),
                )
                return SessionInfo(
                    session_id=target, last_seq=upto, created_at=now, updated_at=now, forked_from=source
                )

        return await self._run(fork)

    async def aclose(self) -> None:
        """Close the connection (waiting for a call in progress to finish)."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await anyio.to_thread.run_sync(conn.close)


def _connect(dsn: str, connect_timeout: float) -> psycopg.Connection[Any]:
    psycopg = require_psycopg()
    try:
        conn = connect(dsn, connect_timeout)
    except psycopg.Error as exc:
        raise SessionError(
            f"cannot connect to Postgres at {describe(dsn)}: {one_line(exc)}; "
            "check that the server is running, the DSN and the credentials"
        ) from exc
    try:
        migrate(conn)
    except Exception:
        conn.close()
        raise
    return conn


@asynccontextmanager
async def open_postgres_store(
    dsn: str, *, codec: Codec = DEFAULT, connect_timeout: float = 10.0
) -> AsyncIterator[PostgresStore]:
    """Open a session store in the Postgres database at ``dsn`` (creating its tables), and close it on exit.

    The same interface and guarantees as `open_sqlite_store`: append-only
    saves, ``SessionConflict`` on a stale save (nothing written), one
    transaction per save, migrations. Many processes on many machines may
    share one database. Needs the ``[postgres]`` extra (psycopg 3).

    Args:
        dsn: a libpq connection string, ``postgresql://user:pass@host:5432/db``.
        codec: encodes and decodes the records (default: the library's).
        connect_timeout: seconds to wait for the server.

    Raises:
        ImportError: psycopg is not installed (``pip install 'tower-llm-fx[postgres]'``).
        SessionError: the server cannot be reached, or its schema is newer
            than this library's.

    >>> import os, trio, tower_llm_fx as fx
    >>> async def main(dsn):
    ...     async with open_postgres_store(dsn) as store:
    ...         await store.delete_session("doctest")
    ...         await store(fx.sessions.SaveSession(session_id="doctest", after_seq=0, records=(fx.user("hi"),)))
    ...         return (await store.load("doctest")).view()
    >>> trio.run(main, os.environ["TOWER_LLM_FX_POSTGRES_DSN"])  # doctest: +SKIP
    (UserMessage(content='hi', name=None),)
    """
    conn = await anyio.to_thread.run_sync(_connect, dsn, connect_timeout)
    store = PostgresStore(conn, dsn, codec=codec)
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await store.aclose()

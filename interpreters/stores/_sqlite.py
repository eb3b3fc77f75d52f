"""The SQLite session store: an embedded file, append-only rows, one transaction per save.

Design:

* One dedicated ``sqlite3`` connection per store, used from worker threads
  (``anyio.to_thread.run_sync``) one call at a time under an ``anyio.Lock``, so
  the event loop never blocks on the disk and transactions never interleave.
* Cancelling a call (a deadline, a closed nursery) interrupts it: the statement
  running in the thread is stopped with ``Connection.interrupt()`` (SQLite rolls
  its transaction back), a save not yet begun is not begun, one whose interrupt
  fell between two statements (SQLite forgets those) stops at its next row or
  before its ``COMMIT``, and the caller gets its cancellation as soon as the
  thread has let go of the connection. A save is still either wholly in the
  file or not at all.
* WAL journal, so readers never block the writer; several processes may share
  one file (writers take turns, waiting up to ``busy_timeout``).
* A save is ``BEGIN IMMEDIATE``, a check that the session's last sequence number
  is the one the save expects (else ``SessionConflict``), an insert of the new
  rows and an update of the session's row, then ``COMMIT``. Its cost does not
  depend on how long the session is. Rows are never updated or deleted by a run.
* Records are stored as the JSON text of a ``tower_llm_fx.serde.Codec``
  (``codec=``, default the library's): format v2, whose type tags are wire
  names. Rows written in format v1 (class-name tags) are read as they are.
  Loading parses with ``orjson``. The few documents orjson would not read
  exactly (integers beyond 64 bits, which it reads as floats; lone surrogates)
  are written with a leading newline, which is still the same JSON and which
  compact JSON never holds otherwise, and are parsed with ``json``.
* ``schema_version`` records the migrations applied; opening a file runs the
  missing ones in one transaction and refuses a file from a newer version.
  Version 2 marks a file whose rows may hold format v2, so an older
  tower_llm_fx refuses it instead of failing on the first new tag.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, final, get_args

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

from ._sessions import SessionInfo, check_fork, check_fork_point, conflict, unhandled

__all__ = ["MIGRATIONS", "SqliteStore", "migrate", "open_sqlite_store"]

R = TypeVar("R")
T = TypeVar("T")

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE sessions (
                session_id  TEXT PRIMARY KEY,
                last_seq    INTEGER NOT NULL CHECK (last_seq >= 0),
                created_at  REAL NOT NULL,
                updated_at  REAL NOT NULL,
                forked_from TEXT
            )""",
            """CREATE TABLE records (
                session_id TEXT NOT NULL,
                seq        INTEGER NOT NULL CHECK (seq >= 1),
                kind       TEXT NOT NULL CHECK (kind IN ('message', 'compaction')),
                data       TEXT NOT NULL,
                created_at REAL NOT NULL,
                PRIMARY KEY (session_id, seq)
            )""",
        ),
    ),
    (2, ()),  # records may hold format v2 JSON (wire names); nothing to change in the tables
)
"""``(version, statements)`` in order; append new ones, never edit old ones."""


def migrate(conn: sqlite3.Connection, migrations: Sequence[tuple[int, Sequence[str]]] = MIGRATIONS) -> int:
    """Bring ``conn``'s schema up to date in one transaction; return the schema version.

    Safe when several processes open the same file at once: the first one
    migrates, the others see the result.

    Raises:
        SessionError: the file was written by a newer version of this library.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    latest = migrations[-1][0] if migrations else 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        current: int = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
        if current > latest:
            raise SessionError(
                f"this session database has schema version {current}, but this version of tower_llm_fx "
                f"knows versions up to {latest}; upgrade tower_llm_fx to open it"
            )
        for version, statements in migrations:
            if version > current:
                for statement in statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
        conn.execute("COMMIT")
    except Exception:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return max(current, latest)


_RECORD_TYPES = frozenset(get_args(Record))  # every message class, and Compaction


def _encode(record: Record, codec: Codec) -> tuple[str, str]:
    kind = "compaction" if type(record) is Compaction else "message"
    data = codec.encode(record)
    text = compact_json(data)
    try:
        orjson.dumps(data)  # refuses exactly what orjson.loads would not read back exactly
    except TypeError:
        text = "\n" + text  # still the same JSON; tells _parse to use json
    return kind, text


class _Stopped(Exception):
    """The caller was cancelled before the work began or committed (never seen: the cancellation wins)."""


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[], T], stop: threading.Event) -> T:
    """``fn()`` in a write transaction, rolled back if it raises or if ``stop`` is set by then.

    (``Connection.interrupt()`` stops only a statement that is running: one that lands
    between two statements is forgotten when the next one starts, hence ``stop``.)
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        out = fn()
        if stop.is_set():  # cancelled, and the interrupt missed every statement
            raise _Stopped
        conn.execute("COMMIT")
    except Exception:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return out


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while loading a long log.

    Parsing and decoding allocate tens of thousands of acyclic objects, which
    would make the collector run dozens of times for nothing. Once the log is
    built, the young objects (the log, mostly: long-lived data) are moved
    straight to the oldest generation (``gc.freeze()`` then ``gc.unfreeze()``,
    two list splices) instead of being scanned once per generation on their way
    there (about 1 ms for 10,000 messages); a full collection still scans
    them. Not done if the program has frozen objects of its own (it would
    unfreeze them), nor after an error. The previous state is restored.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
    finally:
        if enabled:
            gc.enable()


_COUNTING = ["1"]  # "1,2,3,...,n" for the largest n seen (one string, grown as needed)


def _counting(n: int) -> str:
    """``",".join(map(str, range(1, n + 1)))``, sliced from a cached string (a load checks it)."""
    text = _COUNTING[0]
    length = _counting_length(n)
    if len(text) < length:
        text = _COUNTING[0] = ",".join(map(str, range(1, max(n, 2 * text.count(",") + 2) + 1)))
    return text[:length]


def _counting_length(n: int) -> int:
    """``len(",".join(map(str, range(1, n + 1))))``, worked out digit by digit."""
    if n <= 0:
        return 0
    total, low, digits = 0, 1, 1
    while low <= n:
        high = min(n, low * 10 - 1)
        total += (high - low + 1) * digits
        low, digits = low * 10, digits + 1
    return total + n - 1


# The whole log in one row: its records' JSON joined by commas, as bytes (SQLite hands
# a blob over as is; text it would turn into a str first, which costs as much as the
# query), and the sequence numbers concatenated in the same order, which prove the
# order and completeness (so the query needs no ORDER BY, and no sub-query for it).
_LOAD = (
    "SELECT COUNT(*), group_concat(seq), CAST(group_concat(data, ',') AS BLOB) "
    "FROM records WHERE session_id = ?"
)


@final
class SqliteStore:
    """A session store in one SQLite file; open it with `open_sqlite_store`."""

    def __init__(
        self, conn: sqlite3.Connection, path: str, *, codec: Codec = DEFAULT, busy_timeout: float = 10.0
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._busy_timeout = busy_timeout
        self._lock = anyio.Lock()
        self._stop = threading.Event()
        self.codec = codec
        self._decode = decode_record if codec is DEFAULT else functools.partial(decode_record, codec=codec)

    def __repr__(self) -> str:
        return f"open_sqlite_store({self._path!r})"

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        async with self._lock:
            conn = self._conn
            if conn is None:
                raise SessionError(f"{self!r} is closed; use it inside its `async with` block")
            self._stop.clear()
            try:
                return await interruptible(lambda: fn(conn), stop=self._stop, interrupt=conn.interrupt)
            except sqlite3.Error as exc:
                raise SessionError(
                    sqlite_problem(exc, self._path, self._busy_timeout, "busy_timeout")
                ) from exc

    async def __call__(self, effect: Effect[R], /) -> R:
        if isinstance(effect, LoadSession):
            return cast("R", await self.load(effect.session_id))
        if isinstance(effect, SaveSession):
            return cast("R", await self._run(lambda conn: self._save(conn, effect)))
        raise unhandled(self, effect)

    def _save(self, conn: sqlite3.Connection, effect: SaveSession) -> Saved:
        sid = effect.session_id
        encoded = [_encode(r, self.codec) for r in effect.records]
        if self._stop.is_set():  # cancelled while encoding: do not begin
            raise _Stopped

        def rows(current: int, now: float) -> Iterator[tuple[str, int, str, str, float]]:
            stop = self._stop
            for i, (kind, data) in enumerate(encoded, 1):
                if stop.is_set():  # cancelled between two rows (where an interrupt goes unseen)
                    raise _Stopped
                yield sid, current + i, kind, data, now

        def transaction() -> Saved:
            row = conn.execute("SELECT last_seq FROM sessions WHERE session_id = ?", (sid,)).fetchone()
            current = 0 if row is None else row[0]
            if current != effect.after_seq:
                raise conflict(sid, effect.after_seq, current)
            now = time.time()
            last = current + len(encoded)
            if row is None:
                conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)", (sid, last, now, now))
            else:
                conn.execute(
                    "UPDATE sessions SET last_seq = ?, updated_at = ? WHERE session_id = ?", (last, now, sid)
                )
            conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?)", rows(current, now))
            return Saved(session_id=sid, last_seq=last)

        return _in_transaction(conn, transaction, self._stop)

    def _records(
        self, conn: sqlite3.Connection, session_id: str, upto: int | None = None
    ) -> tuple[Record, ...]:
        if upto is None:
            with _no_gc():  # fetch, parse and decode: all the objects of the log at once
                count, seqs, joined = conn.execute(_LOAD, (session_id,)).fetchone()
                if count == 0:
                    return ()
                # One JSON array decodes much faster than one document per row; the
                # sequence numbers, concatenated in the same order, prove the order.
                if seqs == _counting(count):
                    return self._decode_all(_parse(b"[" + joined + b"]", session_id), session_id)
        query = "SELECT seq, data FROM records WHERE session_id = ? AND seq <= ? ORDER BY seq"
        rows = conn.execute(query, (session_id, upto if upto is not None else 2**62)).fetchall()
        for i, (seq, _) in enumerate(rows, 1):
            if seq != i:
                raise SessionError(f"session {session_id!r} is missing record {i}; the file is corrupt")
        return tuple(self._decode(_parse(data, session_id)) for _, data in rows)

    def _decode_all(self, data: list[Any], session_id: str) -> tuple[Record, ...]:
        """Every record of a loaded array, decoded in one call (errors name the record's index)."""
        records = self.codec.decode(data)
        if _RECORD_TYPES.issuperset(map(type, records)):
            return cast("tuple[Record, ...]", records)
        return tuple(map(self._decode, data))  # raises the SessionError naming what is wrong

    async def load(self, session_id: str, /) -> SessionLog:
        """The session's whole log (empty for an unknown session)."""
        records = await self._run(lambda conn: self._records(conn, session_id))
        return SessionLog(session_id=session_id, records=records)

    async def list_sessions(self) -> tuple[SessionInfo, ...]:
        """Every session, sorted by id."""

        def query(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(
                "SELECT session_id, last_seq, created_at, updated_at, forked_from FROM sessions "
                "ORDER BY session_id"
            ).fetchall()

        rows = await self._run(query)
        return tuple(
            SessionInfo(session_id=r[0], last_seq=r[1], created_at=r[2], updated_at=r[3], forked_from=r[4])
            for r in rows
        )

    async def delete_session(self, session_id: str, /) -> bool:
        """Delete a session and all its records in one transaction; return whether it existed."""

        def delete(conn: sqlite3.Connection) -> bool:
            def transaction() -> bool:
                conn.execute("DELETE FROM records WHERE session_id = ?", (session_id,))
                return conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,)).rowcount > 0

            return _in_transaction(conn, transaction, self._stop)

        return await self._run(delete)

    async def fork_session(self, source: str, target: str, /, *, upto_seq: int | None = None) -> SessionInfo:
        """Copy ``source``'s records up to ``upto_seq`` (default: all) into a new session ``target``.

        Raises:
            SessionError: unknown source, existing target, or a fork point that
                would leave a tool call without its result.
        """

        def fork(conn: sqlite3.Connection) -> SessionInfo:
            def transaction() -> SessionInfo:
                row = conn.execute("SELECT last_seq FROM sessions WHERE session_id = ?", (source,)).fetchone()
                exists = conn.execute("SELECT 1 FROM sessions WHERE session_id = ?", (target,)).fetchone()
                upto = check_fork(
                    source, target, None if row is None else row[0], exists is not None, upto_seq
                )
                if upto < row[0]:
                    check_fork_point(source, self._records(conn, source, upto), upto)
                now = time.time()
                conn.execute(
                    "INSERT INTO records SELECT ?, seq, kind, data, created_at FROM records "
                    "WHERE session_id = ? AND seq <= ?",
                    (target, source, upto),
                )
                conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (target, upto, now, now, source))
                return SessionInfo(
                    session_id=target, last_seq=upto, created_at=now, updated_at=now, forked_from=source
                )

            return _in_transaction(conn, transaction, self._stop)

        return await self._run(fork)

    async def aclose(self) -> None:
        """Close the connection (waiting for a call in progress to finish)."""
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await anyio.to_thread.run_sync(conn.close)


_sleep = time.sleep  # how `use_wal` waits between tries (tests replace it to see it wait)


def sqlite_problem(exc: sqlite3.Error, path: str, timeout: float, option: str) -> str:
    """A one-line diagnosis of ``exc``, raised on the database at ``path``, saying what to do.

    ``timeout`` is how long SQLite waited for a lock, and ``option`` the
    argument that sets it (``busy_timeout=``, ``timeout=``).
    """
    code = getattr(exc, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            f"{path} is locked: another connection held a write lock on it for longer than "
            f"{option}={timeout:g}s ({exc}). Raise {option}, keep the other writers' transactions "
            "short, or find the process that holds the file in a transaction"
        )
    if code == sqlite3.SQLITE_CANTOPEN:
        folder = Path(path).parent
        if not folder.is_dir():
            return f"cannot open {path}: the folder {folder} does not exist; create it first"
        return f"cannot open {path} ({exc}); check the path and the folder's permissions"
    if code == sqlite3.SQLITE_NOTADB:
        return f"{path} is not a SQLite database ({exc})"
    return f"SQLite failed on {path}: {exc}"


def use_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    # Switching a file to WAL needs an exclusive lock and SQLite reports "database is
    # locked" at once, without waiting, when another process holds one (say, it is
    # opening the same new file): wait for it here, up to busy_timeout.
    deadline = time.monotonic() + busy_timeout
    delay = 0.001
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() > deadline:
                raise
        _sleep(delay)
        delay = min(delay * 2, 0.05)


def _connect(path: str, busy_timeout: float, synchronous: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise SessionError(sqlite_problem(exc, path, busy_timeout, "busy_timeout")) from exc
    try:
        use_wal(conn, busy_timeout)
        conn.execute(f"PRAGMA synchronous={synchronous}")
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise SessionError(sqlite_problem(exc, path, busy_timeout, "busy_timeout")) from exc
    except Exception:
        conn.close()
        raise
    return conn


@asynccontextmanager
async def open_sqlite_store(
    path: str | os.PathLike[str] = "sessions.db",
    *,
    durability: Literal["normal", "full"] = "normal",
    busy_timeout: float = 10.0,
    codec: Codec = DEFAULT,
) -> AsyncIterator[SqliteStore]:
    """Open (creating if needed) a SQLite session store, and close it on exit.

    Args:
        path: the database file (default ``sessions.db`` in the working
            directory); ``":memory:"`` keeps it in memory.
        durability: ``"normal"`` (default) survives a crash of the process at any
            point; after a power loss the file is consistent but the last saves
            may be missing. ``"full"`` also syncs every save to disk (slower).
        busy_timeout: seconds to wait for another process's write to finish.
        codec: encodes and decodes the records (default: the library's); pass
            ``DEFAULT.with_types(...)`` if records hold types of your own.

    Raises:
        SessionError: the file was written by a newer version of tower_llm_fx,
            its folder does not exist, it is not a SQLite database, or another
            connection kept it locked for longer than ``busy_timeout`` (also
            raised by the store's operations then).

    >>> import trio, tower_llm_fx as fx
    >>> async def main():
    ...     async with open_sqlite_store(":memory:") as store:
    ...         await store(fx.sessions.SaveSession(session_id="s", after_seq=0, records=(fx.user("hi"),)))
    ...         return (await store.load("s")).view()
    >>> trio.run(main)
    (UserMessage(content='hi', name=None),)
    """
    if durability not in ("normal", "full"):
        raise ValueError(f"durability must be 'normal' or 'full', got {durability!r}")
    name = os.fspath(path)
    conn = await anyio.to_thread.run_sync(_connect, name, busy_timeout, durability.upper())
    store = SqliteStore(conn, name, codec=codec, busy_timeout=busy_timeout)
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await store.aclose()


def _parse(text: str | bytes, session_id: str) -> Any:
    """A stored row's JSON (text, or its UTF-8 bytes), or a `SessionError` saying the file
    is corrupt (never a raw error)."""
    # Compact JSON has no raw newline; a row that starts with one needs json.
    plain = b"\n" not in text if isinstance(text, bytes) else "\n" not in text
    if plain:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # let json decide (it reads NaN, which older files may hold) and explain
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        problem = "nests too deep" if isinstance(exc, RecursionError) else f"is not valid JSON ({exc})"
        raise SessionError(
            f"a stored record of session {session_id!r} {problem}: the file is corrupt or was "
            "written by something else; restore it from a backup"
        ) from None

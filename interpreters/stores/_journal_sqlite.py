"""`open_sqlite_journal`: durable-run journals in one SQLite file (the embedded default).

Design:

* One ``sqlite3`` connection per store, used one call at a time under an
  ``anyio.Lock``. Reads, and every write with ``durability="full"`` (an fsync
  each), run in worker threads.
* WAL journal (``use_wal``, shared with the session store); ``synchronous``
  NORMAL by default, which survives a crash of the process at any point
  (``durability="full"`` also survives a power loss, slower). In NORMAL mode an
  append is a write into the WAL file with no fsync, ~15 µs, which is less than
  the hop to a worker thread (~80 µs): so it is done on the event loop's
  thread, with a busy timeout of 0. If another connection holds the write lock
  it is retried in a worker thread that waits up to ``busy_timeout``, so the
  event loop never waits for another process.
* An append is one transaction of one row ``(run_id, idx, kind, line)``,
  ``line`` the entry's JSON (format v2, a ``tower_llm_fx.serde.Codec``). The
  primary key ``(run_id, idx)`` makes a second writer of one run fail
  instead of interleaving. A cancelled append still finishes its
  transaction in the thread: an entry is wholly in the file or not at all.
* Size: a model call's intent is written compact
  (``tower_llm_fx.durable.compact_entry``): the messages it shares with the
  run's previous model call are a reference to that row, so a run's journal
  grows linearly with the run, not with its square. Such a line's ``type`` is
  ``"journal.intent_delta"`` (its ``kind`` stays ``Intent``); rows written
  before are plain and read the same (an older tower_llm_fx reading a new
  row says it was written by a newer one). Reading rebuilds each one on the model
  call before it (``expand_entry``), so ``entries`` returns the values that
  were appended. The store remembers, per run, the last model call and the
  next index (from its own appends and its reads, for at most ``_TIPS``
  runs); an append at any other index (a new store on an old file that did
  not read the run first, another process's rows since) first reads the
  run's intents back to find it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Literal, TypeVar, final

import anyio
import anyio.to_thread

from tower_llm_fx.durable import CallBase, Entry, compact_entry, expand_entry, journal_trace, next_call_base
from tower_llm_fx.serde import DEFAULT, Codec, compact_json
from tower_llm_fx.trace import Trace, TraceStoreError

from ._journal import journal_not_found, taken_error
from ._sqlite import sqlite_problem, use_wal

__all__ = ["SqliteJournal", "journal_runs", "load_journal", "open_sqlite_journal", "read_journal"]

T = TypeVar("T")

_TIPS = 256  # runs whose last model call a store remembers (an append to another one reads it back)
_CORRUPT = "the file is corrupt, or was written with another codec: open it with that codec"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tower_llm_fx_journal (
    run_id TEXT NOT NULL,
    idx INTEGER NOT NULL CHECK (idx >= 0),
    kind TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
) WITHOUT ROWID
"""


@final
class SqliteJournal:
    """Journals in one SQLite file; open it with `open_sqlite_journal`."""

    def __init__(
        self, conn: sqlite3.Connection, path: str, *, codec: Codec, busy_timeout: float, inline: bool
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._busy_timeout = busy_timeout
        self._inline = inline  # appends on the event loop's thread (NORMAL durability), see above
        self._lock = anyio.Lock()
        self.codec = codec
        # run id -> (the index of its next entry, the last model call before it): see the module docstring
        self._tips: dict[str, tuple[int, CallBase | None]] = {}

    def __repr__(self) -> str:
        return f"open_sqlite_journal({self._path!r})"

    async def _run(self, fn: Callable[[sqlite3.Connection], T], *, inline: bool = False) -> T:
        async with self._lock:
            conn = self._conn
            if conn is None:
                raise TraceStoreError(f"{self!r} is closed; use it inside its `async with` block")
            try:
                if inline:
                    try:
                        return fn(conn)  # busy_timeout is 0 here: this never waits for a lock
                    except sqlite3.OperationalError as exc:
                        if exc.sqlite_errorcode not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                            raise
                return await anyio.to_thread.run_sync(self._waiting, fn, conn)
            except sqlite3.Error as exc:
                raise TraceStoreError(
                    sqlite_problem(exc, self._path, self._busy_timeout, "busy_timeout")
                ) from exc

    def _waiting(self, fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
        """``fn(conn)`` waiting up to ``busy_timeout`` for another connection's lock (in a worker thread)."""
        if not self._inline:
            return fn(conn)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        try:
            return fn(conn)
        finally:
            conn.execute("PRAGMA busy_timeout = 0")

    def _remember(self, run_id: str, index: int, base: CallBase | None) -> None:
        """Run ``run_id``'s next entry is number ``index``, and ``base`` the last model call before it."""
        tips = self._tips
        tips.pop(run_id, None)
        tips[run_id] = (index, base)
        if len(tips) > _TIPS:
            del tips[next(iter(tips))]  # the run used least recently

    async def entries(self, run_id: str, /) -> tuple[Entry, ...]:
        query = "SELECT idx, line FROM tower_llm_fx_journal WHERE run_id = ? ORDER BY idx"
        rows = await self._run(lambda conn: conn.execute(query, (run_id,)).fetchall())
        entries, base = _expand(rows, run_id, self._path, self.codec, contiguous=True)
        tip = self._tips.get(run_id)
        if entries and (tip is None or tip[0] <= len(entries)):  # an append since the query knows more
            self._remember(run_id, len(entries), base)
        return entries

    async def append(self, run_id: str, index: int, entry: Entry, /) -> None:
        tip = self._tips.get(run_id)
        known = index == 0 or (tip is not None and tip[0] == index)
        base = tip[1] if known and tip is not None and index > 0 else None
        codec, kind = self.codec, type(entry).__name__
        line = compact_json(compact_entry(entry, base, codec=codec)) if known else ""

        def insert(conn: sqlite3.Connection) -> CallBase | None:
            found, text = base, line
            if not known:  # read back the last model call before entry #index
                query = (
                    "SELECT idx, line FROM tower_llm_fx_journal "
                    "WHERE run_id = ? AND idx < ? AND kind = 'Intent' ORDER BY idx"
                )
                rows = conn.execute(query, (run_id, index)).fetchall()
                try:
                    found = _expand(rows, run_id, self._path, codec, contiguous=False)[1]
                except TraceStoreError:
                    found = None  # unreadable rows (reading them says so): this one is written whole
                text = compact_json(compact_entry(entry, found, codec=codec))
            try:
                with conn:  # one transaction
                    conn.execute(
                        "INSERT INTO tower_llm_fx_journal VALUES (?, ?, ?, ?)", (run_id, index, kind, text)
                    )
            except sqlite3.IntegrityError:
                (count,) = conn.execute(
                    "SELECT COUNT(*) FROM tower_llm_fx_journal WHERE run_id = ?", (run_id,)
                ).fetchone()
                raise taken_error(run_id, index, count) from None
            return next_call_base(index, entry, found)

        # A read-back decodes rows: a worker thread's job, not the event loop's.
        self._remember(run_id, index + 1, await self._run(insert, inline=self._inline and known))

    async def load(self, run_id: str, /, *, allow_truncated: bool = False) -> Trace:
        entries = await self.entries(run_id)
        if not entries:
            raise journal_not_found(run_id, self._path, await self.list())
        return journal_trace(entries)

    async def list(self) -> tuple[str, ...]:
        query = "SELECT DISTINCT run_id FROM tower_llm_fx_journal ORDER BY run_id"
        return tuple(r[0] for r in await self._run(lambda conn: conn.execute(query).fetchall()))

    async def aclose(self) -> None:
        """Close the connection (waiting for a call in progress to finish)."""
        async with self._lock:
            conn, self._conn = self._conn, None
            self._tips.clear()
            if conn is not None:
                await anyio.to_thread.run_sync(conn.close)


def _connect(path: str, busy_timeout: float, synchronous: str, inline: bool) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level="DEFERRED", check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise TraceStoreError(sqlite_problem(exc, path, busy_timeout, "busy_timeout")) from exc
    try:
        use_wal(conn, busy_timeout)
        conn.execute(f"PRAGMA synchronous={synchronous}")
        with conn:
            conn.execute(_SCHEMA)
        if inline:
            conn.execute("PRAGMA busy_timeout = 0")
    except sqlite3.Error as exc:
        conn.close()
        raise TraceStoreError(sqlite_problem(exc, path, busy_timeout, "busy_timeout")) from exc
    return conn


@asynccontextmanager
async def open_sqlite_journal(
    path: str | os.PathLike[str] = "journal.db",
    *,
    durability: Literal["normal", "full"] = "normal",
    busy_timeout: float = 10.0,
    codec: Codec = DEFAULT,
) -> AsyncIterator[SqliteJournal]:
    """Open (creating if needed) a SQLite journal store, and close it on exit.

    Args:
        path: the database file (``":memory:"`` keeps it in memory). It may be
            the session store's file: the tables do not clash.
        durability: ``"normal"`` survives a crash of the process at any point;
            ``"full"`` also syncs every append to disk (survives a power loss).
        busy_timeout: seconds to wait for another process's write.
        codec: encodes the entries (pass ``DEFAULT.with_types(...)`` for types of yours).

    Raises:
        TraceStoreError: the folder does not exist, the file is not a SQLite
            database, or another connection kept it locked too long.

    >>> import trio
    >>> from tower_llm_fx.durable import RunBegun
    >>> async def main():
    ...     async with open_sqlite_journal(":memory:") as journal:
    ...         await journal.append("r1", 0, RunBegun(run_id="r1", input="hi"))
    ...         return await journal.entries("r1")
    >>> trio.run(main)
    (RunBegun(run_id='r1', input='hi'),)
    """
    if durability not in ("normal", "full"):
        raise ValueError(f"durability must be 'normal' or 'full', got {durability!r}")
    name = os.fspath(path)
    inline = durability == "normal"
    conn = await anyio.to_thread.run_sync(_connect, name, busy_timeout, durability.upper(), inline)
    store = SqliteJournal(conn, name, codec=codec, busy_timeout=busy_timeout, inline=inline)
    try:
        yield store
    finally:
        with anyio.CancelScope(shield=True):
            await store.aclose()


def _read_only(path: str | os.PathLike[str]) -> sqlite3.Connection:
    uri = "file:" + urllib.parse.quote(os.path.abspath(os.fspath(path))) + "?mode=ro"
    return sqlite3.connect(uri, uri=True)


def journal_runs(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The run ids journalled in the SQLite file at ``path``, read-only (``()`` if it holds no journal,
    or is no database). For tools that must not write to a file they inspect (the command line)."""
    try:
        conn = _read_only(path)
        try:
            table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tower_llm_fx_journal'"
            ).fetchone()
            if table is None:
                return ()
            rows = conn.execute("SELECT DISTINCT run_id FROM tower_llm_fx_journal ORDER BY run_id").fetchall()
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError):  # not a database, locked, unreadable: no journal here
        return ()
    return tuple(r[0] for r in rows)


def load_journal(path: str | os.PathLike[str], run_id: str) -> Trace:
    """Run ``run_id``'s journal in the SQLite file at ``path`` as a trace, read-only (see `journal_runs`)."""
    return journal_trace(read_journal(path, run_id))


def read_journal(path: str | os.PathLike[str], run_id: str, *, codec: Codec = DEFAULT) -> tuple[Entry, ...]:
    """Run ``run_id``'s journal in the SQLite file at ``path``, read-only (see `journal_runs`).

    Raises:
        TraceStoreError: a row cannot be decoded.
    """
    conn = _read_only(path)
    try:
        rows = conn.execute(
            "SELECT idx, line FROM tower_llm_fx_journal WHERE run_id = ? ORDER BY idx", (run_id,)
        ).fetchall()
    finally:
        conn.close()
    return _expand(rows, run_id, os.fspath(path), codec, contiguous=False)[0]


def _expand(
    rows: list[tuple[int, str]], run_id: str, where: str, codec: Codec, *, contiguous: bool
) -> tuple[tuple[Entry, ...], CallBase | None]:
    """The entries of journal rows ``(idx, line)`` in order, compact ones rebuilt, and the last model call.

    Raises:
        TraceStoreError: a row cannot be read, or a compact one does not fit the rows before it;
            with ``contiguous``, a row is missing.
    """
    entries = []
    base: CallBase | None = None
    for i, (idx, line) in enumerate(rows):
        if contiguous and idx != i:
            raise TraceStoreError(f"run {run_id!r}'s journal in {where} lacks entry #{i}; it is corrupt")
        try:
            entry = expand_entry(json.loads(line), base, codec=codec)
        except (ValueError, RecursionError) as exc:
            raise TraceStoreError(
                f"entry #{idx} of run {run_id!r}'s journal in {where} cannot be read ({exc}); {_CORRUPT}"
            ) from None
        entries.append(entry)
        base = next_call_base(idx, entry, base)
    return tuple(entries), base

"""interpreters.stores: where sessions and traces are kept (memory, a directory, SQLite, Postgres).

Session stores are interpreters for ``LoadSession`` / ``SaveSession`` (send
them there with ``interpreters.layers.with_store``); trace stores receive what
``interpreters.layers.record`` writes and feed ``interpreters.replay``; journal
stores (`MemoryJournal`, `open_sqlite_journal`) hold durable runs' effect
journals (``run(..., journal=..., run_id=...)``). The Postgres stores
(`open_postgres_store`, `PostgresTraceStore`) need the ``[postgres]`` extra. Every store only ever appends. Stores that encode take ``codec=`` (a
``tower_llm_fx.serde.Codec``; pass ``DEFAULT.with_types(...)`` for types of
your own) and read data written in format v1 as well as v2.

    >>> import trio
    >>> from interpreters.stores import memory_store
    >>> store = memory_store()
    >>> trio.run(store.list_sessions)
    ()
"""

from interpreters._publish import publish as _publish

from ._journal import JournalStore as JournalStore
from ._journal import MemoryJournal as MemoryJournal
from ._journal_sqlite import SqliteJournal as SqliteJournal
from ._journal_sqlite import open_sqlite_journal as open_sqlite_journal
from ._postgres import PostgresStore as PostgresStore
from ._postgres import open_postgres_store as open_postgres_store
from ._sessions import MemoryStore as MemoryStore
from ._sessions import SessionInfo as SessionInfo
from ._sessions import SessionStore as SessionStore
from ._sessions import memory_store as memory_store
from ._sqlite import SqliteStore as SqliteStore
from ._sqlite import open_sqlite_store as open_sqlite_store
from ._trace_postgres import PostgresTraceStore as PostgresTraceStore
from ._trace_sqlite import SqliteTraceStore as SqliteTraceStore
from ._traces import DirectoryTraceStore as DirectoryTraceStore
from ._traces import MemoryTraceStore as MemoryTraceStore
from ._traces import TraceStore as TraceStore
from ._traces import read_trace as read_trace
from ._traces import save_trace as save_trace
from ._traces import write_trace as write_trace

__all__ = [
    "DirectoryTraceStore",
    "JournalStore",
    "MemoryJournal",
    "MemoryStore",
    "MemoryTraceStore",
    "PostgresStore",
    "PostgresTraceStore",
    "SessionInfo",
    "SessionStore",
    "SqliteJournal",
    "SqliteStore",
    "SqliteTraceStore",
    "TraceStore",
    "memory_store",
    "open_postgres_store",
    "open_sqlite_journal",
    "open_sqlite_store",
    "read_trace",
    "save_trace",
    "write_trace",
]

_publish(__name__, globals(), __all__)

"""`SqliteTraceStore`: traces in one SQLite database, always a real file in ``tmp_path``.

Covers: the file and schema made on first use; sharing a file with the session store; rows holding
the JSON Lines text (model calls as deltas against the trace's previous model call, kept per trace
and reset when a trace is deleted or begun again, full form from a fresh instance); errors naming
the database and the trace (gaps, corrupt rows, a newer schema, appends without a begin); several
instances and several processes writing at once; secrets never reaching the disk. The contract every
trace store keeps is in ``test_traces.py``. Trio and asyncio.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import textwrap
from pathlib import Path

import anyio
import attrs
import pytest

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters.stores import SqliteTraceStore, TraceStore, open_sqlite_store, save_trace

from ._sqlite_help import another_writer, journal_mode, watch_wal_retries
from ._trace_data import EXCHANGES, FINAL, META, V1_TEXT

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]

WHOLE = fx.trace.Trace(meta=META, exchanges=EXCHANGES)


def rows(db: Path, trace_id: str) -> dict[int, str]:
    """The stored exchange lines of ``trace_id``, by index, read with a plain connection."""
    conn = sqlite3.connect(db)
    try:
        query = "SELECT idx, line FROM tower_llm_fx_trace_exchanges WHERE trace_id = ?"
        return dict(conn.execute(query, (trace_id,)))
    finally:
        conn.close()


def disk_bytes(directory: Path) -> bytes:
    """Every byte of every file in ``directory`` (the database, and its WAL and shm files if any)."""
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()))


# --- moved verbatim from tests/interpreters/stores/test_traces.py ---


async def test_sqlite_store_is_shared_between_instances(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    await save_trace(SqliteTraceStore(db), "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    other = SqliteTraceStore(db)
    assert await other.load("t") == fx.trace.Trace(meta=META, exchanges=EXCHANGES)
    await other.delete("t")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tower_llm_fx_trace_exchanges").fetchone() == (0,)
    conn.close()


async def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(fx.trace.TraceStoreError, match="schema version 99"):
        await SqliteTraceStore(db).list()


async def test_sqlite_reports_a_corrupted_row(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    store = SqliteTraceStore(db)
    await save_trace(store, "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE tower_llm_fx_trace_exchanges SET line = 'garbage\n' WHERE idx = 1")
    conn.close()
    with pytest.raises(fx.trace.TraceDecodeError, match=r"traces\.db#t .*line 3: not valid JSON"):
        await store.load("t")


# --- the file ---


async def test_a_write_lock_held_past_the_timeout_is_a_trace_store_error(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    store = SqliteTraceStore(db, timeout=0.05)
    await save_trace(store, "a", WHOLE)
    with another_writer(db) as other:  # a second real connection holds the write lock
        with pytest.raises(fx.trace.TraceStoreError) as info:
            await store.begin("b", META)
        message = str(info.value)
        assert str(db) in message and "is locked" in message
        assert "timeout=0.05s" in message and "Raise timeout" in message
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        assert await store.load("a") == WHOLE  # readers are not blocked (WAL)
        other.execute("ROLLBACK")
    await store.begin("b", META)
    assert await store.list() == ("a", "b")


async def test_switching_to_wal_waits_for_another_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the session store does (SQLite answers "database is locked" at once, without
    # waiting, when a file is switched to WAL while another connection writes).
    retried = watch_wal_retries(monkeypatch)
    db = tmp_path / "busy.db"
    with another_writer(db, new_file=True) as other:
        done = anyio.Event()

        async def write() -> None:
            await save_trace(SqliteTraceStore(db), "t", WHOLE)
            done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(write)
            assert await anyio.to_thread.run_sync(retried.wait, 60)
            assert not done.is_set()
            other.execute("COMMIT")
    assert await SqliteTraceStore(db).load("t") == WHOLE
    assert journal_mode(db) == "wal"


async def test_a_missing_folder_is_a_trace_store_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    store = SqliteTraceStore(folder / "traces.db")
    for call in (store.list(), store.begin("t", META), store.load("t")):
        with pytest.raises(
            fx.trace.TraceStoreError, match=f"the folder {re.escape(str(folder))} does not exist"
        ):
            await call
    assert not folder.exists()


async def test_a_file_that_is_not_a_database_is_a_trace_store_error(tmp_path: Path) -> None:
    db = tmp_path / "notatrace.db"
    db.write_text("not a database\n" * 100)
    with pytest.raises(fx.trace.TraceStoreError, match=f"{re.escape(str(db))} is not a SQLite database"):
        await SqliteTraceStore(db).list()


async def test_the_file_and_schema_are_made_on_first_use(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    store = SqliteTraceStore(str(db), timeout=5.0)
    assert not db.exists()  # constructing the store touches nothing
    assert (store.path, store.timeout, repr(store)) == (db, 5.0, f"SqliteTraceStore({str(db)!r})")
    assert await store.list() == ()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    assert tables == {"tower_llm_fx_traces", "tower_llm_fx_trace_exchanges"}


async def test_one_file_can_hold_sessions_and_traces(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    async with open_sqlite_store(db) as sessions:
        await sessions(fx.sessions.SaveSession(session_id="s", after_seq=0, records=(fx.user("hi"),)))
        traces: TraceStore = SqliteTraceStore(db)
        await save_trace(traces, "t", WHOLE)
        assert (await sessions.load("s")).records == (fx.user("hi"),)
    async with open_sqlite_store(db) as reopened:  # the trace tables do not upset the session store
        assert (await reopened.load("s")).records == (fx.user("hi"),)
    assert await SqliteTraceStore(db).load("t") == WHOLE


async def test_rows_hold_the_json_lines_text_with_model_calls_as_deltas(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    await save_trace(SqliteTraceStore(db), "t", WHOLE)
    stored = rows(db, "t")
    assert "".join(stored[i] for i in sorted(stored)) == "".join(
        fx.trace.encode_trace(WHOLE).splitlines(keepends=True)[1:]
    )
    assert '"extends":0' in stored[2]  # only the new messages of the second model call
    assert len(stored[2]) < len(fx.trace.encode_exchange(2, EXCHANGES[2]))


async def test_a_fresh_instance_appends_model_calls_in_full(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    first = SqliteTraceStore(db)
    await first.begin("t", META)
    await first.append("t", 0, EXCHANGES[0])
    second = SqliteTraceStore(db)  # e.g. another process: it never saw exchange 0
    await second.append("t", 1, EXCHANGES[1])
    await second.append("t", 2, EXCHANGES[2])
    assert rows(db, "t")[2] == fx.trace.encode_exchange(2, EXCHANGES[2])
    assert await first.load("t") == await second.load("t") == WHOLE


async def test_delta_bases_are_kept_per_trace(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    store = SqliteTraceStore(db)
    await store.begin("a", META)
    await store.begin("b", META)
    await store.append("a", 0, EXCHANGES[0])
    await store.append("b", 0, EXCHANGES[1])
    await store.append("b", 1, EXCHANGES[2])  # b has no earlier model call to extend
    assert "extends" not in rows(db, "b")[1]
    assert (await store.load("a")).exchanges == EXCHANGES[:1]
    assert (await store.load("b")).exchanges == EXCHANGES[1:]


async def test_a_deleted_trace_begun_again_starts_from_nothing(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    store = SqliteTraceStore(db)
    await save_trace(store, "t", WHOLE)
    await store.delete("t")
    assert rows(db, "t") == {}
    await store.begin("t", fx.trace.TraceMeta(agent="again"))
    await store.append("t", 0, EXCHANGES[1])
    await store.append("t", 1, EXCHANGES[2])  # must not extend the deleted trace's model call
    again = await store.load("t")
    assert again == fx.trace.Trace(meta=fx.trace.TraceMeta(agent="again"), exchanges=EXCHANGES[1:])


# --- errors ---


async def test_a_gap_in_the_indices_is_reported_on_load(tmp_path: Path) -> None:
    store = SqliteTraceStore(tmp_path / "traces.db")
    await store.begin("t", META)
    await store.append("t", 0, EXCHANGES[0])
    await store.append("t", 2, EXCHANGES[2])
    with pytest.raises(
        fx.trace.TraceDecodeError, match=r"traces\.db#t .*line 3.*expected exchange index 1, got 2"
    ):
        await store.load("t")


async def test_a_corrupted_header_is_reported_as_line_one(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    store = SqliteTraceStore(db)
    await save_trace(store, "t", WHOLE)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE tower_llm_fx_traces SET header = '{not json\n' WHERE id = 't'")
    conn.close()
    with pytest.raises(fx.trace.TraceDecodeError) as info:
        await store.load("t")
    assert info.value.line == 1
    assert f"{db}#t" in str(info.value)


async def test_appending_to_a_deleted_trace_says_to_begin_it(tmp_path: Path) -> None:
    store = SqliteTraceStore(tmp_path / "traces.db")
    await save_trace(store, "t", WHOLE)
    await store.delete("t")
    with pytest.raises(fx.trace.TraceNotFound, match=r"begin\(\) it first"):
        await store.append("t", 3, EXCHANGES[0])
    assert await store.list() == ()


async def test_a_trace_begun_by_another_instance_is_never_overwritten(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    await save_trace(SqliteTraceStore(db), "t", WHOLE)
    with pytest.raises(fx.trace.TraceExists):
        await SqliteTraceStore(db).begin("t", fx.trace.TraceMeta())
    assert await SqliteTraceStore(db).load("t") == WHOLE


# --- concurrency ---


async def test_concurrent_writers_in_one_process(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    stores = [SqliteTraceStore(db), SqliteTraceStore(db)]
    # Create the file first: two connections switching a *new* file to WAL at the same moment can get
    # SQLITE_BUSY without waiting (the session store retries that, this store does not yet; see the
    # hostile-inputs issue). What this test checks is concurrent appends, not concurrent creation.
    for store in stores:
        assert await store.list() == ()

    async with anyio.create_task_group() as tg:
        for i in range(12):
            trace = fx.trace.Trace(meta=attrs.evolve(META, tags={"n": str(i)}), exchanges=EXCHANGES)
            tg.start_soon(save_trace, stores[i % 2], f"t{i:02}", trace)
    reader = SqliteTraceStore(db)
    assert await reader.list() == tuple(f"t{i:02}" for i in range(12))
    for i in range(12):
        loaded = await reader.load(f"t{i:02}")
        assert loaded == fx.trace.Trace(meta=attrs.evolve(META, tags={"n": str(i)}), exchanges=EXCHANGES)


WRITER = textwrap.dedent(
    """
    import sys, trio
    import tower_llm_fx as fx, tower_llm_fx.trace
    from interpreters.stores import SqliteTraceStore
    from tests.interpreters.stores.test_trace_sqlite import EXCHANGES, META

    async def main(db, n):
        store = SqliteTraceStore(db)
        for i in range(5):
            await store.begin(f"p{n}-{i}", META)
            for j, ex in enumerate(EXCHANGES):
                await store.append(f"p{n}-{i}", j, ex)

    trio.run(main, sys.argv[1], sys.argv[2])
    """
)


@pytest.mark.parametrize("anyio_backend", ["trio"])  # the processes are the point, not the event loop
async def test_several_processes_write_one_file(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"

    async def writer(n: int) -> None:
        done = await anyio.run_process([sys.executable, "-c", WRITER, str(db), str(n)], cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr.decode()

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            for n in range(3):
                tg.start_soon(writer, n)
    store = SqliteTraceStore(db)
    assert await store.list() == tuple(sorted(f"p{n}-{i}" for n in range(3) for i in range(5)))
    for trace_id in await store.list():
        assert await store.load(trace_id) == WHOLE


# --- secrets ---


async def test_secrets_never_reach_the_file(tmp_path: Path) -> None:
    key = "sk-abcdefghijklmnopqrstuvwxyz012345"
    call = fx.ModelCall(
        model="m", messages=(fx.user(f"my key is {key}"),), params=fx.ModelParams(extra={"api_key": key})
    )
    store = SqliteTraceStore(tmp_path / "traces.db")
    await save_trace(
        store, "s", fx.trace.Trace(meta=META, exchanges=(fx.trace.Exchange(effect=call, result=FINAL),))
    )
    on_disk = disk_bytes(tmp_path)
    assert key.encode() not in on_disk
    assert b"[REDACTED]" in on_disk


async def test_v1_rows_load_and_new_traces_are_v2(tmp_path: Path) -> None:
    # A database written in format v1: the same JSON Lines text, split into a header and rows.
    db = tmp_path / "traces.db"
    store = SqliteTraceStore(db)
    await save_trace(store, "new", WHOLE)
    header, *lines = V1_TEXT.splitlines(keepends=True)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO tower_llm_fx_traces VALUES ('old', ?, NULL)", (header,))
        conn.executemany(
            "INSERT INTO tower_llm_fx_trace_exchanges VALUES ('old', ?, ?)", list(enumerate(lines))
        )
        (new_header,) = conn.execute("SELECT header FROM tower_llm_fx_traces WHERE id = 'new'").fetchone()
    conn.close()
    old = await store.load("old")
    assert old.exchanges == EXCHANGES
    assert old.meta.format_version == 1
    assert '"version":2' in new_header
    assert rows(db, "new")[1].startswith('{"i":1,"effect":{"type":"effect.tool_call"')

"""The SQLite store in real files: reopening, migrations, several processes, SIGKILL in
the middle of a run, and a 100k-message session. Trio and asyncio."""

from __future__ import annotations

import re
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.serde
import tower_llm_fx.sessions
from interpreters import agent_interpreter, run_session, sequence
from interpreters.stores import open_sqlite_store
from interpreters.stores._sqlite import MIGRATIONS, migrate
from tests.laws._conversations import check_valid

from ._sqlite_help import another_writer, journal_mode, watch_wal_retries

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]

# Tests that start processes or write 100k rows run on one backend only: what they
# check is the file, not the event loop, and they are the slow ones.
one_backend = pytest.mark.parametrize("anyio_backend", ["trio"])


any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates and NULs included
records = st.lists(
    st.one_of(
        st.builds(fx.UserMessage, content=any_text, name=st.none() | any_text),
        st.builds(fx.SystemMessage, content=any_text),
        st.builds(
            fx.AssistantMessage,
            content=st.none() | any_text,
            tool_calls=st.lists(
                st.builds(fx.ToolCallRequest, id=any_text, name=any_text, arguments=any_text), max_size=2
            ).map(tuple),
        ),
        st.builds(fx.ToolMessage, tool_call_id=any_text, content=any_text),
    ),
    min_size=1,
    max_size=6,
)


@given(records)
def test_any_text_round_trips_through_a_real_file(
    tmp_path_factory: pytest.TempPathFactory, rs: list[fx.sessions.Record]
) -> None:
    db = tmp_path_factory.mktemp("rt") / "rt.db"

    async def main() -> fx.sessions.SessionLog:
        async with open_sqlite_store(db) as store:
            await store(save(0, *rs))
        async with open_sqlite_store(db) as store:
            return await store.load("s")

    assert trio.run(main).records == tuple(rs)


def save(after: int, *records: fx.sessions.Record, sid: str = "s") -> fx.sessions.SaveSession:
    return fx.sessions.SaveSession(session_id=sid, after_seq=after, records=records)


async def test_the_default_path_is_sessions_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with open_sqlite_store() as store:
        await store(save(0, fx.user("hi")))
    assert (tmp_path / "sessions.db").exists()


async def test_reopening_finds_everything_and_the_file_is_wal(tmp_path: Path) -> None:
    db = tmp_path / "nested name.db"
    async with open_sqlite_store(db) as store:
        await store(save(0, fx.user("a"), fx.assistant("b")))
    async with open_sqlite_store(str(db), durability="full") as store:
        assert (await store.load("s")).records == (fx.user("a"), fx.assistant("b"))
        await store(save(2, fx.user("c")))
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,), (2,)]
        rows = conn.execute("SELECT seq, kind, data FROM records ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert [r[:2] for r in rows] == [(1, "message"), (2, "message"), (3, "message")]
    assert rows[0][2] == '{"type":"message.user","content":"a","name":null,"extra":null}'


def v1_database(path: Path) -> None:
    """A session file as tower_llm_fx wrote it in format v1: schema version 1, class-name tags."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn, MIGRATIONS[:1])
        rows = [
            (1, "message", '{"type":"SystemMessage","content":"s"}'),
            (2, "message", '{"type":"UserMessage","content":"a","name":null}'),
            (3, "message", '{"type":"AssistantMessage","content":null,"tool_calls":[{"type":"ToolCallRequest",'
             '"id":"c1","name":"add","arguments":"{}"}],"refusal":null,"name":null}'),
            (4, "message", '{"type":"ToolMessage","tool_call_id":"c1","content":"3"}'),
            (5, "compaction", '{"type":"Compaction","first_seq":2,"last_seq":4,"message":{"type":"UserMessage",'
             '"content":"[sum]","name":null},"strategy":"test","tokens_before":9,"tokens_after":2}'),
        ]  # fmt: skip
        conn.execute("INSERT INTO sessions VALUES ('s', 5, 0, 0, NULL)")
        conn.executemany("INSERT INTO records VALUES ('s', ?, ?, ?, 0)", rows)
    finally:
        conn.close()


V1_RECORDS = (
    fx.system("s"),
    fx.user("a"),
    fx.assistant(None, fx.ToolCallRequest(id="c1", name="add")),
    fx.ToolMessage(tool_call_id="c1", content="3"),
    fx.sessions.Compaction(
        first_seq=2, last_seq=4, message=fx.user("[sum]"), strategy="test", tokens_before=9, tokens_after=2
    ),
)


async def test_a_v1_file_loads_and_takes_v2_rows_after_its_v1_rows(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    v1_database(db)
    async with open_sqlite_store(db) as store:
        log = await store.load("s")
        assert log.records == V1_RECORDS
        assert log.view() == (fx.system("s"), fx.user("[sum]"))
        await store(save(5, fx.user("b")))
        assert (await store.load("s")).records == (*V1_RECORDS, fx.user("b"))
        forked = await store.fork_session("s", "t", upto_seq=2)
        assert forked.last_seq == 2
        assert (await store.load("t")).records == V1_RECORDS[:2]
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,), (2,)]
        last = conn.execute("SELECT data FROM records WHERE session_id = 's' AND seq = 6").fetchone()[0]
    finally:
        conn.close()
    assert last == '{"type":"message.user","content":"b","name":null,"extra":null}'


async def test_a_store_given_a_codec_uses_it(tmp_path: Path) -> None:
    # Records are messages and compactions, so the codec of a store of our own types reads and
    # writes them exactly as the default one does.
    @attrs.frozen
    class StoreTestTicket:
        id: int

    codec = fx.serde.DEFAULT.with_types({"test.store_ticket": StoreTestTicket})
    db = tmp_path / "codec.db"
    v1_database(db)
    async with open_sqlite_store(db, codec=codec) as store:
        assert store.codec is codec
        assert (await store.load("s")).records == V1_RECORDS
        await store(save(5, fx.user("b")))
    async with open_sqlite_store(db) as store:
        assert (await store.load("s")).records == (*V1_RECORDS, fx.user("b"))


async def test_a_closed_store_says_so(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "x.db") as store:
        pass
    with pytest.raises(fx.sessions.SessionError, match="closed"):
        await store.load("s")
    with pytest.raises(ValueError, match="durability"):
        async with open_sqlite_store(tmp_path / "x.db", durability="fast"):  # type: ignore[arg-type]
            pass


def test_migrations_apply_once_in_order_and_refuse_newer_files(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        assert migrate(conn, MIGRATIONS[:1]) == 1
        assert migrate(conn) == 2  # 2: rows may hold format v2 (wire names)
        assert migrate(conn) == 2  # idempotent
        extra = (*MIGRATIONS, (3, ("CREATE INDEX records_kind ON records (kind)",)))
        assert migrate(conn, extra) == 3
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'records_kind'").fetchone()
        with pytest.raises(fx.sessions.SessionError, match="schema version 3"):
            migrate(conn)
        broken = (*extra, (4, ("CREATE TABLE ok (x)", "THIS IS NOT SQL")))
        with pytest.raises(sqlite3.OperationalError):
            migrate(conn, broken)
        # the failed migration left nothing behind
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'ok'").fetchone() is None
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 3
    finally:
        conn.close()


async def test_opening_waits_for_another_writer_instead_of_failing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Switching a file to WAL while another connection is writing makes SQLite answer
    # "database is locked" at once, without waiting (this made concurrent processes
    # opening a new file fail now and then); the store waits for the writer instead.
    retried = watch_wal_retries(monkeypatch)
    db = tmp_path / "busy.db"
    with another_writer(db, new_file=True) as other:
        opened = anyio.Event()

        async def open_store() -> None:
            async with open_sqlite_store(db) as store:
                await store(save(0, fx.user("hi")))
            opened.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(open_store)
            # No real sleep: wait until the store has found the file locked and is waiting.
            assert await anyio.to_thread.run_sync(retried.wait, 60)
            assert not opened.is_set()  # still waiting for the other writer
            other.execute("COMMIT")
        assert opened.is_set()
    assert journal_mode(db) == "wal"


async def test_a_write_lock_held_past_busy_timeout_is_a_session_error(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    async with open_sqlite_store(db, busy_timeout=0.05) as store:
        await store(save(0, fx.user("a")))
        with another_writer(db) as other:  # a second real connection holds the write lock
            with pytest.raises(fx.sessions.SessionError) as info:
                await store(save(1, fx.user("b")))
            message = str(info.value)
            assert str(db) in message and "is locked" in message
            assert "busy_timeout=0.05s" in message and "Raise busy_timeout" in message
            assert isinstance(info.value.__cause__, sqlite3.OperationalError)
            assert (await store.load("s")).last_seq == 1  # readers are not blocked (WAL)
            other.execute("ROLLBACK")
        assert (await store(save(1, fx.user("b")))).last_seq == 2  # and the store works on afterwards


async def test_a_missing_folder_is_a_session_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "no" / "such"
    with pytest.raises(fx.sessions.SessionError, match=f"the folder {re.escape(str(folder))} does not exist"):
        async with open_sqlite_store(folder / "s.db"):
            pass


async def test_a_file_that_is_not_a_database_is_a_session_error(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("not a database\n" * 100)
    with pytest.raises(fx.sessions.SessionError, match="is not a SQLite database"):
        async with open_sqlite_store(db):
            pass


async def test_opening_a_newer_file_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, (*MIGRATIONS, (99, ("CREATE TABLE future (x)",))))
    conn.close()
    with pytest.raises(fx.sessions.SessionError, match="upgrade tower_llm_fx"):
        async with open_sqlite_store(db):
            pass


async def test_a_corrupt_log_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    async with open_sqlite_store(db) as store:
        await store(save(0, fx.user("a"), fx.user("b"), fx.user("c")))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM records WHERE seq = 2")
    conn.close()
    async with open_sqlite_store(db) as store:
        with pytest.raises(fx.sessions.SessionError, match="missing record 2"):
            await store.load("s")


@one_backend
async def test_a_100k_message_session(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    messages = [
        fx.user(f"question {i}") if i % 2 == 0 else fx.assistant(f"answer {i}") for i in range(100_000)
    ]
    async with open_sqlite_store(db) as store:
        last = 0
        for start in range(0, len(messages), 10_000):
            saved = await store(save(last, *messages[start : start + 10_000], sid="big"))
            last = saved.last_seq
        assert last == 100_000
        # the agent continues the huge session with one more step
        agent = fx.Agent(model="m")
        final = await run_session(
            agent, agent_interpreter(agent, model=sequence(["ok"])), "more", session_id="big", store=store
        )
        assert len(final.messages) == 100_002
    async with open_sqlite_store(db) as store:
        log = await store.load("big")
        assert log.last_seq == 100_002
        assert log.records[:100_000] == tuple(messages)
        assert log.records[-2:] == (fx.user("more"), fx.assistant("ok"))


async def until(condition: Callable[[], bool]) -> None:
    """Poll a file another process writes (no in-process event can tell us)."""
    with anyio.fail_after(60):
        while True:
            if condition():
                return
            await anyio.sleep(0.01)


async def run_worker(*args: str) -> None:
    done = await anyio.run_process(
        [sys.executable, "-m", "tests.interpreters.stores._session_worker", *args], cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


@one_backend
async def test_processes_writing_different_sessions(tmp_path: Path) -> None:
    db = str(tmp_path / "multi.db")
    async with anyio.create_task_group() as tg:
        for w in range(4):
            tg.start_soon(run_worker, "steps", db, f"s{w}", "5", str(tmp_path / f"marks{w}"))
    async with open_sqlite_store(db) as store:
        for w in range(4):
            view = (await store.load(f"s{w}")).view()
            check_valid(view)
            assert len(view) == 1 + 5 * 2 + 1
            assert view[-1] == fx.assistant("finished")


@one_backend
async def test_processes_appending_to_one_session_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "shared.db")
    async with anyio.create_task_group() as tg:
        for w in range(3):
            tg.start_soon(run_worker, "append", db, "shared", "40", f"w{w}")
    async with open_sqlite_store(db) as store:
        contents = [str(m.content) for m in (await store.load("shared")).view()]
    assert len(contents) == 120
    assert sorted(contents) == sorted(f"w{w}:{i}" for w in range(3) for i in range(40))
    for w in range(3):  # each writer's records are in its own order
        mine = [c for c in contents if c.startswith(f"w{w}:")]
        assert mine == [f"w{w}:{i}" for i in range(40)]


@one_backend
async def test_sigkill_mid_step_keeps_every_completed_step(tmp_path: Path) -> None:
    db, marks = str(tmp_path / "crash.db"), tmp_path / "marks"
    block_at = 4
    args = ["steps", db, "crash", "10", str(marks), str(block_at)]
    process = await anyio.open_process(
        [sys.executable, "-m", "tests.interpreters.stores._session_worker", *args], cwd=ROOT
    )
    try:
        await until(lambda: marks.exists() and marks.read_text().split()[-1:] == [str(block_at)])
        process.send_signal(signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()
    assert process.returncode == -signal.SIGKILL
    async with open_sqlite_store(db) as store:
        view = (await store.load("crash")).view()
    check_valid(view)
    # the input and steps 1..3 (call + result each); step 4 was in flight
    assert len(view) == 1 + (block_at - 1) * 2
    assert [m.content for m in view if isinstance(m, fx.ToolMessage)] == ["1", "2", "3"]


@one_backend
async def test_sigkill_at_a_random_moment_leaves_a_valid_prefix(tmp_path: Path) -> None:
    db, marks = str(tmp_path / "random.db"), tmp_path / "marks"
    process = await anyio.open_process(
        [
            sys.executable,
            "-m",
            "tests.interpreters.stores._session_worker",
            "steps",
            db,
            "r",
            "100000",
            str(marks),
        ],
        cwd=ROOT,
    )
    try:
        await until(lambda: marks.exists() and len(marks.read_text().split()) >= 30)
        process.send_signal(signal.SIGKILL)
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        await process.aclose()
    started = [int(x) for x in marks.read_text().split()]
    async with open_sqlite_store(db) as store:
        view = (await store.load("r")).view()
    check_valid(view)
    completed = sum(isinstance(m, fx.ToolMessage) for m in view)
    # when step k's tool started, steps < k were saved; step k itself may have been saved too
    assert max(started) - 1 <= completed <= max(started)
    assert [m.content for m in view if isinstance(m, fx.ToolMessage)] == [
        str(i) for i in range(1, completed + 1)
    ]


@pytest.mark.parametrize(
    "data",
    [
        "{not json",
        "[" * 100_000 + "]" * 100_000,
        '{"type": "message.user", "content": ' + "[" * 100_000 + "]" * 100_000 + ', "name": null}',
        '{"type": "no.such_type"}',
    ],
    ids=["not-json", "deep", "deep-field", "unknown-type"],
)
async def test_a_corrupt_row_is_a_typed_error_not_a_raw_one(tmp_path: Path, data: str) -> None:
    db = tmp_path / "corrupt.db"
    async with open_sqlite_store(db) as store:
        await store(save(0, fx.user("a"), fx.user("b")))
    conn = sqlite3.connect(db)
    try:
        conn.execute("UPDATE records SET data = ? WHERE seq = 2", (data,))
        conn.commit()
    finally:
        conn.close()
    async with open_sqlite_store(db) as store:
        with pytest.raises((fx.sessions.SessionError, fx.DecodeError)):
            await store.load("s")


# -- what orjson cannot read exactly is still read exactly --------------------------------------


async def test_documents_orjson_would_misread_load_exactly(tmp_path: Path) -> None:
    # orjson reads integers beyond 64 bits as floats and refuses lone surrogates; the store
    # marks such rows when it writes them and parses them with json.
    odd = fx.user("lone \ud800 surrogate")
    meta = fx.sessions.Compaction(
        first_seq=1, last_seq=1, message=fx.user("[sum]"), strategy="x", tokens_before=2**64 + 1
    )
    async with open_sqlite_store(tmp_path / "exact.db") as store:
        await store(save(0, fx.user("plain"), odd, meta))
        log = await store.load("s")
        assert log.records == (fx.user("plain"), odd, meta)
    conn = sqlite3.connect(tmp_path / "exact.db")
    try:
        rows = dict(conn.execute("SELECT seq, data FROM records").fetchall())
    finally:
        conn.close()
    assert rows[2].startswith("\n{") and rows[3].startswith("\n{")  # the rows orjson misreads are marked
    assert not rows[1].startswith("\n")


async def test_a_row_holding_an_integer_beyond_64_bits_is_read_exactly(tmp_path: Path) -> None:
    db = tmp_path / "huge.db"
    async with open_sqlite_store(db) as store:
        await store(save(0, fx.user("a")))
    conn = sqlite3.connect(db)
    try:  # a compaction whose token estimate does not fit in 64 bits, written as json would
        data = (
            '{"type":"session.compaction","first_seq":1,"last_seq":1,"message":{"type":"message.user",'
            '"content":"[s]","name":null},"strategy":"x","tokens_before":18446744073709551617,"tokens_after":0}'
        )
        conn.execute("INSERT INTO records VALUES ('s', 2, 'compaction', ?, 0)", ("\n" + data,))
        conn.execute("UPDATE sessions SET last_seq = 2")
        conn.commit()
    finally:
        conn.close()
    async with open_sqlite_store(db) as store:
        record = (await store.load("s")).records[1]
    assert isinstance(record, fx.sessions.Compaction)
    assert record.tokens_before == 2**64 + 1
    assert type(record.tokens_before) is int


# -- cancellation interrupts SQLite instead of waiting for it ------------------------------------


def slow_statements(conn: sqlite3.Connection, entered: list[bool], budget: float = 20.0) -> None:
    """Make every statement crawl (a sleep every 100 SQLite VM steps) for ``budget`` seconds.

    A statement running under it is still running when the test cancels its caller; without
    an interrupt it would finish (slowly) and commit.
    """
    import time

    deadline = time.monotonic() + budget

    def crawl() -> int:
        entered.append(True)
        if time.monotonic() < deadline:
            time.sleep(0.001)
        return 0

    conn.set_progress_handler(crawl, 100)


async def cancel_once_entered(entered: list[bool], call: Callable[[], Any]) -> bool:
    """Run ``call``, cancelling it as soon as the slow statement has begun; True if it was cancelled."""
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as scope:

            async def canceller() -> None:
                while not entered:  # noqa: ASYNC110 (set by SQLite's progress handler, in the worker thread)
                    await anyio.sleep(0.001)
                scope.cancel()

            tg.start_soon(canceller)
            await call()
    return scope.cancelled_caught


async def test_a_cancelled_big_save_is_interrupted_and_writes_nothing(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "cancel.db") as store:
        await store(save(0, fx.user("first")))
        assert store._conn is not None
        entered: list[bool] = []
        slow_statements(store._conn, entered)
        big = save(1, *(fx.user(f"m{i}") for i in range(5_000)))
        assert await cancel_once_entered(entered, lambda: store(big))
        store._conn.set_progress_handler(None, 0)
        # Interrupted: SQLite rolled the transaction back (without the interrupt the save
        # would have finished in its thread and committed all 5,000 rows).
        log = await store.load("s")
        assert log.records == (fx.user("first"),)
        # The store goes on working: the interrupt did not leak into the next statement.
        assert (await store(save(1, fx.user("second")))).last_seq == 2


async def test_a_cancelled_load_is_interrupted_and_the_store_goes_on(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "cancel.db") as store:
        await store(save(0, *(fx.user(f"m{i}") for i in range(3_000))))
        assert store._conn is not None
        entered: list[bool] = []
        slow_statements(store._conn, entered)
        assert await cancel_once_entered(entered, lambda: store.load("s"))
        store._conn.set_progress_handler(None, 0)
        assert (await store.load("s")).last_seq == 3_000


async def test_a_call_cancelled_before_it_starts_does_nothing(tmp_path: Path) -> None:
    async with open_sqlite_store(tmp_path / "cancel.db") as store:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await store(save(0, fx.user("never")))
        assert scope.cancelled_caught
        assert (await store.load("s")).records == ()
        assert (await store(save(0, fx.user("now")))).last_seq == 1


def stop_once(store: Any, when: Callable[[], bool]) -> None:
    """Set the store's stop flag from inside a statement once ``when()`` holds, without calling
    ``interrupt()``: a cancellation whose interrupt SQLite did not see (it fell between two
    statements, and SQLite forgets an interrupt when the next statement starts)."""

    def check() -> int:
        if when():
            store._stop.set()
        return 0

    store._conn.set_progress_handler(check, 1)


async def test_a_save_stopped_between_two_rows_writes_nothing(tmp_path: Path) -> None:
    from interpreters.stores._sqlite import _Stopped

    async with open_sqlite_store(tmp_path / "stop.db") as store:
        await store(save(0, fx.user("first")))
        assert store._conn is not None
        conn = store._conn
        stop_once(store, lambda: conn.in_transaction)  # as soon as the save's transaction runs
        with pytest.raises(_Stopped):  # (a real cancellation would be raised instead)
            await store(save(1, *(fx.user(f"m{i}") for i in range(100))))
        conn.set_progress_handler(None, 0)
        assert (await store.load("s")).records == (fx.user("first"),)
        assert (await store(save(1, fx.user("second")))).last_seq == 2


async def test_a_fork_stopped_during_its_one_statement_is_rolled_back(tmp_path: Path) -> None:
    from interpreters.stores._sqlite import _Stopped

    async with open_sqlite_store(tmp_path / "stop.db") as store:
        await store(save(0, *(fx.user(f"m{i}") for i in range(50))))
        assert store._conn is not None
        conn = store._conn
        stop_once(store, lambda: conn.in_transaction)
        with pytest.raises(_Stopped):
            await store.fork_session("s", "t")
        conn.set_progress_handler(None, 0)
        assert [info.session_id for info in await store.list_sessions()] == ["s"]
        assert (await store.load("t")).records == ()

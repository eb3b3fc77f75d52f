"""The Postgres session store (`open_postgres_store`) against a real server (tests/support/postgres.py).

Covers: the session-store contract of ``test_sessions.py`` (the same tests, collected here with a
Postgres ``store``), then what is particular to Postgres: reopening, migrations (once, in order,
refusing a newer schema, several processes at once), a closed store, an unreachable server, codecs,
documents orjson would misread, a corrupt row, several processes appending to one session (nothing
lost or duplicated, conflicts seen), cancellation of a blocked save, and ``import interpreters``
without psycopg. Trio and asyncio.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import psycopg
import pytest

import tower_llm_fx as fx
import tower_llm_fx.serde
import tower_llm_fx.sessions
from interpreters import agent_interpreter, run_session, sequence
from interpreters.stores import PostgresStore, SessionStore, open_postgres_store
from interpreters.stores._postgres import MIGRATIONS, migrate

from .test_sessions import (
    save,
    test_a_fork_after_the_tool_results_is_allowed,
    test_a_fork_can_start_empty_or_from_another_fork,
    test_a_fork_is_a_copy_in_both_directions,
    test_a_save_to_an_unknown_session_must_start_at_zero,
    test_a_stale_save_is_a_conflict_and_writes_nothing,
    test_list_delete_and_fork,
    test_records_round_trip_exactly,
    test_session_info_tracks_the_last_record_and_the_times,
    test_stores_perform_only_session_effects,
    test_unknown_sessions_load_empty_and_saves_append,
)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]

CONTRACT = (  # collected again here, with the Postgres `store` below
    test_a_fork_after_the_tool_results_is_allowed,
    test_a_fork_can_start_empty_or_from_another_fork,
    test_a_fork_is_a_copy_in_both_directions,
    test_a_save_to_an_unknown_session_must_start_at_zero,
    test_a_stale_save_is_a_conflict_and_writes_nothing,
    test_list_delete_and_fork,
    test_records_round_trip_exactly,
    test_session_info_tracks_the_last_record_and_the_times,
    test_stores_perform_only_session_effects,
    test_unknown_sessions_load_empty_and_saves_append,
)


@pytest.fixture
async def store(postgres_dsn: str) -> AsyncIterator[SessionStore]:
    """A Postgres store on a new, empty database."""
    async with open_postgres_store(postgres_dsn) as s:
        yield s


async def test_the_contract_tests_ran_on_postgres(store: SessionStore) -> None:
    assert isinstance(store, PostgresStore)
    assert repr(store).startswith("open_postgres_store('postgresql://postgres@127.0.0.1:")
    assert len(CONTRACT) == 10


async def test_reopening_finds_everything_and_a_session_runs_on_it(postgres_dsn: str) -> None:
    agent = fx.Agent(model="m")
    async with open_postgres_store(postgres_dsn) as store:
        interp = agent_interpreter(agent, model=sequence(["one", "two"]))
        await run_session(agent, interp, "hi", session_id="chat", store=store)
    async with open_postgres_store(postgres_dsn) as store:
        interp = agent_interpreter(agent, model=sequence(["two"]))
        final = await run_session(agent, interp, "again", session_id="chat", store=store)
        assert final.output == "two"
        view = (await store.load("chat")).view()
    assert view == (fx.user("hi"), fx.assistant("one"), fx.user("again"), fx.assistant("two"))


def test_migrations_apply_once_in_order_and_refuse_newer_databases(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        assert migrate(conn) == 1
        assert migrate(conn) == 1  # nothing to do the second time
        extra = (*MIGRATIONS, (2, ("CREATE TABLE tower_llm_fx_extra (x INTEGER)",)))
        assert migrate(conn, extra) == 2
        assert migrate(conn, extra) == 2
        versions = [r[0] for r in conn.execute("SELECT version FROM tower_llm_fx_schema_version ORDER BY 1")]
        assert versions == [1, 2]
        with pytest.raises(fx.sessions.SessionError, match=r"schema version 2.*upgrade tower_llm_fx"):
            migrate(conn)


async def test_opening_a_newer_database_is_an_error(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        migrate(conn, (*MIGRATIONS, (9, ())))
    with pytest.raises(fx.sessions.SessionError, match="schema version 9"):
        async with open_postgres_store(postgres_dsn):
            pass


@pytest.mark.parametrize("anyio_backend", ["trio"])  # the processes are the point, not the event loop
async def test_several_processes_opening_a_new_database_migrate_it_once(postgres_dsn: str) -> None:
    code = (
        "import sys, trio; from interpreters.stores import open_postgres_store\n"
        "async def main():\n"
        "    async with open_postgres_store(sys.argv[1]) as s: await s.list_sessions()\n"
        "trio.run(main)"
    )

    async def opener() -> None:
        done = await anyio.run_process([sys.executable, "-c", code, postgres_dsn], cwd=ROOT, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(opener)
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tower_llm_fx_schema_version").fetchone() == (1,)


async def test_a_closed_store_says_so(postgres_dsn: str) -> None:
    async with open_postgres_store(postgres_dsn) as store:
        pass
    with pytest.raises(fx.sessions.SessionError, match="is closed; use it inside its `async with` block"):
        await store.load("s")


async def test_an_unreachable_server_is_a_session_error_naming_it_without_the_password() -> None:
    dsn = "postgresql://ann:hunter2@127.0.0.1:1/nowhere"
    with pytest.raises(
        fx.sessions.SessionError, match=r"cannot connect to Postgres at postgresql://ann@127.0.0.1:1/nowhere"
    ) as info:
        async with open_postgres_store(dsn, connect_timeout=2):
            pass
    assert "hunter2" not in str(info.value)


async def test_a_store_given_a_codec_uses_it(postgres_dsn: str) -> None:
    from ._trace_data import CODEC

    plain = fx.user("plain")
    async with open_postgres_store(postgres_dsn, codec=CODEC) as store:
        assert store.codec is CODEC
        await store(save(0, plain))
        assert (await store.load("s")).records == (plain,)


async def test_documents_orjson_would_misread_load_exactly(postgres_dsn: str) -> None:
    big = fx.sessions.Compaction(  # a token count beyond 64 bits
        first_seq=1, last_seq=1, message=fx.user("[sum]"), strategy="x", tokens_before=2**64 + 1
    )
    texts = (fx.user("\ud83d lone"), fx.user("nul \x00 and \u2028"), big)
    async with open_postgres_store(postgres_dsn) as store:
        await store(save(0, *texts))
        assert (await store.load("s")).records == texts


async def test_a_corrupt_row_is_a_typed_error_not_a_raw_one(postgres_dsn: str) -> None:
    async with open_postgres_store(postgres_dsn) as store:
        await store(save(0, fx.user("a"), fx.user("b")))
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE tower_llm_fx_records SET data = '{not json' WHERE seq = 2")
    async with open_postgres_store(postgres_dsn) as store:
        with pytest.raises(
            fx.sessions.SessionError, match=r"'s' is not valid JSON.*restore it from a backup"
        ):
            await store.load("s")
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM tower_llm_fx_records WHERE seq = 1")
    async with open_postgres_store(postgres_dsn) as store:
        with pytest.raises(fx.sessions.SessionError, match="missing record 1"):
            await store.load("s")


async def test_concurrent_saves_in_one_process_exactly_one_wins(postgres_dsn: str) -> None:
    async with open_postgres_store(postgres_dsn) as a, open_postgres_store(postgres_dsn) as b:
        await a(save(0, fx.user("first")))
        outcomes: list[str] = []

        async def attempt(store: SessionStore, text: str) -> None:
            try:
                await store(save(1, fx.user(text)))
                outcomes.append(text)
            except fx.sessions.SessionConflict:
                outcomes.append("conflict")

        async with anyio.create_task_group() as tg:
            tg.start_soon(attempt, a, "from a")
            tg.start_soon(attempt, b, "from b")
        assert sorted(outcomes)[0] == "conflict" and len(outcomes) == 2
        winner = next(o for o in outcomes if o != "conflict")
        assert (await a.load("s")).records == (fx.user("first"), fx.user(winner))


@pytest.mark.parametrize("anyio_backend", ["trio"])  # the processes are the point, not the event loop
async def test_processes_appending_to_one_session_lose_and_duplicate_nothing(postgres_dsn: str) -> None:
    counts: list[int] = []

    async def worker(name: str) -> None:
        done = await anyio.run_process(
            [
                sys.executable,
                "-m",
                "tests.interpreters.stores._postgres_worker",
                postgres_dsn,
                "shared",
                "40",
                name,
            ],
            cwd=ROOT,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        counts.append(int(done.stdout))

    async with anyio.create_task_group() as tg:
        for w in range(4):
            tg.start_soon(worker, f"w{w}")
    async with open_postgres_store(postgres_dsn) as store:
        contents = [str(m.content) for m in (await store.load("shared")).view()]
        (info,) = await store.list_sessions()
    assert len(contents) == 160 and info.last_seq == 160
    assert sorted(contents) == sorted(f"w{w}:{i}" for w in range(4) for i in range(40))
    for w in range(4):  # each writer's records are in its own order
        assert [c for c in contents if c.startswith(f"w{w}:")] == [f"w{w}:{i}" for i in range(40)]
    assert len(counts) == 4


async def test_a_cancelled_save_blocked_on_a_lock_is_cancelled_on_the_server(postgres_dsn: str) -> None:
    async with open_postgres_store(postgres_dsn) as store:
        await store(save(0, fx.user("first")))
        with psycopg.connect(postgres_dsn) as other:  # holds the session's row lock until rollback
            other.execute("SELECT * FROM tower_llm_fx_sessions WHERE session_id = 's' FOR UPDATE")
            with anyio.move_on_after(0.5) as scope:
                await store(save(1, fx.user("blocked")))
            # Without the server-side cancel the save would wait for `other` forever, and so would we.
            assert scope.cancelled_caught
            other.rollback()
        assert (await store.load("s")).records == (fx.user("first"),)
        assert (await store(save(1, fx.user("second")))).last_seq == 2


def test_interpreters_imports_without_psycopg_and_the_store_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import interpreters, interpreters.stores, trio\n"
        "async def main():\n"
        "    async with interpreters.stores.open_postgres_store('postgresql://x'): pass\n"
        "try:\n"
        "    trio.run(main)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "pip install 'tower-llm-fx[postgres]'" in done.stdout

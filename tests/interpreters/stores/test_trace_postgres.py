"""The Postgres trace store (`PostgresTraceStore`) against a real server (tests/support/postgres.py).

Covers: the trace-store contract of ``test_traces.py`` (the same tests, collected here with a
Postgres ``store``), then what is particular to Postgres: instances sharing one database, codecs,
delta bases per trace, a newer schema refused, a corrupted row reported with its place, an
unreachable server, and several processes writing at once. Trio and asyncio.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import psycopg
import pytest

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters.stores import PostgresTraceStore, TraceStore, save_trace

from ._trace_data import CODEC, EXCHANGES, META, OWN, StoreTestTicket
from .test_traces import (
    test_a_trace_is_never_overwritten,
    test_appends_must_follow_a_begin_and_come_in_order,
    test_begin_append_load,
    test_every_store_hands_back_scrubbed_traces,
    test_list_and_delete,
    test_missing_traces_are_not_found,
    test_unsafe_ids_touch_nothing,
)

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]

CONTRACT = (  # collected again here, with the Postgres `store` below
    test_a_trace_is_never_overwritten,
    test_appends_must_follow_a_begin_and_come_in_order,
    test_begin_append_load,
    test_every_store_hands_back_scrubbed_traces,
    test_list_and_delete,
    test_missing_traces_are_not_found,
    test_unsafe_ids_touch_nothing,
)


@pytest.fixture
async def store(postgres_dsn: str) -> AsyncIterator[TraceStore]:
    """A Postgres trace store on a new, empty database."""
    async with PostgresTraceStore(postgres_dsn) as s:
        yield s


async def test_instances_share_one_database(postgres_dsn: str) -> None:
    async with PostgresTraceStore(postgres_dsn) as a, PostgresTraceStore(postgres_dsn) as b:
        await save_trace(a, "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
        assert await b.list() == ("t",)
        assert (await b.load("t")).exchanges == EXCHANGES
        with pytest.raises(fx.trace.TraceExists, match="never overwritten"):
            await b.begin("t", META)
        # b has no delta base for "t": it appends the next model call in full, and it loads
        await b.append("t", len(EXCHANGES), EXCHANGES[0])
        assert (await a.load("t")).exchanges == (*EXCHANGES, EXCHANGES[0])


async def test_a_store_given_a_codec_keeps_values_of_our_own_types(postgres_dsn: str) -> None:
    async with PostgresTraceStore(postgres_dsn, codec=CODEC) as store:
        secret = fx.trace.Exchange(effect=OWN.effect, result=StoreTestTicket(id=7, note="ok"))
        trace = fx.trace.Trace(meta=META, exchanges=(*EXCHANGES, OWN, secret))
        await save_trace(store, "own", trace)
        assert (await store.load("own")).exchanges == trace.exchanges
    async with PostgresTraceStore(postgres_dsn) as plain:
        with pytest.raises(fx.trace.TraceDecodeError, match=re.escape("unknown type 'test.fetch_ticket'")):
            await plain.load("own")
        await plain.begin("x", META)
        with pytest.raises(TypeError, match="'FetchTicket' is not in this codec"):
            await plain.append("x", 0, OWN)


async def test_a_newer_schema_is_refused(postgres_dsn: str) -> None:
    async with PostgresTraceStore(postgres_dsn) as store:
        assert await store.list() == ()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE tower_llm_fx_trace_schema SET version = 7")
    with pytest.raises(fx.trace.TraceStoreError, match=r"schema version 7.*Upgrade tower_llm_fx"):
        async with PostgresTraceStore(postgres_dsn) as store:
            await store.list()


async def test_a_corrupted_row_is_reported_with_its_place(postgres_dsn: str) -> None:
    async with PostgresTraceStore(postgres_dsn) as store:
        await save_trace(store, "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE tower_llm_fx_trace_exchanges SET line = '{oops\n' WHERE idx = 1")
    async with PostgresTraceStore(postgres_dsn) as store:
        with pytest.raises(fx.trace.TraceDecodeError, match=r"#t \(line 1 is the header") as info:
            await store.load("t")
    assert info.value.line == 3


async def test_an_unreachable_server_is_a_trace_store_error_without_the_password() -> None:
    async with PostgresTraceStore("postgresql://ann:hunter2@127.0.0.1:1/db", connect_timeout=2) as store:
        with pytest.raises(fx.trace.TraceStoreError, match=r"127.0.0.1:1/db.*server is up") as info:
            await store.list()
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(store)


@pytest.mark.parametrize("anyio_backend", ["trio"])  # the processes are the point, not the event loop
async def test_several_processes_write_one_database(postgres_dsn: str) -> None:
    code = (
        "import sys, trio\n"
        "from interpreters.stores import PostgresTraceStore, save_trace\n"
        "from tests.interpreters.stores._trace_data import EXCHANGES, META\n"
        "import tower_llm_fx as fx\n"
        "async def main():\n"
        "    async with PostgresTraceStore(sys.argv[1]) as s:\n"
        "        for i in range(5):\n"
        "            await save_trace(s, f'{sys.argv[2]}-{i}', fx.trace.Trace(meta=META, exchanges=EXCHANGES))\n"
        "trio.run(main)"
    )

    async def writer(name: str) -> None:
        done = await anyio.run_process(
            [sys.executable, "-c", code, postgres_dsn, name], cwd=ROOT, check=False
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    async with anyio.create_task_group() as tg:
        for w in range(3):
            tg.start_soon(writer, f"w{w}")
    async with PostgresTraceStore(postgres_dsn) as store:
        ids = await store.list()
        assert ids == tuple(sorted(f"w{w}-{i}" for w in range(3) for i in range(5)))
        for trace_id in ids:
            assert (await store.load(trace_id)).exchanges == EXCHANGES


def test_the_contract_is_collected_here() -> None:
    assert len(CONTRACT) == 7

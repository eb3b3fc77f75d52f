"""Programs as DBOS durable workflows (``interpreters/_dbos.py``), on real DBOS and a real Postgres.

Covers: `dbos_run` in this process on DBOS's embedded SQLite (each effect a step, idempotency
keys passed to tools, a parallel batch with a key per call, a finished run not performed
again); a run enqueued on a Postgres queue whose worker process is killed with SIGKILL
mid-run and which another worker process finishes, with no completed effect performed again
and no charge booked twice; two workers sharing a queue never performing the same step; a
clear error under trio; ``import interpreters`` without dbos.

DBOS is asyncio-based: the tests that run DBOS in this process run on asyncio only. The
multi-process tests drive worker processes (which run DBOS on asyncio) from a trio test,
through ``DBOSClient`` in a thread, which is the point: the caller need not be on asyncio.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import orjson
import pytest
from dbos import DBOS, DBOSClient, EnqueueOptions

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters import agent_interpreter, dbos_program, dbos_run, function, run
from interpreters._dbos import STEP, WORKFLOW, _lookup
from interpreters.layers import with_store
from interpreters.stores import open_postgres_store
from tests.support.postgres import fresh_database, server_dsn
from tower_llm_fx.durable import ToolContext
from tower_llm_fx.serde import DEFAULT

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "tower-llm-fx-test-runs"
APP = "tower-llm-fx-test"
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])  # DBOS runs on asyncio
one_backend = pytest.mark.parametrize("anyio_backend", ["trio"])  # the processes are the point


# -- in this process, on DBOS's embedded SQLite -------------------------------------------------

PERFORMED: list[tuple[int, str | None]] = []


@fx.tool
async def charge(step: int, ctx: ToolContext) -> str:
    """Charge one step."""
    PERFORMED.append((step, ctx.idempotency_key))
    return f"charged {step}"


def scripted(n: int, *, parallel: bool = False) -> Any:
    def model(call: fx.ModelCall) -> fx.AssistantMessage | str:
        done = sum(isinstance(m, fx.ToolMessage) for m in call.messages)
        if done >= n:
            return "finished"
        if parallel:
            return fx.assistant(
                None,
                *(
                    fx.ToolCallRequest(id=f"p{i}", name="charge", arguments=f'{{"step": {i}}}')
                    for i in range(n)
                ),
            )
        step = done + 1
        return fx.assistant(
            None, fx.ToolCallRequest(id=f"c{step}", name="charge", arguments=f'{{"step": {step}}}')
        )

    return function(model)


@pytest.fixture
def local_dbos(tmp_path: Path) -> Iterator[None]:
    """DBOS launched in this process on an embedded SQLite system database in tmp_path."""
    PERFORMED.clear()
    agent = fx.Agent(model="m", tools=(charge,), policy=fx.max_steps(20))
    dbos_program(agent, agent_interpreter(agent, model=scripted(3)), name="local")
    DBOS(
        config={
            "name": "tower-llm-fx-local",
            "system_database_url": f"sqlite:///{tmp_path / 'dbos.sqlite'}",
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    try:
        yield
    finally:
        DBOS.destroy(destroy_registry=False)


@asyncio_only
async def test_dbos_run_performs_each_effect_once_as_a_step_with_idempotency_keys(local_dbos: None) -> None:
    agent = fx.Agent(model="m", tools=(charge,), policy=fx.max_steps(20))
    interp = agent_interpreter(agent, model=scripted(3))
    final = await dbos_run(agent, interp, "go", workflow_id="order-1", name="local")
    plain = await run(agent, agent_interpreter(agent, model=scripted(3)), "go")
    assert final == plain  # the same final state as a plain run
    # effects: model call 0, tool 1, model 2, tool 3, model 4, tool 5, model 6
    assert PERFORMED[:3] == [(1, "order-1/1/c1"), (2, "order-1/3/c2"), (3, "order-1/5/c3")]
    assert PERFORMED[3:] == [(1, None), (2, None), (3, None)]  # the plain run: no durable keys
    steps = await DBOS.list_workflow_steps_async("order-1")
    assert [s["function_name"] for s in steps] == [STEP] * 7
    assert [s["function_id"] for s in steps] == sorted({s["function_id"] for s in steps})
    # Running the same workflow id again returns its result and performs nothing.
    again = await dbos_run(agent, interp, "go", workflow_id="order-1", name="local")
    assert again == final and len(PERFORMED) == 6
    status = await DBOS.get_workflow_status_async("order-1")
    assert status is not None and status.name == WORKFLOW and status.status == "SUCCESS"


@asyncio_only
async def test_a_parallel_batch_is_one_step_with_a_key_per_call(local_dbos: None) -> None:
    agent = fx.Agent(model="m", tools=(charge,), policy=fx.max_steps(20), parallel_tools=True)
    program = dbos_program(agent, agent_interpreter(agent, model=scripted(3, parallel=True)), name="batch")
    final = await program.run("go", workflow_id="batch-1")
    assert final.output == "finished"
    assert sorted(PERFORMED) == [(0, "batch-1/1/p0"), (1, "batch-1/1/p1"), (2, "batch-1/1/p2")]
    assert len(await DBOS.list_workflow_steps_async("batch-1")) == 3  # model, batch, model
    assert await program.result("batch-1") == final


@pytest.mark.parametrize("anyio_backend", ["trio"])  # the asyncio case is the tests above
async def test_dbos_run_under_trio_says_it_needs_asyncio() -> None:
    agent = fx.Agent(model="m")
    interp = agent_interpreter(agent, model=scripted(0))
    with pytest.raises(
        RuntimeError, match=r"needs asyncio \(DBOS is asyncio-based\).*works under trio as before"
    ):
        await dbos_run(agent, interp, "go", workflow_id="w")


def test_a_worker_without_the_program_says_how_to_register_it() -> None:
    with pytest.raises(
        LookupError, match=r"no program named 'ghost'.*dbos_program\(program, interpreter, name='ghost'\)"
    ):
        _lookup("ghost")


def test_interpreters_imports_without_dbos_and_dbos_program_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['dbos'] = None\n"
        "import interpreters, tower_llm_fx as fx\n"
        "agent = fx.Agent(model='m')\n"
        "try:\n"
        "    interpreters.dbos_program(agent, interpreters.agent_interpreter(agent, model=interpreters.fixed('x')))\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "pip install 'tower-llm-fx[dbos]'" in done.stdout


# -- worker processes on a Postgres queue ---------------------------------------------------------


@pytest.fixture
def system_db() -> Iterator[str]:
    """A new Postgres database for DBOS's system tables (dropped afterwards)."""
    with fresh_database(server_dsn()) as dsn:
        yield dsn


class Workers:
    def __init__(self, dsn: str, tmp: Path, tg: anyio.abc.TaskGroup) -> None:
        self.dsn, self.marks, self.ledger, self.tg = dsn, tmp / "marks", tmp / "ledger", tg
        self.ledger.mkdir()
        self.marks.touch()
        self.processes: dict[str, anyio.abc.Process] = {}

    async def start(self, executor: str, *, block_at: int | None = None, recover: str | None = None) -> None:
        args = [
            self.dsn,
            executor,
            str(self.marks),
            str(self.ledger),
            "-" if block_at is None else str(block_at),
        ]
        process = await anyio.open_process(
            [sys.executable, "-m", "tests.interpreters._dbos_worker", *args, *([recover] if recover else [])],
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        self.processes[executor] = process
        assert process.stdout is not None
        with anyio.fail_after(60):
            line = await process.stdout.receive()
        assert b"ready" in line, line

    def kill(self, executor: str) -> None:
        self.processes[executor].send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.kill()
            await process.wait()

    def performed(self) -> list[tuple[str, str, int, str]]:
        rows = [line.split() for line in self.marks.read_text().splitlines()]
        return [(e, r, int(s), k) for e, r, s, k in rows]

    async def wait_for_mark(self, executor: str, run_id: str, step: int) -> None:
        with anyio.fail_after(60):
            while (executor, run_id, step) not in {(e, r, s) for e, r, s, _ in self.performed()}:  # noqa: ASYNC110
                await anyio.sleep(0.05)


@pytest.fixture
async def workers(system_db: str, tmp_path: Path) -> AsyncIterator[Workers]:
    async with anyio.create_task_group() as tg:
        ws = Workers(system_db, tmp_path, tg)
        try:
            yield ws
        finally:
            await ws.stop()


def client_for(dsn: str) -> DBOSClient:
    return DBOSClient(system_database_url=dsn, application_name=APP)


async def enqueue(client: DBOSClient, run_id: str, steps: int) -> None:
    text = orjson.dumps(DEFAULT.encode(f"steps={steps}")).decode()
    options: EnqueueOptions = {"workflow_name": WORKFLOW, "queue_name": QUEUE, "workflow_id": run_id}
    await anyio.to_thread.run_sync(lambda: client.enqueue(options, "charger", text))


async def result(client: DBOSClient, run_id: str) -> fx.RunState:
    text: str = await anyio.to_thread.run_sync(
        lambda: client.retrieve_workflow(run_id).get_result(polling_interval_sec=0.05)
    )
    state = DEFAULT.decode(orjson.loads(text))
    assert isinstance(state, fx.RunState)
    return state


@one_backend
async def test_a_run_survives_kill_9_of_its_worker_and_another_worker_finishes_it(
    workers: Workers, system_db: str
) -> None:
    await workers.start("worker-a", block_at=3)
    client = client_for(system_db)
    try:
        await enqueue(client, "order-7", 5)
        await workers.wait_for_mark("worker-a", "order-7", 3)  # A is inside the tool call of step 3
        workers.kill("worker-a")
        await workers.processes["worker-a"].wait()
        await workers.start("worker-b", recover="worker-a")  # a live worker takes over A's runs
        with anyio.fail_after(60):
            final = await result(client, "order-7")
        steps = await anyio.to_thread.run_sync(lambda: client.list_workflow_steps("order-7"))
    finally:
        await anyio.to_thread.run_sync(client.destroy)
    assert final.output == "finished"
    performed = workers.performed()
    by_step = {s: [(e, k) for e, r, s2, k in performed if s2 == s] for s in range(1, 6)}
    assert by_step[1] == [("worker-a", "order-7/1/c1")]  # completed before the kill: never again
    assert by_step[2] == [("worker-a", "order-7/3/c2")]
    # in flight at the kill: performed again by B, with the same idempotency key
    assert by_step[3] == [("worker-a", "order-7/5/c3"), ("worker-b", "order-7/5/c3")]
    assert by_step[4] == [("worker-b", "order-7/7/c4")] and by_step[5] == [("worker-b", "order-7/9/c5")]
    # the idempotent backend booked each charge exactly once
    assert sorted(os.listdir(workers.ledger)) == [f"order-7_{2 * i - 1}_c{i}" for i in range(1, 6)]
    results = [m.content for m in final.messages if isinstance(m, fx.ToolMessage)]
    assert results == [f"charged {i}" for i in range(1, 6)]
    ids = [s["function_id"] for s in steps]
    assert len(ids) == len(set(ids)) == 11  # 6 model calls + 5 tool calls, each checkpointed once


@one_backend
async def test_two_workers_sharing_a_queue_never_perform_the_same_step(
    workers: Workers, system_db: str
) -> None:
    await workers.start("worker-a")
    await workers.start("worker-b")
    client = client_for(system_db)
    runs = [f"run-{i}" for i in range(12)]
    try:
        for run_id in runs:
            await enqueue(client, run_id, 3)
        with anyio.fail_after(120):
            finals = [await result(client, run_id) for run_id in runs]
    finally:
        await anyio.to_thread.run_sync(client.destroy)
    assert all(f.output == "finished" for f in finals)
    performed = workers.performed()
    counts = Counter((r, s) for _, r, s, _ in performed)
    assert counts == Counter({(r, s): 1 for r in runs for s in (1, 2, 3)})
    assert len(os.listdir(workers.ledger)) == 36
    # each run is performed by one worker from start to end
    owners = {r: {e for e, r2, _, _ in performed if r2 == r} for r in runs}
    assert all(len(o) == 1 for o in owners.values())


# -- sessions on Postgres, through DBOS steps ---------------------------------------------------


async def test_a_save_performed_again_after_a_crash_counts_as_done(system_db: str) -> None:
    # A recovered workflow performs again the step that was in flight: for a SaveSession the
    # store may have committed it already. DbosProgram.perform finds its own records there.
    agent = fx.Agent(model="m")
    async with open_postgres_store(system_db) as store:
        program = dbos_program(
            agent, with_store(store)(agent_interpreter(agent, model=scripted(0))), name="saver"
        )
        save = fx.sessions.SaveSession(
            session_id="s", after_seq=0, records=(fx.user("hi"), fx.assistant("yo"))
        )
        first = await program.perform("r", 3, save)
        assert await program.perform("r", 3, save) == first == fx.sessions.Saved(session_id="s", last_seq=2)
        other = fx.sessions.SaveSession(session_id="s", after_seq=0, records=(fx.user("someone else"),))
        with pytest.raises(fx.sessions.SessionConflict):  # a real conflict is still one
            await program.perform("r2", 3, other)
        assert (await store.load("s")).records == save.records


@asyncio_only
async def test_a_session_program_runs_on_dbos_with_a_postgres_store(local_dbos: None, system_db: str) -> None:
    agent = fx.Agent(model="m", tools=(charge,), policy=fx.max_steps(20))
    async with open_postgres_store(system_db) as store:
        interp = with_store(store)(agent_interpreter(agent, model=scripted(1)))
        program = fx.sessions.with_session(agent, "chat-1")
        final = await dbos_run(program, interp, "go", workflow_id="chat-1-turn-1", name="chat")
        log = await store.load("chat-1")
    assert final.run.output == "finished"
    assert log.view()[0] == fx.user("go") and log.view()[-1] == fx.assistant("finished")
    assert PERFORMED == [(1, "chat-1-turn-1/2/c1")]

"""Scale-out on DBOS: runs/s through a Postgres queue with 1, 2 and 4 workers, recovery, cost per effect.

Part 1: RUNS scripted-model runs (default 1,000; each a model call, a tool call, a model call:
3 effects, 3 DBOS steps) are enqueued on a DBOS queue in a Postgres system database and
performed by 1, 2 and 4 worker processes (``python bench/scale_out.py --worker ...``). Printed:
runs/s for each, and the ratio to one worker. Every run is a workflow whose steps are
checkpointed in Postgres, so each worker is bound by its own CPU (Python, DBOS, the
driver) and by Postgres's commits, on the same machine.

Part 2: recovery. With 2 workers under the same load, one is killed with SIGKILL once a
third of the runs are done; the survivor is told at once (``dbos_recover``; noticing that
a machine died is the deployment's job: a health check, Kubernetes, DBOS Conductor).
Printed: how many runs the dead worker held, and the time from the kill until every one
of them finished (on the survivor, from its last checkpointed step).

Part 3: cost per effect, in one process on asyncio: DBOS with an embedded SQLite system
database, and with the Postgres one, against our own SQLite journal
(``run(..., journal=open_sqlite_journal(...))``); each minus a plain in-memory run.

Postgres: ``TOWER_LLM_FX_POSTGRES_DSN`` if set, else a throwaway cluster from
``scripts/postgres.sh`` (default durable settings: fsync on).

    uv run python bench/scale_out.py [RUNS]
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tower_llm_fx as fx  # noqa: E402
from interpreters import agent_interpreter, dbos_program, dbos_recover, function, run  # noqa: E402
from interpreters._dbos import WORKFLOW  # noqa: E402
from interpreters.stores import open_sqlite_journal  # noqa: E402
from tower_llm_fx.serde import DEFAULT  # noqa: E402

APP = "tower-llm-fx-bench"
QUEUE = "tower-llm-fx-bench-runs"
NAME = "bench"
CONCURRENCY = 8  # runs in flight per worker


def agent_and_interpreter() -> tuple[fx.Agent, Any]:
    @fx.tool
    def lookup(order: int) -> str:
        """Look an order up."""
        return f"order {order}: shipped"

    agent = fx.Agent(model="m", tools=(lookup,), policy=fx.max_steps(5))

    def model(call: fx.ModelCall) -> fx.AssistantMessage | str:
        if any(isinstance(m, fx.ToolMessage) for m in call.messages):
            return "it has shipped"
        return fx.assistant(None, fx.ToolCallRequest(id="c1", name="lookup", arguments='{"order": 7}'))

    return agent, agent_interpreter(agent, model=function(model))


# -- the worker process ------------------------------------------------------------------------


def take(control: str) -> str:
    """The executor id the bench wrote to ``control`` (removing the file), or ``""``."""
    path = Path(control)
    if not path.exists():
        return ""
    text = path.read_text().strip()
    path.unlink()
    return text


def worker(dsn: str, executor: str, control: str) -> None:
    from dbos import DBOS

    agent, interp = agent_and_interpreter()
    dbos_program(agent, interp, name=NAME)
    DBOS(config={"name": APP, "system_database_url": dsn, "executor_id": executor, "log_level": "WARNING"})
    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=CONCURRENCY, polling_interval_sec=0.02)

    async def serve() -> None:
        print("ready", flush=True)
        while True:  # the bench writes a dead executor's id here; recover its runs
            if dead := take(control):
                await dbos_recover([dead])
            await asyncio.sleep(0.01)

    asyncio.run(serve())


# -- the driver ---------------------------------------------------------------------------------


def start_postgres() -> tuple[str, str | None]:
    dsn = os.environ.get("TOWER_LLM_FX_POSTGRES_DSN")
    if dsn:
        return dsn, None
    out = subprocess.run(
        [str(ROOT / "scripts" / "postgres.sh"), "start"], capture_output=True, text=True, check=True
    )
    dsn, folder = out.stdout.split()[:2]
    return dsn, folder


def fresh_db(dsn: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"postgresql://{params.get('user', 'postgres')}@{params.get('host')}:{params.get('port')}/{name}"


def spawn(db: str, executor: str, control: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, __file__, "--worker", db, executor, control],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert p.stdout is not None
    assert "ready" in p.stdout.readline()
    return p


def enqueue_all(db: str, ids: list[str]) -> None:
    from dbos import DBOSClient

    text = orjson.dumps(DEFAULT.encode("where is my order?")).decode()
    client = DBOSClient(system_database_url=db, application_name=APP)
    try:

        def part(chunk: list[str]) -> None:
            for wid in chunk:
                client.enqueue(
                    {"workflow_name": WORKFLOW, "queue_name": QUEUE, "workflow_id": wid}, NAME, text
                )

        threads = [threading.Thread(target=part, args=(ids[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        client.destroy()


def count(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...] = ()) -> int:
    row = conn.execute(f"SELECT COUNT(*) FROM dbos.workflow_status WHERE {where}", params).fetchone()
    return int(row[0]) if row else 0


def load(dsn: str, runs: int, workers: int, *, kill_after: int | None = None) -> dict[str, float]:
    db = fresh_db(dsn)
    control = tempfile.mkdtemp()
    procs = [spawn(db, f"w{i}", os.path.join(control, f"w{i}")) for i in range(workers)]
    out: dict[str, float] = {}
    try:
        ids = [f"run-{i}" for i in range(runs)]
        with psycopg.connect(db, autocommit=True) as conn:
            start = time.perf_counter()
            enqueued = [0.0]

            def feed() -> None:
                enqueue_all(db, ids)
                enqueued[0] = time.perf_counter()

            feeder = threading.Thread(target=feed)
            feeder.start()
            killed_at: float | None = None
            held: list[str] = []
            while (done := count(conn, "status = 'SUCCESS'")) < runs:
                if kill_after is not None and killed_at is None and done >= kill_after:
                    procs[0].send_signal(signal.SIGKILL)
                    procs[0].wait()
                    killed_at = time.perf_counter()
                    held = [
                        r[0]
                        for r in conn.execute(
                            "SELECT workflow_uuid FROM dbos.workflow_status WHERE executor_id = 'w0' "
                            "AND status = 'PENDING'"
                        )
                    ]
                    Path(control, "w1").write_text("w0")  # tell the survivor
                if held and "recovered" not in out:
                    left = conn.execute(
                        "SELECT COUNT(*) FROM dbos.workflow_status WHERE workflow_uuid = ANY(%s) "
                        "AND status <> 'SUCCESS'",
                        (held,),
                    ).fetchone()
                    if left is not None and left[0] == 0:
                        assert killed_at is not None
                        out["recovered"] = time.perf_counter() - killed_at
                        out["held"] = len(held)
                time.sleep(0.05)
            out["seconds"] = time.perf_counter() - start
            feeder.join()
            out["enqueued"] = enqueued[0] - start
            errors = count(conn, "status <> 'SUCCESS'")
            steps = conn.execute("SELECT COUNT(*) FROM dbos.operation_outputs").fetchone()
            out["errors"] = errors
            out["steps"] = float(steps[0]) if steps else 0.0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    return out


def cost_per_effect(dsn: str, n: int) -> dict[str, float]:
    """Median microseconds per effect added by each durable mechanism (vs a plain run)."""
    from dbos import DBOS

    agent, interp = agent_and_interpreter()
    effects = 3

    async def timed(fn: Any) -> float:
        times = []
        for i in range(n):
            t = time.perf_counter()
            await fn(i)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    async def ours(path: str) -> tuple[float, float]:
        plain = await timed(lambda i: run(agent, interp, "where is my order?"))
        async with open_sqlite_journal(path) as journal:
            journalled = await timed(
                lambda i: run(agent, interp, "where is my order?", journal=journal, run_id=f"r{i}")
            )
        return plain, journalled

    with tempfile.TemporaryDirectory() as tmp:
        plain, journalled = asyncio.run(ours(os.path.join(tmp, "journal.db")))
        out = {"plain run (no durability)": plain / effects * 1e6}
        out["our SQLite journal"] = (journalled - plain) / effects * 1e6
        program = dbos_program(agent, interp, name="cost")
        for label, url in (
            ("DBOS on SQLite", f"sqlite:///{tmp}/dbos.sqlite"),
            ("DBOS on Postgres", fresh_db(dsn)),
        ):
            DBOS(config={"name": "tower-llm-fx-cost", "system_database_url": url, "log_level": "WARNING"})
            DBOS.launch()
            try:
                took = asyncio.run(timed(lambda i: program.run("where is my order?", workflow_id=f"c{i}")))
            finally:
                DBOS.destroy(destroy_registry=False)
            out[label] = (took - plain) / effects * 1e6
    return out


def main(runs: int) -> None:
    dsn, folder = start_postgres()
    try:
        print(
            f"{runs} scripted runs (3 effects each) through a DBOS queue on Postgres; {os.cpu_count()} cores"
        )
        rates: dict[int, float] = {}
        for workers in (1, 2, 4):
            result = load(dsn, runs, workers)
            rates[workers] = runs / result["seconds"]
            print(
                f"  {workers} worker(s): {rates[workers]:7.1f} runs/s  ({result['seconds']:.1f} s, "
                f"{result['steps']:.0f} steps checkpointed, all enqueued after {result['enqueued']:.1f} s, "
                f"{result['errors']:.0f} not finished)"
            )
        print(f"  scaling: 1→2 workers x{rates[2] / rates[1]:.2f}, 1→4 workers x{rates[4] / rates[1]:.2f}")
        result = load(dsn, runs, 2, kill_after=runs // 3)
        print(
            f"recovery: killed 1 of 2 workers (SIGKILL) after {runs // 3} runs; it held "
            f"{result.get('held', 0):.0f} runs in flight; all finished on the survivor "
            f"{result.get('recovered', float('nan')):.2f} s after the kill; total {result['seconds']:.1f} s, "
            f"{result['errors']:.0f} not finished"
        )
        costs = cost_per_effect(dsn, 200)
        print("cost per effect (one process, median of 200 runs, minus a plain run):")
        for label, us in costs.items():
            print(f"  {label:24s} {us:8.0f} µs")
    finally:
        if folder is not None:
            subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "stop", folder], check=False)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)

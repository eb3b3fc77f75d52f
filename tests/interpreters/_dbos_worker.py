"""A DBOS worker process for the scale-out tests: runs scripted agents from a Postgres queue.

    python -m tests.interpreters._dbos_worker DSN EXECUTOR_ID MARKS LEDGER [BLOCK_AT] [RECOVER_ID]

The agent makes N tool calls (N from the run's input, "steps=N"), then answers "finished".
The tool ``charge(step)`` appends ``executor run step key`` to MARKS each time it is
performed (so the test sees every performance), then books the charge in LEDGER, a folder,
under its idempotency key with O_EXCL, as an idempotent payment API would (a second
performance with the same key books nothing). With BLOCK_AT, the call of that step blocks
forever after marking (so the test can SIGKILL the worker there). With RECOVER_ID, the
worker hands the unfinished runs of that (dead) executor back to the queue after launching.
Prints "ready" once it listens to the queue.
"""

from __future__ import annotations

import asyncio
import os
import sys

from dbos import DBOS

import tower_llm_fx as fx
from interpreters import agent_interpreter, dbos_program, dbos_recover, function
from tower_llm_fx.durable import ToolContext

APP = "tower-llm-fx-test"
QUEUE = "tower-llm-fx-test-runs"
NAME = "charger"


def _append(path: str, line: str) -> None:
    """Append ``line`` to ``path`` and sync it (the test reads it after a SIGKILL)."""
    with open(path, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def build(executor: str, marks: str, ledger: str, block_at: int | None) -> None:
    @fx.tool
    async def charge(step: int, ctx: ToolContext) -> str:
        """Charge the customer for one step."""
        run, key = ctx.run_id, ctx.idempotency_key
        _append(marks, f"{executor} {run} {step} {key}\n")
        if step == block_at:
            await asyncio.sleep(3600)
        try:
            fd = os.open(
                os.path.join(ledger, str(key).replace("/", "_")), os.O_CREAT | os.O_EXCL | os.O_WRONLY
            )
            os.close(fd)
        except FileExistsError:
            return f"already charged {step}"
        return f"charged {step}"

    agent = fx.Agent(model="m", tools=(charge,), policy=fx.max_steps(50))

    def model(call: fx.ModelCall) -> fx.AssistantMessage | str:
        n = int(str(call.messages[0].content).split("=")[1])
        done = sum(isinstance(m, fx.ToolMessage) for m in call.messages)
        if done >= n:
            return "finished"
        step = done + 1
        return fx.assistant(
            None, fx.ToolCallRequest(id=f"c{step}", name="charge", arguments=f'{{"step": {step}}}')
        )

    dbos_program(agent, agent_interpreter(agent, model=function(model)), name=NAME)


def main(argv: list[str]) -> None:
    dsn, executor, marks, ledger = argv[:4]
    block_at = int(argv[4]) if len(argv) > 4 and argv[4] != "-" else None
    recover = argv[5] if len(argv) > 5 else None
    build(executor, marks, ledger, block_at)
    DBOS(config={"name": APP, "system_database_url": dsn, "executor_id": executor, "log_level": "WARNING"})
    DBOS.launch()
    DBOS.register_queue(QUEUE, worker_concurrency=4, polling_interval_sec=0.05)
    asyncio.run(serve(recover))


async def serve(recover: str | None) -> None:
    if recover is not None:
        await dbos_recover([recover])
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])

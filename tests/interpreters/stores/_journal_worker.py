"""A separate process making a durable run on a SQLite journal, for the SIGKILL tests.

    python -m tests.interpreters.stores._journal_worker DB RUN_ID MARKS N BLOCK_AT

The agent pays N times, one ``pay`` call per step, then answers. ``pay`` appends its
idempotency key to the MARKS file (its side effect) and then, at step BLOCK_AT, blocks
forever *before returning*: the parent kills the process there, between the side effect and
the journal's write of its outcome.
"""

from __future__ import annotations

import sys

import trio

import tower_llm_fx as fx
from interpreters import agent_interpreter, function, run
from interpreters.stores import open_sqlite_journal
from tower_llm_fx.durable import ToolContext


def agent_and_model(n: int, marks: str, block_at: int) -> tuple[fx.Agent, object]:
    @fx.tool
    async def pay(step: int, ctx: ToolContext) -> str:
        """Pay for a step (not idempotent)."""
        with open(marks, "a") as f:  # noqa: ASYNC230 - a tiny append, flushed before we block
            f.write(f"{ctx.idempotency_key}\n")
        if step == block_at:
            await trio.sleep_forever()
        return f"paid {step}"

    agent = fx.Agent(model="m", tools=(pay,), policy=fx.max_steps(n + 5))

    def model(call: fx.ModelCall) -> fx.AssistantMessage | str:
        done = sum(isinstance(m, fx.ToolMessage) for m in call.messages)
        if done >= n:
            return "finished"
        step = done + 1
        return fx.assistant(
            None, fx.ToolCallRequest(id=f"c{step}", name="pay", arguments=f'{{"step": {step}}}')
        )

    return agent, function(model)


async def main(db: str, run_id: str, marks: str, n: int, block_at: int) -> None:
    agent, model = agent_and_model(n, marks, block_at)
    async with open_sqlite_journal(db) as journal:
        await run(agent, agent_interpreter(agent, model=model), "go", journal=journal, run_id=run_id)  # type: ignore[arg-type]


if __name__ == "__main__":
    db, run_id, marks, n, block_at = sys.argv[1:6]
    trio.run(main, db, run_id, marks, int(n), int(block_at))

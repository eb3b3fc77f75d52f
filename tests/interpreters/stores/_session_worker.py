"""A separate process writing to a SQLite session store, for the multi-process and crash tests.

    python -m tests.interpreters._session_worker steps  DB SESSION N MARKS [BLOCK_AT]
    python -m tests.interpreters._session_worker append DB SESSION N WORKER

``steps`` runs an agent for N tool steps then a final answer; the tool appends the
number of its step to the MARKS file before returning, and blocks forever at step
BLOCK_AT if given (so the parent can kill the process there). ``append`` appends N
records to one session with optimistic concurrency, retrying on conflicts.
"""

from __future__ import annotations

import sys

import trio

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters import agent_interpreter, function, run_session
from interpreters.stores import open_sqlite_store


async def steps(db: str, session: str, n: int, marks: str, block_at: int | None) -> None:
    @fx.tool
    async def mark(step: int) -> int:
        """Record that a step's tool ran."""
        async with await trio.open_file(marks, "a") as f:
            await f.write(f"{step}\n")
            await f.flush()
        if step == block_at:
            await trio.sleep_forever()
        return step

    agent = fx.Agent(model="m", tools=(mark,), policy=fx.max_steps(n + 5))

    def model(call: fx.ModelCall) -> fx.AssistantMessage | str:
        done = sum(isinstance(m, fx.ToolMessage) for m in call.messages)
        if done >= n:
            return "finished"
        step = done + 1
        return fx.assistant(
            None, fx.ToolCallRequest(id=f"c{step}", name="mark", arguments=f'{{"step": {step}}}')
        )

    async with open_sqlite_store(db) as store:
        await run_session(
            agent, agent_interpreter(agent, model=function(model)), "go", session_id=session, store=store
        )


async def append(db: str, session: str, n: int, worker: str) -> None:
    async with open_sqlite_store(db) as store:
        done = 0
        while done < n:
            last = (await store.load(session)).last_seq
            effect = fx.sessions.SaveSession(
                session_id=session, after_seq=last, records=(fx.user(f"{worker}:{done}"),)
            )
            try:
                await store(effect)
            except fx.sessions.SessionConflict:
                continue
            done += 1


def main(argv: list[str]) -> None:
    mode, db, session, n = argv[0], argv[1], argv[2], int(argv[3])
    if mode == "steps":
        block_at = int(argv[5]) if len(argv) > 5 else None
        trio.run(steps, db, session, n, argv[4], block_at)
    else:
        trio.run(append, db, session, n, argv[4])


if __name__ == "__main__":
    main(sys.argv[1:])

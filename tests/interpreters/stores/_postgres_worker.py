"""A separate process appending to a Postgres session store, for the concurrent-writers test.

    python -m tests.interpreters.stores._postgres_worker DSN SESSION N WORKER

Appends N records ``WORKER:i`` to one session with optimistic concurrency,
reloading and retrying on ``SessionConflict``; prints the number of conflicts.
"""

from __future__ import annotations

import sys

import trio

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters.stores import open_postgres_store


async def append(dsn: str, session: str, n: int, worker: str) -> int:
    conflicts = 0
    async with open_postgres_store(dsn) as store:
        done = 0
        while done < n:
            last = (await store.load(session)).last_seq
            effect = fx.sessions.SaveSession(
                session_id=session, after_seq=last, records=(fx.user(f"{worker}:{done}"),)
            )
            try:
                await store(effect)
            except fx.sessions.SessionConflict:
                conflicts += 1
                continue
            done += 1
    return conflicts


if __name__ == "__main__":
    print(trio.run(append, sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))

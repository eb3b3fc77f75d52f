"""Session store speed: save of one step at growing history lengths, and loading.

Targets (SQLite, in a temporary file): save of one step <= 1 ms median, whatever the
history length (shown at 100, 10k and 100k messages); load of a 10,000-message
session <= 20 ms (one SQL query, one orjson parse of the whole log, the codec's
compiled decoders). The in-memory store is shown for comparison. Each save goes
through the store's public interpreter call (thread hop and transaction included).
The load figure is also given as CPU time (the process's, worker thread
included), which other processes on a shared machine disturb less than wall time.

    uv run python bench/sessions.py [SAVES]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters.stores import SessionStore, memory_store, open_sqlite_store

SIZES = (100, 10_000, 100_000)


def history(n: int) -> list[fx.Message]:
    """A realistic mix: user question, tool call, tool result, answer."""
    out: list[fx.Message] = []
    i = 0
    while len(out) < n:
        call = fx.ToolCallRequest(
            id=f"call_{i}", name="search", arguments=f'{{"query": "topic {i}", "limit": 5}}'
        )
        out += [
            fx.user(f"Question {i}: what do we know about topic {i}? " * 2),
            fx.assistant(None, call),
            fx.ToolMessage(tool_call_id=call.id, content=f'{{"results": ["fact {i}a", "fact {i}b"]}}'),
            fx.assistant(f"Here is what I found about topic {i}: fact {i}a and fact {i}b. " * 2),
        ]
        i += 1
    return out[:n]


def one_step(k: int) -> tuple[fx.Message, ...]:
    call = fx.ToolCallRequest(id=f"step_{k}", name="search", arguments='{"query": "more", "limit": 5}')
    return (fx.assistant(None, call), fx.ToolMessage(tool_call_id=call.id, content='{"results": ["x", "y"]}'))


async def fill(store: SessionStore, sid: str, n: int) -> int:
    messages = history(n)
    last = 0
    for start in range(0, n, 5_000):
        saved = await store(
            fx.sessions.SaveSession(
                session_id=sid, after_seq=last, records=tuple(messages[start : start + 5_000])
            )
        )
        last = saved.last_seq
    return last


async def save_median(store: SessionStore, sid: str, last: int, saves: int) -> tuple[float, int]:
    times = []
    for k in range(saves):
        effect = fx.sessions.SaveSession(session_id=sid, after_seq=last, records=one_step(k))
        start = time.perf_counter()
        saved = await store(effect)
        times.append(time.perf_counter() - start)
        last = saved.last_seq
    return statistics.median(times) * 1e3, last


async def load_times(
    store: SessionStore, sid: str, expected: int, repeat: int = 15
) -> tuple[float, float, float]:
    """Median and best wall time, and median CPU time, of loading the whole session (the
    best shows the cost without interference from other processes on a shared machine)."""
    times = []
    cpu = []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        log = await store.load(sid)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert log.last_seq == expected
        del log  # freeing the last load is not part of the next one
    return statistics.median(times) * 1e3, min(times) * 1e3, statistics.median(cpu) * 1e3


async def bench(name: str, store: SessionStore, saves: int) -> None:
    print(f"\n{name}")
    print(
        f"  {'history (messages)':>20} {'save one step, median':>24} {'load whole session, median (best)':>36}"
    )
    for n in SIZES:
        sid = f"s{n}"
        last = await fill(store, sid, n)
        save_ms, last = await save_median(store, sid, last, saves)
        load_ms, best_ms, cpu_ms = await load_times(store, sid, last, repeat=15 if n <= 10_000 else 3)
        print(f"  {n:>20,} {save_ms:>21.3f} ms {load_ms:>24.1f} ms ({best_ms:.1f} ms)  CPU {cpu_ms:.1f} ms")
        if n == 10_000:
            print(
                f"  {'':>20} load of 10k messages: median {load_ms:.1f} ms, best {best_ms:.1f} ms (target <= 20 ms)"
            )


async def main(saves: int) -> None:
    print(f"saves per size: {saves} (each: one assistant tool call + its result)")
    with tempfile.TemporaryDirectory() as tmp:
        async with open_sqlite_store(Path(tmp) / "bench.db") as store:
            await bench(
                "SQLite (WAL, synchronous=NORMAL)  targets: save <= 1 ms flat; load 10k <= 20 ms",
                store,
                saves,
            )
        async with open_sqlite_store(Path(tmp) / "full.db", durability="full") as store:
            sid = "full"
            last = await fill(store, sid, 100)
            save_ms, _ = await save_median(store, sid, last, max(saves // 5, 20))
            print(f"\nSQLite durability='full' (fsync per save): save one step, median {save_ms:.3f} ms")
    await bench("in-memory store", memory_store(), saves)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 300)

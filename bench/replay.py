"""Replay speed and recording overhead.

Prints, for the scripted calculator agent of ``bench/overhead.py`` (one run =
model call -> tool ``add`` -> answer, 3 exchanges) and for a long run (one tool
call per step for 100 steps, 201 exchanges):

* replay speed from an in-memory trace: ``replay_run(agent, trace)`` end to
  end (step + replay + advance), and the replay interpreter alone;
* replay speed from a JSON Lines file: read + decode + replay;
* recording overhead: the scripted run with and without ``record(into=MemoryTraceStore())``.

    uv run python bench/replay.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio
from overhead import FINAL_REPLY, add, scripted  # the same scripted calculator run

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters import Interpreter, agent_interpreter, function, replay, replay_run, run
from interpreters.layers import record
from interpreters.stores import MemoryTraceStore, read_trace, write_trace


def long_script(call: fx.ModelCall) -> fx.ModelReply:
    # One tool call per step, each with its own id, until 100 tool results are in.
    done = sum(isinstance(m, fx.ToolMessage) for m in call.messages)
    if done >= 100:
        return FINAL_REPLY
    request = fx.ToolCallRequest(id=f"call_{done}", name="add", arguments=f'{{"a": {done}, "b": 1}}')
    return fx.ModelReply(message=fx.AssistantMessage(tool_calls=(request,)), finish_reason="tool_calls")


AGENT = fx.Agent(model="bench", instructions="You add numbers.", tools=(add,))
LONG_AGENT = fx.Agent(model="bench", instructions="You add numbers.", tools=(add,), policy=fx.max_steps(1000))


async def best_of(rounds: int, fn: Callable[[], Awaitable[None]]) -> float:
    # CPU time of this process: other processes on the machine distort wall time.
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        await fn()
        best = min(best, time.process_time() - start)
    return best


async def record_one(agent: fx.Agent, script: Callable[[fx.ModelCall], fx.ModelReply]) -> fx.trace.Trace:
    store = MemoryTraceStore()
    interp = record(into=store, trace_id="t", agent=agent)(agent_interpreter(agent, model=function(script)))
    await run(agent, interp, "What is 2 + 3?")
    return await store.load("t")


async def replay_speed(label: str, agent: fx.Agent, trace: fx.trace.Trace, repeats: int) -> None:
    exchanges = len(trace.exchanges) * repeats

    async def end_to_end() -> None:
        for _ in range(repeats):
            await replay_run(agent, trace)

    async def interpreter_only() -> None:
        effects = [ex.effect for ex in trace.exchanges]
        for _ in range(repeats):
            interp = replay(trace)
            for effect in effects:
                await interp(effect)
            interp.finish()

    e2e = await best_of(3, end_to_end)
    alone = await best_of(3, interpreter_only)
    print(f"  {label:<34} {exchanges / e2e:>12,.0f} exchanges/s end to end   (target >= 50,000)")
    print(f"  {'':<34} {exchanges / alone:>12,.0f} exchanges/s replay interpreter alone")


async def file_speed(label: str, agent: fx.Agent, trace: fx.trace.Trace, files: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"t{i}.jsonl" for i in range(files)]
        for path in paths:
            write_trace(path, trace)
        size = paths[0].stat().st_size

        async def load_and_replay() -> None:
            for path in paths:
                await replay_run(agent, read_trace(path))

        def load_only() -> None:
            for path in paths:
                read_trace(path)

        elapsed = await best_of(3, load_and_replay)
        decode = float("inf")
        for _ in range(3):
            start = time.process_time()
            load_only()
            decode = min(decode, time.process_time() - start)
    exchanges = len(trace.exchanges) * files
    print(
        f"  {label:<34} {exchanges / elapsed:>12,.0f} exchanges/s read + decode + replay   (target >= 10,000)"
    )
    print(f"  {'':<34} {exchanges / decode:>12,.0f} exchanges/s read + decode alone ({size:,} bytes/file)")


async def recording_overhead(n: int) -> None:
    # CPU time, many short interleaved rounds, best of each: the machine's noise
    # (other processes) then hits both variants alike and mostly drops out.
    plain = agent_interpreter(AGENT, model=function(scripted))
    rounds, per_round = 30, max(1, n // 10)

    async def timed(interp: Interpreter) -> float:
        start = time.process_time()
        for _ in range(per_round):
            await run(AGENT, interp, "What is 2 + 3?")
        return time.process_time() - start

    best_plain = best_rec = float("inf")
    for _ in range(rounds):
        best_plain = min(best_plain, await timed(plain))
        recorded = record(into=MemoryTraceStore(), trace_id="bench")(plain)
        best_rec = min(best_rec, await timed(recorded))
    overhead = (best_rec / best_plain - 1) * 100
    print(f"  scripted run (bench/overhead.py)   {per_round / best_plain:>12,.0f} runs/s")
    print(f"  same, recorded into memory         {per_round / best_rec:>12,.0f} runs/s")
    print(f"  recording overhead                 {overhead:>12.1f} %   (target <= 10 %)")


async def main(n: int) -> None:
    short = await record_one(AGENT, scripted)
    long = await record_one(LONG_AGENT, long_script)
    assert len(short.exchanges) == 3
    assert len(long.exchanges) == 201
    decoded_short = fx.trace.decode_trace(fx.trace.encode_trace(short))
    decoded_long = fx.trace.decode_trace(fx.trace.encode_trace(long))
    print("replay from an in-memory trace")
    await replay_speed("short run (3 exchanges), recorded", AGENT, short, n)
    await replay_speed("short run, decoded from JSON", AGENT, decoded_short, n)
    await replay_speed("long run (201 exchanges), recorded", LONG_AGENT, long, max(1, n // 67))
    await replay_speed("long run, decoded from JSON", LONG_AGENT, decoded_long, max(1, n // 67))
    print("replay from JSON Lines files")
    await file_speed("short run, one file per run", AGENT, short, max(1, n // 10))
    await file_speed("long run, one file", LONG_AGENT, long, max(1, n // 670))
    print("recording overhead (in-process, memory store)")
    await recording_overhead(n)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)

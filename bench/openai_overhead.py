"""Overhead of the `openai` interpreter above a hand-written httpx loop.

Starts the fake OpenAI server (tests/support/fake_openai.py) in a subprocess
on 127.0.0.1, then, under trio, runs back-to-back pairs (the order alternates,
so drift and order effects cancel) of:

* per model call: ``await model(call)`` against a raw ``httpx.AsyncClient``
  loop that POSTs the same body and pulls the text out of ``response.json()``;
* time to first token, two ways, against a raw ``client.stream`` loop that
  parses ``data:`` lines until the first non-empty content delta: one model
  call streamed with ``observe_deltas`` (the interpreter and codec alone), and
  a whole agent run with ``stream`` (plus its background task and
  channel). All of them then read the stream to the end, so all keep their
  connection alive.

Each is measured twice: wall-clock time, and the client process's CPU time
up to the same point (the server runs in another process). On a shared,
loaded machine the wall figures carry the scheduling noise of every other
process; the CPU figures are the work our code adds. Overheads are medians
of the per-pair differences. Targets: <= 100 us per model call, <= 200 us
time to first token.

    uv run python bench/openai_overhead.py [pairs]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio

import tower_llm_fx as fx
import tower_llm_fx.openai
from interpreters import agent_interpreter, observe_deltas, openai, stream

ROOT = Path(__file__).resolve().parent.parent
REPLY = "Hello! How can I help you today?"
AGENT = fx.Agent(model="gpt-bench", instructions="You are a helpful assistant.")
CALL = AGENT.model_call((fx.user("Hi there!"),))

Sample = tuple[float, float]  # (wall seconds, client CPU seconds)


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_openai", "--reply", REPLY, "--size", "4"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the fake server did not start (got {base_url!r})")
    return proc, base_url


def p10(values: list[float]) -> float:
    return sorted(values)[len(values) // 10]


async def pairs(
    n: int, raw: Callable[[], Awaitable[Sample]], ours: Callable[[], Awaitable[Sample]]
) -> tuple[list[Sample], list[Sample]]:
    raw_s: list[Sample] = []
    our_s: list[Sample] = []
    for i in range(n):
        if i % 2:
            our_s.append(await ours())
            raw_s.append(await raw())
        else:
            raw_s.append(await raw())
            our_s.append(await ours())
    return raw_s, our_s


def report(name: str, raw: list[Sample], ours: list[Sample], target: float) -> None:
    us = 1e6
    wall_r, cpu_r = [s[0] * us for s in raw], [s[1] * us for s in raw]
    wall_o, cpu_o = [s[0] * us for s in ours], [s[1] * us for s in ours]
    wall_d = statistics.median(o - r for r, o in zip(wall_r, wall_o, strict=True))
    cpu_d = statistics.median(o - r for r, o in zip(cpu_r, cpu_o, strict=True))
    print(name)
    print(
        f"  raw httpx floor:  wall p10 {p10(wall_r):7.0f} us  median {statistics.median(wall_r):7.0f} us"
        f"   CPU median {statistics.median(cpu_r):6.0f} us"
    )
    print(
        f"  tower_llm_fx:     wall p10 {p10(wall_o):7.0f} us  median {statistics.median(wall_o):7.0f} us"
        f"   CPU median {statistics.median(cpu_o):6.0f} us"
    )
    print(
        f"  overhead:         wall p10 {p10(wall_o) - p10(wall_r):+7.0f} us  paired median {wall_d:+6.0f} us"
        f"   CPU paired median {cpu_d:+5.0f} us   (target <= {target:.0f} us)"
    )


async def main(n: int) -> None:
    proc, base_url = start_server()
    try:
        async with (
            httpx.AsyncClient(base_url=base_url, headers={"Authorization": "Bearer sk-bench"}) as client,
            openai(base_url=base_url, api_key="sk-bench") as model,
        ):
            body = fx.openai.to_openai_request(CALL)
            stream_body = fx.openai.to_openai_request(CALL, stream=True)
            interp = agent_interpreter(AGENT, model=model)

            async def raw_call() -> Sample:
                wall, cpu = time.perf_counter(), time.process_time()
                response = await client.post("chat/completions", json=body)
                response.raise_for_status()
                content = response.json()["choices"][0]["message"]["content"]
                sample = (time.perf_counter() - wall, time.process_time() - cpu)
                assert content == REPLY
                return sample

            async def our_call() -> Sample:
                wall, cpu = time.perf_counter(), time.process_time()
                reply = await model(CALL)
                sample = (time.perf_counter() - wall, time.process_time() - cpu)
                assert reply.message.content == REPLY
                return sample

            async def raw_ttft() -> Sample:
                wall, cpu = time.perf_counter(), time.process_time()
                first = None
                async with client.stream(
                    "POST", "chat/completions", json=stream_body, headers={"Accept": "text/event-stream"}
                ) as response:
                    async for line in response.aiter_lines():
                        if first is None and line.startswith("data: ") and line != "data: [DONE]":
                            chunk: Any = json.loads(line[6:])
                            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                                first = (time.perf_counter() - wall, time.process_time() - cpu)
                assert first is not None
                return first

            async def call_ttft() -> Sample:
                wall, cpu = time.perf_counter(), time.process_time()
                first: list[Sample] = []

                def on_delta(event: fx.RunEvent) -> None:
                    if not first and type(event) is fx.TokenDelta:
                        first.append((time.perf_counter() - wall, time.process_time() - cpu))

                with observe_deltas(on_delta):
                    reply = await model(CALL)
                assert first
                assert reply.message.content == REPLY
                return first[0]

            async def our_ttft() -> Sample:
                wall, cpu = time.perf_counter(), time.process_time()
                first = None
                async with stream(AGENT, interp, "Hi there!") as events:
                    async for event in events:
                        if first is None and type(event) is fx.TokenDelta:
                            first = (time.perf_counter() - wall, time.process_time() - cpu)
                assert first is not None
                assert events.final is not None
                return first

            await pairs(max(20, n // 10), raw_call, our_call)  # warm up
            await pairs(max(20, n // 10), raw_ttft, call_ttft)
            await pairs(max(20, n // 10), raw_ttft, our_ttft)
            calls = await pairs(n, raw_call, our_call)
            call_ttfts = await pairs(n, raw_ttft, call_ttft)
            ttfts = await pairs(n, raw_ttft, our_ttft)
            checkpoint = time.process_time()
            for _ in range(10_000):
                await trio.lowlevel.checkpoint()
            checkpoint = (time.process_time() - checkpoint) / 10_000
    finally:
        proc.kill()
        proc.wait()

    print(f"{n} back-to-back pairs each, trio, fake server in a subprocess on 127.0.0.1")
    print(f"machine speed: one trio checkpoint costs {checkpoint * 1e6:.1f} us of CPU here")
    report("per model call (non-streaming): await model(call)", *calls, 100)
    report("time to first token, one model call: observe_deltas + await model(call)", *call_ttfts, 200)
    report("time to first token, agent run: stream(agent, ...)", *ttfts, 200)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 1000)

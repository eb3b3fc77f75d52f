"""Throughput and latency of many concurrent agent runs sharing one interpreter.

One run = model call -> tool ``add`` -> final answer (2 model calls + 1 tool call),
against the fake OpenAI server (tests/support/fake_openai.py) in a subprocess on
127.0.0.1, answering a tool call first and "5" once it sees the tool result.
C runs are kept in flight at once (C = 1, 16, 64, 256, 512), all sharing one
``openai()`` interpreter (so one connection pool), plain (``run``) and streamed
(``stream``), on trio and asyncio; side by side with a hand-written loop on a
default ``httpx.AsyncClient()`` doing the same two requests (``raw``).

Every configuration runs in a fresh client process, so its peak RSS is its own.
Printed per configuration: runs/s, p50/p99 latency of a run, the fair-share
latency C / (runs/s), client CPU per run, peak RSS, failed runs, and the
server's CPU per request (if the server is near a full core, the figure is the
server's limit, not ours). Then the targets, as ratios from this one run.

    uv run python bench/concurrency.py            # everything (a few minutes)
    uv run python bench/concurrency.py --quick    # C = 1 and 256, raw plain only, fewer runs
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tower_llm_fx as fx  # noqa: E402
import tower_llm_fx.openai  # noqa: E402

QUESTION = "What is 2 + 3?"
CALL = fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 2, "b": 3}')


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT = fx.Agent(model="gpt-bench", instructions="You add numbers.", tools=(add,))


# -- the server (a subprocess: `concurrency.py --serve`) -------------------------------------


def serve() -> None:
    """Serve the two-step script forever; print the base URL, exit when stdin closes."""
    import attrs

    from tests.support.fake_openai import Completion, FakeOpenAI

    tool_turn = Completion(
        reply=fx.ModelReply(
            message=fx.AssistantMessage(tool_calls=(CALL,)),
            finish_reason="tool_calls",
            usage=fx.Usage(prompt_tokens=20, completion_tokens=5),
        ),
        size=16,
    )
    answer = Completion(
        reply=fx.ModelReply(message=fx.assistant("5"), usage=fx.Usage(prompt_tokens=30)), size=16
    )

    @attrs.frozen
    class ToolThenAnswer:
        async def __call__(self, exchange: Any, /) -> None:
            if exchange.index % 10_000 == 0:  # the server logs every request; keep its memory flat
                with exchange.server._lock:
                    del exchange.server.requests[:-1]
            messages = exchange.request.body["messages"]
            await (answer if messages[-1]["role"] == "tool" else tool_turn)(exchange)

    server = FakeOpenAI(default=ToolThenAnswer())
    server.start()
    print(server.base_url, flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the client (a subprocess per configuration: `concurrency.py --client ...`) ---------------


def raw_bodies() -> tuple[dict[str, Any], dict[str, Any]]:
    """The two request bodies of a run, exactly as our interpreter sends them."""
    first = AGENT.model_call((fx.user(QUESTION),))
    second = AGENT.model_call(
        (
            fx.user(QUESTION),
            fx.AssistantMessage(tool_calls=(CALL,)),
            fx.ToolMessage(tool_call_id=CALL.id, content="5"),
        )
    )
    return fx.openai.to_openai_request(first), fx.openai.to_openai_request(second)


async def client(impl: str, mode: str, base_url: str, c: int, runs: int, seconds: float) -> dict[str, Any]:
    import contextlib

    import anyio
    import httpx

    from interpreters import agent_interpreter, openai, run, stream

    async with contextlib.AsyncExitStack() as stack:
        if impl == "ours":
            model = await stack.enter_async_context(openai(base_url=base_url, api_key="sk-bench"))
            interp = agent_interpreter(AGENT, model=model)

            async def one() -> None:
                if mode == "plain":
                    final = await run(AGENT, interp, QUESTION)
                else:
                    async with stream(AGENT, interp, QUESTION) as events:
                        async for _ in events:
                            pass
                    result = events.result
                    assert result is not None
                    final = result
                assert final.output == "5", final.output

        else:
            raw = await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, headers={"Authorization": "Bearer sk-bench"})
            )
            first, second = raw_bodies()
            sse = {"Accept": "text/event-stream"}

            async def one() -> None:
                if mode == "plain":
                    reply = (await raw.post("chat/completions", json=first)).json()
                    call = reply["choices"][0]["message"]["tool_calls"][0]
                    output = str(add(**json.loads(call["function"]["arguments"])))
                    assert output == "5"
                    reply = (await raw.post("chat/completions", json=second)).json()
                    text = reply["choices"][0]["message"]["content"]
                else:
                    arguments = ""
                    async with raw.stream(
                        "POST", "chat/completions", json={**first, "stream": True}, headers=sse
                    ) as r:
                        async for line in r.aiter_lines():
                            if line.startswith("data: {"):
                                for choice in json.loads(line[6:])["choices"]:
                                    for tc in choice["delta"].get("tool_calls") or ():
                                        arguments += tc.get("function", {}).get("arguments") or ""
                    assert str(add(**json.loads(arguments))) == "5"
                    text = ""
                    async with raw.stream(
                        "POST", "chat/completions", json={**second, "stream": True}, headers=sse
                    ) as r:
                        async for line in r.aiter_lines():
                            if line.startswith("data: {"):
                                for choice in json.loads(line[6:])["choices"]:
                                    text += choice["delta"].get("content") or ""
                assert text == "5", text

        latencies: list[float] = []
        errors: list[str] = []
        started = 0

        async def worker(limit: int, deadline: float, record: bool) -> None:
            nonlocal started
            while started < limit and time.perf_counter() < deadline:
                started += 1
                t0 = time.perf_counter()
                try:
                    await one()
                except Exception as exc:  # a crash of the run: counted, reported, the bench goes on
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    continue
                if record:
                    latencies.append(time.perf_counter() - t0)

        async def drive(limit: int, seconds: float, record: bool) -> None:
            deadline = time.perf_counter() + seconds
            async with anyio.create_task_group() as tg:
                for _ in range(c):
                    tg.start_soon(worker, limit, deadline, record)

        await drive(c, 60.0, False)  # warm-up: one run per worker, so every connection is open
        warm = started
        started = 0
        cpu, wall = time.process_time(), time.perf_counter()
        await drive(runs, seconds, True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = len(latencies)
    ordered = sorted(latencies) or [float("nan")]
    return {
        "runs": done,
        "requests": 2 * (warm + started),
        "wall": wall,
        "runs_per_s": done / wall if wall else 0.0,
        "p50": ordered[len(ordered) // 2],
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "cpu_per_run": cpu / max(done, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def client_main(args: argparse.Namespace) -> None:
    import anyio

    result = anyio.run(
        client, args.impl, args.mode, args.base_url, args.c, args.runs, args.seconds, backend=args.backend
    )
    print(json.dumps(result), flush=True)


# -- the orchestrator ---------------------------------------------------------------------------


def measure(
    server: subprocess.Popen[str],
    base_url: str,
    backend: str,
    impl: str,
    mode: str,
    c: int,
    runs: int,
    seconds: float,
) -> dict[str, Any]:
    before = cpu_seconds(server.pid)
    out = subprocess.run(
        [
            sys.executable, __file__, "--client", "--backend", backend, "--impl", impl, "--mode", mode,
            "--base-url", base_url, "--c", str(c), "--runs", str(runs), "--seconds", str(seconds),
        ],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    server_cpu = cpu_seconds(server.pid) - before
    if out.returncode != 0:
        return {"crash": (out.stderr.strip().splitlines() or ["?"])[-1][:300]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["server_cpu_per_request"] = server_cpu / max(result["requests"], 1)
    return result


def row(backend: str, impl: str, mode: str, c: int, r: dict[str, Any]) -> str:
    name = f"{backend:<8} {impl:<5} {mode:<8} {c:>4}"
    if "crash" in r:
        return f"{name}  CRASHED: {r['crash']}"
    fair = c / r["runs_per_s"] if r["runs_per_s"] else float("nan")
    errors = f"  errors {r['errors']}: {r['first_error']}" if r["errors"] else ""
    return (
        f"{name} {r['runs_per_s']:>8.0f} {r['p50'] * 1e3:>8.1f} {r['p99'] * 1e3:>8.1f} {fair * 1e3:>8.1f}"
        f" {r['p99'] / fair if fair else float('nan'):>6.2f} {r['cpu_per_run'] * 1e6:>8.0f} {r['peak_rss_mb']:>6.0f}"
        f" {r['server_cpu_per_request'] * 1e6:>7.0f} {r['runs']:>6}{errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="C = 1 and 256, raw httpx plain only, fewer runs"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="trio", help=argparse.SUPPRESS)
    parser.add_argument("--impl", default="ours", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--c", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.client:
        client_main(args)
        return

    levels = (1, 256) if args.quick else (1, 16, 64, 256, 512)
    modes = ("plain", "stream")
    seconds = 1.0 if args.quick else 6.0

    def runs_for(c: int) -> int:
        return (2 if args.quick else 6) * c + (100 if args.quick else 600)

    proc, base_url = start_server()
    results: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    try:
        print(f"{'backend':<8} {'impl':<5} {'mode':<8} {'C':>4} {'runs/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
              f" {'fair ms':>8} {'p99/fr':>6} {'CPU/run':>8} {'RSS MB':>6} {'srv us':>7} {'runs':>6}")  # fmt: skip
        print(f"{'':<28} (fair = C / runs/s; CPU/run in us of the client; srv us = server CPU per request)")
        for backend in ("trio", "asyncio"):
            for mode in modes:
                for impl in ("ours", "raw"):
                    if args.quick and impl == "raw" and mode == "stream":
                        continue  # --quick: raw httpx plain only
                    for c in levels:
                        r = measure(proc, base_url, backend, impl, mode, c, runs_for(c), seconds)
                        results[backend, impl, mode, c] = r
                        print(row(backend, impl, mode, c, r), flush=True)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)

    print("\ntargets (ratios from this run): at C >= 256, ours >= 0.8x our C = 1 and >= 3x raw httpx;")
    print("p99 <= 3x fair share; peak RSS at C = 512 <= 80 MB; no crash and no failed run at any C")
    for backend in ("trio", "asyncio"):
        for mode in modes:
            base = results[backend, "ours", mode, 1].get("runs_per_s", 0.0)
            for c in levels:
                if c < 256:
                    continue
                ours = results[backend, "ours", mode, c]
                raw = results.get((backend, "raw", mode, c), {})
                if "crash" in ours:
                    print(f"  {backend:<8} {mode:<7} C={c:<4} ours CRASHED")
                    continue
                rate = ours["runs_per_s"]
                raw_rate = raw.get("runs_per_s", 0.0)
                fair = c / rate if rate else float("nan")
                print(
                    f"  {backend:<8} {mode:<7} C={c:<4} vs own C=1 {rate / base if base else 0:5.2f}x (>= 0.8)"
                    + (f"   vs raw {rate / raw_rate:5.1f}x (>= 3)" if raw_rate else "   vs raw   n/a")
                    + f"   p99/fair {ours['p99'] / fair:4.2f} (<= 3)   RSS {ours['peak_rss_mb']:3.0f} MB (<= 80)"
                    f"   failed runs {ours['errors']}"
                )
    bad = [k for k, r in results.items() if "crash" in r or r.get("errors")]
    print("crashes or failed runs: " + (", ".join("/".join(map(str, k)) for k in bad) if bad else "none"))


if __name__ == "__main__":
    main()

"""Per-effect overhead of each layer, and of a typical production stack.

Each figure is microseconds per effect through the layer, over the cost of the
bare interpreter (``fixed`` for a ModelCall), measured inside one trio.run with
no OpenTelemetry SDK installed (the API's no-op provider), as a library user
without telemetry configured would see it.

    uv run python bench/layers.py [N]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import trio

import tower_llm_fx as fx
import tower_llm_fx.resilience
from interpreters import Interpreter, fixed, stack
from interpreters.layers import (
    approvals,
    circuit_breaker,
    fallback,
    limit,
    metrics,
    retry,
    timeout,
    tracing,
)

CALL = fx.ModelCall(model="bench", messages=(fx.user("hi"),))


async def per_call(interp: Interpreter, n: int) -> float:
    for _ in range(min(n // 10, 1000)):
        await interp(CALL)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            await interp(CALL)
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


async def main(n: int) -> None:
    base = fixed("ok")
    bare = await per_call(base, n)
    print(f"bare fixed() model call: {bare:6.2f} us")
    layers: list[tuple[str, Callable[[Interpreter], Interpreter]]] = [
        ("retry()", retry()),
        ("timeout(60)", timeout(60)),
        ("circuit_breaker()", circuit_breaker()),
        ("limit(model_calls=8)", limit(model_calls=8)),
        ("limit(per_second=1e9)", limit(per_second=1e9, burst=1000)),
        ("fallback(...)", fallback(fixed("backup"))),
        ("approvals(models=True)", approvals(lambda r: fx.resilience.allow(), tools=False, models=True)),
        ("metrics()", metrics()),
        ("tracing() (no SDK)", tracing()),
        (
            "typical stack (tracing, metrics, retry, breaker, limit, timeout)",
            stack(tracing(), metrics(), retry(), circuit_breaker(), limit(model_calls=8), timeout(60)),
        ),
    ]
    for name, layer in layers:
        cost = await per_call(layer(base), n)
        print(f"{name:<66} +{cost - bare:6.2f} us per model call")


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)

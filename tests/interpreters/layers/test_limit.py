"""The limit layer: concurrency caps that hold across runs, and request pacing.
Tests using ``trio-mockclock`` are trio only (MockClock); the others run on both backends."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import trio
import trio.testing

import tower_llm_fx as fx
from interpreters import Interpreter, fixed, local_tools
from interpreters import perform as perform_effect
from interpreters.layers import limit

pytestmark = pytest.mark.anyio

MOCK_CLOCK = pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock")],
)
CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))


async def perform(interp: Interpreter) -> None:
    await interp(CALL)


class Gauge:
    """Counts how many calls are inside it at once."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    async def hold(self, seconds: float = 0.01) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await anyio.sleep(seconds)
        finally:
            self.now -= 1


async def test_model_calls_are_capped_across_concurrent_callers() -> None:
    gauge = Gauge()

    async def model(effect: Any) -> Any:
        await gauge.hold()
        return fx.ModelReply(message=fx.assistant("ok"))

    layer = limit(model_calls=2)
    # Two interpreters built from the same layer share its limit (e.g. two runs).
    a, b = layer(model), layer(model)
    async with anyio.create_task_group() as tg:
        for i in range(10):
            tg.start_soon(perform, a if i % 2 else b)
    assert gauge.peak == 2


async def test_tool_calls_are_capped_inside_and_across_batches() -> None:
    gauge = Gauge()

    @fx.tool
    async def work(n: int) -> int:
        """Hold a slot for a moment."""
        await gauge.hold()
        return n

    seen: list[str] = []
    tools = local_tools([work])

    async def spy(effect: Any) -> Any:
        seen.append(type(effect).__name__)
        return await tools(effect)

    interp = limit(tool_calls=3)(spy)
    batch = fx.Parallel(
        calls=[fx.ToolCall(id=f"c{i}", name="work", arguments=f'{{"n": {i}}}') for i in range(5)]
    )
    results: list[tuple[fx.ToolResult, ...]] = []

    async def one_batch() -> None:
        results.append(await perform_effect(interp, batch))

    async def singles() -> None:
        for i in range(4):
            await interp(fx.ToolCall(id=f"s{i}", name="work", arguments='{"n": 0}'))

    async with anyio.create_task_group() as tg:
        tg.start_soon(one_batch)
        tg.start_soon(one_batch)
        tg.start_soon(singles)
    assert gauge.peak <= 3
    assert set(seen) == {"ToolCall"} and len(seen) == 14  # every call of every batch, one by one
    assert [[r.content for r in rs] for rs in results] == [["0", "1", "2", "3", "4"]] * 2


async def test_a_batch_limit_and_the_layer_cap_both_hold() -> None:
    gauge = Gauge()

    async def spy(effect: fx.ToolCall) -> fx.ToolResult:
        await gauge.hold()
        return fx.ToolResult.success(call_id=effect.id, name=effect.name, content="")

    interp = limit(tool_calls=8)(spy)  # type: ignore[arg-type]
    await perform_effect(
        interp, fx.Parallel(calls=[fx.ToolCall(id=str(i), name="t") for i in range(6)], limit=2)
    )
    assert gauge.peak == 2
    gauge.peak = 0
    capped = limit(tool_calls=3)(spy)  # type: ignore[arg-type]
    await perform_effect(capped, fx.Parallel(calls=[fx.ToolCall(id=str(i), name="t") for i in range(6)]))
    assert gauge.peak == 3


async def test_cancelled_holders_and_waiters_give_their_tokens_back() -> None:
    async def model(effect: Any) -> Any:
        await anyio.sleep(10)
        raise AssertionError("unreachable")

    layer = limit(model_calls=1, tool_calls=1)
    with anyio.move_on_after(0.02):
        async with anyio.create_task_group() as tg:
            tg.start_soon(perform, layer(model))  # holds the only token...
            tg.start_soon(perform, layer(model))  # ...and this one waits for it
    with anyio.fail_after(1):  # would hang if a token had leaked
        assert (await layer(fixed("again"))(CALL)).message.content == "again"


@MOCK_CLOCK
async def test_requests_are_paced() -> None:
    """trio only: MockClock makes the start times exact."""
    starts: list[float] = []

    async def model(effect: fx.ModelCall) -> fx.ModelReply:
        starts.append(trio.current_time())
        return fx.ModelReply(message=fx.assistant("ok"))

    interp = limit(per_second=2.0, burst=2)(model)  # type: ignore[arg-type]
    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(6):
            nursery.start_soon(interp, CALL)
    assert sorted(round(s - t0, 9) for s in starts) == [0.0, 0.0, 0.5, 1.0, 1.5, 2.0]


def test_bad_configuration_and_repr() -> None:
    with pytest.raises(fx.ConfigurationError):
        limit(model_calls=0)
    with pytest.raises(fx.ConfigurationError):
        limit(tool_calls=True)
    with pytest.raises(fx.ConfigurationError):
        limit(per_second=0)
    assert repr(limit(tool_calls=2)) == "limit(tool_calls=2)"

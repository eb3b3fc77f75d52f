"""The timeout layer: deadlines per effect type, real cancellation, typed errors.

Tests using the ``trio-mockclock`` backend are trio only (MockClock); the rest
run on trio and asyncio with short real deadlines.
"""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing

import tower_llm_fx as fx
from interpreters import agent_interpreter, by_type, fixed, function, local_tools, perform, run, sequence
from interpreters._run import drive
from interpreters.layers import timeout

pytestmark = pytest.mark.anyio

MOCK_CLOCK = pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock")],
)
CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))


async def slow_model(effect: fx.ModelCall) -> fx.ModelReply:
    await anyio.sleep(10)
    return fx.ModelReply(message=fx.assistant("too late"))


async def test_a_late_model_call_raises_effect_timeout() -> None:
    with pytest.raises(fx.EffectTimeout) as info:
        await timeout({fx.ModelCall: 0.02})(slow_model)(CALL)  # type: ignore[arg-type]
    assert info.value.effect_type == "ModelCall" and info.value.seconds == 0.02
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, fx.LayerError)
    assert "did not finish within 0.02 s" in str(info.value)


async def test_a_fast_call_is_untouched() -> None:
    reply = await timeout(5)(fixed("quick"))(CALL)
    assert reply.message.content == "quick"


@fx.tool
async def slow(x: int) -> int:
    """Sleep, then echo."""
    await anyio.sleep(10 if x else 0)
    return x


async def test_a_late_tool_call_becomes_a_timeout_result() -> None:
    tools = timeout({fx.ToolCall: 0.02})(local_tools([slow]))
    result = await tools(fx.ToolCall(id="c1", name="slow", arguments='{"x": 1}'))
    assert result.call_id == "c1" and result.error is not None and result.error.kind == "timeout"


async def test_in_a_batch_each_call_has_its_deadline_and_a_finished_call_keeps_its_result() -> None:
    tools = timeout({fx.ToolCall: 0.05})(local_tools([slow]))
    batch = fx.Parallel(
        calls=[fx.ToolCall(id=f"c{i}", name="slow", arguments=f'{{"x": {i % 2}}}') for i in range(4)]
    )
    results = await perform(tools, batch)
    assert [r.call_id for r in results] == ["c0", "c1", "c2", "c3"]
    # c0 and c2 finished at once: their real results stay; c1 and c3 ran out of time.
    assert [r.error.kind if r.error else r.content for r in results] == ["0", "timeout", "0", "timeout"]


async def test_a_per_type_table_bounds_a_whole_agent_batch() -> None:
    """The bug: timeout({ModelCall: ..., ToolCall: 0.2}) put no deadline on a batch (5 s, not 0.2 s)."""

    @fx.tool
    async def sleepy(seconds: float) -> str:
        """Sleep."""
        await anyio.sleep(seconds)
        return "woke"

    agent = fx.Agent(model="m", tools=(sleepy,), parallel_tools=True)
    turn = fx.assistant(
        None,
        fx.ToolCallRequest(id="a", name="sleepy", arguments='{"seconds": 5.0}'),
        fx.ToolCallRequest(id="b", name="sleepy", arguments='{"seconds": 0.0}'),
    )
    interp = timeout({fx.ModelCall: 5.0, fx.ToolCall: 0.2})(
        agent_interpreter(agent, model=sequence([turn, "done"]))
    )
    started = anyio.current_time()
    final = await run(agent, interp, "go")
    elapsed = anyio.current_time() - started
    assert elapsed < 2.0, f"the batch took {elapsed:.2f} s; each call had 0.2 s"
    a, b = final.messages[2:4]
    assert isinstance(a, fx.ToolMessage) and fx.text_of(a.content).startswith("error (timeout)")
    assert isinstance(b, fx.ToolMessage) and b.content == "woke"


async def test_types_without_a_deadline_are_not_limited() -> None:
    layer = timeout({fx.ToolCall: 0.01}, default=None)
    assert layer.deadline(CALL) is None
    assert timeout({fx.ToolCall: 1.0}, default=3.0).deadline(CALL) == 3.0
    assert timeout({fx.ModelCall: None}, default=3.0).deadline(CALL) is None
    assert repr(timeout({fx.ModelCall: 60})) == "timeout({ModelCall: 60.0})"


async def test_cancellation_reaches_tasks_the_call_started_and_nothing_leaks() -> None:
    events: list[str] = []

    async def spawning(effect: fx.ModelCall) -> fx.ModelReply:
        async def child(name: str) -> None:
            try:
                await anyio.sleep_forever()
            finally:
                events.append(f"{name} cancelled")

        async with anyio.create_task_group() as tg:
            tg.start_soon(child, "a")
            tg.start_soon(child, "b")
        raise AssertionError("unreachable")

    with pytest.raises(fx.EffectTimeout):
        await timeout(0.02)(spawning)(CALL)  # type: ignore[arg-type]
    # The task group closed before timeout() returned: both children are done.
    assert sorted(events) == ["a cancelled", "b cancelled"]


async def test_outer_cancellation_is_not_turned_into_a_timeout() -> None:
    with anyio.move_on_after(0.02) as scope:
        await timeout(10)(slow_model)(CALL)  # type: ignore[arg-type]
    assert scope.cancelled_caught


async def test_the_run_state_is_unchanged_by_a_timed_out_call() -> None:
    agent = fx.Agent(model="m")
    seen: list[fx.RunState] = []

    class Watched:
        """The agent, noting every state its step sees."""

        start, advance, finish = agent.start, agent.advance, agent.finish
        conversation, events = agent.conversation, agent.events

        def step(self, state: fx.RunState) -> fx.Effect[object] | fx.Done:
            seen.append(state)
            return agent.step(state)

    interp = timeout({fx.ModelCall: 0.02})(agent_interpreter(agent, model=function(slow_model)))
    start = fx.RunState.start("hi")
    with pytest.raises(fx.EffectTimeout):
        await drive(Watched(), interp, start)
    assert seen == [start]  # nothing was folded in; resuming from `start` is safe


def test_bad_configuration() -> None:
    with pytest.raises(fx.ConfigurationError):
        timeout(0)
    with pytest.raises(fx.ConfigurationError):
        timeout({int: 1})
    with pytest.raises(fx.ConfigurationError):
        timeout(5, default=3)
    with pytest.raises(fx.ConfigurationError):
        timeout({fx.ModelCall: -1})


@MOCK_CLOCK
async def test_deadlines_are_exact_per_type() -> None:
    """trio only: with MockClock the deadline fires at exactly the configured time."""
    layer = timeout({fx.ModelCall: 7, fx.ToolCall: 3})
    interp = layer(by_type({fx.ModelCall: function(slow_model), fx.ToolCall: local_tools([slow])}))
    start = trio.current_time()
    result = await interp(fx.ToolCall(id="c", name="slow", arguments='{"x": 1}'))
    assert result.error is not None and trio.current_time() - start == pytest.approx(3)
    start = trio.current_time()
    with pytest.raises(fx.EffectTimeout):
        await interp(CALL)
    assert trio.current_time() - start == pytest.approx(7)

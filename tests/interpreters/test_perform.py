"""`perform`: a Parallel batch goes through the interpreter call by call, with its meaning intact."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
from interpreters import fixed, local_tools, perform, perform_parallel
from interpreters._perform import CANCELLED_BY_FAIL_FAST

pytestmark = pytest.mark.anyio
BACKENDS = pytest.mark.parametrize("backend", ["trio", "asyncio"])


def calls(n: int) -> list[fx.ToolCall]:
    return [fx.ToolCall(id=f"c{i}", name="t", arguments=f'{{"i": {i}}}') for i in range(n)]


class Tools:
    """A tool interpreter with a scripted delay and outcome per call; it notes what ran."""

    def __init__(self, delays: list[float], failing: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.delays = delays
        self.failing = failing
        self.now = 0
        self.peak = 0
        self.started: list[int] = []
        self.finished: list[int] = []
        self.seen: list[str] = []

    async def __call__(self, effect: Any) -> Any:
        self.seen.append(type(effect).__name__)
        i = int(effect.id[1:])
        self.started.append(i)
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await anyio.sleep(self.delays[i])
        finally:
            self.now -= 1
        self.finished.append(i)
        if i in self.failing:
            return fx.ToolResult.failure(
                call_id=effect.id, name=effect.name, kind="tool_raised", message="no"
            )
        return fx.ToolResult.success(call_id=effect.id, name=effect.name, content=str(i))


delays = st.lists(st.sampled_from([0.0, 0.001, 0.003]), min_size=1, max_size=6)


@BACKENDS
@settings(max_examples=25, deadline=None)
@given(delays=delays, limit=st.none() | st.integers(1, 6))
def test_join_all_answers_every_call_once_in_call_order_within_the_limit(
    backend: str, delays: list[float], limit: int | None
) -> None:
    tools = Tools(delays)
    batch = fx.Parallel(calls=calls(len(delays)), limit=limit)
    results = anyio.run(perform, tools, batch, backend=backend)
    assert [r.call_id for r in results] == [c.id for c in batch.calls]
    assert [r.content for r in results] == [str(i) for i in range(len(delays))]
    assert set(tools.seen) == {"ToolCall"} and sorted(tools.started) == list(range(len(delays)))
    assert tools.peak <= (limit or len(delays))
    if limit is not None and limit < len(delays):
        assert tools.started == sorted(tools.started), "with a limit, calls start in call order"


@BACKENDS
@settings(max_examples=25, deadline=None)
@given(delays=delays, data=st.data(), limit=st.none() | st.integers(1, 6))
def test_fail_fast_keeps_finished_results_and_cancels_the_rest(
    backend: str, delays: list[float], data: st.DataObject, limit: int | None
) -> None:
    failing = data.draw(st.sets(st.integers(0, len(delays) - 1), min_size=1))
    tools = Tools(delays, failing)
    batch = fx.Parallel(calls=calls(len(delays)), join=fx.JoinPolicy.FAIL_FAST, limit=limit)
    results = anyio.run(perform, tools, batch, backend=backend)
    assert [r.call_id for r in results] == [c.id for c in batch.calls]
    finished = set(tools.finished)
    for i, r in enumerate(results):
        if i in finished:  # it finished: its real result stays
            assert r.content == ("error (tool_raised): no" if i in failing else str(i))
        else:
            assert r.error == fx.ToolError(kind="cancelled", message=CANCELLED_BY_FAIL_FAST)
    assert finished & failing, "only a failure cancels"


async def test_a_finished_call_keeps_its_result_when_a_later_one_fails() -> None:
    tools = Tools([0.0, 0.02, 5.0], failing={1})
    batch = fx.Parallel(calls=calls(3), join=fx.JoinPolicy.FAIL_FAST)
    with anyio.fail_after(2):
        results = await perform(tools, batch)
    assert [r.error.kind if r.error else r.content for r in results] == ["0", "tool_raised", "cancelled"]


async def test_a_cancelled_result_does_not_cancel_the_batch() -> None:
    async def tools(effect: Any) -> Any:
        if effect.id == "c0":
            return fx.ToolResult.failure(call_id="c0", name="t", kind="cancelled", message="upstream")
        await anyio.sleep(0.01)
        return fx.ToolResult.success(call_id=effect.id, name="t", content="ok")

    results = await perform(tools, fx.Parallel(calls=calls(2), join=fx.JoinPolicy.FAIL_FAST))
    assert [r.content for r in results] == ["error (cancelled): upstream", "ok"]


async def test_an_exception_cancels_the_siblings_and_is_raised_as_itself() -> None:
    cancelled: list[str] = []

    async def tools(effect: Any) -> Any:
        if effect.id == "c0":
            raise ConnectionError("tool server down")
        try:
            await anyio.sleep(5)
        finally:
            cancelled.append(effect.id)

    with anyio.fail_after(2), pytest.raises(ConnectionError, match="tool server down"):
        await perform(tools, fx.Parallel(calls=calls(3)))
    assert sorted(cancelled) == ["c1", "c2"]


async def test_a_wrong_result_is_a_typed_error_naming_the_call() -> None:
    async def tools(effect: Any) -> Any:
        return "not a result"

    with pytest.raises(fx.WrongResultType, match=r"calls\[0\] \(t\) of a Parallel; expected a ToolResult"):
        await perform(tools, fx.Parallel(calls=calls(1)))


async def test_outer_cancellation_propagates() -> None:
    tools = Tools([5.0, 5.0])
    with anyio.move_on_after(0.02) as scope:
        await perform(tools, fx.Parallel(calls=calls(2)))
    assert scope.cancelled_caught and tools.finished == []


async def test_other_effects_go_straight_to_the_interpreter_and_an_empty_batch_is_empty() -> None:
    reply = await perform(fixed("hi"), fx.ModelCall(model="m", messages=(fx.user("x"),)))
    assert reply.message.content == "hi"
    assert await perform_parallel(fixed("hi"), fx.Parallel(calls=())) == ()
    with pytest.raises(TypeError, match="takes a Parallel"):
        await perform_parallel(fixed("hi"), fx.ModelCall(model="m", messages=()))  # type: ignore[arg-type]


async def test_interpreters_refuse_a_batch_and_say_to_use_perform() -> None:
    batch = fx.Parallel(calls=calls(1))
    with pytest.raises(fx.UnhandledEffect, match=r"interpreters\.perform"):
        await local_tools([])(batch)


def test_a_batch_runs_the_tools_of_one_agent() -> None:
    a = fx.ToolCall(id="1", name="t", agent="a")
    b = fx.ToolCall(id="2", name="t", agent="b")
    assert fx.Parallel(calls=[a], agent="a").agent == "a"
    with pytest.raises(ValueError, match=r"calls\[1\]\.agent is 'b' but the batch's agent is 'a'"):
        fx.Parallel(calls=[a, b], agent="a")


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
async def test_a_base_exception_from_a_call_is_raised_bare_and_the_siblings_are_cancelled(
    exc_type: type[BaseException],
) -> None:
    cancelled: list[str] = []

    async def tools(effect: Any) -> Any:
        if effect.id == "c1":
            await anyio.sleep(0.01)
            raise exc_type("stop")
        try:
            await anyio.sleep(5)
        finally:
            cancelled.append(effect.id)

    with anyio.fail_after(2), pytest.raises(exc_type) as info:
        await perform(tools, fx.Parallel(calls=calls(3)))
    assert type(info.value) is exc_type  # bare, not a BaseExceptionGroup
    assert sorted(cancelled) == ["c0", "c2"]


async def test_a_cancelled_error_a_tool_raises_itself_propagates_on_both_backends() -> None:
    import asyncio

    async def tools(effect: Any) -> Any:
        if effect.id == "c0":
            raise asyncio.CancelledError  # not a cancellation of this run: a bug in the tool
        return fx.ToolResult.success(call_id=effect.id, name="t", content="ok")

    with anyio.fail_after(2), pytest.raises(asyncio.CancelledError):
        await perform(tools, fx.Parallel(calls=calls(2)))


@fx.tool
def interrupting() -> str:
    """A tool the user interrupts."""
    raise KeyboardInterrupt


async def test_a_local_tool_interrupted_in_a_batch_raises_keyboard_interrupt_bare() -> None:
    batch = fx.Parallel(calls=[fx.ToolCall(id=f"k{i}", name="interrupting") for i in range(2)])
    with pytest.raises(KeyboardInterrupt):
        await perform(local_tools([interrupting]), batch)

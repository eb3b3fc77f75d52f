"""local_tools: every way a tool call can fail becomes data; the calls of a batch, sent
through ``perform`` one by one, are ordered, limited, and cancel correctly. Runs on trio
and asyncio. (``perform`` itself, with a scripted interpreter, is in ``test_perform.py``.)"""

from __future__ import annotations

import math
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import tower_llm_fx as fx
from interpreters import local_tools, perform
from interpreters._perform import CANCELLED_BY_FAIL_FAST

pytestmark = pytest.mark.anyio


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


@fx.tool
def boom() -> None:
    """Always fails."""
    raise RuntimeError("kaput")


@fx.tool
def unserialisable() -> object:
    """Returns something JSON cannot hold."""
    return object()


@fx.tool
def nan() -> float:
    """Returns NaN, which is not JSON."""
    return math.nan


@fx.tool
async def greet(name: str) -> str:
    """Async tool returning a plain string."""
    await anyio.lowlevel.checkpoint()
    return f"hello {name}"


@fx.tool
def structured() -> dict[str, Any]:
    """Returns JSON."""
    return {"b": [1, 2], "a": None}


TOOLS = local_tools([add, boom, unserialisable, nan, greet, structured])


async def one(name: str, arguments: str = "{}") -> fx.ToolResult:
    return await TOOLS(fx.ToolCall(id="c1", name=name, arguments=arguments))


async def test_success_sync_and_async() -> None:
    assert await one("add", '{"a": 2, "b": 3}') == fx.ToolResult.success(
        call_id="c1", name="add", content="5"
    )
    assert (await one("greet", '{"name": "ann"}')).content == "hello ann"  # no JSON quoting
    assert (await one("structured")).content == '{"b": [1, 2], "a": null}'


@pytest.mark.parametrize(
    ("name", "arguments", "kind", "fragment"),
    [
        ("nope", "{}", "unknown_tool", "no tool named 'nope'; available tools: add, boom"),
        ("add", '{"a": 1,', "invalid_arguments", "not valid JSON"),
        ("add", "[1, 2]", "invalid_arguments", "must be a JSON object, got list"),
        ("add", '{"a": "x", "b": 1}', "invalid_arguments", "a: 'x' is not of type 'integer'"),
        ("add", '{"a": 1}', "invalid_arguments", "'b' is a required property"),
        ("add", '{"a": 1, "b": 2, "c": 3}', "invalid_arguments", "Additional properties"),
        ("boom", "{}", "tool_raised", "RuntimeError: kaput"),
        ("unserialisable", "{}", "not_serialisable", "returned a object"),
        ("nan", "{}", "not_serialisable", "Out of range float"),
    ],
)
async def test_failures_are_error_results(name: str, arguments: str, kind: str, fragment: str) -> None:
    result = await one(name, arguments)
    assert result.error is not None
    assert result.error.kind == kind
    assert fragment in result.content
    assert result.call_id == "c1"


async def test_float_integer_is_accepted_by_jsonschema_fallback() -> None:
    # 2.0 is an integer for JSON Schema; the fast path declines it and jsonschema decides.
    assert (await one("add", '{"a": 2.0, "b": 1}')).content == "3.0"


async def test_unhandled_effect_and_bad_construction() -> None:
    with pytest.raises(fx.UnhandledEffect, match=r"local_tools\(\) handles ToolCall, got ModelCall"):
        await TOOLS(fx.ModelCall(model="m", messages=()))
    with pytest.raises(fx.UnhandledEffect, match=r"a Parallel batch is performed call by call"):
        await TOOLS(fx.Parallel(calls=(fx.ToolCall(id="c1", name="add", arguments="{}"),)))
    with pytest.raises(TypeError, match="not a Tool"):
        local_tools([lambda: 1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unique"):
        local_tools([add, add])
    bad = fx.tool_typed("bad", "x", {"type": "object", "properties": {"a": {"type": 5}}}, lambda: None)
    with pytest.raises(ValueError, match="invalid JSON schema"):
        local_tools([bad])


def _slow_tools(log: list[str], active: list[int], peak: list[int]) -> list[fx.Tool]:
    @fx.tool
    async def sleep(ms: int, label: str) -> str:
        """Sleep then answer."""
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        try:
            await anyio.sleep(ms / 1000)
            log.append(label)
            return label
        finally:
            active[0] -= 1

    return [sleep, boom]


async def test_parallel_results_in_call_order_and_limit_respected() -> None:
    log: list[str] = []
    active, peak = [0], [0]
    tools = local_tools(_slow_tools(log, active, peak))
    calls = tuple(
        fx.ToolCall(id=f"c{i}", name="sleep", arguments=f'{{"ms": {30 - 5 * i}, "label": "t{i}"}}')
        for i in range(6)
    )
    results = await perform(tools, fx.Parallel(calls=calls, limit=2))
    assert [r.call_id for r in results] == [c.id for c in calls]
    assert [r.content for r in results] == [f"t{i}" for i in range(6)]
    assert peak[0] == 2
    assert log != sorted(log)  # completion order differed from call order


async def test_join_all_runs_everything_even_after_a_failure() -> None:
    log: list[str] = []
    tools = local_tools(_slow_tools(log, [0], [0]))
    calls = (
        fx.ToolCall(id="a", name="boom"),
        fx.ToolCall(id="b", name="sleep", arguments='{"ms": 20, "label": "slow"}'),
    )
    results = await perform(tools, fx.Parallel(calls=calls, join=fx.JoinPolicy.JOIN_ALL))
    assert [r.is_error for r in results] == [True, False]
    assert log == ["slow"]


async def test_fail_fast_cancels_the_rest_but_answers_every_call() -> None:
    log: list[str] = []
    tools = local_tools(_slow_tools(log, [0], [0]))
    calls = (
        fx.ToolCall(id="a", name="sleep", arguments='{"ms": 500, "label": "slow"}'),
        fx.ToolCall(id="b", name="boom"),
        fx.ToolCall(id="c", name="sleep", arguments='{"ms": 500, "label": "slow2"}'),
    )
    with anyio.fail_after(2):
        results = await perform(tools, fx.Parallel(calls=calls, join=fx.JoinPolicy.FAIL_FAST))
    assert log == []
    assert [r.call_id for r in results] == ["a", "b", "c"]
    assert [r.error.kind if r.error else None for r in results] == ["cancelled", "tool_raised", "cancelled"]
    assert (
        results[0].error == results[2].error == fx.ToolError(kind="cancelled", message=CANCELLED_BY_FAIL_FAST)
    )


async def test_outer_cancellation_propagates_and_leaves_no_tasks() -> None:
    log: list[str] = []
    active = [0]
    tools = local_tools(_slow_tools(log, active, [0]))
    calls = tuple(
        fx.ToolCall(id=str(i), name="sleep", arguments='{"ms": 1000, "label": "x"}') for i in range(3)
    )
    with anyio.move_on_after(0.05) as scope:
        await perform(tools, fx.Parallel(calls=calls))
    assert scope.cancelled_caught
    assert active[0] == 0  # every tool task was cancelled and cleaned up before we got here
    assert log == []


async def test_blocking_sync_tools_can_run_in_a_thread() -> None:
    import threading

    main = threading.get_ident()

    @fx.tool
    def where() -> bool:
        """Report whether we run on the event loop thread."""
        return threading.get_ident() == main

    inline = local_tools([where])
    threaded = local_tools([where], run_sync_in_thread=True)
    assert (await inline(fx.ToolCall(id="1", name="where"))).content == "true"
    assert (await threaded(fx.ToolCall(id="1", name="where"))).content == "false"


# --- hostile inputs and outcomes fail typed (issue items 1 and 5) -----------


async def test_deeply_nested_arguments_are_invalid_arguments() -> None:
    @fx.tool
    def echo(x: Any = None) -> str:
        "Echo."
        return "ok"

    deep = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    result = await local_tools([echo])(fx.ToolCall(id="c1", name="echo", arguments=deep))
    assert result.is_error and "invalid_arguments" in result.content and "nest too deep" in result.content


class _BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: 10**5000, "not_serialisable"),
        (lambda: _deep_list(100_000), "not_serialisable"),
        (lambda: (_ for _ in ()).throw(_BadStr()), "tool_raised"),
    ],
    ids=["huge-int", "deep-list", "bad-str-exception"],
)
async def test_hostile_outcomes_are_error_results(make: Any, kind: str) -> None:
    @fx.tool
    def hostile() -> Any:
        "Return something hostile."
        return make()

    result = await local_tools([hostile])(fx.ToolCall(id="c1", name="hostile", arguments="{}"))
    assert result.is_error and kind in result.content


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


async def test_validators_are_built_once_per_spec_and_shared() -> None:
    # The same spec (equal value, not just the same object) gets the same validator, so
    # building agent_interpreter per request costs no schema check; a different schema does not.
    twin = fx.tool_typed("add", "Add.", add.spec.schema(), lambda a, b: a - b)
    first, second = local_tools([add]), local_tools([twin])
    assert first.entries["add"].validator is second.entries["add"].validator
    other = fx.tool_typed("add", "Add.", {"type": "object", "properties": {"a": {"type": "string"}}}, str)
    assert local_tools([other]).entries["add"].validator is not first.entries["add"].validator
    # Sharing the validator does not share the function: each interpreter calls its own tool.
    call = fx.ToolCall(id="c1", name="add", arguments='{"a": 5, "b": 3}')
    assert (await first(call)).content == "8"
    assert (await second(call)).content == "2"
    # An invalid schema is refused every time, not only the first (errors are not cached).
    bad = fx.tool_typed("bad", "x", {"type": "object", "properties": {"a": {"type": 5}}}, lambda: None)
    for _ in range(2):
        with pytest.raises(ValueError, match="invalid JSON schema"):
            local_tools([bad])

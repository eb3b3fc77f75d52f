"""`by_type`: routing each effect to the interpreter registered for its type.

Covers: routing by effect type, the ``UnhandledEffect`` message (which lists the handled types),
validation of the mapping, that the mapping is copied, that a handler's result and errors pass
through unchanged, and the repr. Trio and asyncio.
"""

from __future__ import annotations

from typing import Any

import pytest

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters import Interpreter, by_type, fixed, local_tools, perform, run, sequence

pytestmark = pytest.mark.anyio


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


AGENT = fx.Agent(model="m", instructions="calc", tools=(add,))
MODEL_CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))
TOOL_CALL = fx.ToolCall(id="1", name="add", arguments='{"a": 2, "b": 3}')


def tool_turn(*calls: tuple[str, str, str]) -> fx.AssistantMessage:
    return fx.assistant(None, *(fx.ToolCallRequest(id=i, name=n, arguments=a) for i, n, a in calls))


def recording(name: str, log: list[tuple[str, str]], result: Any) -> Interpreter:
    """An interpreter that logs ``(name, effect type)`` and returns ``result``."""

    async def interp(effect: fx.Effect[Any]) -> Any:
        log.append((name, type(effect).__name__))
        return result

    return interp


# --- moved verbatim from tests/interpreters/test_run.py ---


async def test_by_type_lists_what_it_handles() -> None:
    interp = by_type({fx.ModelCall: fixed("x")})
    with pytest.raises(
        fx.UnhandledEffect, match=r"no interpreter handles ToolCall; this by_type\(\) handles: ModelCall"
    ):
        await interp(fx.ToolCall(id="1", name="t"))
    with pytest.raises(TypeError, match="effect classes"):
        by_type({int: fixed("x")})


async def test_local_tools_can_be_used_directly_in_by_type() -> None:
    tools = local_tools([add])
    interp = by_type(
        {fx.ModelCall: sequence([tool_turn(("x", "add", '{"a": 5, "b": 5}')), "10"]), fx.ToolCall: tools}
    )
    final = await run(AGENT, interp, "go")
    assert final.output == "10"


# --- routing ---


async def test_each_effect_goes_to_its_own_handler_only() -> None:
    log: list[tuple[str, str]] = []
    reply = fx.ModelReply(message=fx.assistant("m"))
    result = fx.ToolResult.success(call_id="1", name="add", content="5")
    interp = by_type(
        {fx.ModelCall: recording("model", log, reply), fx.ToolCall: recording("tools", log, result)}
    )
    assert await interp(MODEL_CALL) is reply
    assert await interp(TOOL_CALL) is result
    assert await interp(MODEL_CALL) is reply
    assert log == [("model", "ModelCall"), ("tools", "ToolCall"), ("model", "ModelCall")]


async def test_an_unhandled_effect_lists_every_handled_type_sorted_and_the_fix() -> None:
    log: list[tuple[str, str]] = []
    interp = by_type({fx.ToolCall: recording("t", log, None), fx.ModelCall: recording("m", log, None)})
    with pytest.raises(fx.UnhandledEffect) as info:
        await interp(fx.sessions.LoadSession(session_id="s"))
    assert str(info.value) == (
        "no interpreter handles LoadSession; this by_type() handles: ModelCall, ToolCall. "
        "Add LoadSession: <interpreter> to the mapping."
    )
    assert log == []  # no handler was asked
    assert isinstance(info.value, fx.InterpreterError)


async def test_a_parallel_batch_is_not_for_interpreters_and_the_error_says_so() -> None:
    log: list[tuple[str, str]] = []
    interp = by_type({fx.ToolCall: recording("t", log, None), fx.ModelCall: recording("m", log, None)})
    with pytest.raises(fx.UnhandledEffect) as info:
        await interp(fx.Parallel(calls=(TOOL_CALL,)))
    assert str(info.value) == (
        "a Parallel batch is not sent to interpreters: interpreters.perform(interpreter, batch) "
        "sends each of its ToolCalls through the interpreter (run() and stream() do)"
    )
    assert log == []


async def test_an_empty_by_type_handles_nothing() -> None:
    with pytest.raises(fx.UnhandledEffect, match=r"this by_type\(\) handles: nothing\."):
        await by_type({})(MODEL_CALL)


async def test_the_mapping_is_copied_when_by_type_is_built() -> None:
    handlers: dict[type[Any], Interpreter] = {fx.ModelCall: fixed("x")}
    interp = by_type(handlers)
    handlers[fx.ToolCall] = local_tools([add])
    del handlers[fx.ModelCall]
    assert (await interp(MODEL_CALL)).message.content == "x"
    with pytest.raises(fx.UnhandledEffect, match="no interpreter handles ToolCall"):
        await interp(TOOL_CALL)


async def test_a_handler_error_passes_through_unchanged() -> None:
    boom = fx.ProviderError("the model is down", status=503)

    async def failing(effect: fx.Effect[Any]) -> Any:
        raise boom

    with pytest.raises(fx.ProviderError) as info:
        await by_type({fx.ModelCall: failing})(MODEL_CALL)
    assert info.value is boom


async def test_tools_behind_by_type_answer_a_batchs_calls_through_perform() -> None:
    interp = by_type({fx.ToolCall: local_tools([add])})
    other = fx.ToolCall(id="2", name="add", arguments='{"a": 1, "b": 1}')
    results = await perform(interp, fx.Parallel(calls=(TOOL_CALL, other)))
    assert [(r.call_id, r.content) for r in results] == [("1", "5"), ("2", "2")]


# --- validation and repr ---


def test_keys_must_be_effect_classes() -> None:
    for bad in ("ModelCall", fx.ModelReply, fx.ModelCall(model="m", messages=())):
        with pytest.raises(
            TypeError, match=r"by_type\(\) keys must be effect classes such as ModelCall, got"
        ):
            by_type({bad: fixed("x")})  # type: ignore[dict-item]


def test_handlers_must_be_callable() -> None:
    with pytest.raises(TypeError, match=r"by_type\(\) handler for ToolCall is 'tools', not an interpreter"):
        by_type({fx.ModelCall: fixed("x"), fx.ToolCall: "tools"})  # type: ignore[dict-item]


def test_repr_lists_each_type_and_handler_in_order() -> None:
    interp = by_type({fx.ToolCall: fixed("b"), fx.ModelCall: fixed("a")})
    assert repr(interp) == "by_type({ToolCall: fixed('b'), ModelCall: fixed('a')})"
    assert repr(by_type({})) == "by_type({})"

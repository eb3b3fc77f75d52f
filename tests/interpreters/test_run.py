"""The runtime loop, scripted model interpreters, by_type and stack. Trio and asyncio."""

from __future__ import annotations

from typing import Any

import pytest

import tower_llm_fx as fx
from interpreters import (
    Interpreter,
    agent_interpreter,
    by_type,
    drive,
    fixed,
    function,
    identity,
    local_tools,
    run,
    run_user,
    sequence,
    stack,
)

pytestmark = pytest.mark.anyio


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


AGENT = fx.Agent(model="m", instructions="calc", tools=(add,))


def tool_turn(*calls: tuple[str, str, str]) -> fx.AssistantMessage:
    return fx.assistant(None, *(fx.ToolCallRequest(id=i, name=n, arguments=a) for i, n, a in calls))


async def test_run_end_to_end_with_bad_tool_calls_keeps_conversation_valid() -> None:
    script = sequence(
        [
            tool_turn(("c1", "add", '{"a": 1, "b": 2}'), ("c2", "nope", "{}"), ("c3", "add", "{oops")),
            "done",
        ]
    )
    final = await run(AGENT, agent_interpreter(AGENT, model=script), "go")
    script.assert_consumed()
    tool_messages = [m for m in final.messages if isinstance(m, fx.ToolMessage)]
    assert [m.tool_call_id for m in tool_messages] == ["c1", "c2", "c3"]
    assert tool_messages[0].content == "3"
    assert tool_messages[1].content.startswith("error (unknown_tool)")
    assert tool_messages[2].content.startswith("error (invalid_arguments)")
    assert final.output == "done"
    assert final.stop is not None and final.stop.kind == "no_tool_calls"


async def test_parallel_run_matches_sequential_run() -> None:
    turns: list[fx.AssistantMessage | str] = [
        tool_turn(("a", "add", '{"a": 1, "b": 1}'), ("b", "add", '{"a": 2, "b": 2}')),
        "4",
    ]
    seq = await run(AGENT, agent_interpreter(AGENT, model=sequence(turns)), "go")
    par_agent = fx.Agent(model="m", instructions="calc", tools=(add,), parallel_tools=True)
    par = await run(par_agent, agent_interpreter(par_agent, model=sequence(turns)), "go")
    assert seq.messages == par.messages
    assert seq.steps == par.steps == 2


async def test_run_user_resume_and_fixed() -> None:
    interp = agent_interpreter(AGENT, model=fixed("hi"))
    first = await run_user(AGENT, interp, "hello")
    assert first.output == "hi"
    # resuming a finished state returns it unchanged; a new user turn continues the conversation
    assert await run(AGENT, interp, first) == first
    again = await run(AGENT, interp, fx.RunState(messages=(*first.messages, fx.user("again"))))
    assert [m.role for m in again.messages] == ["user", "assistant", "user", "assistant"]


async def test_sequence_exhausted_is_a_clear_error() -> None:
    script = sequence([tool_turn(("c1", "add", '{"a": 1, "b": 2}'))])
    with pytest.raises(fx.ScriptExhausted, match=r"holds 1 replies and all were used; model call #2"):
        await run(AGENT, agent_interpreter(AGENT, model=script), "go")
    leftover = sequence(["a", "b"])
    await run(fx.Agent(model="m"), agent_interpreter(fx.Agent(model="m"), model=leftover), "x")
    with pytest.raises(AssertionError, match="1 unused replies"):
        leftover.assert_consumed()


async def test_function_model_sees_the_call_sync_and_async() -> None:
    seen: list[fx.ModelCall] = []

    def echo(call: fx.ModelCall) -> str:
        seen.append(call)
        return f"echo: {call.messages[-1].content}"

    async def aecho(call: fx.ModelCall) -> fx.ModelReply:
        return fx.ModelReply(message=fx.assistant("async"), usage=fx.Usage(prompt_tokens=7))

    final = await run(AGENT, agent_interpreter(AGENT, model=function(echo)), "ping")
    assert final.output == "echo: ping"
    assert seen[0].messages[0] == fx.SystemMessage(content="calc")
    final = await run(AGENT, agent_interpreter(AGENT, model=function(aecho)), "ping")
    assert final.usage.prompt_tokens == 7


async def test_scripted_interpreters_reject_other_effects_and_bad_replies() -> None:
    with pytest.raises(fx.UnhandledEffect, match="only answers ModelCall"):
        await fixed("x")(fx.ToolCall(id="1", name="t"))
    with pytest.raises(TypeError, match="is not a reply"):
        sequence([3])  # type: ignore[list-item]


async def test_by_type_lists_what_it_handles() -> None:
    interp = by_type({fx.ModelCall: fixed("x")})
    with pytest.raises(
        fx.UnhandledEffect, match=r"no interpreter handles ToolCall; this by_type\(\) handles: ModelCall"
    ):
        await interp(fx.ToolCall(id="1", name="t"))
    with pytest.raises(TypeError, match="effect classes"):
        by_type({int: fixed("x")})


async def test_wrong_result_type_from_an_interpreter() -> None:
    async def liar(effect: fx.Effect[Any]) -> Any:
        return "not a reply"

    with pytest.raises(fx.WrongResultType, match="returned str for ModelCall; expected ModelReply"):
        await run(AGENT, liar, "go")


async def test_step_returning_non_effect() -> None:
    with pytest.raises(fx.StepError, match="must return an Effect"):
        await drive(lambda s: "oops", fixed("x"), fx.RunState.start("x"), advance=fx.advance)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="expects an Agent"):
        await run(AGENT.step, fixed("x"), "x")  # type: ignore[arg-type]


def tagging(name: str, log: list[str]) -> Any:
    def layer(inner: Interpreter) -> Interpreter:
        async def interp(effect: fx.Effect[Any]) -> Any:
            log.append(f"{name}>")
            result = await inner(effect)
            log.append(f"<{name}")
            return result

        return interp

    layer.__name__ = name
    return layer


async def test_stack_order_outer_sees_effect_first_and_result_last() -> None:
    log: list[str] = []
    interp = stack(tagging("a", log), tagging("b", log))(
        agent_interpreter(fx.Agent(model="m"), model=fixed("x"))
    )
    await run(fx.Agent(model="m"), interp, "x")
    assert log == ["a>", "b>", "<b", "<a"]
    assert repr(stack(tagging("a", log), stack(tagging("b", log), tagging("c", log)))) == "stack(a, b, c)"


async def test_stack_laws_identity_and_associativity() -> None:
    for build in (
        lambda log: stack(identity, tagging("l", log)),
        lambda log: stack(tagging("l", log), identity),
        lambda log: tagging("l", log),
    ):
        log: list[str] = []
        await run(fx.Agent(model="m"), build(log)(fixed("x")), "x")
        assert log == ["l>", "<l"]
    logs: list[list[str]] = []
    for shape in ("left", "right", "flat"):
        log = []
        a, b, c = tagging("a", log), tagging("b", log), tagging("c", log)
        layer = {"left": stack(stack(a, b), c), "right": stack(a, stack(b, c)), "flat": stack(a, b, c)}[shape]
        await run(fx.Agent(model="m"), layer(fixed("x")), "x")
        logs.append(log)
    assert logs[0] == logs[1] == logs[2]
    with pytest.raises(TypeError, match="not a layer"):
        stack(3)  # type: ignore[arg-type]


async def test_local_tools_can_be_used_directly_in_by_type() -> None:
    tools = local_tools([add])
    interp = by_type(
        {fx.ModelCall: sequence([tool_turn(("x", "add", '{"a": 5, "b": 5}')), "10"]), fx.ToolCall: tools}
    )
    final = await run(AGENT, interp, "go")
    assert final.output == "10"


async def test_drive_observe_sees_every_exchange_in_order() -> None:
    seen: list[tuple[int, str, int]] = []

    async def observe(before: fx.RunState, effect: fx.Effect[Any], result: Any, after: fx.RunState) -> None:
        assert after == fx.advance(before, effect, result)
        seen.append((len(before.messages), type(effect).__name__, len(after.messages)))

    model = sequence([tool_turn(("1", "add", '{"a": 1, "b": 2}')), "3"])
    state, done = await drive(
        AGENT.step,
        agent_interpreter(AGENT, model=model),
        fx.RunState.start("go"),
        advance=fx.advance,
        observe=observe,
    )
    assert seen == [(1, "ModelCall", 2), (2, "ToolCall", 3), (3, "ModelCall", 4)]
    assert fx.finish(state, done) == await run(
        AGENT,
        agent_interpreter(AGENT, model=sequence([tool_turn(("1", "add", '{"a": 1, "b": 2}')), "3"])),
        "go",
    )


async def test_drive_observe_errors_stop_the_run() -> None:
    async def observe(before: fx.RunState, effect: fx.Effect[Any], result: Any, after: fx.RunState) -> None:
        raise KeyError("observer")

    with pytest.raises(KeyError, match="observer"):
        await drive(
            AGENT.step,
            agent_interpreter(AGENT, model=fixed("x")),
            fx.RunState.start("go"),
            advance=fx.advance,
            observe=observe,
        )

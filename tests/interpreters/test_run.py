"""The runtime loop (`run`, `run_user`, `drive`, `agent_interpreter`). Trio and asyncio.

The scripted interpreters are tested in ``test_scripted.py``, ``by_type`` in ``test_dispatch.py``
and ``stack`` in ``test_types.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

import tower_llm_fx as fx
from interpreters import (
    agent_interpreter,
    drive,
    fixed,
    run,
    run_user,
    sequence,
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

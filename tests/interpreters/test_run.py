"""The runtime loop (`run` of any `Program`, the private `drive` under it, `agent_interpreter`).

Trio and asyncio. Programs: an `Agent`, a ``group.Group``, a ``sessions.with_session(...)``
and a class of our own. The scripted interpreters are tested in ``test_scripted.py``, ``by_type`` in ``test_dispatch.py``
and ``stack`` in ``test_types.py``.
"""

from __future__ import annotations

from typing import Any, final

import attrs
import pytest

import tower_llm_fx as fx
import tower_llm_fx.group
from interpreters import (
    Interpreter,
    agent_interpreter,
    fixed,
    group_interpreter,
    run,
    run_session,
    sequence,
)
from interpreters._run import drive
from interpreters.layers import with_store
from interpreters.stores import memory_store
from tower_llm_fx.sessions import LoadSession, SessionLog, SessionState, with_session

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
    assert fx.text_of(tool_messages[1].content).startswith("error (unknown_tool)")
    assert fx.text_of(tool_messages[2].content).startswith("error (invalid_arguments)")
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


async def test_run_on_text_then_resume_and_continue() -> None:
    interp = agent_interpreter(AGENT, model=fixed("hi"))
    first = await run(AGENT, interp, "hello")
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


@final
@attrs.frozen(kw_only=True)
class Counted:
    """The state of `Counting`: a conversation and the number of exchanges so far."""

    run: fx.RunState
    exchanges: int = 0


@attrs.frozen
class Counting:
    """A `Program` of our own: an agent's run that also counts its exchanges."""

    agent: fx.Agent

    def start(self, input: Any, /) -> Counted:
        return Counted(run=self.agent.start(input))

    def step(self, state: Counted, /) -> fx.Effect[Any] | fx.Done:
        return self.agent.step(state.run)

    def advance(self, state: Counted, effect: fx.Effect[Any], result: Any, /) -> Counted:
        return Counted(run=self.agent.advance(state.run, effect, result), exchanges=state.exchanges + 1)

    def finish(self, state: Counted, done: fx.Done, /) -> Counted:
        return attrs.evolve(state, run=self.agent.finish(state.run, done))

    def conversation(self, state: Counted, /) -> fx.RunState:
        return state.run

    def events(self, before: Counted | None, after: Counted, /) -> tuple[fx.RunEvent, ...]:
        return self.agent.events(None if before is None else before.run, after.run)


class Oops(Counting):
    """A program whose step returns something that is not an effect."""

    def step(self, state: Counted, /) -> fx.Effect[Any] | fx.Done:
        return "oops"  # type: ignore[return-value]


async def test_step_returning_non_effect() -> None:
    with pytest.raises(fx.StepError, match="must return an Effect"):
        await run(Oops(AGENT), fixed("x"), "x")


async def test_a_custom_program_runs_like_the_agent_it_wraps() -> None:
    model: list[fx.AssistantMessage | str] = [tool_turn(("1", "add", '{"a": 1, "b": 2}')), "3"]
    program = Counting(AGENT)
    assert isinstance(program, fx.Program)
    final = await run(program, agent_interpreter(AGENT, model=sequence(model)), "go")
    assert isinstance(final, Counted)
    assert final.exchanges == 3  # model call, tool call, model call
    assert final.run == await run(AGENT, agent_interpreter(AGENT, model=sequence(model)), "go")
    # input is whatever the program's start takes: a state to resume as well
    resumed = await run(program, agent_interpreter(AGENT, model=fixed("x")), final.run)
    assert resumed.run == final.run and resumed.exchanges == 0


class StepOnly:
    """Half a program: run() says what is missing."""

    def start(self, input: Any) -> fx.RunState:
        return fx.RunState.start(input)

    def step(self, state: fx.RunState) -> fx.Done:
        return fx.Done(reason=fx.StopReason(kind="no_tool_calls", detail="nothing to do"))


async def test_a_non_program_is_a_type_error_naming_what_is_missing() -> None:
    with pytest.raises(TypeError, match=r"run\(\) expects a Program") as info:
        await run(AGENT.step, fixed("x"), "x")  # type: ignore[arg-type]
    assert str(info.value).endswith(
        "got method, which has no start, step, advance, finish, conversation, events"
    )
    with pytest.raises(TypeError, match=r"got StepOnly, which has no advance, finish, conversation, events$"):
        await run(StepOnly(), fixed("x"), "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"run\(\) expects a Program"):
        await run("agent", fixed("x"), "x")  # type: ignore[arg-type]


async def test_run_a_group_returns_the_group_state() -> None:
    triage = fx.Agent(model="m-triage", name="triage", instructions="Route.")
    calc = fx.Agent(model="m-calc", name="calc", instructions="calc", tools=(add,))
    group = fx.group.Group.builder().agent(triage).agent(calc).handoff("triage", "calc").build()
    model = sequence(
        [tool_turn(("h", "handoff_to_calc", "{}")), tool_turn(("1", "add", '{"a": 1, "b": 2}')), "3"]
    )
    seen: list[fx.Effect[Any]] = []
    inner = group_interpreter(group, model=model)

    async def journal(effect: fx.Effect[Any], /) -> Any:
        seen.append(effect)
        return await inner(effect)

    final = await run(group, journal, "1 + 2?")
    model.assert_consumed()
    assert isinstance(final, fx.group.GroupState)
    assert final.path == ("triage", "calc")
    assert final.output == "3"
    assert final.stop is not None and final.stop.kind == "no_tool_calls"
    # every tool call names the agent whose tools perform it
    assert [(e.name, e.agent) for e in seen if isinstance(e, fx.ToolCall)] == [
        ("handoff_to_calc", "triage"),
        ("add", "calc"),
    ]
    assert [m.content for m in final.messages if isinstance(m, fx.ToolMessage)][-1] == "3"


async def test_run_a_session_program_on_a_memory_store() -> None:
    agent = fx.Agent(model="m")
    store = memory_store()
    model = sequence(["Hello!", "You said hi."])
    interp: Interpreter = with_store(store)(agent_interpreter(agent, model=model))
    program = with_session(agent, "s1")
    first = await run(program, interp, "hi")
    assert isinstance(first, SessionState)
    assert first.run.output == "Hello!"
    assert first.loaded and first.unsaved == ()
    second = await run(program, interp, "what did I say?")
    model.assert_consumed()
    assert [m.content for m in second.messages] == ["hi", "Hello!", "what did I say?", "You said hi."]
    log = await store(LoadSession(session_id="s1"))
    assert isinstance(log, SessionLog)
    assert log.view() == second.messages
    # run_session is this run, wired to the store, returning the conversation
    again = await run_session(
        agent, agent_interpreter(agent, model=fixed("Yes.")), "sure?", session_id="s1", store=store
    )
    assert again.messages == (*second.messages, fx.user("sure?"), fx.assistant("Yes."))


async def test_drive_observe_sees_every_exchange_in_order() -> None:
    # drive is private: the loop under run and stream (which reports events with observe)
    seen: list[tuple[int, str, int]] = []

    async def observe(before: fx.RunState, effect: fx.Effect[Any], result: Any, after: fx.RunState) -> None:
        assert after == fx.advance(before, effect, result)
        seen.append((len(before.messages), type(effect).__name__, len(after.messages)))

    model = sequence([tool_turn(("1", "add", '{"a": 1, "b": 2}')), "3"])
    state, done = await drive(
        AGENT,
        agent_interpreter(AGENT, model=model),
        fx.RunState.start("go"),
        observe=observe,
    )
    assert seen == [(1, "ModelCall", 2), (2, "ToolCall", 3), (3, "ModelCall", 4)]
    assert AGENT.finish(state, done) == await run(
        AGENT,
        agent_interpreter(AGENT, model=sequence([tool_turn(("1", "add", '{"a": 1, "b": 2}')), "3"])),
        "go",
    )


async def test_drive_observe_errors_stop_the_run() -> None:
    async def observe(before: fx.RunState, effect: fx.Effect[Any], result: Any, after: fx.RunState) -> None:
        raise KeyError("observer")

    with pytest.raises(KeyError, match="observer"):
        await drive(
            AGENT,
            agent_interpreter(AGENT, model=fixed("x")),
            fx.RunState.start("go"),
            observe=observe,
        )

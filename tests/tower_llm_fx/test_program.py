"""The `Program` protocol (``_program.py``): what ``interpreters.run`` and ``stream`` drive.

Pure: each program is driven here by the protocol's loop, by hand, answering
each effect from a script. `Agent`, ``group.Group`` and ``sessions.with_session``
implement it; so can a class of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.sessions

SID = "s1"


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


AGENT = fx.Agent(model="m", name="calc", tools=(add,))


def play(
    program: fx.Program[Any], input: object, answer: Callable[[fx.Effect[Any]], object], *, agent: str
) -> Any:
    """The loop of ``interpreters.run``, synchronously; checks that the run starts with `RunStarted`."""
    state = program.start(input)
    assert list(program.events(None, state)) == [
        fx.RunStarted(agent=agent, state=program.conversation(state))
    ]
    for _ in range(50):
        out = program.step(state)
        if isinstance(out, fx.Done):
            final = program.finish(state, out)
            assert isinstance(program.conversation(final), fx.RunState)
            return final
        new = program.advance(state, out, answer(out))
        assert isinstance(program.conversation(new), fx.RunState)
        state = new
    raise AssertionError("the run did not end")


def scripted(*replies: fx.AssistantMessage | str) -> Callable[[fx.Effect[Any]], object]:
    """Answer model calls from ``replies`` in order, tool calls by running the tool, sessions as empty."""
    queue = list(replies)
    tools = {t.name: t for t in (add,)}

    def answer(effect: fx.Effect[Any]) -> object:
        if isinstance(effect, fx.ModelCall):
            reply = queue.pop(0)
            return fx.ModelReply(message=fx.assistant(reply) if isinstance(reply, str) else reply)
        if isinstance(effect, fx.ToolCall):
            if effect.name.startswith("handoff_to_"):
                target = effect.name.removeprefix("handoff_to_")
                return fx.ToolResult.success(
                    call_id=effect.id, name=effect.name, content=f'{{"handoff": "{target}", "ack": true}}'
                )
            return fx.ToolResult.success(
                call_id=effect.id, name=effect.name, content=str(tools[effect.name].fn(a=1, b=2))
            )
        if isinstance(effect, fx.sessions.LoadSession):
            return fx.sessions.SessionLog(session_id=effect.session_id, records=())
        if isinstance(effect, fx.sessions.SaveSession):
            return fx.sessions.Saved(
                session_id=effect.session_id, last_seq=effect.after_seq + len(effect.records)
            )
        raise AssertionError(f"unexpected {effect!r}")

    return answer


def tool_turn(*names: str) -> fx.AssistantMessage:
    return fx.assistant(
        None,
        *(fx.ToolCallRequest(id=f"c{i}", name=n, arguments='{"a": 1, "b": 2}') for i, n in enumerate(names)),
    )


def test_the_library_programs_are_programs_and_a_step_function_is_not() -> None:
    group = fx.group.Group.builder().agent(AGENT).build()
    for program in (AGENT, group, fx.sessions.with_session(AGENT, SID)):
        assert isinstance(program, fx.Program)
    assert not isinstance(AGENT.step, fx.Program)
    assert not isinstance(object(), fx.Program)


def test_an_agent_run_by_the_protocol() -> None:
    final = play(AGENT, "1 + 2?", scripted(tool_turn("add"), "3"), agent="calc")
    assert isinstance(final, fx.RunState)
    assert final.output == "3" and final.steps == 2
    assert AGENT.conversation(final) is final
    assert AGENT.events(final, final) == ()


def test_an_agent_starts_from_text_messages_or_a_state() -> None:
    state = fx.RunState(messages=(fx.user("a"), fx.assistant("b")), steps=3)
    assert AGENT.start(state) is state
    assert AGENT.start("hi") == fx.RunState.start("hi") == AGENT.start([fx.user("hi")])
    with pytest.raises(TypeError, match="starts from a str, a message, a sequence of messages or a RunState"):
        AGENT.start(42)  # type: ignore[arg-type]


def test_the_tool_calls_an_agent_emits_name_it() -> None:
    state = AGENT.advance(
        fx.RunState.start("go"), AGENT.model_call(()), fx.ModelReply(message=tool_turn("add"))
    )
    call = AGENT.step(state)
    assert isinstance(call, fx.ToolCall) and call.agent == "calc"
    parallel = fx.Agent(model="m", tools=(add,), parallel_tools=True)
    batch = parallel.step(
        parallel.advance(
            fx.RunState.start("go"), parallel.model_call(()), fx.ModelReply(message=tool_turn("add", "add"))
        )
    )
    assert isinstance(batch, fx.Parallel)
    assert batch.agent == "assistant" and {c.agent for c in batch.calls} == {"assistant"}


def test_a_group_run_by_the_protocol_reports_its_handoff() -> None:
    triage = fx.Agent(model="m-triage", name="triage")
    group = fx.group.Group.builder().agent(triage).agent(AGENT).handoff("triage", "calc").build()
    handed: list[fx.RunEvent] = []
    answer = scripted(tool_turn("handoff_to_calc"), tool_turn("add"), "3")
    state = group.start("1 + 2?")
    while not isinstance(out := group.step(state), fx.Done):
        new = group.advance(state, out, answer(out))
        handed.extend(group.events(state, new))
        state = new
    final = group.finish(state, out)
    assert isinstance(final, fx.group.GroupState)
    assert final.path == ("triage", "calc") and final.output == "3"
    assert group.conversation(final) == final.run
    assert [type(e) for e in handed] == [fx.group.HandedOff]
    assert [e.handoff for e in handed if isinstance(e, fx.group.HandedOff)] == list(final.handoffs)
    again = play(
        group, "1 + 2?", scripted(tool_turn("handoff_to_calc"), tool_turn("add"), "3"), agent="triage"
    )
    assert again == final


def test_a_session_run_by_the_protocol() -> None:
    program = fx.sessions.with_session(AGENT, SID)
    final = play(program, "1 + 2?", scripted(tool_turn("add"), "3"), agent="calc")
    assert isinstance(final, fx.sessions.SessionState)
    assert final.run.output == "3" and final.unsaved == ()
    assert program.conversation(final) is final.run
    # RunStarted names the wrapped agent, whether given as an agent or as its step
    assert fx.sessions.with_session(AGENT.step, SID).name == "calc"
    assert (
        fx.sessions.with_session(lambda s: fx.Done(reason=fx.StopReason(kind="x", detail="y")), SID).name
        == ""
    )


def test_a_class_of_our_own_is_a_program() -> None:
    class Echo:
        """A program that asks the model once and stops."""

        def start(self, input: str) -> fx.RunState:
            return fx.RunState.start(input)

        def step(self, state: fx.RunState) -> fx.Effect[Any] | fx.Done:
            if state.model_calls:
                return fx.Done(reason=fx.StopReason(kind="once", detail="asked once"))
            return fx.ModelCall(model="m", messages=state.messages)

        def advance(self, state: fx.RunState, effect: fx.Effect[Any], result: Any) -> fx.RunState:
            return fx.advance(state, effect, result)

        def finish(self, state: fx.RunState, done: fx.Done) -> fx.RunState:
            return fx.finish(state, done)

        def conversation(self, state: fx.RunState) -> fx.RunState:
            return state

        def events(self, before: fx.RunState | None, after: fx.RunState) -> tuple[fx.RunEvent, ...]:
            return (fx.RunStarted(agent="echo", state=after),) if before is None else ()

    echo = Echo()
    assert isinstance(echo, fx.Program)
    final = play(echo, "hi", scripted("hi yourself"), agent="echo")
    assert final.output == "hi yourself" and final.stop == fx.StopReason(kind="once", detail="asked once")

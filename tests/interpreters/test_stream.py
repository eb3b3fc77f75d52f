"""`stream`, `tap` and `event_sink` with the scripted interpreters and local tools.

`stream` drives any `Program`: an agent, a group, a ``with_session(...)`` and a class of our own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar, cast, final

import anyio
import anyio.lowlevel
import attrs
import pytest

import tower_llm_fx as fx
from interpreters import (
    EventSink,
    Interpreter,
    agent_interpreter,
    by_type,
    event_sink,
    fixed,
    function,
    group_interpreter,
    local_tools,
    observe_deltas,
    run,
    sequence,
    stream,
    tap,
)
from interpreters.layers import with_store
from interpreters.stores import memory_store
from tower_llm_fx.group import Group, GroupState, HandedOff
from tower_llm_fx.sessions import SessionState, with_session

pytestmark = pytest.mark.anyio

R = TypeVar("R")


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@fx.tool
async def slow_mul(a: int, b: int) -> int:
    """Multiply, slowly."""
    await anyio.sleep(0.01)
    return a * b


def call(id: str, name: str, arguments: str) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments=arguments)


AGENT = fx.Agent(model="m", instructions="Use tools.", tools=(add, slow_mul), parallel_tools=True)


def script() -> list[fx.ModelReply]:
    return [
        fx.ModelReply(
            message=fx.assistant(
                "Working.", call("c1", "add", '{"a": 2, "b": 3}'), call("c2", "slow_mul", '{"a": 2, "b": 3}')
            ),
            finish_reason="tool_calls",
            usage=fx.Usage(prompt_tokens=10, completion_tokens=3),
        ),
        fx.ModelReply(message=fx.assistant("5 and 6"), usage=fx.Usage(prompt_tokens=20, completion_tokens=2)),
    ]


async def collect(agent: fx.Agent, interpreter: Any, input: Any) -> list[fx.RunEvent]:
    async with stream(agent, interpreter, input) as events:
        return [e async for e in events]


async def test_events_of_a_run_with_parallel_tools() -> None:
    events = await collect(AGENT, agent_interpreter(AGENT, model=sequence(script())), "go")
    start = fx.RunState.start("go")
    first, second = script()
    final = events[-1]
    assert isinstance(final, fx.RunFinished)
    assert events == [
        fx.RunStarted(agent="assistant", state=start),
        fx.TokenDelta(step=1, text="Working."),
        fx.ToolCallStarted(step=1, index=0, id="c1", name="add"),
        fx.ToolCallArgumentsDelta(step=1, index=0, id="c1", text='{"a": 2, "b": 3}'),
        fx.ToolCallStarted(step=1, index=1, id="c2", name="slow_mul"),
        fx.ToolCallArgumentsDelta(step=1, index=1, id="c2", text='{"a": 2, "b": 3}'),
        fx.ModelReplied(step=1, reply=first),
        fx.ToolCallFinished(step=1, result=fx.ToolResult.success(call_id="c1", name="add", content="5")),
        fx.ToolCallFinished(step=1, result=fx.ToolResult.success(call_id="c2", name="slow_mul", content="6")),
        fx.StepFinished(step=1, usage=first.usage),
        fx.TokenDelta(step=2, text="5 and 6"),
        fx.ModelReplied(step=2, reply=second),
        fx.StepFinished(step=2, usage=second.usage),
        final,
    ]
    plain = await run(AGENT, agent_interpreter(AGENT, model=sequence(script())), "go")
    assert final.state == plain
    assert final.state.output == "5 and 6"


async def test_sequential_tool_calls_each_report_a_result() -> None:
    agent = fx.Agent(model="m", tools=(add,))
    model = sequence(
        [fx.assistant(None, call("a", "add", '{"a":1,"b":1}'), call("b", "add", '{"a":"x"}')), "done"]
    )
    events = await collect(agent, agent_interpreter(agent, model=model), "go")
    finished = [e for e in events if isinstance(e, fx.ToolCallFinished)]
    assert [e.result.call_id for e in finished] == ["a", "b"]
    assert finished[1].result.is_error
    assert [e.step for e in events if isinstance(e, fx.StepFinished)] == [1, 2]


async def test_resumed_run_numbers_steps_from_the_state() -> None:
    agent = fx.Agent(model="m")
    state = fx.RunState(messages=(fx.user("a"), fx.assistant("b"), fx.user("c")), steps=4)
    events = await collect(agent, agent_interpreter(agent, model=fixed("d")), state)
    assert events[0] == fx.RunStarted(agent="assistant", state=state)
    assert {e.step for e in events if hasattr(e, "step")} == {5}


async def test_an_error_arrives_after_the_events_before_it() -> None:
    agent = fx.Agent(model="m", tools=(add,))
    model = sequence([fx.assistant(None, call("a", "add", '{"a":1,"b":1}'))])  # then runs out
    seen: list[fx.RunEvent] = []
    streams = []

    async def consume() -> None:
        async with stream(agent, agent_interpreter(agent, model=model), "go") as events:
            streams.append(events)
            async for event in events:
                seen.append(event)

    with pytest.raises(fx.ScriptExhausted):
        await consume()
    assert [type(e).__name__ for e in seen] == [
        "RunStarted",
        "ToolCallStarted",
        "ToolCallArgumentsDelta",
        "ModelReplied",
        "ToolCallFinished",
        "StepFinished",
    ]
    assert streams[0].final is None


async def test_collect_final_and_final() -> None:
    agent = fx.Agent(model="m")
    async with stream(agent, agent_interpreter(agent, model=fixed("hi")), "hello") as events:
        assert events.final is None
        final = await events.collect_final()
    assert final == events.final
    assert final.output == "hi"
    assert repr(events) == "<RunStream finished>"


async def test_an_exception_in_the_block_is_not_wrapped() -> None:
    agent = fx.Agent(model="m")
    with pytest.raises(KeyError):
        async with stream(agent, agent_interpreter(agent, model=fixed("hi")), "hello"):
            raise KeyError("mine")


async def test_leaving_the_block_cancels_the_run() -> None:
    started = anyio.Event()
    cancelled = anyio.Event()

    async def never(_call: fx.ModelCall) -> fx.ModelReply:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        raise AssertionError("unreachable")

    agent = fx.Agent(model="m")
    with anyio.fail_after(5):
        async with stream(agent, agent_interpreter(agent, model=function(never)), "go") as events:
            first = await events.__anext__()
            assert isinstance(first, fx.RunStarted)
            await started.wait()  # the model call is in flight when we leave
        assert cancelled.is_set()
    with pytest.raises(RuntimeError, match="closed"):
        await events.__anext__()


async def test_outer_cancellation_passes_through() -> None:
    async def slow(_call: fx.ModelCall) -> str:
        await anyio.sleep(10)
        return "late"

    agent = fx.Agent(model="m")
    with anyio.move_on_after(0.05) as scope:
        async with stream(agent, agent_interpreter(agent, model=function(slow)), "go") as events:
            async for _ in events:
                pass
    assert scope.cancelled_caught


async def test_backpressure_with_no_buffer() -> None:
    agent = fx.Agent(model="m", tools=(add,))
    model = sequence([fx.assistant(None, call("a", "add", '{"a":1,"b":1}')), "2"])
    async with stream(agent, agent_interpreter(agent, model=model), "go", buffer=0) as events:
        names = []
        async for event in events:
            names.append(type(event).__name__)
            await anyio.lowlevel.checkpoint()
    assert names[-1] == "RunFinished"
    assert events.final is not None and events.final.output == "2"


async def test_event_sink_only_during_model_calls() -> None:
    sinks: dict[str, EventSink | None] = {}
    steps: list[int] = []

    async def model(effect: fx.ModelCall) -> fx.ModelReply:
        sink = event_sink()
        sinks["model"] = sink
        assert sink is not None
        steps.append(sink.step)
        await sink.emit(fx.TokenDelta(step=sink.step, text="He"))
        await sink.emit(fx.TokenDelta(step=sink.step, text="llo"))
        if isinstance(effect.messages[-1], fx.ToolMessage):
            return fx.ModelReply(message=fx.assistant("Hello"))
        return fx.ModelReply(message=fx.assistant(None, call("a", "probe", "{}")), finish_reason="tool_calls")

    @fx.tool
    def probe() -> str:
        """Look at the sink from inside a tool."""
        sinks["tool"] = event_sink()
        return "ok"

    agent = fx.Agent(model="m", tools=(probe,), policy=fx.max_steps(5))
    interp = by_type({fx.ModelCall: function(model), fx.ToolCall: local_tools([probe])})
    events = await collect(agent, interp, "go")
    assert sinks["tool"] is None
    assert steps == [1, 2]
    assert event_sink() is None
    deltas = [e for e in events if isinstance(e, (fx.TokenDelta, fx.ToolCallStarted))]
    # the interpreter streamed, so nothing was synthesised on top
    assert [type(d).__name__ for d in deltas] == ["TokenDelta", "TokenDelta", "TokenDelta", "TokenDelta"]
    assert "<EventSink step=" in repr(sinks["model"])


async def test_wrong_result_type_is_reported() -> None:
    async def bad(effect: fx.Effect[R], /) -> R:
        return cast("R", "not a reply")

    agent = fx.Agent(model="m")
    with pytest.raises(fx.WrongResultType, match="returned str for ModelCall"):
        await collect(agent, bad, "go")


async def test_tap_sees_every_event_unchanged() -> None:
    agent = fx.Agent(model="m", tools=(add,))
    model = sequence([fx.assistant(None, call("a", "add", '{"a":1,"b":1}')), "2"])
    seen: list[fx.RunEvent] = []
    seen_async: list[fx.RunEvent] = []

    async def record(event: fx.RunEvent) -> None:
        await anyio.lowlevel.checkpoint()
        seen_async.append(event)

    async with stream(agent, agent_interpreter(agent, model=model), "go") as events:
        passed = [e async for e in tap(seen.append)(tap(record)(events))]
    assert passed == seen == seen_async
    assert isinstance(passed[-1], fx.RunFinished)
    assert repr(tap(print)) == "tap(print)"


async def test_tap_errors_reach_the_reader() -> None:
    def boom(event: fx.RunEvent) -> None:
        raise ValueError("observer failed")

    agent = fx.Agent(model="m")

    async def consume() -> None:
        async with stream(agent, agent_interpreter(agent, model=fixed("x")), "go") as events:
            async for _ in tap(boom)(events):
                pass

    with pytest.raises(ValueError, match="observer failed"):
        await consume()


async def test_bad_arguments() -> None:
    with pytest.raises(
        TypeError,
        match=r"stream\(\) expects a Program .* got str, which has no start, step, advance, finish, "
        "conversation, events$",
    ):
        async with stream(cast("fx.Agent", "agent"), fixed("x"), "go"):
            pass
    with pytest.raises(TypeError, match=r"got method, which has no start, step, advance"):
        stream(cast("fx.Agent", AGENT.step), fixed("x"), "go")  # raised at the call, before the block
    with pytest.raises(ValueError, match="buffer"):
        async with stream(fx.Agent(model="m"), fixed("x"), "go", buffer=-1):
            pass
    with pytest.raises(TypeError, match="tap"):
        tap(cast("Any", 3))


async def _aiter(items: list[fx.RunEvent]) -> AsyncIterator[fx.RunEvent]:
    for item in items:
        yield item


async def test_tap_works_on_any_event_iterable() -> None:
    items: list[fx.RunEvent] = [fx.TokenDelta(step=1, text="a"), fx.TokenDelta(step=1, text="b")]
    seen: list[fx.RunEvent] = []
    assert [e async for e in tap(seen.append)(_aiter(items))] == items
    assert seen == items


async def test_observe_deltas_inline() -> None:
    async def model(call: fx.ModelCall) -> fx.ModelReply:
        sink = event_sink()
        assert sink is not None
        for piece in ("a", "b"):
            await sink.emit(fx.TokenDelta(step=sink.step, text=piece))
        return fx.ModelReply(message=fx.assistant("ab"))

    seen: list[fx.RunEvent] = []

    async def record(event: fx.RunEvent) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(event)

    call = fx.ModelCall(model="m", messages=[fx.user("x")])
    with observe_deltas(record, step=3) as sink:
        assert event_sink() is sink
        reply = await function(model)(call)
    assert event_sink() is None
    assert reply.message.content == "ab"
    assert seen == [fx.TokenDelta(step=3, text="a"), fx.TokenDelta(step=3, text="b")]
    assert sink.emitted == 2
    with pytest.raises(TypeError, match="observe_deltas"), observe_deltas(cast("Any", None)):
        pass


@final
@attrs.frozen(kw_only=True)
class Counted:
    """A custom step's state: a conversation and the number of exchanges so far."""

    run: fx.RunState
    exchanges: int = 0


@final
@attrs.frozen(kw_only=True)
class Exchanged(fx.RunEvent):
    """A test-only event kind, reported after each exchange."""

    count: int


@final
@attrs.frozen
class Counting:
    """A `Program` of our own: ``AGENT``'s run, counting exchanges and reporting each one."""

    def start(self, input: Any, /) -> Counted:
        return Counted(run=AGENT.start(input))

    def step(self, state: Counted, /) -> fx.Effect[Any] | fx.Done:
        return AGENT.step(state.run)

    def advance(self, state: Counted, effect: fx.Effect[Any], result: Any, /) -> Counted:
        return Counted(run=AGENT.advance(state.run, effect, result), exchanges=state.exchanges + 1)

    def finish(self, state: Counted, done: fx.Done, /) -> Counted:
        return attrs.evolve(state, run=AGENT.finish(state.run, done))

    def conversation(self, state: Counted, /) -> fx.RunState:
        return state.run

    def events(self, before: Counted | None, after: Counted, /) -> list[fx.RunEvent]:
        if before is None:
            return [fx.RunStarted(agent="custom", state=after.run)]
        return [Exchanged(count=after.exchanges)]


async def test_stream_streams_a_custom_program() -> None:
    async with stream(Counting(), agent_interpreter(AGENT, model=sequence(script())), "go") as events:
        assert events.result is None
        seen = [e async for e in events]
    plain = await collect(AGENT, agent_interpreter(AGENT, model=sequence(script())), "go")
    # The agent's events, with ours after the events of each exchange (model call, then the parallel tools).
    assert [e for e in seen if not isinstance(e, Exchanged)] == [
        fx.RunStarted(agent="custom", state=fx.RunState.start("go")),
        *plain[1:],
    ]
    names = [type(e).__name__ for e in seen]
    assert [names[i - 1] for i, e in enumerate(seen) if isinstance(e, Exchanged)] == [
        "ModelReplied",
        "StepFinished",
        "StepFinished",
    ]
    assert events.result is not None and events.result.exchanges == 3
    assert events.final == events.result.run == cast("fx.RunFinished", plain[-1]).state


async def test_a_streamed_run_is_entered_once() -> None:
    agent = fx.Agent(model="m")
    streamed = stream(agent, agent_interpreter(agent, model=fixed("hi")), "hello")
    async with streamed as events:
        assert (await events.collect_final()).output == "hi"
    with pytest.raises(RuntimeError, match="entered once"):
        async with streamed:
            pass


async def test_two_readers_share_the_events() -> None:
    model = sequence(script())
    got: list[list[fx.RunEvent]] = [[], []]
    with anyio.fail_after(5):  # a reader that is never woken hangs
        await read_with_two_tasks(model, got)
    plain = await collect(AGENT, agent_interpreter(AGENT, model=sequence(script())), "go")
    # Every event is read exactly once, by one reader or the other, in order.
    assert sorted(got[0] + got[1], key=plain.index) == plain
    assert all(sorted(g, key=plain.index) == g for g in got)


async def read_with_two_tasks(model: Any, got: list[list[fx.RunEvent]]) -> None:
    async with stream(AGENT, agent_interpreter(AGENT, model=model), "go", buffer=1) as events:

        async def read(into: list[fx.RunEvent]) -> None:
            async for event in events:
                into.append(event)
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(read, got[0])
            tg.start_soon(read, got[1])


async def test_a_cancelled_read_loses_no_event() -> None:
    release = anyio.Event()

    async def slow(call: fx.ModelCall) -> str:
        await release.wait()
        return "late"

    agent = fx.Agent(model="m")
    async with stream(agent, agent_interpreter(agent, model=function(slow)), "go") as events:
        assert isinstance(await events.__anext__(), fx.RunStarted)
        with anyio.move_on_after(0.01) as scope:
            await events.__anext__()  # nothing yet: cancelled while waiting
        assert scope.cancelled_caught
        release.set()
        rest = [type(e).__name__ async for e in events]
    assert rest == ["TokenDelta", "ModelReplied", "StepFinished", "RunFinished"]
    assert events.result == events.final and events.final is not None and events.final.output == "late"


async def test_stream_of_a_session_program_on_a_memory_store() -> None:
    agent = fx.Agent(model="m")
    store = memory_store()
    model = sequence(["Hello!", "You said hi."])
    interp: Interpreter = with_store(store)(agent_interpreter(agent, model=model))
    program = with_session(agent, "s1")
    await run(program, interp, "hi")
    async with stream(program, interp, "what did I say?") as events:
        seen = [e async for e in events]
    model.assert_consumed()
    # The session's own effects (load, save) are not reported; the history is in the final state.
    assert [type(e).__name__ for e in seen] == [
        "RunStarted",
        "TokenDelta",
        "ModelReplied",
        "StepFinished",
        "RunFinished",
    ]
    assert seen[0] == fx.RunStarted(agent="assistant", state=fx.RunState.start("what did I say?"))
    result = events.result
    assert isinstance(result, SessionState)
    assert result.unsaved == ()
    assert events.final == result.run
    assert [m.content for m in result.messages] == ["hi", "Hello!", "what did I say?", "You said hi."]


def _group() -> Group:
    triage = fx.Agent(model="m-triage", name="triage", instructions="Route.")
    calc = fx.Agent(model="m-calc", name="calc", tools=(add, slow_mul), parallel_tools=True)
    return Group.builder().agent(triage).agent(calc).handoff("triage", "calc").build()


def _group_script() -> list[fx.ModelReply]:
    handoff = fx.ModelReply(message=fx.assistant(None, call("h", "handoff_to_calc", "{}")))
    return [handoff, *script()]


@pytest.mark.parametrize("kind", ["agent", "group", "session", "custom"])
async def test_stream_and_run_end_in_the_same_state(kind: str) -> None:
    """``events.result`` is what ``run`` returns, ``events.final`` its conversation, for any program."""

    def make() -> tuple[Any, Interpreter]:
        # A fresh program and interpreter per run: a session starts from the same (empty) store.
        if kind == "group":
            group = _group()
            return group, group_interpreter(group, model=sequence(_group_script()))
        interp = agent_interpreter(AGENT, model=sequence(script()))
        if kind == "session":
            return with_session(AGENT, "s"), with_store(memory_store())(interp)
        return (Counting() if kind == "custom" else AGENT), interp

    program, interp = make()
    plain = await run(program, interp, "go")
    program, interp = make()
    async with stream(program, interp, "go") as events:
        seen = [e async for e in events]
    assert events.result == plain
    assert events.final == program.conversation(plain)
    assert seen[-1] == fx.RunFinished(state=program.conversation(plain))
    assert isinstance(seen[0], fx.RunStarted)
    assert events.final is not None and events.final.output == "5 and 6"
    expected = {"agent": fx.RunState, "group": GroupState, "session": SessionState, "custom": Counted}
    assert type(plain) is expected[kind]
    handed = [e for e in seen if isinstance(e, HandedOff)]
    assert [(h.handoff.source, h.handoff.target) for h in handed] == (
        [("triage", "calc")] if kind == "group" else []
    )

"""Run a multi-agent `Group`: `run_group`, and `group_interpreter` to perform its effects.

A group run is the generic `drive` loop over the group's pure step and
advance. The only shell-side detail is tool routing: a ``ToolCall`` names a
tool, not an agent, so `group_interpreter` sends it to the tools of the agent
that is *active* when the call is performed. `run_group` tells it which agent
that is through a context variable, set before every effect from the state
the step saw. A context variable (not a field on the interpreter) keeps one
interpreter safe to share between concurrent runs, and it passes through any
layers stacked around the interpreter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, final

import anyio
import attrs
from anyio.streams.memory import MemoryObjectSendStream

from tower_llm_fx import (
    Done,
    Effect,
    Group,
    GroupState,
    InterpreterError,
    Message,
    ModelCall,
    ModelReplied,
    ModelReply,
    Parallel,
    RunEvent,
    RunFinished,
    RunStarted,
    RunState,
    StepFinished,
    ToolCall,
    ToolCallFinished,
    ToolResult,
    Usage,
    WrongResultType,
    handoff_events,
    reply_events,
)
from tower_llm_fx.testing import check_step_output

from ._dispatch import by_type
from ._run import drive
from ._stream import _SINK, EventSink, RunStream, _produce
from ._tools import local_tools
from ._types import Interpreter

__all__ = ["active_agent", "group_interpreter", "run_group", "run_group_stream"]

R = TypeVar("R")

_ACTIVE: ContextVar[str | None] = ContextVar("tower_llm_fx_active_agent", default=None)


def active_agent() -> str | None:
    """The name of the agent whose effect is being performed, inside `run_group`.

    ``None`` outside a group run (or before a model-based picker has chosen).
    Layers can use it to label logs and traces by agent.
    """
    return _ACTIVE.get()


@final
@attrs.frozen(eq=False)
class _ActiveAgentTools:
    by_agent: Mapping[str, Interpreter]

    def __call__(self, effect: Effect[R], /) -> Awaitable[R]:
        name = _ACTIVE.get()
        if name is None:
            raise InterpreterError(
                f"group_interpreter() got a {type(effect).__name__} outside run_group(): tool calls go to "
                "the tools of the active agent, and only run_group() knows which agent is active. "
                "Drive the group with run_group(group, interpreter, input)."
            )
        return self.by_agent[name](effect)

    def __repr__(self) -> str:
        return f"active_agent_tools({', '.join(self.by_agent)})"


def group_interpreter(group: Group, *, model: Interpreter, run_sync_in_thread: bool = False) -> Interpreter:
    """``by_type`` wiring ``model`` for ``ModelCall`` and the *active* agent's tools for tool calls.

    Each agent's tools include its handoff tools, whose results are the
    handoff acknowledgements; a tool the active agent does not have is an
    ``unknown_tool`` error result, even if another agent has it. Wrap the
    result in layers with ``stack(...)(group_interpreter(...))``.
    """
    if not isinstance(group, Group):
        raise TypeError(f"group_interpreter() expects a Group, got {type(group).__name__}")
    tools = _ActiveAgentTools(
        {
            name: local_tools(group.agent(name).tools, run_sync_in_thread=run_sync_in_thread)
            for name in group.names
        }
    )
    return by_type({ModelCall: model, ToolCall: tools, Parallel: tools})


async def run_group(
    group: Group, interpreter: Interpreter, input: str | Sequence[Message] | RunState | GroupState
) -> GroupState:
    """Run ``group`` on ``input`` until an agent finishes with no handoff; return the final state.

    ``input`` is the user's text, a list of messages, a `RunState`, or a
    `GroupState` to resume. The final state's ``stop`` says why the run ended
    (the last agent's own reason, ``max_handoffs`` or ``handoff_cycle``),
    ``handoffs`` records every handoff, and ``messages`` is the one shared
    conversation.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import group_interpreter, run_group, sequence
    >>> group = fx.Group.builder().agent(fx.Agent(model="m", name="solo")).build()
    >>> final = trio.run(run_group, group, group_interpreter(group, model=sequence(["Hi!"])), "Hello")
    >>> final.output, final.path
    ('Hi!', ('solo',))
    """
    if not isinstance(group, Group):
        raise TypeError(
            f"run_group() expects a Group first, got {type(group).__name__}; for one agent use run()"
        )
    state = group.start(input)
    token = _ACTIVE.set(state.active)

    def step(s: GroupState) -> Effect[Any] | Done:
        _ACTIVE.set(s.active)
        return group.step(s)

    advance: Callable[[GroupState, Effect[Any], Any], GroupState] = group.advance
    try:
        final, done = await drive(step, interpreter, state, advance=advance)
    finally:
        _ACTIVE.reset(token)
    return group.finish(final, done)


async def _stream_group(
    group: Group, interpreter: Interpreter, state: GroupState, send: MemoryObjectSendStream[RunEvent]
) -> None:
    """`run_group` with events; mirrors ``interpreters._stream``'s agent loop step for step."""
    sink = EventSink(send)
    step_usage = Usage()
    await send.send(RunStarted(agent=state.active or "", state=state.run))
    token = _ACTIVE.set(state.active)
    try:
        while True:
            _ACTIVE.set(state.active)
            out = group.step(state)
            if type(out) is not Done:
                out = check_step_output(out, group.step)
            if isinstance(out, Done):
                break
            effect = out
            step = state.run.steps + 1
            if isinstance(effect, ModelCall):
                sink.step, sink.emitted = step, 0
                sink_token = _SINK.set(sink)
                try:
                    result: Any = await interpreter(effect)
                finally:
                    _SINK.reset(sink_token)
            else:
                result = await interpreter(effect)
            expected = type(effect).result_type
            if not isinstance(result, expected):
                raise WrongResultType(
                    f"{interpreter!r} returned {type(result).__name__} for {type(effect).__name__}; "
                    f"expected {expected.__name__}"
                )
            new = group.advance(state, effect, result)
            if isinstance(effect, ModelCall):
                assert isinstance(result, ModelReply)
                # A picker's or a handoff summary's reply never enters the conversation: no events.
                if len(new.run.messages) > len(state.run.messages):
                    if sink.emitted == 0:
                        for event in reply_events(step, result):
                            await send.send(event)
                    await send.send(ModelReplied(step=step, reply=result))
                step_usage = step_usage + result.usage
            elif isinstance(effect, ToolCall):
                assert isinstance(result, ToolResult)
                await send.send(ToolCallFinished(step=step, result=result))
            elif isinstance(effect, Parallel):
                for r in result:
                    await send.send(ToolCallFinished(step=step, result=r))
            if new.run.steps > state.run.steps:
                await send.send(StepFinished(step=step, usage=step_usage))
                step_usage = Usage()
            for handed in handoff_events(state, new):
                await send.send(handed)
            state = new
    finally:
        _ACTIVE.reset(token)
    await send.send(RunFinished(state=group.finish(state, out).run))


@asynccontextmanager
async def run_group_stream(
    group: Group,
    interpreter: Interpreter,
    input: str | Sequence[Message] | RunState | GroupState,
    *,
    buffer: int = 64,
) -> AsyncIterator[RunStream]:
    """Run ``group`` like `run_group`, reporting its events as they happen (see ``run_stream``).

    The events are those of ``run_stream``, plus a `HandedOff` after the
    `StepFinished` of each step that handed the conversation on; `RunStarted`
    names the first agent, and `RunFinished` carries the shared run state.
    Leaving the block stops the run if it is still going.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import group_interpreter, sequence
    >>> group = (fx.Group.builder().agent(fx.Agent(model="m", name="a")).agent(fx.Agent(model="m", name="b"))
    ...          .handoffs(fx.sequential_handoff("a", "b")).build())
    >>> async def main():
    ...     interp = group_interpreter(group, model=sequence(["from a", "from b"]))
    ...     async with run_group_stream(group, interp, "go") as events:
    ...         return [type(e).__name__ async for e in events]
    >>> trio.run(main)  # doctest: +NORMALIZE_WHITESPACE
    ['RunStarted', 'TokenDelta', 'ModelReplied', 'StepFinished', 'HandedOff',
     'TokenDelta', 'ModelReplied', 'StepFinished', 'RunFinished']
    """
    if not isinstance(group, Group):
        raise TypeError(f"run_group_stream() expects a Group first, got {type(group).__name__}")
    if not isinstance(buffer, int) or buffer < 0:
        raise ValueError(f"buffer must be a non-negative int, got {buffer!r}")
    state = group.start(input)
    send, receive = anyio.create_memory_object_stream[RunEvent](buffer)
    stream = RunStream(receive)

    async def body(send: MemoryObjectSendStream[RunEvent]) -> None:
        await _stream_group(group, interpreter, state, send)

    error: Exception | None = None
    async with receive, anyio.create_task_group() as tg:
        tg.start_soon(_produce, body, send, stream)
        try:
            yield stream
        except Exception as exc:
            error = exc  # re-raised outside the task group, unwrapped
        finally:
            tg.cancel_scope.cancel()
    if error is not None:
        raise error

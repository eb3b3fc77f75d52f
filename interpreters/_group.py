"""Run a multi-agent `Group`: `run_group`, `run_group_stream`, and `group_interpreter` to perform its effects.

A group run is the generic ``drive`` loop over the group's pure step and
advance (``drive_stream`` for `run_group_stream`, with the `HandedOff`
events of each exchange). The only shell-side detail is tool routing: a
``ToolCall`` names a tool, not an agent, so `group_interpreter` sends it to
the tools of the agent that is *active* when the call is performed. The step
tells it which agent that is through a context variable, set before every
effect from the state the step saw. A context variable (not a field on the
interpreter) keeps one interpreter safe to share between concurrent runs,
and it passes through any layers stacked around the interpreter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from typing import Any, TypeVar, final

import attrs

from tower_llm_fx import Done, Effect, InterpreterError, Message, ModelCall, Parallel, RunState, ToolCall
from tower_llm_fx.group import Group, GroupState, handoff_events

from ._dispatch import by_type
from ._run import drive
from ._stream import RunStream, drive_stream
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


def _step_as_active(group: Group) -> Callable[[GroupState], Effect[Any] | Done]:
    """``group.step``, telling `group_interpreter` (through `active_agent`) whose turn it is."""

    def step(state: GroupState) -> Effect[Any] | Done:
        _ACTIVE.set(state.active)
        return group.step(state)

    return step


def _run_state(state: GroupState) -> RunState:
    return state.run


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
    >>> group = fx.group.Group.builder().agent(fx.Agent(model="m", name="solo")).build()
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
    try:
        final, done = await drive(_step_as_active(group), interpreter, state, advance=group.advance)
    finally:
        _ACTIVE.reset(token)
    return group.finish(final, done)


def run_group_stream(
    group: Group,
    interpreter: Interpreter,
    input: str | Sequence[Message] | RunState | GroupState,
    *,
    buffer: int = 64,
) -> AbstractAsyncContextManager[RunStream[GroupState]]:
    """Run ``group`` like `run_group`, reporting its events as they happen (see ``run_stream``).

    The events are those of ``run_stream``, plus a `HandedOff` after the
    `StepFinished` of each step that handed the conversation on; `RunStarted`
    names the first agent, and `RunFinished` carries the shared run state.
    Once it has been read, the stream's ``result`` is the final `GroupState`
    (what `run_group` returns). Leaving the block stops the run if it is
    still going.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import group_interpreter, sequence
    >>> group = (fx.group.Group.builder().agent(fx.Agent(model="m", name="a")).agent(fx.Agent(model="m", name="b"))
    ...          .handoffs(fx.group.sequential_handoff("a", "b")).build())
    >>> async def main():
    ...     interp = group_interpreter(group, model=sequence(["from a", "from b"]))
    ...     async with run_group_stream(group, interp, "go") as events:
    ...         names = [type(e).__name__ async for e in events]
    ...     return names, events.result.path
    >>> trio.run(main)  # doctest: +NORMALIZE_WHITESPACE
    (['RunStarted', 'TokenDelta', 'ModelReplied', 'StepFinished', 'HandedOff',
      'TokenDelta', 'ModelReplied', 'StepFinished', 'RunFinished'], ('a', 'b'))
    """
    if not isinstance(group, Group):
        raise TypeError(f"run_group_stream() expects a Group first, got {type(group).__name__}")
    state = group.start(input)
    return drive_stream(
        _step_as_active(group),
        interpreter,
        state,
        advance=group.advance,
        finish=group.finish,
        run_state=_run_state,
        agent=state.active or "",
        extra_events=handoff_events,
        buffer=buffer,
    )

"""`group_interpreter`: perform a multi-agent `Group`'s effects; routing reads the effect.

A group run is ``run(group, interpreter, input)`` (or ``stream``): the same
loop as for one agent, over the group's pure step and fold. Each ``ToolCall``
names the agent whose tools it calls (``ToolCall.agent``, set by that
agent's step), so `group_interpreter` sends it to that agent's tools. No
ambient state is involved: a recorded call says whose tool ran, and one
interpreter is safe to share between concurrent runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import TypeVar, cast, final

import attrs

from tower_llm_fx import Effect, InterpreterError, ModelCall, ToolCall
from tower_llm_fx.group import Group

from ._dispatch import by_type
from ._tools import local_tools
from ._types import Interpreter

__all__ = ["group_interpreter"]

R = TypeVar("R")


@final
@attrs.frozen(eq=False)
class _AgentTools:
    by_agent: Mapping[str, Interpreter]

    def __call__(self, effect: Effect[R], /) -> Awaitable[R]:
        if type(effect) is not ToolCall:
            raise InterpreterError(
                f"group_interpreter()'s tools perform ToolCall, got {type(effect).__name__}; "
                "perform a Parallel with interpreters.perform (run() and stream() do)"
            )
        name = effect.agent
        tools = self.by_agent.get(name) if name is not None else None
        if tools is None:
            members = ", ".join(self.by_agent)
            raise InterpreterError(
                f"ToolCall {effect.id!r} ({effect.name}) has agent={name!r}, which is not an agent of "
                f"this group ({members}); a group routes each tool call by ToolCall.agent, which the "
                "agent's step sets: build hand-made calls with agent=<one of the group's agents>"
            )
        return cast("Awaitable[R]", tools(effect))

    def __repr__(self) -> str:
        return f"agent_tools({', '.join(self.by_agent)})"


def group_interpreter(group: Group, *, model: Interpreter, run_sync_in_thread: bool = False) -> Interpreter:
    """``by_type`` wiring ``model`` for ``ModelCall`` and, for each ``ToolCall``, the tools of its agent.

    Each agent's tools include its handoff tools, whose results are the
    handoff acknowledgements; a tool the call's agent does not have is an
    ``unknown_tool`` error result, even if another agent has it. Wrap the
    result in layers with ``stack(...)(group_interpreter(...))``.

    Raises (when called):
        InterpreterError: a ``ToolCall`` whose ``agent`` is not in the group.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import run, sequence
    >>> group = fx.group.Group.builder().agent(fx.Agent(model="m", name="solo")).build()
    >>> final = trio.run(run, group, group_interpreter(group, model=sequence(["Hi!"])), "Hello")
    >>> final.output, final.path
    ('Hi!', ('solo',))
    """
    if not isinstance(group, Group):
        raise TypeError(f"group_interpreter() expects a Group, got {type(group).__name__}")
    tools = _AgentTools(
        {
            name: local_tools(group.agent(name).tools, run_sync_in_thread=run_sync_in_thread)
            for name in group.names
        }
    )
    return by_type({ModelCall: model, ToolCall: tools})

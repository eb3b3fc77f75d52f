"""The runtime: the small loop that drives a step with an interpreter.

    while not done: effect = step(state); result = await interpreter(effect); state = advance(...)

Everything interesting is elsewhere: decisions in the pure step and policies,
I/O in the interpreter and its layers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

from tower_llm_fx import (
    Agent,
    Done,
    Effect,
    Message,
    ModelCall,
    Parallel,
    RunState,
    ToolCall,
    WrongResultType,
    advance,
    finish,
)
from tower_llm_fx.testing import check_step_output

from ._dispatch import by_type
from ._tools import local_tools
from ._types import Interpreter

__all__ = ["agent_interpreter", "drive", "run", "run_user"]

S = TypeVar("S")


async def drive(
    step: Callable[[S], Effect[Any] | Done],
    interpreter: Interpreter,
    state: S,
    *,
    advance: Callable[[S, Effect[Any], Any], S],
    observe: Callable[[S, Effect[Any], Any, S], Awaitable[object]] | None = None,
) -> tuple[S, Done]:
    """Run any step to completion; return the final state and the ``Done`` that ended it.

    ``observe(before, effect, result, after)``, if given, is awaited after
    each result is folded in, before the next step; it sees every exchange in
    order and cannot change the run (``drive_stream`` reports events with it).

    Raises:
        StepError: the step returned something that is not an effect.
        WrongResultType: the interpreter returned a result of the wrong type.
        Exception: whatever the interpreter or ``observe`` raised.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, fixed
    >>> agent = fx.Agent(model="demo")
    >>> seen = []
    >>> async def observe(before, effect, result, after):
    ...     seen.append(type(effect).__name__)
    >>> interp = agent_interpreter(agent, model=fixed("Hello!"))
    >>> state, done = trio.run(lambda: drive(agent.step, interp, fx.RunState.start("Hi"),
    ...                                       advance=fx.advance, observe=observe))
    >>> state.output, seen
    ('Hello!', ['ModelCall'])
    """
    while True:
        effect = step(state)
        if not isinstance(effect, Effect):
            out = check_step_output(effect, step)  # raises a diagnosing StepError unless Done
            return state, cast("Done", out)
        result = await interpreter(effect)
        expected = type(effect).result_type
        if not isinstance(result, expected):
            raise WrongResultType(
                f"{interpreter!r} returned {type(result).__name__} for {type(effect).__name__}; "
                f"expected {expected.__name__}"
            )
        new = advance(state, effect, result)
        if observe is not None:
            await observe(state, effect, result, new)
        state = new


def start_state(input: str | Sequence[Message] | RunState) -> RunState:
    if isinstance(input, RunState):
        return input
    if isinstance(input, (str, Sequence)):
        return RunState.start(input)
    raise TypeError(f"run() input must be a str, a sequence of messages or a RunState, got {input!r}")


async def run(agent: Agent, interpreter: Interpreter, input: str | Sequence[Message] | RunState) -> RunState:
    """Run ``agent`` on ``input`` until its policy stops it; return the final state.

    ``input`` is the user's text, a list of messages, or a `RunState` to resume.
    The final state's ``stop`` says why the run ended.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, fixed
    >>> agent = fx.Agent(model="demo")
    >>> final = trio.run(run, agent, agent_interpreter(agent, model=fixed("Hello!")), "Hi")
    >>> final.output, final.stop.kind
    ('Hello!', 'no_tool_calls')
    """
    if not isinstance(agent, Agent):
        raise TypeError(
            f"run() expects an Agent first, got {type(agent).__name__}; for a custom step use drive()"
        )
    state, done = await drive(agent.step, interpreter, start_state(input), advance=advance)
    return finish(state, done)


async def run_user(agent: Agent, interpreter: Interpreter, text: str) -> RunState:
    """Run ``agent`` on one user message (tower-llm's ``run_user``)."""
    return await run(agent, interpreter, text)


def agent_interpreter(agent: Agent, *, model: Interpreter, run_sync_in_thread: bool = False) -> Interpreter:
    """``by_type`` wiring ``model`` for ``ModelCall`` and ``agent``'s tools for tool calls.

    Wrap the result in layers with ``stack(...)(agent_interpreter(...))``.
    """
    tools = local_tools(agent.tools, run_sync_in_thread=run_sync_in_thread)
    return by_type({ModelCall: model, ToolCall: tools, Parallel: tools})

"""`run`: the one loop that performs any `Program` with an interpreter.

    state = program.start(input)
    while not done: effect = program.step(state); result = await perform(interpreter, effect); ...

Everything interesting is elsewhere: decisions in the program's pure step and
policies, I/O in the interpreter and its layers. A ``Parallel`` batch goes
through `perform`, call by call, so layers only ever see ``ToolCall``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar, cast

from tower_llm_fx import (
    Agent,
    Done,
    Effect,
    ModelCall,
    Parallel,
    Program,
    ToolCall,
)
from tower_llm_fx.testing import check_step_output

from ._dispatch import by_type
from ._durable import Reconciler, drive_durable
from ._perform import perform_parallel, wrong_result
from ._tools import local_tools
from ._types import Interpreter
from .stores._journal import JournalStore

__all__ = ["agent_interpreter", "drive", "run"]

S = TypeVar("S")


async def drive(
    program: Program[S],
    interpreter: Interpreter,
    state: S,
    *,
    observe: Callable[[S, Effect[Any], Any, S], Awaitable[object]] | None = None,
) -> tuple[S, Done]:
    """The loop of `run` from ``state``: the last state and the ``Done`` that ended it.

    ``observe(before, effect, result, after)`` is awaited after each result
    is folded in (``stream`` reports events with it).
    """
    step = program.step
    fold = program.advance
    while True:
        effect = step(state)
        if not isinstance(effect, Effect):
            out = check_step_output(effect, step)  # raises a diagnosing StepError unless Done
            return state, cast("Done", out)
        if type(effect) is Parallel:
            result: Any = await perform_parallel(interpreter, effect)
        else:
            result = await interpreter(effect)
            if not isinstance(result, type(effect).result_type):
                raise wrong_result(interpreter, effect, result)
        new = fold(state, effect, result)
        if observe is not None:
            await observe(state, effect, result, new)
        state = new


_PROGRAMS: set[type[Any]] = set()  # classes already checked: the check costs ~µs


def check_program(program: object, where: str) -> None:
    """Raise a `TypeError` naming what is missing unless ``program`` is a `Program`."""
    cls = type(program)
    if cls in _PROGRAMS:
        return
    if isinstance(program, Program):
        _PROGRAMS.add(cls)
    else:
        missing = [
            m
            for m in ("start", "step", "advance", "finish", "conversation", "events")
            if not callable(getattr(program, m, None))
        ]
        raise TypeError(
            f"{where}() expects a Program (an Agent, a Group, a with_session(...) or your own class "
            f"with start/step/advance/finish/conversation/events), got {type(program).__name__}"
            + (f", which has no {', '.join(missing)}" if missing else "")
        )


async def run(
    program: Program[S],
    interpreter: Interpreter,
    input: object,
    *,
    journal: JournalStore | None = None,
    run_id: str | None = None,
    reconcile: Reconciler | None = None,
    idempotent: Collection[str] = (),
) -> S:
    """Run ``program`` on ``input`` until its step says ``Done``; return the final state.

    ``program`` is an `Agent` (returns a `RunState`), a ``group.Group``
    (returns a ``GroupState``), a ``sessions.with_session(...)`` (returns a
    ``SessionState``) or any `Program`. ``input`` is what ``program.start``
    takes: the user's text, a list of messages, or a state to resume.

    With ``journal`` (a ``MemoryJournal`` or ``open_sqlite_journal(...)``) and
    ``run_id`` the run is *durable*: every effect is journalled before and
    after it is performed, and running the same ``run_id`` again resumes it
    (see `resume`, docs/durable.md): completed effects are replayed, tools
    not declared idempotent are never run twice (``reconcile`` decides, or the
    model reads an ``outcome_unknown`` result), and ``idempotent`` adds tool
    names to those the program's agents declare.

    Raises:
        StepError: the step returned something that is not an effect.
        WrongResultType: the interpreter returned a result of the wrong type.
        Exception: whatever the interpreter raised.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, fixed
    >>> agent = fx.Agent(model="demo")
    >>> final = trio.run(run, agent, agent_interpreter(agent, model=fixed("Hello!")), "Hi")
    >>> final.output, final.stop.kind
    ('Hello!', 'no_tool_calls')
    """
    check_program(program, "run")
    if journal is not None or run_id is not None:
        if journal is None or run_id is None:
            raise TypeError("a durable run needs both journal= and run_id= (or neither, for a plain run)")
        # run_durable's body (one coroutine less per run), its arguments by position (cheaper)
        state, done = await drive_durable(program, interpreter, input, journal, run_id, reconcile, idempotent)
    else:
        state, done = await drive(program, interpreter, program.start(input))
    return program.finish(state, done)


def agent_interpreter(agent: Agent, *, model: Interpreter, run_sync_in_thread: bool = False) -> Interpreter:
    """``by_type`` wiring ``model`` for ``ModelCall`` and ``agent``'s tools for ``ToolCall``.

    Wrap the result in layers with ``stack(...)(agent_interpreter(...))``.
    """
    tools = local_tools(agent.tools, run_sync_in_thread=run_sync_in_thread)
    return by_type({ModelCall: model, ToolCall: tools})

"""The `Program` protocol: what ``run`` and ``stream`` drive.

Theory of operation: every run in the library is the same loop over four
pure functions of a program's own state ``S``::

    state = program.start(input)
    while not isinstance(out := program.step(state), Done):
        state = program.advance(state, out, await perform(interpreter, out))
    final = program.finish(state, out)

`Agent` (``S`` = `RunState`), ``group.Group`` (``GroupState``) and the
session wrapper ``sessions.with_session`` (``SessionState``) are programs;
so is any class of yours with these methods. Two more pure functions let a
streamed run report on any program: ``conversation(state)`` is the
`RunState` inside a state (step numbers and `RunFinished` come from it),
and ``events(before, after)`` adds the program's own events (`RunStarted`
when ``before`` is ``None``, a group's ``HandedOff`` after a handoff).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from ._effects import Done, Effect
from ._events import RunEvent
from ._state import RunState

__all__ = ["Program"]

S = TypeVar("S")


@runtime_checkable
class Program(Protocol[S]):
    """A run as pure functions of its state ``S``; ``interpreters.run`` performs it.

    >>> from tower_llm_fx import Agent, ModelReply, assistant
    >>> agent: Program[RunState] = Agent(model="m")
    >>> state = agent.start("hi")
    >>> call = agent.step(state)
    >>> state = agent.advance(state, call, ModelReply(message=assistant("hello")))
    >>> agent.finish(state, agent.step(state)).output
    'hello'
    """

    def start(self, input: Any, /) -> S:
        """The state a run on ``input`` starts from (a state of ``S`` resumes as it is)."""
        ...

    def step(self, state: S, /) -> Effect[Any] | Done:
        """The next effect to perform, or ``Done``."""
        ...

    def advance(self, state: S, effect: Effect[Any], result: Any, /) -> S:
        """Fold the result of ``effect`` into ``state``."""
        ...

    def finish(self, state: S, done: Done, /) -> S:
        """The final state, once ``step`` returned ``done``."""
        ...

    def conversation(self, state: S, /) -> RunState:
        """The conversation inside ``state``."""
        ...

    def events(self, before: S | None, after: S, /) -> Iterable[RunEvent]:
        """The program's own events for the change ``before`` → ``after`` (``before`` is ``None`` at the start)."""
        ...

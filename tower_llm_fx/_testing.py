"""Synchronous test helpers for step authors: no event loop, no interpreter.

`run_sequence` drives a step with the exact ``(effect, result)`` pairs you
expect, in the spirit of the effect library's ``perform_sequence``: each effect
the step emits must *equal* the next expected one, the step must finish with
``Done`` once the pairs are used up, and on any mismatch you get the log of
what matched so far and ``NEXT EXPECTED``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ._diff import field_diff
from ._effects import Done, Effect
from ._errors import SequenceMismatch, StepError
from ._state import RunState, advance
from ._state import finish as _finish

__all__ = ["check_step_output", "run_sequence"]

S = TypeVar("S")


def check_step_output(out: object, step: object) -> Effect[Any] | Done:
    """Return ``out`` if it is an effect or ``Done``; raise a diagnosing `StepError` otherwise."""
    if isinstance(out, (Effect, Done)):
        return out
    name = getattr(step, "__qualname__", repr(step))
    if hasattr(out, "__await__") or hasattr(out, "cr_frame"):
        close = getattr(out, "close", None)
        if callable(close):
            close()
        raise StepError(
            f"step {name} returned a coroutine: steps are plain functions.\n"
            "  correct:   def step(state) -> Effect | Done\n"
            "  incorrect: async def step(state) ...\n"
            "Do the I/O in an interpreter and return an effect describing it."
        )
    if hasattr(out, "__next__") and hasattr(out, "send"):
        raise StepError(
            f"step {name} returned a generator: steps return one effect per call, "
            "and the state (not a suspended generator) carries progress between calls"
        )
    raise StepError(
        f"step {name} returned {out!r} ({type(out).__name__}); a step must return an Effect "
        "(ModelCall, ToolCall, Parallel, ...) or Done(reason=...)"
    )


def _log(lines: list[str]) -> str:
    return "\n".join(lines) if lines else "  (nothing matched yet)"


def run_sequence(
    step: Callable[[S], Effect[Any] | Done],
    state: S,
    expected: Sequence[tuple[Effect[Any], object]],
    *,
    advance: Callable[[S, Effect[Any], Any], S] = advance,  # type: ignore[assignment]
    finish: Callable[[S, Done], S] | None = None,
) -> S:
    """Drive ``step`` from ``state`` through ``expected`` pairs; return the final state.

    Args:
        step: the step function under test.
        state: the starting state.
        expected: ``(effect, result)`` pairs in the order the step must emit them.
        advance: folds a result into the state (default: the agent ``advance``).
        finish: applied to the final state and ``Done`` (default: records the stop
            reason on a `RunState`, leaves other states as they are).

    Raises:
        SequenceMismatch: an effect differed from the next expected one, the step
            asked for more than was expected, or finished with pairs unused.

    >>> from tower_llm_fx import Agent, ModelCall, ModelReply, RunState, UserMessage, assistant
    >>> agent = Agent(model="m")
    >>> final = run_sequence(agent.step, RunState.start("hi"), [
    ...     (ModelCall(model="m", messages=(UserMessage(content="hi"),)), ModelReply(message=assistant("hello"))),
    ... ])
    >>> final.output, final.stop.kind
    ('hello', 'no_tool_calls')
    """
    log: list[str] = []
    index = 0
    while True:
        out = check_step_output(step(state), step)
        if isinstance(out, Done):
            if index < len(expected):
                raise SequenceMismatch(
                    f"the step finished with {out.reason!r} but {len(expected) - index} expected "
                    f"effect(s) were never performed.\nmatched so far:\n{_log(log)}\n"
                    f"NEXT EXPECTED: {expected[index][0]!r}"
                )
            if finish is not None:
                return finish(state, out)
            if isinstance(state, RunState):
                return _finish(state, out)  # type: ignore[return-value]
            return state
        if index >= len(expected):
            raise SequenceMismatch(
                f"the step asked for effect #{index} but only {len(expected)} were expected.\n"
                f"matched so far:\n{_log(log)}\nNOT FOUND: {out!r}\n"
                "NEXT EXPECTED: nothing (the step should have returned Done)"
            )
        want, result = expected[index]
        if out != want:
            raise SequenceMismatch(
                f"effect #{index} differs from the expected one.\nmatched so far:\n{_log(log)}\n"
                f"NOT FOUND: {out!r}\nNEXT EXPECTED: {want!r}\n"
                f"differences (expected -> actual):\n{field_diff(want, out)}"
            )
        log.append(f"  #{index} sequence: {out!r}")
        state = advance(state, out, result)
        index += 1

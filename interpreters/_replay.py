"""`replay`: answer effects from a recorded trace, exactly, with no network.

The replayer follows the effect library's ``perform_sequence``: each incoming
effect must *equal* the next recorded one, and then the recorded result is
returned. At the first effect that differs it raises `ReplayMismatch` with
the index, the exchanges matched so far, ``NOT FOUND`` (what the run did),
``NEXT EXPECTED`` (what the trace holds), a field-level diff and the recorded
result that would have been returned. Recorded exchanges left unused when the
run ends are an error too: call `finish` or use ``async with``.

``replay(trace, prefix=k, then=other)`` replays the first ``k`` exchanges and
hands every later effect to ``other`` — a different model, say — so two
variants can be compared on an identical, free prefix.

The equality check is the hot path. Decoded traces share message objects
(see ``tower_llm_fx.trace._model``) and a replayed run feeds the recorded results
back into its state, so most comparisons end at an identity check.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, TypeVar, cast, final

from tower_llm_fx import Agent, ConfigurationError, Effect, Message, Program, SystemMessage
from tower_llm_fx.group import Group
from tower_llm_fx.testing import field_diff
from tower_llm_fx.trace import (
    Exchange,
    Redactor,
    ReplayMismatch,
    Trace,
    describe_effect,
    describe_result,
    new_exchange,
    redact_exchange,
    scrub_text,
    start_messages,
)

from ._run import check_program, run
from ._types import Interpreter

__all__ = ["replay", "replay_run"]

R = TypeVar("R")
S = TypeVar("S")

_LOG_LINES = 20


@final
class _Replay:
    """The ``replay(...)`` interpreter (see `replay`)."""

    __slots__ = ("_exchanges", "_handed_over", "_limit", "_next", "_redact", "_then")

    def __init__(
        self, exchanges: tuple[Exchange, ...], limit: int, then: Interpreter | None, redact: Redactor | None
    ) -> None:
        self._exchanges = exchanges
        self._limit = limit
        self._then = then
        self._redact = redact
        self._next = 0
        self._handed_over = 0

    async def __call__(self, effect: Effect[R], /) -> R:
        i = self._next
        if i < self._limit:
            exchange = self._exchanges[i]
            expected = exchange.effect
            if expected is effect or expected == effect or self._equal_when_redacted(effect, exchange):
                self._next = i + 1
                return cast("R", exchange.result)
            raise self._diverged(effect, i, exchange)
        if self._then is not None:
            self._handed_over += 1
            return await self._then(effect)
        raise self._past_end(effect)

    def __repr__(self) -> str:
        then = f", then={self._then!r}" if self._then is not None else ""
        return f"replay(<{self._limit} exchanges, {self._next} used>{then})"

    @property
    def used(self) -> int:
        """Recorded exchanges replayed so far."""
        return self._next

    @property
    def remaining(self) -> int:
        """Recorded exchanges (within the prefix) not replayed yet."""
        return self._limit - self._next

    @property
    def handed_over(self) -> int:
        """Effects passed to the ``then`` interpreter after the prefix."""
        return self._handed_over

    def finish(self) -> None:
        """Raise `ReplayMismatch` if recorded exchanges were left unused.

        An early stop must not pass silently: the run should have made every
        recorded effect.
        """
        if self._next < self._limit:
            i = self._next
            nxt = self._exchanges[i]
            raise ReplayMismatch(
                scrub_text(
                    f"the run ended after {i} of {self._limit} recorded exchanges; "
                    f"{self._limit - i} {'was' if self._limit - i == 1 else 'were'} never replayed.\n"
                    f"matched so far:\n{self._log(i)}\n"
                    f"NEXT EXPECTED: #{i} {describe_effect(nxt.effect)}\n"
                    "The step stopped earlier than the recorded run: check its stop policy, or "
                    "replay only a prefix with replay(trace, prefix=n)."
                ),
                index=i,
                expected=nxt,
            )

    assert_consumed = finish

    async def __aenter__(self) -> _Replay:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.finish()

    # -- the slow paths ------------------------------------------------------

    def _equal_when_redacted(self, effect: Effect[Any], exchange: Exchange) -> bool:
        """Whether ``effect`` matches once masked the way the trace was masked when written."""
        if type(effect) is not type(exchange.effect):
            return False
        try:
            masked = redact_exchange(new_exchange(effect, exchange.result), self._redact)
        except (TypeError, ValueError):
            return False
        return bool(masked.effect == exchange.effect)

    def _log(self, upto: int) -> str:
        if upto == 0:
            return "  (nothing matched yet)"
        start = max(0, upto - _LOG_LINES)
        lines = [f"  ... ({start} earlier exchanges)"] if start else []
        for i in range(start, upto):
            ex = self._exchanges[i]
            lines.append(f"  #{i} replay: {describe_effect(ex.effect)}")
            lines.append(f"      -> {describe_result(ex.result)}")
        return "\n".join(lines)

    def _diverged(self, effect: Effect[Any], i: int, exchange: Exchange) -> ReplayMismatch:
        expected = exchange.effect
        if type(expected) is not type(effect):
            diff = f"  effect type: {type(expected).__name__} -> {type(effect).__name__}"
        else:
            diff = field_diff(expected, effect)
        return ReplayMismatch(
            scrub_text(
                f"the run diverged from the trace at exchange #{i} (of {self._limit}).\n"
                f"matched so far:\n{self._log(i)}\n"
                f"NOT FOUND: {describe_effect(effect)}\n"
                f"NEXT EXPECTED: #{i} {describe_effect(expected)}\n"
                f"differences (expected -> actual):\n{diff}\n"
                f"recorded result (what replay would have returned):\n  {describe_result(exchange.result)}"
            ),
            index=i,
            expected=exchange,
            actual=effect,
        )

    def _past_end(self, effect: Effect[Any]) -> ReplayMismatch:
        i = self._next
        scope = (
            f"the first {self._limit} of {len(self._exchanges)}"
            if self._limit < len(self._exchanges)
            else "all"
        )
        return ReplayMismatch(
            scrub_text(
                f"the run made more effects than the trace holds: exchange #{i} is past the end "
                f"(replaying {scope} recorded exchanges).\nmatched so far:\n{self._log(i)}\n"
                f"NOT FOUND: {describe_effect(effect)}\n"
                "NEXT EXPECTED: nothing (the recorded run ended here; the step should have returned "
                "Done). To continue past the recording, pass then=<interpreter>."
            ),
            index=i,
            actual=effect,
        )


def replay(
    trace: Trace | Sequence[Exchange],
    *,
    prefix: int | None = None,
    then: Interpreter | None = None,
    redact: Redactor | None = None,
) -> _Replay:
    """An interpreter that answers each effect with its recorded result, if it equals the recording.

    Args:
        trace: a `Trace` (or its exchanges).
        prefix: replay only the first ``prefix`` exchanges (default: all).
        then: the interpreter for every effect after the prefix (replay then
            continue). It receives tool calls too, so give it a full interpreter
            such as ``agent_interpreter(agent, model=other_model)``. Without it,
            an effect past the prefix raises `ReplayMismatch`.
        redact: the redaction hook the trace was recorded with, so an effect
            whose masked form equals the recording counts as equal.

    Raises:
        ReplayMismatch: (when called) the effect differs from the next recorded
            one, or comes after the last; (from `finish` / ``async with``)
            recorded exchanges were left unused.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import replay
    >>> call = fx.ToolCall(id="c1", name="add", arguments='{"a": 2, "b": 3}')
    >>> trace = [fx.trace.Exchange(effect=call, result=fx.ToolResult.success(call_id="c1", name="add", content="5"))]
    >>> async def main():
    ...     async with replay(trace) as interp:
    ...         return (await interp(call)).content
    >>> trio.run(main)
    '5'
    """
    exchanges = trace.exchanges if isinstance(trace, Trace) else Trace(exchanges=tuple(trace)).exchanges
    limit = len(exchanges) if prefix is None else prefix
    if not isinstance(limit, int) or not 0 <= limit <= len(exchanges):
        raise ConfigurationError(
            f"replay(prefix={prefix!r}): the trace has {len(exchanges)} exchanges; "
            f"prefix must be between 0 and {len(exchanges)}"
        )
    if then is not None and not callable(then):
        raise TypeError(f"replay(then=...) must be an interpreter, got {then!r}")
    return _Replay(exchanges, limit, then, redact)


def _recorded_input(program: Program[Any], trace: Trace) -> tuple[Message, ...]:
    """The conversation the recorded run started from, minus the instructions the program put first."""
    if isinstance(program, Agent):
        return start_messages(trace, program.instructions)
    if isinstance(program, Group):
        messages = start_messages(trace, None)
        prompts = {program.agent(name).instructions for name in program.names}
        first = messages[0] if messages else None
        if isinstance(first, SystemMessage) and first.content in prompts:
            return messages[1:]
        return messages
    raise ValueError(
        f"replay_run() cannot read the start of a {type(program).__name__}'s run off the trace; "
        "pass input=<what the recorded run started from>"
    )


async def replay_run(
    program: Program[S],
    trace: Trace,
    *,
    input: object = None,
    prefix: int | None = None,
    then: Interpreter | None = None,
    redact: Redactor | None = None,
) -> S:
    """Re-run ``program`` (an `Agent`, a ``Group``, ...) against ``trace``; return its final state.

    The run starts from ``input`` or, for an agent or a group, by default from
    the conversation of the trace's first ``ModelCall`` (minus the
    instructions the program put first), so a recorded run replays from its
    trace alone. Every effect must match the recording (see `replay`), and all
    recorded exchanges (or the first ``prefix``) must be used. With ``then``,
    the run goes on live after the prefix: a resume.

    Raises:
        ReplayMismatch: the run diverged from the trace.
        ConfigurationError: no ``input`` was given and the trace does not start
            with a model call.
    """
    check_program(program, "replay_run")
    if input is None:
        try:
            input = _recorded_input(program, trace)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    async with replay(trace, prefix=prefix, then=then, redact=redact) as interp:
        return await run(program, interp, input)

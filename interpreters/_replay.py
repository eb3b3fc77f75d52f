"""`replay`: answer effects from a recorded trace, exactly, with no network.

The replayer follows the effect library's ``perform_sequence``: each incoming
effect must *equal* the next recorded one, and then the recorded result is
returned. At the first effect that differs it raises `ReplayMismatch` with
the index, the exchanges matched so far, ``NOT FOUND`` (what the run did),
``NEXT EXPECTED`` (what the trace holds), a field-level diff and the recorded
result that would have been returned. Recorded exchanges left unused when the
run ends are an error too: call `finish` or use ``async with``.

Tool calls of a ``Parallel`` batch reach the replayer one by one (see
``interpreters.perform``) in whatever order the scheduler runs them, and the
recorder wrote them in the order they finished; so a ``ToolCall`` may match
any unused call in the run of tool-call exchanges at the cursor. A call a
``FAIL_FAST`` batch cancelled left no exchange: if that run holds a failed
call, the replayer answers it as ``perform`` did, with a ``"cancelled"``
result. Traces written before calls carried their agent (``agent=None``)
match a call of any agent, and their one-exchange ``Parallel`` batches are
split into one exchange per call.

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

from tower_llm_fx import (
    Agent,
    ConfigurationError,
    Effect,
    Message,
    ModelReply,
    Parallel,
    Program,
    SystemMessage,
    ToolCall,
    ToolResult,
)
from tower_llm_fx.group import Group
from tower_llm_fx.serde import DEFAULT, Codec
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

from ._perform import fail_fast_cancelled, fails_batch
from ._run import check_program, run
from ._types import Interpreter

__all__ = ["replay", "replay_run"]

R = TypeVar("R")
S = TypeVar("S")

_LOG_LINES = 20


@final
class _Replay:
    """The ``replay(...)`` interpreter (see `replay`)."""

    __slots__ = (
        "_codec",
        "_exchanges",
        "_handed_over",
        "_limit",
        "_next",
        "_redact",
        "_then",
    )

    def __init__(
        self,
        exchanges: Sequence[Exchange],
        limit: int,
        then: Interpreter | None,
        redact: Redactor | None,
        codec: Codec = DEFAULT,
    ) -> None:
        self._codec = codec
        self._exchanges = exchanges
        self._limit = limit
        self._then = then
        self._redact = redact
        # Exchanges before _next are used. A batch's calls may be used out of
        # order: the one used is swapped to _next (in a private copy), so the
        # hot path stays one index and the log shows the order they were used in.
        self._next = 0
        self._handed_over = 0

    async def __call__(self, effect: Effect[R], /) -> R:
        i = self._next
        if i < self._limit:
            exchange = self._exchanges[i]
            expected = exchange.effect
            if expected is effect or expected == effect:
                self._next = i + 1
                return cast("R", exchange.result)
            if type(effect) is ToolCall:
                return cast("R", await self._tool_call(effect))
            i = self._skip_cancelled()
            if i < self._limit:
                exchange = self._exchanges[i]
                if exchange.effect == effect or self._equal_when_redacted(effect, exchange):
                    self._use(i)
                    return cast("R", exchange.result)
                raise self._diverged(effect, i, exchange)
        elif type(effect) is ToolCall:  # past the end: a call its FAIL_FAST batch cancelled, or `then`'s
            return cast("R", await self._tool_call(effect))
        if self._then is not None:
            self._handed_over += 1
            return await self._then(effect)
        raise self._past_end(effect)

    def _use(self, i: int) -> None:
        """Mark exchange ``i`` (at or after the cursor) used."""
        n = self._next
        if i != n:
            exchanges = self._exchanges
            if type(exchanges) is not list:
                exchanges = self._exchanges = list(exchanges)
            exchanges[n], exchanges[i] = exchanges[i], exchanges[n]
        self._next = n + 1

    def _cancelled_live(self, call: ToolCall, end: int) -> bool:
        """Whether the recording lacks ``call`` because its batch failed fast and cancelled it.

        So: the model asked for exactly this call in the reply before the run of
        tool calls, no exchange of the run has its id, and one of them failed.
        """
        exchanges, start = self._exchanges, self._run_start()
        if start == 0 or not isinstance(reply := exchanges[start - 1].result, ModelReply):
            return False
        # (By name and arguments: the run may have renamed duplicate or empty ids.)
        asked = any(r.name == call.name and r.arguments == call.arguments for r in reply.message.tool_calls)
        if not asked:
            return False
        failed = False
        for j in range(start, end):
            ex = exchanges[j]
            if ex.effect.id == call.id:  # type: ignore[attr-defined]
                return False  # recorded: a different call with this id is a divergence
            result = ex.result
            failed = failed or (isinstance(result, ToolResult) and fails_batch(result))
        return failed

    def _run_start(self) -> int:
        """Where the run of tool-call exchanges that reaches the cursor begins."""
        exchanges, start = self._exchanges, self._next
        while start > 0 and type(exchanges[start - 1].effect) is ToolCall:
            start -= 1
        return start

    def _run_end(self) -> int:
        end = self._next
        exchanges, limit = self._exchanges, self._limit
        while end < limit and type(exchanges[end].effect) is ToolCall:
            end += 1
        return end

    def _skip_cancelled(self) -> int:
        """Pass over the unused ``"cancelled"`` calls of a batch (a FAIL_FAST batch of a v1 trace)."""
        exchanges = self._exchanges
        i = self._next
        while i < self._limit and type(exchanges[i].effect) is ToolCall and _cancelled(exchanges[i].result):
            i += 1
        if i != self._next:
            self._next = i
        return i

    async def _tool_call(self, call: ToolCall) -> ToolResult:
        """A tool call of a batch: any unused call of the run at the cursor may answer it."""
        exchanges = self._exchanges
        end = self._run_end()
        for j in range(self._next, end):
            exchange = exchanges[j]
            if _same_call(exchange.effect, call) or (
                self._redact is not None and self._equal_when_redacted(call, exchange)
            ):
                self._use(j)
                return cast("ToolResult", exchange.result)
        if self._cancelled_live(call, end):
            # A FAIL_FAST batch: the recorded run cancelled this call when a sibling
            # failed, so it left no exchange; answer as perform did.
            return fail_fast_cancelled(call)
        i = self._next
        if i < self._limit:
            # Diff against the unused call with the same id, if the batch has one.
            i = next((j for j in range(i, end) if exchanges[j].effect.id == call.id), i)  # type: ignore[attr-defined]
            raise self._diverged(call, i, exchanges[i])
        if self._then is not None:
            self._handed_over += 1
            return await self._then(call)
        raise self._past_end(call)

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
        return self._limit - self.used

    @property
    def handed_over(self) -> int:
        """Effects passed to the ``then`` interpreter after the prefix."""
        return self._handed_over

    def finish(self) -> None:
        """Raise `ReplayMismatch` if recorded exchanges were left unused.

        An early stop must not pass silently: the run should have made every
        recorded effect.
        """
        if self._next < self._limit and self._skip_cancelled() < self._limit:
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
            masked = redact_exchange(new_exchange(effect, exchange.result), self._redact, codec=self._codec)
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


def _cancelled(result: object) -> bool:
    return isinstance(result, ToolResult) and result.error is not None and result.error.kind == "cancelled"


def _same_call(recorded: Effect[Any], call: ToolCall) -> bool:
    """Equal, or equal but for ``agent`` where the recording predates the field (``agent=None``)."""
    if recorded == call:
        return True
    return (
        type(recorded) is ToolCall
        and recorded.agent is None
        and recorded.id == call.id
        and recorded.name == call.name
        and recorded.arguments == call.arguments
    )


def _per_call(exchanges: tuple[Exchange, ...], limit: int) -> tuple[tuple[Exchange, ...], int]:
    """v1 traces hold a ``Parallel`` batch as one exchange: split it into one per call."""
    for ex in exchanges:
        if type(ex.effect) is Parallel:
            break
    else:
        return exchanges, limit  # the common case: nothing to split
    out: list[Exchange] = []
    new_limit = 0
    for i, ex in enumerate(exchanges):
        effect = ex.effect
        if type(effect) is Parallel:
            out.extend(new_exchange(c, r) for c, r in zip(effect.calls, ex.result, strict=True))
        else:
            out.append(ex)
        if i < limit:
            new_limit = len(out)
    return tuple(out), new_limit


def replay(
    trace: Trace | Sequence[Exchange],
    *,
    prefix: int | None = None,
    then: Interpreter | None = None,
    redact: Redactor | None = None,
    codec: Codec = DEFAULT,
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
        codec: the codec the trace was written with (for ``redact``, which
            masks the JSON form of values of your own types).

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
    exchanges, limit = _per_call(exchanges, limit)
    return _Replay(exchanges, limit, then, redact, codec)


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
    codec: Codec = DEFAULT,
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
    async with replay(trace, prefix=prefix, then=then, redact=redact, codec=codec) as interp:
        return await run(program, interp, input)

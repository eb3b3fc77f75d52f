"""The effect journal of a durable run: its entries, how they fold, and the trace they make.

Theory of operation (read before changing anything here):

* A durable run appends one entry at a time, never rewriting: `RunBegun`
  (the run id and the input ``program.start`` took), then per effect an
  `Intent` *before* it is performed (the effect, its attempt number, the
  idempotency key of a tool call) and an `Outcome` (its result) or a
  `Failure` (raised, cancelled or timed out) *after*.
* Effects are numbered by ``at``, their position in the run (the n-th effect
  the program's step returned); a call of a ``Parallel`` batch is ``(at,
  call)``, ``call`` its index in the batch. The program is pure, so a resumed
  run derives the same effects at the same positions: the journal is looked
  up by position, and an effect that differs from its intent is a
  ``ReplayMismatch`` (the program changed), never silently answered.
* A completed batch also gets an `Outcome` at ``(at, None)`` holding the
  tuple the run folded in, so a resume replays the batch whole.
* `fold_journal` turns the entries into one `Slot` per position: the latest
  attempt, its effect, and whether it completed, failed or is still open (an
  intent without an outcome: the crash window).
* `journal_trace` is the journal as a trace (format v2): the completed
  exchanges in the order they completed, one per call of a batch, so a
  durable run's journal replays with ``replay`` and the CLI shows it.
* Rule: everything here is pure data and pure functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeAlias, final

import attrs
from attrs import validators as v

from tower_llm_fx import Effect, Parallel
from tower_llm_fx._unchecked import unchecked_factory
from tower_llm_fx.trace import Exchange, Trace, TraceMeta, check_result

__all__ = [
    "Entry",
    "Failure",
    "FailureKind",
    "Intent",
    "Key",
    "Outcome",
    "OutcomeHow",
    "RunBegun",
    "Slot",
    "fold_journal",
    "journal_input",
    "journal_trace",
    "new_intent",
    "new_outcome",
    "new_run_begun",
]

_pos = [v.instance_of(int), v.ge(0)]
_attempt = [v.instance_of(int), v.ge(1)]
_call = v.optional([v.instance_of(int), v.ge(0)])

Key: TypeAlias = tuple[int, int | None]
"""Where an effect is in a run: ``(at, None)``, or ``(at, i)`` for call ``i`` of the batch at ``at``."""

FailureKind: TypeAlias = Literal["raised", "cancelled", "timeout"]
OutcomeHow: TypeAlias = Literal["performed", "reconciled", "outcome_unknown"]


@final
@attrs.frozen(kw_only=True)
class RunBegun:
    """The first entry of a journal: the run's id and the input its program started from."""

    run_id: str = attrs.field(validator=v.instance_of(str))
    input: Any = attrs.field(default=())


@final
@attrs.frozen(kw_only=True)
class Intent:
    """About to perform ``effect`` (attempt ``attempt``) at position ``(at, call)``.

    >>> from tower_llm_fx import ToolCall
    >>> Intent(at=2, call=0, effect=ToolCall(id="c1", name="pay"), idempotency_key="r/2/c1").key
    (2, 0)
    """

    at: int = attrs.field(validator=_pos)
    call: int | None = attrs.field(default=None, validator=_call)
    attempt: int = attrs.field(default=1, validator=_attempt)
    effect: Effect[Any] = attrs.field(validator=v.instance_of(Effect))
    idempotency_key: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))

    @property
    def key(self) -> Key:
        """``(at, call)``."""
        return (self.at, self.call)


@final
@attrs.frozen(kw_only=True)
class Outcome:
    """The result of the effect at ``(at, call)``.

    ``how``: ``"performed"`` (the interpreter answered), ``"reconciled"`` (a
    reconciler or the session store said what happened in the crash window)
    or ``"outcome_unknown"`` (the run answered with an ``outcome_unknown``
    tool result instead of running the tool again).
    """

    at: int = attrs.field(validator=_pos)
    call: int | None = attrs.field(default=None, validator=_call)
    attempt: int = attrs.field(default=1, validator=_attempt)
    result: Any = attrs.field()
    how: OutcomeHow = attrs.field(
        default="performed", validator=v.in_(("performed", "reconciled", "outcome_unknown"))
    )

    @property
    def key(self) -> Key:
        """``(at, call)``."""
        return (self.at, self.call)


@final
@attrs.frozen(kw_only=True)
class Failure:
    """Attempt ``attempt`` at ``(at, call)`` raised (``message`` says what), was cancelled, or timed out."""

    at: int = attrs.field(validator=_pos)
    call: int | None = attrs.field(default=None, validator=_call)
    attempt: int = attrs.field(default=1, validator=_attempt)
    kind: FailureKind = attrs.field(validator=v.in_(("raised", "cancelled", "timeout")))
    message: str = attrs.field(default="", validator=v.instance_of(str))

    @property
    def key(self) -> Key:
        """``(at, call)``."""
        return (self.at, self.call)


Entry: TypeAlias = RunBegun | Intent | Outcome | Failure
"""One line of a journal."""

_intent: Callable[..., Intent] = unchecked_factory(
    Intent, "at", "call", "attempt", "effect", "idempotency_key"
)
_outcome: Callable[..., Outcome] = unchecked_factory(Outcome, "at", "call", "attempt", "result")
_begun: Callable[..., RunBegun] = unchecked_factory(RunBegun, "run_id", "input")


def new_run_begun(run_id: str, input: object) -> RunBegun:
    """A `RunBegun` built without validators, for a ``run_id`` the runner checked is a string.

    >>> new_run_begun("r1", "hello") == RunBegun(run_id="r1", input="hello")
    True
    """
    return _begun(run_id, input)


def new_intent(
    at: int, call: int | None, attempt: int, effect: Effect[Any], idempotency_key: str | None
) -> Intent:
    """An `Intent` built without validators, from values the runner has already checked (its hot path).

    >>> from tower_llm_fx import ToolCall
    >>> new_intent(0, None, 1, ToolCall(id="c1", name="pay"), "r/0/c1") == Intent(at=0, effect=ToolCall(id="c1", name="pay"), idempotency_key="r/0/c1")
    True
    """
    return _intent(at, call, attempt, effect, idempotency_key)


def new_outcome(at: int, call: int | None, attempt: int, result: object) -> Outcome:
    """A performed `Outcome` built without validators (the runner's hot path)."""
    return _outcome(at, call, attempt, result)


@final
@attrs.frozen(kw_only=True)
class Slot:
    """What the journal knows about one position: its latest attempt and how it ended.

    ``outcome`` is set once the position completed (a later attempt never
    follows it); ``open`` means the latest attempt has an intent and nothing
    after it, the crash window.
    """

    effect: Effect[Any] | None = attrs.field(default=None)
    attempt: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])
    outcome: Outcome | None = attrs.field(default=None)
    failure: Failure | None = attrs.field(default=None)
    open: bool = attrs.field(default=False, validator=v.instance_of(bool))


def fold_journal(entries: Iterable[Entry]) -> dict[Key, Slot]:
    """One `Slot` per position of the journal ``entries`` (pure).

    >>> from tower_llm_fx import ToolCall, ToolResult
    >>> call = ToolCall(id="c1", name="pay")
    >>> slots = fold_journal([RunBegun(run_id="r"), Intent(at=0, effect=call)])
    >>> slots[(0, None)].open
    True
    >>> done = ToolResult.success(call_id="c1", name="pay", content="ok")
    >>> fold_journal([Intent(at=0, effect=call), Outcome(at=0, result=done)])[(0, None)].outcome.result.content
    'ok'
    """
    slots: dict[Key, Slot] = {}
    for entry in entries:
        if type(entry) is RunBegun:
            continue
        if type(entry) not in (Intent, Outcome, Failure):
            raise TypeError(
                f"a journal holds RunBegun, Intent, Outcome and Failure entries, got {entry!r:.200}"
            )
        key = entry.key
        slot = slots.get(key, Slot())
        if type(entry) is Intent:
            slots[key] = Slot(effect=entry.effect, attempt=entry.attempt, open=True)
        elif type(entry) is Outcome:
            slots[key] = attrs.evolve(
                slot, outcome=entry, open=False, attempt=max(slot.attempt, entry.attempt)
            )
        else:
            slots[key] = attrs.evolve(slot, failure=entry, open=False)
    return slots


def journal_input(entries: Sequence[Entry]) -> RunBegun:
    """The `RunBegun` a journal starts with.

    Raises:
        ValueError: the journal does not start with one (it is not a durable run's journal).
    """
    if not entries or type(entries[0]) is not RunBegun:
        first = type(entries[0]).__name__ if entries else "nothing"
        raise ValueError(f"a journal starts with a RunBegun entry, this one with {first}; is it a journal?")
    return entries[0]


def journal_trace(entries: Iterable[Entry], meta: TraceMeta | None = None) -> Trace:
    """The journal as a trace: each completed effect and its result, in the order they completed.

    A batch appears call by call (as ``record`` writes it); its whole-batch
    outcome is left out, and so is a call it cancelled, as in a recording.

    >>> from tower_llm_fx import ToolCall, ToolResult
    >>> call = ToolCall(id="c1", name="pay")
    >>> done = ToolResult.success(call_id="c1", name="pay", content="ok")
    >>> trace = journal_trace([RunBegun(run_id="r"), Intent(at=0, effect=call), Outcome(at=0, result=done)])
    >>> [ex.result.content for ex in trace.exchanges]
    ['ok']
    """
    effects: dict[Key, Effect[Any]] = {}
    exchanges: list[Exchange] = []
    run_id: str | None = None
    for entry in entries:
        if type(entry) is RunBegun:
            run_id = entry.run_id
        elif type(entry) is Intent:
            effects[entry.key] = entry.effect
        elif type(entry) is Outcome:
            effect = effects.get(entry.key)
            if effect is None or type(effect) is Parallel:
                continue  # a batch's own outcome: its calls are in the trace one by one
            if check_result(effect, entry.result) is None:
                exchanges.append(Exchange(effect=effect, result=entry.result))
    if meta is None:
        meta = TraceMeta(tags={"journal": run_id} if run_id is not None else None)
    return Trace(meta=meta, exchanges=tuple(exchanges))

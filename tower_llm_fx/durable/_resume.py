"""What a resumed run does with each effect, given what its journal holds (pure decisions).

Theory of operation: when a durable run reaches the effect at position
``key``, `decide` looks at the journal's `Slot` for it:

* nothing journalled → `Perform` attempt 1 (a live run does only this);
* an outcome → `Replay` it: no model call, no tool runs again;
* an attempt without an outcome (the crash window, or a failure):
  - a model call, a tool declared idempotent, or any effect that only
    reads (``LoadSession``, ...) → `Perform` the next attempt;
  - a ``SaveSession`` → `CheckSaved`: the shell loads the session and
    `reconcile_save` says whether the save is already in it (then its
    ``Saved`` is the answer, so a resume never meets a ``SessionConflict``);
  - any other tool call → `Reconcile`: a reconciler of yours may say what
    happened (say, by asking the backend with the idempotency key);
    otherwise the answer is `outcome_unknown`, a tool result the model
    reads. A non-idempotent tool is never run twice silently.

A journalled effect that differs from the one the program returns now
raises ``ReplayMismatch``: the program or its input changed since.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeAlias, final

import attrs
from attrs import validators as v

from tower_llm_fx import Agent, Effect, ToolCall, ToolResult
from tower_llm_fx.group import Group
from tower_llm_fx.sessions import Saved, SaveSession, SessionLog, SessionStep
from tower_llm_fx.testing import field_diff
from tower_llm_fx.trace import ReplayMismatch

from ._journal import Key, Slot

__all__ = [
    "CheckSaved",
    "Decision",
    "Perform",
    "Reconcile",
    "Replay",
    "decide",
    "idempotent_tools",
    "outcome_unknown",
    "reconcile_save",
]

_attempt = [v.instance_of(int), v.ge(1)]


@final
@attrs.frozen(kw_only=True)
class Replay:
    """Answer with the journalled ``result``; perform nothing."""

    result: Any = attrs.field()


@final
@attrs.frozen(kw_only=True)
class Perform:
    """Perform the effect (again): this is attempt ``attempt``."""

    attempt: int = attrs.field(default=1, validator=_attempt)


@final
@attrs.frozen(kw_only=True)
class Reconcile:
    """A non-idempotent tool call lost its outcome: ask the reconciler, else answer `outcome_unknown`."""

    attempt: int = attrs.field(validator=_attempt)


@final
@attrs.frozen(kw_only=True)
class CheckSaved:
    """A ``SaveSession`` lost its outcome: load the session and ask `reconcile_save`."""

    attempt: int = attrs.field(validator=_attempt)


Decision: TypeAlias = Replay | Perform | Reconcile | CheckSaved
_FIRST = Perform(attempt=1)  # what a live run decides for every effect: one value, built once


def decide(key: Key, effect: Effect[Any], slot: Slot | None, *, idempotent: Collection[str] = ()) -> Decision:
    """What to do with ``effect`` at ``key`` when the journal holds ``slot`` there (pure).

    ``idempotent`` names the tools that are safe to run twice.

    Raises:
        ReplayMismatch: the journal holds a different effect at ``key``.

    >>> from tower_llm_fx import ToolCall
    >>> call = ToolCall(id="c1", name="pay")
    >>> decide((0, None), call, None)
    Perform(attempt=1)
    >>> decide((0, None), call, Slot(effect=call, attempt=1, open=True))
    Reconcile(attempt=2)
    >>> decide((0, None), call, Slot(effect=call, attempt=1, open=True), idempotent={"pay"})
    Perform(attempt=2)
    """
    if slot is None or slot.effect is None:
        return _FIRST
    if slot.effect != effect:
        at, call = key
        where = f"effect {at}" + ("" if call is None else f", call {call}")
        raise ReplayMismatch(
            f"the journal holds a different {type(slot.effect).__name__} at {where} than the "
            f"{type(effect).__name__} the program returned there now; resume with the program and "
            f"input the run began with (or start a new run id).\n{field_diff(slot.effect, effect)}",
            index=at,
            expected=slot.effect,
            actual=effect,
        )
    if slot.outcome is not None:
        return Replay(result=slot.outcome.result)
    attempt = slot.attempt + 1
    if type(effect) is ToolCall:
        return Perform(attempt=attempt) if effect.name in idempotent else Reconcile(attempt=attempt)
    if type(effect) is SaveSession:
        return CheckSaved(attempt=attempt)
    return Perform(attempt=attempt)


def outcome_unknown(call: ToolCall, idempotency_key: str | None = None) -> ToolResult:
    """The answer to a non-idempotent tool call whose outcome a crash lost (the model reads it).

    >>> from tower_llm_fx import ToolCall
    >>> outcome_unknown(ToolCall(id="c1", name="pay"), "r/3/c1").error.kind
    'outcome_unknown'
    """
    key = "" if idempotency_key is None else f" (idempotency key {idempotency_key})"
    return ToolResult.failure(
        call_id=call.id,
        name=call.name,
        kind="outcome_unknown",
        message=(
            f"the run stopped while {call.name!r} was running{key}, so whether it took effect is "
            "unknown; it was not run again. Check its effect before calling it again."
        ),
    )


def reconcile_save(effect: SaveSession, log: SessionLog) -> Saved | None:
    """The ``Saved`` of ``effect`` if ``log`` shows it already stored, else ``None`` (save it again).

    >>> from tower_llm_fx import user
    >>> from tower_llm_fx.sessions import SaveSession, SessionLog
    >>> save = SaveSession(session_id="s", after_seq=0, records=(user("hi"),))
    >>> reconcile_save(save, SessionLog(session_id="s", records=(user("hi"),)))
    Saved(session_id='s', last_seq=1)
    >>> reconcile_save(save, SessionLog(session_id="s")) is None
    True
    """
    n = len(effect.records)
    end = effect.after_seq + n
    if (
        log.session_id == effect.session_id
        and log.last_seq == end
        and log.records[effect.after_seq :] == effect.records
    ):
        return Saved(session_id=effect.session_id, last_seq=end)
    return None


def _agents(program: object) -> tuple[Agent, ...]:
    """The agents of ``program`` (an `Agent`, a ``Group``, a session wrapper); ``()`` for any other."""
    if isinstance(program, Agent):
        return (program,)
    if isinstance(program, Group):
        return tuple(program.agent(n) for n in program.names)
    if isinstance(program, SessionStep):
        return _agents(getattr(program.inner, "__self__", None))
    return ()


def idempotent_tools(program: object) -> frozenset[str]:
    """The names of the tools ``program`` declares idempotent (an `Agent`, a ``Group``, a session wrapper).

    >>> from tower_llm_fx import Agent, tool
    >>> @tool(idempotent=True)
    ... def look(q: str) -> str:
    ...     "Look something up."
    ...     return q
    >>> sorted(idempotent_tools(Agent(model="m", tools=(look,))))
    ['look']
    """
    names = frozenset(t.name for a in _agents(program) for t in a.tools if t.idempotent)
    if isinstance(program, Group):
        # A handoff tool only answers with the handoff (no side effect): it is safe to repeat.
        names |= frozenset(r.tool_name for name in program.names for r in program.handoff_routes(name))
    return names


def context_free_tools(program: object) -> frozenset[str]:
    """The names of ``program``'s tools that take no ``ToolContext``: a durable run keys no call of theirs.

    Every tool of such a name, in every agent of ``program``, is a function
    without a ``ToolContext`` parameter, so nothing the program defines would
    read a call's context (`keyed`); the run skips building it. A name some
    agent gives a tool that takes one, a handoff tool, and every tool of a
    program that is not an `Agent`, a ``Group`` or a session wrapper are not
    in it: their calls carry their context.

    >>> from tower_llm_fx import Agent, tool
    >>> from tower_llm_fx.durable import ToolContext
    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     "Add."
    ...     return a + b
    >>> @tool
    ... def pay(amount: int, ctx: ToolContext) -> str:
    ...     "Pay."
    ...     return "ok"
    >>> sorted(context_free_tools(Agent(model="m", tools=(add, pay))))
    ['add']
    """
    tools = [t for a in _agents(program) for t in a.tools]
    asking = {t.name for t in tools if t.context is not None}
    if isinstance(program, Group):
        asking.update(r.tool_name for name in program.names for r in program.handoff_routes(name))
    return frozenset(t.name for t in tools if t.name not in asking)

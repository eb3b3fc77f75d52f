"""Multi-agent state: the one shared conversation, the active agent, the handoffs.

Theory of operation: a group run is a single agent run (`RunState`: one copy
of the conversation, the step and usage counters, the stop reason) plus who is
talking. Rule 1: `GroupState` is data. It names agents, it never holds an
`Agent` (agents hold functions); the frozen `Group` definition maps names to
agents. Rule 2: a handoff is a pure state transition that takes effect after a
completed step: the active agent changes, a `HandoffRecord` is appended, and
the next ``ModelCall`` is built from the new agent. Nothing is copied: the
conversation stays one tuple, and what an agent *sees* of it (an input filter)
is recomputed from the records, never stored.
"""

from __future__ import annotations

from typing import final

import attrs
from attrs import validators as v

from tower_llm_fx._effects import StopReason
from tower_llm_fx._events import RunEvent
from tower_llm_fx._json import canonical_json_or_none
from tower_llm_fx._messages import Message
from tower_llm_fx._state import RunState
from tower_llm_fx._unchecked import unchecked

__all__ = ["GroupState", "HandedOff", "Handoff", "HandoffRecord", "handoff_events"]

_str = v.instance_of(str)
_opt_str = v.optional(_str)
_nonneg = [v.instance_of(int), v.ge(0)]


@final
@attrs.frozen(kw_only=True)
class Handoff:
    """A decision to give the conversation to agent ``target``.

    Explicit handoffs come from a ``handoff_to_<target>`` tool call (``via`` is
    the tool name, ``call_id`` the call); automatic ones from a policy (``via``
    is its label, e.g. ``"sequential"``). ``context`` is canonical JSON text.

    >>> Handoff(target="billing", reason="refund", context={"order": 7}).context
    '{"order":7}'
    """

    target: str = attrs.field(validator=_str)
    reason: str | None = attrs.field(default=None, validator=_opt_str)
    context: str | None = attrs.field(default=None, converter=canonical_json_or_none)
    via: str = attrs.field(default="", validator=_str)
    call_id: str | None = attrs.field(default=None, validator=_opt_str)


@final
@attrs.frozen(kw_only=True)
class HandoffRecord:
    """A handoff that happened: ``source`` gave the conversation to ``target``.

    ``at`` is the number of messages in the conversation at that moment (the
    target's turn starts there); ``step`` is the run's completed-step count.
    ``summary`` is the summary a summarising ``compacting_handoff`` obtained for
    the history before ``at`` (``""``: the model gave none; ``None``: not asked).
    """

    source: str = attrs.field(validator=_str)
    target: str = attrs.field(validator=_str)
    reason: str | None = attrs.field(default=None, validator=_opt_str)
    context: str | None = attrs.field(default=None, converter=canonical_json_or_none)
    via: str = attrs.field(default="", validator=_str)
    call_id: str | None = attrs.field(default=None, validator=_opt_str)
    at: int = attrs.field(validator=_nonneg)
    step: int = attrs.field(validator=_nonneg)
    summary: str | None = attrs.field(default=None, validator=_opt_str)


def _records(value: object) -> tuple[HandoffRecord, ...]:
    items = tuple(value) if isinstance(value, (list, tuple)) else None
    if items is None or not all(isinstance(r, HandoffRecord) for r in items):
        raise TypeError(f"handoffs must be a tuple of HandoffRecord, got {value!r}")
    return items


@final
@attrs.frozen(kw_only=True)
class GroupState:
    """The state of a multi-agent run.

    Attributes:
        run: the shared run: the one conversation, counters and stop reason.
        active: the agent whose turn it is; ``None`` only until a model-based
            picker has chosen the first agent.
        handoffs: every handoff so far, oldest first.
        turn_start: index of the first message of the active agent's turn.
        turn_first_step: ``run.steps`` when the active agent's turn began (its
            stop policy counts steps from there).
        requested: a handoff acknowledged in the current step; it takes effect
            once every tool call of that step is answered.

    >>> from tower_llm_fx import RunState
    >>> state = GroupState(run=RunState.start("hi"), active="triage", turn_start=1)
    >>> state.path, state.output
    (('triage',), None)
    """

    run: RunState = attrs.field(validator=v.instance_of(RunState))
    active: str | None = attrs.field(validator=_opt_str)
    handoffs: tuple[HandoffRecord, ...] = attrs.field(default=(), converter=_records)
    turn_start: int = attrs.field(default=0, validator=_nonneg)
    turn_first_step: int = attrs.field(default=0, validator=_nonneg)
    requested: Handoff | None = attrs.field(default=None, validator=v.optional(v.instance_of(Handoff)))

    def __attrs_post_init__(self) -> None:
        if self.turn_start > len(self.run.messages):
            raise ValueError(
                f"turn_start is {self.turn_start} but the conversation has only "
                f"{len(self.run.messages)} messages"
            )
        if self.turn_first_step > self.run.steps:
            raise ValueError(f"turn_first_step {self.turn_first_step} is after run.steps {self.run.steps}")
        if self.active is None and self.handoffs:
            raise ValueError("a state with handoffs must name its active agent")

    @property
    def messages(self) -> tuple[Message, ...]:
        """The shared conversation (``run.messages``)."""
        return self.run.messages

    @property
    def output(self) -> str | None:
        """The text of the last assistant message, if any."""
        return self.run.output

    @property
    def stop(self) -> StopReason | None:
        """Why the run stopped; ``None`` while it is running."""
        return self.run.stop

    @property
    def path(self) -> tuple[str, ...]:
        """The agents that held the conversation, in order (``()`` before the first pick)."""
        if self.handoffs:
            return (self.handoffs[0].source, *(r.target for r in self.handoffs))
        return () if self.active is None else (self.active,)

    @property
    def turn_steps(self) -> int:
        """Steps the active agent has completed in its current turn."""
        return self.run.steps - self.turn_first_step


_FIELDS = ("run", "active", "handoffs", "turn_start", "turn_first_step", "requested")


def replace_fields(state: GroupState, **changes: object) -> GroupState:
    """``attrs.evolve`` without re-running validators, for the fold's hot path: every
    value passed here comes from a validated state, result or record."""
    return unchecked(
        GroupState, **{name: changes[name] if name in changes else getattr(state, name) for name in _FIELDS}
    )


@final
@attrs.frozen(kw_only=True)
class HandedOff(RunEvent):
    """A streaming event: the conversation moved from one agent to another.

    It follows the `StepFinished` of the step in which the handoff was asked
    for (``handoff.step``); the next events belong to ``handoff.target``.
    """

    handoff: HandoffRecord = attrs.field(validator=v.instance_of(HandoffRecord))


def handoff_events(before: GroupState, after: GroupState) -> tuple[HandedOff, ...]:
    """The `HandedOff` events for the handoffs ``after`` has and ``before`` had not.

    >>> import attrs
    >>> from tower_llm_fx import RunState
    >>> start = GroupState(run=RunState.start("hi"), active="a", turn_start=1)
    >>> record = HandoffRecord(source="a", target="b", at=1, step=0)
    >>> handoff_events(start, attrs.evolve(start, active="b", handoffs=(record,)))
    (HandedOff(handoff=HandoffRecord(source='a', target='b', reason=None, context=None, via='', call_id=None, at=1, step=0, summary=None)),)
    """
    return tuple(HandedOff(handoff=r) for r in after.handoffs[len(before.handoffs) :])

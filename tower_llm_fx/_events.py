"""Streaming events: what a streamed run reports while it happens.

Theory of operation: an event is a frozen, final, keyword-only value, like an
effect or a result, so a stream of events can be logged, compared in tests
and encoded with `to_json`. Events are *observations*: the run's outcome is
decided by the effects and results alone, never by who watched the events, so
a streamed run and a plain run of the same conversation end in the same state.

Every event subclasses the marker `RunEvent`. Consumers dispatch on the
concrete type (``isinstance`` or ``match``) and must ignore types they do not
know: later features add their own events (a handoff, a compaction, ...) by
subclassing `RunEvent` in their own module; they serialise once they have a
wire name (in ``tower_llm_fx/_wire.py``, or ``Codec.with_types`` for yours).

Order of the events of one run (``step`` is 1-based; one step is one model
call plus the tool calls it asked for)::

    RunStarted
    ( TokenDelta | ReasoningDelta | RefusalDelta | ToolCallStarted | ToolCallArgumentsDelta )*   provisional
    ModelReplied                                                            authoritative
    ToolCallFinished*                                                     in call order
    StepFinished                                          when the step is complete
    ... (next step)
    RunFinished

Deltas are *provisional*: a streaming interpreter reports text as it arrives,
and if the model call then fails and a retry layer tries again, the deltas of
the failed attempt were already delivered. `ModelReplied` carries the
message the run actually continues with. `reply_events` gives the deltas an
interpreter that cannot stream stands for: the whole text as one delta.

Rule: this module is pure; nothing here knows how events are delivered
(that is ``interpreters.stream``).
"""

from __future__ import annotations

from typing import final

import attrs
from attrs import validators as v

from ._results import ModelReply, ToolResult, Usage
from ._state import RunState

__all__ = [
    "ModelReplied",
    "RefusalDelta",
    "ReasoningDelta",
    "RunEvent",
    "RunFinished",
    "RunStarted",
    "StepFinished",
    "TokenDelta",
    "ToolCallArgumentsDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "reply_events",
]

_str = v.instance_of(str)


def _positive(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"{attr.name} must be a positive int (steps count from 1), got {value!r}")


def _index(_inst: object, _attr: object, value: int) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"index must be a non-negative int, got {value!r}")


class RunEvent:
    """Marker base of every streaming event. Don't instantiate it.

    Subclass it (``@final @attrs.frozen(kw_only=True)``) to add an event kind.
    """

    __slots__ = ()


@final
@attrs.frozen(kw_only=True)
class RunStarted(RunEvent):
    """The run began: ``state`` is the state it starts from (fresh, or resumed).

    >>> from tower_llm_fx import RunState
    >>> RunStarted(agent="assistant", state=RunState.start("hi")).state.messages[0].content
    'hi'
    """

    agent: str = attrs.field(validator=_str)
    state: RunState = attrs.field(validator=v.instance_of(RunState))


@final
@attrs.frozen(kw_only=True)
class TokenDelta(RunEvent):
    """A piece of the assistant's text, in arrival order (provisional).

    >>> TokenDelta(step=1, text="Hel")
    TokenDelta(step=1, text='Hel')
    """

    step: int = attrs.field(validator=_positive)
    text: str = attrs.field(validator=_str)


@final
@attrs.frozen(kw_only=True)
class RefusalDelta(RunEvent):
    """A piece of the model's refusal text (provisional)."""

    step: int = attrs.field(validator=_positive)
    text: str = attrs.field(validator=_str)


@final
@attrs.frozen(kw_only=True)
class ReasoningDelta(RunEvent):
    """A piece of a reasoning model's thinking (``reasoning_content``, ``reasoning``,
    Mistral's ``thinking`` parts), in arrival order (provisional). The reply's
    message keeps the whole of it in ``reasoning`` (or its content parts).

    >>> ReasoningDelta(step=1, text="Let me")
    ReasoningDelta(step=1, text='Let me')
    """

    step: int = attrs.field(validator=_positive)
    text: str = attrs.field(validator=_str)


@final
@attrs.frozen(kw_only=True)
class ToolCallStarted(RunEvent):
    """The model began a tool call: its id and the tool's name (provisional).

    ``index`` is the call's position among the reply's tool calls; parallel
    calls stream interleaved, and ``index`` (or ``id``) tells them apart.
    """

    step: int = attrs.field(validator=_positive)
    index: int = attrs.field(validator=_index)
    id: str = attrs.field(validator=_str)
    name: str = attrs.field(validator=_str)


@final
@attrs.frozen(kw_only=True)
class ToolCallArgumentsDelta(RunEvent):
    """A fragment of a tool call's JSON arguments (provisional).

    Concatenating the ``text`` of one call's fragments, in order, gives its
    arguments; a single fragment is usually not valid JSON on its own.
    """

    step: int = attrs.field(validator=_positive)
    index: int = attrs.field(validator=_index)
    id: str = attrs.field(validator=_str)
    text: str = attrs.field(validator=_str)


@final
@attrs.frozen(kw_only=True)
class ModelReplied(RunEvent):
    """The model call of ``step`` finished: ``reply`` is what the run continues with."""

    step: int = attrs.field(validator=_positive)
    reply: ModelReply = attrs.field(validator=v.instance_of(ModelReply))


@final
@attrs.frozen(kw_only=True)
class ToolCallFinished(RunEvent):
    """A tool call of ``step`` was answered; ``result.is_error`` says whether it failed."""

    step: int = attrs.field(validator=_positive)
    result: ToolResult = attrs.field(validator=v.instance_of(ToolResult))


@final
@attrs.frozen(kw_only=True)
class StepFinished(RunEvent):
    """``step`` is complete (the model replied and its tool calls were answered).

    ``usage`` is the tokens the step's model call used.
    """

    step: int = attrs.field(validator=_positive)
    usage: Usage = attrs.field(validator=v.instance_of(Usage))


@final
@attrs.frozen(kw_only=True)
class AttemptDiscarded(RunEvent):
    """A model call of ``step`` failed after streaming deltas and is being tried again.

    Every delta of ``step`` reported before this event is void (the text, refusal
    and tool-call deltas of the failed attempt); the deltas of the next attempt
    follow. ``error`` names the failure's type (``"ServerError"``, ...). A retrying
    or falling-back layer emits it (``interpreters.discard_attempt``).

    >>> AttemptDiscarded(step=1, error="ServerError")
    AttemptDiscarded(step=1, error='ServerError')
    """

    step: int = attrs.field(validator=_positive)
    error: str = attrs.field(validator=_str)


@final
@attrs.frozen(kw_only=True)
class RunFinished(RunEvent):
    """The run is over; ``state`` is its final state (``state.stop`` says why)."""

    state: RunState = attrs.field(validator=v.instance_of(RunState))


def reply_events(step: int, reply: ModelReply) -> tuple[RunEvent, ...]:
    """The deltas that stand for a whole ``reply`` when it was not streamed.

    The reasoning text, the text and the refusal are one delta each (in that
    order, as a stream sends them), each tool call one `ToolCallStarted` and
    one `ToolCallArgumentsDelta` holding all its arguments; empty pieces are
    left out, as a streaming interpreter leaves them out.

    >>> from tower_llm_fx import ModelReply, assistant, ToolCallRequest
    >>> call = ToolCallRequest(id="c1", name="add", arguments='{"a":1}')
    >>> for e in reply_events(1, ModelReply(message=assistant("Adding.", call))):
    ...     print(e)
    TokenDelta(step=1, text='Adding.')
    ToolCallStarted(step=1, index=0, id='c1', name='add')
    ToolCallArgumentsDelta(step=1, index=0, id='c1', text='{"a":1}')
    """
    message = reply.message
    events: list[RunEvent] = []
    reasoning = message.reasoning
    if reasoning is not None and reasoning.text:
        events.append(ReasoningDelta(step=step, text=reasoning.text))
    text = message.text
    if text:
        events.append(TokenDelta(step=step, text=text))
    if message.refusal:
        events.append(RefusalDelta(step=step, text=message.refusal))
    for i, call in enumerate(message.tool_calls):
        events.append(ToolCallStarted(step=step, index=i, id=call.id, name=call.name))
        if call.arguments:
            events.append(ToolCallArgumentsDelta(step=step, index=i, id=call.id, text=call.arguments))
    return tuple(events)

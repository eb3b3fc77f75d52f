"""Run state and the pure fold that applies results to it.

Theory of operation (read before changing anything here):

* Rule 1: `RunState` is data: frozen, tuples not lists, JSON-friendly. A run
  can be saved, recorded and resumed from any state, so nothing in it may be a
  closure, a generator or an open resource.
* Rule 2: what to do next is derived from the messages alone. If the last
  assistant message has tool calls without tool messages answering them, the
  next effect runs those calls; otherwise a model call or ``Done`` follows.
  There is no hidden "pending" field to get out of sync.
* Rule 3: `advance` is the only function that changes a state. It never drops
  or reorders a message, and it checks that results answer the effect they
  were performed for (an interpreter bug is an exception, not data). A model
  reply is stored as received, except for two repairs (`_reply_message`):
  empty or repeated tool call ids get unique ones, and an assistant message
  with neither content nor tool calls gets ``content=""``.
* A *step* counts one model call plus the tool calls it asked for; it is
  complete when the model replied without tool calls or all of them were
  answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, cast, final

import attrs
from attrs import validators as v

from ._effects import Done, Effect, ModelCall, Parallel, StopReason, ToolCall
from ._errors import WrongResultType
from ._messages import MESSAGE_TYPES, AssistantMessage, Message, ToolCallRequest, ToolMessage, UserMessage
from ._results import ModelReply, ToolResult, Usage
from ._unchecked import unchecked_factory

__all__ = ["RunState", "advance", "finish", "pending_tool_calls", "step_completed"]


def _messages(value: Sequence[Message]) -> tuple[Message, ...]:
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class RunState:
    """The state of one agent run.

    Attributes:
        messages: the conversation so far (without the agent's instructions,
            which each ``ModelCall`` puts in front).
        steps: completed steps (model call plus its tool calls).
        usage: token usage summed over every model call.
        model_calls: model calls made.
        tool_invocations: tool results received (errors included).
        stop: why the run stopped; ``None`` while it is running.
        value_json: the validated structured output of an agent with
            ``output=T``, as canonical JSON text (see `value`); ``None``
            until the model gave a valid one.
        output_retries: invalid structured outputs the model was asked to
            correct since the last valid one.

    >>> RunState.start("hi").messages
    (UserMessage(content='hi', name=None),)
    """

    messages: tuple[Message, ...] = attrs.field(default=(), converter=_messages)
    steps: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])
    usage: Usage = attrs.field(factory=Usage, validator=v.instance_of(Usage))
    model_calls: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])
    tool_invocations: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])
    stop: StopReason | None = attrs.field(default=None, validator=v.optional(v.instance_of(StopReason)))
    value_json: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    output_retries: int = attrs.field(default=0, validator=[v.instance_of(int), v.ge(0)])

    @classmethod
    def start(cls, user_input: str | Message | Sequence[Message]) -> RunState:
        """A fresh state from the user's text, one message (e.g. a user message with
        images: ``fx.user("look", fx.image(url))``), or a list of messages."""
        if isinstance(user_input, str):
            return _make((UserMessage(content=user_input),), 0, _ZERO, 0, 0, None, None, 0)
        if isinstance(user_input, MESSAGE_TYPES):
            return cls(messages=(cast("Message", user_input),))
        return cls(messages=tuple(cast("Sequence[Message]", user_input)))

    @property
    def last_reply(self) -> AssistantMessage | None:
        """The last assistant message, if any."""
        for m in reversed(self.messages):
            if isinstance(m, AssistantMessage):
                return m
        return None

    @property
    def output(self) -> str | None:
        """The text of the last assistant message (the run's answer), if any."""
        last = self.last_reply
        return None if last is None else last.text

    @property
    def value(self) -> Any:
        """The structured output decoded from `value_json` (plain JSON values), or ``None``.

        ``Agent.value(state)`` converts it to the agent's output type.

        >>> RunState(value_json='{"city":"Paris"}').value
        {'city': 'Paris'}
        """
        return None if self.value_json is None else json.loads(self.value_json)


_ZERO = Usage()


def pending_tool_calls(messages: Sequence[Message]) -> tuple[ToolCallRequest, ...]:
    """Tool calls of the last assistant message that no tool message answers yet.

    >>> from tower_llm_fx import AssistantMessage, ToolCallRequest, ToolMessage
    >>> call = ToolCallRequest(id="c1", name="add", arguments="{}")
    >>> pending_tool_calls([AssistantMessage(tool_calls=(call,))])
    (ToolCallRequest(id='c1', name='add', arguments='{}'),)
    >>> pending_tool_calls([AssistantMessage(tool_calls=(call,)), ToolMessage(tool_call_id="c1", content="3")])
    ()
    """
    if not messages:
        return ()
    last = messages[-1]
    if type(last) is AssistantMessage:  # the common case: nothing answered yet
        return last.tool_calls
    answered: set[str] = set()
    for m in reversed(messages):
        kind = type(m)
        if kind is ToolMessage:
            answered.add(m.tool_call_id)  # type: ignore[union-attr]
        elif kind is AssistantMessage:
            calls = m.tool_calls  # type: ignore[union-attr]
            return tuple(c for c in calls if c.id not in answered) if calls else ()
        else:
            return ()
    return ()


def step_completed(messages: Sequence[Message]) -> bool:
    """Whether the last step is complete: the model answered and its tool calls are answered."""
    if not messages:
        return False
    last = messages[-1]
    if isinstance(last, AssistantMessage):
        return not last.tool_calls
    if isinstance(last, ToolMessage):
        return not pending_tool_calls(messages)
    return False


# Build a `RunState` without re-running validators: every value here was already
# validated (it came from a state or from a validated result). ``advance`` is the
# hot path of every run, so this matters.
_make: Callable[[tuple[Message, ...], int, Usage, int, int, StopReason | None, str | None, int], RunState] = (
    unchecked_factory(
        RunState,
        "messages",
        "steps",
        "usage",
        "model_calls",
        "tool_invocations",
        "stop",
        "value_json",
        "output_retries",
    )
)


def _tool_message(call: ToolCall, result: object) -> ToolMessage:
    if not isinstance(result, ToolResult):
        raise WrongResultType(
            f"the interpreter returned {type(result).__name__} for ToolCall(name={call.name!r}); "
            "a ToolCall must be answered with a ToolResult"
        )
    if result.call_id != call.id:
        raise WrongResultType(
            f"the ToolResult answers call id {result.call_id!r} but the ToolCall had id {call.id!r}; "
            "interpreters must copy the call id into the result"
        )
    return result.to_message()


def _reply_message(message: AssistantMessage, n: int) -> AssistantMessage:
    """The assistant message to store for a model reply (usually ``message`` itself).

    Two deterministic repairs (so a replay makes the same ones) keep the
    conversation answerable and sendable:

    * tool call ids that are empty or repeated within the reply get fresh ids
      (``call_<n>_<i>``): results are matched to calls by id, so every call
      needs its own, or one result would answer two calls;
    * a reply with neither content nor tool calls (an empty reply, or a bare
      refusal) gets ``content=""``: the API rejects an assistant message whose
      content is null unless it has tool calls, so the next request would fail.
    """
    calls = message.tool_calls
    if not calls:
        return attrs.evolve(message, content="") if message.content is None else message
    if len(calls) == 1:
        if calls[0].id:
            return message
    elif "" not in (ids := {c.id for c in calls}) and len(ids) == len(calls):
        return message
    taken = {c.id for c in calls}
    seen: set[str] = set()
    fixed: list[ToolCallRequest] = []
    for i, c in enumerate(calls):
        if c.id and c.id not in seen:
            seen.add(c.id)
            fixed.append(c)
            continue
        new_id = f"call_{n}_{i}"
        while new_id in taken:
            new_id += "_"
        taken.add(new_id)
        seen.add(new_id)
        fixed.append(attrs.evolve(c, id=new_id))
    return attrs.evolve(message, tool_calls=tuple(fixed))


def advance(state: RunState, effect: Effect[Any], result: object) -> RunState:
    """Fold the ``result`` of ``effect`` into ``state`` (pure).

    Raises:
        WrongResultType: the result does not belong to the effect.
        TypeError: the effect is not one an agent step emits.
    """
    if type(effect) is ModelCall:
        if type(result) is not ModelReply:
            raise WrongResultType(
                f"the interpreter returned {type(result).__name__} for a ModelCall; "
                "a ModelCall must be answered with a ModelReply"
            )
        message = _reply_message(result.message, state.model_calls)
        return _make(
            (*state.messages, message),
            state.steps + (0 if message.tool_calls else 1),
            state.usage + result.usage,
            state.model_calls + 1,
            state.tool_invocations,
            state.stop,
            state.value_json,
            state.output_retries,
        )
    if type(effect) is ToolCall:
        tool_message = _tool_message(effect, result)
        messages = (*state.messages, tool_message)
        return _make(
            messages,
            state.steps + (0 if pending_tool_calls(messages) else 1),
            state.usage,
            state.model_calls,
            state.tool_invocations + 1,
            state.stop,
            state.value_json,
            state.output_retries,
        )
    if type(effect) is Parallel:
        if not isinstance(result, tuple) or len(result) != len(effect.calls):
            got = (
                f"{type(result).__name__} of length {len(result)}"
                if isinstance(result, tuple)
                else type(result).__name__
            )
            raise WrongResultType(
                f"the interpreter returned {got} for a Parallel of {len(effect.calls)} calls; "
                "it must return a tuple with one ToolResult per call, in call order"
            )
        new = tuple(_tool_message(c, r) for c, r in zip(effect.calls, result, strict=True))
        messages = (*state.messages, *new)
        return _make(
            messages,
            state.steps + (0 if pending_tool_calls(messages) else 1),
            state.usage,
            state.model_calls,
            state.tool_invocations + len(new),
            state.stop,
            state.value_json,
            state.output_retries,
        )
    raise TypeError(
        f"advance() does not know how to apply a {type(effect).__name__}; "
        "agent steps only emit ModelCall, ToolCall and Parallel"
    )


def finish(state: RunState, done: Done) -> RunState:
    """Record why the run stopped."""
    return _make(
        state.messages,
        state.steps,
        state.usage,
        state.model_calls,
        state.tool_invocations,
        done.reason,
        state.value_json,
        state.output_retries,
    )

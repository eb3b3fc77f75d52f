"""Run items: tower-llm's flat "items" view of a conversation, and the codec to messages.

Theory of operation: a conversation is a tuple of messages in which an
assistant message *contains* its tool calls. The items view flattens it: one
`MessageItem` per system, user or assistant message, then one `ToolCallItem`
per tool call right after its assistant's item, one `ToolOutputItem` per tool
message, plus `HandoffItem` markers that have no message form.

The codec is pure and deterministic (tower-llm stamped fresh UUIDs and clock
times on every conversion, so no two conversions agreed). Exact round trips:

* ``items_to_messages(messages_to_items(ms)) == ms`` for *every* tuple of
  messages, valid or not: nothing a message holds is lost.
* ``messages_to_items(items_to_messages(items)) == items`` for every
  *canonical* item sequence (`items_are_canonical`): what `messages_to_items` produces.

The non-canonical corners, where the second trip is not the identity:

* `HandoffItem` has no message form and is dropped (it does not separate an
  assistant item from the tool call items after it).
* ``ToolOutputItem.error`` is dropped (a tool message only has content; our
  error results already say ``"error (...): ..."`` in their output).
* A `ToolCallItem` with no assistant `MessageItem` before it gets one: it
  becomes ``AssistantMessage(content=None, tool_calls=...)`` (tower-llm dropped
  such calls silently).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias, final

import attrs
from attrs import validators as v

from ._content import ContentPart, json_object_or_none, optional_content
from ._content import content as content_converter
from ._messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    Reasoning,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from ._repr import quiet_repr

__all__ = [
    "HandoffItem",
    "MessageItem",
    "RunItem",
    "ToolCallItem",
    "ToolOutputItem",
    "items_are_canonical",
    "items_to_messages",
    "messages_to_items",
]

_str = v.instance_of(str)
_opt_str = v.optional(_str)


def _check_message_item(item: MessageItem, _attr: object, _value: object) -> None:
    if item.role != "assistant":
        if item.content is None:
            raise ValueError(
                f"a {item.role} MessageItem needs content (a str or parts); only assistant content may be None"
            )
        if item.refusal is not None:
            raise ValueError(f"only assistant MessageItems carry a refusal, not {item.role}")
        if item.reasoning is not None:
            raise ValueError(f"only assistant MessageItems carry reasoning, not {item.role}")


_ROLES = ("system", "developer", "user", "assistant")


@final
@quiet_repr("reasoning", "extra")
@attrs.frozen(kw_only=True)
class MessageItem:
    """A system, developer, user or assistant message, without its tool calls.

    >>> MessageItem(role="user", content="hi")
    MessageItem(role='user', content='hi', name=None, refusal=None)
    """

    role: Literal["system", "developer", "user", "assistant"] = attrs.field(validator=v.in_(_ROLES))
    content: str | tuple[ContentPart, ...] | None = attrs.field(default=None, converter=optional_content)
    name: str | None = attrs.field(default=None, validator=_opt_str)
    refusal: str | None = attrs.field(default=None, validator=_opt_str)
    reasoning: Reasoning | None = attrs.field(default=None, validator=v.optional(v.instance_of(Reasoning)))
    extra: str | None = attrs.field(
        default=None, converter=json_object_or_none, validator=[_opt_str, _check_message_item]
    )


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class ToolCallItem:
    """One tool call of the assistant `MessageItem` before it; ``id`` is the call id.

    ``arguments`` is the raw JSON text the model sent (tower-llm parsed it and
    replaced text that was not JSON with a JSON string, changing it).
    """

    id: str = attrs.field(validator=_str)
    name: str = attrs.field(validator=_str)
    arguments: str = attrs.field(default="{}", validator=_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class ToolOutputItem:
    """The output of the tool call ``tool_call_id``; ``error`` says why it failed, if it did."""

    tool_call_id: str = attrs.field(validator=_str)
    output: str | tuple[ContentPart, ...] = attrs.field(converter=content_converter)
    error: str | None = attrs.field(default=None, validator=_opt_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)


@final
@attrs.frozen(kw_only=True)
class HandoffItem:
    """Control passed from one agent to another (no message form; skipped by the codec)."""

    from_agent: str = attrs.field(validator=_str)
    to_agent: str = attrs.field(validator=_str)
    reason: str | None = attrs.field(default=None, validator=_opt_str)


RunItem: TypeAlias = MessageItem | ToolCallItem | ToolOutputItem | HandoffItem
"""Any run item."""


def messages_to_items(messages: Sequence[Message]) -> tuple[RunItem, ...]:
    """Flatten messages into run items (total: every tuple of messages converts).

    >>> from tower_llm_fx import AssistantMessage, ToolCallRequest, ToolMessage, UserMessage
    >>> call = ToolCallRequest(id="c1", name="add", arguments='{"a": 1}')
    >>> [type(i).__name__ for i in messages_to_items([UserMessage(content="hi"),
    ...     AssistantMessage(tool_calls=(call,)), ToolMessage(tool_call_id="c1", content="2")])]
    ['MessageItem', 'MessageItem', 'ToolCallItem', 'ToolOutputItem']
    """
    out: list[RunItem] = []
    append = out.append
    for m in messages:
        t = type(m)
        if t is ToolMessage:
            assert isinstance(m, ToolMessage)
            append(ToolOutputItem(tool_call_id=m.tool_call_id, output=m.content, extra=m.extra))
        elif t is AssistantMessage:
            assert isinstance(m, AssistantMessage)
            append(
                MessageItem(
                    role="assistant",
                    content=m.content,
                    name=m.name,
                    refusal=m.refusal,
                    reasoning=m.reasoning,
                    extra=m.extra,
                )
            )
            for c in m.tool_calls:
                append(ToolCallItem(id=c.id, name=c.name, arguments=c.arguments, extra=c.extra))
        elif t is UserMessage or t is SystemMessage or t is DeveloperMessage:
            assert isinstance(m, (UserMessage, SystemMessage, DeveloperMessage))
            append(MessageItem(role=m.role, content=m.content, name=m.name, extra=m.extra))
        else:
            raise TypeError(
                f"messages_to_items() takes messages, got a {type(m).__name__}; build it with "
                "UserMessage(...), SystemMessage(...), AssistantMessage(...) or ToolMessage(...)"
            )
    return tuple(out)


def items_to_messages(items: Sequence[RunItem]) -> tuple[Message, ...]:
    """Fold run items back into messages: an assistant item absorbs the tool calls after it.

    See the module docstring for the (documented) corners where this is not the
    inverse of `messages_to_items`.

    >>> items = (MessageItem(role="user", content="hi"), MessageItem(role="assistant"),
    ...          ToolCallItem(id="c1", name="add"), ToolOutputItem(tool_call_id="c1", output="2"))
    >>> [m.role for m in items_to_messages(items)]
    ['user', 'assistant', 'tool']
    """
    out: list[Message] = []
    i = 0
    n = len(items)
    while i < n:
        item = items[i]
        t = type(item)
        if t is MessageItem:
            assert isinstance(item, MessageItem)
            if item.role == "assistant":
                calls, i = _calls_from(items, i + 1)
                out.append(
                    AssistantMessage(
                        content=item.content,
                        tool_calls=calls,
                        refusal=item.refusal,
                        name=item.name,
                        reasoning=item.reasoning,
                        extra=item.extra,
                    )
                )
                continue
            content = "" if item.content is None else item.content
            cls = _INSTRUCTIONS[item.role]
            out.append(cls(content=content, name=item.name, extra=item.extra))
        elif t is ToolCallItem:
            calls, i = _calls_from(items, i)
            out.append(AssistantMessage(content=None, tool_calls=calls))
            continue
        elif t is ToolOutputItem:
            assert isinstance(item, ToolOutputItem)
            out.append(ToolMessage(tool_call_id=item.tool_call_id, content=item.output, extra=item.extra))
        elif t is not HandoffItem:
            raise TypeError(f"items_to_messages() takes run items, got a {type(item).__name__}")
        i += 1
    return tuple(out)


_INSTRUCTIONS: dict[str, type[UserMessage] | type[SystemMessage] | type[DeveloperMessage]] = {
    "user": UserMessage,
    "system": SystemMessage,
    "developer": DeveloperMessage,
}


def _calls_from(items: Sequence[RunItem], i: int) -> tuple[tuple[ToolCallRequest, ...], int]:
    calls: list[ToolCallRequest] = []
    while i < len(items):
        item = items[i]
        t = type(item)
        if t is ToolCallItem:
            assert isinstance(item, ToolCallItem)
            calls.append(
                ToolCallRequest(id=item.id, name=item.name, arguments=item.arguments, extra=item.extra)
            )
        elif t is not HandoffItem:  # handoff markers are transparent
            break
        i += 1
    return tuple(calls), i


def items_are_canonical(items: Sequence[RunItem]) -> bool:
    """Whether ``messages_to_items(items_to_messages(items)) == items``: no handoff
    items, no output errors, and every tool call item follows an assistant item.

    >>> items_are_canonical([ToolCallItem(id="c1", name="add")])
    False
    """
    in_assistant = False
    for item in items:
        t = type(item)
        if t is MessageItem:
            assert isinstance(item, MessageItem)
            in_assistant = item.role == "assistant"
        elif t is ToolCallItem:
            if not in_assistant:
                return False
        elif t is ToolOutputItem:
            assert isinstance(item, ToolOutputItem)
            if item.error is not None:
                return False
            in_assistant = False
        else:
            return False
    return True

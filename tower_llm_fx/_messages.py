"""The conversation vocabulary: messages and the tool calls inside them.

Theory of operation: a conversation is a ``tuple`` of messages, each a frozen,
final, keyword-only attrs value. Rule 1: messages are data; ``==`` and ``hash``
work and they round-trip through JSON exactly. Rule 2: a tool call's arguments
are kept as the *raw text* the model produced, because models do produce
malformed JSON and the conversation must be able to say so truthfully.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, TypeAlias, final

import attrs
from attrs import validators as v

__all__ = [
    "AssistantMessage",
    "Message",
    "SystemMessage",
    "ToolCallRequest",
    "ToolMessage",
    "UserMessage",
    "assistant",
    "system",
    "user",
]

_str = v.instance_of(str)
_opt_str = v.optional(_str)


@final
@attrs.frozen(kw_only=True)
class ToolCallRequest:
    """One tool call the model asked for, inside an assistant message.

    ``arguments`` is the JSON text exactly as the model sent it (possibly
    malformed); `parsed_arguments` decodes it.

    >>> ToolCallRequest(id="call_1", name="add", arguments='{"a": 1}').parsed_arguments()
    {'a': 1}
    """

    id: str = attrs.field(validator=_str)
    name: str = attrs.field(validator=_str)
    arguments: str = attrs.field(default="{}", validator=_str)

    def parsed_arguments(self) -> dict[str, Any]:
        """Decode ``arguments``; raise ``ValueError`` if it is not a JSON object."""
        value = json.loads(self.arguments) if self.arguments.strip() else {}
        if not isinstance(value, dict):
            raise ValueError(f"tool arguments must be a JSON object, got {type(value).__name__}")
        return value


@final
@attrs.frozen(kw_only=True)
class SystemMessage:
    """Instructions for the model. ``role`` is always ``"system"``."""

    content: str = attrs.field(validator=_str)
    role: Literal["system"] = attrs.field(default="system", init=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class UserMessage:
    """A turn from the user; ``name`` optionally tells participants apart."""

    content: str = attrs.field(validator=_str)
    name: str | None = attrs.field(default=None, validator=_opt_str)
    role: Literal["user"] = attrs.field(default="user", init=False, repr=False)


def _tool_calls(value: Sequence[ToolCallRequest]) -> tuple[ToolCallRequest, ...]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"tool_calls must be a tuple of ToolCallRequest, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, ToolCallRequest):
            raise TypeError(f"tool_calls must hold ToolCallRequest values, got {type(item).__name__}")
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class AssistantMessage:
    """A model turn: text, tool calls, or a refusal.

    ``content`` is ``None`` when the model only called tools.
    """

    content: str | None = attrs.field(default=None, validator=_opt_str)
    tool_calls: tuple[ToolCallRequest, ...] = attrs.field(default=(), converter=_tool_calls)
    refusal: str | None = attrs.field(default=None, validator=_opt_str)
    name: str | None = attrs.field(default=None, validator=_opt_str)
    role: Literal["assistant"] = attrs.field(default="assistant", init=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class ToolMessage:
    """The result of one tool call, answering the call with id ``tool_call_id``."""

    tool_call_id: str = attrs.field(validator=_str)
    content: str = attrs.field(validator=_str)
    role: Literal["tool"] = attrs.field(default="tool", init=False, repr=False)


Message: TypeAlias = SystemMessage | UserMessage | AssistantMessage | ToolMessage
"""Any message of a conversation."""

MESSAGE_TYPES: tuple[type[Any], ...] = (SystemMessage, UserMessage, AssistantMessage, ToolMessage)


def system(content: str) -> SystemMessage:
    """Shorthand for ``SystemMessage(content=content)``."""
    return SystemMessage(content=content)


def user(content: str) -> UserMessage:
    """Shorthand for ``UserMessage(content=content)``."""
    return UserMessage(content=content)


def assistant(content: str | None = None, *tool_calls: ToolCallRequest) -> AssistantMessage:
    """Shorthand for an assistant message with optional text and tool calls.

    >>> assistant("hi").content
    'hi'
    """
    return AssistantMessage(content=content, tool_calls=tool_calls)

"""The conversation vocabulary: messages and the tool calls inside them.

Theory of operation: a conversation is a ``tuple`` of messages, each a frozen,
final, keyword-only attrs value. Rule 1: messages are data; ``==`` and ``hash``
work and they round-trip through JSON exactly. Rule 2: a tool call's arguments
are kept as the *raw text* the model produced, because models do produce
malformed JSON and the conversation must be able to say so truthfully. Rule 3:
nothing a user or a server gave us is dropped. ``content`` is a ``str`` or a
tuple of content parts (``_content``); an assistant's `Reasoning` keeps the
provider's reasoning fields verbatim; and every message and tool call has an
``extra``: canonical JSON text of the wire keys the library does not name
(Mistral's ``prefix``, ``annotations``, Gemini's ``extra_content``, ...),
deep-merged back into the wire object on encode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeAlias, final

import attrs
from attrs import validators as v

from ._content import ContentPart, content, json_object_or_none, optional_content, parts, text_of
from ._json import loads_bounded
from ._repr import quiet_repr

__all__ = [
    "AssistantMessage",
    "DeveloperMessage",
    "Message",
    "Reasoning",
    "SystemMessage",
    "ToolCallRequest",
    "ToolMessage",
    "UserMessage",
    "assistant",
    "developer",
    "system",
    "tool_call_tuple",
    "user",
]

_str = v.instance_of(str)
_opt_str = v.optional(_str)


@final
@quiet_repr("extra")
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
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)

    def parsed_arguments(self) -> dict[str, Any]:
        """Decode ``arguments``; raise ``ValueError`` if it is not a JSON object (or nests too deep)."""
        value = loads_bounded(self.arguments) if self.arguments.strip() else {}
        if not isinstance(value, dict):
            raise ValueError(f"tool arguments must be a JSON object, got {type(value).__name__}")
        return value


@final
@quiet_repr("name", "extra")
@attrs.frozen(kw_only=True)
class SystemMessage:
    """Instructions for the model. ``role`` is always ``"system"``."""

    content: str | tuple[ContentPart, ...] = attrs.field(converter=content)
    name: str | None = attrs.field(default=None, validator=_opt_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)
    role: Literal["system"] = attrs.field(default="system", init=False, repr=False)


@final
@quiet_repr("name", "extra")
@attrs.frozen(kw_only=True)
class DeveloperMessage:
    """Instructions with the ``developer`` role (OpenAI's name for system
    instructions to reasoning models). ``role`` is always ``"developer"``."""

    content: str | tuple[ContentPart, ...] = attrs.field(converter=content)
    name: str | None = attrs.field(default=None, validator=_opt_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)
    role: Literal["developer"] = attrs.field(default="developer", init=False, repr=False)


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class UserMessage:
    """A turn from the user: text or content parts; ``name`` optionally tells participants apart."""

    content: str | tuple[ContentPart, ...] = attrs.field(converter=content)
    name: str | None = attrs.field(default=None, validator=_opt_str)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)
    role: Literal["user"] = attrs.field(default="user", init=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class Reasoning:
    """A reasoning model's thinking, as the provider sent it.

    ``text`` is the readable reasoning when there was one; ``raw`` is canonical
    JSON text of the provider's reasoning fields exactly as they came on the
    message (``{"reasoning_content": ...}``, ``{"reasoning": ...,
    "reasoning_details": [...]}``), so a later request can send back what
    that provider requires (see ``tower_llm_fx.openai`` dialects).

    >>> Reasoning(text="2+2=4", raw={"reasoning_content": "2+2=4"}).raw
    '{"reasoning_content":"2+2=4"}'
    """

    text: str | None = attrs.field(default=None, validator=_opt_str)
    raw: str | None = attrs.field(default=None, converter=json_object_or_none)


def tool_call_tuple(value: Sequence[ToolCallRequest]) -> tuple[ToolCallRequest, ...]:
    """Converter for ``AssistantMessage.tool_calls``: a list or tuple of `ToolCallRequest`, as a tuple.

    >>> tool_call_tuple([ToolCallRequest(id="c1", name="add")])
    (ToolCallRequest(id='c1', name='add', arguments='{}'),)
    """
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"tool_calls must be a tuple of ToolCallRequest, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, ToolCallRequest):
            raise TypeError(f"tool_calls must hold ToolCallRequest values, got {type(item).__name__}")
    return tuple(value)


@final
@quiet_repr("reasoning", "extra")
@attrs.frozen(kw_only=True)
class AssistantMessage:
    """A model turn: text, tool calls, or a refusal, and the model's reasoning.

    ``content`` is ``None`` when the model only called tools; it is a tuple of
    parts when the provider sent a list (Mistral's ``thinking`` parts).
    """

    content: str | tuple[ContentPart, ...] | None = attrs.field(default=None, converter=optional_content)
    tool_calls: tuple[ToolCallRequest, ...] = attrs.field(default=(), converter=tool_call_tuple)
    refusal: str | None = attrs.field(default=None, validator=_opt_str)
    name: str | None = attrs.field(default=None, validator=_opt_str)
    reasoning: Reasoning | None = attrs.field(default=None, validator=v.optional(v.instance_of(Reasoning)))
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)
    role: Literal["assistant"] = attrs.field(default="assistant", init=False, repr=False)

    @property
    def text(self) -> str | None:
        """The reply's text: ``content`` if a string, the text parts of a tuple
        joined by newlines, ``None`` if there is no content."""
        c = self.content
        if c is None or type(c) is str:
            return c
        return text_of(c)


@final
@quiet_repr("extra")
@attrs.frozen(kw_only=True)
class ToolMessage:
    """The result of one tool call, answering the call with id ``tool_call_id``."""

    tool_call_id: str = attrs.field(validator=_str)
    content: str | tuple[ContentPart, ...] = attrs.field(converter=content)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)
    role: Literal["tool"] = attrs.field(default="tool", init=False, repr=False)


Message: TypeAlias = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage
"""Any message of a conversation."""

MESSAGE_TYPES: tuple[type[Any], ...] = (
    SystemMessage,
    DeveloperMessage,
    UserMessage,
    AssistantMessage,
    ToolMessage,
)


def _join(first: str | ContentPart, rest: tuple[str | ContentPart, ...]) -> str | tuple[ContentPart, ...]:
    if not rest and type(first) is str:
        return first
    return parts((first, *rest))


def system(content: str | ContentPart, *more: str | ContentPart) -> SystemMessage:
    """Shorthand for ``SystemMessage(content=...)``; several arguments make content parts."""
    return SystemMessage(content=_join(content, more))


def developer(content: str | ContentPart, *more: str | ContentPart) -> DeveloperMessage:
    """Shorthand for ``DeveloperMessage(content=...)``."""
    return DeveloperMessage(content=_join(content, more))


def user(content: str | ContentPart, *more: str | ContentPart) -> UserMessage:
    """Shorthand for a user message: one string, or text and parts.

    >>> import tower_llm_fx as fx
    >>> user("hi").content
    'hi'
    >>> user("look", fx.image("https://example.com/a.png")).content[1].url
    'https://example.com/a.png'
    """
    return UserMessage(content=_join(content, more))


def assistant(content: str | None = None, *tool_calls: ToolCallRequest) -> AssistantMessage:
    """Shorthand for an assistant message with optional text and tool calls.

    >>> assistant("hi").content
    'hi'
    """
    return AssistantMessage(content=content, tool_calls=tool_calls)

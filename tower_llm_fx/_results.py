"""Result values: what interpreters hand back for each effect.

Theory of operation: results are frozen data like effects, so an exchange
``(effect, result)`` can be recorded, compared and replayed. A failing tool is
*not* an exception: it is a `ToolResult` whose ``error`` is set, and the model
reads it as the content of a tool message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias, final, get_args

import attrs
from attrs import validators as v
from returns.result import Failure, Result, Success

from ._messages import AssistantMessage, ToolMessage
from ._unchecked import unchecked_factory

__all__ = [
    "FinishReason",
    "ModelReply",
    "TOOL_ERROR_KINDS",
    "ToolError",
    "ToolErrorKind",
    "ToolResult",
    "Usage",
]

_nonneg = [v.instance_of(int), v.ge(0)]


@final
@attrs.frozen(kw_only=True)
class Usage:
    """Token counts of one model call, or totals over a run.

    >>> Usage(prompt_tokens=3, completion_tokens=2) + Usage(prompt_tokens=1)
    Usage(prompt_tokens=4, completion_tokens=2)
    """

    prompt_tokens: int = attrs.field(default=0, validator=_nonneg)
    completion_tokens: int = attrs.field(default=0, validator=_nonneg)

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        if not other.prompt_tokens and not other.completion_tokens:
            return self
        # Sums of valid counts are valid: no need to run the validators again.
        return _usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )


def trusted_usage(prompt_tokens: int, completion_tokens: int) -> Usage:
    """A `Usage` built without validators, for counts the caller has already checked
    (non-negative ints). The hot paths (``advance``, the OpenAI decoder) use it."""
    return _usage(prompt_tokens, completion_tokens)


_usage: Callable[[int, int], Usage] = unchecked_factory(Usage, "prompt_tokens", "completion_tokens")


FinishReason: TypeAlias = str
"""Why the model stopped: ``"stop"``, ``"tool_calls"``, ``"length"``, ``"content_filter"``, …"""


@final
@attrs.frozen(kw_only=True)
class ModelReply:
    """The result of a ``ModelCall``: the assistant message plus metadata.

    ``model`` and ``id`` are what the provider reported, when it did.
    """

    message: AssistantMessage = attrs.field(validator=v.instance_of(AssistantMessage))
    usage: Usage = attrs.field(factory=Usage, validator=v.instance_of(Usage))
    finish_reason: FinishReason = attrs.field(default="stop", validator=v.instance_of(str))
    model: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    id: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))


ToolErrorKind: TypeAlias = Literal[
    "unknown_tool",
    "invalid_arguments",
    "tool_raised",
    "not_serialisable",
    "cancelled",
    "timeout",
    "denied",
]

TOOL_ERROR_KINDS: tuple[ToolErrorKind, ...] = get_args(ToolErrorKind)
"""Every `ToolErrorKind`, in documentation order."""

_TOOL_ERROR_KINDS = frozenset(TOOL_ERROR_KINDS)


@final
@attrs.frozen(kw_only=True)
class ToolError:
    """Why a tool call failed, as data the model will read."""

    kind: ToolErrorKind = attrs.field(validator=v.in_(_TOOL_ERROR_KINDS))
    message: str = attrs.field(validator=v.instance_of(str))


@final
@attrs.frozen(kw_only=True)
class ToolResult:
    """The result of a ``ToolCall``: the content the model sees, or an error.

    ``content`` is always what goes into the tool message: the tool's output
    (a ``str`` as-is, anything else as JSON) or, on error, ``"error: ..."``.

    >>> ok = ToolResult.success(call_id="c1", name="add", content="3")
    >>> ok.is_error, ok.to_message().content
    (False, '3')
    >>> bad = ToolResult.failure(call_id="c1", name="add", kind="tool_raised", message="boom")
    >>> bad.content
    'error (tool_raised): boom'
    """

    call_id: str = attrs.field(validator=v.instance_of(str))
    name: str = attrs.field(validator=v.instance_of(str))
    content: str = attrs.field(validator=v.instance_of(str))
    error: ToolError | None = attrs.field(default=None, validator=v.optional(v.instance_of(ToolError)))

    @classmethod
    def success(cls, *, call_id: str, name: str, content: str) -> ToolResult:
        """A successful result whose ``content`` the model will read."""
        return cls(call_id=call_id, name=name, content=content)

    @classmethod
    def failure(cls, *, call_id: str, name: str, kind: ToolErrorKind, message: str) -> ToolResult:
        """A failed result; the model reads ``"error (<kind>): <message>"``."""
        return cls(
            call_id=call_id,
            name=name,
            content=f"error ({kind}): {message}",
            error=ToolError(kind=kind, message=message),
        )

    @property
    def is_error(self) -> bool:
        """Whether the tool call failed."""
        return self.error is not None

    def to_message(self) -> ToolMessage:
        """The tool message that answers the call."""
        return ToolMessage(tool_call_id=self.call_id, content=self.content)

    def as_result(self) -> Result[str, ToolError]:
        """View as a ``returns`` ``Result``: ``Success(content)`` or ``Failure(error)``."""
        if self.error is None:
            return Success(self.content)
        return Failure(self.error)

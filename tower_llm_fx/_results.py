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

from ._content import json_object_or_none
from ._messages import AssistantMessage, ToolMessage
from ._repr import quiet_repr
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


_opt_nonneg = v.optional(_nonneg)


@final
@attrs.frozen(kw_only=True, repr=False)
class Usage:
    """Token counts of one model call, or totals over a run.

    ``prompt_tokens`` and ``completion_tokens`` are what the provider sent;
    ``reported_total_tokens`` its ``total_tokens`` when it sent one (it can
    exceed the sum, e.g. with thought tokens), which `total_tokens` prefers.
    The details (``None`` when not reported) come from
    ``prompt_tokens_details`` / ``completion_tokens_details``; any other usage
    key the provider sent is kept in ``extra`` (canonical JSON, deep-merged
    back on encode).

    >>> Usage(prompt_tokens=3, completion_tokens=2) + Usage(prompt_tokens=1)
    Usage(prompt_tokens=4, completion_tokens=2)
    >>> Usage(prompt_tokens=3, completion_tokens=2, reported_total_tokens=9).total_tokens
    9
    """

    prompt_tokens: int = attrs.field(default=0, validator=_nonneg)
    completion_tokens: int = attrs.field(default=0, validator=_nonneg)
    reported_total_tokens: int | None = attrs.field(default=None, validator=_opt_nonneg)
    cached_tokens: int | None = attrs.field(default=None, validator=_opt_nonneg)
    reasoning_tokens: int | None = attrs.field(default=None, validator=_opt_nonneg)
    prompt_audio_tokens: int | None = attrs.field(default=None, validator=_opt_nonneg)
    completion_audio_tokens: int | None = attrs.field(default=None, validator=_opt_nonneg)
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)

    @property
    def total_tokens(self) -> int:
        """The provider's ``total_tokens`` if it sent one, else ``prompt_tokens + completion_tokens``."""
        reported = self.reported_total_tokens
        return self.prompt_tokens + self.completion_tokens if reported is None else reported

    def __repr__(self) -> str:
        shown = [f"prompt_tokens={self.prompt_tokens!r}", f"completion_tokens={self.completion_tokens!r}"]
        for name in _DETAIL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                shown.append(f"{name}={value!r}")
        return f"Usage({', '.join(shown)})"

    def __add__(self, other: Usage) -> Usage:
        """Sum two usages: counts add (a detail only one side reported counts the
        other as 0; ``None`` if neither did). ``extra`` is per call and not summed,
        except that adding the empty ``Usage()`` changes nothing (it is the identity)."""
        if type(other) is not Usage:
            return NotImplemented
        if not other.prompt_tokens and not other.completion_tokens and other._plain:
            return self
        if not self.prompt_tokens and not self.completion_tokens and self._plain:
            return other
        if self._plain and other._plain:
            # Sums of valid counts are valid: no need to run the validators again.
            return _usage(
                self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
            )
        total = (
            None
            if self.reported_total_tokens is None and other.reported_total_tokens is None
            else self.total_tokens + other.total_tokens
        )
        return trusted_full_usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            total,
            _add(self.cached_tokens, other.cached_tokens),
            _add(self.reasoning_tokens, other.reasoning_tokens),
            _add(self.prompt_audio_tokens, other.prompt_audio_tokens),
            _add(self.completion_audio_tokens, other.completion_audio_tokens),
            None,
        )

    @property
    def _plain(self) -> bool:
        return (
            self.reported_total_tokens is None
            and self.cached_tokens is None
            and self.reasoning_tokens is None
            and self.prompt_audio_tokens is None
            and self.completion_audio_tokens is None
            and self.extra is None
        )


_DETAIL_FIELDS = (
    "reported_total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "prompt_audio_tokens",
    "completion_audio_tokens",
    "extra",
)


def _add(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else a + b


def trusted_usage(prompt_tokens: int, completion_tokens: int) -> Usage:
    """A `Usage` built without validators, for counts the caller has already checked
    (non-negative ints). The hot paths (``advance``, the OpenAI decoder) use it."""
    return _usage(prompt_tokens, completion_tokens)


_usage: Callable[[int, int], Usage] = unchecked_factory(Usage, "prompt_tokens", "completion_tokens")
trusted_full_usage: Callable[
    [int, int, int | None, int | None, int | None, int | None, int | None, str | None], Usage
] = unchecked_factory(
    Usage,
    "prompt_tokens",
    "completion_tokens",
    "reported_total_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "prompt_audio_tokens",
    "completion_audio_tokens",
    "extra",
)
"""Every field of `Usage`, unchecked (the caller checked the counts; ``extra`` is canonical JSON or None)."""


FinishReason: TypeAlias = str
"""Why the model stopped: ``"stop"``, ``"tool_calls"``, ``"length"``, ``"content_filter"``, …"""


@final
@quiet_repr("extra", "choice_extra")
@attrs.frozen(kw_only=True)
class ModelReply:
    """The result of a ``ModelCall``: the assistant message plus metadata.

    ``model`` and ``id`` are what the provider reported, when it did.
    ``extra`` keeps the other keys of the reply body (``system_fingerprint``,
    ``created``, ``service_tier``, OpenRouter's ``provider``, ...) and
    ``choice_extra`` those of its choice (``logprobs``, ``native_finish_reason``,
    ...), as canonical JSON text, so nothing the server sent is lost.
    """

    message: AssistantMessage = attrs.field(validator=v.instance_of(AssistantMessage))
    usage: Usage = attrs.field(factory=Usage, validator=v.instance_of(Usage))
    finish_reason: FinishReason = attrs.field(default="stop", validator=v.instance_of(str))
    model: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    id: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    extra: str | None = attrs.field(default=None, converter=json_object_or_none)
    choice_extra: str | None = attrs.field(default=None, converter=json_object_or_none)


ToolErrorKind: TypeAlias = Literal[
    "unknown_tool",
    "invalid_arguments",
    "tool_raised",
    "not_serialisable",
    "cancelled",
    "timeout",
    "denied",
    "outcome_unknown",  # a durable run lost the outcome of a non-idempotent tool in a crash
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

"""The validation policy: which rules `validate_conversation` enforces, and the API's limits.

The default `ValidationPolicy` accepts exactly what the OpenAI chat-completions
API accepts; `ValidationPolicy.strict` and `ValidationPolicy.tower_llm` are
presets, and any other mix is one `attrs.evolve` away.
"""

from __future__ import annotations

from typing import Any, final

import attrs
from attrs import validators as v

__all__ = [
    "OPENAI_MAX_CONTENT_LENGTH",
    "OPENAI_MAX_STOP_SEQUENCES",
    "OPENAI_MAX_TOOLS",
    "OPENAI_MAX_TOOL_CALL_ID_LENGTH",
    "ValidationPolicy",
]

#: What the OpenAI API accepts (``param`` errors it returns with a 400 otherwise).
OPENAI_MAX_CONTENT_LENGTH = 10_485_760
OPENAI_MAX_TOOL_CALL_ID_LENGTH = 40
OPENAI_MAX_TOOLS = 128
OPENAI_MAX_STOP_SEQUENCES = 4

_bool = v.instance_of(bool)


def _limit(_inst: object, attr: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise ValueError(f"{attr.name} must be a positive int or None (no limit), got {value!r}")


@final
@attrs.frozen(kw_only=True)
class ValidationPolicy:
    """Which rules `validate_conversation` enforces.

    The defaults accept exactly what the OpenAI chat-completions API accepts
    (as far as that can be decided offline); `strict` and `tower_llm` are
    presets. Rules that the API always enforces (an assistant message needs
    content or tool calls; tool call ids are non-empty and unique within one
    message; tool messages answer a call of the assistant message before them)
    are not configurable.

    Attributes:
        allow_system_anywhere: system and developer messages may follow other
            messages (else ``system_not_first``).
        require_user_first: the first message that is not a system or developer
            message must not be an assistant message (``assistant_before_user``).
        allow_repeated_roles: two adjacent messages may have the same role
            (else ``repeated_role``). Adjacent tool messages are always fine.
        require_user_present: at least one user message (``no_user_message``).
        enforce_tool_response_order: tool messages answer calls in the order
            the calls were made (``tool_responses_out_of_order``).
        enforce_contiguous_tool_responses: no system or user message between an
            assistant's tool calls and their tool messages
            (``tool_responses_not_contiguous``).
        allow_unknown_tool_response: a tool message may name an id its
            assistant did not call (else ``unknown_tool_response``).
        allow_duplicate_tool_response: a call may be answered twice (else
            ``duplicate_tool_response``).
        allow_dangling_tool_calls: a call may go unanswered (else
            ``missing_tool_response``).
        allow_pending_tool_calls: the conversation may *end* with unanswered
            calls followed only by tool messages: a run between the model's
            reply and the tool results (`RunState` mid-step).
        allow_reused_tool_call_ids: a call id may repeat one used by an earlier
            assistant message (else ``duplicate_tool_call_id``).
        allow_empty_content: ``""`` content in system, user and tool messages
            and in assistant messages without tool calls (else ``empty_content``).
        check_content_parts: content parts are of a kind their role accepts
            (``unsupported_content_part``: system, developer, assistant and tool
            messages take text parts, users also images, audio and files; an
            ``OtherPart`` is always accepted) and have the values the API accepts
            (``invalid_content_part``: image detail, image URL scheme, audio
            format, a file's source). An empty tuple of parts is always a
            violation (``empty_content_parts``).
        check_names: message ``name`` fields and tool call names match the
            patterns the API enforces (``invalid_name``, ``invalid_tool_name``).
        check_tool_arguments: tool call arguments are a JSON object (blank text
            counts as ``{}``) (``invalid_tool_arguments``). The OpenAI API does
            not check this but vLLM, SGLang and llama.cpp servers do.
        check_tool_schemas: tool calls name an offered tool (``unknown_tool``)
            and their arguments validate against its JSON schema
            (``tool_arguments_mismatch``). Needs ``tools``.
        max_content_length: the longest content accepted (``content_too_long``):
            a string's length, or for content parts the longest text part's;
            ``None`` for no limit.
        max_tool_call_id_length: the longest tool call id accepted
            (``tool_call_id_too_long``); ``None`` for no limit.

    >>> ValidationPolicy().enforce_contiguous_tool_responses
    True
    >>> ValidationPolicy.strict().require_user_first
    True
    """

    allow_system_anywhere: bool = attrs.field(default=True, validator=_bool)
    require_user_first: bool = attrs.field(default=False, validator=_bool)
    allow_repeated_roles: bool = attrs.field(default=True, validator=_bool)
    require_user_present: bool = attrs.field(default=False, validator=_bool)
    enforce_tool_response_order: bool = attrs.field(default=False, validator=_bool)
    enforce_contiguous_tool_responses: bool = attrs.field(default=True, validator=_bool)
    allow_unknown_tool_response: bool = attrs.field(default=False, validator=_bool)
    allow_duplicate_tool_response: bool = attrs.field(default=False, validator=_bool)
    allow_dangling_tool_calls: bool = attrs.field(default=False, validator=_bool)
    allow_pending_tool_calls: bool = attrs.field(default=False, validator=_bool)
    allow_reused_tool_call_ids: bool = attrs.field(default=True, validator=_bool)
    allow_empty_content: bool = attrs.field(default=True, validator=_bool)
    check_content_parts: bool = attrs.field(default=True, validator=_bool)
    check_names: bool = attrs.field(default=True, validator=_bool)
    check_tool_arguments: bool = attrs.field(default=False, validator=_bool)
    check_tool_schemas: bool = attrs.field(default=False, validator=_bool)
    max_content_length: int | None = attrs.field(default=OPENAI_MAX_CONTENT_LENGTH, validator=_limit)
    max_tool_call_id_length: int | None = attrs.field(
        default=OPENAI_MAX_TOOL_CALL_ID_LENGTH, validator=_limit
    )

    @classmethod
    def openai(cls) -> ValidationPolicy:
        """What the OpenAI chat-completions API accepts (the default)."""
        return cls()

    @classmethod
    def strict(cls) -> ValidationPolicy:
        """Every optional rule on: the shape the library itself produces, and
        what the strictest OpenAI-compatible servers accept."""
        return cls(
            allow_system_anywhere=False,
            require_user_first=True,
            allow_repeated_roles=False,
            require_user_present=True,
            enforce_tool_response_order=True,
            allow_reused_tool_call_ids=False,
            allow_empty_content=False,
            check_tool_arguments=True,
            check_tool_schemas=True,
        )

    @classmethod
    def tower_llm(cls) -> ValidationPolicy:
        """tower-llm's default policy, minus its false positives (adjacent
        tool messages answering one assistant turn are fine)."""
        return cls(
            allow_system_anywhere=False,
            require_user_first=True,
            allow_repeated_roles=False,
            enforce_tool_response_order=True,
            enforce_contiguous_tool_responses=False,
            check_names=False,
            max_content_length=None,
            max_tool_call_id_length=None,
        )

"""Violations: what rule a conversation or request breaks, where, and why.

Theory of operation: a `Violation` is a value naming its rule (``kind``),
the offending message (``index``) and an ``explanation`` that says what to
do. Explanations are made in one place, here, and shared by the validator
(``_report.py``) and the mutators (``_mutators_*.py``), so a
mutation can state the exact violation it introduces. Most kinds explain
themselves from a template in `_EXPLANATIONS` (`violation`); the few whose
explanation lists several calls or problems have a function of their own.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias, final, get_args

import attrs
from attrs import validators as v

from tower_llm_fx._messages import ToolCallRequest
from tower_llm_fx._unchecked import unchecked

__all__ = [
    "ACCEPTED_PARTS",
    "VIOLATION_KINDS",
    "Violation",
    "ViolationKind",
    "content_too_long",
    "duplicate_tool_call_id",
    "empty_assistant_message",
    "invalid_content_part",
    "invalid_tool_arguments",
    "missing_tool_response",
    "tool_arguments_mismatch",
    "unsupported_content_part",
    "unsupported_message",
    "violation",
]

ViolationKind: TypeAlias = Literal[
    # the conversation as a whole
    "empty_conversation",
    "unsupported_message",
    "system_not_first",
    "assistant_before_user",
    "repeated_role",
    "no_user_message",
    # one message's content and name
    "empty_assistant_message",
    "empty_content",
    "content_too_long",
    "invalid_name",
    # one message's content parts (content given as a tuple of parts):
    # - empty_content_parts: ``content=()`` (always checked: the API rejects an empty array);
    # - unsupported_content_part: a part its role does not accept (system, developer and
    #   tool messages: text only; assistant: text only; user: text, image, audio, file;
    #   an OtherPart is a provider's own and always accepted) (check_content_parts);
    # - invalid_content_part: an image ``detail`` not auto/low/high, an image URL that is
    #   neither http(s) nor ``data:``, an audio format not wav/mp3, a file with neither id
    #   nor data, or an item that is not a content part (check_content_parts).
    "empty_content_parts",
    "unsupported_content_part",
    "invalid_content_part",
    # the tool calls of one assistant message
    "empty_tool_call_id",
    "tool_call_id_too_long",
    "duplicate_tool_call_id",
    "invalid_tool_name",
    "invalid_tool_arguments",
    "unknown_tool",
    "tool_arguments_mismatch",
    # tool messages
    "empty_tool_message_id",
    "orphan_tool_message",
    "unknown_tool_response",
    "duplicate_tool_response",
    "tool_responses_out_of_order",
    "tool_responses_not_contiguous",
    "missing_tool_response",
    # the request around the conversation (validate_model_call only)
    "too_many_tools",
    "duplicate_tool_name",
    "invalid_tool_choice",
    "invalid_parameter",
]
"""What rule a `Violation` breaks; see `ValidationPolicy` for which are configurable."""

VIOLATION_KINDS: tuple[ViolationKind, ...] = get_args(ViolationKind)
"""Every `ViolationKind`, in documentation order."""

_KINDS = frozenset(VIOLATION_KINDS)


def _index(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 0):
        raise ValueError(f"index must be a non-negative int or None, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Violation:
    """One broken rule: what (``kind``), where (``index``) and why (``explanation``).

    ``index`` is the position of the offending message in the sequence that was
    validated (for a ``ModelCall``: in ``call.messages``, instructions included),
    or ``None`` when the rule is about the conversation or request as a whole.

    >>> v = Violation(kind="orphan_tool_message", index=0, explanation="no call to answer")
    >>> str(v)
    'messages[0]: no call to answer [orphan_tool_message]'
    """

    kind: ViolationKind = attrs.field(validator=v.in_(_KINDS))
    index: int | None = attrs.field(validator=_index)
    explanation: str = attrs.field(validator=v.instance_of(str))

    def __str__(self) -> str:
        where = "conversation" if self.index is None else f"messages[{self.index}]"
        return f"{where}: {self.explanation} [{self.kind}]"


def new_violation(kind: ViolationKind, index: int | None, explanation: str) -> Violation:
    # The validators already hold for what this module builds: skip them.
    return unchecked(Violation, kind=kind, index=index, explanation=explanation)


class _Explainer(string.Formatter):
    """`str.format`, plus ``{x!l}``: the items of ``x`` as reprs, comma-separated
    (``none`` when there are none)."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "l":
            return ", ".join(repr(x) for x in value) or "none"
        return super().convert_field(value, conversion)


_explain = _Explainer().format

# The explanation of each kind that has a template; ``{index}`` is the violation's index.
_EXPLANATIONS: Mapping[ViolationKind, str] = {
    "empty_conversation": (
        "the conversation has no messages; the API needs at least one (start with a user message)"
    ),
    "system_not_first": (
        "{role} message after the start of the conversation; move it to the front or "
        "allow it with allow_system_anywhere=True"
    ),
    "assistant_before_user": (
        "the conversation starts with an assistant message; the first message that is not "
        "system or developer instructions must be a user message (require_user_first)"
    ),
    "repeated_role": (
        "two {role} messages in a row (at {previous} and {index}); merge them or allow it "
        "with allow_repeated_roles=True"
    ),
    "no_user_message": "the conversation has no user message (require_user_present)",
    "empty_content": (
        '{role} message with empty content ""; fill it in or allow it with allow_empty_content=True'
    ),
    "content_too_long": "{role} message content is {length:,} characters; at most {limit:,} are accepted",
    "empty_content_parts": (
        "{role} message content is an empty tuple of parts; the API needs at least one part: "
        "add one, or use a string"
    ),
    "invalid_name": (
        "{role} message name {name!r} is not accepted: it must be non-empty, without "
        "whitespace or any of < | \\ / >"
    ),
    "empty_tool_call_id": (
        "assistant message has tool call(s) with an empty id at position(s) {positions!l}; "
        "every tool call needs a unique, non-empty id"
    ),
    "tool_call_id_too_long": (
        "tool call id(s) {ids!l} longer than {limit} characters; shorten them "
        "(consistently in the tool messages too)"
    ),
    "invalid_tool_name": (
        "tool call name(s) {names!l} not accepted: names use only a-z, A-Z, 0-9, '_' and '-'"
    ),
    "unknown_tool": "tool call(s) to {names!l}: not among the tools offered ({offered!l})",
    "empty_tool_message_id": (
        "tool message with an empty tool_call_id; set it to the id of the call it answers"
    ),
    "orphan_tool_message": (
        "tool message (tool_call_id {tool_call_id!r}) answers no tool call: the assistant "
        "message before it made none"
    ),
    "unknown_tool_response": (
        "tool message answers id {tool_call_id!r}, which the assistant message at "
        "{assistant_index} did not call"
    ),
    "duplicate_tool_response": (
        "second tool message for id {tool_call_id!r} (the first is at {first}); answer each call exactly once"
    ),
    "tool_responses_out_of_order": (
        "tool message for {tool_call_id!r} comes after the answer to a later call of the "
        "assistant message at {assistant_index}; answer calls in the order they were made"
    ),
    "tool_responses_not_contiguous": (
        "{role} message interrupts the tool messages of the assistant message at "
        "{assistant_index} (the tool message at {tool_index} comes after it); put tool messages "
        "right after the assistant message that called them"
    ),
    "too_many_tools": "the request offers {count} tools; at most {limit} are accepted",
    "duplicate_tool_name": "two tools are named {name!r}; tool names must be unique in a request",
}


def violation(kind: ViolationKind, index: int | None, **details: object) -> Violation:
    """The `Violation` of ``kind`` at ``index``, explained by its template filled with ``details``.

    >>> violation("duplicate_tool_response", 4, tool_call_id="c1", first=3).explanation
    "second tool message for id 'c1' (the first is at 3); answer each call exactly once"
    """
    return new_violation(kind, index, _explain(_EXPLANATIONS[kind], index=index, **details))


def unsupported_message(index: int, value: object) -> Violation:
    hint = (
        "; this looks like an OpenAI wire dict: convert it to a message first"
        if isinstance(value, Mapping)
        else ""
    )
    return new_violation(
        "unsupported_message",
        index,
        f"{type(value).__name__} is not a message; use SystemMessage, DeveloperMessage, "
        f"UserMessage, AssistantMessage or ToolMessage{hint}",
    )


def empty_assistant_message(index: int, refusal: bool) -> Violation:
    if refusal:
        why = (
            "has a refusal but no content and no tool calls; the API requires content "
            "unless there are tool calls (put the refusal text in content)"
        )
    else:
        why = 'has neither content nor tool calls; give it content (even "") or tool calls'
    return new_violation("empty_assistant_message", index, f"assistant message {why}")


def duplicate_tool_call_id(index: int, within: Sequence[str], reused: Sequence[tuple[str, int]]) -> Violation:
    parts = []
    if within:
        parts.append(f"id(s) {', '.join(map(repr, within))} used by more than one of its tool calls")
    if reused:
        parts.append(
            "id(s) "
            + ", ".join(f"{i!r} (first used at {at})" for i, at in reused)
            + " already used by an earlier assistant message"
        )
    return new_violation(
        "duplicate_tool_call_id",
        index,
        "assistant message has " + " and ".join(parts) + "; tool call ids must be unique",
    )


def invalid_tool_arguments(index: int, problems: Sequence[tuple[int, str]]) -> Violation:
    return new_violation(
        "invalid_tool_arguments",
        index,
        "tool call arguments are not a JSON object: " + "; ".join(f"call {p}: {why}" for p, why in problems),
    )


def tool_arguments_mismatch(index: int, problems: Sequence[tuple[int, str, str]]) -> Violation:
    listed = "; ".join(f"call {p} ({name}): {why}" for p, name, why in problems)
    return new_violation(
        "tool_arguments_mismatch", index, f"tool call arguments do not match the tool's schema: {listed}"
    )


def content_too_long(index: int, role: str, length: int, limit: int, part: int | None = None) -> Violation:
    """``content_too_long`` for string content (``part`` ``None``) or for one text part."""
    if part is None:
        return violation("content_too_long", index, role=role, length=length, limit=limit)
    return new_violation(
        "content_too_long",
        index,
        f"{role} message text part {part} is {length:,} characters; at most {limit:,} are accepted",
    )


# What each role accepts in its content parts (OpenAI chat completions); an
# OtherPart, a provider's own kind of part, is accepted everywhere.
ACCEPTED_PARTS: Mapping[str, str] = {
    "system": "text parts",
    "developer": "text parts",
    "user": "text, image, audio and file parts",
    "assistant": "text (and refusal) parts",
    "tool": "text parts",
}


def unsupported_content_part(index: int, role: str, parts: Sequence[tuple[int, str]]) -> Violation:
    """``parts``: (position, part type name) of each part ``role`` does not accept."""
    listed = ", ".join(f"part {p} ({name})" for p, name in parts)
    return new_violation(
        "unsupported_content_part",
        index,
        f"{role} message has content part(s) its role does not accept: {listed}; {role} messages "
        f"accept {ACCEPTED_PARTS[role]} (send images, audio and files in a user message)",
    )


def invalid_content_part(index: int, role: str, problems: Sequence[tuple[int, str]]) -> Violation:
    """``problems``: (position, why) of each part the API would reject."""
    listed = "; ".join(f"part {p}: {why}" for p, why in problems)
    return new_violation(
        "invalid_content_part", index, f"{role} message has content part(s) the API rejects: {listed}"
    )


def missing_tool_response(index: int, calls: Sequence[ToolCallRequest]) -> Violation:
    listed = ", ".join(f"{c.id!r} ({c.name})" for c in calls)
    return new_violation(
        "missing_tool_response",
        index,
        f"assistant message has tool call(s) that no tool message answers: {listed}; answer "
        "each call with a ToolMessage(tool_call_id=...) before the next turn",
    )

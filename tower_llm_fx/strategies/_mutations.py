"""Mutators: break exactly one rule of a valid conversation, and say which.

Theory of operation: `mutate` takes a conversation that is valid under a
policy and returns a `Mutation`: a new conversation plus the *one*
`Violation` that `validate_conversation` must now report, exactly (kind,
index and explanation). So for every valid ``ms`` and applicable ``kind``::

    m = mutate(ms, kind, policy=p, tools=t)
    validate_conversation(m.messages, p, tools=t) == (m.violation,)

Each mutator knows where its change is safe: it never inserts a message
where a tool call is still waiting for its result, never creates two
adjacent same-role messages when the policy forbids them, and removes the
tool messages that would otherwise answer a call it renamed. ``site`` picks
one of the places the mutation applies (modulo their number), so a strategy
can explore them. Pure: no randomness here; hypothesis draws ``site``.

Where things are: the mutators, by what they break, in
``_mutators_messages.py``, ``_mutators_tool_calls.py`` and
``_mutators_tool_messages.py``; the analysis they share in
``_mutation_sites.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

import attrs
from attrs import validators as v

from tower_llm_fx._messages import Message
from tower_llm_fx._tools import ToolSpec
from tower_llm_fx.validation import VIOLATION_KINDS, ValidationPolicy, Violation, ViolationKind

from ._mutation_sites import Mutator
from ._mutators_messages import MESSAGE_MUTATORS
from ._mutators_tool_calls import TOOL_CALL_MUTATORS
from ._mutators_tool_messages import TOOL_MESSAGE_MUTATORS

__all__ = ["MUTABLE_KINDS", "Mutation", "checked_kinds", "mutate"]

_DEFAULT = ValidationPolicy()


def _as_tuple(value: Sequence[Message]) -> tuple[Message, ...]:
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class Mutation:
    """A conversation with exactly one rule broken, and the violation it must produce.

    ``description`` says what was changed, for humans reading a failing example.
    """

    messages: tuple[Message, ...] = attrs.field(converter=_as_tuple)
    violation: Violation = attrs.field(validator=v.instance_of(Violation))
    description: str = attrs.field(validator=v.instance_of(str))

    @property
    def kind(self) -> ViolationKind:
        """The kind of the violation introduced."""
        return self.violation.kind


def checked_kinds(policy: ValidationPolicy = _DEFAULT) -> frozenset[ViolationKind]:
    """The violation kinds ``policy`` can report for a conversation.

    >>> from tower_llm_fx.validation import ValidationPolicy
    >>> "repeated_role" in checked_kinds(ValidationPolicy())
    False
    >>> "repeated_role" in checked_kinds(ValidationPolicy.strict())
    True
    """
    kinds: set[ViolationKind] = {
        "empty_conversation",
        "unsupported_message",
        "empty_assistant_message",
        "empty_content_parts",
        "empty_tool_call_id",
        "duplicate_tool_call_id",
        "empty_tool_message_id",
        "orphan_tool_message",
    }
    p = policy
    optional: tuple[tuple[bool, ViolationKind], ...] = (
        (not p.allow_system_anywhere, "system_not_first"),
        (p.require_user_first, "assistant_before_user"),
        (not p.allow_repeated_roles, "repeated_role"),
        (p.require_user_present, "no_user_message"),
        (not p.allow_empty_content, "empty_content"),
        (p.max_content_length is not None, "content_too_long"),
        (p.check_names, "invalid_name"),
        (p.check_content_parts, "unsupported_content_part"),
        (p.check_content_parts, "invalid_content_part"),
        (p.check_names, "invalid_tool_name"),
        (p.max_tool_call_id_length is not None, "tool_call_id_too_long"),
        (p.check_tool_arguments, "invalid_tool_arguments"),
        (p.check_tool_schemas, "unknown_tool"),
        (p.check_tool_schemas, "tool_arguments_mismatch"),
        (not p.allow_unknown_tool_response, "unknown_tool_response"),
        (not p.allow_duplicate_tool_response, "duplicate_tool_response"),
        (p.enforce_tool_response_order, "tool_responses_out_of_order"),
        (p.enforce_contiguous_tool_responses, "tool_responses_not_contiguous"),
        (not p.allow_dangling_tool_calls, "missing_tool_response"),
    )
    kinds.update(kind for on, kind in optional if on)
    return frozenset(kinds)


_MUTATORS: dict[ViolationKind, Mutator] = {**MESSAGE_MUTATORS, **TOOL_CALL_MUTATORS, **TOOL_MESSAGE_MUTATORS}

MUTABLE_KINDS: tuple[ViolationKind, ...] = tuple(k for k in VIOLATION_KINDS if k in _MUTATORS)
"""The kinds `mutate` can introduce (all conversation rules but ``unsupported_message``)."""


def mutate(
    messages: Sequence[Message],
    kind: ViolationKind,
    *,
    policy: ValidationPolicy = _DEFAULT,
    tools: Sequence[ToolSpec] = (),
    site: int = 0,
) -> Mutation | None:
    """Break exactly one rule of the valid ``messages``: the one ``kind`` names.

    Returns ``None`` when ``policy`` does not check ``kind`` or the conversation
    has no place where the mutation is safe (e.g. no tool calls to rename).
    ``site`` chooses among the places that work (modulo their number).
    ``messages`` must be valid under ``policy`` (with ``tools``); otherwise the
    result promises nothing.

    Raises:
        ValueError: ``kind`` is not one of `MUTABLE_KINDS`.

    >>> from tower_llm_fx import UserMessage, AssistantMessage

    >>> from tower_llm_fx.validation import validate_conversation
    >>> ms = (UserMessage(content="hi"), AssistantMessage(content="hello"))
    >>> m = mutate(ms, "empty_assistant_message")
    >>> m.description
    'emptied the assistant message at 1'
    >>> validate_conversation(m.messages) == (m.violation,)
    True
    """
    mutator = _MUTATORS.get(kind)
    if mutator is None:
        raise ValueError(f"cannot mutate towards {kind!r}; mutable kinds are: {', '.join(MUTABLE_KINDS)}")
    if kind not in checked_kinds(policy) or not messages:
        return None
    if kind in ("unknown_tool", "tool_arguments_mismatch") and not tools:
        return None
    candidates = mutator(list(messages), policy, tools)
    if not candidates:
        return None
    chosen = candidates[site % len(candidates)]
    return Mutation(messages=chosen.messages, violation=chosen.violation, description=chosen.description)

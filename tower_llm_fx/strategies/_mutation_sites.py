"""Where a mutation can go: the analysis of a valid conversation that mutators share.

A mutator (``_mutators_*.py``) proposes every `Candidate` change of one kind;
the helpers here find tool-call windows, places where inserting a message
disturbs nothing, fresh ids, and rebuild a conversation with one call or
message changed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, final

import attrs

from tower_llm_fx._messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._tools import ToolSpec
from tower_llm_fx.validation import ValidationPolicy, Violation

__all__ = [
    "Candidate",
    "Mutator",
    "Window",
    "all_ids",
    "answering",
    "calls",
    "drop_answers",
    "first_non_system_is_assistant",
    "fresh",
    "known_answers",
    "leading_systems",
    "quiet",
    "repeats_ok",
    "tool_id",
    "windows",
    "with_call",
    "with_call_id",
    "without",
]


_INSTRUCTIONS: tuple[type[Any], ...] = (SystemMessage, DeveloperMessage)
_INTERRUPTERS: tuple[type[Any], ...] = (UserMessage, SystemMessage, DeveloperMessage)


class Candidate(NamedTuple):
    """One way to break a rule: the new conversation, its violation, what changed."""

    messages: Sequence[Message]
    violation: Violation
    description: str


Mutator = Callable[[list[Message], ValidationPolicy, Sequence[ToolSpec]], list[Candidate]]
"""Every candidate mutation of one kind (all sites) of a valid conversation."""


@final
@attrs.frozen
class Window:
    """An assistant message with tool calls and the tool messages up to the next assistant."""

    index: int
    calls: tuple[ToolCallRequest, ...]
    end: int  # index of the next assistant message, or len(messages)
    tools: tuple[int, ...]  # indices of the tool messages in (index, end)
    interrupted: bool  # a system, developer or user message comes after the assistant

    def answers(self, messages: Sequence[Message], call_id: str) -> list[int]:
        return [i for i in self.tools if tool_id(messages[i]) == call_id]

    def position(self, call_id: str) -> int:
        return next(p for p, c in enumerate(self.calls) if c.id == call_id)

    def complete(self, messages: Sequence[Message]) -> bool:
        answered = {tool_id(messages[i]) for i in self.tools}
        return all(c.id in answered for c in self.calls)


def answering(m: Message, call_id: str) -> ToolMessage:
    assert isinstance(m, ToolMessage)
    return attrs.evolve(m, tool_call_id=call_id)


def tool_id(m: Message) -> str:
    assert isinstance(m, ToolMessage)
    return m.tool_call_id


def windows(messages: Sequence[Message]) -> list[Window]:
    out: list[Window] = []
    assistants = [i for i, m in enumerate(messages) if type(m) is AssistantMessage]
    for k, a in enumerate(assistants):
        m = messages[a]
        assert isinstance(m, AssistantMessage)
        if not m.tool_calls:
            continue
        end = assistants[k + 1] if k + 1 < len(assistants) else len(messages)
        span = range(a + 1, end)
        tools = tuple(i for i in span if type(messages[i]) is ToolMessage)
        interrupted = any(type(messages[i]) in _INTERRUPTERS for i in span)
        out.append(Window(a, m.tool_calls, end, tools, interrupted))
    return out


def quiet(messages: Sequence[Message], windows: list[Window], p: int, policy: ValidationPolicy) -> bool:
    """Whether inserting a system or user message at ``p`` leaves every window alone:
    no tool message of the window it lands in comes after it, and no call of
    that window is still waiting (unless dangling calls are allowed)."""
    for w in windows:
        if w.index < p <= w.end:
            if any(i >= p for i in w.tools):
                return False
            if not w.complete(messages) and not policy.allow_dangling_tool_calls:
                return False
    return True


def repeats_ok(messages: Sequence[Message], policy: ValidationPolicy) -> bool:
    if policy.allow_repeated_roles:
        return True
    return not any(a.role == b.role and a.role != "tool" for a, b in itertools.pairwise(messages))


def first_non_system_is_assistant(messages: Sequence[Message]) -> bool:
    """Whether the first message that is not instructions (system or developer) is an assistant's."""
    for m in messages:
        if type(m) not in _INSTRUCTIONS:
            return type(m) is AssistantMessage
    return False


def leading_systems(messages: Sequence[Message]) -> int:
    """How many instructions (system or developer messages) start ``messages``."""
    n = 0
    for m in messages:
        if type(m) not in _INSTRUCTIONS:
            break
        n += 1
    return n


def all_ids(messages: Sequence[Message]) -> set[str]:
    ids: set[str] = set()
    for m in messages:
        if type(m) is AssistantMessage:
            assert isinstance(m, AssistantMessage)
            ids.update(c.id for c in m.tool_calls)
        elif type(m) is ToolMessage:
            ids.add(tool_id(m))
    return ids


def fresh(base: str, taken: set[str]) -> str:
    candidate = base
    n = 2
    while candidate in taken:
        candidate = f"{base}_{n}"
        n += 1
    return candidate


def with_call(messages: Sequence[Message], w: Window, j: int, **changes: Any) -> list[Message]:
    """``messages`` with call ``j`` of ``w``'s assistant message changed (`attrs.evolve`)."""
    a = messages[w.index]
    assert isinstance(a, AssistantMessage)
    calls = list(a.tool_calls)
    calls[j] = attrs.evolve(calls[j], **changes)
    new = list(messages)
    new[w.index] = attrs.evolve(a, tool_calls=tuple(calls))
    return new


def with_call_id(messages: Sequence[Message], w: Window, j: int, call_id: str) -> list[Message]:
    """``messages`` with call ``j`` of ``w`` renamed to ``call_id``, in its answers too."""
    new = with_call(messages, w, j, id=call_id)
    for i in w.answers(messages, w.calls[j].id):
        new[i] = answering(messages[i], call_id)
    return new


def without(messages: Sequence[Message], drop: Sequence[int]) -> list[Message]:
    gone = set(drop)
    return [m for i, m in enumerate(messages) if i not in gone]


def drop_answers(
    messages: Sequence[Message], w: Window, call_id: str, policy: ValidationPolicy
) -> list[Message] | None:
    """``messages`` without the answers to ``call_id``, or ``None`` if that repeats a role."""
    new = without(messages, w.answers(messages, call_id))
    return new if repeats_ok(new, policy) else None


def calls(messages: Sequence[Message]) -> list[tuple[Window, int]]:
    """Every tool call, as (its window, its position in the assistant message)."""
    return [(w, j) for w in windows(messages) for j in range(len(w.calls))]


def known_answers(messages: Sequence[Message], w: Window) -> list[int]:
    """Tool messages of ``w`` that are the first answer to one of its calls."""
    ids = {c.id for c in w.calls}
    seen: set[str] = set()
    out = []
    for i in w.tools:
        tid = tool_id(messages[i])
        if tid in ids and tid not in seen:
            seen.add(tid)
            out.append(i)
    return out

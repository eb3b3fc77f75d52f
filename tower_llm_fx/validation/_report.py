"""The reporter: the readable reference implementation that explains what is wrong.

Tool-call windows: an assistant message with tool calls opens a *window*
holding its call ids in declared order; the window closes at the next
assistant message or at the end of the conversation. Tool messages answer
calls of the open window. A system or user message after the assistant
*interrupts* the window: with ``enforce_contiguous_tool_responses`` (the
default, as in the OpenAI API) any tool message after an interruption is a
violation.

Developer messages are instructions like system messages: the same rules
(``system_not_first``, what starts a conversation, what interrupts a window)
apply to both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tower_llm_fx._messages import (
    AssistantMessage,
    DeveloperMessage,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._tools import ToolSpec

from ._checks import call_violations, name_ok, parts_violations, spec_map
from ._policy import ValidationPolicy
from ._violations import (
    Violation,
    empty_assistant_message,
    missing_tool_response,
    unsupported_message,
    violation,
)

__all__ = ["report"]

_ROLE_NAMES: dict[type[Any], str] = {
    SystemMessage: "system",
    DeveloperMessage: "developer",
    UserMessage: "user",
    AssistantMessage: "assistant",
    ToolMessage: "tool",
}
_LAST = 1 << 62  # where conversation-wide violations (index None) sort


class _Window:
    """The tool calls of one assistant message and the answers seen so far."""

    __slots__ = (
        "anonymous",
        "answered",
        "calls",
        "contiguity_reported",
        "highest",
        "index",
        "interrupted_at",
        "interrupter",
        "order_reported",
        "positions",
    )

    def __init__(self, index: int, calls: tuple[ToolCallRequest, ...]) -> None:
        self.index = index
        self.calls = calls
        self.positions: dict[str, int] = {}
        for c in calls:
            if c.id and c.id not in self.positions:
                self.positions[c.id] = len(self.positions)
        self.answered: dict[str, int] = {}
        self.anonymous = 0  # tool messages with an empty id: they answer *something*
        self.highest = -1
        self.interrupted_at: int | None = None
        self.interrupter = ""
        self.contiguity_reported = False
        self.order_reported = False

    def missing(self) -> list[ToolCallRequest]:
        out: list[ToolCallRequest] = []
        seen: set[str] = set()
        for c in self.calls:
            if c.id and c.id not in self.answered and c.id not in seen:
                seen.add(c.id)
                out.append(c)
        return out


def report(
    messages: Sequence[object], policy: ValidationPolicy, tools: Sequence[ToolSpec]
) -> tuple[Violation, ...]:
    if not messages:
        return (violation("empty_conversation", None),)
    out: list[Violation] = []
    specs = spec_map(tools, policy)
    first_use: dict[str, int] | None = None if policy.allow_reused_tool_call_ids else {}
    max_len = policy.max_content_length
    window: _Window | None = None
    prev_role: str | None = None
    started = False
    seen_user = False

    def close(w: _Window, at_end: bool) -> None:
        missing = w.missing()
        if len(missing) <= w.anonymous:
            return
        if policy.allow_dangling_tool_calls:
            return
        if at_end and policy.allow_pending_tool_calls and w.interrupted_at is None:
            return
        out.append(missing_tool_response(w.index, missing))

    for i, m in enumerate(messages):
        t = type(m)
        role = _ROLE_NAMES.get(t)
        if role is None:
            out.append(unsupported_message(i, m))
            continue
        if t is not SystemMessage and t is not DeveloperMessage and not started:
            started = True
            if t is AssistantMessage and policy.require_user_first:
                out.append(violation("assistant_before_user", i))
        if role == prev_role and t is not ToolMessage and not policy.allow_repeated_roles:
            out.append(violation("repeated_role", i, role=role, previous=i - 1))
        prev_role = role
        content: object = m.content  # type: ignore[attr-defined]
        if type(content) is str:
            if max_len is not None and len(content) > max_len:
                out.append(violation("content_too_long", i, role=role, length=len(content), limit=max_len))
        elif type(content) is tuple:
            out.extend(parts_violations(i, role, content, policy))
        name = getattr(m, "name", None)
        if name is not None and policy.check_names and not name_ok(name):
            out.append(violation("invalid_name", i, role=role, name=name))

        if t is ToolMessage:
            assert isinstance(m, ToolMessage)
            if content == "" and not policy.allow_empty_content:
                out.append(violation("empty_content", i, role=role))
            if window is None:
                out.append(violation("orphan_tool_message", i, tool_call_id=m.tool_call_id))
                if not m.tool_call_id:
                    out.append(violation("empty_tool_message_id", i))
                continue
            w = window
            if (
                w.interrupted_at is not None
                and policy.enforce_contiguous_tool_responses
                and not w.contiguity_reported
            ):
                w.contiguity_reported = True
                out.append(
                    violation(
                        "tool_responses_not_contiguous",
                        w.interrupted_at,
                        role=w.interrupter,
                        assistant_index=w.index,
                        tool_index=i,
                    )
                )
            tid = m.tool_call_id
            if not tid:
                out.append(violation("empty_tool_message_id", i))
                w.anonymous += 1
                continue
            pos = w.positions.get(tid)
            if pos is None:
                if not policy.allow_unknown_tool_response:
                    out.append(
                        violation("unknown_tool_response", i, tool_call_id=tid, assistant_index=w.index)
                    )
                continue
            first = w.answered.get(tid)
            if first is not None:
                if not policy.allow_duplicate_tool_response:
                    out.append(violation("duplicate_tool_response", i, tool_call_id=tid, first=first))
                continue
            w.answered[tid] = i
            if pos < w.highest:
                if policy.enforce_tool_response_order and not w.order_reported:
                    w.order_reported = True
                    out.append(
                        violation("tool_responses_out_of_order", i, tool_call_id=tid, assistant_index=w.index)
                    )
            else:
                w.highest = pos
            continue

        if t is AssistantMessage:
            assert isinstance(m, AssistantMessage)
            if window is not None:
                close(window, at_end=False)
                window = None
            if m.tool_calls:
                out.extend(call_violations(i, m.tool_calls, policy, first_use, specs))
                window = _Window(i, m.tool_calls)
            elif content is None:
                out.append(empty_assistant_message(i, m.refusal is not None))
            elif content == "" and not policy.allow_empty_content:
                out.append(violation("empty_content", i, role=role))
            continue

        # system, developer or user
        if t is UserMessage:
            seen_user = True
        elif started and not policy.allow_system_anywhere:
            out.append(violation("system_not_first", i, role=role))
        if content == "" and not policy.allow_empty_content:
            out.append(violation("empty_content", i, role=role))
        if window is not None and window.interrupted_at is None:
            window.interrupted_at = i
            window.interrupter = role

    if window is not None:
        close(window, at_end=True)
    if policy.require_user_present and not seen_user:
        out.append(violation("no_user_message", None))
    out.sort(key=_position)
    return tuple(out)


def _position(v: Violation) -> int:
    return _LAST if v.index is None else v.index

"""Input filters: what the next agent sees of the history when a handoff happens.

Theory of operation: a filter is a pure function ``messages -> messages`` over
the history *before* a handoff. It makes a view: the shared conversation is
never changed, and the group recomputes the view from its handoff records.
Rule: a filter never separates a tool call from its result (`check_tool_pairs`
enforces it on every filter's output). Compaction (`tower_llm_fx.sessions`) is a
filter too; a summarising one needs a summary the group asks a model for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeAlias, final

import attrs

from tower_llm_fx._effects import ModelCall
from tower_llm_fx._errors import ConfigurationError
from tower_llm_fx._messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from tower_llm_fx.sessions import (
    CompactionPolicy,
    Summarise,
    apply_compaction,
    compact,
    plan_compaction,
    summary_request,
)

__all__ = ["InputFilter", "check_tool_pairs", "last_messages", "without_tool_calls"]

InputFilter: TypeAlias = Callable[[tuple[Message, ...]], tuple[Message, ...]]
"""What the next agent sees of the history before a handoff: ``messages -> messages``."""


def identity_filter(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    return messages


@final
@attrs.frozen
class ThenFilter:
    """Two input filters, one after the other."""

    first: InputFilter
    second: InputFilter

    def __call__(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        if isinstance(self.first, CompactFilter) and isinstance(self.first.policy.strategy, Summarise):
            raise ConfigurationError(
                "a summarising compacting_handoff(...) is wrapped in filtered_handoff(...); the summary is "
                "a model call the group makes itself, so make compacting_handoff the outermost wrapper"
            )
        return self.second(self.first(messages))


@final
@attrs.frozen
class CompactFilter:
    """Compaction as an input filter; a summarising one needs the summary the group asked for."""

    policy: CompactionPolicy
    before: InputFilter | None = None

    def _head(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        return messages if self.before is None else tuple(self.before(messages))

    def __call__(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        return self.apply(messages, None)

    def apply(self, messages: tuple[Message, ...], summary: str | None) -> tuple[Message, ...]:
        """The compacted history; ``summary`` is the summary text for a `summarise` strategy."""
        head = self._head(messages)
        strategy = self.policy.strategy
        if not isinstance(strategy, Summarise):
            return compact(head, self.policy)
        plan = plan_compaction(head, self.policy) if summary else None
        if plan is None or not summary:
            return head  # nothing due, or an empty summary: keep the originals
        return apply_compaction(head, plan, UserMessage(content=f"{strategy.prefix}{summary}"))

    def summary_call(self, messages: tuple[Message, ...]) -> ModelCall | None:
        """The summarisation ``ModelCall`` due for this history, if any."""
        strategy = self.policy.strategy
        if not isinstance(strategy, Summarise):
            return None
        head = self._head(messages)
        plan = plan_compaction(head, self.policy)
        return None if plan is None else summary_request(strategy, head[plan.start : plan.end])


def check_tool_pairs(messages: Sequence[Message], where: str = "the conversation") -> tuple[Message, ...]:
    """Return ``messages`` as a tuple if every tool call is answered right after its
    assistant message and every tool message answers one; raise otherwise.

    Raises:
        ConfigurationError: a tool call without its result, or a result without its call.
    """
    open_ids: dict[str, None] = {}
    for i, m in enumerate(messages):
        if isinstance(m, ToolMessage):
            if m.tool_call_id not in open_ids:
                raise ConfigurationError(
                    f"{where}: messages[{i}] answers tool call {m.tool_call_id!r}, which no preceding "
                    "assistant message makes; keep tool call/result pairs together"
                )
            del open_ids[m.tool_call_id]
            continue
        if open_ids:
            raise ConfigurationError(
                f"{where}: tool call(s) {sorted(open_ids)} are not answered before messages[{i}]; "
                "keep tool call/result pairs together"
            )
        if isinstance(m, AssistantMessage):
            open_ids = dict.fromkeys(c.id for c in m.tool_calls)
    if open_ids:
        raise ConfigurationError(f"{where}: tool call(s) {sorted(open_ids)} are not answered")
    return tuple(messages)


def without_tool_calls(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """An input filter: drop tool results and tool calls (and assistant turns left empty).

    >>> from tower_llm_fx import ToolCallRequest, ToolMessage, assistant, user
    >>> call = ToolCallRequest(id="c1", name="lookup")
    >>> without_tool_calls((user("hi"), assistant(None, call), ToolMessage(tool_call_id="c1", content="x")))
    (UserMessage(content='hi', name=None),)
    """
    out: list[Message] = []
    for m in messages:
        if isinstance(m, ToolMessage):
            continue
        if isinstance(m, AssistantMessage) and m.tool_calls:
            if m.content is None and m.refusal is None:
                continue
            m = attrs.evolve(m, tool_calls=())
        out.append(m)
    return tuple(out)


def _positive(n: int, what: str) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigurationError(f"{what} needs a positive int, got {n!r}")
    return n


@final
@attrs.frozen
class _KeepLast:
    n: int

    def __call__(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        head = 0
        while head < len(messages) and isinstance(messages[head], SystemMessage):
            head += 1
        start = max(head, len(messages) - self.n)
        # Never start on a tool result: step back to the assistant message that made the call.
        while start > head and isinstance(messages[start], ToolMessage):
            start -= 1
        return (*messages[:head], *messages[start:])

    def __repr__(self) -> str:
        return f"last_messages({self.n})"


def last_messages(n: int) -> InputFilter:
    """An input filter: leading system messages plus about the last ``n`` messages.

    It keeps more than ``n`` when needed so a tool result never loses its call.

    >>> from tower_llm_fx import ToolCallRequest, ToolMessage, assistant, user
    >>> call = ToolCallRequest(id="c1", name="lookup")
    >>> history = (user("a"), assistant(None, call), ToolMessage(tool_call_id="c1", content="x"))
    >>> [m.role for m in last_messages(1)(history)]
    ['assistant', 'tool']
    """
    return _KeepLast(_positive(n, "last_messages()"))

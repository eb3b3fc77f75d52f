"""Hypothesis strategies for valid conversations, and an invariant checker, for the
session and compaction tests.

``check_valid`` states what "a valid conversation" means for compaction and
persistence, twice: in our own words (tool calls and tool results pair up exactly
and contiguously, system messages only lead, the first non-system message is not
an assistant reply), and with ``validate_conversation`` under the same policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx.validation._policy import ValidationPolicy
from tower_llm_fx.validation._validate import validate_conversation

text = st.text(alphabet="abcdefgh xyz", max_size=30)

_any_text = st.text(max_size=20)
_ids = st.text(alphabet="abc123_", min_size=1, max_size=8)
_calls = st.builds(fx.ToolCallRequest, id=_ids, name=st.sampled_from(["add", "search"]), arguments=_any_text)
any_message = st.one_of(
    st.builds(fx.SystemMessage, content=_any_text),
    st.builds(fx.UserMessage, content=_any_text, name=st.none() | _any_text),
    st.builds(
        fx.AssistantMessage,
        content=st.none() | _any_text,
        tool_calls=st.lists(_calls, max_size=3).map(tuple),
        refusal=st.none() | _any_text,
        name=st.none() | _any_text,
    ),
    st.builds(fx.ToolMessage, tool_call_id=_ids, content=_any_text),
)
"""Any single message (not necessarily part of a valid conversation)."""


@st.composite
def conversations(draw: st.DrawFn, *, max_turns: int = 6, with_system: bool | None = None) -> tuple[Any, ...]:
    """A valid conversation: optional system message, then user turns with model steps."""
    out: list[fx.Message] = []
    if with_system if with_system is not None else draw(st.booleans()):
        out.append(fx.system(draw(text)))
    counter = 0
    for _ in range(draw(st.integers(1, max_turns))):
        out.append(fx.user(draw(text)))
        for _ in range(draw(st.integers(0, 3))):
            n_calls = draw(st.integers(1, 3))
            calls = []
            for _ in range(n_calls):
                counter += 1
                calls.append(fx.ToolCallRequest(id=f"c{counter}", name="add", arguments=draw(text)))
            out.append(fx.AssistantMessage(content=draw(st.none() | text), tool_calls=tuple(calls)))
            out.extend(fx.ToolMessage(tool_call_id=c.id, content=draw(text)) for c in calls)
        if draw(st.booleans()):
            out.append(fx.assistant(draw(text)))
    return tuple(out)


def check_valid(messages: Sequence[fx.Message], *, allow_dangling: bool = False) -> None:
    """Raise ``AssertionError`` naming the first violation."""
    seen_other = False
    first_other: fx.Message | None = None
    open_calls: list[str] = []
    answered: set[str] = set()
    for i, m in enumerate(messages):
        if isinstance(m, fx.SystemMessage):
            assert not seen_other, f"system message at {i} after the conversation started"
            continue
        if first_other is None:
            first_other = m
            assert not isinstance(m, fx.AssistantMessage), f"assistant before any user message at {i}"
        seen_other = True
        if isinstance(m, fx.ToolMessage):
            assert m.tool_call_id in open_calls, f"tool message {i} ({m.tool_call_id}) answers no open call"
            assert m.tool_call_id not in answered, f"tool call {m.tool_call_id} answered twice"
            answered.add(m.tool_call_id)
            continue
        missing = [c for c in open_calls if c not in answered]
        assert not missing, f"message {i} interrupts the results of tool calls {missing}"
        open_calls, answered = [], set()
        if isinstance(m, fx.AssistantMessage) and m.tool_calls:
            open_calls = [c.id for c in m.tool_calls]
            assert len(set(open_calls)) == len(open_calls), f"duplicate call ids at {i}"
    missing = [c for c in open_calls if c not in answered]
    assert allow_dangling or not missing, f"tool calls {missing} at the end have no results"
    policy = ValidationPolicy(
        require_user_first=True, allow_system_anywhere=False, allow_pending_tool_calls=allow_dangling
    )
    violations = validate_conversation(messages, policy) if messages else ()  # an empty store is fine
    assert not violations, f"validate_conversation: {violations}"

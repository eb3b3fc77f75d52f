"""Strategies for messages, and the atoms other strategies build on (texts, names, ids).

Part of `tower_llm_fx.strategies` (which imports hypothesis); import that, not this.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tower_llm_fx._messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)

__all__ = [
    "ANY_TEXT",
    "CALL_IDS",
    "NAMES",
    "SAFE_TEXT",
    "TOOL_NAMES",
    "assistant_messages",
    "json_objects",
    "messages",
    "system_messages",
    "tool_call_requests",
    "tool_messages",
    "user_messages",
]


# Content rarely matters to the rules; one draw per text keeps generation fast.
SAFE_TEXT = st.sampled_from(
    [
        "hi",
        "What is 2 + 3?",
        "Let me check.",
        "The answer is 5.",
        "Search the web for Paris weather",
        "ok",
        "Zoë's café: 12 °C ☀",
        "line one\nline two",
        '{"looks": "like json"}',
        "   padded   ",
        "Thanks!",
        "请用中文回答",
    ]
)
ANY_TEXT = st.text(max_size=24)
NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True)
TOOL_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
CALL_IDS = st.from_regex(r"call_[A-Za-z0-9]{1,12}", fullmatch=True)


def _json_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6), SAFE_TEXT)


def json_objects() -> st.SearchStrategy[str]:
    return st.dictionaries(TOOL_NAMES, _json_scalars(), max_size=3).map(json.dumps)


def system_messages(content: st.SearchStrategy[str] = ANY_TEXT) -> st.SearchStrategy[SystemMessage]:
    """Any `SystemMessage`."""
    return st.builds(SystemMessage, content=content)


def user_messages(content: st.SearchStrategy[str] = ANY_TEXT) -> st.SearchStrategy[UserMessage]:
    """Any `UserMessage`, sometimes with a ``name``."""
    return st.builds(UserMessage, content=content, name=st.none() | NAMES)


def tool_call_requests(
    *,
    ids: st.SearchStrategy[str] = CALL_IDS,
    names: st.SearchStrategy[str] = TOOL_NAMES,
    arguments: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[ToolCallRequest]:
    """Any `ToolCallRequest`; arguments are JSON objects, or any text half the time."""
    args = arguments if arguments is not None else st.one_of(json_objects(), ANY_TEXT)
    return st.builds(ToolCallRequest, id=ids, name=names, arguments=args)


def assistant_messages(
    content: st.SearchStrategy[str] = ANY_TEXT, *, max_tool_calls: int = 3
) -> st.SearchStrategy[AssistantMessage]:
    """Any `AssistantMessage`: text, tool calls, refusals, or none of them."""
    return st.builds(
        AssistantMessage,
        content=st.none() | content,
        tool_calls=st.lists(tool_call_requests(), max_size=max_tool_calls).map(tuple),
        refusal=st.none() | content,
        name=st.none() | NAMES,
    )


def tool_messages(
    content: st.SearchStrategy[str] = ANY_TEXT, *, ids: st.SearchStrategy[str] = CALL_IDS
) -> st.SearchStrategy[ToolMessage]:
    """Any `ToolMessage`."""
    return st.builds(ToolMessage, tool_call_id=ids, content=content)


def messages() -> st.SearchStrategy[Message]:
    """Any single message. Sequences of these are mostly *invalid* conversations:
    use them to check that code handles anything; use `conversations` for valid ones."""
    return st.one_of(system_messages(), user_messages(), assistant_messages(), tool_messages())

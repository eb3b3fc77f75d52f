"""Shared fixtures of the strategies tests: two tools, the policies, and a conversation every mutator can break."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx.strategies._mutation_sites import Candidate

Mutator = Callable[[list[fx.Message], fx.validation.ValidationPolicy, Sequence[fx.ToolSpec]], list[Candidate]]

ADD = fx.ToolSpec(
    name="add",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
SEARCH = fx.ToolSpec(
    name="search",
    parameters={"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)
TOOLS = (ADD, SEARCH)
STRICT = fx.validation.ValidationPolicy.strict()
DEFAULT = fx.validation.ValidationPolicy()

BASE: tuple[fx.Message, ...] = (
    fx.system("Be brief."),  # 0
    fx.user("What is 2 + 3 and who wrote Hamlet?"),  # 1
    fx.AssistantMessage(
        tool_calls=(
            fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 2, "b": 3}'),
            fx.ToolCallRequest(id="call_2", name="search", arguments='{"query": "Hamlet author"}'),
        )
    ),  # 2
    fx.ToolMessage(tool_call_id="call_1", content="5"),  # 3
    fx.ToolMessage(tool_call_id="call_2", content="Shakespeare"),  # 4
    fx.assistant("5; Shakespeare."),  # 5
    fx.user("And 1 + 1?"),  # 6
    fx.AssistantMessage(
        tool_calls=(fx.ToolCallRequest(id="call_3", name="add", arguments='{"a": 1, "b": 1}'),)
    ),  # 7
    fx.ToolMessage(tool_call_id="call_3", content="2"),  # 8
    fx.assistant("2."),  # 9
)


def checked_candidates(
    mutator: Mutator,
    kind: fx.validation.ViolationKind,
    messages: Sequence[fx.Message],
    policy: fx.validation.ValidationPolicy,
    tools: Sequence[fx.ToolSpec] = TOOLS,
) -> list[Candidate]:
    """Every candidate ``mutator`` makes, each checked to break exactly ``kind``; the input stays as it was."""
    given_ = list(messages)
    out = mutator(given_, policy, tools)
    assert given_ == list(messages), "a mutator changed its input"
    for c in out:
        assert c.violation.kind == kind
        assert fx.validation.validate_conversation(c.messages, policy, tools=tools) == (c.violation,), (
            c.description
        )
    return out

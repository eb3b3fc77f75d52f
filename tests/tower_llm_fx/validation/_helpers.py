"""Shared fixtures of the validation tests: message shorthands, the ``add`` tool, a valid conversation."""

from __future__ import annotations

from collections.abc import Sequence

import tower_llm_fx as fx
import tower_llm_fx.validation

P = fx.validation.ValidationPolicy
S = fx.SystemMessage
U = fx.UserMessage
T = fx.ToolMessage


def A(content: str | None = None, *calls: tuple[str, str] | tuple[str, str, str]) -> fx.AssistantMessage:
    return fx.AssistantMessage(
        content=content,
        tool_calls=tuple(
            fx.ToolCallRequest(id=c[0], name=c[1], arguments=c[2] if len(c) == 3 else "{}") for c in calls
        ),
    )


ADD = fx.ToolSpec(
    name="add",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)


DEFAULT = P()


def kinds(
    messages: Sequence[object],
    policy: fx.validation.ValidationPolicy = DEFAULT,
    tools: Sequence[fx.ToolSpec] = (),
) -> list[tuple[str, int | None]]:
    return [(v.kind, v.index) for v in fx.validation.validate_conversation(messages, policy, tools=tools)]


VALID = (
    S(content="Be brief."),
    U(content="What is 2 + 3, and 4 + 5?"),
    A(None, ("c1", "add", '{"a": 2, "b": 3}'), ("c2", "add", '{"a": 4, "b": 5}')),
    T(tool_call_id="c1", content="5"),
    T(tool_call_id="c2", content="9"),
    A("5 and 9."),
)

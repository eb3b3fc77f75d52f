"""Strategies for misbehaving models: scripts of replies to fuzz an agent loop with.

Part of `tower_llm_fx.strategies` (which imports hypothesis); import that, not this.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from tower_llm_fx._messages import AssistantMessage, ToolCallRequest
from tower_llm_fx._results import ModelReply, Usage
from tower_llm_fx._tools import ToolSpec

from ._messages import SAFE_TEXT
from ._tools import DEFAULT_TOOLS, arguments_for

__all__ = ["model_scripts"]


@st.composite
def model_scripts(
    draw: st.DrawFn,
    *,
    tools: Sequence[ToolSpec] = DEFAULT_TOOLS,
    max_replies: int = 6,
    max_calls: int = 12,
    final: str | None = "Done.",
) -> tuple[ModelReply, ...]:
    """Replies of a misbehaving model, for fuzzing an agent loop with ``sequence(...)``.

    Each reply is one of: text; an empty reply (no content, no calls); ``""``;
    a bare refusal; a reply cut off by ``length``; or tool calls (1 to
    ``max_calls``, a *storm*) whose ids may repeat within the reply, be empty,
    or restart every reply, whose names may be unknown, and whose arguments
    may be valid, ``{}``, truncated, not JSON, not an object, or blank.
    Tool names always match the API's pattern (an invalid name would make the
    next request invalid, whatever the loop does).

    Unless ``final`` is ``None``, the script ends with a plain text reply, so a
    loop that stops when the model stops calling tools runs out of script
    exactly when it should.
    """
    names = [t.name for t in tools] or ["add"]
    by_name = {t.name: t for t in tools}
    replies: list[ModelReply] = []
    id_mode = draw(st.sampled_from(["unique", "unique", "repeat_in_reply", "empty", "restart_each_reply"]))
    counter = 0
    for _ in range(draw(st.integers(0, max_replies))):
        move = draw(
            st.sampled_from(["text", "empty", "blank", "refusal", "length", "calls", "calls", "calls"])
        )
        if move == "text":
            replies.append(ModelReply(message=AssistantMessage(content=draw(SAFE_TEXT))))
        elif move == "empty":
            replies.append(ModelReply(message=AssistantMessage()))
        elif move == "blank":
            replies.append(ModelReply(message=AssistantMessage(content="")))
        elif move == "refusal":
            replies.append(ModelReply(message=AssistantMessage(refusal="I can't help with that.")))
        elif move == "length":
            replies.append(
                ModelReply(message=AssistantMessage(content=draw(SAFE_TEXT)[:5]), finish_reason="length")
            )
        else:
            n = draw(st.integers(1, max(1, max_calls)))
            if id_mode == "restart_each_reply":
                counter = 0
            calls: list[ToolCallRequest] = []
            for j in range(n):
                name = draw(st.sampled_from([*names, "no_such_tool"]))
                spec = by_name.get(name)
                arguments = draw(
                    st.one_of(
                        arguments_for(spec) if spec is not None else st.just("{}"),
                        st.sampled_from(["{}", '{"a": ', "not json", "[1, 2]", "", '"just a string"']),
                    )
                )
                if id_mode == "empty" and draw(st.booleans()):
                    call_id = ""
                elif id_mode == "repeat_in_reply" and j > 0 and draw(st.booleans()):
                    call_id = calls[0].id
                else:
                    counter += 1
                    call_id = f"call_{counter}"
                calls.append(ToolCallRequest(id=call_id, name=name, arguments=arguments))
            content = draw(st.sampled_from([None, None, "", "Let me check."]))
            replies.append(
                ModelReply(
                    message=AssistantMessage(content=content, tool_calls=tuple(calls)),
                    finish_reason="tool_calls",
                    usage=Usage(prompt_tokens=10, completion_tokens=n),
                )
            )
    if final is not None:
        replies.append(ModelReply(message=AssistantMessage(content=final)))
    return tuple(replies)

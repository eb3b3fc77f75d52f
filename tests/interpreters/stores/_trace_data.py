"""A small recorded run (model call, tool call, model call) shared by the trace-store tests."""

from __future__ import annotations

import attrs

import tower_llm_fx as fx
import tower_llm_fx.trace

SYSTEM = fx.system("You add.")
REQ = fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 2, "b": 3}')
FIRST = fx.ModelCall(model="m", messages=(SYSTEM, fx.user("2+3?")))
REPLY = fx.ModelReply(message=fx.assistant(None, REQ), finish_reason="tool_calls")
TOOL = fx.ToolCall(id="c1", name="add", arguments=REQ.arguments)
RESULT = fx.ToolResult.success(call_id="c1", name="add", content="5")
SECOND = attrs.evolve(FIRST, messages=(*FIRST.messages, REPLY.message, RESULT.to_message()))
FINAL = fx.ModelReply(message=fx.assistant("5"))
EXCHANGES = (
    fx.trace.Exchange(effect=FIRST, result=REPLY),
    fx.trace.Exchange(effect=TOOL, result=RESULT),
    fx.trace.Exchange(effect=SECOND, result=FINAL),
)
META = fx.trace.TraceMeta(created_at="2025-01-01T00:00:00+00:00", agent="calc", model="m", tags={"run": "1"})

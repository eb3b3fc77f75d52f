"""A small recorded run (model call, tool call, model call) shared by the trace-store tests."""

from __future__ import annotations

import attrs

import tower_llm_fx as fx
import tower_llm_fx.trace
from tower_llm_fx.serde import DEFAULT

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

# The same run as format v1 wrote it (class-name tags, no ToolCall.agent), verbatim.
V1_TEXT = r"""{"format":"tower_llm_fx.trace","version":1,"library_version":"0.1.0","created_at":"2025-01-01T00:00:00+00:00","agent":"calc","model":"m","tags":{"run":"1"}}
{"i":0,"effect":{"type":"ModelCall","model":"m","messages":[{"type":"SystemMessage","content":"You add."},{"type":"UserMessage","content":"2+3?","name":null}],"tools":[],"params":{"type":"ModelParams","temperature":null,"top_p":null,"max_tokens":null,"max_completion_tokens":null,"reasoning_effort":null,"tool_choice":null,"parallel_tool_calls":null,"response_format":null,"stop":null,"seed":null,"presence_penalty":null,"frequency_penalty":null,"user":null,"metadata":null,"extra":null}},"result":{"type":"ModelReply","message":{"type":"AssistantMessage","content":null,"tool_calls":[{"type":"ToolCallRequest","id":"c1","name":"add","arguments":"{\"a\": 2, \"b\": 3}"}],"refusal":null,"name":null},"usage":{"type":"Usage","prompt_tokens":0,"completion_tokens":0},"finish_reason":"tool_calls","model":null,"id":null}}
{"i":1,"effect":{"type":"ToolCall","id":"c1","name":"add","arguments":"{\"a\": 2, \"b\": 3}"},"result":{"type":"ToolResult","call_id":"c1","name":"add","content":"5","error":null}}
{"i":2,"effect":{"type":"ModelCall","model":"m","messages":{"extends":0,"append":[{"type":"AssistantMessage","content":null,"tool_calls":[{"type":"ToolCallRequest","id":"c1","name":"add","arguments":"{\"a\": 2, \"b\": 3}"}],"refusal":null,"name":null},{"type":"ToolMessage","tool_call_id":"c1","content":"5"}]},"tools":[],"params":{"same_as":0}},"result":{"type":"ModelReply","message":{"type":"AssistantMessage","content":"5","tool_calls":[],"refusal":null,"name":null},"usage":{"type":"Usage","prompt_tokens":0,"completion_tokens":0},"finish_reason":"stop","model":null,"id":null}}
"""


@attrs.frozen
class StoreTestTicket:
    """A type of our own, kept in traces through a codec."""

    id: int
    note: str = ""


@attrs.frozen(kw_only=True)
class FetchTicket(fx.Effect[StoreTestTicket]):
    """An effect of our own, answered by a ticket."""

    result_type = StoreTestTicket
    id: int


CODEC = DEFAULT.with_types({"test.store_ticket": StoreTestTicket, "test.fetch_ticket": FetchTicket})
OWN = fx.trace.Exchange(effect=FetchTicket(id=7), result=StoreTestTicket(id=7, note="refund"))

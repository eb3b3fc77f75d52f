"""The stable wire names of every value the library serialises (JSON format v2).

Theory of operation (read before adding a class or renaming one):

* `WIRE_NAMES` is the one table of serialisable library values: wire name →
  ``"module:QualName"``, the public import path of the class. A value encodes as
  ``{"type": <wire name>, <field>: ..., ...}``.
* Rule 1: a wire name never changes. Renaming or moving a class changes only
  its import path here; stored traces and sessions keep loading.
* Rule 2: a new serialisable class gets a new entry here (lowercase, dotted,
  ``<family or concept>.<thing>``) and nowhere else; there is no registration
  at import time. ``tests/tower_llm_fx/test_wire.py`` checks that every path
  imports and names its class, and that every class has one name.
* The kernel never imports the families, so paths are strings, resolved with
  ``importlib`` on first use (by `tower_llm_fx.serde.Codec`).
* `RESERVED` holds the wire names the library writes for data that is no
  single class (a journal's delta rows); a codec refuses them as names.
* `V1_TAGS` reads format v1, which tagged a value with its class name
  (``{"type": "UserMessage", ...}``): v1 tag → wire name. It is frozen: the
  class names of the day v2 was introduced, whatever the classes are called now.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

__all__ = ["RESERVED", "V1_TAGS", "WIRE_NAME", "WIRE_NAMES"]

WIRE_NAME: Final = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
"""What a wire name looks like: lowercase dotted words, at least two (``acme.ticket``)."""

WIRE_NAMES: Final = MappingProxyType(
    {
        # the conversation (tower_llm_fx/_messages.py, _tools.py)
        "message.system": "tower_llm_fx:SystemMessage",
        "message.user": "tower_llm_fx:UserMessage",
        "message.assistant": "tower_llm_fx:AssistantMessage",
        "message.tool": "tower_llm_fx:ToolMessage",
        "message.tool_call": "tower_llm_fx:ToolCallRequest",
        "message.developer": "tower_llm_fx:DeveloperMessage",
        "message.reasoning": "tower_llm_fx:Reasoning",
        "content.text": "tower_llm_fx:TextPart",
        "content.image": "tower_llm_fx:ImagePart",
        "content.audio": "tower_llm_fx:AudioPart",
        "content.file": "tower_llm_fx:FilePart",
        "content.other": "tower_llm_fx:OtherPart",
        "tool.spec": "tower_llm_fx:ToolSpec",
        # effects (_effects.py)
        "effect.model_call": "tower_llm_fx:ModelCall",
        "effect.tool_call": "tower_llm_fx:ToolCall",
        "effect.parallel": "tower_llm_fx:Parallel",
        "effect.join_policy": "tower_llm_fx:JoinPolicy",
        "model.params": "tower_llm_fx:ModelParams",
        "model.tool_choice": "tower_llm_fx:ToolChoice",
        # results (_results.py)
        "result.model": "tower_llm_fx:ModelReply",
        "result.tool": "tower_llm_fx:ToolResult",
        "result.tool_error": "tower_llm_fx:ToolError",
        "result.usage": "tower_llm_fx:Usage",
        # runs (_effects.py, _state.py)
        "run.stop_reason": "tower_llm_fx:StopReason",
        "run.done": "tower_llm_fx:Done",
        "run.state": "tower_llm_fx:RunState",
        # events (_events.py)
        "event.run_started": "tower_llm_fx:RunStarted",
        "event.token_delta": "tower_llm_fx:TokenDelta",
        "event.refusal_delta": "tower_llm_fx:RefusalDelta",
        "event.reasoning_delta": "tower_llm_fx:ReasoningDelta",
        "event.tool_call_started": "tower_llm_fx:ToolCallStarted",
        "event.tool_call_arguments_delta": "tower_llm_fx:ToolCallArgumentsDelta",
        "event.model_replied": "tower_llm_fx:ModelReplied",
        "event.tool_call_finished": "tower_llm_fx:ToolCallFinished",
        "event.step_finished": "tower_llm_fx:StepFinished",
        "event.run_finished": "tower_llm_fx:RunFinished",
        "event.attempt_discarded": "tower_llm_fx:AttemptDiscarded",
        # run items (_items.py)
        "item.message": "tower_llm_fx:MessageItem",
        "item.tool_call": "tower_llm_fx:ToolCallItem",
        "item.tool_output": "tower_llm_fx:ToolOutputItem",
        "item.handoff": "tower_llm_fx:HandoffItem",
        # structured output (tower_llm_fx/_output.py)
        "output.ready": "tower_llm_fx.output:OutputReady",
        # tower_llm_fx.sessions
        "session.compaction": "tower_llm_fx.sessions:Compaction",
        "session.log": "tower_llm_fx.sessions:SessionLog",
        "session.saved": "tower_llm_fx.sessions:Saved",
        "session.load": "tower_llm_fx.sessions:LoadSession",
        "session.save": "tower_llm_fx.sessions:SaveSession",
        "session.compaction_plan": "tower_llm_fx.sessions:CompactionPlan",
        "session.state": "tower_llm_fx.sessions:SessionState",
        # tower_llm_fx.group
        "group.handoff": "tower_llm_fx.group:Handoff",
        "group.handoff_record": "tower_llm_fx.group:HandoffRecord",
        "group.state": "tower_llm_fx.group:GroupState",
        "group.handed_off": "tower_llm_fx.group:HandedOff",
        # tower_llm_fx.resilience
        "resilience.decision": "tower_llm_fx.resilience:Decision",
        "resilience.approve": "tower_llm_fx.resilience:Approve",
        "resilience.breaker_state": "tower_llm_fx.resilience:BreakerState",
        "resilience.price": "tower_llm_fx.resilience:Price",
        "resilience.bucket_state": "tower_llm_fx.resilience:BucketState",
        # tower_llm_fx.durable (a durable run's journal)
        "journal.begun": "tower_llm_fx.durable:RunBegun",
        "journal.intent": "tower_llm_fx.durable:Intent",
        "journal.outcome": "tower_llm_fx.durable:Outcome",
        "journal.failure": "tower_llm_fx.durable:Failure",
        "journal.tool_context": "tower_llm_fx.durable:ToolContext",
        # tower_llm_fx.trace
        "trace.meta": "tower_llm_fx.trace:TraceMeta",
        "trace.exchange": "tower_llm_fx.trace:Exchange",
        "trace.trace": "tower_llm_fx.trace:Trace",
        "trace.stats": "tower_llm_fx.trace:TraceStats",
        # tower_llm_fx.validation
        "validation.policy": "tower_llm_fx.validation:ValidationPolicy",
        "validation.violation": "tower_llm_fx.validation:Violation",
        # tower_llm_fx.strategies (needs hypothesis to import)
        "strategies.mutation": "tower_llm_fx.strategies:Mutation",
    }
)
"""Wire name → ``"module:QualName"`` of every serialisable library value."""

RESERVED: Final = MappingProxyType(
    {
        "journal.intent_delta": "the SQLite journal's model-call intents stored as deltas "
        "(tower_llm_fx.durable.compact_entry)",
    }
)
"""Wire names the library writes for data that is not one class (so no codec may take them): what uses each."""

V1_TAGS: Final = MappingProxyType(
    {
        "SystemMessage": "message.system",
        "UserMessage": "message.user",
        "AssistantMessage": "message.assistant",
        "ToolMessage": "message.tool",
        "ToolCallRequest": "message.tool_call",
        "ToolSpec": "tool.spec",
        "ModelCall": "effect.model_call",
        "ToolCall": "effect.tool_call",
        "Parallel": "effect.parallel",
        "JoinPolicy": "effect.join_policy",
        "ModelParams": "model.params",
        "ModelReply": "result.model",
        "ToolResult": "result.tool",
        "ToolError": "result.tool_error",
        "Usage": "result.usage",
        "StopReason": "run.stop_reason",
        "Done": "run.done",
        "RunState": "run.state",
        "RunStarted": "event.run_started",
        "TokenDelta": "event.token_delta",
        "RefusalDelta": "event.refusal_delta",
        "ToolCallStarted": "event.tool_call_started",
        "ToolCallArgumentsDelta": "event.tool_call_arguments_delta",
        "ModelReplied": "event.model_replied",
        "ToolCallFinished": "event.tool_call_finished",
        "StepFinished": "event.step_finished",
        "RunFinished": "event.run_finished",
        "MessageItem": "item.message",
        "ToolCallItem": "item.tool_call",
        "ToolOutputItem": "item.tool_output",
        "HandoffItem": "item.handoff",
        "Compaction": "session.compaction",
        "SessionLog": "session.log",
        "Saved": "session.saved",
        "LoadSession": "session.load",
        "SaveSession": "session.save",
        "CompactionPlan": "session.compaction_plan",
        "SessionState": "session.state",
        "Handoff": "group.handoff",
        "HandoffRecord": "group.handoff_record",
        "GroupState": "group.state",
        "HandedOff": "group.handed_off",
        "Decision": "resilience.decision",
        "Approve": "resilience.approve",
        "BreakerState": "resilience.breaker_state",
        "Price": "resilience.price",
        "BucketState": "resilience.bucket_state",
        "TraceMeta": "trace.meta",
        "Exchange": "trace.exchange",
        "Trace": "trace.trace",
        "TraceStats": "trace.stats",
        "ValidationPolicy": "validation.policy",
        "Violation": "validation.violation",
        "Mutation": "strategies.mutation",
    }
)
"""Format v1 tag (the class name v1 wrote) → wire name; for reading old data only."""

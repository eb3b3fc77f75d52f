"""Pin the public namespaces: what each exports (exactly), that each name lives in one namespace only,
that reprs show the namespace, that exported value classes are final and slotted, that the core loads no
I/O module and that hypothesis is needed only by ``tower_llm_fx.strategies``.

Changing a public name is a deliberate act: update ``PINNED`` in the same change, and the README.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import types
import typing

import attrs
import pytest

import interpreters

# fmt: off
PINNED: dict[str, tuple[str, ...]] = {
    "tower_llm_fx": (
        "Agent",
        "AgentBuilder",
        "AnyOf",
        "AssistantMessage",
        "AttemptDiscarded",
        "AudioPart",
        "AuthenticationError",
        "BadRequestError",
        "ConfigurationError",
        "ConflictError",
        "Content",
        "ContentPart",
        "DEFAULT_POLICY",
        "DecodeError",
        "DeveloperMessage",
        "Done",
        "Effect",
        "EffectTimeout",
        "FilePart",
        "HandoffItem",
        "ImagePart",
        "InterpreterError",
        "JoinPolicy",
        "LayerError",
        "MalformedResponse",
        "Message",
        "MessageItem",
        "ModelCall",
        "ModelParams",
        "ModelReplied",
        "ModelReply",
        "NotFoundError",
        "OtherPart",
        "OutputValidationError",
        "Parallel",
        "Policy",
        "Program",
        "ProviderConnectionError",
        "ProviderError",
        "ProviderTimeoutError",
        "RateLimitError",
        "Reasoning",
        "ReasoningDelta",
        "RefusalDelta",
        "RunEvent",
        "RunFinished",
        "RunItem",
        "RunStarted",
        "RunState",
        "ScriptExhausted",
        "ServerError",
        "StepError",
        "StepFinished",
        "StopPolicy",
        "StopReason",
        "StreamInterrupted",
        "SystemMessage",
        "TextPart",
        "TokenDelta",
        "Tool",
        "ToolCall",
        "ToolCallArgumentsDelta",
        "ToolCallFinished",
        "ToolCallItem",
        "ToolCallRequest",
        "ToolCallStarted",
        "ToolChoice",
        "ToolError",
        "ToolErrorKind",
        "ToolMessage",
        "ToolOutputItem",
        "ToolResult",
        "ToolSchemaError",
        "ToolSpec",
        "TowerLLMFXError",
        "UnhandledEffect",
        "Usage",
        "UserMessage",
        "WrongResultType",
        "advance",
        "agent_step",
        "any_of",
        "assistant",
        "audio",
        "developer",
        "file",
        "finish",
        "from_json",
        "image",
        "items_are_canonical",
        "items_to_messages",
        "max_steps",
        "messages_to_items",
        "pending_tool_calls",
        "reply_events",
        "step_completed",
        "system",
        "text_of",
        "to_json",
        "tool",
        "tool_typed",
        "until_no_tool_calls",
        "until_tool_called",
        "user",
    ),
    "tower_llm_fx.testing": (
        "SequenceMismatch", "check_step_output", "field_diff", "run_sequence",
    ),
    "tower_llm_fx.output": (
        "FINAL_ANSWER", "OutputDialect", "OutputMode", "OutputReady", "OutputSpec", "output_feedback",
        "output_mode", "output_spec", "retry_output",
    ),
    "tower_llm_fx.serde": (
        "Codec", "DEFAULT", "JSONDepthError", "MAX_JSON_DEPTH", "compact_json", "loads_bounded",
    ),
    "tower_llm_fx.openai": (
        "DIALECTS",
        "Dialect",
        "OpenAIStream",
        "ResendRule",
        "StreamUsage",
        "dialect",
        "from_openai_error",
        "from_openai_message",
        "from_openai_request",
        "from_openai_response",
        "prepare_messages",
        "retry_after_from_headers",
        "to_openai_chunks",
        "to_openai_message",
        "to_openai_request",
        "to_openai_response",
        "to_openai_tool",
    ),
    "tower_llm_fx.trace": (
        "DeltaBase", "Exchange", "REDACTED", "Redactor", "ReplayMismatch", "TRACE_FORMAT_VERSION", "Trace",
        "TraceDecodeError", "TraceExists", "TraceMeta", "TraceNotFound", "TraceStats", "TraceStoreError",
        "check_result", "check_trace_id", "decode_trace", "describe_effect", "describe_result",
        "encode_exchange", "encode_header", "encode_trace", "new_exchange", "next_base", "redact_exchange",
        "scrub_exchanges", "scrub_json", "scrub_text", "start_messages", "trace_from_json", "trace_stats",
        "trace_to_json",
    ),
    "tower_llm_fx.validation": (
        "InvalidConversation", "VIOLATION_KINDS", "ValidationPolicy", "Violation", "ViolationKind",
        "arguments_problem", "duplicate_tool_call_id", "empty_assistant_message", "invalid_content_part",
        "invalid_tool_arguments", "missing_tool_response", "part_problem", "schema_problem",
        "tool_arguments_mismatch", "unsupported_content_part", "validate_conversation",
        "validate_model_call", "violation",
    ),
    "tower_llm_fx.group": (
        "CombinableHandoffPolicy", "Group", "GroupBuilder", "GroupMember", "GroupState", "HandedOff",
        "Handoff", "HandoffPolicy", "HandoffRecord", "HandoffRoute", "InputFilter", "ModelPicker", "Picker",
        "UnknownAgent", "check_tool_pairs", "compacting_handoff", "composite_handoff",
        "conditional_handoff", "explicit_handoffs", "filtered_handoff", "group_advance", "group_step",
        "handoff_events", "handoff_to", "last_messages", "llm_picker", "no_handoffs", "sequential_handoff",
        "without_tool_calls",
    ),
    "tower_llm_fx.sessions": (
        "Compaction", "CompactionError", "CompactionPlan", "CompactionPolicy", "CompactionStrategy",
        "DEFAULT_SUMMARY_PROMPT", "LoadSession", "Record", "SaveSession", "Saved", "SessionConflict",
        "SessionError", "SessionLog", "SessionState", "SessionStep", "Summarise", "apply_compaction",
        "compact", "custom_compaction", "decode_record", "drop_oldest", "estimate_tokens", "fold_log",
        "plan_compaction", "summarise", "summary_message", "summary_request", "with_session",
    ),
    "tower_llm_fx.durable": (
        "CallBase", "CheckSaved", "Decision", "Entry", "Failure", "FailureKind", "Intent", "Key", "Outcome",
        "OutcomeHow", "Perform", "Reconcile", "Replay", "RunBegun", "Slot", "ToolContext", "compact_entry",
        "context_free_tools", "context_of", "decide", "expand_entry", "fold_journal", "idempotency_key",
        "idempotent_tools", "journal_input", "journal_trace", "keyed", "new_intent", "new_outcome",
        "new_run_begun", "next_call_base", "outcome_unknown", "reconcile_save",
    ),
    "tower_llm_fx.resilience": (
        "ApprovalError", "Approve", "BreakerPolicy", "BreakerState", "BucketState", "Budget", "CircuitOpen",
        "DEFAULT_RETRY_STATUSES", "Decision", "NON_RETRYABLE_CODES", "Price", "RetryPolicy", "TokenBucket",
        "allow", "apply_decision", "deny", "is_transient", "modify", "rough_token_estimate", "with_budget",
    ),
    "tower_llm_fx.strategies": (
        "MUTABLE_KINDS", "Mutation", "arguments_for", "assistant_messages", "bad_output_texts", "checked_kinds",
        "content_parts", "contents", "conversations", "developer_messages",
        "effects", "exchanges", "messages", "model_calls", "model_params", "model_replies",
        "model_scripts", "mutate", "mutations", "output_json", "output_replies", "parallels", "reasonings", "results", "run_items", "run_states",
        "stop_reasons", "system_messages", "tool_call_requests", "tool_calls", "tool_messages",
        "tool_results", "tool_specs", "traces", "usages", "user_messages", "validation_policies",
    ),
    "interpreters": (
        "DbosProgram", "EventSink", "Interpreter", "Layer", "MCPSession", "MCPSessionClosed", "MCPToolError", "Reconciler",
        "Reply", "RunStream", "agent_interpreter", "by_type", "dbos_program",
        "dbos_recover", "dbos_run", "discard_attempt", "event_sink", "fixed",
        "function", "group_interpreter", "identity", "local_tools", "mcp_http", "mcp_stdio", "observe_deltas",
        "openai", "perform", "perform_parallel", "replay", "replay_run", "resume", "run", "run_session", "sequence", "serialise_output", "stack", "stream", "tap",
    ),
    "interpreters.layers": (
        "Approver", "Chaos", "CircuitBreaker", "Fault", "FaultKind", "MetricRecord", "PendingApproval",
        "Tracing", "approval_channel", "approvals", "chaos", "circuit_breaker", "fallback", "journal_attempts", "limit",
        "metrics", "new_trace_id", "record", "retry", "timeout", "tracing", "validate", "with_store",
    ),
    "interpreters.stores": (
        "DirectoryTraceStore", "JournalStore", "MemoryJournal", "MemoryStore", "MemoryTraceStore",
        "PostgresStore", "PostgresTraceStore", "SessionInfo", "SessionStore", "SqliteJournal", "SqliteStore",
        "SqliteTraceStore", "TraceStore", "memory_store", "open_postgres_store", "open_sqlite_journal",
        "open_sqlite_store", "read_trace", "save_trace", "write_trace",
    ),
    "interpreters.cli": (
        "build_parser", "main",
    ),
}
# fmt: on

NAMESPACES = tuple(PINNED)
CORE = tuple(n for n in NAMESPACES if n.startswith("tower_llm_fx"))


@pytest.mark.parametrize("name", NAMESPACES)
def test_all_is_pinned_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = tuple(module.__all__)
    assert exported == PINNED[name], f"{name}.__all__ changed: update PINNED (and the README) deliberately"
    assert list(exported) == sorted(exported), "keep __all__ sorted"
    assert len(set(exported)) == len(exported), "duplicate names in __all__"
    for attr in exported:
        assert not attr.startswith("_")
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"


@pytest.mark.parametrize("name", NAMESPACES)
def test_every_public_name_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }
    assert public == set(module.__all__)


def test_the_top_level_is_what_a_step_author_needs() -> None:
    # 90 until real traffic (issue 14) added the message vocabulary a step author matches on:
    # five content parts and their helpers, the developer role, Reasoning(Delta), ToolChoice.
    assert len(PINNED["tower_llm_fx"]) <= 105


def test_each_object_is_exported_by_one_namespace_only() -> None:
    homes: dict[int, list[str]] = {}
    for name in NAMESPACES:
        module = importlib.import_module(name)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if isinstance(obj, (type, types.FunctionType)):
                homes.setdefault(id(obj), []).append(f"{name}.{attr}")
    shared = [places for places in homes.values() if len(places) > 1]
    assert shared == []


@pytest.mark.parametrize("name", NAMESPACES)
def test_classes_and_functions_show_their_namespace(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        obj = getattr(module, attr)
        if isinstance(obj, (type, types.FunctionType)):
            assert obj.__module__ == name, f"{name}.{attr} shows {obj.__module__!r}"


def test_reprs_read_as_the_public_path() -> None:
    import tower_llm_fx as fx
    import tower_llm_fx.trace

    assert repr(fx.ModelCall).startswith("<class 'tower_llm_fx.ModelCall")
    assert repr(fx.trace.Trace).startswith("<class 'tower_llm_fx.trace.Trace")
    assert interpreters.stack.__module__ == "interpreters"


@pytest.mark.parametrize("name", CORE)
def test_exported_value_classes_are_final_and_slotted(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        obj = getattr(module, attr)
        if isinstance(obj, type) and attrs.has(obj):
            assert getattr(obj, "__final__", False), f"{name}.{attr} should be @final"
            assert "__slots__" in vars(obj), f"{name}.{attr} should be slotted"


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_core_imports_no_io() -> None:
    families = [n for n in CORE if n != "tower_llm_fx.strategies"]
    out = _run(
        f"""
        import importlib, sys
        for name in {families!r}:
            importlib.import_module(name)
        bad = {{'trio', 'anyio', 'httpx', 'sqlite3', 'interpreters', 'asyncio', 'hypothesis'}} & set(sys.modules)
        print(sorted(bad))
        """
    )
    assert out == "[]"


def test_hypothesis_is_needed_only_by_the_strategies() -> None:
    out = _run(
        f"""
        import importlib, sys

        class NoHypothesis:
            def find_spec(self, name, path=None, target=None):
                if name == "hypothesis" or name.startswith("hypothesis."):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, NoHypothesis())
        for name in {[n for n in NAMESPACES if n != "tower_llm_fx.strategies"]!r}:
            importlib.import_module(name)
        try:
            import tower_llm_fx.strategies
        except ImportError as exc:
            print(exc)
        """
    )
    assert "pip install 'tower-llm-fx[testing]'" in out


def test_typing_of_interpreter_protocol() -> None:
    assert typing.get_type_hints(interpreters.Interpreter.__call__)["return"] is not None

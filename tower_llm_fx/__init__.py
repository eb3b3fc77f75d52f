"""tower_llm_fx: LLM agents as pure step functions plus swappable interpreters.

This package is the *pure core*: synchronous, no I/O, no clock, no randomness.
It holds the vocabulary (messages, tools, effects, results, state), the stock
agent step and the pure ``advance`` that folds results into state, and stop
policies. Effects are performed by the ``interpreters`` package.

    >>> import tower_llm_fx as fx
    >>> agent = fx.Agent(model="gpt-4o-mini", instructions="Be brief.")
    >>> agent.step(fx.RunState.start("hi")).model
    'gpt-4o-mini'
"""

from ._agent import DEFAULT_POLICY as DEFAULT_POLICY
from ._agent import Agent as Agent
from ._agent import AgentBuilder as AgentBuilder
from ._agent import agent_step as agent_step
from ._approvals import Approve as Approve
from ._approvals import Decision as Decision
from ._approvals import allow as allow
from ._approvals import apply_decision as apply_decision
from ._approvals import deny as deny
from ._approvals import modify as modify
from ._breaker import BreakerPolicy as BreakerPolicy
from ._breaker import BreakerState as BreakerState
from ._budgets import Budget as Budget
from ._budgets import Price as Price
from ._budgets import rough_token_estimate as rough_token_estimate
from ._budgets import with_budget as with_budget
from ._compaction import DEFAULT_SUMMARY_PROMPT as DEFAULT_SUMMARY_PROMPT
from ._compaction import CompactionPlan as CompactionPlan
from ._compaction import CompactionPolicy as CompactionPolicy
from ._compaction import CompactionStrategy as CompactionStrategy
from ._compaction import apply_compaction as apply_compaction
from ._compaction import compact as compact
from ._compaction import custom_compaction as custom_compaction
from ._compaction import drop_oldest as drop_oldest
from ._compaction import estimate_tokens as estimate_tokens
from ._compaction import plan_compaction as plan_compaction
from ._compaction import summarise as summarise
from ._compaction import summary_message as summary_message
from ._compaction import summary_request as summary_request
from ._diff import field_diff as field_diff
from ._effects import Done as Done
from ._effects import Effect as Effect
from ._effects import JoinPolicy as JoinPolicy
from ._effects import ModelCall as ModelCall
from ._effects import ModelParams as ModelParams
from ._effects import Parallel as Parallel
from ._effects import StopReason as StopReason
from ._effects import ToolCall as ToolCall
from ._errors import ApprovalError as ApprovalError
from ._errors import AuthenticationError as AuthenticationError
from ._errors import BadRequestError as BadRequestError
from ._errors import CircuitOpen as CircuitOpen
from ._errors import CompactionError as CompactionError
from ._errors import ConfigurationError as ConfigurationError
from ._errors import ConflictError as ConflictError
from ._errors import EffectTimeout as EffectTimeout
from ._errors import InterpreterError as InterpreterError
from ._errors import InvalidConversation as InvalidConversation
from ._errors import LayerError as LayerError
from ._errors import MalformedResponse as MalformedResponse
from ._errors import NotFoundError as NotFoundError
from ._errors import ProviderConnectionError as ProviderConnectionError
from ._errors import ProviderError as ProviderError
from ._errors import ProviderTimeoutError as ProviderTimeoutError
from ._errors import RateLimitError as RateLimitError
from ._errors import ReplayMismatch as ReplayMismatch
from ._errors import ScriptExhausted as ScriptExhausted
from ._errors import SequenceMismatch as SequenceMismatch
from ._errors import ServerError as ServerError
from ._errors import SessionConflict as SessionConflict
from ._errors import SessionError as SessionError
from ._errors import StepError as StepError
from ._errors import StreamInterrupted as StreamInterrupted
from ._errors import ToolSchemaError as ToolSchemaError
from ._errors import TowerLLMFXError as TowerLLMFXError
from ._errors import TraceExists as TraceExists
from ._errors import TraceNotFound as TraceNotFound
from ._errors import TraceStoreError as TraceStoreError
from ._errors import UnhandledEffect as UnhandledEffect
from ._errors import UnknownAgent as UnknownAgent
from ._errors import WrongResultType as WrongResultType
from ._events import ModelReplied as ModelReplied
from ._events import RefusalDelta as RefusalDelta
from ._events import RunEvent as RunEvent
from ._events import RunFinished as RunFinished
from ._events import RunStarted as RunStarted
from ._events import StepFinished as StepFinished
from ._events import TokenDelta as TokenDelta
from ._events import ToolCallArgumentsDelta as ToolCallArgumentsDelta
from ._events import ToolCallFinished as ToolCallFinished
from ._events import ToolCallStarted as ToolCallStarted
from ._events import reply_events as reply_events
from ._group import Group as Group
from ._group import GroupBuilder as GroupBuilder
from ._group import group_advance as group_advance
from ._group import group_step as group_step
from ._group_pick import GroupMember as GroupMember
from ._group_pick import ModelPicker as ModelPicker
from ._group_pick import Picker as Picker
from ._group_pick import llm_picker as llm_picker
from ._group_state import GroupState as GroupState
from ._group_state import HandedOff as HandedOff
from ._group_state import Handoff as Handoff
from ._group_state import HandoffRecord as HandoffRecord
from ._group_state import handoff_events as handoff_events
from ._handoff import CombinableHandoffPolicy as CombinableHandoffPolicy
from ._handoff import HandoffPolicy as HandoffPolicy
from ._handoff import HandoffRoute as HandoffRoute
from ._handoff import compacting_handoff as compacting_handoff
from ._handoff import composite_handoff as composite_handoff
from ._handoff import conditional_handoff as conditional_handoff
from ._handoff import explicit_handoffs as explicit_handoffs
from ._handoff import filtered_handoff as filtered_handoff
from ._handoff import handoff_to as handoff_to
from ._handoff import no_handoffs as no_handoffs
from ._handoff import sequential_handoff as sequential_handoff
from ._handoff_filters import InputFilter as InputFilter
from ._handoff_filters import check_tool_pairs as check_tool_pairs
from ._handoff_filters import last_messages as last_messages
from ._handoff_filters import without_tool_calls as without_tool_calls
from ._items import HandoffItem as HandoffItem
from ._items import MessageItem as MessageItem
from ._items import RunItem as RunItem
from ._items import ToolCallItem as ToolCallItem
from ._items import ToolOutputItem as ToolOutputItem
from ._items import items_are_canonical as items_are_canonical
from ._items import items_to_messages as items_to_messages
from ._items import messages_to_items as messages_to_items
from ._messages import AssistantMessage as AssistantMessage
from ._messages import Message as Message
from ._messages import SystemMessage as SystemMessage
from ._messages import ToolCallRequest as ToolCallRequest
from ._messages import ToolMessage as ToolMessage
from ._messages import UserMessage as UserMessage
from ._messages import assistant as assistant
from ._messages import system as system
from ._messages import user as user
from ._openai_errors import from_openai_error as from_openai_error
from ._openai_errors import retry_after_from_headers as retry_after_from_headers
from ._openai_messages import from_openai_message as from_openai_message
from ._openai_messages import to_openai_message as to_openai_message
from ._openai_messages import to_openai_tool as to_openai_tool
from ._openai_reply import from_openai_response as from_openai_response
from ._openai_reply import to_openai_response as to_openai_response
from ._openai_request import from_openai_request as from_openai_request
from ._openai_request import to_openai_request as to_openai_request
from ._openai_stream import OpenAIStream as OpenAIStream
from ._openai_stream import to_openai_chunks as to_openai_chunks
from ._policies import AnyOf as AnyOf
from ._policies import Policy as Policy
from ._policies import StopPolicy as StopPolicy
from ._policies import any_of as any_of
from ._policies import max_steps as max_steps
from ._policies import until_no_tool_calls as until_no_tool_calls
from ._policies import until_tool_called as until_tool_called
from ._rate import BucketState as BucketState
from ._rate import TokenBucket as TokenBucket
from ._results import ModelReply as ModelReply
from ._results import ToolError as ToolError
from ._results import ToolErrorKind as ToolErrorKind
from ._results import ToolResult as ToolResult
from ._results import Usage as Usage
from ._retry import DEFAULT_RETRY_STATUSES as DEFAULT_RETRY_STATUSES
from ._retry import NON_RETRYABLE_CODES as NON_RETRYABLE_CODES
from ._retry import RetryPolicy as RetryPolicy
from ._retry import is_transient as is_transient
from ._serde import DecodeError as DecodeError
from ._serde import from_json as from_json
from ._serde import register as register_json
from ._serde import to_json as to_json
from ._session_log import Compaction as Compaction
from ._session_log import LoadSession as LoadSession
from ._session_log import Record as Record
from ._session_log import Saved as Saved
from ._session_log import SaveSession as SaveSession
from ._session_log import SessionLog as SessionLog
from ._session_log import decode_record as decode_record
from ._session_log import fold_log as fold_log
from ._sessions import SessionState as SessionState
from ._sessions import SessionStep as SessionStep
from ._sessions import with_session as with_session
from ._state import RunState as RunState
from ._state import advance as advance
from ._state import finish as finish
from ._state import pending_tool_calls as pending_tool_calls
from ._state import step_completed as step_completed
from ._tools import Tool as Tool
from ._tools import ToolSpec as ToolSpec
from ._tools import tool as tool
from ._tools import tool_typed as tool_typed
from ._trace import TRACE_FORMAT_VERSION as TRACE_FORMAT_VERSION
from ._trace import Exchange as Exchange
from ._trace import Trace as Trace
from ._trace import TraceDecodeError as TraceDecodeError
from ._trace import TraceMeta as TraceMeta
from ._trace import check_trace_id as check_trace_id
from ._trace_codec import decode_trace as decode_trace
from ._trace_codec import encode_exchange as encode_exchange
from ._trace_codec import encode_header as encode_header
from ._trace_codec import encode_trace as encode_trace
from ._trace_codec import trace_from_json as trace_from_json
from ._trace_codec import trace_to_json as trace_to_json
from ._trace_redact import Redactor as Redactor
from ._trace_redact import redact_exchange as redact_exchange
from ._trace_redact import scrub_json as scrub_json
from ._trace_view import TraceStats as TraceStats
from ._trace_view import describe_effect as describe_effect
from ._trace_view import describe_result as describe_result
from ._trace_view import start_messages as start_messages
from ._trace_view import trace_stats as trace_stats
from ._validation import validate_conversation as validate_conversation
from ._validation import validate_model_call as validate_model_call
from ._validation_policy import ValidationPolicy as ValidationPolicy
from ._violations import VIOLATION_KINDS as VIOLATION_KINDS
from ._violations import Violation as Violation
from ._violations import ViolationKind as ViolationKind

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentBuilder",
    "AnyOf",
    "ApprovalError",
    "Approve",
    "AssistantMessage",
    "AuthenticationError",
    "BadRequestError",
    "BreakerPolicy",
    "BreakerState",
    "BucketState",
    "Budget",
    "CircuitOpen",
    "CombinableHandoffPolicy",
    "Compaction",
    "CompactionError",
    "CompactionPlan",
    "CompactionPolicy",
    "CompactionStrategy",
    "ConfigurationError",
    "ConflictError",
    "DEFAULT_POLICY",
    "DEFAULT_RETRY_STATUSES",
    "DEFAULT_SUMMARY_PROMPT",
    "Decision",
    "DecodeError",
    "Done",
    "Effect",
    "EffectTimeout",
    "Exchange",
    "Group",
    "GroupBuilder",
    "GroupMember",
    "GroupState",
    "HandedOff",
    "Handoff",
    "HandoffItem",
    "HandoffPolicy",
    "HandoffRecord",
    "HandoffRoute",
    "InputFilter",
    "InterpreterError",
    "InvalidConversation",
    "JoinPolicy",
    "LayerError",
    "LoadSession",
    "MalformedResponse",
    "Message",
    "MessageItem",
    "ModelCall",
    "ModelParams",
    "ModelPicker",
    "ModelReplied",
    "ModelReply",
    "NON_RETRYABLE_CODES",
    "NotFoundError",
    "OpenAIStream",
    "Parallel",
    "Picker",
    "Policy",
    "Price",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderTimeoutError",
    "RateLimitError",
    "Record",
    "Redactor",
    "RefusalDelta",
    "ReplayMismatch",
    "RetryPolicy",
    "RunEvent",
    "RunFinished",
    "RunItem",
    "RunStarted",
    "RunState",
    "SaveSession",
    "Saved",
    "ScriptExhausted",
    "SequenceMismatch",
    "ServerError",
    "SessionConflict",
    "SessionError",
    "SessionLog",
    "SessionState",
    "SessionStep",
    "StepError",
    "StepFinished",
    "StopPolicy",
    "StopReason",
    "StreamInterrupted",
    "SystemMessage",
    "TRACE_FORMAT_VERSION",
    "TokenBucket",
    "TokenDelta",
    "Tool",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallFinished",
    "ToolCallItem",
    "ToolCallRequest",
    "ToolCallStarted",
    "ToolError",
    "ToolErrorKind",
    "ToolMessage",
    "ToolOutputItem",
    "ToolResult",
    "ToolSchemaError",
    "ToolSpec",
    "TowerLLMFXError",
    "Trace",
    "TraceDecodeError",
    "TraceExists",
    "TraceMeta",
    "TraceNotFound",
    "TraceStats",
    "TraceStoreError",
    "UnhandledEffect",
    "UnknownAgent",
    "Usage",
    "UserMessage",
    "VIOLATION_KINDS",
    "ValidationPolicy",
    "Violation",
    "ViolationKind",
    "WrongResultType",
    "advance",
    "agent_step",
    "allow",
    "any_of",
    "apply_compaction",
    "apply_decision",
    "assistant",
    "check_tool_pairs",
    "check_trace_id",
    "compact",
    "compacting_handoff",
    "composite_handoff",
    "conditional_handoff",
    "custom_compaction",
    "decode_record",
    "decode_trace",
    "deny",
    "describe_effect",
    "describe_result",
    "drop_oldest",
    "encode_exchange",
    "encode_header",
    "encode_trace",
    "estimate_tokens",
    "explicit_handoffs",
    "field_diff",
    "filtered_handoff",
    "finish",
    "fold_log",
    "from_json",
    "from_openai_error",
    "from_openai_message",
    "from_openai_request",
    "from_openai_response",
    "group_advance",
    "group_step",
    "handoff_events",
    "handoff_to",
    "is_transient",
    "items_are_canonical",
    "items_to_messages",
    "last_messages",
    "llm_picker",
    "max_steps",
    "messages_to_items",
    "modify",
    "no_handoffs",
    "pending_tool_calls",
    "plan_compaction",
    "redact_exchange",
    "register_json",
    "reply_events",
    "retry_after_from_headers",
    "rough_token_estimate",
    "scrub_json",
    "sequential_handoff",
    "start_messages",
    "step_completed",
    "summarise",
    "summary_message",
    "summary_request",
    "system",
    "to_json",
    "to_openai_chunks",
    "to_openai_message",
    "to_openai_request",
    "to_openai_response",
    "to_openai_tool",
    "tool",
    "tool_typed",
    "trace_from_json",
    "trace_stats",
    "trace_to_json",
    "until_no_tool_calls",
    "until_tool_called",
    "user",
    "validate_conversation",
    "validate_model_call",
    "with_budget",
    "with_session",
    "without_tool_calls",
]

# Show public names as ``tower_llm_fx.X`` in reprs and tracebacks (httpx does the same).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("tower_llm_fx._"):
        _obj.__module__ = "tower_llm_fx"
del _name, _obj

"""tower_llm_fx: LLM agents as pure step functions plus swappable interpreters.

This package is the *pure core*: synchronous, no I/O, no clock, no randomness.
The top level holds what a step author needs: messages, tools, effects,
results, state and the pure ``advance`` that folds results into it, the stock
`Agent` and its step, stop policies, events, items, JSON and the errors.
Families live in public sub-namespaces: `tower_llm_fx.openai` (wire codec),
`tower_llm_fx.trace`, `tower_llm_fx.validation`, `tower_llm_fx.group`,
`tower_llm_fx.sessions`, `tower_llm_fx.resilience`, `tower_llm_fx.serde`,
`tower_llm_fx.testing` and `tower_llm_fx.strategies` (hypothesis). Effects are
performed by the ``interpreters`` package.

    >>> import tower_llm_fx as fx
    >>> agent = fx.Agent(model="gpt-4o-mini", instructions="Be brief.")
    >>> agent.step(fx.RunState.start("hi")).model
    'gpt-4o-mini'
"""

from ._agent import DEFAULT_POLICY as DEFAULT_POLICY
from ._agent import Agent as Agent
from ._agent import AgentBuilder as AgentBuilder
from ._agent import agent_step as agent_step
from ._content import AudioPart as AudioPart
from ._content import Content as Content
from ._content import ContentPart as ContentPart
from ._content import FilePart as FilePart
from ._content import ImagePart as ImagePart
from ._content import OtherPart as OtherPart
from ._content import TextPart as TextPart
from ._content import audio as audio
from ._content import file as file
from ._content import image as image
from ._content import text_of as text_of
from ._effects import Done as Done
from ._effects import Effect as Effect
from ._effects import JoinPolicy as JoinPolicy
from ._effects import ModelCall as ModelCall
from ._effects import ModelParams as ModelParams
from ._effects import Parallel as Parallel
from ._effects import StopReason as StopReason
from ._effects import ToolCall as ToolCall
from ._effects import ToolChoice as ToolChoice
from ._errors import AuthenticationError as AuthenticationError
from ._errors import BadRequestError as BadRequestError
from ._errors import ConfigurationError as ConfigurationError
from ._errors import ConflictError as ConflictError
from ._errors import EffectTimeout as EffectTimeout
from ._errors import InterpreterError as InterpreterError
from ._errors import LayerError as LayerError
from ._errors import MalformedResponse as MalformedResponse
from ._errors import NotFoundError as NotFoundError
from ._errors import OutputValidationError as OutputValidationError
from ._errors import ProviderConnectionError as ProviderConnectionError
from ._errors import ProviderError as ProviderError
from ._errors import ProviderTimeoutError as ProviderTimeoutError
from ._errors import RateLimitError as RateLimitError
from ._errors import ScriptExhausted as ScriptExhausted
from ._errors import ServerError as ServerError
from ._errors import StepError as StepError
from ._errors import StreamInterrupted as StreamInterrupted
from ._errors import ToolSchemaError as ToolSchemaError
from ._errors import TowerLLMFXError as TowerLLMFXError
from ._errors import UnhandledEffect as UnhandledEffect
from ._errors import WrongResultType as WrongResultType
from ._events import AttemptDiscarded as AttemptDiscarded
from ._events import ModelReplied as ModelReplied
from ._events import ReasoningDelta as ReasoningDelta
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
from ._items import HandoffItem as HandoffItem
from ._items import MessageItem as MessageItem
from ._items import RunItem as RunItem
from ._items import ToolCallItem as ToolCallItem
from ._items import ToolOutputItem as ToolOutputItem
from ._items import items_are_canonical as items_are_canonical
from ._items import items_to_messages as items_to_messages
from ._items import messages_to_items as messages_to_items
from ._messages import AssistantMessage as AssistantMessage
from ._messages import DeveloperMessage as DeveloperMessage
from ._messages import Message as Message
from ._messages import Reasoning as Reasoning
from ._messages import SystemMessage as SystemMessage
from ._messages import ToolCallRequest as ToolCallRequest
from ._messages import ToolMessage as ToolMessage
from ._messages import UserMessage as UserMessage
from ._messages import assistant as assistant
from ._messages import developer as developer
from ._messages import system as system
from ._messages import user as user
from ._policies import AnyOf as AnyOf
from ._policies import Policy as Policy
from ._policies import StopPolicy as StopPolicy
from ._policies import any_of as any_of
from ._policies import max_steps as max_steps
from ._policies import until_no_tool_calls as until_no_tool_calls
from ._policies import until_tool_called as until_tool_called
from ._program import Program as Program
from ._publish import publish as _publish
from ._results import ModelReply as ModelReply
from ._results import ToolError as ToolError
from ._results import ToolErrorKind as ToolErrorKind
from ._results import ToolResult as ToolResult
from ._results import Usage as Usage
from ._serde import DecodeError as DecodeError
from ._serde import from_json as from_json
from ._serde import to_json as to_json
from ._state import RunState as RunState
from ._state import advance as advance
from ._state import finish as finish
from ._state import pending_tool_calls as pending_tool_calls
from ._state import step_completed as step_completed
from ._tools import Tool as Tool
from ._tools import ToolSpec as ToolSpec
from ._tools import tool as tool
from ._tools import tool_typed as tool_typed

__version__ = "0.1.0"

__all__ = [
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
]

_publish(__name__, globals(), __all__)

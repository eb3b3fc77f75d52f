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
from ._diff import field_diff as field_diff
from ._effects import Done as Done
from ._effects import Effect as Effect
from ._effects import JoinPolicy as JoinPolicy
from ._effects import ModelCall as ModelCall
from ._effects import ModelParams as ModelParams
from ._effects import Parallel as Parallel
from ._effects import StopReason as StopReason
from ._effects import ToolCall as ToolCall
from ._errors import ConfigurationError as ConfigurationError
from ._errors import InterpreterError as InterpreterError
from ._errors import ProviderError as ProviderError
from ._errors import ScriptExhausted as ScriptExhausted
from ._errors import SequenceMismatch as SequenceMismatch
from ._errors import StepError as StepError
from ._errors import ToolSchemaError as ToolSchemaError
from ._errors import TowerLLMFXError as TowerLLMFXError
from ._errors import UnhandledEffect as UnhandledEffect
from ._errors import WrongResultType as WrongResultType
from ._messages import AssistantMessage as AssistantMessage
from ._messages import Message as Message
from ._messages import SystemMessage as SystemMessage
from ._messages import ToolCallRequest as ToolCallRequest
from ._messages import ToolMessage as ToolMessage
from ._messages import UserMessage as UserMessage
from ._messages import assistant as assistant
from ._messages import system as system
from ._messages import user as user
from ._policies import AnyOf as AnyOf
from ._policies import Policy as Policy
from ._policies import StopPolicy as StopPolicy
from ._policies import any_of as any_of
from ._policies import max_steps as max_steps
from ._policies import until_no_tool_calls as until_no_tool_calls
from ._policies import until_tool_called as until_tool_called
from ._results import ModelReply as ModelReply
from ._results import ToolError as ToolError
from ._results import ToolErrorKind as ToolErrorKind
from ._results import ToolResult as ToolResult
from ._results import Usage as Usage
from ._serde import DecodeError as DecodeError
from ._serde import from_json as from_json
from ._serde import register as register_json
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
    "ConfigurationError",
    "DEFAULT_POLICY",
    "DecodeError",
    "Done",
    "Effect",
    "InterpreterError",
    "JoinPolicy",
    "Message",
    "ModelCall",
    "ModelParams",
    "ModelReply",
    "Parallel",
    "Policy",
    "ProviderError",
    "RunState",
    "ScriptExhausted",
    "SequenceMismatch",
    "StepError",
    "StopPolicy",
    "StopReason",
    "SystemMessage",
    "Tool",
    "ToolCall",
    "ToolCallRequest",
    "ToolError",
    "ToolErrorKind",
    "ToolMessage",
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
    "field_diff",
    "finish",
    "from_json",
    "max_steps",
    "pending_tool_calls",
    "register_json",
    "step_completed",
    "system",
    "to_json",
    "tool",
    "tool_typed",
    "until_no_tool_calls",
    "until_tool_called",
    "user",
]

# Show public names as ``tower_llm_fx.X`` in reprs and tracebacks (httpx does the same).
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("tower_llm_fx._"):
        _obj.__module__ = "tower_llm_fx"
del _name, _obj

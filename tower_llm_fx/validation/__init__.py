"""tower_llm_fx.validation: check a conversation or a request before it reaches a provider.

>>> import tower_llm_fx as fx
>>> from tower_llm_fx.validation import validate_conversation
>>> validate_conversation([fx.user("hi"), fx.assistant("Hello!")])
()
"""

from tower_llm_fx._publish import publish as _publish

from ._checks import arguments_problem as arguments_problem
from ._checks import part_problem as part_problem
from ._checks import schema_problem as schema_problem
from ._errors import InvalidConversation as InvalidConversation
from ._policy import ValidationPolicy as ValidationPolicy
from ._validate import validate_conversation as validate_conversation
from ._validate import validate_model_call as validate_model_call
from ._violations import VIOLATION_KINDS as VIOLATION_KINDS
from ._violations import Violation as Violation
from ._violations import ViolationKind as ViolationKind
from ._violations import duplicate_tool_call_id as duplicate_tool_call_id
from ._violations import empty_assistant_message as empty_assistant_message
from ._violations import invalid_content_part as invalid_content_part
from ._violations import invalid_tool_arguments as invalid_tool_arguments
from ._violations import missing_tool_response as missing_tool_response
from ._violations import tool_arguments_mismatch as tool_arguments_mismatch
from ._violations import unsupported_content_part as unsupported_content_part
from ._violations import violation as violation

__all__ = [
    "InvalidConversation",
    "VIOLATION_KINDS",
    "ValidationPolicy",
    "Violation",
    "ViolationKind",
    "arguments_problem",
    "duplicate_tool_call_id",
    "empty_assistant_message",
    "invalid_content_part",
    "invalid_tool_arguments",
    "missing_tool_response",
    "part_problem",
    "schema_problem",
    "tool_arguments_mismatch",
    "unsupported_content_part",
    "validate_conversation",
    "validate_model_call",
    "violation",
]

_publish(__name__, globals(), __all__)

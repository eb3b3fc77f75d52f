"""Every exception tower_llm_fx raises, split by whose fault it is.

Failures the *agent* must see (a tool that raised, arguments that do not match
the schema, an unknown tool) are not exceptions: they are data, an error
``ToolResult`` the model reads. What is left here are bugs, misconfiguration and
infrastructure failures, which stop the run.

Hierarchy::

    TowerLLMFXError                 base of everything below
    ├── ConfigurationError          you built something invalid (also a ValueError)
    │   └── ToolSchemaError         a tool's signature cannot become a JSON schema
    ├── StepError                   a step returned something that is not an effect
    ├── InterpreterError            an interpreter broke its contract
    │   ├── UnhandledEffect         no handler for this effect type
    │   ├── WrongResultType         the result does not match the effect
    │   └── ScriptExhausted         a scripted provider ran out of replies
    ├── ProviderError               the model API failed (status, code, retry hint)
    └── SequenceMismatch            run_sequence saw an effect it did not expect
"""

from __future__ import annotations

from typing import final

__all__ = [
    "ConfigurationError",
    "InterpreterError",
    "ProviderError",
    "ScriptExhausted",
    "SequenceMismatch",
    "StepError",
    "ToolSchemaError",
    "TowerLLMFXError",
    "UnhandledEffect",
    "WrongResultType",
]


class TowerLLMFXError(Exception):
    """Base class of every error raised by tower_llm_fx and its interpreters."""


class ConfigurationError(TowerLLMFXError, ValueError):
    """Something you built is invalid: an agent, a tool, a policy, an interpreter.

    Raised at construction time, before any model call is made.
    """


@final
class ToolSchemaError(ConfigurationError):
    """A tool function's signature cannot be turned into a JSON schema."""


@final
class StepError(TowerLLMFXError, TypeError):
    """A step returned something that is neither an ``Effect`` nor ``Done``."""


class InterpreterError(TowerLLMFXError):
    """An interpreter broke its contract (see the subclasses)."""


@final
class UnhandledEffect(InterpreterError):
    """An interpreter was given an effect type it does not handle."""


@final
class WrongResultType(InterpreterError, TypeError):
    """An interpreter returned a result of the wrong type for its effect."""


@final
class ScriptExhausted(InterpreterError):
    """A scripted model interpreter was asked for more replies than it holds."""


class ProviderError(TowerLLMFXError):
    """The model provider failed: HTTP error, timeout, or a malformed reply.

    Attributes:
        status: HTTP status code, or ``None`` for transport failures.
        code: the provider's machine-readable error code, if any.
        request_id: the provider's request id (quote it in support tickets).
        retry_after: seconds the server asked us to wait, if it said so.
        retryable: whether trying again may succeed (429, 5xx, timeouts).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.retryable = retryable


@final
class SequenceMismatch(TowerLLMFXError, AssertionError):
    """``run_sequence`` met an effect that differs from the next expected one,
    or finished with expected effects left over."""

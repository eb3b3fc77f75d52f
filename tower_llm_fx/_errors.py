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
    │   ├── ScriptExhausted         a scripted provider ran out of replies
    │   └── MCPSessionClosed        an MCP session was used after its block (interpreters.mcp_*)
    ├── ProviderError               the model API failed (status, code, retry hint)
    │   ├── BadRequestError         400, 422, other 4xx: the server rejected the request as sent
    │   ├── AuthenticationError     401, 403: check the API key, organization and project
    │   ├── NotFoundError           404: unknown model, or a base_url that is wrong
    │   ├── ConflictError           409: a conflicting request was in flight (retryable)
    │   ├── RateLimitError          429: slow down, see retry_after (quota errors are not retryable)
    │   ├── ServerError             5xx, or an error event in the middle of a stream (retryable)
    │   ├── ProviderTimeoutError    408, or a connect/read/write/pool timeout (retryable)
    │   ├── ProviderConnectionError could not connect, or the connection broke (retryable)
    │   ├── StreamInterrupted       the stream ended before ``[DONE]``, or the body was cut (retryable)
    │   └── MalformedResponse       the body or a stream chunk is not what the API defines
    ├── OutputValidationError       the model's structured output stayed invalid after its retries
    ├── UnknownAgent                a handoff or picker named an agent the group does not have
    ├── SequenceMismatch            run_sequence saw an effect it did not expect
    ├── InvalidConversation         a ModelCall breaks a rule the API enforces (tower_llm_fx.validation)
    ├── ReplayMismatch              a replayed run diverged from its trace (index, diff, log)
    ├── TraceStoreError             a trace store cannot do what was asked
    │   ├── TraceNotFound           no trace has that id (also a LookupError)
    │   └── TraceExists             a trace with that id exists already
    ├── DecodeError                 JSON data is not a known value (_serde; also a ValueError)
    │   └── TraceDecodeError        a trace file is malformed, truncated or newer (_trace)
    ├── SessionError                a session store or log is unusable (corrupt, newer schema)
    │   └── SessionConflict         another writer appended to the session first
    ├── CompactionError             a compaction strategy produced something unusable
    └── LayerError                  a layer refused an effect or gave up on it
        ├── EffectTimeout           an effect missed its deadline (also a TimeoutError)
        ├── CircuitOpen             the circuit breaker is open: failing fast
        └── ApprovalError           an approver gave no usable decision
"""

from __future__ import annotations

from typing import Any, final

from ._secrets import scrub_text

__all__ = [
    "ApprovalError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpen",
    "CompactionError",
    "ConfigurationError",
    "ConflictError",
    "EffectTimeout",
    "InterpreterError",
    "LayerError",
    "MalformedResponse",
    "NotFoundError",
    "OutputValidationError",
    "ProviderConnectionError",
    "ProviderError",
    "ReplayMismatch",
    "ProviderTimeoutError",
    "RateLimitError",
    "ScriptExhausted",
    "SequenceMismatch",
    "ServerError",
    "SessionConflict",
    "SessionError",
    "StepError",
    "StreamInterrupted",
    "ToolSchemaError",
    "TowerLLMFXError",
    "TraceExists",
    "TraceNotFound",
    "TraceStoreError",
    "UnhandledEffect",
    "UnknownAgent",
    "WrongResultType",
]


class TowerLLMFXError(Exception):
    """Base class of every error raised by tower_llm_fx and its interpreters.

    Every one pickles with its message and details (so it crosses a process
    pool or a task queue intact), whatever its ``__init__`` takes.

    Every one's text is scrubbed of secrets when it is built: the arguments
    (which ``str()``, ``repr()`` and pickling show) and ``message`` go through
    ``_secrets.scrub_text``, so no API key, bearer token or URL password a
    message quotes reaches a log, a span or a traceback.

    >>> str(TowerLLMFXError("sent Authorization: Bearer sk-abc12345 to https://u:p@host"))
    'sent Authorization: Bearer [REDACTED] to https://[REDACTED]@host'
    """

    def __init__(self, *args: object) -> None:
        # The one place every error's text passes (scrub_text is idempotent, so text a
        # subclass scrubbed already comes out the same).
        super().__init__(*(scrub_text(a) if isinstance(a, str) else a for a in args))

    @property
    def message(self) -> str:
        """The message, for the errors that keep it as an attribute (scrubbed like the arguments)."""
        try:
            value: str = self.__dict__["message"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no 'message' attribute; use str(error)"
            ) from None
        return value

    @message.setter
    def message(self, value: str) -> None:
        self.__dict__["message"] = scrub_text(value) if isinstance(value, str) else value

    def __reduce__(self) -> tuple[Any, ...]:
        # The default calls cls(*args), which fails for errors whose details are
        # required keyword-only arguments; rebuild from args and attributes instead.
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_error(
    cls: type[TowerLLMFXError], args: tuple[Any, ...], state: dict[str, Any]
) -> TowerLLMFXError:
    err = cls.__new__(cls, *args)
    err.args = args
    err.__dict__.update(state)
    return err


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
        code: the provider's machine-readable error code, if any: a string
            (``"rate_limit_exceeded"``) or, as OpenRouter and vLLM send it, an
            int (``429``).
        request_id: the provider's request id (quote it in support tickets).
        retry_after: seconds the server asked us to wait, if it said so.
        retryable: whether trying again may succeed (429, 5xx, timeouts).
        provider_message: the provider's own error message, verbatim but with
            anything that looks like an API key redacted (``None`` if it sent none).
        details: the other fields of the provider's error object, as canonical
            JSON text (OpenRouter's ``metadata`` with the upstream ``raw`` error,
            Groq's ``failed_generation``), or ``None`` if it sent none.

    The message, ``provider_message`` and ``details`` are scrubbed of secrets on
    construction (API keys, bearer tokens, URL passwords: see ``_secrets``).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
        provider_message: str | None = None,
        details: str | None = None,
    ) -> None:
        # The one place every provider error's text passes: no secret a server
        # echoed back (or a base_url held) reaches str(), repr(), logs or spans.
        message = scrub_text(message)
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.retryable = retryable
        self.provider_message = scrub_text(provider_message) if provider_message is not None else None
        self.details = scrub_text(details) if details is not None else None


@final
class BadRequestError(ProviderError):
    """The server rejected the request as sent (HTTP 400, 422 or another 4xx).

    Not retryable: the same request will fail again. The message quotes the
    server, which usually names the offending parameter.
    """


@final
class AuthenticationError(ProviderError):
    """The server refused our credentials (HTTP 401) or their permissions (HTTP 403).

    Check the API key (``api_key=...`` or ``OPENAI_API_KEY``), and the
    ``organization`` / ``project`` it belongs to. The key itself never appears
    in the message.
    """


@final
class NotFoundError(ProviderError):
    """HTTP 404: the model does not exist (or this key cannot see it), or the
    ``base_url`` does not point at an OpenAI-compatible API (most end in ``/v1``)."""


@final
class ConflictError(ProviderError):
    """HTTP 409: the server saw a conflicting request in flight; retrying may succeed."""


@final
class RateLimitError(ProviderError):
    """HTTP 429: too many requests or tokens; ``retry_after`` says how long to wait.

    ``code == "insufficient_quota"`` means the account is out of credit:
    ``retryable`` is then ``False``, since waiting will not help.
    """


@final
class ServerError(ProviderError):
    """The server failed (HTTP 5xx), or sent an error event in the middle of a stream."""


@final
class ProviderTimeoutError(ProviderError, TimeoutError):
    """The request took too long: a connect, read, write or pool timeout, or HTTP 408.

    Raise the interpreter's ``timeout`` if the model legitimately needs longer.
    """


@final
class ProviderConnectionError(ProviderError, ConnectionError):
    """We could not connect to the server, or the connection broke outside a stream.

    Check that the server is running and that ``base_url`` is right.
    """


@final
class StreamInterrupted(ProviderError):
    """The reply was cut short: a stream ended before the ``data: [DONE]`` line,
    or a JSON body ended before its document did (a dropped connection, a proxy).

    The events already delivered were provisional; the model call failed as a
    whole and may be retried.
    """


@final
class MalformedResponse(ProviderError):
    """The server answered, but not in the OpenAI chat-completions format: a body
    or a stream chunk that is not JSON, or JSON without the expected fields."""


@final
class SequenceMismatch(TowerLLMFXError, AssertionError):
    """``run_sequence`` met an effect that differs from the next expected one,
    or finished with expected effects left over."""


@final
class ReplayMismatch(TowerLLMFXError):
    """A replayed run diverged from its recorded trace, or left exchanges unused.

    The message shows the exchanges matched so far, ``NOT FOUND`` (the effect the
    run made), ``NEXT EXPECTED`` (the recorded one), a field-level diff and the
    recorded result that would have been returned.

    Attributes:
        index: the position in the trace where the run diverged.
        expected: the recorded ``Exchange`` at ``index`` (``None`` past the end).
        actual: the effect the run made (``None`` when the run ended early).
    """

    def __init__(self, message: str, *, index: int, expected: object = None, actual: object = None) -> None:
        super().__init__(message)
        self.index = index
        self.expected = expected
        self.actual = actual


@final
class OutputValidationError(TowerLLMFXError):
    """The model's structured output (``Agent(output=T)``) was still invalid after
    ``max_output_retries`` corrections.

    Attributes:
        raw: the text (or final-answer tool arguments) the model gave last.
        problems: what was wrong with it, one line each (``$.temp: expected a number``).
        attempts: how many outputs the model gave, all invalid.

    >>> err = OutputValidationError(raw='{"temp": "hot"}', problems=("$.temp: expected a number",), attempts=3)
    >>> err.raw, err.problems, err.attempts
    ('{"temp": "hot"}', ('$.temp: expected a number',), 3)
    """

    def __init__(self, *, raw: str, problems: tuple[str, ...], attempts: int) -> None:
        shown = raw if len(raw) <= 300 else raw[:300] + "..."
        super().__init__(
            f"the model gave {attempts} invalid structured output(s) in a row: "
            + "; ".join(problems)
            + f". Last output: {shown!r}. Raise max_output_retries, simplify the output type, "
            "or say in the instructions what the output must look like."
        )
        self.raw = raw
        self.problems = problems
        self.attempts = attempts


class TraceStoreError(TowerLLMFXError):
    """A trace store cannot do what was asked (see the subclasses)."""


@final
class TraceNotFound(TraceStoreError, LookupError):
    """No trace has this id; the message lists what the store holds."""


@final
class TraceExists(TraceStoreError):
    """A trace with this id exists already; traces are never overwritten."""


class SessionError(TowerLLMFXError):
    """A session store or session log cannot be used as it is: a corrupt log, a
    database written by a newer version, a fork onto an existing session."""


@final
class SessionConflict(SessionError):
    """Another writer appended to the session since this run loaded it.

    Nothing was written: the save was refused as a whole. Reload the session
    (start a new run on it) and try again.

    Attributes:
        session_id: the session both writers appended to.
        expected_seq: the sequence number this save expected to append after.
        actual_seq: the session's last sequence number in the store.
    """

    def __init__(self, message: str, *, session_id: str, expected_seq: int, actual_seq: int) -> None:
        super().__init__(message)
        self.message = message
        self.session_id = session_id
        self.expected_seq = expected_seq
        self.actual_seq = actual_seq


@final
class CompactionError(TowerLLMFXError):
    """A compaction strategy could not produce a replacement: a custom function
    returned something that is not text, or a summary was missing."""


class LayerError(TowerLLMFXError):
    """A layer refused to perform an effect, or gave up on it (see the subclasses)."""


@final
class EffectTimeout(LayerError, TimeoutError):
    """An effect did not finish before its deadline; the call was cancelled.

    The run's state is unchanged: nothing was folded in for the cancelled call.

    Attributes:
        effect_type: the name of the effect type that timed out (``"ModelCall"``, ...).
        seconds: the deadline that was missed.
    """

    def __init__(self, message: str, *, effect_type: str, seconds: float) -> None:
        super().__init__(message)
        self.message = message
        self.effect_type = effect_type
        self.seconds = seconds


@final
class CircuitOpen(LayerError):
    """The circuit breaker is open: the effect was *not* performed.

    Attributes:
        retry_in: seconds until the breaker lets a probe call through.
        consecutive_failures: the failures that opened it.
    """

    def __init__(self, message: str, *, retry_in: float, consecutive_failures: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_in = retry_in
        self.consecutive_failures = consecutive_failures


@final
class ApprovalError(LayerError):
    """An approver gave no usable decision: it returned something that is not a
    ``Decision``, a decision that does not fit what was asked (editing the
    arguments of a model reply), or its channel closed without answering."""


@final
class UnknownAgent(TowerLLMFXError, LookupError):
    """A handoff policy or an agent picker named an agent the group does not have.

    The message lists the group's agents. Handoff targets a policy names up front
    (``handoff_to``, ``sequential_handoff``) are checked when the group is built;
    this is raised for names only known at run time (``conditional_handoff``, pickers).
    """

"""Retry decisions: which failures are worth another attempt, and how long to wait.

Theory of operation: `RetryPolicy` is a pure value. ``decide(attempt, error)``
says "give up" (``None``) or "wait this many seconds, then try again"; the
``interpreters.layers.retry`` layer does the sleeping. Back-off is exponential
with *full jitter* (a uniform draw in ``[0, cap)``), and the draw comes from a
pure hash of ``(seed, attempt, key)`` — no ``random`` module, no clock — so a
schedule is reproducible and property-testable. The shell passes a different
``key`` for each logical call, so concurrent retries do not wait in lockstep;
give each process its own ``seed`` to decorrelate processes as well.

What is retryable (`is_transient`): HTTP 408, 409, 429 and 5xx, timeouts and
connection failures. Client errors (400, 401, 403, 404, 422, ...) are not: the
same request would fail the same way. A server ``Retry-After`` hint is honoured
(we never retry sooner than the server asked), up to ``max_retry_after``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import final

import attrs
from attrs import validators as v

from tower_llm_fx._errors import CircuitOpen, ConfigurationError, EffectTimeout, ProviderError
from tower_llm_fx._results import ToolResult

__all__ = ["DEFAULT_RETRY_STATUSES", "NON_RETRYABLE_CODES", "RetryPolicy", "is_transient", "jitter"]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({408, 409, 429, *range(500, 600)})
"""HTTP statuses worth retrying: timeout, conflict, rate limit and every 5xx."""

NON_RETRYABLE_CODES: frozenset[str] = frozenset({"insufficient_quota"})
"""Provider error codes that no wait cures, whatever the status (a 429 for an empty account)."""

_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    # splitmix64's finaliser: a fast bijective hash with good avalanche.
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def jitter(seed: int, attempt: int, key: int = 0) -> float:
    """A pseudo-random number in ``[0, 1)``, a pure function of its arguments.

    >>> jitter(7, 1) == jitter(7, 1)
    True
    >>> 0.0 <= jitter(7, 2, key=3) < 1.0
    True
    """
    h = _mix(_mix(_mix(seed & _MASK) ^ (attempt & _MASK)) ^ (key & _MASK))
    return (h >> 11) / float(1 << 53)


def is_transient(error: BaseException, *, statuses: Iterable[int] = DEFAULT_RETRY_STATUSES) -> bool:
    """Whether ``error`` is a failure that trying again may cure.

    A `ProviderError` with a status is judged by the status (``statuses``),
    except that codes in `NON_RETRYABLE_CODES` (``insufficient_quota``) never
    are; one without a status (a transport failure) by its ``retryable`` flag. Our own
    `EffectTimeout` and Python's ``ConnectionError``/``TimeoutError`` are
    transient; `CircuitOpen` is not (it exists to fail fast); anything else is
    a bug or a misconfiguration and is not retried.

    >>> from tower_llm_fx import ProviderError
    >>> is_transient(ProviderError("slow down", status=429))
    True
    >>> is_transient(ProviderError("bad request", status=400))
    False
    >>> is_transient(ProviderError("out of credit", status=429, code="insufficient_quota"))
    False
    >>> is_transient(ValueError("a bug"))
    False
    """
    if isinstance(error, ProviderError):
        if error.code in NON_RETRYABLE_CODES:
            return False
        if error.status is not None:
            return error.status in statuses
        return bool(error.retryable)
    if isinstance(error, CircuitOpen):
        return False
    return isinstance(error, (EffectTimeout, ConnectionError, TimeoutError))


def _positive_int(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{attr.name} must be a positive int (1 means no retries), got {value!r}")


def _non_negative(_inst: object, attr: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"{attr.name} must be a number of seconds >= 0, got {value!r}")


def _multiplier(_inst: object, _attr: object, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
        raise ConfigurationError(f"multiplier must be >= 1 (1 means a constant delay), got {value!r}")


def _statuses(value: Iterable[int]) -> frozenset[int]:
    out = frozenset(value)
    for s in out:
        if not isinstance(s, int) or not 100 <= s <= 599:
            raise ConfigurationError(f"retry_statuses must hold HTTP status codes (100-599), got {s!r}")
    return out


_TOOL_KINDS = frozenset(
    {"unknown_tool", "invalid_arguments", "tool_raised", "not_serialisable", "cancelled", "timeout", "denied"}
)


def _tool_kinds(value: Iterable[str]) -> frozenset[str]:
    out = frozenset(value)
    unknown = out - _TOOL_KINDS
    if unknown:
        raise ConfigurationError(
            f"retry_tool_errors has unknown kinds {sorted(unknown)}; choose from {sorted(_TOOL_KINDS)}"
        )
    return out


@final
@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and after how long to try an effect again (pure).

    Args:
        max_attempts: attempts in total, the first included (``1`` never retries).
        initial_delay: back-off cap before the first retry, in seconds.
        multiplier: the cap grows by this factor per retry.
        max_delay: the cap never exceeds this.
        jitter: draw the delay uniformly from ``[0, cap)`` (full jitter); if
            ``False`` wait exactly the cap.
        seed: seeds the jitter draws (use a different one per process).
        retry_statuses: HTTP statuses worth retrying.
        honour_retry_after: never retry sooner than a server's ``Retry-After``.
        max_retry_after: give up rather than wait longer than this for a server hint.
        retry_tool_errors: error kinds of tool results worth retrying (only ever
            applied to tools declared idempotent).

    >>> from tower_llm_fx import ProviderError
    >>> policy = RetryPolicy(max_attempts=3, initial_delay=1.0, jitter=False)
    >>> policy.decide(1, ProviderError("busy", status=503))
    1.0
    >>> policy.decide(2, ProviderError("busy", status=503))
    2.0
    >>> policy.decide(3, ProviderError("busy", status=503)) is None  # attempts used up
    True
    >>> policy.decide(1, ProviderError("no such model", status=404)) is None
    True
    """

    max_attempts: int = attrs.field(default=3, validator=_positive_int)
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    multiplier: float = attrs.field(default=2.0, validator=_multiplier)
    max_delay: float = attrs.field(default=30.0, validator=_non_negative)
    jitter: bool = attrs.field(default=True, validator=v.instance_of(bool))
    seed: int = attrs.field(default=0, validator=v.instance_of(int))
    retry_statuses: frozenset[int] = attrs.field(default=DEFAULT_RETRY_STATUSES, converter=_statuses)
    honour_retry_after: bool = attrs.field(default=True, validator=v.instance_of(bool))
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    retry_tool_errors: frozenset[str] = attrs.field(
        default=frozenset({"timeout", "tool_raised"}), converter=_tool_kinds
    )

    def __repr__(self) -> str:
        statuses = "" if self.retry_statuses == DEFAULT_RETRY_STATUSES else ", retry_statuses=..."
        return (
            f"RetryPolicy(max_attempts={self.max_attempts}, initial_delay={self.initial_delay}, "
            f"multiplier={self.multiplier}, max_delay={self.max_delay}, jitter={self.jitter}, "
            f"seed={self.seed}{statuses})"
        )

    def cap(self, attempt: int) -> float:
        """The back-off cap before retry number ``attempt`` (1-based), in seconds."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        if self.initial_delay == 0 or self.multiplier == 1 or self.initial_delay >= self.max_delay:
            return min(self.initial_delay, self.max_delay)
        # Compare in log space first so that huge attempt numbers cannot overflow.
        exponent = attempt - 1
        if math.log(self.initial_delay) + exponent * math.log(self.multiplier) >= math.log(self.max_delay):
            return self.max_delay
        return min(self.initial_delay * self.multiplier**exponent, self.max_delay)

    def backoff(self, attempt: int, *, key: int = 0) -> float:
        """The delay before retry number ``attempt``: the cap, or a full-jitter draw below it."""
        cap = self.cap(attempt)
        return cap * jitter(self.seed, attempt, key) if self.jitter else cap

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` may succeed on another attempt (see `is_transient`)."""
        return is_transient(error, statuses=self.retry_statuses)

    def decide(self, attempt: int, error: BaseException, *, key: int = 0) -> float | None:
        """After ``attempt`` attempts failed, the last with ``error``: seconds to wait, or ``None`` to give up.

        The wait is the back-off, or the server's ``Retry-After`` if that is longer.
        """
        if attempt >= self.max_attempts or not self.is_retryable(error):
            return None
        delay = self.backoff(attempt, key=key)
        hint = getattr(error, "retry_after", None) if self.honour_retry_after else None
        if isinstance(hint, (int, float)) and not isinstance(hint, bool) and hint > 0:
            if hint > self.max_retry_after:
                return None
            delay = max(delay, float(hint))
        return delay

    def decide_tool(self, attempt: int, result: ToolResult, *, key: int = 0) -> float | None:
        """Like `decide` for a tool call of an *idempotent* tool that returned ``result``."""
        if (
            attempt >= self.max_attempts
            or result.error is None
            or result.error.kind not in self.retry_tool_errors
        ):
            return None
        return self.backoff(attempt, key=key)

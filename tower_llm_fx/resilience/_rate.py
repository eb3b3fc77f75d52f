"""Request pacing as a pure token bucket.

Theory of operation: a bucket holds up to ``burst`` tokens and refills at
``rate`` tokens per second. Each request takes one token. `TokenBucket.take`
is a pure function of the bucket's state and the current time; it returns the
new state and how long the caller must wait before starting. A caller that
must wait *reserves* its token at once (the level may go negative), so callers
are served in arrival order and nobody re-checks after sleeping. The clock is
read, and the sleeping done, by ``interpreters.layers.limit``.

Guarantee (property-tested): over any window of ``T`` seconds, at most
``burst + rate * T`` requests start.
"""

from __future__ import annotations

from typing import final

import attrs
from attrs import validators as v

from tower_llm_fx._errors import ConfigurationError

__all__ = ["BucketState", "TokenBucket"]


@final
@attrs.frozen(kw_only=True)
class BucketState:
    """Tokens left (negative: reserved by waiting callers) as of clock time ``updated_at``."""

    tokens: float = attrs.field(validator=v.instance_of((int, float)))
    updated_at: float = attrs.field(validator=v.instance_of((int, float)))


def _rate(_inst: object, _attr: object, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"rate must be a positive number of requests per second, got {value!r}")


def _burst(_inst: object, _attr: object, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"burst must be a positive int, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class TokenBucket:
    """``rate`` requests per second on average, up to ``burst`` at once.

    >>> bucket = TokenBucket(rate=2.0, burst=1)
    >>> state, wait = bucket.take(None, now=0.0)
    >>> wait
    0.0
    >>> state, wait = bucket.take(state, now=0.0)   # the next token comes in 0.5 s
    >>> wait
    0.5
    >>> bucket.take(state, now=0.0)[1]              # and the one after in 1 s
    1.0
    """

    rate: float = attrs.field(validator=_rate)
    burst: int = attrs.field(default=1, validator=_burst)

    def take(self, state: BucketState | None, now: float) -> tuple[BucketState, float]:
        """Take one token at ``now``; return the new state and the seconds to wait first."""
        if state is None:
            tokens = float(self.burst)
        else:
            elapsed = max(0.0, now - state.updated_at)
            tokens = min(float(self.burst), state.tokens + elapsed * self.rate)
        tokens -= 1.0
        wait = 0.0 if tokens >= 0 else -tokens / self.rate
        return BucketState(tokens=tokens, updated_at=max(now, state.updated_at) if state else now), wait

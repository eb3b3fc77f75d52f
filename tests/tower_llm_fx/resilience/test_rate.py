"""TokenBucket: pure request pacing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience


def test_burst_then_steady_rate() -> None:
    bucket = fx.resilience.TokenBucket(rate=10.0, burst=3)
    state = None
    waits = []
    for _ in range(5):
        state, wait = bucket.take(state, now=0.0)
        waits.append(round(wait, 9))
    assert waits == [0.0, 0.0, 0.0, 0.1, 0.2]


def test_refills_over_time_up_to_the_burst() -> None:
    bucket = fx.resilience.TokenBucket(rate=1.0, burst=2)
    state, _ = bucket.take(None, now=0.0)
    state, _ = bucket.take(state, now=0.0)
    state, wait = bucket.take(state, now=100.0)  # long idle: full again, but no more than burst
    assert wait == 0.0 and state.tokens == 1.0


def test_invalid_settings() -> None:
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.TokenBucket(rate=0)
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.TokenBucket(rate=1, burst=0)


@given(
    st.floats(0.1, 50),
    st.integers(1, 5),
    st.lists(st.floats(0, 2), min_size=1, max_size=60),
    st.floats(0.01, 5),
)
def test_no_window_sees_more_than_burst_plus_rate_times_length(
    rate: float, burst: int, gaps: list[float], window: float
) -> None:
    bucket = fx.resilience.TokenBucket(rate=rate, burst=burst)
    state = None
    now = 0.0
    starts = []
    for gap in gaps:
        now += gap
        state, wait = bucket.take(state, now)
        assert wait >= 0
        starts.append(now + wait)
    assert starts == sorted(starts), "callers are served in arrival order"
    for i, t0 in enumerate(starts):
        in_window = sum(1 for t in starts[i:] if t < t0 + window)
        assert in_window <= burst + rate * window + 1e-6

"""RetryPolicy: classification, back-off with seeded full jitter, Retry-After."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience
from tower_llm_fx.resilience._retry import jitter

RETRYABLE = [408, 409, 429, 500, 502, 503, 504, 529, 599]
NOT_RETRYABLE = [400, 401, 403, 404, 422]


@pytest.mark.parametrize("status", RETRYABLE)
def test_transient_statuses_are_retried(status: int) -> None:
    assert fx.resilience.is_transient(fx.ProviderError("x", status=status))
    assert fx.resilience.RetryPolicy(jitter=False).decide(1, fx.ProviderError("x", status=status)) == 0.5


@pytest.mark.parametrize("status", NOT_RETRYABLE)
def test_client_errors_are_not_retried(status: int) -> None:
    # Even if a provider marked it retryable: the status decides.
    error = fx.ProviderError("x", status=status, retryable=True)
    assert not fx.resilience.is_transient(error)
    assert fx.resilience.RetryPolicy().decide(1, error) is None


def test_quota_exhaustion_is_not_retried_despite_its_429() -> None:
    assert not fx.resilience.is_transient(
        fx.RateLimitError("out of credit", status=429, code="insufficient_quota")
    )
    assert fx.resilience.is_transient(
        fx.RateLimitError("slow down", status=429, code="rate_limit_exceeded", retryable=True)
    )
    assert "insufficient_quota" in fx.resilience.NON_RETRYABLE_CODES


def test_errors_without_status_follow_their_flag_and_type() -> None:
    assert fx.resilience.is_transient(fx.ProviderError("connect failed", retryable=True))
    assert not fx.resilience.is_transient(fx.ProviderError("malformed", retryable=False))
    assert fx.resilience.is_transient(fx.EffectTimeout("late", effect_type="ModelCall", seconds=1))
    assert fx.resilience.is_transient(ConnectionResetError("reset"))
    assert fx.resilience.is_transient(TimeoutError())
    assert not fx.resilience.is_transient(
        fx.resilience.CircuitOpen("open", retry_in=1, consecutive_failures=3)
    )
    assert not fx.resilience.is_transient(ValueError("a bug"))
    assert not fx.resilience.is_transient(fx.ConfigurationError("misconfigured"))


def test_exponential_schedule_without_jitter_is_capped() -> None:
    policy = fx.resilience.RetryPolicy(
        max_attempts=10, initial_delay=1.0, multiplier=2.0, max_delay=5.0, jitter=False
    )
    error = fx.ProviderError("busy", status=503)
    assert [policy.decide(a, error) for a in range(1, 11)] == [
        1.0,
        2.0,
        4.0,
        5.0,
        5.0,
        5.0,
        5.0,
        5.0,
        5.0,
        None,
    ]


def test_max_attempts_counts_the_first_attempt() -> None:
    error = fx.ProviderError("busy", status=503)
    assert fx.resilience.RetryPolicy(max_attempts=1).decide(1, error) is None
    policy = fx.resilience.RetryPolicy(max_attempts=2)
    assert policy.decide(1, error) is not None
    assert policy.decide(2, error) is None


def test_retry_after_is_honoured_and_bounded() -> None:
    policy = fx.resilience.RetryPolicy(initial_delay=1.0, jitter=False, max_retry_after=60.0)
    assert policy.decide(1, fx.ProviderError("slow down", status=429, retry_after=7.5)) == 7.5
    # A hint shorter than the back-off does not shorten it.
    assert policy.decide(1, fx.ProviderError("slow down", status=429, retry_after=0.1)) == 1.0
    # A hint longer than we are willing to wait: give up rather than hammer the server early.
    assert policy.decide(1, fx.ProviderError("slow down", status=429, retry_after=120)) is None
    ignoring = fx.resilience.RetryPolicy(initial_delay=1.0, jitter=False, honour_retry_after=False)
    assert ignoring.decide(1, fx.ProviderError("slow down", status=429, retry_after=7.5)) == 1.0


def test_custom_statuses() -> None:
    policy = fx.resilience.RetryPolicy(retry_statuses={503})
    assert policy.decide(1, fx.ProviderError("x", status=503)) is not None
    assert policy.decide(1, fx.ProviderError("x", status=500)) is None


def test_tool_results_are_retried_by_error_kind() -> None:
    policy = fx.resilience.RetryPolicy(initial_delay=1.0, jitter=False)
    raised = fx.ToolResult.failure(call_id="c", name="t", kind="tool_raised", message="boom")
    invalid = fx.ToolResult.failure(call_id="c", name="t", kind="invalid_arguments", message="bad")
    ok = fx.ToolResult.success(call_id="c", name="t", content="1")
    assert policy.decide_tool(1, raised) == 1.0
    assert policy.decide_tool(3, raised) is None
    assert policy.decide_tool(1, invalid) is None
    assert policy.decide_tool(1, ok) is None
    assert fx.resilience.RetryPolicy(retry_tool_errors={"timeout"}).decide_tool(1, raised) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"initial_delay": -1},
        {"max_delay": float("nan")},
        {"multiplier": 0.5},
        {"retry_statuses": {99}},
        {"retry_tool_errors": {"exploded"}},
    ],
)
def test_invalid_policies_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        fx.resilience.RetryPolicy().cap(0)


def test_jitter_is_roughly_uniform() -> None:
    # Deterministic: the same 20 000 draws every time.
    draws = [jitter(42, attempt, key) for attempt in range(1, 5) for key in range(5000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert abs(sum(draws) / len(draws) - 0.5) < 0.01
    below = sum(d < 0.25 for d in draws) / len(draws)
    assert abs(below - 0.25) < 0.01
    # Different keys decorrelate concurrent calls; different seeds decorrelate processes.
    assert len({jitter(1, 1, k) for k in range(100)}) == 100
    assert jitter(1, 1) != jitter(2, 1)


policies = st.builds(
    fx.resilience.RetryPolicy,
    max_attempts=st.integers(1, 10),
    initial_delay=st.floats(0, 10),
    multiplier=st.floats(1, 5),
    max_delay=st.floats(0, 100),
    jitter=st.booleans(),
    seed=st.integers(0, 2**64),
)
errors = st.one_of(
    st.builds(
        fx.ProviderError, st.just("x"), status=st.none() | st.integers(400, 599), retryable=st.booleans()
    ),
    st.just(ValueError("bug")),
    st.just(ConnectionError("reset")),
)


@given(policies, st.integers(1, 10_000), st.integers(0, 2**32))
def test_backoff_is_deterministic_and_within_the_cap(
    policy: fx.resilience.RetryPolicy, attempt: int, key: int
) -> None:
    delay = policy.backoff(attempt, key=key)
    assert delay == policy.backoff(attempt, key=key)
    assert 0 <= delay <= policy.cap(attempt) <= policy.max_delay
    if not policy.jitter:
        assert delay == policy.cap(attempt)


@given(policies, st.integers(1, 500))
def test_cap_never_decreases(policy: fx.resilience.RetryPolicy, attempt: int) -> None:
    assert policy.cap(attempt) <= policy.cap(attempt + 1)


@given(policies, st.integers(1, 20), errors)
def test_decide_gives_up_exactly_when_it_should(
    policy: fx.resilience.RetryPolicy, attempt: int, error: Exception
) -> None:
    delay = policy.decide(attempt, error)
    if attempt >= policy.max_attempts or not policy.is_retryable(error):
        assert delay is None
    else:
        assert delay is not None and 0 <= delay <= policy.max_delay

"""The circuit breaker's pure state machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience

POLICY = fx.resilience.BreakerPolicy(failure_threshold=2, cooldown=10.0, probes=1)


def fail_n(state: fx.resilience.BreakerState, n: int, now: float) -> fx.resilience.BreakerState:
    for _ in range(n):
        state, ok = POLICY.admit(state, now)
        assert ok
        state = POLICY.on_failure(state, now)
    return state


def test_opens_at_the_threshold_of_consecutive_failures() -> None:
    s = fail_n(fx.resilience.BreakerState(), 1, 0.0)
    assert s.state == "closed" and s.consecutive_failures == 1
    s = fail_n(s, 1, 1.0)
    assert s.state == "open" and s.opened_at == 1.0 and s.failures == 2


def test_a_success_resets_the_count() -> None:
    s = fail_n(fx.resilience.BreakerState(), 1, 0.0)
    s, _ = POLICY.admit(s, 0.5)
    s = POLICY.on_success(s, 0.5)
    s = fail_n(s, 1, 1.0)
    assert s.state == "closed" and s.consecutive_failures == 1


def test_open_rejects_until_the_cooldown_is_over() -> None:
    s = fail_n(fx.resilience.BreakerState(), 2, 0.0)
    s, ok = POLICY.admit(s, 9.99)
    assert not ok and s.rejected == 1
    assert POLICY.retry_in(s, 5.0) == 5.0
    assert POLICY.current(s, 9.0) == "open"
    assert POLICY.current(s, 10.0) == "half_open"


def test_half_open_admits_a_bounded_number_of_probes() -> None:
    s = fail_n(fx.resilience.BreakerState(), 2, 0.0)
    s, ok = POLICY.admit(s, 10.0)
    assert ok and s.state == "half_open" and s.probes_in_flight == 1
    s, ok2 = POLICY.admit(s, 10.0)
    assert not ok2 and s.rejected == 1  # the probe is still in flight
    closed = POLICY.on_success(s, 11.0)
    assert closed.state == "closed" and closed.consecutive_failures == 0
    reopened = POLICY.on_failure(s, 11.0)
    assert reopened.state == "open" and reopened.opened_at == 11.0


def test_an_abandoned_probe_frees_its_slot() -> None:
    s = fail_n(fx.resilience.BreakerState(), 2, 0.0)
    s, _ = POLICY.admit(s, 10.0)
    s = POLICY.on_abandon(s, 10.5)
    assert s.state == "half_open" and s.probes_in_flight == 0
    s, ok = POLICY.admit(s, 10.5)
    assert ok


def test_late_results_do_not_move_an_open_breaker() -> None:
    s, _ = POLICY.admit(fx.resilience.BreakerState(), 0.0)  # a slow call, admitted while closed
    s = fail_n(s, 2, 1.0)  # meanwhile the breaker opens
    late_ok = POLICY.on_success(s, 2.0)
    assert late_ok.state == "open" and late_ok.successes == 1
    late_bad = POLICY.on_failure(s, 5.0)
    assert late_bad.state == "open" and late_bad.opened_at == 1.0


def test_invalid_settings() -> None:
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.BreakerPolicy(failure_threshold=0)
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.BreakerPolicy(cooldown=-1)
    with pytest.raises(fx.ConfigurationError):
        fx.resilience.BreakerPolicy(probes=0)


def test_state_round_trips_through_json() -> None:
    s = fail_n(fx.resilience.BreakerState(), 2, 3.0)
    assert fx.from_json(fx.to_json(s)) == s


ops = st.lists(
    st.tuples(st.sampled_from(["call_ok", "call_fail", "call_abandon", "admit_only"]), st.floats(0, 5)),
    max_size=60,
)


@given(
    st.integers(1, 4),
    st.floats(0, 20),
    st.integers(1, 3),
    ops,
)
def test_invariants_hold_for_any_history(
    threshold: int, cooldown: float, probes: int, history: list[tuple[str, float]]
) -> None:
    policy = fx.resilience.BreakerPolicy(failure_threshold=threshold, cooldown=cooldown, probes=probes)
    s = fx.resilience.BreakerState()
    now = 0.0
    in_flight: list[str] = []
    for admits, (op, dt) in enumerate(history, start=1):
        now += dt
        before = s
        s, ok = policy.admit(s, now)
        if before.state == "open" and now < (before.opened_at or 0.0) + cooldown:
            assert not ok, "an open breaker must reject during its cool-down"
        if ok and op != "admit_only":
            outcome = {
                "call_ok": policy.on_success,
                "call_fail": policy.on_failure,
                "call_abandon": policy.on_abandon,
            }
            s = outcome[op](s, now)
        elif ok:
            in_flight.append(op)
        assert s.probes_in_flight <= probes
        assert s.calls + s.rejected == admits
        if s.state == "open":
            assert s.opened_at is not None
        if s.state == "closed":
            assert s.consecutive_failures < threshold
        assert s.successes + s.failures <= s.calls

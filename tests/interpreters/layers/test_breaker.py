"""The circuit breaker layer. Tests using ``trio-mockclock`` are trio only (MockClock);
the others run on trio and asyncio."""

from __future__ import annotations

import anyio
import pytest
import trio
import trio.testing

import tower_llm_fx as fx
import tower_llm_fx.resilience
from interpreters import fixed
from interpreters.layers import circuit_breaker

pytestmark = pytest.mark.anyio

MOCK_CLOCK = pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)}), id="trio-mockclock")],
)
CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))


class Service:
    """A model whose health we control; counts the calls that reach it."""

    def __init__(self) -> None:
        self.healthy = False
        self.calls = 0
        self.delay = 0.0
        self.error: Exception = fx.ProviderError("down", status=503)

    async def __call__(self, effect: fx.ModelCall) -> fx.ModelReply:
        self.calls += 1
        if self.delay:
            await anyio.sleep(self.delay)
        if not self.healthy:
            raise self.error
        return fx.ModelReply(message=fx.assistant("ok"))


async def test_opens_after_the_threshold_and_fails_fast_without_calling() -> None:
    service = Service()
    breaker = circuit_breaker(failure_threshold=2, cooldown=30)
    interp = breaker(service)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(fx.ProviderError):
            await interp(CALL)
    for _ in range(3):
        with pytest.raises(fx.resilience.CircuitOpen) as info:
            await interp(CALL)
    assert service.calls == 2  # the inner service was never started while open
    assert info.value.consecutive_failures == 2 and 0 < info.value.retry_in <= 30
    assert "next probe goes through in" in str(info.value)
    stats = breaker.statistics()
    assert (stats.state, stats.calls, stats.failures, stats.rejected) == ("open", 2, 2, 3)


async def test_client_errors_do_not_trip_it() -> None:
    service = Service()
    service.error = fx.ProviderError("bad request", status=400)
    breaker = circuit_breaker(failure_threshold=1)
    interp = breaker(service)  # type: ignore[arg-type]
    for _ in range(3):
        with pytest.raises(fx.ProviderError):
            await interp(CALL)
    assert breaker.statistics().state == "closed" and service.calls == 3


async def test_other_effect_types_pass_through() -> None:
    breaker = circuit_breaker(failure_threshold=1)

    async def tools(effect: fx.ToolCall) -> fx.ToolResult:
        raise ConnectionError("down")

    interp = breaker(tools)  # type: ignore[arg-type]
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await interp(fx.ToolCall(id="c", name="t"))
    assert breaker.statistics().calls == 0


async def test_failed_tool_results_count_when_tools_are_covered() -> None:
    breaker = circuit_breaker(failure_threshold=2, effects=[fx.ToolCall])

    async def tool(effect: fx.ToolCall) -> fx.ToolResult:
        return fx.ToolResult.failure(call_id=effect.id, name=effect.name, kind="timeout", message="slow")

    interp = breaker(tool)  # type: ignore[arg-type]
    await interp(fx.ToolCall(id="1", name="t"))
    await interp(fx.ToolCall(id="2", name="t"))
    with pytest.raises(fx.resilience.CircuitOpen):
        await interp(fx.ToolCall(id="3", name="t"))


@MOCK_CLOCK
async def test_half_open_probe_closes_or_reopens() -> None:
    """trio only: MockClock drives the cool-down."""
    service = Service()
    breaker = circuit_breaker(failure_threshold=2, cooldown=30)
    interp = breaker(service)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(fx.ProviderError):
            await interp(CALL)
    await trio.sleep(29)
    with pytest.raises(fx.resilience.CircuitOpen):
        await interp(CALL)
    await trio.sleep(1)
    assert breaker.current_state() == "half_open"
    with pytest.raises(fx.ProviderError):  # the probe fails: open again, for another 30 s
        await interp(CALL)
    assert breaker.statistics().state == "open" and service.calls == 3
    await trio.sleep(30)
    service.healthy = True
    assert (await interp(CALL)).message.content == "ok"
    assert breaker.statistics().state == "closed" and breaker.statistics().consecutive_failures == 0


@MOCK_CLOCK
async def test_half_open_lets_only_the_probes_through() -> None:
    """trio only: concurrent callers while one probe is in flight are rejected."""
    service = Service()
    breaker = circuit_breaker(failure_threshold=1, cooldown=10, probes=1)
    interp = breaker(service)  # type: ignore[arg-type]
    with pytest.raises(fx.ProviderError):
        await interp(CALL)
    await trio.sleep(10)
    service.healthy, service.delay = True, 1.0
    outcomes: list[str] = []

    async def caller() -> None:
        try:
            await interp(CALL)
            outcomes.append("ok")
        except fx.resilience.CircuitOpen:
            outcomes.append("rejected")

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(caller)
    assert sorted(outcomes) == ["ok", "rejected", "rejected", "rejected", "rejected"]
    assert service.calls == 2  # the first failure plus the single probe


async def test_a_cancelled_probe_frees_its_slot() -> None:
    service = Service()
    breaker = circuit_breaker(failure_threshold=1, cooldown=0.0)
    interp = breaker(service)  # type: ignore[arg-type]
    with pytest.raises(fx.ProviderError):
        await interp(CALL)
    service.delay = 10
    with anyio.move_on_after(0.02):
        await interp(CALL)  # the probe is cancelled: no verdict
    assert breaker.statistics().probes_in_flight == 0
    service.delay, service.healthy = 0.0, True
    assert (await interp(CALL)).message.content == "ok"


async def test_reset_and_repr() -> None:
    breaker = circuit_breaker(failure_threshold=1)
    with pytest.raises(fx.ProviderError):
        await breaker(Service())(CALL)  # type: ignore[arg-type]
    assert breaker.statistics().state == "open"
    breaker.reset()
    assert breaker.statistics() == fx.resilience.BreakerState()
    assert (
        repr(breaker) == "circuit_breaker(failure_threshold=1, cooldown=30.0, probes=1, effects=(ModelCall))"
    )
    assert (await breaker(fixed("x"))(CALL)).message.content == "x"


def test_bad_configuration() -> None:
    with pytest.raises(fx.ConfigurationError):
        circuit_breaker(failure_threshold=0)
    with pytest.raises(fx.ConfigurationError):
        circuit_breaker(effects=[str])
    with pytest.raises(fx.ConfigurationError):
        circuit_breaker(is_failure=3)  # type: ignore[arg-type]

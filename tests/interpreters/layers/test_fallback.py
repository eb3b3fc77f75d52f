"""The fallback layer: another interpreter (or model) when the first fails retryably."""

from __future__ import annotations

import pytest

import tower_llm_fx as fx
from interpreters import Interpreter, fixed, function, stack
from interpreters.layers import circuit_breaker, fallback

pytestmark = pytest.mark.anyio

CALL = fx.ModelCall(model="big", messages=(fx.user("hi"),))


def failing(error: Exception, log: list[str], name: str) -> Interpreter:
    def model(call: fx.ModelCall) -> str:
        log.append(f"{name}:{call.model}")
        raise error

    return function(model)


def answering(log: list[str], name: str) -> Interpreter:
    def model(call: fx.ModelCall) -> fx.ModelReply:
        log.append(f"{name}:{call.model}")
        return fx.ModelReply(message=fx.assistant(f"from {name}"), model=call.model)

    return function(model)


async def test_falls_back_on_a_retryable_error_with_another_model() -> None:
    log: list[str] = []
    interp = fallback(answering(log, "b"), model="small")(
        failing(fx.ProviderError("x", status=503), log, "a")
    )
    reply = await interp(CALL)
    assert reply.message.content == "from b" and reply.model == "small"
    assert log == ["a:big", "b:small"]


@pytest.mark.parametrize("status", [400, 401])
async def test_does_not_fall_back_when_the_request_is_at_fault(status: int) -> None:
    log: list[str] = []
    interp = fallback(answering(log, "b"))(failing(fx.ProviderError("x", status=status), log, "a"))
    with pytest.raises(fx.ProviderError):
        await interp(CALL)
    assert log == ["a:big"]


async def test_chains_in_stack_order_and_keeps_the_first_error_as_context() -> None:
    log: list[str] = []
    first = fx.ProviderError("a is down", status=503)
    layers = stack(
        fallback(failing(fx.ProviderError("c is down", status=500), log, "c")),
        fallback(failing(ConnectionError("b unreachable"), log, "b")),
    )
    with pytest.raises(fx.ProviderError, match="c is down") as info:
        await layers(failing(first, log, "a"))(CALL)
    assert log == ["a:big", "b:big", "c:big"]
    assert isinstance(info.value.__context__, ConnectionError)
    assert info.value.__context__.__context__ is first


async def test_an_open_breaker_switches_over() -> None:
    log: list[str] = []
    breaker = circuit_breaker(failure_threshold=1)
    primary = breaker(failing(fx.ProviderError("x", status=503), log, "a"))
    interp = fallback(answering(log, "b"))(primary)
    await interp(CALL)
    await interp(CALL)  # breaker open: "a" is not even called
    assert log == ["a:big", "b:big", "b:big"]


async def test_custom_predicate_and_effect_types() -> None:
    log: list[str] = []
    interp = fallback(answering(log, "b"), when=lambda e: isinstance(e, KeyError))(
        failing(KeyError("k"), log, "a")
    )
    assert (await interp(CALL)).message.content == "from b"
    passthrough = fallback(fixed("b"), effects=[fx.ToolCall])(
        failing(fx.ProviderError("x", status=503), log, "a")
    )
    with pytest.raises(fx.ProviderError):
        await passthrough(CALL)


def test_bad_configuration_and_repr() -> None:
    with pytest.raises(fx.ConfigurationError):
        fallback(3)  # type: ignore[arg-type]
    with pytest.raises(fx.ConfigurationError):
        fallback(fixed("x"), effects=[int])
    assert repr(fallback(fixed("x"), model="small")) == "fallback(fixed('x'), model='small')"

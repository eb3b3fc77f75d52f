"""Laws of layer composition, checked on the real layers of ``interpreters.layers``:

* ``stack(identity, L) ≡ L ≡ stack(L, identity)``;
* ``stack(stack(a, b), c) ≡ stack(a, stack(b, c)) ≡ stack(a, b, c)``;
* ``stack(a, b)`` applies ``a`` outermost: it sees each effect first.

"≡" means: fed the same effects, the composed interpreters give the same
results (or raise the same errors) and the base interpreter sees the same
effects. Layers may hold state (counters, breakers), so every side of an
equation is built from fresh layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience
from interpreters import Interpreter, Layer, by_type, fixed, identity, local_tools, perform, stack
from interpreters.layers import (
    approvals,
    chaos,
    circuit_breaker,
    fallback,
    limit,
    metrics,
    retry,
    timeout,
    tracing,
)


@fx.tool(idempotent=True)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@fx.tool
def rm(path: str) -> str:
    """Remove a file."""
    return f"removed {path}"


Spec = tuple[str, Any]
LayerFactory = Callable[[], Layer]


def build(spec: Spec) -> Layer:
    kind, arg = spec
    if kind == "retry":
        return retry(fx.resilience.RetryPolicy(max_attempts=arg, initial_delay=0.0), tools=[add])
    if kind == "chaos":
        return chaos(arg)
    if kind == "approvals":
        return approvals(
            lambda r: (
                fx.resilience.deny("no") if getattr(r.subject, "name", None) in arg else fx.resilience.allow()
            )
        )
    if kind == "timeout":
        return timeout(arg)
    if kind == "fallback":
        return fallback(fixed(f"fallback {arg}"))
    if kind == "breaker":
        return circuit_breaker(failure_threshold=arg, cooldown=1000.0)
    if kind == "limit":
        return limit(model_calls=arg, tool_calls=arg)
    if kind == "metrics":
        return metrics()
    assert kind == "tracing"
    return tracing()


specs = st.one_of(
    st.tuples(st.just("retry"), st.integers(1, 3)),
    st.tuples(
        st.just("chaos"),
        st.dictionaries(
            st.integers(0, 6),
            st.sampled_from(["rate_limited", "server_error", "timeout", "malformed"]),
            max_size=3,
        ),
    ),
    st.tuples(st.just("approvals"), st.frozensets(st.sampled_from(["add", "rm"]))),
    st.tuples(st.just("timeout"), st.just(5.0)),
    st.tuples(st.just("fallback"), st.integers(0, 9)),
    st.tuples(st.just("breaker"), st.integers(1, 3)),
    st.tuples(st.just("limit"), st.integers(1, 2)),
    st.just(("metrics", None)),
    st.just(("tracing", None)),
)
effects = st.lists(
    st.sampled_from(
        [
            fx.ModelCall(model="m", messages=(fx.user("hi"),)),
            fx.ToolCall(id="c1", name="add", arguments='{"a": 1, "b": 2}'),
            fx.ToolCall(id="c2", name="rm", arguments='{"path": "/tmp/x"}'),
            fx.Parallel(  # limit=1: the calls go through the stack in call order, so runs compare
                calls=[
                    fx.ToolCall(id="p1", name="add", arguments='{"a": 2, "b": 2}'),
                    fx.ToolCall(id="p2", name="rm", arguments='{"path": "/tmp/y"}'),
                ],
                limit=1,
            ),
        ]
    ),
    min_size=1,
    max_size=6,
)


async def observe(
    compose: Callable[[Interpreter], Interpreter], script: list[fx.Effect[Any]]
) -> list[object]:
    """Feed ``script`` through the composed interpreter; record results, errors, and what reached the base."""
    tools = local_tools([add, rm])
    reached: list[object] = []

    async def base(effect: fx.Effect[Any]) -> Any:
        reached.append(effect)
        return await by_type({fx.ModelCall: fixed("hello"), fx.ToolCall: tools})(effect)

    interp = compose(base)
    out: list[object] = []
    for effect in script:
        try:
            out.append(await perform(interp, effect))
        except fx.TowerLLMFXError as exc:
            # Not str(exc): a breaker's message mentions the seconds left, read off the clock.
            out.append((type(exc).__name__, getattr(exc, "status", None), getattr(exc, "code", None)))
    return [*out, "reached:", *reached]


def same(*composes: Callable[[Interpreter], Interpreter], script: list[fx.Effect[Any]]) -> None:
    results = [anyio.run(observe, c, script, backend="trio") for c in composes]
    for r in results[1:]:
        assert r == results[0]


@given(specs, effects)
def test_identity_is_a_unit_on_both_sides(spec: Spec, script: list[fx.Effect[Any]]) -> None:
    same(
        lambda i: build(spec)(i),
        lambda i: stack(identity, build(spec))(i),
        lambda i: stack(build(spec), identity)(i),
        script=script,
    )


@settings(max_examples=40)
@given(specs, specs, specs, effects)
def test_stack_is_associative(a: Spec, b: Spec, c: Spec, script: list[fx.Effect[Any]]) -> None:
    same(
        lambda i: stack(stack(build(a), build(b)), build(c))(i),
        lambda i: stack(build(a), stack(build(b), build(c)))(i),
        lambda i: stack(build(a), build(b), build(c))(i),
        lambda i: build(a)(build(b)(build(c)(i))),
        script=script,
    )


CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))


@pytest.mark.anyio
async def test_the_first_layer_is_outermost() -> None:
    # retry outside chaos: the injected 500 is retried. chaos outside retry: it is not.
    outer_retry = stack(retry(fx.resilience.RetryPolicy(initial_delay=0.0)), chaos({0: "server_error"}))(
        fixed("ok")
    )
    assert (await outer_retry(CALL)).message.content == "ok"
    outer_chaos = stack(chaos({0: "server_error"}), retry(fx.resilience.RetryPolicy(initial_delay=0.0)))(
        fixed("ok")
    )
    with pytest.raises(fx.ProviderError):
        await outer_chaos(CALL)

    # approvals outside chaos: a denied call never reaches chaos, so chaos counts nothing.
    faults = chaos({0: "timeout"})
    deny_all = approvals(lambda r: fx.resilience.deny("no"))
    tool_call = fx.ToolCall(id="c", name="add", arguments='{"a": 1, "b": 1}')
    result = await stack(deny_all, faults)(local_tools([add]))(tool_call)
    assert result.error is not None and result.error.kind == "denied" and faults.seen == 0
    faults = chaos({0: "timeout"})
    result = await stack(faults, deny_all)(local_tools([add]))(tool_call)
    assert result.error is not None and result.error.kind == "timeout" and faults.seen == 1

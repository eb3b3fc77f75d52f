"""The metrics layer: OpenTelemetry instruments (SDK in-memory reader) and the plain sink."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import tower_llm_fx as fx
from interpreters import agent_interpreter, run, sequence
from interpreters.layers import MetricRecord, metrics

pytestmark = pytest.mark.anyio


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT = fx.Agent(model="m", tools=(add,), parallel_tools=True)
CALLS = (
    fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 1, "b": 2}'),
    fx.ToolCallRequest(id="c2", name="add", arguments='{"a": "x"}'),
)


def script() -> Any:
    return sequence(
        [
            fx.ModelReply(
                message=fx.assistant(None, *CALLS), usage=fx.Usage(prompt_tokens=11, completion_tokens=4)
            ),
            fx.ModelReply(message=fx.assistant("3"), usage=fx.Usage(prompt_tokens=20, completion_tokens=1)),
        ]
    )


async def test_sink_receives_calls_errors_latency_and_tokens() -> None:
    records: list[MetricRecord] = []
    interp = metrics(sink=records.append)(agent_interpreter(AGENT, model=script()))
    await run(AGENT, interp, "go")

    counters = [
        (r.name, r.value, r.attribute("gen_ai.operation.name"), r.attribute("error.type"))
        for r in records
        if r.kind == "counter"
    ]
    chat = ("tower_llm_fx.effect.calls", 1, "chat", None)
    assert counters[0] == chat and counters[-1] == chat
    # The two calls of the batch come through on their own, in whatever order they finish.
    assert sorted(counters[1:-1], key=repr) == sorted(
        [
            ("tower_llm_fx.effect.calls", 1, "execute_tool", None),
            ("tower_llm_fx.effect.calls", 1, "execute_tool", None),
            ("tower_llm_fx.effect.errors", 1, "execute_tool", "invalid_arguments"),
        ],
        key=repr,
    )
    tokens = [
        (r.value, r.attribute("gen_ai.token.type")) for r in records if r.name == "gen_ai.client.token.usage"
    ]
    assert tokens == [(11, "input"), (4, "output"), (20, "input"), (1, "output")]
    durations = [r for r in records if r.name == "gen_ai.client.operation.duration"]
    assert len(durations) == 4 and all(r.unit == "s" and r.value >= 0 for r in durations)


async def test_exceptions_are_counted_and_reraised() -> None:
    records: list[MetricRecord] = []

    async def down(effect: fx.ModelCall) -> fx.ModelReply:
        raise fx.ProviderError("down", status=503)

    with pytest.raises(fx.ProviderError):
        await metrics(sink=records.append)(down)(fx.ModelCall(model="m", messages=(fx.user("hi"),)))  # type: ignore[arg-type]
    assert [(r.name, r.attribute("error.type")) for r in records] == [
        ("tower_llm_fx.effect.calls", None),
        ("tower_llm_fx.effect.errors", "ProviderError"),
        ("gen_ai.client.operation.duration", "ProviderError"),
    ]


async def test_opentelemetry_instruments_are_fed() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    interp = metrics(meter_provider=provider)(agent_interpreter(AGENT, model=script()))
    await run(AGENT, interp, "go")
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, Any] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "tower_llm_fx"
            for metric in scope.metrics:
                found[metric.name] = metric
    assert set(found) == {
        "tower_llm_fx.effect.calls",
        "tower_llm_fx.effect.errors",
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
    }
    calls = {
        (p.attributes.get("gen_ai.operation.name"), p.attributes.get("gen_ai.tool.name")): p.value
        for p in found["tower_llm_fx.effect.calls"].data.data_points
    }
    assert calls == {("chat", None): 2, ("execute_tool", "add"): 2}
    usage = {
        p.attributes["gen_ai.token.type"]: p.sum for p in found["gen_ai.client.token.usage"].data.data_points
    }
    assert usage == {"input": 31, "output": 5}
    assert found["gen_ai.client.operation.duration"].unit == "s"


async def test_a_raising_sink_is_a_bug_and_propagates() -> None:
    def broken(record: MetricRecord) -> None:
        raise RuntimeError("sink bug")

    with pytest.raises(RuntimeError, match="sink bug"):
        await metrics(sink=broken)(agent_interpreter(AGENT, model=script()))(
            fx.ModelCall(model="m", messages=(fx.user("hi"),))
        )


def test_bad_sink_and_repr() -> None:
    with pytest.raises(TypeError):
        metrics(sink=3)  # type: ignore[arg-type]
    assert repr(metrics(sink=print)) == "metrics(sink=print)"

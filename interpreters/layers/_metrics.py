"""`metrics`: counters and histograms for every effect, via OpenTelemetry or a plain callback.

For each effect passing through, the layer emits:

* ``tower_llm_fx.effect.calls`` (counter): one per model call, one per tool call
  (each call of a ``Parallel`` batch comes through on its own), one per other effect;
* ``tower_llm_fx.effect.errors`` (counter): exceptions and error tool results,
  with ``error.type`` (the exception class or the tool error kind);
* ``gen_ai.client.operation.duration`` (histogram, seconds), with
  ``gen_ai.operation.name`` ``chat`` or ``execute_tool``;
* ``gen_ai.client.token.usage`` (histogram, tokens) for each model reply, with
  ``gen_ai.token.type`` ``input`` / ``output``.

Records go to the OpenTelemetry metrics API (the global meter provider unless
you pass one; a no-op without an SDK) and, if given, to ``sink``: a plain
function receiving frozen `MetricRecord` values, for users without OpenTelemetry.
A sink that raises is a bug in the sink and propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar, final

import anyio
import attrs
from attrs import validators as v
from opentelemetry import metrics as otel_metrics
from opentelemetry.metrics import Counter, Histogram, MeterProvider

import tower_llm_fx
from interpreters._types import Interpreter
from tower_llm_fx import Effect, ModelCall, ModelReply, ToolCall, ToolResult

from . import _semconv as sc

__all__ = ["MetricRecord", "metrics"]

R = TypeVar("R")

AttributeValue = str | int | float | bool


def _pairs(value: Iterable[tuple[str, AttributeValue]]) -> tuple[tuple[str, AttributeValue], ...]:
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class MetricRecord:
    """One measurement, as handed to a ``sink``.

    >>> MetricRecord(kind="counter", name="tower_llm_fx.effect.calls", value=1, unit="{call}",
    ...              attributes=(("gen_ai.operation.name", "chat"),)).attribute("gen_ai.operation.name")
    'chat'
    """

    kind: Literal["counter", "histogram"] = attrs.field(validator=v.in_(("counter", "histogram")))
    name: str = attrs.field(validator=v.instance_of(str))
    value: float = attrs.field(validator=v.instance_of((int, float)))
    unit: str = attrs.field(default="", validator=v.instance_of(str))
    attributes: tuple[tuple[str, AttributeValue], ...] = attrs.field(default=(), converter=_pairs)

    def attribute(self, key: str) -> AttributeValue | None:
        """The value of attribute ``key``, or ``None``."""
        return dict(self.attributes).get(key)


@final
@attrs.define(eq=False)
class _Metrics:
    sink: Callable[[MetricRecord], object] | None
    calls: Counter
    errors: Counter
    duration: Histogram
    tokens: Histogram

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _MetricsInterpreter(inner, self)

    def __repr__(self) -> str:
        sink = f"sink={getattr(self.sink, '__name__', self.sink)}" if self.sink is not None else ""
        return f"metrics({sink})"

    def count(
        self, which: Literal["calls", "errors"], value: int, attributes: dict[str, AttributeValue]
    ) -> None:
        if value <= 0:
            return
        counter, name = (self.calls, sc.METRIC_CALLS) if which == "calls" else (self.errors, sc.METRIC_ERRORS)
        counter.add(value, attributes)
        if self.sink is not None:
            self.sink(
                MetricRecord(
                    kind="counter",
                    name=name,
                    value=value,
                    unit="{call}",
                    attributes=tuple(sorted(attributes.items())),
                )
            )

    def observe(
        self, which: Literal["duration", "tokens"], value: float, attributes: dict[str, AttributeValue]
    ) -> None:
        histogram, name, unit = (
            (self.duration, sc.CLIENT_OPERATION_DURATION, "s")
            if which == "duration"
            else (self.tokens, sc.CLIENT_TOKEN_USAGE, "{token}")
        )
        histogram.record(value, attributes)
        if self.sink is not None:
            self.sink(
                MetricRecord(
                    kind="histogram",
                    name=name,
                    value=value,
                    unit=unit,
                    attributes=tuple(sorted(attributes.items())),
                )
            )


def _base(effect: Effect[Any]) -> dict[str, AttributeValue]:
    if isinstance(effect, ModelCall):
        return {sc.OPERATION_NAME: sc.OP_CHAT, sc.REQUEST_MODEL: effect.model}
    if isinstance(effect, ToolCall):
        return {sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.TOOL_NAME: effect.name}
    return {sc.EFFECT_TYPE: type(effect).__name__}


@final
@attrs.frozen
class _MetricsInterpreter:
    inner: Interpreter
    layer: _Metrics

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"

    async def __call__(self, effect: Effect[R], /) -> R:
        layer = self.layer
        base = _base(effect)
        started = anyio.current_time()
        try:
            result = await self.inner(effect)
        except Exception as exc:
            failed = {**base, sc.ERROR_TYPE: type(exc).__qualname__}
            layer.count("calls", 1, base)
            layer.count("errors", 1, failed)
            layer.observe("duration", anyio.current_time() - started, failed)
            raise
        elapsed = anyio.current_time() - started
        layer.count("calls", 1, base)
        duration_attributes = base
        if isinstance(result, ToolResult) and result.error is not None:
            duration_attributes = {**base, sc.ERROR_TYPE: result.error.kind}
            layer.count("errors", 1, duration_attributes)
        if isinstance(result, ModelReply):
            if result.model is not None:
                duration_attributes = {**base, sc.RESPONSE_MODEL: result.model}
            layer.observe(
                "tokens", result.usage.prompt_tokens, {**duration_attributes, sc.TOKEN_TYPE: sc.TOKEN_INPUT}
            )
            layer.observe(
                "tokens",
                result.usage.completion_tokens,
                {**duration_attributes, sc.TOKEN_TYPE: sc.TOKEN_OUTPUT},
            )
        layer.observe("duration", elapsed, duration_attributes)
        return result


def metrics(
    *,
    meter_provider: MeterProvider | None = None,
    sink: Callable[[MetricRecord], object] | None = None,
) -> _Metrics:
    """A layer emitting call, error, latency and token metrics for every effect.

    Args:
        meter_provider: where OpenTelemetry measurements go (default: the global
            provider, a no-op until an SDK is configured).
        sink: also called with each `MetricRecord` (no OpenTelemetry needed).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import fixed
    >>> seen = []
    >>> model = metrics(sink=seen.append)(fixed("hi"))
    >>> _ = trio.run(model, fx.ModelCall(model="m", messages=[fx.user("hi")]))
    >>> [(r.name, r.value) for r in seen if r.kind == "counter"]
    [('tower_llm_fx.effect.calls', 1)]
    """
    if sink is not None and not callable(sink):
        raise TypeError(f"sink must be callable as sink(record), got {sink!r}")
    meter = (meter_provider or otel_metrics.get_meter_provider()).get_meter(
        "tower_llm_fx", tower_llm_fx.__version__
    )
    return _Metrics(
        sink=sink,
        calls=meter.create_counter(sc.METRIC_CALLS, unit="{call}", description="Effects performed."),
        errors=meter.create_counter(
            sc.METRIC_ERRORS, unit="{call}", description="Effects that raised or returned an error result."
        ),
        duration=meter.create_histogram(
            sc.CLIENT_OPERATION_DURATION, unit="s", description="Duration of model calls and tool executions."
        ),
        tokens=meter.create_histogram(
            sc.CLIENT_TOKEN_USAGE, unit="{token}", description="Tokens per model call."
        ),
    )

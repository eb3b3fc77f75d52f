"""The tracing layer and traced runs, checked with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import json

import anyio
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import tower_llm_fx as fx
import tower_llm_fx.resilience
from interpreters import agent_interpreter, sequence, stack
from interpreters.layers import retry, tracing

pytestmark = pytest.mark.anyio


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT = fx.Agent(model="gpt-test", name="calc", instructions="Use tools.", tools=(add,))


def script() -> object:
    return sequence(
        [
            fx.ModelReply(
                message=fx.assistant(
                    None, fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 2, "b": 3}')
                ),
                usage=fx.Usage(prompt_tokens=20, completion_tokens=5),
                finish_reason="tool_calls",
                model="gpt-test-0613",
                id="resp_1",
            ),
            fx.ModelReply(message=fx.assistant("5"), usage=fx.Usage(prompt_tokens=30, completion_tokens=1)),
        ]
    )


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


async def test_a_run_is_traced_as_run_step_and_call_spans(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tr = tracing(tracer_provider=provider, provider_name="openai")
    interp = tr(agent_interpreter(AGENT, model=script()))  # type: ignore[arg-type]
    final = await tr.run(AGENT, interp, "What is 2 + 3?")
    assert final.output == "5"

    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert sorted(names) == sorted(
        ["invoke_agent calc", "step 1", "step 2", "chat gpt-test", "chat gpt-test", "execute_tool add"]
    )
    run = by_name(spans)["invoke_agent calc"]
    step1, step2 = by_name(spans)["step 1"], by_name(spans)["step 2"]
    chats = [s for s in spans if s.name == "chat gpt-test"]
    tool = by_name(spans)["execute_tool add"]

    # Nesting: run → step → model / tool call.
    assert run.parent is None
    assert step1.parent is not None and step1.parent.span_id == run.context.span_id
    assert step2.parent is not None and step2.parent.span_id == run.context.span_id
    assert chats[0].parent is not None and chats[0].parent.span_id == step1.context.span_id
    assert tool.parent is not None and tool.parent.span_id == step1.context.span_id
    assert chats[1].parent is not None and chats[1].parent.span_id == step2.context.span_id

    assert run.attributes is not None and dict(run.attributes) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "calc",
        "gen_ai.request.model": "gpt-test",
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 50,
        "gen_ai.usage.output_tokens": 6,
        "tower_llm_fx.steps": 2,
        "tower_llm_fx.stop.kind": "no_tool_calls",
        "tower_llm_fx.stop.detail": "the model replied without tool calls",
    }
    first = chats[0]
    assert first.kind == SpanKind.CLIENT
    assert first.attributes is not None
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.request.model"] == "gpt-test"
    assert first.attributes["gen_ai.response.model"] == "gpt-test-0613"
    assert first.attributes["gen_ai.response.id"] == "resp_1"
    assert tuple(first.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)  # type: ignore[arg-type]
    assert first.attributes["gen_ai.usage.input_tokens"] == 20
    assert first.attributes["gen_ai.usage.output_tokens"] == 5
    assert tool.attributes is not None and dict(tool.attributes) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": "calc",  # the ToolCall says whose tool ran
    }
    assert step1.attributes is not None and step1.attributes["tower_llm_fx.step"] == 1


async def test_content_is_off_by_default_and_opt_in(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    quiet = tracing(tracer_provider=provider)
    await quiet.run(AGENT, quiet(agent_interpreter(AGENT, model=script())), "secret question")  # type: ignore[arg-type]
    for span in exporter.get_finished_spans():
        assert span.attributes is not None
        assert "secret question" not in json.dumps(dict(span.attributes), default=str)
        assert not {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments"} & set(
            span.attributes
        )
    exporter.clear()

    loud = tracing(tracer_provider=provider, capture_content=True)
    await loud.run(AGENT, loud(agent_interpreter(AGENT, model=script())), "secret question")  # type: ignore[arg-type]
    spans = exporter.get_finished_spans()
    chat = next(s for s in spans if s.name.startswith("chat"))
    assert chat.attributes is not None
    sent = json.loads(str(chat.attributes["gen_ai.input.messages"]))
    assert sent == [{"role": "user", "parts": [{"type": "text", "content": "secret question"}]}]
    received = json.loads(str(chat.attributes["gen_ai.output.messages"]))
    assert received[0]["parts"][0]["type"] == "tool_call"
    tool = next(s for s in spans if s.name == "execute_tool add")
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.tool.call.arguments"] == '{"a": 2, "b": 3}'
    assert tool.attributes["gen_ai.tool.call.result"] == "5"


async def test_errors_are_recorded_and_retries_are_inside_one_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    attempts = 0

    async def model(effect: fx.ModelCall) -> fx.ModelReply:
        nonlocal attempts
        attempts += 1
        raise fx.ProviderError("overloaded", status=503)

    tr = tracing(tracer_provider=provider)
    interp = stack(tr, retry(fx.resilience.RetryPolicy(initial_delay=0.0)))(model)  # type: ignore[arg-type]
    with pytest.raises(fx.ProviderError):
        await tr.run(AGENT, interp, "hi")
    assert attempts == 3
    spans = by_name(exporter.get_finished_spans())
    assert set(spans) == {"invoke_agent calc", "step 1", "chat gpt-test"}  # one span for all 3 attempts
    for name in spans:
        span = spans[name]
        assert span.status.status_code == StatusCode.ERROR
        assert span.attributes is not None and span.attributes["error.type"] == "ProviderError"
    assert spans["chat gpt-test"].events[0].name == "exception"


async def test_tool_errors_and_batches(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    agent = fx.Agent(model="m", tools=(add,), parallel_tools=True)
    calls = [
        fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 1, "b": 1}'),
        fx.ToolCallRequest(id="c2", name="add", arguments='{"a": "x"}'),
    ]
    tr = tracing(tracer_provider=provider)
    model = sequence([fx.assistant(None, *calls), "done"])
    await tr.run(agent, tr(agent_interpreter(agent, model=model)), "go")
    spans = exporter.get_finished_spans()
    tools = sorted((s for s in spans if s.name == "execute_tool add"), key=lambda s: str(s.attributes))
    assert len(tools) == 2  # one span per call of the batch
    step = by_name(spans)["step 1"]
    assert all(t.parent is not None and t.parent.span_id == step.context.span_id for t in tools)
    ok, failed = sorted(tools, key=lambda s: str((s.attributes or {})["gen_ai.tool.call.id"]))
    assert ok.attributes is not None and ok.attributes["gen_ai.agent.name"] == agent.name
    assert ok.status.status_code != StatusCode.ERROR
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes is not None and failed.attributes["error.type"] == "invalid_arguments"

    exporter.clear()
    result = await tr(agent_interpreter(agent, model=model))(fx.ToolCall(id="c3", name="nope"))
    assert result.is_error
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None and span.attributes["error.type"] == "unknown_tool"


async def test_a_cancelled_run_closes_its_spans(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async def hangs(effect: fx.ModelCall) -> fx.ModelReply:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    tr = tracing(tracer_provider=provider)
    with anyio.move_on_after(0.02):
        await tr.run(AGENT, tr(hangs), "hi")  # type: ignore[arg-type]
    spans = by_name(exporter.get_finished_spans())
    assert set(spans) == {"invoke_agent calc", "step 1", "chat gpt-test"}
    assert all(s.attributes is not None and s.attributes["error.type"] == "cancelled" for s in spans.values())


async def test_other_effects_get_a_span_named_after_their_type(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async def approver(effect: fx.resilience.Approve) -> fx.resilience.Decision:
        return fx.resilience.allow()

    traced = tracing(tracer_provider=provider)(approver)  # type: ignore[arg-type]
    await traced(fx.resilience.Approve(subject=fx.ToolCall(id="c", name="t")))
    (span,) = exporter.get_finished_spans()
    assert span.name == "Approve" and span.attributes is not None
    assert span.attributes["tower_llm_fx.effect.type"] == "Approve"


async def test_without_an_sdk_tracing_is_a_harmless_no_op() -> None:
    tr = tracing()
    final = await tr.run(AGENT, tr(agent_interpreter(AGENT, model=script())), "hi")  # type: ignore[arg-type]
    assert final.output == "5"


async def test_no_secret_reaches_a_span(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    async def model(effect: fx.ModelCall) -> fx.ModelReply:
        raise fx.MalformedResponse("the body is not JSON: b'<html>WAF blocked: Bearer sk-abc12345</html>'")

    tr = tracing(tracer_provider=provider)
    with pytest.raises(fx.MalformedResponse):
        await tr.run(AGENT, tr(model), "hi")  # type: ignore[arg-type]
    for span in exporter.get_finished_spans():
        assert "sk-abc12345" not in (span.status.description or "")
        for event in span.events:
            assert "sk-abc12345" not in json.dumps(dict(event.attributes or {}))


async def test_content_parts_and_reasoning_become_genai_parts(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent = fx.Agent(model="gpt-test", name="eyes")
    said = fx.ModelReply(
        message=fx.AssistantMessage(
            content="A cat.", reasoning=fx.Reasoning(text="whiskers", raw={"reasoning": "whiskers"})
        )
    )
    loud = tracing(tracer_provider=provider, capture_content=True)
    question = fx.user(
        "What is this?",
        fx.image("https://x/cat.png"),
        fx.image("data:image/png;base64,iVBORw0KGgo="),
        fx.audio("UklGRg==", "wav"),
        fx.file(file_id="file-1"),
        fx.OtherPart(kind="video_url", extra={"video_url": {"url": "https://x/v.mp4"}}),
    )
    await loud.run(agent, loud(agent_interpreter(agent, model=sequence([said]))), question)
    chat = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat"))
    assert chat.attributes is not None
    (sent,) = json.loads(str(chat.attributes["gen_ai.input.messages"]))
    assert sent["parts"] == [
        {"type": "text", "content": "What is this?"},
        {"type": "uri", "modality": "image", "uri": "https://x/cat.png"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBORw0KGgo="},
        {"type": "blob", "modality": "audio", "mime_type": "audio/wav", "content": "UklGRg=="},
        {"type": "file", "modality": "file", "file_id": "file-1"},
        {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}},
    ]
    (received,) = json.loads(str(chat.attributes["gen_ai.output.messages"]))
    assert received["parts"][:2] == [
        {"type": "reasoning", "content": "whiskers"},
        {"type": "text", "content": "A cat."},
    ]

"""`tracing`: OpenTelemetry spans following the GenAI semantic conventions.

Two halves, configured once:

* the object returned by `tracing` is a **layer**: each ``ModelCall`` gets a
  ``chat {model}`` span (kind CLIENT) with ``gen_ai.request.model``, usage and
  finish reasons; each ``ToolCall`` an ``execute_tool {name}`` span with the tool
  name, call id and agent (each call of a ``Parallel`` batch is its own span:
  ``perform`` sends them through the stack one by one); any other effect a
  span named after its type;
* its ``run`` method wraps `interpreters.run` in an ``invoke_agent {name}`` span
  with one ``step {n}`` span per step, so the tree is run → step → calls.

Message content (prompts, replies, tool arguments and results) is *not*
recorded unless ``capture_content=True``. We depend only on the OpenTelemetry
API: with no SDK installed every span is a no-op.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar, final

import attrs
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

import tower_llm_fx as fx
from interpreters._run import check_program, drive
from interpreters._types import Interpreter
from tower_llm_fx import (
    Agent,
    AssistantMessage,
    DeveloperMessage,
    Done,
    Effect,
    Message,
    ModelCall,
    ModelReply,
    Program,
    RunEvent,
    RunState,
    SystemMessage,
    ToolCall,
    ToolMessage,
    ToolResult,
)
from tower_llm_fx.trace import scrub_text

from . import _semconv as sc

__all__ = ["Tracing", "tracing"]

R = TypeVar("R")
S = TypeVar("S")


def _data_url(url: str) -> tuple[str | None, str]:
    """(mime type, base64 content) of a ``data:`` URL."""
    head, _, content = url.partition(",")
    mime = head[len("data:") :].split(";", 1)[0] or None
    return mime, content


def _content_parts(content: str | tuple[fx.ContentPart, ...]) -> list[dict[str, Any]]:
    """Content as OpenTelemetry GenAI message parts (text, uri, blob, file, or generic)."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    out: list[dict[str, Any]] = []
    for p in content:
        if isinstance(p, fx.TextPart):
            out.append({"type": "text", "content": p.text})
        elif isinstance(p, fx.ImagePart):
            if p.url.startswith("data:"):
                mime, data = _data_url(p.url)
                out.append({"type": "blob", "modality": "image", "mime_type": mime, "content": data})
            else:
                out.append({"type": "uri", "modality": "image", "uri": p.url})
        elif isinstance(p, fx.AudioPart):
            out.append(
                {"type": "blob", "modality": "audio", "mime_type": f"audio/{p.format}", "content": p.data}
            )
        elif isinstance(p, fx.FilePart):
            if p.file_id is not None:
                out.append({"type": "file", "modality": "file", "file_id": p.file_id})
            else:
                mime, data = _data_url(p.data or "")
                out.append({"type": "blob", "modality": "file", "mime_type": mime, "content": data})
        else:
            out.append({**p.fields(), "type": p.kind})
    return out


def _parts(m: Message) -> dict[str, Any]:
    if isinstance(m, ToolMessage):
        content = m.content if isinstance(m.content, str) else fx.text_of(m.content)
        return {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": m.tool_call_id, "response": content}],
        }
    parts: list[dict[str, Any]] = []
    if isinstance(m, AssistantMessage) and m.reasoning is not None and m.reasoning.text:
        parts.append({"type": "reasoning", "content": m.reasoning.text})
    if m.content is not None:
        parts.extend(_content_parts(m.content))
    if isinstance(m, AssistantMessage):
        if m.refusal is not None:
            parts.append({"type": "refusal", "content": m.refusal})
        for c in m.tool_calls:
            parts.append({"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments})
    return {"role": m.role, "parts": parts}


def _messages_json(messages: Sequence[Message]) -> str:
    # System and developer instructions are not input messages in the GenAI conventions.
    return json.dumps(
        [_parts(m) for m in messages if not isinstance(m, (SystemMessage, DeveloperMessage))],
        ensure_ascii=False,
    )


def _request_attributes(call: ModelCall) -> dict[str, Any]:
    attributes: dict[str, Any] = {sc.OPERATION_NAME: sc.OP_CHAT, sc.REQUEST_MODEL: call.model}
    p = call.params
    optional: tuple[tuple[str, Any], ...] = (
        (sc.REQUEST_TEMPERATURE, p.temperature),
        (sc.REQUEST_TOP_P, p.top_p),
        (sc.REQUEST_MAX_TOKENS, p.max_tokens if p.max_tokens is not None else p.max_completion_tokens),
        (sc.REQUEST_SEED, p.seed),
        (sc.REQUEST_STOP_SEQUENCES, p.stop),
    )
    attributes.update({key: value for key, value in optional if value is not None})
    return attributes


def _fail(span: Span, exc: BaseException) -> None:
    span.set_attribute(sc.ERROR_TYPE, type(exc).__qualname__)
    if not span.is_recording():
        return
    # Secrets never reach a span: the message and the stack trace (chained
    # exceptions included, e.g. an httpx error quoting a URL) are scrubbed.
    stacktrace = "".join(traceback.format_exception(exc))
    span.record_exception(
        exc,
        attributes={
            "exception.message": scrub_text(str(exc)),
            "exception.stacktrace": scrub_text(stacktrace),
        },
    )
    span.set_status(Status(StatusCode.ERROR, scrub_text(f"{type(exc).__qualname__}: {exc}")))


def _cancelled(span: Span) -> None:
    span.set_attribute(sc.ERROR_TYPE, "cancelled")
    span.set_status(Status(StatusCode.ERROR, "cancelled"))


def _tool_result(span: Span, result: ToolResult, capture: bool) -> None:
    if capture:
        span.set_attribute(sc.TOOL_CALL_RESULT, result.content)
    if result.error is not None:
        span.set_attribute(sc.ERROR_TYPE, result.error.kind)
        span.set_attribute(sc.TOOL_ERROR_KIND, result.error.kind)
        span.set_status(Status(StatusCode.ERROR, f"tool error ({result.error.kind})"))


@final
@attrs.define(eq=False)
class Tracing:
    """A tracing layer (call it on an interpreter) that can also trace whole runs (`run`)."""

    tracer: Tracer
    capture_content: bool
    provider_name: str | None

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _TracingInterpreter(inner, self)

    def __repr__(self) -> str:
        return f"tracing(capture_content={self.capture_content})"

    async def run(self, program: Program[S], interpreter: Interpreter, input: object) -> S:
        """`interpreters.run` inside an ``invoke_agent`` span with a span per step.

        ``program`` is an `Agent`, a group, a session or any `Program`. Pass an
        interpreter wrapped in this same layer to get the model and tool spans
        nested under their step.
        """
        check_program(program, "tracing().run")
        name = program.name if isinstance(program, Agent) else type(program).__name__
        attributes: dict[str, Any] = {sc.OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.AGENT_NAME: name}
        if isinstance(program, Agent):
            attributes[sc.REQUEST_MODEL] = program.model
        if self.provider_name is not None:
            attributes[sc.PROVIDER_NAME] = self.provider_name
        with self.tracer.start_as_current_span(
            f"invoke_agent {name}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            steps = _StepSpans(self.tracer, program)
            finished = False
            try:
                state, done = await drive(steps, interpreter, program.start(input))
                finished = True
            except Exception as exc:
                finished = True
                steps.close(exc)
                _fail(span, exc)
                raise
            finally:
                if not finished:  # cancelled
                    steps.close(None, cancelled=True)
                    _cancelled(span)
            steps.close(None)
            final = program.finish(state, done)
            run = program.conversation(final)
            span.set_attribute(sc.USAGE_INPUT_TOKENS, run.usage.prompt_tokens)
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, run.usage.completion_tokens)
            span.set_attribute(sc.STEPS, run.steps)
            if run.stop is not None:
                span.set_attribute(sc.STOP_KIND, run.stop.kind)
                span.set_attribute(sc.STOP_DETAIL, run.stop.detail)
            return final


@final
@attrs.define(eq=False)
class _StepSpans(Generic[S]):
    """The program, with a ``step {n}`` span opened when a step starts and ended when it completes.

    The step is called by the run loop in the run's own task, so attaching the
    span to the current context here makes the model and tool spans its children
    (the calls of a ``Parallel`` batch run in child tasks, which inherit it).
    """

    tracer: Tracer
    program: Program[S]
    span: Span | None = None
    token: object = None
    started_at: int = 0

    @property
    def open(self) -> bool:
        return self.span is not None

    def start(self, input: object, /) -> S:
        return self.program.start(input)

    def step(self, state: S, /) -> Effect[Any] | Done:
        out = self.program.step(state)
        steps = self.program.conversation(state).steps
        if self.span is not None and (steps > self.started_at or isinstance(out, Done)):
            self.close(None)
        if self.span is None and isinstance(out, Effect):
            n = steps + 1
            self.span = self.tracer.start_span(f"step {n}", kind=SpanKind.INTERNAL, attributes={sc.STEP: n})
            self.token = otel_context.attach(trace.set_span_in_context(self.span))
            self.started_at = steps
        return out

    def advance(self, state: S, effect: Effect[Any], result: Any, /) -> S:
        return self.program.advance(state, effect, result)

    def finish(self, state: S, done: Done, /) -> S:
        return self.program.finish(state, done)

    def conversation(self, state: S, /) -> RunState:
        return self.program.conversation(state)

    def events(self, before: S | None, after: S, /) -> Iterable[RunEvent]:
        return self.program.events(before, after)

    def close(self, exc: BaseException | None, *, cancelled: bool = False) -> None:
        span, token = self.span, self.token
        if span is None:
            return
        self.span, self.token = None, None
        otel_context.detach(token)  # type: ignore[arg-type]
        if exc is not None:
            _fail(span, exc)
        elif cancelled:
            _cancelled(span)
        span.end()


@final
@attrs.frozen
class _TracingInterpreter:
    inner: Interpreter
    layer: Tracing

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"

    async def __call__(self, effect: Effect[R], /) -> R:
        name, kind, attributes = self._describe(effect)
        layer = self.layer
        with layer.tracer.start_as_current_span(
            name, kind=kind, attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            finished = False
            try:
                result = await self.inner(effect)
                finished = True
            except Exception as exc:
                finished = True
                _fail(span, exc)
                raise
            finally:
                if not finished:
                    _cancelled(span)
            self._record(span, effect, result)
            return result

    def _describe(self, effect: Effect[Any]) -> tuple[str, SpanKind, dict[str, Any]]:
        layer = self.layer
        if isinstance(effect, ModelCall):
            attributes = _request_attributes(effect)
            if layer.provider_name is not None:
                attributes[sc.PROVIDER_NAME] = layer.provider_name
            if layer.capture_content:
                attributes[sc.INPUT_MESSAGES] = _messages_json(effect.messages)
            return f"{sc.OP_CHAT} {effect.model}", SpanKind.CLIENT, attributes
        if isinstance(effect, ToolCall):
            attributes = {
                sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
                sc.TOOL_NAME: effect.name,
                sc.TOOL_CALL_ID: effect.id,
                sc.TOOL_TYPE: "function",
            }
            if effect.agent is not None:
                attributes[sc.AGENT_NAME] = effect.agent
            if layer.capture_content:
                attributes[sc.TOOL_CALL_ARGUMENTS] = effect.arguments
            return f"{sc.OP_EXECUTE_TOOL} {effect.name}", SpanKind.INTERNAL, attributes
        name = type(effect).__name__
        return name, SpanKind.INTERNAL, {sc.EFFECT_TYPE: name}

    def _record(self, span: Span, effect: Effect[Any], result: object) -> None:
        capture = self.layer.capture_content
        if isinstance(result, ModelReply):
            if result.model is not None:
                span.set_attribute(sc.RESPONSE_MODEL, result.model)
            if result.id is not None:
                span.set_attribute(sc.RESPONSE_ID, result.id)
            span.set_attribute(sc.RESPONSE_FINISH_REASONS, (result.finish_reason,))
            span.set_attribute(sc.USAGE_INPUT_TOKENS, result.usage.prompt_tokens)
            span.set_attribute(sc.USAGE_OUTPUT_TOKENS, result.usage.completion_tokens)
            if capture:
                span.set_attribute(sc.OUTPUT_MESSAGES, _messages_json((result.message,)))
        elif isinstance(result, ToolResult):
            _tool_result(span, result, capture)


def tracing(
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool = False,
    provider_name: str | None = None,
) -> Tracing:
    """A tracing layer (and run wrapper) emitting GenAI-convention OpenTelemetry spans.

    Args:
        tracer_provider: where spans go (default: the global provider, a no-op
            until an SDK is configured).
        capture_content: also record prompts, replies, tool arguments and results
            (off by default: they may hold personal data).
        provider_name: ``gen_ai.provider.name``, e.g. ``"openai"``.

    Put it outermost (``stack(tracing(), retry(), timeout(...))``) so a model
    call's span covers all of its retries, as the conventions ask.

    >>> tracing()
    tracing(capture_content=False)
    """
    tracer = trace.get_tracer("tower_llm_fx", fx.__version__, tracer_provider=tracer_provider)
    return Tracing(tracer=tracer, capture_content=bool(capture_content), provider_name=provider_name)

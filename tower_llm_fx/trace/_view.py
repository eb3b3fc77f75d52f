"""Reading traces: one-line summaries, statistics, and where a recorded run started.

Pure helpers for the replayer's reports, the command line and notebooks.
Summaries scrub secrets (`scrub_text`), so they are safe in logs and errors.
"""

from __future__ import annotations

from typing import Any, final

import attrs

from tower_llm_fx._content import transcript_text
from tower_llm_fx._effects import Effect, ModelCall, Parallel, ToolCall
from tower_llm_fx._messages import (
    AssistantMessage,
    DeveloperMessage,
    Message,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from tower_llm_fx._results import ModelReply, ToolResult

from ._model import Trace
from ._redact import scrub_text

__all__ = ["TraceStats", "describe_effect", "describe_result", "start_messages", "trace_stats"]


def start_messages(trace: Trace, instructions: str | None) -> tuple[Message, ...]:
    """The conversation a recorded agent run started from, read off its first ``ModelCall``.

    The agent put ``instructions`` (if any) in front as a system message; that
    message is dropped, whatever its text, so a changed prompt shows up as a
    replay difference rather than a doubled system message.

    Raises:
        ValueError: the trace does not start with a ``ModelCall`` (a resumed
            run); pass the start state explicitly.
    """
    if not trace.exchanges or not isinstance(trace.exchanges[0].effect, ModelCall):
        first = type(trace.exchanges[0].effect).__name__ if trace.exchanges else "nothing"
        raise ValueError(
            f"the trace starts with {first}, not a ModelCall, so its start state cannot be read off "
            "it; pass the input explicitly (input=... / --input)"
        )
    messages = trace.exchanges[0].effect.messages
    if instructions is not None and messages and isinstance(messages[0], SystemMessage):
        return messages[1:]
    return messages


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _call_text(name: str, arguments: str, width: int = 60) -> str:
    return f"{name}({_clip(arguments, width)})"


def _message_text(m: Message, width: int = 60) -> str:
    if isinstance(m, AssistantMessage):
        parts = [_call_text(c.name, c.arguments, 40) for c in m.tool_calls]
        if m.content is not None:
            parts.insert(0, repr(_clip(transcript_text(m.content), width)))
        if m.refusal is not None:
            parts.append(f"refusal {_clip(m.refusal, width)!r}")
        return "assistant: " + (", ".join(parts) or "(empty)")
    if isinstance(m, ToolMessage):
        return f"tool [{m.tool_call_id}]: {_clip(transcript_text(m.content), width)!r}"
    if isinstance(m, (SystemMessage, DeveloperMessage, UserMessage)):
        return f"{m.role}: {_clip(transcript_text(m.content), width)!r}"
    return repr(m)  # pragma: no cover - Message is a closed union


def describe_effect(effect: Effect[Any], width: int = 160) -> str:
    """A one-line summary of an effect, secrets scrubbed (for logs, reports, transcripts).

    >>> from tower_llm_fx import ToolCall
    >>> describe_effect(ToolCall(id="c1", name="add", arguments='{"a": 1}'))
    'ToolCall add({"a": 1}) [c1]'
    """
    if isinstance(effect, ModelCall):
        last = _message_text(effect.messages[-1]) if effect.messages else "no messages"
        text = (
            f"ModelCall {effect.model!r}, {len(effect.messages)} message(s), {len(effect.tools)} tool(s); "
            f"last {last}"
        )
    elif isinstance(effect, ToolCall):
        text = f"ToolCall {_call_text(effect.name, effect.arguments)} [{effect.id}]"
    elif isinstance(effect, Parallel):
        calls = ", ".join(f"{_call_text(c.name, c.arguments, 30)} [{c.id}]" for c in effect.calls)
        text = f"Parallel of {len(effect.calls)}: {calls}"
    else:
        text = repr(effect)
    return scrub_text(_clip(text, width))


def describe_result(result: object, width: int = 160) -> str:
    """A one-line summary of a result, secrets scrubbed.

    >>> from tower_llm_fx import ToolResult
    >>> describe_result(ToolResult.success(call_id="c1", name="add", content="3"))
    "ToolResult [c1] '3'"
    """
    if isinstance(result, ModelReply):
        u = result.usage
        text = f"ModelReply {_message_text(result.message)} ({u.prompt_tokens}+{u.completion_tokens} tokens)"
    elif isinstance(result, ToolResult):
        text = f"ToolResult [{result.call_id}] {_clip(result.content, 60)!r}"
    elif isinstance(result, tuple) and all(isinstance(r, ToolResult) for r in result):
        text = "(" + ", ".join(f"[{r.call_id}] {_clip(r.content, 30)!r}" for r in result) + ")"
    else:
        text = repr(result)
    return scrub_text(_clip(text, width))


@final
@attrs.frozen(kw_only=True)
class TraceStats:
    """Counts over one or more traces; add them up with ``+``.

    >>> TraceStats(traces=1, model_calls=2) + TraceStats(traces=1, model_calls=1)
    TraceStats(traces=2, exchanges=0, model_calls=3, tool_calls=0, tool_errors=0, prompt_tokens=0, completion_tokens=0, tools=(), models=())
    """

    traces: int = 0
    exchanges: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tools: tuple[tuple[str, int], ...] = ()
    """Calls per tool name, sorted by name."""
    models: tuple[tuple[str, int], ...] = ()
    """Model calls per model name, sorted by name."""

    def __add__(self, other: TraceStats) -> TraceStats:
        return TraceStats(
            traces=self.traces + other.traces,
            exchanges=self.exchanges + other.exchanges,
            model_calls=self.model_calls + other.model_calls,
            tool_calls=self.tool_calls + other.tool_calls,
            tool_errors=self.tool_errors + other.tool_errors,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            tools=_merge(self.tools, other.tools),
            models=_merge(self.models, other.models),
        )


def _merge(a: tuple[tuple[str, int], ...], b: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    counts = dict(a)
    for k, n in b:
        counts[k] = counts.get(k, 0) + n
    return tuple(sorted(counts.items()))


def trace_stats(trace: Trace) -> TraceStats:
    """Count model calls, tool calls (per tool), tool errors and tokens in ``trace``."""
    tools: dict[str, int] = {}
    models: dict[str, int] = {}
    model_calls = tool_calls = tool_errors = prompt = completion = 0
    for ex in trace.exchanges:
        effect, result = ex.effect, ex.result
        if isinstance(effect, ModelCall):
            model_calls += 1
            models[effect.model] = models.get(effect.model, 0) + 1
            prompt += result.usage.prompt_tokens
            completion += result.usage.completion_tokens
        elif isinstance(effect, (ToolCall, Parallel)):
            calls = (effect,) if isinstance(effect, ToolCall) else effect.calls
            results = (result,) if isinstance(effect, ToolCall) else result
            for call, r in zip(calls, results, strict=True):
                tool_calls += 1
                tools[call.name] = tools.get(call.name, 0) + 1
                tool_errors += r.is_error
    return TraceStats(
        traces=1,
        exchanges=len(trace.exchanges),
        model_calls=model_calls,
        tool_calls=tool_calls,
        tool_errors=tool_errors,
        prompt_tokens=prompt,
        completion_tokens=completion,
        tools=tuple(sorted(tools.items())),
        models=tuple(sorted(models.items())),
    )

"""Strategies for effects, results, run states and items, and traces.

Part of `tower_llm_fx.strategies` (which imports hypothesis); import that, not this.
"""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import strategies as st

from tower_llm_fx._effects import Effect, JoinPolicy, ModelCall, ModelParams, Parallel, StopReason, ToolCall
from tower_llm_fx._items import HandoffItem, MessageItem, RunItem, ToolCallItem, ToolOutputItem
from tower_llm_fx._messages import AssistantMessage, ToolMessage
from tower_llm_fx._results import TOOL_ERROR_KINDS, ModelReply, ToolResult, Usage
from tower_llm_fx._state import RunState
from tower_llm_fx.trace import Exchange, Trace, TraceMeta
from tower_llm_fx.validation import ValidationPolicy

from ._conversations import DEFAULT_POLICY, conversations
from ._messages import (
    ANY_TEXT,
    CALL_EXTRAS,
    CALL_IDS,
    MESSAGE_EXTRAS,
    NAMES,
    ROLE_PART_TYPES,
    SAFE_TEXT,
    TOOL_NAMES,
    assistant_messages,
    content_parts,
    contents,
    json_objects,
    messages,
    reasonings,
)
from ._tools import DEFAULT_TOOLS, tool_specs

__all__ = [
    "effects",
    "exchanges",
    "model_calls",
    "model_params",
    "model_replies",
    "parallels",
    "results",
    "run_items",
    "run_states",
    "stop_reasons",
    "tool_calls",
    "tool_results",
    "traces",
    "usages",
]


def model_params() -> st.SearchStrategy[ModelParams]:
    """`ModelParams` with a few knobs set, in the ranges the API accepts."""
    return st.builds(
        ModelParams,
        temperature=st.none() | st.floats(0, 2),
        top_p=st.none() | st.floats(0, 1),
        max_tokens=st.none() | st.integers(1, 4096),
        seed=st.none() | st.integers(0, 2**31),
        stop=st.none() | st.lists(SAFE_TEXT, min_size=1, max_size=4),
        response_format=st.none() | st.just({"type": "json_object"}),
        reasoning_effort=st.sampled_from([None, None, None, "low", "medium", "high"]),
    )


# Tools the provider runs itself (web search, ...), sent next to the function tools: mostly none.
_PROVIDER_TOOLS: st.SearchStrategy[tuple[dict[str, Any], ...]] = st.sampled_from(
    [
        *[()] * 5,
        ({"type": "web_search", "search_context_size": "low"},),
        ({"type": "openrouter:web_search"}, {"type": "x_code_interpreter", "container": {"type": "auto"}}),
    ]
)


@st.composite
def model_calls(
    draw: st.DrawFn, *, policy: ValidationPolicy = DEFAULT_POLICY, model: str | None = None
) -> ModelCall:
    """A `ModelCall` whose conversation is valid under ``policy``; sometimes with a
    ``tool_choice`` (a mode, or one of its tools by name) and provider tools (a web
    search the provider runs itself). `validate_model_call` accepts every one."""
    specs = tuple({s.name: s for s in draw(st.lists(tool_specs(), max_size=3))}.values()) or DEFAULT_TOOLS
    params = draw(model_params())
    choice: Any = draw(_TOOL_CHOICES)
    if choice == "function":
        choice = {"type": "function", "function": {"name": draw(st.sampled_from(specs)).name}}
    if choice is not None:
        params = attrs.evolve(params, tool_choice=choice)
    return ModelCall(
        model=model if model is not None else draw(st.sampled_from(["gpt-4o-mini", "gpt-4.1", "local-llm"])),
        messages=draw(conversations(policy=policy, tools=specs)),
        tools=specs,
        params=params,
        provider_tools=draw(_PROVIDER_TOOLS),
    )


_TOOL_CHOICES: st.SearchStrategy[str | None] = st.sampled_from(
    [None, None, None, None, None, None, "auto", "none", "required", "any", "function"]
)


def tool_calls(agent: st.SearchStrategy[str | None] | None = None) -> st.SearchStrategy[ToolCall]:
    """A `ToolCall` effect (arguments: JSON objects, or any text) of an agent (default: a name or ``None``)."""
    return st.builds(
        ToolCall,
        id=CALL_IDS,
        name=TOOL_NAMES,
        arguments=st.one_of(json_objects(), ANY_TEXT),
        agent=agent if agent is not None else st.none() | NAMES,
    )


@st.composite
def parallels(draw: st.DrawFn) -> Parallel:
    """A `Parallel` batch of tool calls of one agent, with distinct ids."""
    agent = draw(st.none() | NAMES)
    calls = draw(st.lists(tool_calls(st.just(agent)), min_size=1, max_size=5, unique_by=lambda c: c.id))
    return Parallel(
        calls=tuple(calls),
        join=draw(st.sampled_from(JoinPolicy)),
        limit=draw(st.none() | st.integers(1, 4)),
        agent=agent,
    )


def effects() -> st.SearchStrategy[Effect[Any]]:
    """Any effect an agent step emits: `ModelCall`, `ToolCall` or `Parallel`."""
    return st.one_of(model_calls(), tool_calls(), parallels())


_COUNTS = st.integers(0, 10**6)
_DETAIL_COUNTS = st.none() | st.integers(0, 10**4)
_USAGE_EXTRAS: st.SearchStrategy[Any] = st.sampled_from(
    [None, None, None, {"queue_time": 0.01}, {"x_cost": {"usd": 0.002}}]
)


@st.composite
def _detailed_usages(draw: st.DrawFn, extras: bool) -> Usage:
    prompt, completion = draw(_COUNTS), draw(_COUNTS)
    # A provider's total_tokens, when it differs from the sum (thought tokens, ...).
    reported = prompt + completion + draw(st.integers(1, 1000)) if draw(st.booleans()) else None
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        reported_total_tokens=reported,
        cached_tokens=draw(_DETAIL_COUNTS),
        reasoning_tokens=draw(_DETAIL_COUNTS),
        prompt_audio_tokens=draw(_DETAIL_COUNTS),
        completion_audio_tokens=draw(_DETAIL_COUNTS),
        extra=draw(_USAGE_EXTRAS) if extras else None,
    )


def usages(*, details: bool = True, extras: bool = True) -> st.SearchStrategy[Usage]:
    """Token usage: the two counts, and one time in four (unless ``details=False``)
    the details providers report (a total that differs from the sum, cached,
    reasoning and audio tokens) and, unless ``extras=False``, other usage keys."""
    plain = st.builds(Usage, prompt_tokens=_COUNTS, completion_tokens=_COUNTS)
    if not details:
        return plain
    return st.one_of(plain, plain, plain, _detailed_usages(extras))


_REPLY_EXTRAS: st.SearchStrategy[Any] = st.sampled_from(
    [None, None, None, {"system_fingerprint": "fp_1", "service_tier": "default"}, {"x_provider": "p"}]
)
_CHOICE_EXTRAS: st.SearchStrategy[Any] = st.sampled_from(
    [None, None, None, {"x_seq": 1}, {"x_native": "STOP"}]
)


def model_replies(
    messages: st.SearchStrategy[AssistantMessage] | None = None, *, extras: bool = True
) -> st.SearchStrategy[ModelReply]:
    """A `ModelReply` (default message: `assistant_messages`); sometimes with body
    and choice keys in ``extra`` / ``choice_extra`` (unless ``extras=False``)."""
    return st.builds(
        ModelReply,
        message=messages if messages is not None else assistant_messages(),
        usage=usages(extras=extras),
        finish_reason=st.sampled_from(["stop", "tool_calls", "length", "content_filter"]),
        model=st.none() | st.just("gpt-4o-mini"),
        id=st.none() | st.from_regex(r"chatcmpl-[a-z0-9]{6}", fullmatch=True),
        extra=_REPLY_EXTRAS if extras else st.none(),
        choice_extra=_CHOICE_EXTRAS if extras else st.none(),
    )


def tool_results() -> st.SearchStrategy[ToolResult]:
    """A `ToolResult`: a success or one of each error kind."""
    kinds = st.sampled_from(TOOL_ERROR_KINDS)
    return st.one_of(
        st.builds(ToolResult.success, call_id=CALL_IDS, name=TOOL_NAMES, content=ANY_TEXT),
        st.builds(ToolResult.failure, call_id=CALL_IDS, name=TOOL_NAMES, kind=kinds, message=ANY_TEXT),
    )


def results() -> st.SearchStrategy[Any]:
    """Any result an interpreter returns for an agent effect."""
    return st.one_of(model_replies(), tool_results(), st.lists(tool_results(), max_size=4).map(tuple))


def stop_reasons() -> st.SearchStrategy[StopReason]:
    """A `StopReason` of one of the stock kinds."""
    return st.builds(
        StopReason,
        kind=st.sampled_from(["no_tool_calls", "max_steps", "tool_called", "budget_exceeded", "custom"]),
        detail=SAFE_TEXT,
    )


@st.composite
def run_states(draw: st.DrawFn, *, finished: bool | None = None) -> RunState:
    """A `RunState` whose messages are a valid conversation, possibly mid-step
    (ending with tool calls still waiting for results).

    ``finished`` forces a stop reason on (``True``) or off (``False``).
    """
    policy = ValidationPolicy(allow_pending_tool_calls=True)
    msgs = draw(conversations(policy=policy))
    calls = sum(1 for m in msgs if type(m) is AssistantMessage)
    tools = sum(1 for m in msgs if type(m) is ToolMessage)
    done = draw(st.booleans()) if finished is None else finished
    return RunState(
        messages=msgs,
        steps=draw(st.integers(0, calls)),
        usage=draw(usages()),
        model_calls=calls,
        tool_invocations=tools,
        stop=draw(stop_reasons()) if done else None,
    )


def run_items() -> st.SearchStrategy[tuple[RunItem, ...]]:
    """Any sequence of run items, canonical or not (see ``tower_llm_fx.items_are_canonical``)."""
    text_parts = content_parts(types=ROLE_PART_TYPES["system"])
    item = st.one_of(
        st.builds(
            MessageItem,
            role=st.sampled_from(["system", "developer"]),
            content=contents(parts=text_parts),
            extra=MESSAGE_EXTRAS,
        ),
        st.builds(
            MessageItem,
            role=st.just("user"),
            content=contents(),
            name=st.none() | NAMES,
            extra=MESSAGE_EXTRAS,
        ),
        st.builds(
            MessageItem,
            role=st.just("assistant"),
            content=st.none() | contents(parts=text_parts),
            name=st.none() | NAMES,
            refusal=st.none() | ANY_TEXT,
            reasoning=st.none() | st.none() | reasonings(),
            extra=MESSAGE_EXTRAS,
        ),
        st.builds(ToolCallItem, id=CALL_IDS, name=TOOL_NAMES, arguments=ANY_TEXT, extra=CALL_EXTRAS),
        st.builds(
            ToolOutputItem,
            tool_call_id=CALL_IDS,
            output=contents(parts=text_parts),
            error=st.none() | ANY_TEXT,
            extra=MESSAGE_EXTRAS,
        ),
        st.builds(HandoffItem, from_agent=NAMES, to_agent=NAMES, reason=st.none() | ANY_TEXT),
    )
    return st.lists(item, max_size=12).map(tuple)


def _result_for(effect: Effect[Any]) -> st.SearchStrategy[Any]:
    """Results that can answer ``effect`` (tool results carry the call's id and name)."""
    if isinstance(effect, ModelCall):
        return model_replies()
    if isinstance(effect, ToolCall):
        return tool_results().map(lambda r: attrs.evolve(r, call_id=effect.id, name=effect.name))
    assert isinstance(effect, Parallel)
    return st.tuples(*(_result_for(c) for c in effect.calls))


@st.composite
def exchanges(draw: st.DrawFn, *, effect: st.SearchStrategy[Effect[Any]] | None = None) -> Exchange:
    """An `Exchange`: an effect (drawn from ``effect``, default `effects`) and a result that answers it."""
    drawn = draw(effect if effect is not None else effects())
    return Exchange(effect=drawn, result=draw(_result_for(drawn)))


@st.composite
def traces(draw: st.DrawFn, *, max_exchanges: int = 6, batches: bool = False) -> Trace:
    """A `Trace` with a random header and up to ``max_exchanges`` exchanges.

    Like a real run, a model call often extends the previous one (same tools
    and parameters, the same conversation plus new messages), which is what
    the file format's references to the previous call encode. Recorders write
    each call of a ``Parallel`` batch as its own exchange; ``batches=True``
    also draws one-exchange batches, as traces written before that hold.
    """
    meta = TraceMeta(
        library_version=draw(st.sampled_from(["0.1.0", "1.2.3"])),
        created_at=draw(st.none() | st.just("2025-01-01T12:00:00.000+00:00")),
        agent=draw(st.none() | NAMES),
        model=draw(st.none() | st.sampled_from(["gpt-4o-mini", "local-llm"])),
        tags=draw(st.dictionaries(NAMES, SAFE_TEXT, max_size=3)),
    )
    items: list[Exchange] = []
    previous: ModelCall | None = None
    for _ in range(draw(st.integers(0, max_exchanges))):
        if previous is not None and draw(st.booleans()):
            more = draw(st.lists(messages(), max_size=3))
            effect: Effect[Any] = attrs.evolve(previous, messages=(*previous.messages, *more))
        else:
            effect = draw(effects() if batches else st.one_of(model_calls(), tool_calls()))
        items.append(draw(exchanges(effect=st.just(effect))))
        if isinstance(effect, ModelCall):
            previous = effect
    return Trace(meta=meta, exchanges=tuple(items))

"""Hypothesis strategies for tower_llm_fx values, and mutators for property tests.

Importing this module imports hypothesis (``import tower_llm_fx`` never does).
Every function here returns a strategy, except the re-exported pure
mutator API (`mutate`, `Mutation`, `MUTABLE_KINDS`, `checked_kinds`).

The two properties this module exists for::

    from hypothesis import given
    import tower_llm_fx as fx
    from tower_llm_fx import strategies as fxst

    @given(fxst.conversations())
    def test_generated_conversations_are_valid(messages):
        assert fx.validate_conversation(messages) == ()

    @given(fxst.mutations())
    def test_each_mutation_breaks_exactly_one_rule(m):
        assert fx.validate_conversation(m.messages) == (m.violation,)

`conversations` draws conversations that are valid under the policy you pass
and *use what it permits* (out-of-order tool results when order is not
enforced, repeated roles when allowed, ...). `mutations` breaks one rule of
such a conversation and says which. `model_scripts` draws misbehaving model
replies (tool-call storms, duplicate and empty ids, unknown tools, malformed
arguments, empty replies, refusals) to fuzz an agent loop through the
scripted interpreters.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import assume
from hypothesis import strategies as st

from ._effects import Effect, JoinPolicy, ModelCall, ModelParams, Parallel, StopReason, ToolCall
from ._items import HandoffItem, MessageItem, RunItem, ToolCallItem, ToolOutputItem
from ._messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from ._mutations import MUTABLE_KINDS, Mutation, checked_kinds, mutate
from ._results import ModelReply, ToolResult, Usage
from ._state import RunState
from ._tools import ToolSpec
from ._trace import Exchange, Trace, TraceMeta
from ._validation import ValidationPolicy, ViolationKind

__all__ = [
    "MUTABLE_KINDS",
    "Mutation",
    "arguments_for",
    "assistant_messages",
    "checked_kinds",
    "conversations",
    "effects",
    "exchanges",
    "messages",
    "model_calls",
    "model_params",
    "model_replies",
    "model_scripts",
    "mutate",
    "mutations",
    "parallels",
    "results",
    "run_items",
    "run_states",
    "stop_reasons",
    "system_messages",
    "tool_call_requests",
    "tool_calls",
    "tool_messages",
    "tool_results",
    "tool_specs",
    "traces",
    "usages",
    "user_messages",
    "validation_policies",
]

_DEFAULT_POLICY = ValidationPolicy()

# --------------------------------------------------------------------------- building blocks

# Content rarely matters to the rules; one draw per text keeps generation fast.
_SAFE_TEXT = st.sampled_from(
    [
        "hi",
        "What is 2 + 3?",
        "Let me check.",
        "The answer is 5.",
        "Search the web for Paris weather",
        "ok",
        "Zoë's café: 12 °C ☀",
        "line one\nline two",
        '{"looks": "like json"}',
        "   padded   ",
        "Thanks!",
        "请用中文回答",
    ]
)
_ANY_TEXT = st.text(max_size=24)
_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True)
_TOOL_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
_CALL_IDS = st.from_regex(r"call_[A-Za-z0-9]{1,12}", fullmatch=True)

_ADD = ToolSpec(
    name="add",
    description="Add two integers.",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
_SEARCH = ToolSpec(
    name="search",
    description="Search the web.",
    parameters={
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}},
        "required": ["query"],
    },
)
_NOW = ToolSpec(name="get_time", description="The current time.")
_TOOLS = (_ADD, _SEARCH, _NOW)


# Strategies are built once and reused: building (and validating) a strategy
# object costs more than drawing from it, and these are drawn from thousands of
# times per conversation.
# Hypothesis shrinks integers and floats towards 0, so the *unusual* outcome is
# the high one: a minimal failing example then has no extras it does not need.
_MAYBE = st.integers(0, 9)  # draw(_MAYBE) >= 9: rarely; >= 8: sometimes
_UNIT = st.floats(0, 1, exclude_max=True)
_BOOLS = st.booleans()
_ID_PREFIXES = st.sampled_from(["", "a", "xY", "Q"])  # letters only: no collisions with the number
_OPTIONAL_NAMES = st.none() | _NAMES
_BROKEN_ARGUMENTS = st.sampled_from(['{"a": ', "{", "not json", '{"query": "x"'])
_INTS: dict[tuple[int, int], st.SearchStrategy[int]] = {}


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    strategy = _INTS.get((low, high))
    if strategy is None:
        strategy = _INTS[(low, high)] = st.integers(low, high)
    return strategy


@functools.lru_cache(maxsize=64)
def _text(policy: ValidationPolicy) -> st.SearchStrategy[str]:
    """Content text valid under ``policy`` (empty only when it is allowed)."""
    text = _SAFE_TEXT
    if policy.allow_empty_content:
        text = st.one_of(text, st.just(""))
    limit = policy.max_content_length
    if limit is not None and limit < 64:
        text = text.map(lambda s: s[:limit])
        if not policy.allow_empty_content:
            text = text.filter(bool)
    return text


# --------------------------------------------------------------------------- messages


def system_messages(content: st.SearchStrategy[str] = _ANY_TEXT) -> st.SearchStrategy[SystemMessage]:
    """Any `SystemMessage`."""
    return st.builds(SystemMessage, content=content)


def user_messages(content: st.SearchStrategy[str] = _ANY_TEXT) -> st.SearchStrategy[UserMessage]:
    """Any `UserMessage`, sometimes with a ``name``."""
    return st.builds(UserMessage, content=content, name=st.none() | _NAMES)


def tool_call_requests(
    *,
    ids: st.SearchStrategy[str] = _CALL_IDS,
    names: st.SearchStrategy[str] = _TOOL_NAMES,
    arguments: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[ToolCallRequest]:
    """Any `ToolCallRequest`; arguments are JSON objects, or any text half the time."""
    args = arguments if arguments is not None else st.one_of(_json_objects(), _ANY_TEXT)
    return st.builds(ToolCallRequest, id=ids, name=names, arguments=args)


def assistant_messages(
    content: st.SearchStrategy[str] = _ANY_TEXT, *, max_tool_calls: int = 3
) -> st.SearchStrategy[AssistantMessage]:
    """Any `AssistantMessage`: text, tool calls, refusals, or none of them."""
    return st.builds(
        AssistantMessage,
        content=st.none() | content,
        tool_calls=st.lists(tool_call_requests(), max_size=max_tool_calls).map(tuple),
        refusal=st.none() | content,
        name=st.none() | _NAMES,
    )


def tool_messages(
    content: st.SearchStrategy[str] = _ANY_TEXT, *, ids: st.SearchStrategy[str] = _CALL_IDS
) -> st.SearchStrategy[ToolMessage]:
    """Any `ToolMessage`."""
    return st.builds(ToolMessage, tool_call_id=ids, content=content)


def messages() -> st.SearchStrategy[Message]:
    """Any single message. Sequences of these are mostly *invalid* conversations:
    use them to check that code handles anything; use `conversations` for valid ones."""
    return st.one_of(system_messages(), user_messages(), assistant_messages(), tool_messages())


# --------------------------------------------------------------------------- tools


def _json_scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6), _SAFE_TEXT)


def _json_objects() -> st.SearchStrategy[str]:
    return st.dictionaries(_TOOL_NAMES, _json_scalars(), max_size=3).map(json.dumps)


_SCALAR_SCHEMAS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "integer"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "string", "enum": ["celsius", "fahrenheit"]},
        {"type": "array", "items": {"type": "string"}},
        {"type": "integer", "minimum": 0, "maximum": 100},
    ]
)


@st.composite
def _object_schemas(draw: st.DrawFn) -> dict[str, Any]:
    properties = draw(st.dictionaries(_TOOL_NAMES, _SCALAR_SCHEMAS, max_size=4))
    required = [k for k in properties if draw(st.booleans())]
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if draw(st.booleans()):
        schema["additionalProperties"] = False
    return schema


def tool_specs(*, names: st.SearchStrategy[str] = _TOOL_NAMES) -> st.SearchStrategy[ToolSpec]:
    """A `ToolSpec` with a flat object schema (scalars, enums, arrays of strings).

    `arguments_for` draws arguments valid against any of these.
    """
    return st.builds(
        ToolSpec,
        name=names,
        description=_SAFE_TEXT,
        parameters=_object_schemas(),
        strict=st.booleans(),
    )


def _value_for(schema: Any) -> st.SearchStrategy[Any]:
    if not isinstance(schema, dict):
        return st.just(None)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return _value_for(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind == "string":
        return _SAFE_TEXT
    if kind == "integer":
        return st.integers(schema.get("minimum", -1000), schema.get("maximum", 1000))
    if kind == "number":
        return st.floats(schema.get("minimum", -1000.0), schema.get("maximum", 1000.0))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        prefix = schema.get("prefixItems")
        if prefix:
            return st.tuples(*(_value_for(s) for s in prefix)).map(list)
        return st.lists(_value_for(schema.get("items", {"type": "string"})), max_size=3)
    if kind == "object" or "properties" in schema:
        return _object_value(schema)
    return st.just(None)


@st.composite
def _object_value(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    out: dict[str, Any] = {}
    for key, sub in properties.items():
        if key in required or draw(st.booleans()):
            out[key] = draw(_value_for(sub))
    return out


@functools.lru_cache(maxsize=256)
def arguments_for(spec: ToolSpec) -> st.SearchStrategy[str]:
    """JSON argument text valid against ``spec``'s schema.

    Supports the schemas `tool_specs` draws and those ``@tool`` derives (scalars,
    enums, ``anyOf``, arrays, tuples, nested objects). For other schemas the
    values may not validate.
    """
    return _object_value(spec.schema()).map(json.dumps)


# --------------------------------------------------------------------------- conversations


def validation_policies() -> st.SearchStrategy[ValidationPolicy]:
    """Any `ValidationPolicy` (limits at their defaults or off)."""
    flags = {
        f: st.booleans()
        for f in (
            "allow_system_anywhere",
            "require_user_first",
            "allow_repeated_roles",
            "require_user_present",
            "enforce_tool_response_order",
            "enforce_contiguous_tool_responses",
            "allow_unknown_tool_response",
            "allow_duplicate_tool_response",
            "allow_dangling_tool_calls",
            "allow_pending_tool_calls",
            "allow_reused_tool_call_ids",
            "allow_empty_content",
            "check_names",
            "check_tool_arguments",
            "check_tool_schemas",
        )
    }
    return st.builds(
        ValidationPolicy,
        max_content_length=st.sampled_from([None, 10_485_760]),
        max_tool_call_id_length=st.sampled_from([None, 40]),
        **flags,
    )


class _Ids:
    """Tool call ids: unique in the conversation, or restarting each turn when reuse is allowed."""

    def __init__(self, draw: st.DrawFn, reuse: bool) -> None:
        self.draw = draw
        self.reuse = reuse
        self.n = 0

    def new_turn(self) -> None:
        if self.reuse:
            self.n = 0

    def next(self) -> str:
        prefix = self.draw(_ID_PREFIXES)
        self.n += 1
        return f"call_{prefix}{self.n}"


def conversations(
    *,
    policy: ValidationPolicy = _DEFAULT_POLICY,
    tools: Sequence[ToolSpec] | None = None,
    min_turns: int = 1,
    max_turns: int = 4,
    system: bool | None = None,
    tool_call_density: float = 0.5,
    max_parallel_calls: int = 3,
    max_tool_rounds: int = 3,
) -> st.SearchStrategy[tuple[Message, ...]]:
    """A conversation valid under ``policy`` (with ``tools``), using what it permits.

    A conversation is an optional system prompt, then ``min_turns`` to
    ``max_turns`` turns: a user message, up to ``max_tool_rounds`` rounds of an
    assistant message calling 1 to ``max_parallel_calls`` tools (each round
    happens with probability ``tool_call_density``) answered by tool messages,
    then an assistant reply. Where the policy allows it, turns also get
    repeated messages, mid-conversation system messages, an assistant
    greeting first, shuffled, duplicated, unknown or missing tool results,
    user messages among tool results, empty content, malformed arguments,
    reused ids, and unanswered calls at the end.

    Arguments: ``system`` forces the system prompt on or off (``None``:
    either). ``tools`` (default: ``add``, ``search``, ``get_time``) are the
    tools the calls use; their arguments come from `arguments_for`.
    """
    if not 0 <= min_turns <= max_turns:
        raise ValueError(f"need 0 <= min_turns <= max_turns, got {min_turns} and {max_turns}")
    if not 0.0 <= tool_call_density <= 1.0:
        raise ValueError(f"tool_call_density is a probability, got {tool_call_density}")
    if max_parallel_calls < 1 or max_tool_rounds < 0:
        raise ValueError("max_parallel_calls must be at least 1 and max_tool_rounds at least 0")
    if not isinstance(policy, ValidationPolicy):
        raise TypeError(f"policy must be a ValidationPolicy, got {policy!r}")
    specs = tuple(tools) if tools else _TOOLS
    return _conversations(
        policy, specs, min_turns, max_turns, system, tool_call_density, max_parallel_calls, max_tool_rounds
    )


@st.composite
def _conversations(
    draw: st.DrawFn,
    p: ValidationPolicy,
    specs: tuple[ToolSpec, ...],
    min_turns: int,
    max_turns: int,
    system: bool | None,
    tool_call_density: float,
    max_parallel_calls: int,
    max_tool_rounds: int,
) -> tuple[Message, ...]:
    text = _text(p)
    maybe = _MAYBE

    out: list[Message] = []

    def add(m: Message) -> bool:
        if not p.allow_repeated_roles and out and out[-1].role == m.role and m.role != "tool":
            return False
        out.append(m)
        return True

    ids = _Ids(draw, reuse=p.allow_reused_tool_call_ids and draw(_BOOLS))
    if system if system is not None else draw(_BOOLS):
        add(SystemMessage(content=draw(text)))
    if not p.require_user_first and draw(maybe) >= 9:
        add(AssistantMessage(content=draw(_SAFE_TEXT)))
    turns = draw(_ints(min_turns, max_turns))
    for turn in range(turns):
        last_turn = turn == turns - 1
        ids.new_turn()
        if turn and p.allow_system_anywhere and draw(maybe) >= 9:
            add(SystemMessage(content=draw(text)))
        add(UserMessage(content=draw(text), name=draw(_OPTIONAL_NAMES) if draw(maybe) >= 9 else None))
        if p.allow_repeated_roles and draw(maybe) >= 9:
            add(UserMessage(content=draw(text)))
        rounds = 0
        while rounds < max_tool_rounds and 1.0 - draw(_UNIT) <= tool_call_density:
            rounds += 1
            pending_end = (
                last_turn and (p.allow_pending_tool_calls or p.allow_dangling_tool_calls) and draw(maybe) >= 8
            )
            _tool_round(draw, out, add, p, specs, ids, max_parallel_calls, pending_end)
            if pending_end:
                return tuple(out)
        if not add(AssistantMessage(content=draw(text))):
            continue
        if p.allow_repeated_roles and draw(maybe) >= 9:
            add(AssistantMessage(content=draw(_SAFE_TEXT)))
    if not out or (p.require_user_present and not any(type(m) is UserMessage for m in out)):
        add(UserMessage(content=draw(_SAFE_TEXT)))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _optional_text(policy: ValidationPolicy) -> st.SearchStrategy[str | None]:
    return st.none() | _text(policy)


@functools.lru_cache(maxsize=64)
def _sampled(specs: tuple[ToolSpec, ...]) -> st.SearchStrategy[ToolSpec]:
    return st.sampled_from(specs)


def _arguments(draw: st.DrawFn, spec: ToolSpec, p: ValidationPolicy) -> str:
    if not p.check_tool_arguments and not p.check_tool_schemas and draw(_MAYBE) >= 9:
        return draw(_BROKEN_ARGUMENTS)
    return draw(arguments_for(spec))


def _tool_round(
    draw: st.DrawFn,
    out: list[Message],
    add: Any,
    p: ValidationPolicy,
    specs: Sequence[ToolSpec],
    ids: _Ids,
    max_parallel_calls: int,
    pending_end: bool,
) -> None:
    maybe = _MAYBE
    k = draw(_ints(1, max(1, max_parallel_calls)))
    calls = []
    for _ in range(k):
        spec = draw(_sampled(specs))
        calls.append(ToolCallRequest(id=ids.next(), name=spec.name, arguments=_arguments(draw, spec, p)))
    content = draw(_optional_text(p)) if draw(maybe) >= 7 else None
    if not add(AssistantMessage(content=content, tool_calls=tuple(calls))):
        # Two assistant messages in a row are not allowed: answer the user first.
        add(UserMessage(content=draw(_SAFE_TEXT)))
        add(AssistantMessage(content=content, tool_calls=tuple(calls)))
    answers = [ToolMessage(tool_call_id=c.id, content=draw(_text(p))) for c in calls]
    if not p.enforce_tool_response_order:
        answers = draw(st.permutations(answers))
    if pending_end:
        keep = draw(_ints(0, len(answers) - 1))
        answers = answers[:keep]
    elif p.allow_dangling_tool_calls and draw(maybe) >= 9:
        # Keep at least one answer when a bare assistant-assistant pair is not allowed.
        keep = draw(_ints(0 if p.allow_repeated_roles else 1, len(answers)))
        answers = answers[:keep]
    if p.allow_duplicate_tool_response and answers and draw(maybe) >= 9:
        i = draw(_ints(0, len(answers) - 1))
        answers.insert(i + 1, answers[i])
    if p.allow_unknown_tool_response and draw(maybe) >= 9:
        answers.insert(draw(_ints(0, len(answers))), ToolMessage(tool_call_id="call_elsewhere", content="?"))
    interrupt: int | None = None
    if not pending_end and not p.enforce_contiguous_tool_responses and answers and draw(maybe) >= 8:
        interrupt = draw(_ints(0, len(answers) - 1))
    for i, answer in enumerate(answers):
        if i == interrupt:
            out.append(UserMessage(content=draw(_SAFE_TEXT)))
        out.append(answer)


def mutations(
    conversations: st.SearchStrategy[Sequence[Message]] | None = None,
    *,
    policy: ValidationPolicy = _DEFAULT_POLICY,
    tools: Sequence[ToolSpec] = (),
    kinds: Sequence[ViolationKind] | None = None,
) -> st.SearchStrategy[Mutation]:
    """A `Mutation` of a conversation valid under ``policy``: exactly one rule broken.

    ``conversations`` (default: `conversations` with ``policy`` and ``tools``)
    must draw conversations valid under ``policy``. ``kinds`` restricts the
    rules broken (default: every kind ``policy`` checks). So
    ``validate_conversation(m.messages, policy, tools=tools) == (m.violation,)``.
    """
    source = conversations if conversations is not None else _conversations_for(policy, tools)
    checked = checked_kinds(policy)
    unknown = [k for k in kinds or () if k not in MUTABLE_KINDS]
    if unknown:
        raise ValueError(f"cannot mutate towards {unknown}; mutable kinds are: {', '.join(MUTABLE_KINDS)}")
    wanted = [k for k in (kinds if kinds is not None else MUTABLE_KINDS) if k in checked]
    wanted.sort(key=lambda k: k == "empty_conversation")  # the least interesting one last
    if not wanted:
        raise ValueError(f"policy {policy!r} checks none of the kinds {kinds!r}")
    return _mutations(source, policy, tuple(tools), tuple(wanted))


@st.composite
def _mutations(
    draw: st.DrawFn,
    source: st.SearchStrategy[Sequence[Message]],
    policy: ValidationPolicy,
    tools: tuple[ToolSpec, ...],
    wanted: tuple[ViolationKind, ...],
) -> Mutation:
    base = draw(source)
    site = draw(st.integers(0, 255))
    # The drawn kind, or the next one (cyclically) that applies here: some need
    # tool calls, a text-only assistant message, ... that a conversation may lack.
    start = draw(st.integers(0, len(wanted) - 1))
    for kind in (*wanted[start:], *wanted[:start]):
        mutation = mutate(base, kind, policy=policy, tools=tools, site=site)
        if mutation is not None:
            return mutation
    assume(False)  # only with a narrow ``kinds`` that fits no drawn conversation
    raise AssertionError("unreachable")


def _conversations_for(
    policy: ValidationPolicy, tools: Sequence[ToolSpec]
) -> st.SearchStrategy[tuple[Message, ...]]:
    return conversations(policy=policy, tools=tools or None, tool_call_density=0.7)


# --------------------------------------------------------------------------- effects and results


def model_params() -> st.SearchStrategy[ModelParams]:
    """`ModelParams` with a few knobs set, in the ranges the API accepts."""
    return st.builds(
        ModelParams,
        temperature=st.none() | st.floats(0, 2),
        top_p=st.none() | st.floats(0, 1),
        max_tokens=st.none() | st.integers(1, 4096),
        seed=st.none() | st.integers(0, 2**31),
        stop=st.none() | st.lists(_SAFE_TEXT, min_size=1, max_size=4),
        response_format=st.none() | st.just({"type": "json_object"}),
    )


@st.composite
def model_calls(
    draw: st.DrawFn, *, policy: ValidationPolicy = _DEFAULT_POLICY, model: str | None = None
) -> ModelCall:
    """A `ModelCall` whose conversation is valid under ``policy``."""
    specs = tuple({s.name: s for s in draw(st.lists(tool_specs(), max_size=3))}.values()) or _TOOLS
    return ModelCall(
        model=model if model is not None else draw(st.sampled_from(["gpt-4o-mini", "gpt-4.1", "local-llm"])),
        messages=draw(conversations(policy=policy, tools=specs)),
        tools=specs,
        params=draw(model_params()),
    )


def tool_calls() -> st.SearchStrategy[ToolCall]:
    """A `ToolCall` effect (arguments: JSON objects, or any text)."""
    return st.builds(
        ToolCall, id=_CALL_IDS, name=_TOOL_NAMES, arguments=st.one_of(_json_objects(), _ANY_TEXT)
    )


def parallels() -> st.SearchStrategy[Parallel]:
    """A `Parallel` batch of tool calls with distinct ids."""
    return st.builds(
        Parallel,
        calls=st.lists(tool_calls(), min_size=1, max_size=5, unique_by=lambda c: c.id).map(tuple),
        join=st.sampled_from(JoinPolicy),
        limit=st.none() | st.integers(1, 4),
    )


def effects() -> st.SearchStrategy[Effect[Any]]:
    """Any effect an agent step emits: `ModelCall`, `ToolCall` or `Parallel`."""
    return st.one_of(model_calls(), tool_calls(), parallels())


def usages() -> st.SearchStrategy[Usage]:
    """Token usage."""
    return st.builds(Usage, prompt_tokens=st.integers(0, 10**6), completion_tokens=st.integers(0, 10**6))


def model_replies(
    messages: st.SearchStrategy[AssistantMessage] | None = None,
) -> st.SearchStrategy[ModelReply]:
    """A `ModelReply` (default message: `assistant_messages`)."""
    return st.builds(
        ModelReply,
        message=messages if messages is not None else assistant_messages(),
        usage=usages(),
        finish_reason=st.sampled_from(["stop", "tool_calls", "length", "content_filter"]),
        model=st.none() | st.just("gpt-4o-mini"),
        id=st.none() | st.from_regex(r"chatcmpl-[a-z0-9]{6}", fullmatch=True),
    )


def tool_results() -> st.SearchStrategy[ToolResult]:
    """A `ToolResult`: a success or one of each error kind."""
    kinds = st.sampled_from(
        [
            "unknown_tool",
            "invalid_arguments",
            "tool_raised",
            "not_serialisable",
            "cancelled",
            "timeout",
            "denied",
        ]
    )
    return st.one_of(
        st.builds(ToolResult.success, call_id=_CALL_IDS, name=_TOOL_NAMES, content=_ANY_TEXT),
        st.builds(ToolResult.failure, call_id=_CALL_IDS, name=_TOOL_NAMES, kind=kinds, message=_ANY_TEXT),
    )


def results() -> st.SearchStrategy[Any]:
    """Any result an interpreter returns for an agent effect."""
    return st.one_of(model_replies(), tool_results(), st.lists(tool_results(), max_size=4).map(tuple))


def stop_reasons() -> st.SearchStrategy[StopReason]:
    """A `StopReason` of one of the stock kinds."""
    return st.builds(
        StopReason,
        kind=st.sampled_from(["no_tool_calls", "max_steps", "tool_called", "budget_exceeded", "custom"]),
        detail=_SAFE_TEXT,
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
    item = st.one_of(
        st.builds(MessageItem, role=st.sampled_from(["system", "user"]), content=_ANY_TEXT),
        st.builds(
            MessageItem,
            role=st.just("assistant"),
            content=st.none() | _ANY_TEXT,
            name=st.none() | _NAMES,
            refusal=st.none() | _ANY_TEXT,
        ),
        st.builds(ToolCallItem, id=_CALL_IDS, name=_TOOL_NAMES, arguments=_ANY_TEXT),
        st.builds(ToolOutputItem, tool_call_id=_CALL_IDS, output=_ANY_TEXT, error=st.none() | _ANY_TEXT),
        st.builds(HandoffItem, from_agent=_NAMES, to_agent=_NAMES, reason=st.none() | _ANY_TEXT),
    )
    return st.lists(item, max_size=12).map(tuple)


# --------------------------------------------------------------------------- misbehaving models


@st.composite
def model_scripts(
    draw: st.DrawFn,
    *,
    tools: Sequence[ToolSpec] = _TOOLS,
    max_replies: int = 6,
    max_calls: int = 12,
    final: str | None = "Done.",
) -> tuple[ModelReply, ...]:
    """Replies of a misbehaving model, for fuzzing an agent loop with ``sequence(...)``.

    Each reply is one of: text; an empty reply (no content, no calls); ``""``;
    a bare refusal; a reply cut off by ``length``; or tool calls (1 to
    ``max_calls``, a *storm*) whose ids may repeat within the reply, be empty,
    or restart every reply, whose names may be unknown, and whose arguments
    may be valid, ``{}``, truncated, not JSON, not an object, or blank.
    Tool names always match the API's pattern (an invalid name would make the
    next request invalid, whatever the loop does).

    Unless ``final`` is ``None``, the script ends with a plain text reply, so a
    loop that stops when the model stops calling tools runs out of script
    exactly when it should.
    """
    names = [t.name for t in tools] or ["add"]
    by_name = {t.name: t for t in tools}
    replies: list[ModelReply] = []
    id_mode = draw(st.sampled_from(["unique", "unique", "repeat_in_reply", "empty", "restart_each_reply"]))
    counter = 0
    for _ in range(draw(st.integers(0, max_replies))):
        move = draw(
            st.sampled_from(["text", "empty", "blank", "refusal", "length", "calls", "calls", "calls"])
        )
        if move == "text":
            replies.append(ModelReply(message=AssistantMessage(content=draw(_SAFE_TEXT))))
        elif move == "empty":
            replies.append(ModelReply(message=AssistantMessage()))
        elif move == "blank":
            replies.append(ModelReply(message=AssistantMessage(content="")))
        elif move == "refusal":
            replies.append(ModelReply(message=AssistantMessage(refusal="I can't help with that.")))
        elif move == "length":
            replies.append(
                ModelReply(message=AssistantMessage(content=draw(_SAFE_TEXT)[:5]), finish_reason="length")
            )
        else:
            n = draw(st.integers(1, max(1, max_calls)))
            if id_mode == "restart_each_reply":
                counter = 0
            calls: list[ToolCallRequest] = []
            for j in range(n):
                name = draw(st.sampled_from([*names, "no_such_tool"]))
                spec = by_name.get(name)
                arguments = draw(
                    st.one_of(
                        arguments_for(spec) if spec is not None else st.just("{}"),
                        st.sampled_from(["{}", '{"a": ', "not json", "[1, 2]", "", '"just a string"']),
                    )
                )
                if id_mode == "empty" and draw(st.booleans()):
                    call_id = ""
                elif id_mode == "repeat_in_reply" and j > 0 and draw(st.booleans()):
                    call_id = calls[0].id
                else:
                    counter += 1
                    call_id = f"call_{counter}"
                calls.append(ToolCallRequest(id=call_id, name=name, arguments=arguments))
            content = draw(st.sampled_from([None, None, "", "Let me check."]))
            replies.append(
                ModelReply(
                    message=AssistantMessage(content=content, tool_calls=tuple(calls)),
                    finish_reason="tool_calls",
                    usage=Usage(prompt_tokens=10, completion_tokens=n),
                )
            )
    if final is not None:
        replies.append(ModelReply(message=AssistantMessage(content=final)))
    return tuple(replies)


# --------------------------------------------------------------------------- traces


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
def traces(draw: st.DrawFn, *, max_exchanges: int = 6) -> Trace:
    """A `Trace` with a random header and up to ``max_exchanges`` exchanges.

    Like a real run, a model call often extends the previous one (same tools
    and parameters, the same conversation plus new messages), which is what
    the file format's references to the previous call encode.
    """
    meta = TraceMeta(
        library_version=draw(st.sampled_from(["0.1.0", "1.2.3"])),
        created_at=draw(st.none() | st.just("2025-01-01T12:00:00.000+00:00")),
        agent=draw(st.none() | _NAMES),
        model=draw(st.none() | st.sampled_from(["gpt-4o-mini", "local-llm"])),
        tags=draw(st.dictionaries(_NAMES, _SAFE_TEXT, max_size=3)),
    )
    items: list[Exchange] = []
    previous: ModelCall | None = None
    for _ in range(draw(st.integers(0, max_exchanges))):
        if previous is not None and draw(st.booleans()):
            more = draw(st.lists(messages(), max_size=3))
            effect: Effect[Any] = attrs.evolve(previous, messages=(*previous.messages, *more))
        else:
            effect = draw(effects())
        items.append(draw(exchanges(effect=st.just(effect))))
        if isinstance(effect, ModelCall):
            previous = effect
    return Trace(meta=meta, exchanges=tuple(items))

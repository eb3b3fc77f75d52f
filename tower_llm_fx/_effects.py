"""Effects: inert descriptions of I/O for an interpreter to perform.

Theory of operation: a step never does I/O; it returns an effect, a frozen,
final, keyword-only attrs value typed by the result it expects
(``ModelCall`` is an ``Effect[ModelReply]``). Interpreters perform effects and
hand the result back; the pure ``advance`` folds it into the state. Because
effects compare by value, a recorded run can be replayed by checking each
effect against the recording. Effects have no methods beyond what attrs gives
them and never a ``perform()``. Don't subclass them.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, Literal, TypeAlias, TypeVar, final, get_args, get_origin

import attrs
from attrs import validators as v

from ._context import ToolContext
from ._json import canonical_json, canonical_json_or_none, loads_object
from ._messages import MESSAGE_TYPES, Message
from ._repr import quiet_repr
from ._results import ModelReply, ToolResult
from ._tools import ToolSpec

__all__ = [
    "Done",
    "Effect",
    "JoinPolicy",
    "ModelCall",
    "ModelParams",
    "Parallel",
    "StopReason",
    "ToolCall",
    "ToolChoice",
    "ToolChoiceMode",
]

R_co = TypeVar("R_co", covariant=True)


class Effect(Generic[R_co]):
    """Marker base of every effect; ``R_co`` is the type of its result.

    An interpreter typed ``(effect: Effect[R]) -> Awaitable[R]`` makes
    ``await interp(ModelCall(...))`` come out as ``ModelReply``. The result
    type is declared once, as the type argument: ``result_type`` (what the
    run loop checks a result against) is read off it.

    >>> ModelCall.result_type.__name__, Parallel.result_type.__name__
    ('ModelReply', 'tuple')
    """

    __slots__ = ()
    #: The runtime type an interpreter must return for this effect (from ``Effect[...]``).
    result_type: ClassVar[type[Any]] = object

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Effect:
                (arg,) = get_args(base)
                origin = get_origin(arg)  # tuple for tuple[ToolResult, ...]
                if isinstance(origin, type):
                    cls.result_type = origin
                elif isinstance(arg, type):
                    cls.result_type = arg


_MESSAGE_TYPES = frozenset(MESSAGE_TYPES)


def _messages(value: Sequence[Message]) -> tuple[Message, ...]:
    if type(value) is tuple and _MESSAGE_TYPES.issuperset(map(type, value)):
        return value  # the fast path: already a tuple of messages
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"messages must be a sequence of messages, got {type(value).__name__}")
    for i, m in enumerate(value):
        if not isinstance(m, MESSAGE_TYPES):
            raise TypeError(
                f"messages[{i}] is a {type(m).__name__}, not a message; build it with "
                "UserMessage(content=...), SystemMessage(...), AssistantMessage(...) or ToolMessage(...)"
            )
    return tuple(value)


def _specs(value: Sequence[ToolSpec]) -> tuple[ToolSpec, ...]:
    if type(value) is tuple and all(type(s) is ToolSpec for s in value):
        return value
    if not isinstance(value, Sequence):
        raise TypeError(f"tools must be a sequence of ToolSpec, got {type(value).__name__}")
    for i, s in enumerate(value):
        if not isinstance(s, ToolSpec):
            hint = " (pass tool.spec, not the Tool)" if hasattr(s, "spec") else ""
            raise TypeError(f"tools[{i}] is a {type(s).__name__}, not a ToolSpec{hint}")
    return tuple(value)


def _provider_tools(value: Sequence[object]) -> tuple[str, ...]:
    if value == ():
        return ()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"provider_tools must be a sequence of JSON objects, got {type(value).__name__}")
    out = []
    for i, tool in enumerate(value):
        text = canonical_json(tool)
        if not text.startswith("{"):
            raise ValueError(f"provider_tools[{i}] must be a JSON object with a 'type', got {text[:80]}")
        out.append(text)
    return tuple(out)


ToolChoiceMode: TypeAlias = Literal["auto", "none", "required", "any", "function", "other"]
_MODES = frozenset({"auto", "none", "required", "any"})


def _check_choice(choice: ToolChoice, _attr: object, _value: object) -> None:
    if (choice.mode == "function") != (choice.name is not None):
        raise ValueError("a ToolChoice names a function exactly when its mode is 'function'")
    if (choice.mode == "other") != (choice.raw is not None):
        raise ValueError("a ToolChoice holds raw JSON exactly when its mode is 'other'")


@final
@quiet_repr("name", "raw")
@attrs.frozen(kw_only=True)
class ToolChoice:
    """Whether and which tools the model must call (``ModelParams.tool_choice``).

    ``mode`` is ``"auto"``, ``"none"``, ``"required"``, ``"any"`` (Mistral's
    word for required), ``"function"`` (call the function ``name``), or
    ``"other"``: any other JSON object a provider accepts, kept verbatim in
    ``raw`` (canonical JSON). `ModelParams` converts the wire forms: a mode
    word, ``{"type": "function", "function": {"name": ...}}``, or an object.

    >>> ModelParams(tool_choice="required").tool_choice
    ToolChoice(mode='required')
    >>> ModelParams(tool_choice={"type": "function", "function": {"name": "add"}}).tool_choice
    ToolChoice(mode='function', name='add')
    >>> ToolChoice.function("add").to_wire()
    {'type': 'function', 'function': {'name': 'add'}}
    """

    mode: ToolChoiceMode = attrs.field(validator=v.in_((*sorted(_MODES), "function", "other")))
    name: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    raw: str | None = attrs.field(default=None, validator=[v.optional(v.instance_of(str)), _check_choice])

    @classmethod
    def function(cls, name: str) -> ToolChoice:
        """Make the model call the function ``name``."""
        return cls(mode="function", name=name)

    def to_wire(self) -> str | dict[str, Any]:
        """The wire form: a mode word, a function object, or the raw object."""
        if self.mode == "function":
            return {"type": "function", "function": {"name": self.name}}
        if self.mode == "other":
            assert self.raw is not None
            value: dict[str, Any] = json.loads(self.raw)
            return value
        return self.mode


def tool_choice_from(value: ToolChoice | str | Mapping[str, Any] | None) -> ToolChoice | None:
    """Converter for ``ModelParams.tool_choice`` (also reads the JSON text older traces hold)."""
    if value is None or type(value) is ToolChoice:
        return value
    if isinstance(value, str):
        if value in _MODES:
            return ToolChoice(mode=value)  # type: ignore[arg-type]
        if not value.lstrip().startswith("{"):
            raise ValueError(
                f"tool_choice {value[:40]!r} is not a mode: use 'auto', 'none', 'required', 'any', "
                "ToolChoice.function(name), or a JSON object the provider documents"
            )
        value = loads_object(value)
    if isinstance(value, Mapping):
        function = value.get("function")
        if (
            value.keys() == {"type", "function"}
            and value["type"] == "function"
            and isinstance(function, Mapping)
            and function.keys() == {"name"}
            and isinstance(function["name"], str)
        ):
            return ToolChoice(mode="function", name=function["name"])
        return ToolChoice(mode="other", raw=canonical_json(value))
    raise TypeError(
        f"tool_choice must be 'auto', 'none', 'required', 'any', a ToolChoice or an object, got {value!r}"
    )


def _stop(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(s, str) for s in value):
        return tuple(value)
    raise TypeError(f"stop must be a string or a sequence of strings, got {value!r}")


def _opt(t: type[Any] | tuple[type[Any], ...]) -> Any:
    return v.optional(v.instance_of(t))


@final
@attrs.frozen(kw_only=True, repr=False)
class ModelParams:
    """Request knobs for a model call. ``None`` means "not set, use the server default".

    Nothing set here is dropped: fields the wire codec does not know by name go
    in ``extra`` (a JSON object merged into the request body).

    >>> ModelParams(temperature=0.2, stop="END").stop
    ('END',)
    """

    temperature: float | None = attrs.field(default=None, validator=_opt((int, float)))
    top_p: float | None = attrs.field(default=None, validator=_opt((int, float)))
    max_tokens: int | None = attrs.field(default=None, validator=_opt(int))
    max_completion_tokens: int | None = attrs.field(default=None, validator=_opt(int))
    reasoning_effort: str | None = attrs.field(default=None, validator=_opt(str))
    tool_choice: ToolChoice | None = attrs.field(default=None, converter=tool_choice_from)
    parallel_tool_calls: bool | None = attrs.field(default=None, validator=_opt(bool))
    response_format: str | None = attrs.field(default=None, converter=canonical_json_or_none)
    stop: tuple[str, ...] | None = attrs.field(default=None, converter=_stop)
    seed: int | None = attrs.field(default=None, validator=_opt(int))
    presence_penalty: float | None = attrs.field(default=None, validator=_opt((int, float)))
    frequency_penalty: float | None = attrs.field(default=None, validator=_opt((int, float)))
    user: str | None = attrs.field(default=None, validator=_opt(str))
    metadata: str | None = attrs.field(default=None, converter=canonical_json_or_none)
    extra: str | None = attrs.field(default=None, converter=canonical_json_or_none)

    def __repr__(self) -> str:
        # Only the fields that are set: the full list is long and mostly None.
        fields = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in attrs.fields(ModelParams)
            if getattr(self, f.name) is not None
        )
        return f"ModelParams({fields})"


@final
@quiet_repr("provider_tools")
@attrs.frozen(kw_only=True)
class ModelCall(Effect[ModelReply]):
    """Ask a chat model for its next message.

    **Result:** `ModelReply`.
    **Performed by:** ``interpreters.openai``, ``fixed``, ``sequence``, ``function``, ``replay``.
    """

    model: str = attrs.field(validator=v.instance_of(str))
    messages: tuple[Message, ...] = attrs.field(converter=_messages)
    tools: tuple[ToolSpec, ...] = attrs.field(default=(), converter=_specs)
    params: ModelParams = attrs.field(factory=ModelParams, validator=v.instance_of(ModelParams))
    #: Tools that are not functions (a provider's own, like OpenRouter's
    #: ``{"type": "openrouter:web_search"}``), as canonical JSON text, sent after ``tools``.
    provider_tools: tuple[str, ...] = attrs.field(default=(), converter=_provider_tools)


def _context_of_call(call: ToolCall, attribute: attrs.Attribute[Any], value: ToolContext | None) -> None:
    if value is None:
        return
    if type(value) is not ToolContext:
        raise TypeError(f"ToolCall.context must be a ToolContext or None, got {type(value).__name__}")
    if value.call_id != call.id:
        raise ValueError(
            f"ToolCall {call.id!r} was given the context of call {value.call_id!r}; a context "
            "describes the call it rides on (build it with call_id=call.id)"
        )


@final
@quiet_repr("context")
@attrs.frozen(kw_only=True)
class ToolCall(Effect[ToolResult]):
    """Run one tool of one agent with the model's arguments (raw JSON text).

    ``agent`` names the agent whose tools the call runs: an agent's step sets
    it, so a recorded call says whose tool ran, and ``group_interpreter``
    routes by it. ``None`` means "no agent said" (a hand-built call, or one
    read from a trace written before the field existed); a single agent's
    ``local_tools`` ignores it.

    **Result:** `ToolResult` (errors are data, never exceptions).
    **Performed by:** ``interpreters.local_tools``, ``group_interpreter``, ``replay``.

    ``context`` says how the call is being performed: in a durable run, the
    run id, the idempotency key and the attempt (a `ToolContext`; the
    durable runner sets it just before it performs the call, a step never
    does), unless the program defines the call's tool only as functions
    without a ``ToolContext`` parameter (nothing would read it:
    ``tower_llm_fx.durable.context_free_tools``). A tool that declares a
    ``ToolContext`` parameter receives it. It is
    left out of ``==`` and ``hash``: it describes this performance, not what
    is asked, so a call recorded inside a durable run still replays anywhere.

    >>> ToolCall(id="c1", name="add", arguments='{"a": 1}', agent="maths").agent
    'maths'
    >>> from tower_llm_fx.durable import ToolContext
    >>> keyed = ToolCall(id="c1", name="pay", context=ToolContext(call_id="c1", run_id="r", idempotency_key="r/0/c1"))
    >>> keyed == ToolCall(id="c1", name="pay"), keyed.context.idempotency_key
    (True, 'r/0/c1')
    """

    id: str = attrs.field(validator=v.instance_of(str))
    name: str = attrs.field(validator=v.instance_of(str))
    arguments: str = attrs.field(default="{}", validator=v.instance_of(str))
    agent: str | None = attrs.field(default=None, validator=_opt(str))
    context: ToolContext | None = attrs.field(default=None, eq=False, validator=_context_of_call)


class JoinPolicy(enum.Enum):
    """How a `Parallel` batch treats a failing tool call.

    ``JOIN_ALL`` lets every call finish. ``FAIL_FAST`` cancels the calls still
    running once one fails; each cancelled call still gets an error result, so
    every tool call is answered exactly once.
    """

    JOIN_ALL = "join_all"
    FAIL_FAST = "fail_fast"


def _calls(value: Sequence[ToolCall]) -> tuple[ToolCall, ...]:
    if not isinstance(value, Sequence):
        raise TypeError(f"calls must be a sequence of ToolCall, got {type(value).__name__}")
    for i, c in enumerate(value):
        if not isinstance(c, ToolCall):
            raise TypeError(f"calls[{i}] is a {type(c).__name__}, not a ToolCall")
    return tuple(value)


def _limit(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ValueError(f"limit must be a positive int or None (no limit), got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Parallel(Effect[tuple[ToolResult, ...]]):
    """Run several tool calls of one agent concurrently, at most ``limit`` at a time.

    ``agent`` is the agent whose tools the calls run; every call must carry
    the same ``agent``. The shell performs a batch by sending *each* call
    through the whole interpreter stack (``interpreters.perform``), so layers
    only ever see ``ToolCall``.

    **Result:** ``tuple[ToolResult, ...]`` in the order of ``calls``, whatever the
    completion order.
    **Performed by:** ``interpreters.perform`` (and so ``run`` and ``stream``).

    >>> calls = [ToolCall(id=f"c{i}", name="add", agent="maths") for i in range(2)]
    >>> Parallel(calls=calls, agent="maths").limit is None
    True
    """

    calls: tuple[ToolCall, ...] = attrs.field(converter=_calls)
    join: JoinPolicy = attrs.field(default=JoinPolicy.JOIN_ALL, validator=v.instance_of(JoinPolicy))
    limit: int | None = attrs.field(default=None, validator=_limit)
    agent: str | None = attrs.field(default=None, validator=_opt(str))

    def __attrs_post_init__(self) -> None:
        for i, call in enumerate(self.calls):
            if call.agent != self.agent:
                raise ValueError(
                    f"calls[{i}].agent is {call.agent!r} but the batch's agent is {self.agent!r}; "
                    "a Parallel runs the tools of one agent: give every ToolCall the batch's agent"
                )


@final
@attrs.frozen(kw_only=True)
class StopReason:
    """Why a run stopped. ``kind`` is one of the documented kinds below.

    Kinds: ``"no_tool_calls"``, ``"max_steps"``, ``"tool_called"``,
    ``"budget_exceeded"``, ``"custom"``; later features add their own.

    >>> StopReason(kind="max_steps", detail="3 steps")
    StopReason(kind='max_steps', detail='3 steps')
    """

    kind: str = attrs.field(validator=v.instance_of(str))
    detail: str = attrs.field(default="", validator=v.instance_of(str))


@final
@attrs.frozen(kw_only=True)
class Done:
    """Returned by a step instead of an effect: the run is over, for ``reason``."""

    reason: StopReason = attrs.field(validator=v.instance_of(StopReason))

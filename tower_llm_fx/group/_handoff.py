"""Handoff policies: pure values that say when and to whom the conversation moves.

Theory of operation: a policy answers three questions, all pure.

* ``routes(agent)``: which ``handoff_to_<target>`` tools agent ``agent`` is
  offered. The group turns each route into a `Tool` that sits *alongside* the
  agent's own tools; calling it returns an acknowledgement (a tool result like
  any other), and the handoff takes effect once every tool call of that
  assistant turn is answered.
* ``decide(state, finished)``: an automatic handoff after a completed step
  (``finished`` is the active agent's own stop reason, if its policy says stop).
* ``input_filter(record)``: what history the next agent sees after a handoff
  this policy made (``None``: "not one of mine").

``targets()`` lists the agents a policy can name, so a `Group` can reject a
typo when it is built. Combine policies with ``|`` or `first_of`: the first
policy that decides wins, and every policy's tools are offered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol, final

import attrs
from attrs import validators as v

from tower_llm_fx._effects import StopReason, ToolCall
from tower_llm_fx._errors import ConfigurationError
from tower_llm_fx._tools import Tool, ToolSpec
from tower_llm_fx.sessions import CompactionPolicy

from ._filters import CompactFilter, InputFilter, ThenFilter, identity_filter
from ._state import GroupState, Handoff, HandoffRecord

__all__ = [
    "CombinableHandoffPolicy",
    "HandoffPolicy",
    "HandoffRoute",
    "compacting_handoff",
    "composite_handoff",
    "conditional_handoff",
    "explicit_handoffs",
    "filtered_handoff",
    "handoff_to",
    "no_handoffs",
    "sequential_handoff",
]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class HandoffPolicy(Protocol):
    """The interface every handoff policy implements (all methods are pure)."""

    def routes(self, agent: str, /) -> tuple[HandoffRoute, ...]: ...
    def decide(self, state: GroupState, finished: StopReason | None, /) -> Handoff | None: ...
    def input_filter(self, handoff: HandoffRecord, /) -> InputFilter | None: ...
    def targets(self) -> frozenset[str]: ...


class CombinableHandoffPolicy(HandoffPolicy, Protocol):
    """A stock handoff policy: a `HandoffPolicy` that combines with ``|`` (`composite_handoff`)."""

    def __or__(self, other: HandoffPolicy, /) -> CombinableHandoffPolicy: ...
    def __ror__(self, other: HandoffPolicy, /) -> CombinableHandoffPolicy: ...


class _Combinable:
    __slots__ = ()

    def __or__(self, other: HandoffPolicy) -> CombinableHandoffPolicy:
        return composite_handoff(self, other)  # type: ignore[arg-type]

    def __ror__(self, other: HandoffPolicy) -> CombinableHandoffPolicy:
        return composite_handoff(other, self)  # type: ignore[arg-type]


def _names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigurationError(f"offered_to must name at least one agent, got {value!r}")
    return names


def _default_tool_name(route: HandoffRoute) -> str:
    return f"handoff_to_{route.target}"


def _check_tool_name(route: HandoffRoute, _attr: object, value: str) -> None:
    if not _TOOL_NAME.match(value):
        raise ConfigurationError(
            f"the handoff tool name {value!r} is not a valid tool name (1-64 of a-z, A-Z, 0-9, '_', '-'); "
            f"pass tool_name=... to handoff_to({route.target!r})"
        )


_SCHEMA = {
    "type": "object",
    "properties": {
        "reason": {"type": "string", "description": "Why you are handing off the conversation."},
        "context": {"type": "object", "description": "Optional facts the next agent should know."},
    },
}


@final
@attrs.frozen(kw_only=True)
class HandoffRoute:
    """One ``handoff_to_<target>`` tool: who may call it, and what the target then sees.

    ``description`` defaults to one built from the target's group description;
    ``offered_to`` ``None`` means every agent of the group except the target.

    >>> HandoffRoute(target="billing").tool_name
    'handoff_to_billing'
    """

    target: str = attrs.field(validator=v.and_(v.instance_of(str), v.min_len(1)))
    tool_name: str = attrs.field(
        default=attrs.Factory(_default_tool_name, takes_self=True), validator=_check_tool_name
    )
    description: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    offered_to: tuple[str, ...] | None = attrs.field(default=None, converter=_names)
    input_filter: InputFilter | None = attrs.field(default=None, validator=v.optional(v.is_callable()))

    def offered(self, agent: str) -> bool:
        """Whether agent ``agent`` is offered this tool (never the target itself)."""
        return agent != self.target and (self.offered_to is None or agent in self.offered_to)

    def tool(self, target_description: str = "") -> Tool:
        """The tool the model calls; it returns the acknowledgement as its result."""
        text = self.description
        if text is None:
            text = f"Hand off the conversation to the agent {self.target!r}."
            if target_description:
                text += f" {target_description}"
        spec = ToolSpec(name=self.tool_name, description=text, parameters=_SCHEMA)
        return Tool(spec=spec, fn=_Ack(self.target), idempotent=True)

    def handoff(self, call: ToolCall) -> Handoff:
        """The `Handoff` a call of this route's tool asks for (arguments are best-effort)."""
        args = _arguments(call.arguments)
        reason = args.get("reason")
        context = args.get("context")
        return Handoff(
            target=self.target,
            reason=reason if isinstance(reason, str) else None,
            context=context if isinstance(context, dict) else None,
            via=self.tool_name,
            call_id=call.id,
        )


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@final
@attrs.frozen
class _Ack:
    """The handoff tool's function: a pure acknowledgement (tower-llm's payload shape)."""

    target: str

    def __call__(self, **arguments: Any) -> str:
        reason = arguments.get("reason")
        context = arguments.get("context")
        payload = {
            "handoff": self.target,
            "ack": True,
            "reason": reason if isinstance(reason, str) else None,
            "context": context if isinstance(context, dict) else None,
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=False)


# --------------------------------------------------------------------------- policies


@final
@attrs.frozen
class _NoHandoffs(_Combinable):
    def routes(self, agent: str, /) -> tuple[HandoffRoute, ...]:
        return ()

    def decide(self, state: GroupState, finished: StopReason | None, /) -> Handoff | None:
        return None

    def input_filter(self, handoff: HandoffRecord, /) -> InputFilter | None:
        return None

    def targets(self) -> frozenset[str]:
        return frozenset()

    def __repr__(self) -> str:
        return "no_handoffs()"


@final
@attrs.frozen
class _Explicit(_Combinable):
    all_routes: tuple[HandoffRoute, ...]

    def routes(self, agent: str, /) -> tuple[HandoffRoute, ...]:
        return tuple(r for r in self.all_routes if r.offered(agent))

    def decide(self, state: GroupState, finished: StopReason | None, /) -> Handoff | None:
        return None

    def input_filter(self, handoff: HandoffRecord, /) -> InputFilter | None:
        for r in self.all_routes:
            if r.tool_name == handoff.via and r.target == handoff.target:
                return r.input_filter or identity_filter
        return None

    def targets(self) -> frozenset[str]:
        return frozenset(r.target for r in self.all_routes)

    def __repr__(self) -> str:
        return " | ".join(f"handoff_to({r.target!r})" for r in self.all_routes)


@final
@attrs.frozen
class _Sequential(_Combinable):
    agents: tuple[str, ...]

    def routes(self, agent: str, /) -> tuple[HandoffRoute, ...]:
        return ()

    def decide(self, state: GroupState, finished: StopReason | None, /) -> Handoff | None:
        if finished is None or state.active not in self.agents:
            return None
        i = self.agents.index(state.active)
        if i + 1 >= len(self.agents):
            return None
        return Handoff(
            target=self.agents[i + 1], reason=f"{state.active} finished ({finished.kind})", via="sequential"
        )

    def input_filter(self, handoff: HandoffRecord, /) -> InputFilter | None:
        return identity_filter if handoff.via == "sequential" else None

    def targets(self) -> frozenset[str]:
        return frozenset(self.agents)

    def __repr__(self) -> str:
        return f"sequential_handoff({', '.join(map(repr, self.agents))})"


@final
@attrs.frozen
class _Conditional(_Combinable):
    choose: Callable[[GroupState], str | Handoff | None]
    label: str
    every_step: bool

    def routes(self, agent: str, /) -> tuple[HandoffRoute, ...]:
        return ()

    def decide(self, state: GroupState, finished: StopReason | None, /) -> Handoff | None:
        if finished is None and not self.every_step:
            return None
        out = self.choose(state)
        if out is None:
            return None
        if isinstance(out, str):
            return Handoff(target=out, reason=f"chosen by {self.label}", via=self.label)
        if isinstance(out, Handoff):
            return out if out.via else attrs.evolve(out, via=self.label)
        raise TypeError(
            f"conditional policy {self.label!r} returned {out!r}; return an agent name, a Handoff, "
            "or None to stay with the active agent"
        )

    def input_filter(self, handoff: HandoffRecord, /) -> InputFilter | None:
        return identity_filter if handoff.via == self.label else None

    def targets(self) -> frozenset[str]:
        return frozenset()  # only known when it decides; the group checks the name then

    def __repr__(self) -> str:
        return f"conditional_handoff({getattr(self.choose, '__name__', self.choose)}, label={self.label!r})"


@final
@attrs.frozen
class _FirstOf(_Combinable):
    policies: tuple[HandoffPolicy, ...]

    def routes(self, agent: str, /) -> tuple[HandoffRoute, ...]:
        out: list[HandoffRoute] = []
        for p in self.policies:
            out.extend(r for r in p.routes(agent) if r not in out)
        return tuple(out)

    def decide(self, state: GroupState, finished: StopReason | None, /) -> Handoff | None:
        for p in self.policies:
            handoff = p.decide(state, finished)
            if handoff is not None:
                return handoff
        return None

    def input_filter(self, handoff: HandoffRecord, /) -> InputFilter | None:
        for p in self.policies:
            f = p.input_filter(handoff)
            if f is not None:
                return f
        return None

    def targets(self) -> frozenset[str]:
        return frozenset().union(*(p.targets() for p in self.policies))

    def __repr__(self) -> str:
        return " | ".join(repr(p) for p in self.policies) if self.policies else "composite_handoff()"


@final
@attrs.frozen
class _Filtered(_Combinable):
    inner: HandoffPolicy
    filter: InputFilter | None
    compaction: CompactionPolicy | None
    label: str

    def routes(self, agent: str, /) -> tuple[HandoffRoute, ...]:
        return self.inner.routes(agent)

    def decide(self, state: GroupState, finished: StopReason | None, /) -> Handoff | None:
        return self.inner.decide(state, finished)

    def input_filter(self, handoff: HandoffRecord, /) -> InputFilter | None:
        first = self.inner.input_filter(handoff)
        if first is None:
            return None
        before = None if first is identity_filter else first
        if self.compaction is not None:
            return CompactFilter(self.compaction, before)
        assert self.filter is not None
        return self.filter if before is None else ThenFilter(before, self.filter)

    def targets(self) -> frozenset[str]:
        return self.inner.targets()

    def __repr__(self) -> str:
        return f"{self.label}({self.inner!r})"


def check_policy(p: object, where: str) -> HandoffPolicy:
    if not all(callable(getattr(p, m, None)) for m in ("routes", "decide", "input_filter", "targets")):
        raise ConfigurationError(
            f"{where} is {p!r}, not a handoff policy; build one with handoff_to(...), sequential_handoff(...), "
            "conditional_handoff(...) or composite_handoff(...)"
        )
    return p  # type: ignore[return-value]


def no_handoffs() -> CombinableHandoffPolicy:
    """The policy that never hands off (a group of one, or routing by picker only)."""
    return _NoHandoffs()


def handoff_to(
    target: str,
    *,
    description: str | None = None,
    tool_name: str | None = None,
    offered_to: str | Iterable[str] | None = None,
    input_filter: InputFilter | None = None,
) -> CombinableHandoffPolicy:
    """Offer a ``handoff_to_<target>`` tool; calling it hands the conversation to ``target``.

    Args:
        target: the agent to hand off to.
        description: what the model reads about the tool (default: built from the
            target's description in the group).
        tool_name: the tool's name (default ``handoff_to_<target>``).
        offered_to: the agents offered the tool (default: every agent but the target).
        input_filter: what history ``target`` sees (default: all of it).

    >>> policy = handoff_to("billing", offered_to="triage") | handoff_to("triage", offered_to="billing")
    >>> [r.tool_name for r in policy.routes("triage")], [r.tool_name for r in policy.routes("billing")]
    (['handoff_to_billing'], ['handoff_to_triage'])
    """
    route = (
        HandoffRoute(target=target, description=description, offered_to=offered_to, input_filter=input_filter)
        if tool_name is None
        else HandoffRoute(
            target=target,
            tool_name=tool_name,
            description=description,
            offered_to=offered_to,
            input_filter=input_filter,
        )
    )
    return _Explicit((route,))


def explicit_handoffs(
    *targets: str | HandoffRoute, offered_to: str | Iterable[str] | None = None
) -> CombinableHandoffPolicy:
    """One ``handoff_to_<target>`` tool per target (a name or a `HandoffRoute`).

    >>> [r.tool_name for r in explicit_handoffs("billing", "tech", offered_to="triage").routes("triage")]
    ['handoff_to_billing', 'handoff_to_tech']
    """
    routes = tuple(
        t if isinstance(t, HandoffRoute) else HandoffRoute(target=t, offered_to=offered_to) for t in targets
    )
    if not routes:
        raise ConfigurationError("explicit_handoffs() needs at least one target agent")
    return _Explicit(routes)


def sequential_handoff(*agents: str) -> CombinableHandoffPolicy:
    """A fixed pipeline: when an agent of ``agents`` finishes, the next one starts.

    "Finishes" means its own stop policy stops it (or it replies without tool
    calls). The position is the active agent's place in the pipeline, so the
    policy holds no counter and a group can run it any number of times.

    >>> sequential_handoff("researcher", "writer")
    sequential_handoff('researcher', 'writer')
    """
    if len(agents) < 2 or len(set(agents)) != len(agents) or not all(isinstance(a, str) for a in agents):
        raise ConfigurationError(
            f"sequential_handoff() needs two or more distinct agent names, got {agents!r}; "
            "for loops, use conditional_handoff(...)"
        )
    return _Sequential(agents)


def conditional_handoff(
    choose: Callable[[GroupState], str | Handoff | None],
    *,
    label: str = "conditional",
    every_step: bool = False,
) -> CombinableHandoffPolicy:
    """Hand off to whatever the pure function ``choose(state)`` names (``None``: stay).

    ``choose`` is asked when the active agent finishes its turn, or after every
    completed step with ``every_step=True``. Naming the active agent means stay.
    """
    if not callable(choose):
        raise ConfigurationError(
            f"conditional_handoff() needs a function state -> agent name | None, got {choose!r}"
        )
    return _Conditional(choose, label, every_step)


def composite_handoff(*policies: HandoffPolicy) -> CombinableHandoffPolicy:
    """Combine policies: all their tools are offered; the first that decides wins.

    ``a | b`` is ``composite_handoff(a, b)``.
    """
    flat: list[HandoffPolicy] = []
    for i, p in enumerate(policies):
        check_policy(p, f"composite_handoff() argument {i}")
        flat.extend(p.policies if isinstance(p, _FirstOf) else (p,))
    if flat and all(isinstance(p, _Explicit) for p in flat):
        return _Explicit(tuple(r for p in flat for r in p.all_routes))  # type: ignore[attr-defined]
    return _FirstOf(tuple(flat))


def filtered_handoff(policy: HandoffPolicy, input_filter: InputFilter) -> CombinableHandoffPolicy:
    """Apply ``input_filter`` to what the next agent sees after every handoff ``policy`` makes."""
    check_policy(policy, "filtered_handoff() policy")
    if not callable(input_filter):
        raise ConfigurationError(
            f"input_filter must be a function messages -> messages, got {input_filter!r}"
        )
    return _Filtered(policy, input_filter, None, "filtered_handoff")


def compacting_handoff(policy: HandoffPolicy, compaction: CompactionPolicy) -> CombinableHandoffPolicy:
    """Compact the history the next agent sees on every handoff ``policy`` makes.

    ``compaction`` is a `CompactionPolicy`: its thresholds say *whether* the
    history is compacted, its strategy *how* (tool calls and their results are
    never separated). With `summarise` the group asks the summary model right
    after the handoff, as an ordinary recorded ``ModelCall``; an empty summary
    keeps the originals. The shared conversation itself is never changed.
    """
    check_policy(policy, "compacting_handoff() policy")
    if not isinstance(compaction, CompactionPolicy):
        raise ConfigurationError(
            f"compacting_handoff() needs a CompactionPolicy (e.g. CompactionPolicy(max_messages=20)), "
            f"got {compaction!r}"
        )
    return _Filtered(policy, None, compaction, "compacting_handoff")

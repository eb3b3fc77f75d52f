"""Multi-agent groups: a frozen definition plus a pure step and a pure advance.

Theory of operation: a `Group` holds named agents (which hold functions), a
handoff policy and a picker. It never changes. Its step and advance work on a
`GroupState` (pure data) and reuse the single-agent machinery unchanged:

* ``group_step`` builds the active agent's *view* of the run (the shared
  conversation, filtered if the last handoff says so, with the agent's own
  step count) and returns ``agent_step(agent, view)``, or the agent's first
  ``ModelCall`` right after it took over.
* ``group_advance`` folds results with the single-agent ``advance``. When a
  step completes it applies a handoff: the one a ``handoff_to_*`` tool call
  asked for (once *every* tool call of that assistant turn is answered), else
  whatever the policy decides. A handoff is refused, and the run stops with a
  recorded reason, past ``max_handoffs`` or when agents go round a loop.

Each agent is offered its own tools *plus* the handoff tools its policy routes
give it; a name clash is a `ConfigurationError` when the group is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, final

import attrs

from tower_llm_fx._agent import Agent, agent_step
from tower_llm_fx._effects import Done, Effect, ModelCall, Parallel, StopReason, ToolCall
from tower_llm_fx._errors import ConfigurationError, UnknownAgent, WrongResultType
from tower_llm_fx._events import RunEvent, RunStarted
from tower_llm_fx._messages import Message
from tower_llm_fx._results import ModelReply
from tower_llm_fx._state import RunState, finish, pending_tool_calls, step_completed

from ._filters import CompactFilter, InputFilter, check_tool_pairs, identity_filter
from ._handoff import HandoffPolicy, HandoffRoute, check_policy, composite_handoff, handoff_to, no_handoffs
from ._pick import GroupMember, ModelPicker, Picker
from ._state import GroupState, Handoff, HandoffRecord, handoff_events, replace_fields

__all__ = ["Group", "GroupBuilder", "group_advance", "group_step"]


def _members(value: Iterable[GroupMember]) -> tuple[GroupMember, ...]:
    members = tuple(value)
    if not members:
        raise ConfigurationError("a group needs at least one agent; add one with GroupBuilder.agent(...)")
    seen: set[str] = set()
    for i, m in enumerate(members):
        if not isinstance(m, GroupMember):
            raise ConfigurationError(
                f"members[{i}] is a {type(m).__name__}; wrap agents as GroupMember(agent=...)"
            )
        if m.name in seen:
            raise ConfigurationError(
                f"two agents are named {m.name!r}; agent names are keys in a group, build each with "
                "a distinct .name(...)"
            )
        seen.add(m.name)
    return members


def _bound(_inst: object, attr: attrs.Attribute[Any], value: object) -> None:
    low = 2 if attr.name == "cycle_limit" else 0
    if value is None and attr.name == "cycle_limit":
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigurationError(f"{attr.name} must be an int >= {low}, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Group:
    """A frozen multi-agent definition. Build one with `Group.builder`.

    Attributes:
        members: the agents, in the order added.
        policy: the handoff policy (default: never hand off).
        picker: how the first agent is chosen (default: the first member).
        max_handoffs: handoffs allowed per run; one more stops the run with
            ``StopReason(kind="max_handoffs")``.
        cycle_limit: stop with ``kind="handoff_cycle"`` when the agents would go
            round the same loop (A → B → A …) this many times in a row; ``None``
            turns the check off.
    """

    members: tuple[GroupMember, ...] = attrs.field(converter=_members)
    policy: HandoffPolicy = attrs.field(factory=no_handoffs)
    picker: Picker = attrs.field(default=None)
    max_handoffs: int = attrs.field(default=10, validator=_bound)
    cycle_limit: int | None = attrs.field(default=2, validator=_bound)
    _agents: dict[str, Agent] = attrs.field(init=False, eq=False, repr=False)
    _routes: dict[str, dict[str, HandoffRoute]] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_policy(self.policy, "the group's handoff policy")
        names = [m.name for m in self.members]
        known = ", ".join(names)
        unknown = sorted(self.policy.targets() - set(names))
        if unknown:
            raise ConfigurationError(
                f"the handoff policy names agent(s) {unknown} that the group does not have ({known})"
            )
        described = {m.name: m.description for m in self.members}
        agents: dict[str, Agent] = {}
        routes: dict[str, dict[str, HandoffRoute]] = {}
        for m in self.members:
            own = {t.name for t in m.agent.tools}
            mine: dict[str, HandoffRoute] = {}
            for r in self.policy.routes(m.name):
                if r.target not in described:
                    raise ConfigurationError(
                        f"handoff_to({r.target!r}): the group has no such agent ({known})"
                    )
                other = mine.get(r.tool_name)
                if other is not None and other.target != r.target:
                    raise ConfigurationError(
                        f"agent {m.name!r} is offered two handoff tools named {r.tool_name!r} (to "
                        f"{other.target!r} and {r.target!r}); pass tool_name=... to one of them"
                    )
                if r.tool_name in own:
                    raise ConfigurationError(
                        f"agent {m.name!r} has its own tool named {r.tool_name!r}, which clashes with the "
                        f"handoff tool to {r.target!r}; rename the tool, or pass tool_name=... to "
                        f"handoff_to({r.target!r})"
                    )
                mine.setdefault(r.tool_name, r)
            extra = tuple(r.tool(described[r.target]) for r in mine.values())
            agents[m.name] = attrs.evolve(m.agent, tools=(*m.agent.tools, *extra)) if extra else m.agent
            routes[m.name] = mine
        object.__setattr__(self, "_agents", agents)
        object.__setattr__(self, "_routes", routes)
        self._check_picker(names)

    def _check_picker(self, names: list[str]) -> None:
        picker = self.picker
        if isinstance(picker, str) and picker not in names:
            raise ConfigurationError(f"the picker names agent {picker!r}; the group has {', '.join(names)}")
        if isinstance(picker, ModelPicker) and picker.fallback not in (None, *names):
            raise ConfigurationError(f"the picker's fallback {picker.fallback!r} is not one of {names}")
        if not (picker is None or isinstance(picker, (str, ModelPicker)) or callable(picker)):
            raise ConfigurationError(
                f"picker must be an agent name, a function messages -> name, llm_picker(...) or None; got {picker!r}"
            )

    @staticmethod
    def builder() -> GroupBuilder:
        """Start a fluent builder."""
        return GroupBuilder()

    @property
    def names(self) -> tuple[str, ...]:
        """The agents' names, in the order added."""
        return tuple(self._agents)

    def agent(self, name: str) -> Agent:
        """The agent ``name`` as the group runs it: its own tools plus its handoff tools.

        Raises:
            UnknownAgent: the group has no agent of that name.
        """
        agent = self._agents.get(name)
        if agent is None:
            raise UnknownAgent(
                f"the group has no agent named {name!r}; its agents are {', '.join(self._agents)}"
            )
        return agent

    def handoff_routes(self, name: str) -> tuple[HandoffRoute, ...]:
        """The handoff tools agent ``name`` is offered, by route."""
        self.agent(name)
        return tuple(self._routes[name].values())

    def start(self, input: str | Sequence[Message] | RunState | GroupState) -> GroupState:
        """A fresh state for ``input``, with the first agent picked (unless a model picks it).

        Raises:
            UnknownAgent: a picker function named an agent the group does not have.
        """
        if isinstance(input, GroupState):
            return input
        if isinstance(input, RunState):
            run = input
        elif isinstance(input, (str, Sequence)):
            run = RunState.start(input)
        else:
            raise TypeError(f"input must be a str, a sequence of messages or a state, got {input!r}")
        picker = self.picker
        active: str | None
        if isinstance(picker, ModelPicker):
            active = None
        elif picker is None:
            active = self.members[0].name
        elif isinstance(picker, str):
            active = picker
        else:
            active = picker(run.messages)
            if active not in self._agents:
                raise UnknownAgent(
                    f"the picker {getattr(picker, '__name__', picker)!r} chose {active!r}; the group's "
                    f"agents are {', '.join(self._agents)}"
                )
        return GroupState(run=run, active=active, turn_start=len(run.messages), turn_first_step=run.steps)

    def step(self, state: GroupState) -> Effect[Any] | Done:
        """This group's step function; see `group_step`."""
        return group_step(self, state)

    def advance(self, state: GroupState, effect: Effect[Any], result: object) -> GroupState:
        """This group's fold; see `group_advance`."""
        return group_advance(self, state, effect, result)

    def finish(self, state: GroupState, done: Done) -> GroupState:
        """Record why the group run stopped."""
        return attrs.evolve(state, run=finish(state.run, done))

    def conversation(self, state: GroupState) -> RunState:
        """The one shared conversation of the group run."""
        return state.run

    def events(self, before: GroupState | None, after: GroupState) -> tuple[RunEvent, ...]:
        """`RunStarted` (naming the first agent) at the start, then a `HandedOff` per handoff."""
        if before is None:
            return (RunStarted(agent=after.active or "", state=after.run),)
        if len(after.handoffs) == len(before.handoffs):
            return ()
        return handoff_events(before, after)

    def visible_messages(self, state: GroupState) -> tuple[Message, ...]:
        """What the active agent sees: the conversation, with the last handoff's input
        filter applied to the history before it.

        Raises:
            ConfigurationError: the filter split a tool call from its result.
        """
        messages = state.run.messages
        if not state.handoffs:
            return messages
        last = state.handoffs[-1]
        f = self.policy.input_filter(last)
        if f is None or f is identity_filter:
            return messages
        where = f"the input filter of the handoff {last.source} -> {last.target}"
        before = messages[: last.at]
        head = f.apply(before, last.summary) if isinstance(f, CompactFilter) else f(before)
        return (*check_tool_pairs(head, where), *messages[last.at :])


def _summary_due(group: Group, state: GroupState) -> ModelCall | None:
    """The summarisation call a summarising ``compacting_handoff`` needs right after a handoff."""
    if not state.handoffs:
        return None
    last = state.handoffs[-1]
    if last.summary is not None or len(state.run.messages) != last.at:
        return None
    f = group.policy.input_filter(last)
    return f.summary_call(state.run.messages[: last.at]) if isinstance(f, CompactFilter) else None


def _view(group: Group, state: GroupState) -> RunState:
    run = state.run
    messages = group.visible_messages(state)
    if messages is run.messages and state.turn_first_step == 0:
        return run
    return attrs.evolve(run, messages=messages, steps=run.steps - state.turn_first_step)


def group_step(group: Group, state: GroupState) -> Effect[Any] | Done:
    """The next effect of a group run, or ``Done``: the active agent's step on its view.

    Right after a handoff (or at the start) the new agent makes a model call
    even if the conversation ends with another agent's reply.

    Raises:
        UnknownAgent: the state names an agent the group does not have.
    """
    run = state.run
    if run.stop is not None:
        return Done(reason=run.stop)
    if state.active is None:
        picker = group.picker
        if not isinstance(picker, ModelPicker):
            raise ConfigurationError(
                "the state has no active agent but the group's picker is not a model picker"
            )
        return picker.model_call(group.members, run.messages)
    summary = _summary_due(group, state)
    if summary is not None:
        return summary
    agent = group.agent(state.active)
    view = _view(group, state)
    if len(run.messages) == state.turn_start and view.messages and not pending_tool_calls(view.messages):
        return agent.model_call(view.messages)
    return agent_step(agent, view)


def _answered(effect: Effect[Any], result: object) -> Iterable[tuple[ToolCall, Any]]:
    if isinstance(effect, ToolCall):
        return ((effect, result),)
    if isinstance(effect, Parallel) and isinstance(result, tuple):
        return zip(effect.calls, result, strict=True)
    return ()


def group_advance(group: Group, state: GroupState, effect: Effect[Any], result: object) -> GroupState:
    """Fold ``result`` into ``state`` (pure); apply a handoff when a step completes.

    Raises:
        WrongResultType: the result does not belong to the effect.
        UnknownAgent: a policy chose an agent the group does not have.
    """
    if state.active is None:
        return _picked(group, state, effect, result)
    if _summary_due(group, state) is not None:
        return _summarised(state, effect, result)
    # The active agent's own fold: a member with a structured output validates it.
    run = group.agent(state.active).advance(state.run, effect, result)
    requested = state.requested
    if requested is None:
        routes = group._routes[state.active]
        for call, res in _answered(effect, result):
            route = routes.get(call.name)
            if route is not None and not res.is_error:
                requested = route.handoff(call)
                break
    if not step_completed(run.messages):
        return replace_fields(state, run=run, requested=requested)
    new = replace_fields(state, run=run, requested=None)
    handoff = requested
    if handoff is None:
        out = agent_step(group.agent(state.active), _view(group, new))
        handoff = group.policy.decide(new, out.reason if isinstance(out, Done) else None)
    if handoff is None or handoff.target == state.active:
        return new
    return _hand_off(group, new, handoff)


def _picked(group: Group, state: GroupState, effect: Effect[Any], result: object) -> GroupState:
    picker = group.picker
    if (
        not isinstance(effect, ModelCall)
        or not isinstance(result, ModelReply)
        or not isinstance(picker, ModelPicker)
    ):
        raise WrongResultType(
            f"the group is waiting for its picker's ModelCall, but got {type(effect).__name__} -> "
            f"{type(result).__name__}"
        )
    name = picker.choose(result.message.text, group.names)
    run = state.run
    run = attrs.evolve(run, usage=run.usage + result.usage, model_calls=run.model_calls + 1)
    return attrs.evolve(state, run=run, active=name, turn_start=len(run.messages), turn_first_step=run.steps)


def _summarised(state: GroupState, effect: Effect[Any], result: object) -> GroupState:
    if not isinstance(effect, ModelCall) or not isinstance(result, ModelReply):
        raise WrongResultType(
            f"the group is waiting for the handoff summary (a ModelCall), but got {type(effect).__name__} "
            f"-> {type(result).__name__}"
        )
    last = state.handoffs[-1]
    summary = (result.message.text or "").strip()
    run = state.run
    run = attrs.evolve(run, usage=run.usage + result.usage, model_calls=run.model_calls + 1)
    return attrs.evolve(state, run=run, handoffs=(*state.handoffs[:-1], attrs.evolve(last, summary=summary)))


def _loop(path: tuple[str, ...], limit: int | None) -> tuple[str, ...] | None:
    """The loop (of two or more agents) that ``path`` ends with ``limit`` times in a row."""
    if limit is None:
        return None
    n = len(path)
    for k in range(2, n // limit + 1):
        block = path[n - k :]
        if all(path[n - (i + 1) * k : n - i * k] == block for i in range(1, limit)):
            return block
    return None


def _stop(state: GroupState, kind: str, detail: str) -> GroupState:
    return attrs.evolve(state, run=finish(state.run, Done(reason=StopReason(kind=kind, detail=detail))))


def _hand_off(group: Group, state: GroupState, handoff: Handoff) -> GroupState:
    source = state.active
    assert source is not None
    if handoff.target not in group.names:
        raise UnknownAgent(
            f"the handoff policy chose agent {handoff.target!r} (via {handoff.via or 'a policy'}); the "
            f"group's agents are {', '.join(group.names)}"
        )
    if len(state.handoffs) >= group.max_handoffs:
        return _stop(
            state,
            "max_handoffs",
            f"{source} asked to hand off to {handoff.target}, but the group allows {group.max_handoffs} "
            f"handoffs per run (path: {' -> '.join(state.path)})",
        )
    loop = _loop((*state.path, handoff.target), group.cycle_limit)
    if loop is not None:
        return _stop(
            state,
            "handoff_cycle",
            f"the handoff {source} -> {handoff.target} would go round the loop "
            f"{' -> '.join((*loop, loop[0]))} {group.cycle_limit} times in a row (path: "
            f"{' -> '.join(state.path)}); clarify the agents' instructions or raise the group's cycle_limit",
        )
    run = state.run
    record = HandoffRecord(
        source=source,
        target=handoff.target,
        reason=handoff.reason,
        context=handoff.context,
        via=handoff.via,
        call_id=handoff.call_id,
        at=len(run.messages),
        step=run.steps,
    )
    return attrs.evolve(
        state,
        active=handoff.target,
        handoffs=(*state.handoffs, record),
        turn_start=len(run.messages),
        turn_first_step=run.steps,
        requested=None,
    )


@final
@attrs.frozen(kw_only=True)
class GroupBuilder:
    """Fluent, immutable builder for `Group`; each method returns a new builder.

    >>> from tower_llm_fx import Agent
    >>> group = (Group.builder()
    ...          .agent(Agent(model="m", name="triage"), description="Routes requests.")
    ...          .agent(Agent(model="m", name="billing"), description="Invoices and refunds.")
    ...          .handoff("triage", "billing").handoff("billing", "triage")
    ...          .build())
    >>> [t.name for t in group.agent("triage").tools]
    ['handoff_to_billing']
    """

    members_: tuple[GroupMember, ...] = attrs.field(default=(), alias="members")
    policies_: tuple[HandoffPolicy, ...] = attrs.field(default=(), alias="policies")
    picker_: Picker = attrs.field(default=None, alias="picker")
    max_handoffs_: int = attrs.field(default=10, alias="max_handoffs")
    cycle_limit_: int | None = attrs.field(default=2, alias="cycle_limit")

    def agent(self, agent: Agent, *, description: str = "") -> GroupBuilder:
        """Add an agent, keyed by its name; ``description`` is what other agents and pickers read."""
        return attrs.evolve(self, members=(*self.members_, GroupMember(agent=agent, description=description)))

    def handoffs(self, *policies: HandoffPolicy) -> GroupBuilder:
        """Add handoff policies; all are combined with ``composite_handoff`` in the order added."""
        for i, p in enumerate(policies):
            check_policy(p, f"handoffs() argument {i}")
        return attrs.evolve(self, policies=(*self.policies_, *policies))

    def handoff(
        self,
        source: str,
        target: str,
        *,
        description: str | None = None,
        input_filter: InputFilter | None = None,
    ) -> GroupBuilder:
        """Offer ``source`` a ``handoff_to_<target>`` tool (shorthand for ``handoff_to``)."""
        policy = handoff_to(target, description=description, offered_to=source, input_filter=input_filter)
        return self.handoffs(policy)

    def picker(self, picker: Picker) -> GroupBuilder:
        """How to pick the first agent: a name, a function of the messages, or `llm_picker`."""
        return attrs.evolve(self, picker=picker)

    def max_handoffs(self, n: int) -> GroupBuilder:
        """Handoffs allowed per run (default 10)."""
        return attrs.evolve(self, max_handoffs=n)

    def cycle_limit(self, n: int | None) -> GroupBuilder:
        """Stop when the agents go round the same loop ``n`` times in a row (default 2; ``None``: never)."""
        return attrs.evolve(self, cycle_limit=n)

    def build(self) -> Group:
        """Validate and return the `Group`.

        Raises:
            ConfigurationError: no agents, duplicate names, unknown handoff targets or
                tool name clashes.
        """
        policy: HandoffPolicy
        if not self.policies_:
            policy = no_handoffs()
        elif len(self.policies_) == 1:
            policy = self.policies_[0]
        else:
            policy = composite_handoff(*self.policies_)
        return Group(
            members=self.members_,
            policy=policy,
            picker=self.picker_,
            max_handoffs=self.max_handoffs_,
            cycle_limit=self.cycle_limit_,
        )

"""The `Agent` definition and the stock agent step.

Theory of operation: an `Agent` is a frozen description (model, instructions,
tools, policy, request parameters, tool-execution settings). Its step,
`agent_step`, is a plain function of the run state:

1. the run has a stop reason → ``Done``;
2. the last assistant message has unanswered tool calls → a ``ToolCall`` for
   the first of them, or one ``Parallel`` for all of them when
   ``parallel_tools`` is on;
3. the last step is complete → ask the policy; stop if it says so, or if the
   model replied without tool calls (nothing is left to do);
4. otherwise → a ``ModelCall`` with the instructions in front of the
   conversation as a system message.

The agent's instructions are never stored in the state: every ``ModelCall``
puts them first, so they are injected the same way on every call and a
user-supplied system message is kept, not replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, final

import attrs
from attrs import validators as v

from ._effects import Done, Effect, JoinPolicy, ModelCall, ModelParams, Parallel, ToolCall
from ._errors import ConfigurationError
from ._events import RunEvent, RunStarted
from ._messages import AssistantMessage, Message, SystemMessage, ToolCallRequest, ToolMessage
from ._policies import NO_TOOL_CALLS, Policy, any_of, max_steps, until_no_tool_calls
from ._state import RunState, advance, finish, pending_tool_calls
from ._tools import Tool, ToolSpec
from ._unchecked import unchecked_factory

__all__ = ["DEFAULT_POLICY", "Agent", "AgentBuilder", "agent_step"]

DEFAULT_POLICY: Policy = any_of(until_no_tool_calls(), max_steps(10))
"""``until_no_tool_calls() | max_steps(10)``: a run always ends."""


def _tools(value: Iterable[Tool]) -> tuple[Tool, ...]:
    tools = tuple(value)
    seen: set[str] = set()
    for i, t in enumerate(tools):
        if not isinstance(t, Tool):
            raise ConfigurationError(
                f"tools[{i}] is a {type(t).__name__}, not a Tool; decorate the function with @tool "
                "or build one with tool_typed(...)"
            )
        if t.name in seen:
            raise ConfigurationError(
                f"two tools are named {t.name!r}; tool names must be unique within an agent"
            )
        seen.add(t.name)
    return tools


def _model(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"model must be a non-empty string such as 'gpt-4o-mini', got {value!r}")


def _limit(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ConfigurationError(f"tool_concurrency_limit must be a positive int or None, got {value!r}")


def _policy(_inst: object, _attr: object, value: object) -> None:
    if not callable(value):
        raise ConfigurationError(
            f"policy must be callable as policy(state) -> StopReason | None, got {value!r}"
        )


@final
@attrs.frozen(kw_only=True)
class Agent:
    """A frozen agent definition. Build one directly or with `Agent.builder`.

    >>> from tower_llm_fx import tool, RunState
    >>> @tool
    ... def add(a: int, b: int) -> int:
    ...     "Add two integers."
    ...     return a + b
    >>> agent = Agent(model="gpt-4o-mini", instructions="Be brief.", tools=(add,))
    >>> effect = agent.step(RunState.start("What is 2+3?"))
    >>> type(effect).__name__, [m.role for m in effect.messages], [t.name for t in effect.tools]
    ('ModelCall', ['system', 'user'], ['add'])
    """

    model: str = attrs.field(validator=_model)
    name: str = attrs.field(default="assistant", validator=v.instance_of(str))
    instructions: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    tools: tuple[Tool, ...] = attrs.field(default=(), converter=_tools)
    policy: Policy = attrs.field(default=DEFAULT_POLICY, validator=_policy)
    params: ModelParams = attrs.field(factory=ModelParams, validator=v.instance_of(ModelParams))
    parallel_tools: bool = attrs.field(default=False, validator=v.instance_of(bool))
    tool_concurrency_limit: int | None = attrs.field(default=None, validator=_limit)
    join_policy: JoinPolicy = attrs.field(default=JoinPolicy.JOIN_ALL, validator=v.instance_of(JoinPolicy))
    _specs: tuple[ToolSpec, ...] = attrs.field(init=False, eq=False, repr=False)
    _system: tuple[SystemMessage, ...] = attrs.field(init=False, eq=False, repr=False)

    @_specs.default
    def _default_specs(self) -> tuple[ToolSpec, ...]:
        return tuple(t.spec for t in self.tools)

    @_system.default
    def _default_system(self) -> tuple[SystemMessage, ...]:
        return () if self.instructions is None else (SystemMessage(content=self.instructions),)

    @staticmethod
    def builder(model: str | None = None) -> AgentBuilder:
        """Start a fluent builder (tower-llm's ``Agent::builder``)."""
        return AgentBuilder(model=model)

    @property
    def tool_specs(self) -> tuple[ToolSpec, ...]:
        """The specs the model is offered, in tool order."""
        return self._specs

    def prompt(self, messages: Sequence[Message]) -> tuple[Message, ...]:
        """The messages sent to the model: instructions first, then ``messages``."""
        return (*self._system, *messages)

    def model_call(self, messages: Sequence[Message]) -> ModelCall:
        """The ``ModelCall`` this agent makes for a conversation."""
        if type(messages) is not tuple:
            return ModelCall(
                model=self.model,
                messages=self.prompt(messages),
                tools=self._specs,
                params=self.params,
            )
        # Fast construction: the agent validated model, tools and params when it
        # was built, and the messages come from a validated state.
        return _model_call(self.model, (*self._system, *messages), self._specs, self.params)

    # -- the Program protocol (what interpreters.run and stream drive) ----------

    def start(self, input: str | Sequence[Message] | RunState, /) -> RunState:
        """The state a run on ``input`` starts from: text, messages, or a `RunState` to resume.

        Raises:
            TypeError: ``input`` is none of these.
        """
        if isinstance(input, RunState):
            return input
        if isinstance(input, (str, Sequence)):
            return RunState.start(input)
        raise TypeError(
            f"an agent's run starts from a str, a sequence of messages or a RunState, got {input!r}"
        )

    def step(self, state: RunState, /) -> Effect[Any] | Done:
        """This agent's step function; see `agent_step`."""
        return agent_step(self, state)

    def advance(self, state: RunState, effect: Effect[Any], result: Any, /) -> RunState:
        """Fold ``result`` into ``state``; see `tower_llm_fx.advance`."""
        return advance(state, effect, result)

    def finish(self, state: RunState, done: Done, /) -> RunState:
        """Record why the run stopped."""
        return finish(state, done)

    def conversation(self, state: RunState, /) -> RunState:
        """The state itself: an agent's state is its conversation."""
        return state

    def events(self, before: RunState | None, after: RunState, /) -> tuple[RunEvent, ...]:
        """`RunStarted` (naming this agent) at the start; nothing else."""
        return (RunStarted(agent=self.name, state=after),) if before is None else ()


_DONE_NO_TOOL_CALLS = Done(reason=NO_TOOL_CALLS)
_model_call: Callable[[str, tuple[Message, ...], tuple[ToolSpec, ...], ModelParams], ModelCall] = (
    unchecked_factory(ModelCall, "model", "messages", "tools", "params")
)
_new_tool_call: Callable[[str, str, str, str], ToolCall] = unchecked_factory(
    ToolCall, "id", "name", "arguments", "agent"
)


def _tool_call(request: ToolCallRequest, agent: str) -> ToolCall:
    # Fast construction: a ToolCallRequest's fields were validated when it was built.
    return _new_tool_call(request.id, request.name, request.arguments, agent)


def agent_step(agent: Agent, state: RunState) -> Effect[Any] | Done:
    """The stock step: the next effect of ``agent``'s run in ``state``, or ``Done``.

    Raises:
        ConfigurationError: there is nothing to send (no messages and no instructions).
    """
    if state.stop is not None:
        return Done(reason=state.stop)
    messages = state.messages
    last = messages[-1] if messages else None
    completed = False
    kind = type(last)
    if kind is AssistantMessage or kind is ToolMessage:
        pending = pending_tool_calls(messages)
        if pending:
            if agent.parallel_tools and len(pending) > 1:
                name = agent.name
                calls = tuple(_tool_call(c, name) for c in pending)
                return Parallel(
                    calls=calls, join=agent.join_policy, limit=agent.tool_concurrency_limit, agent=name
                )
            return _tool_call(pending[0], agent.name)
        completed = kind is ToolMessage or not last.tool_calls  # type: ignore[union-attr]
    if completed:
        reason = agent.policy(state)
        if reason is not None:
            return Done(reason=reason)
        if kind is AssistantMessage:
            return _DONE_NO_TOOL_CALLS
    if last is None and agent.instructions is None:
        raise ConfigurationError(
            "the run has no messages and the agent no instructions, so there is nothing to send; "
            "start the run with RunState.start('your question')"
        )
    return agent.model_call(messages)


def _evolve_params(b: AgentBuilder, **changes: Any) -> AgentBuilder:
    return attrs.evolve(b, params=attrs.evolve(b.params_, **changes))


@final
@attrs.frozen(kw_only=True)
class AgentBuilder:
    """Fluent, immutable builder for `Agent`; each method returns a new builder.

    >>> from tower_llm_fx import max_steps
    >>> agent = (Agent.builder().model("gpt-4o-mini").instructions("Be brief.")
    ...          .temperature(0.1).policy(max_steps(3)).build())
    >>> agent.params.temperature, agent.policy
    (0.1, max_steps(3))
    """

    model_: str | None = attrs.field(default=None, alias="model")
    name_: str = attrs.field(default="assistant", alias="name")
    instructions_: str | None = attrs.field(default=None, alias="instructions")
    tools_: tuple[Tool, ...] = attrs.field(default=(), alias="tools")
    policy_: Policy = attrs.field(default=DEFAULT_POLICY, alias="policy")
    params_: ModelParams = attrs.field(factory=ModelParams, alias="params")
    parallel_tools_: bool = attrs.field(default=False, alias="parallel_tools")
    tool_concurrency_limit_: int | None = attrs.field(default=None, alias="tool_concurrency_limit")
    join_policy_: JoinPolicy = attrs.field(default=JoinPolicy.JOIN_ALL, alias="join_policy")

    def model(self, model: str) -> AgentBuilder:
        """Set the model name."""
        return attrs.evolve(self, model=model)

    def name(self, name: str) -> AgentBuilder:
        """Set the agent's name (used by traces and multi-agent groups)."""
        return attrs.evolve(self, name=name)

    def instructions(self, text: str) -> AgentBuilder:
        """Set the system prompt put in front of every model call."""
        return attrs.evolve(self, instructions=text)

    def tool(self, tool: Tool) -> AgentBuilder:
        """Add one tool."""
        return attrs.evolve(self, tools=(*self.tools_, tool))

    def tools(self, *tools: Tool) -> AgentBuilder:
        """Add several tools."""
        return attrs.evolve(self, tools=(*self.tools_, *tools))

    def policy(self, policy: Policy) -> AgentBuilder:
        """Replace the stop policy (default `DEFAULT_POLICY`)."""
        return attrs.evolve(self, policy=policy)

    def temperature(self, value: float) -> AgentBuilder:
        """Set the sampling temperature."""
        return _evolve_params(self, temperature=value)

    def max_tokens(self, value: int) -> AgentBuilder:
        """Set ``max_tokens``."""
        return _evolve_params(self, max_tokens=value)

    def max_completion_tokens(self, value: int) -> AgentBuilder:
        """Set ``max_completion_tokens`` (o-series and newer models)."""
        return _evolve_params(self, max_completion_tokens=value)

    def reasoning_effort(self, value: str) -> AgentBuilder:
        """Set ``reasoning_effort`` (``"low"``, ``"medium"``, ``"high"``, …)."""
        return _evolve_params(self, reasoning_effort=value)

    def params(self, **changes: Any) -> AgentBuilder:
        """Set any `ModelParams` field by name, e.g. ``.params(seed=7, stop=["END"])``."""
        return _evolve_params(self, **changes)

    def parallel_tools(self, enabled: bool = True) -> AgentBuilder:
        """Run several tool calls of one model turn concurrently."""
        return attrs.evolve(self, parallel_tools=enabled)

    def tool_concurrency_limit(self, limit: int | None) -> AgentBuilder:
        """At most ``limit`` tool calls at once when running them in parallel."""
        return attrs.evolve(self, tool_concurrency_limit=limit)

    def tool_join_policy(self, policy: JoinPolicy) -> AgentBuilder:
        """``JoinPolicy.JOIN_ALL`` (default) or ``JoinPolicy.FAIL_FAST``."""
        return attrs.evolve(self, join_policy=policy)

    def build(self) -> Agent:
        """Validate and return the `Agent`.

        Raises:
            ConfigurationError: no model was set, or a setting is invalid.
        """
        if self.model_ is None:
            raise ConfigurationError("the builder has no model; call .model('gpt-4o-mini') before .build()")
        return Agent(
            model=self.model_,
            name=self.name_,
            instructions=self.instructions_,
            tools=self.tools_,
            policy=self.policy_,
            params=self.params_,
            parallel_tools=self.parallel_tools_,
            tool_concurrency_limit=self.tool_concurrency_limit_,
            join_policy=self.join_policy_,
        )

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

With ``output=T`` (structured output, ``_output``), ``Agent.advance`` also
validates each final reply (`fold_output`): a valid one sets
``RunState.value_json`` and the step then says ``Done`` (kind ``"output"``)
once the step is complete; an invalid one is answered with what was wrong,
so the next step is another ``ModelCall``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, final

import attrs
from attrs import validators as v

from ._effects import (
    Done,
    Effect,
    JoinPolicy,
    ModelCall,
    ModelParams,
    Parallel,
    StopReason,
    ToolCall,
    ToolChoice,
)
from ._errors import ConfigurationError, OutputValidationError
from ._events import RunEvent, RunStarted
from ._messages import (
    MESSAGE_TYPES,
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCallRequest,
    ToolMessage,
    UserMessage,
)
from ._output import (
    FINAL_ANSWER,
    OutputDialect,
    OutputMode,
    OutputReady,
    OutputSpec,
    output_feedback,
    output_mode,
    output_spec,
    retry_output,
)
from ._policies import NO_TOOL_CALLS, Policy, any_of, max_steps, until_no_tool_calls
from ._state import RunState, advance, finish, pending_tool_calls, step_completed
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


def _output(value: object) -> OutputSpec | None:
    return None if value is None else output_spec(value)


def _output_mode(_inst: object, _attr: object, value: OutputMode) -> None:
    if value not in ("auto", "json_schema", "tool"):
        raise ConfigurationError(f"output_mode must be 'auto', 'json_schema' or 'tool', got {value!r}")


def _retries(_inst: object, _attr: object, value: int) -> None:
    if type(value) is not int or value < 0:
        raise ConfigurationError(f"max_output_retries must be a non-negative int, got {value!r}")


def _dialect(_inst: object, _attr: object, value: OutputDialect | None) -> None:
    if value is not None and not (
        isinstance(getattr(value, "json_schema", None), bool) and hasattr(value, "tool_choice_required")
    ):
        raise ConfigurationError(
            f"dialect must be a provider dialect such as tower_llm_fx.openai.dialect('deepseek'), got {value!r}"
        )


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
    #: The structured output: a type (attrs class, dataclass, TypedDict, Literal, Enum,
    #: primitive, list[...]) or an `OutputSpec`; see docs/structured-output.md.
    output: OutputSpec | None = attrs.field(default=None, converter=_output)
    output_mode: OutputMode = attrs.field(default="auto", validator=_output_mode)
    max_output_retries: int = attrs.field(default=2, validator=_retries)
    #: The provider's ``tower_llm_fx.openai.Dialect``: ``output_mode="auto"`` reads it.
    dialect: OutputDialect | None = attrs.field(default=None, validator=_dialect)
    _mode: str | None = attrs.field(init=False, eq=False, repr=False)
    _params: ModelParams = attrs.field(init=False, eq=False, repr=False)
    _specs: tuple[ToolSpec, ...] = attrs.field(init=False, eq=False, repr=False)
    _system: tuple[SystemMessage, ...] = attrs.field(init=False, eq=False, repr=False)

    @_mode.default
    def _default_mode(self) -> str | None:
        # Validators run after the defaults: check what the defaults read first.
        _dialect(self, None, self.dialect)
        _output_mode(self, None, self.output_mode)
        return None if self.output is None else output_mode(self.output_mode, self.dialect)

    @_params.default
    def _default_params(self) -> ModelParams:
        if self.output is None:
            return self.params
        if self._mode == "json_schema":
            if self.params.response_format is not None:
                raise ConfigurationError(
                    "the agent has both output=... and params.response_format; drop response_format "
                    "(output=T sends its own) or use output_mode='tool'"
                )
            return attrs.evolve(self.params, response_format=self.output.response_format())
        if self.params.tool_choice is not None:
            return self.params
        required = "required" if self.dialect is None else self.dialect.tool_choice_required
        if required is None:  # the provider cannot force a tool call: the instructions must
            return self.params
        choice = ToolChoice(mode=required) if self.tools else ToolChoice.function(FINAL_ANSWER)  # type: ignore[arg-type]
        return attrs.evolve(self.params, tool_choice=choice)

    @_specs.default
    def _default_specs(self) -> tuple[ToolSpec, ...]:
        specs = tuple(t.spec for t in self.tools)
        if self._mode != "tool":
            return specs
        assert self.output is not None
        if any(s.name == FINAL_ANSWER for s in specs):
            raise ConfigurationError(
                f"a tool is named {FINAL_ANSWER!r}, the name of the final-answer tool of output_mode='tool'; "
                "rename the tool or use output_mode='json_schema'"
            )
        return (*specs, self.output.tool_spec())

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
                params=self._params,
            )
        # Fast construction: the agent validated model, tools and params when it
        # was built, and the messages come from a validated state.
        return _model_call(self.model, (*self._system, *messages), self._specs, self._params)

    def value(self, state: RunState, /) -> Any:
        """The run's structured output as the agent's output type, or ``None`` if it has none.

        Raises:
            ConfigurationError: the agent has no ``output``.
        """
        if self.output is None:
            raise ConfigurationError("the agent has no output type; build it with Agent(..., output=T)")
        return None if state.value_json is None else self.output.load(state.value_json)

    # -- the Program protocol (what interpreters.run and stream drive) ----------

    def start(self, input: str | Message | Sequence[Message] | RunState, /) -> RunState:
        """The state a run on ``input`` starts from: text, a message, messages, or a
        `RunState` to resume.

        Raises:
            TypeError: ``input`` is none of these.
        """
        if isinstance(input, RunState):
            return input
        if isinstance(input, (str, Sequence, *MESSAGE_TYPES)):
            return RunState.start(input)
        raise TypeError(
            f"an agent's run starts from a str, a message, a sequence of messages or a RunState, got {input!r}"
        )

    def step(self, state: RunState, /) -> Effect[Any] | Done:
        """This agent's step function; see `agent_step`."""
        if (
            self.output is not None
            and state.stop is None
            and state.value_json is not None
            and step_completed(state.messages)
        ):
            return _DONE_OUTPUT
        return agent_step(self, state)

    def advance(self, state: RunState, effect: Effect[Any], result: Any, /) -> RunState:
        """Fold ``result`` into ``state``; see `tower_llm_fx.advance`.

        With an ``output``, a final reply is validated: a valid one sets
        ``value_json``, an invalid one is fed back to the model (see `fold_output`).
        """
        new = advance(state, effect, result)
        if self.output is None or type(effect) is not ModelCall:
            return new
        return fold_output(self, new)

    def finish(self, state: RunState, done: Done, /) -> RunState:
        """Record why the run stopped."""
        return finish(state, done)

    def conversation(self, state: RunState, /) -> RunState:
        """The state itself: an agent's state is its conversation."""
        return state

    def events(self, before: RunState | None, after: RunState, /) -> tuple[RunEvent, ...]:
        """`RunStarted` (naming this agent) at the start, `OutputReady` when a valid output arrived."""
        if before is None:
            return (RunStarted(agent=self.name, state=after),)
        if after.value_json is not None and after.model_calls > before.model_calls:
            return (OutputReady(step=before.steps + 1, value_json=after.value_json),)
        return ()


_DONE_NO_TOOL_CALLS = Done(reason=NO_TOOL_CALLS)
_DONE_OUTPUT = Done(reason=StopReason(kind="output", detail="the model gave a valid structured output"))


def fold_output(agent: Agent, state: RunState) -> RunState:
    """Validate the model reply just folded into ``state`` against ``agent.output`` (pure).

    A reply is an output attempt if it calls the final-answer tool (``"tool"``
    mode) or has no tool calls. Valid: ``value_json`` is set (and a final-answer
    call is answered). Invalid: the problems go back to the model as a tool
    result or a user message while `retry_output` allows; then it raises.

    Raises:
        OutputValidationError: the output is invalid and no retry is left.
    """
    spec = agent.output
    assert spec is not None
    mode = "tool" if agent._mode == "tool" else "json_schema"
    reply = state.messages[-1]
    assert isinstance(reply, AssistantMessage)
    finals = [c for c in reply.tool_calls if c.name == FINAL_ANSWER] if mode == "tool" else []
    if reply.tool_calls and not finals:
        return attrs.evolve(state, value_json=None)  # working with tools: not an answer yet
    raw = finals[0].arguments if finals else (reply.text or "")
    value_json, problems = spec.check(raw)
    if reply.refusal and not finals:
        value_json, problems = None, (f"the model refused: {reply.refusal}",)
    if value_json is None and not retry_output(state.output_retries, agent.max_output_retries):
        raise OutputValidationError(raw=raw, problems=problems, attempts=state.output_retries + 1)
    feedback = output_feedback(problems, mode=mode, called=bool(finals)) if value_json is None else ""  # type: ignore[arg-type]
    extra: tuple[Message, ...]
    if finals:
        first = feedback or "accepted"
        extra = tuple(
            ToolMessage(
                tool_call_id=c.id,
                content=first if i == 0 else f"ignored: only the first {FINAL_ANSWER} call counts",
            )
            for i, c in enumerate(finals)
        )
    else:
        extra = () if value_json is not None else (UserMessage(content=feedback),)
    messages = (*state.messages, *extra)
    completed = bool(reply.tool_calls) and not pending_tool_calls(messages)
    return attrs.evolve(
        state,
        messages=messages,
        steps=state.steps + (1 if completed else 0),
        value_json=value_json,
        output_retries=0 if value_json is not None else state.output_retries + 1,
    )


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
    output_: Any = attrs.field(default=None, alias="output")
    output_mode_: OutputMode = attrs.field(default="auto", alias="output_mode")
    max_output_retries_: int = attrs.field(default=2, alias="max_output_retries")
    dialect_: OutputDialect | None = attrs.field(default=None, alias="dialect")

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

    def output(self, output: Any, *, mode: OutputMode = "auto", max_retries: int = 2) -> AgentBuilder:
        """Ask for a structured output of type ``output`` (see docs/structured-output.md)."""
        return attrs.evolve(self, output=output, output_mode=mode, max_output_retries=max_retries)

    def dialect(self, dialect: OutputDialect | None) -> AgentBuilder:
        """Set the provider's dialect (``tower_llm_fx.openai.dialect(name)``)."""
        return attrs.evolve(self, dialect=dialect)

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
            output=self.output_,
            output_mode=self.output_mode_,
            max_output_retries=self.max_output_retries_,
            dialect=self.dialect_,
        )

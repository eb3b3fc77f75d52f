"""Conversation validation: would the model API accept this conversation?

Theory of operation:

* `validate_conversation` is a pure, total function from a sequence of
  messages (and a `ValidationPolicy`) to a tuple of `Violation` values, empty
  when the conversation is valid. It never raises and never allocates on the
  valid path of its fast scan. `validate_model_call` adds the request-level
  rules (tools, tool choice, parameter ranges) for a whole ``ModelCall``.
* Rule 1: the default policy accepts exactly what the OpenAI chat-completions
  API accepts, as far as that is decidable offline. Stricter or laxer
  policies are one `attrs.evolve` (or a preset) away.
* Rule 2: one defect, one violation. Rules are designed not to cascade: a tool
  message with an empty id still counts as *an* answer, a duplicated call id
  is expected once, a late tool result after an interruption is reported
  once per assistant turn. This is what makes the mutation property
  ``validate(mutate(valid)) == (that violation,)`` hold (see
  ``tower_llm_fx.strategies``).
* Rule 3: two implementations, one meaning. `accepts` is a tight,
  policy-specialised single pass that only ever says "certainly valid";
  anything unusual (including every violation) falls through to `report`,
  the readable reference implementation that explains what is wrong. Tests
  check that they agree.

Where things are: `Violation` and its kinds and explanations in
``_violations.py``; `ValidationPolicy` in ``_policy.py``; the
per-field checks in ``_checks.py``; `accepts` in
``_fast.py``; `report` (and tool-call windows) in
``_report.py``. This module holds the two entry points and the
request-level rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from tower_llm_fx._effects import ModelCall, ToolChoice
from tower_llm_fx._json import loads_bounded
from tower_llm_fx._tools import ToolSpec

from ._fast import accepts
from ._policy import OPENAI_MAX_STOP_SEQUENCES, OPENAI_MAX_TOOLS, ValidationPolicy
from ._report import report
from ._violations import Violation, ViolationKind, new_violation, violation

__all__ = ["validate_conversation", "validate_model_call"]

_DEFAULT = ValidationPolicy()


def validate_conversation(
    messages: Sequence[object],
    policy: ValidationPolicy = _DEFAULT,
    *,
    tools: Sequence[ToolSpec] = (),
) -> tuple[Violation, ...]:
    """Check ``messages`` against ``policy``; return the violations, ``()`` if valid.

    Pure and total: never raises, whatever ``messages`` holds (anything that is
    not a message is an ``unsupported_message`` violation). Cost is linear in
    the number of messages. ``tools`` is only used when
    ``policy.check_tool_schemas`` is on. Violations are ordered by message
    index; conversation-wide ones (``index=None``) come last.

    >>> from tower_llm_fx import AssistantMessage, ToolCallRequest, ToolMessage, UserMessage
    >>> call = ToolCallRequest(id="c1", name="add", arguments='{"a": 1}')
    >>> validate_conversation([UserMessage(content="hi"), AssistantMessage(tool_calls=(call,)),
    ...                        ToolMessage(tool_call_id="c1", content="2")])
    ()
    >>> [v.kind for v in validate_conversation([UserMessage(content="hi"),
    ...                                         AssistantMessage(tool_calls=(call,))])]
    ['missing_tool_response']
    """
    if accepts(messages, policy, tools):
        return ()
    return report(messages, policy, tools)


_CHOICE_MODES = frozenset({"auto", "none", "required", "any"})


def _clip(text: str, width: int = 80) -> str:
    # A hostile tool_choice may be megabytes long: quote its start only.
    shown = repr(text)
    return shown if len(shown) <= width else shown[: width - 4] + "...'"


def _tool_choice_problem(choice: str, names: set[str]) -> str | None:
    # ModelParams canonicalises tool_choice, but one built unchecked (or decoded by hand)
    # may hold any text: parse it bounded, and explain rather than raise.
    expected = 'use \'auto\', \'none\', \'required\' or {"type": "function", "function": {"name": ...}}'
    try:
        chosen_obj = loads_bounded(choice)
    except ValueError as exc:  # JSONDepthError too
        return f"tool_choice {_clip(choice)} is not valid JSON ({exc}); {expected}"
    if not isinstance(chosen_obj, dict):
        return f"tool_choice {_clip(choice)} is not a mode or a JSON object; {expected}"
    function = chosen_obj.get("function") if chosen_obj.get("type") == "function" else None
    chosen = function.get("name") if isinstance(function, dict) else None
    if function is not None and chosen not in names:
        return f"tool_choice names function {chosen!r}, which is not among the tools offered"
    return None


def _request_violations(call: ModelCall) -> list[Violation]:
    out: list[Violation] = []
    tools = call.tools
    if len(tools) > OPENAI_MAX_TOOLS:
        out.append(violation("too_many_tools", None, count=len(tools), limit=OPENAI_MAX_TOOLS))
    names: set[str] = set()
    for t in tools:
        if t.name in names:
            out.append(violation("duplicate_tool_name", None, name=t.name))
        names.add(t.name)
    problems: list[tuple[ViolationKind, str]] = []
    params = call.params
    choice: object = params.tool_choice
    if isinstance(choice, ToolChoice):
        if not tools:
            shown = choice.mode if choice.mode != "function" else f"function {choice.name!r}"
            problems.append(
                (
                    "invalid_tool_choice",
                    f"tool_choice is {shown} but the request offers no tools; drop tool_choice",
                )
            )
        elif choice.mode == "function" and choice.name not in names:
            problems.append(
                (
                    "invalid_tool_choice",
                    f"tool_choice names function {choice.name!r}, which is not among the tools offered",
                )
            )
    elif isinstance(choice, str):  # built unchecked or decoded by hand: any text
        if not tools:
            problems.append(
                (
                    "invalid_tool_choice",
                    f"tool_choice is {_clip(choice)} but the request offers no tools; drop tool_choice",
                )
            )
        elif choice not in _CHOICE_MODES:
            why = _tool_choice_problem(choice, names)
            if why is not None:
                problems.append(("invalid_tool_choice", why))
    if params.parallel_tool_calls is not None and not tools:
        problems.append(
            (
                "invalid_parameter",
                "parallel_tool_calls is only accepted when the request offers tools; drop it",
            )
        )
    for field, low, high in (
        ("temperature", 0.0, 2.0),
        ("top_p", 0.0, 1.0),
        ("presence_penalty", -2.0, 2.0),
        ("frequency_penalty", -2.0, 2.0),
    ):
        value = getattr(params, field)
        if value is not None and not low <= value <= high:
            problems.append(("invalid_parameter", f"{field} is {value}; it must be between {low} and {high}"))
    for field in ("max_tokens", "max_completion_tokens"):
        value = getattr(params, field)
        if value is not None and value < 1:
            problems.append(("invalid_parameter", f"{field} is {value}; it must be at least 1"))
    if params.stop is not None and len(params.stop) > OPENAI_MAX_STOP_SEQUENCES:
        problems.append(
            (
                "invalid_parameter",
                f"stop has {len(params.stop)} sequences; at most {OPENAI_MAX_STOP_SEQUENCES} are accepted",
            )
        )
    if not call.model:
        problems.append(("invalid_parameter", "model is empty; name a model such as 'gpt-4o-mini'"))
    out.extend(new_violation(kind, None, why) for kind, why in problems)
    return out


def validate_model_call(call: ModelCall, policy: ValidationPolicy = _DEFAULT) -> tuple[Violation, ...]:
    """Check a whole ``ModelCall``: its conversation (with its tools) and the request around it.

    Request-level rules (index ``None``): at most 128 tools, unique tool names,
    ``tool_choice`` and ``parallel_tool_calls`` only with tools and naming an
    offered tool, parameters in the ranges the API accepts.

    >>> from tower_llm_fx import ModelCall, ModelParams, UserMessage
    >>> call = ModelCall(model="m", messages=(UserMessage(content="hi"),),
    ...                  params=ModelParams(temperature=3))
    >>> [str(v) for v in validate_model_call(call)]
    ['conversation: temperature is 3; it must be between 0.0 and 2.0 [invalid_parameter]']
    """
    conversation = validate_conversation(call.messages, policy, tools=call.tools)
    request = _request_violations(call)
    if not request:
        return conversation
    return (*conversation, *request)

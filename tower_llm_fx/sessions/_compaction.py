"""Auto-compaction: pure decisions on when and what to compact in a conversation.

Theory of operation:

* Rule 1: compaction replaces one contiguous *range* of the conversation with one
  user message (a summary, a notice that messages were dropped, or the text of
  your own function). The range starts after the leading system messages and
  ends where the last ``keep_last_turns`` turns begin.
* Rule 2: a *turn* starts at every user, system or assistant message; tool
  messages belong to the turn of the assistant message that called them. Range
  boundaries are always turn starts, so a tool call and its result are never
  separated: the compacted conversation is valid whenever the original was.
* Rule 3: everything here is pure. Summarising needs a model, so
  `summary_request` only *describes* the ``ModelCall``; the session step emits
  it as an effect (it is recorded and replays exactly) and folds the reply back
  with `summary_message`. Originals are never destroyed: the session log keeps
  them and records the compaction next to them (see ``_session.py``).

Imports: attrs and the core only; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, final

import attrs
from attrs import validators as v

from tower_llm_fx._content import transcript_text
from tower_llm_fx._effects import ModelCall, ModelParams
from tower_llm_fx._errors import CompactionError, ConfigurationError
from tower_llm_fx._messages import AssistantMessage, Message, SystemMessage, ToolMessage, UserMessage
from tower_llm_fx._results import ModelReply

__all__ = [
    "DEFAULT_SUMMARY_PROMPT",
    "CompactionPlan",
    "CompactionPolicy",
    "CompactionStrategy",
    "CustomCompaction",
    "DropOldest",
    "Summarise",
    "apply_compaction",
    "compact",
    "compaction_due",
    "custom_compaction",
    "drop_oldest",
    "estimate_tokens",
    "plan_compaction",
    "render_transcript",
    "summarise",
    "summary_message",
    "summary_request",
    "turn_starts",
]

DEFAULT_SUMMARY_PROMPT = (
    "You compact conversations. Write a concise summary of the conversation you are given, "
    "preserving: 1. the user's original intent and requirements; 2. key decisions, conclusions "
    "and action items; 3. important context, constraints and technical details; 4. errors and "
    "how they were resolved; 5. the current state of any ongoing task. Write a clear narrative "
    "that lets the conversation continue without the original messages."
)
"""The system prompt of a summarisation call (after tower-llm's default prompt)."""

_SUMMARY_INSTRUCTION = "Summarise the conversation above following your instructions."


def estimate_tokens(message: Message) -> int:
    """Estimate the tokens of one message: 4 per message plus one per 4 characters.

    Unlike tower-llm's counter, tool call names, arguments and ids count too.

    >>> from tower_llm_fx import user
    >>> estimate_tokens(user("12345678"))
    6
    """
    chars = 0
    content = getattr(message, "content", None)
    if isinstance(content, str):
        chars += len(content)
    if isinstance(message, AssistantMessage):
        if message.refusal:
            chars += len(message.refusal)
        for call in message.tool_calls:
            chars += len(call.id) + len(call.name) + len(call.arguments)
    elif isinstance(message, ToolMessage):
        chars += len(message.tool_call_id)
    return 4 + (chars + 3) // 4


def _positive_or_none(_inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigurationError(f"{attribute.name} must be a positive int or None, got {value!r}")


def _text(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{attribute.name} must be a non-empty string, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class DropOldest:
    """Strategy: drop the range, leaving a short notice (a user message) in its place.

    ``notice`` may use ``{count}``, the number of messages dropped.
    """

    notice: str = attrs.field(
        default="[{count} earlier messages were removed to fit the context window]", validator=_text
    )

    def __repr__(self) -> str:
        return "drop_oldest()"


@final
@attrs.frozen(kw_only=True)
class Summarise:
    """Strategy: ask ``model`` for a summary of the range (one recorded ``ModelCall``)."""

    model: str = attrs.field(validator=_text)
    prompt: str = attrs.field(default=DEFAULT_SUMMARY_PROMPT, validator=_text)
    params: ModelParams = attrs.field(factory=ModelParams, validator=v.instance_of(ModelParams))
    prefix: str = attrs.field(default="[Previous conversation summary]: ", validator=v.instance_of(str))

    def __repr__(self) -> str:
        return f"summarise({self.model!r})"


def _callable(_inst: object, _attr: object, value: Callable[[tuple[Message, ...]], str]) -> None:
    if not callable(value):
        raise ConfigurationError(
            f"custom_compaction() needs a function messages -> str (the replacement text), got {value!r}"
        )


@final
@attrs.frozen(kw_only=True)
class CustomCompaction:
    """Strategy: your pure function turns the range into the replacement text."""

    fn: Callable[[tuple[Message, ...]], str] = attrs.field(validator=_callable)

    def __repr__(self) -> str:
        return f"custom_compaction({getattr(self.fn, '__qualname__', repr(self.fn))})"


CompactionStrategy: TypeAlias = DropOldest | Summarise | CustomCompaction
"""How a range is replaced: `drop_oldest`, `summarise` or `custom_compaction`."""


def drop_oldest(notice: str | None = None) -> DropOldest:
    """Drop the oldest messages, leaving a notice (``{count}`` = messages dropped).

    >>> drop_oldest()
    drop_oldest()
    """
    return DropOldest() if notice is None else DropOldest(notice=notice)


def summarise(
    model: str, *, prompt: str = DEFAULT_SUMMARY_PROMPT, params: ModelParams | None = None
) -> Summarise:
    """Summarise the oldest messages with ``model`` (the call is an effect, so it is recorded).

    >>> summarise("gpt-4o-mini")
    summarise('gpt-4o-mini')
    """
    return Summarise(model=model, prompt=prompt, params=params or ModelParams())


def custom_compaction(fn: Callable[[tuple[Message, ...]], str]) -> CustomCompaction:
    """Replace the oldest messages with the text ``fn(range)`` returns; ``fn`` must be pure."""
    return CustomCompaction(fn=fn)


def _strategy(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, (DropOldest, Summarise, CustomCompaction)):
        raise ConfigurationError(
            f"strategy must be drop_oldest(), summarise(model) or custom_compaction(fn), got {value!r}"
        )


def _fraction(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
        raise ConfigurationError(f"window_fraction must be a number in (0, 1], got {value!r}")


def _keep(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigurationError(f"keep_last_turns must be an int >= 0, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class CompactionPolicy:
    """When to compact a conversation and how.

    Compaction triggers when *any* threshold is exceeded: the estimated tokens
    exceed ``max_tokens``, the message count exceeds ``max_messages``, or the
    tokens exceed ``window_fraction`` of ``context_window``. It keeps the
    leading system messages and the last ``keep_last_turns`` turns, and
    replaces what lies between with one message made by ``strategy``.

    Args:
        max_tokens: compact when the estimate is above this.
        max_messages: compact when the conversation has more messages.
        context_window: the model's context size in tokens; with ``window_fraction``
            (default 0.8) it triggers at a percentage of the window.
        keep_last_turns: turns kept verbatim; a turn is a user message, or one
            model reply together with the tool results answering it.
        strategy: `drop_oldest` (default), `summarise` or `custom_compaction`.
        count_tokens: tokens of one message (default `estimate_tokens`).
        max_failures: after this many empty summaries in one run, compaction
            is given up for the rest of that run (the originals are kept).

    >>> policy = CompactionPolicy(max_messages=4, keep_last_turns=1)
    >>> from tower_llm_fx import user, assistant
    >>> [m.content for m in compact([user("a"), assistant("b"), user("c"), assistant("d"), user("e")], policy)]
    ['[4 earlier messages were removed to fit the context window]', 'e']
    """

    max_tokens: int | None = attrs.field(default=None, validator=_positive_or_none)
    max_messages: int | None = attrs.field(default=None, validator=_positive_or_none)
    context_window: int | None = attrs.field(default=None, validator=_positive_or_none)
    window_fraction: float = attrs.field(default=0.8, validator=_fraction)
    keep_last_turns: int = attrs.field(default=4, validator=_keep)
    strategy: CompactionStrategy = attrs.field(factory=DropOldest, validator=_strategy)
    count_tokens: Callable[[Message], int] = attrs.field(default=estimate_tokens)
    max_failures: int = attrs.field(default=2, validator=[v.instance_of(int), v.ge(1)])

    def __attrs_post_init__(self) -> None:
        if self.max_tokens is None and self.max_messages is None and self.context_window is None:
            raise ConfigurationError(
                "a CompactionPolicy needs a trigger: set max_tokens, max_messages or context_window"
            )

    def tokens(self, messages: Sequence[Message]) -> int:
        """The token estimate of ``messages`` under this policy's counter."""
        count = self.count_tokens
        return sum(count(m) for m in messages)


def compaction_due(policy: CompactionPolicy, tokens: int, count: int) -> bool:
    """Whether a conversation of ``count`` messages and ``tokens`` tokens should be compacted.

    >>> compaction_due(CompactionPolicy(context_window=1000), tokens=801, count=3)
    True
    """
    if policy.max_tokens is not None and tokens > policy.max_tokens:
        return True
    if policy.max_messages is not None and count > policy.max_messages:
        return True
    return policy.context_window is not None and tokens > policy.window_fraction * policy.context_window


def turn_starts(messages: Sequence[Message], start: int = 0) -> list[int]:
    """Indices ``>= start`` where a turn begins (every message but a tool message).

    >>> from tower_llm_fx import user, assistant, ToolMessage, ToolCallRequest
    >>> call = ToolCallRequest(id="c", name="f")
    >>> turn_starts([user("q"), assistant(None, call), ToolMessage(tool_call_id="c", content="1"), assistant("a")])
    [0, 1, 3]
    """
    return [i for i in range(start, len(messages)) if not isinstance(messages[i], ToolMessage)]


@final
@attrs.frozen(kw_only=True)
class CompactionPlan:
    """What to compact: ``messages[start:end]`` becomes one message.

    ``message`` is the replacement when the strategy needs no model; it is
    ``None`` while a summary still has to be asked for.
    """

    start: int = attrs.field(validator=[v.instance_of(int), v.ge(0)])
    end: int = attrs.field(validator=[v.instance_of(int), v.ge(0)])
    tokens_before: int = attrs.field(validator=[v.instance_of(int), v.ge(0)])
    message: UserMessage | None = attrs.field(default=None, validator=v.optional(v.instance_of(UserMessage)))

    def __attrs_post_init__(self) -> None:
        if self.end - self.start < 2:
            raise ValueError(f"a compaction plan covers at least 2 messages, got [{self.start}, {self.end})")


def _replacement(strategy: CompactionStrategy, span: tuple[Message, ...]) -> UserMessage | None:
    if isinstance(strategy, DropOldest):
        return UserMessage(content=strategy.notice.replace("{count}", str(len(span))))
    if isinstance(strategy, CustomCompaction):
        text = strategy.fn(span)
        if not isinstance(text, str):
            raise CompactionError(
                f"{strategy!r} returned a {type(text).__name__}; a custom compaction function must "
                "return the replacement text as a str"
            )
        return UserMessage(content=text)
    return None


def plan_compaction(
    messages: Sequence[Message],
    policy: CompactionPolicy,
    *,
    tokens: int | None = None,
    limit: int | None = None,
) -> CompactionPlan | None:
    """Decide whether and what to compact (pure); ``None`` means leave it as it is.

    Args:
        messages: the conversation.
        policy: thresholds, what to keep, and the strategy.
        tokens: the token estimate of ``messages`` if already known.
        limit: the range must end at or before this index (a session only
            compacts messages it has already saved).

    A plan needs at least two messages to replace, so compaction always makes
    progress and never loops on its own output.
    """
    n = len(messages)
    if tokens is None:
        tokens = policy.tokens(messages)
    if not compaction_due(policy, tokens, n):
        return None
    head = 0
    while head < n and isinstance(messages[head], SystemMessage):
        head += 1
    starts = turn_starts(messages, head)
    keep = policy.keep_last_turns
    tail = n if keep == 0 else (starts[-keep] if len(starts) >= keep else head)
    end_limit = tail if limit is None else min(tail, limit)
    end = head
    for s in reversed([*starts, n]):
        if s <= end_limit:
            end = s
            break
    if end - head < 2:
        return None
    span = tuple(messages[head:end])
    return CompactionPlan(
        start=head, end=end, tokens_before=tokens, message=_replacement(policy.strategy, span)
    )


def render_transcript(messages: Sequence[Message]) -> str:
    """A plain-text transcript, the form in which a summariser sees the range.

    >>> from tower_llm_fx import user, assistant, ToolCallRequest, ToolMessage
    >>> print(render_transcript([user("2+3?"), assistant(None, ToolCallRequest(id="c1", name="add", arguments='{"a":2}')),
    ...                          ToolMessage(tool_call_id="c1", content="5"), assistant("5")]))
    user: 2+3?
    assistant called add({"a":2}) [c1]
    tool result [c1]: 5
    assistant: 5
    """
    lines: list[str] = []
    for m in messages:
        if isinstance(m, AssistantMessage):
            if m.content is not None:
                lines.append(f"assistant: {transcript_text(m.content)}")
            if m.refusal is not None:
                lines.append(f"assistant refused: {m.refusal}")
            for c in m.tool_calls:
                lines.append(f"assistant called {c.name}({c.arguments}) [{c.id}]")
        elif isinstance(m, ToolMessage):
            lines.append(f"tool result [{m.tool_call_id}]: {transcript_text(m.content)}")
        else:
            lines.append(f"{m.role}: {transcript_text(m.content)}")
    return "\n".join(lines)


def summary_request(strategy: Summarise, span: Sequence[Message]) -> ModelCall:
    """The ``ModelCall`` asking ``strategy.model`` to summarise ``span``.

    The range is sent as a transcript in one user message, so the request is
    valid for any provider whatever tool calls the range holds.
    """
    return ModelCall(
        model=strategy.model,
        messages=(
            SystemMessage(content=strategy.prompt),
            UserMessage(content=f"{render_transcript(span)}\n\n{_SUMMARY_INSTRUCTION}"),
        ),
        params=strategy.params,
    )


def summary_message(strategy: Summarise, reply: ModelReply) -> UserMessage | None:
    """The replacement message for a summary reply; ``None`` if the reply has no text.

    An empty summary never deletes the range (tower-llm did): the caller keeps
    the originals.
    """
    text = reply.message.text
    if text is None or not text.strip():
        return None
    return UserMessage(content=f"{strategy.prefix}{text.strip()}")


def apply_compaction(
    messages: Sequence[Message], plan: CompactionPlan, message: UserMessage
) -> tuple[Message, ...]:
    """``messages`` with ``messages[plan.start:plan.end]`` replaced by ``message``."""
    if plan.end > len(messages):
        raise ValueError(f"the plan covers [{plan.start}, {plan.end}) but there are {len(messages)} messages")
    return (*messages[: plan.start], message, *messages[plan.end :])


def compact(
    messages: Sequence[Message], policy: CompactionPolicy, *, summary: str | None = None
) -> tuple[Message, ...]:
    """Compact ``messages`` now if ``policy`` says so (pure); otherwise return them unchanged.

    With the `summarise` strategy pass the summary text as ``summary`` (for
    example a model's reply to `summary_request`); the session step does this
    for you with a recorded model call.

    Raises:
        CompactionError: the strategy is `summarise` and no ``summary`` was given.
    """
    plan = plan_compaction(messages, policy)
    if plan is None:
        return tuple(messages)
    message = plan.message
    if message is None:
        strategy = policy.strategy
        if summary is None or not isinstance(strategy, Summarise):
            raise CompactionError(
                "the summarise strategy needs the summary text: call summary_request(...) to get the "
                "ModelCall, perform it, and pass the reply's text as compact(..., summary=text)"
            )
        message = UserMessage(content=f"{strategy.prefix}{summary}")
    return apply_compaction(messages, plan, message)

"""Throughput of validate_conversation on long conversations (target: >= 1,000,000 messages/s).

Conversations have the shape agent runs produce: a system prompt, then turns of
a user message, an assistant message calling one or two tools, the tool
results, and a text reply. Each size is timed best-of-N in one run, so the
figures show the cost is linear in the length. Also shown: stricter policies,
content parts, and the explaining path (taken when a conversation is unusual or invalid).

    uv run python bench/validation.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs

import tower_llm_fx as fx
import tower_llm_fx.validation


def conversation(n: int) -> tuple[fx.Message, ...]:
    """About ``n`` messages (exactly ``n`` for multiples of 11, plus the system prompt)."""
    out: list[fx.Message] = [fx.system("You are a calculator.")]
    k = 0
    while len(out) < n:
        a = fx.ToolCallRequest(id=f"call_{k}", name="add", arguments='{"a": 1, "b": 2}')
        b = fx.ToolCallRequest(id=f"call_{k + 1}", name="mul", arguments='{"a": 3, "b": 4}')
        c = fx.ToolCallRequest(id=f"call_{k + 2}", name="add", arguments='{"a": 5, "b": 6}')
        k += 3
        out += [
            fx.user("What is 1 + 2?"),
            fx.assistant(None, a),
            fx.ToolMessage(tool_call_id=a.id, content="3"),
            fx.assistant("3."),
            fx.user("And 3 * 4 and 5 + 6?"),
            fx.assistant(None, b, c),
            fx.ToolMessage(tool_call_id=b.id, content="12"),
            fx.ToolMessage(tool_call_id=c.id, content="11"),
            fx.assistant("12 and 11."),
            fx.user("Thanks!"),
            fx.assistant("You're welcome."),
        ]
    return tuple(out[:n])


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def row(
    label: str, messages: tuple[fx.Message, ...], policy: fx.validation.ValidationPolicy, repeat: int
) -> float:
    assert fx.validation.validate_conversation(messages, policy) == (), label
    seconds = best_of(lambda: fx.validation.validate_conversation(messages, policy), repeat)
    rate = len(messages) / seconds
    print(f"  {label:<34} {len(messages):>9,} msgs  {seconds * 1e3:>10.3f} ms  {rate:>13,.0f} msgs/s")
    return rate


def main() -> None:
    default = fx.validation.ValidationPolicy()
    sizes = {100: 2000, 10_000: 50, 1_000_000: 5}
    convos = {n: conversation(n) for n in sizes}

    print("validate_conversation, default policy (what the OpenAI API accepts):")
    rates = [row(f"{n:,} messages", convos[n], default, r) for n, r in sizes.items()]
    per_msg = [1e9 / r for r in rates]
    print(f"  ns per message: {', '.join(f'{x:.0f}' for x in per_msg)}  (flat = linear cost)")
    print(
        f"  target >= 1,000,000 msgs/s on long conversations: {'MET' if min(rates[1:]) >= 1e6 else 'MISSED'}"
    )

    print("\nother policies, 1,000,000 messages:")
    big = convos[1_000_000]
    row("tower_llm() preset", big, fx.validation.ValidationPolicy.tower_llm(), 3)
    no_schemas = attrs.evolve(fx.validation.ValidationPolicy.strict(), check_tool_schemas=False)
    row("strict() without schemas", big, no_schemas, 3)

    print("\ncontent parts (every user message holds text and an image), 1,000,000 messages:")
    image = fx.image("https://example.com/cat.png", detail="low")
    with_parts = tuple(
        fx.user(fx.text_of(m.content), image) if isinstance(m, fx.UserMessage) else m for m in big
    )
    row("default policy", with_parts, default, 3)

    print("\nthe explaining path (out-of-order results: valid, but not the fast shape):")
    for n in (10_000, 1_000_000):
        messages = list(convos[n])
        # swap the two tool results of every parallel turn
        for i in range(len(messages) - 1):
            if (
                isinstance(messages[i], fx.ToolMessage)
                and isinstance(messages[i + 1], fx.ToolMessage)
                and isinstance(messages[i - 1], fx.AssistantMessage)
            ):
                messages[i], messages[i + 1] = messages[i + 1], messages[i]
        row(f"{n:,} messages", tuple(messages), default, 3 if n > 10_000 else 20)


if __name__ == "__main__":
    main()

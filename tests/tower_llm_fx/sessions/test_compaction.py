"""Compaction policy and pure compaction: triggers, ranges, strategies, validity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.sessions
from tests.laws._conversations import check_valid, conversations
from tower_llm_fx.sessions._compaction import compaction_due, render_transcript, turn_starts


def call(id: str) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name="add", arguments='{"a": 1}')


def tool_step(*ids: str) -> list[fx.Message]:
    return [
        fx.AssistantMessage(tool_calls=tuple(call(i) for i in ids)),
        *(fx.ToolMessage(tool_call_id=i, content="2") for i in ids),
    ]


CONVERSATION: tuple[fx.Message, ...] = (
    fx.system("rules"),
    fx.user("q1"),
    *tool_step("a", "b"),
    fx.assistant("r1"),
    fx.user("q2"),
    *tool_step("c"),
    fx.assistant("r2"),
)


def test_policy_needs_a_trigger() -> None:
    with pytest.raises(fx.ConfigurationError, match="needs a trigger"):
        fx.sessions.CompactionPolicy()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_messages": -1}, "max_messages"),
        ({"context_window": 100, "window_fraction": 1.5}, "window_fraction"),
        ({"max_messages": 3, "keep_last_turns": -1}, "keep_last_turns"),
        ({"max_messages": 3, "strategy": "summarise"}, "strategy must be"),
    ],
)
def test_policy_validates_its_fields(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(fx.ConfigurationError, match=match):
        fx.sessions.CompactionPolicy(**kwargs)  # type: ignore[arg-type]


def test_triggers_are_strict_and_any_of_them_fires() -> None:
    p = fx.sessions.CompactionPolicy(
        max_tokens=100, max_messages=10, context_window=1000, window_fraction=0.5
    )
    assert not compaction_due(p, tokens=100, count=10)
    assert compaction_due(p, tokens=101, count=1)
    assert compaction_due(p, tokens=0, count=11)
    window = fx.sessions.CompactionPolicy(context_window=1000, window_fraction=0.5)
    assert not compaction_due(window, tokens=500, count=1)
    assert compaction_due(window, tokens=501, count=1)


def test_token_estimate_counts_tool_calls_and_ids() -> None:
    plain = fx.sessions.estimate_tokens(fx.AssistantMessage(content="x" * 40))
    with_call = fx.sessions.estimate_tokens(
        fx.AssistantMessage(
            content="x" * 40, tool_calls=(fx.ToolCallRequest(id="c1", name="add", arguments="{}" * 20),)
        )
    )
    assert plain == 4 + 10
    assert with_call == 4 + (40 + 2 + 3 + 40 + 3) // 4
    assert fx.sessions.estimate_tokens(fx.ToolMessage(tool_call_id="abcd", content="")) == 5


def test_turns_never_start_at_a_tool_message() -> None:
    assert turn_starts(CONVERSATION) == [0, 1, 2, 5, 6, 7, 9]


def test_plan_keeps_system_and_last_turns_and_never_splits_tool_pairs() -> None:
    policy = fx.sessions.CompactionPolicy(max_messages=5, keep_last_turns=3)
    plan = fx.sessions.plan_compaction(CONVERSATION, policy)
    assert plan is not None
    assert (plan.start, plan.end) == (1, 6)  # q1 + tool step + r1; the last 3 turns are q2, step, r2
    assert plan.message == fx.user("[5 earlier messages were removed to fit the context window]")
    out = fx.sessions.compact(CONVERSATION, policy)
    assert out[0] == fx.system("rules")
    assert out[2:] == CONVERSATION[6:]
    check_valid(out)


def test_plan_respects_the_limit_and_needs_two_messages() -> None:
    policy = fx.sessions.CompactionPolicy(max_messages=1, keep_last_turns=0)
    # the limit 4 falls inside a tool group: the end moves back to its turn start (2): too little
    assert fx.sessions.plan_compaction(CONVERSATION, policy, limit=4) is None
    limited = fx.sessions.plan_compaction(CONVERSATION, policy, limit=6)
    assert limited is not None and (limited.start, limited.end) == (1, 6)
    assert fx.sessions.plan_compaction(CONVERSATION, fx.sessions.CompactionPolicy(max_messages=100)) is None


def test_summarise_strategy_describes_a_model_call_and_keeps_originals_on_empty_reply() -> None:
    strategy = fx.sessions.summarise("small-model")
    policy = fx.sessions.CompactionPolicy(max_messages=5, keep_last_turns=3, strategy=strategy)
    plan = fx.sessions.plan_compaction(CONVERSATION, policy)
    assert plan is not None and plan.message is None
    request = fx.sessions.summary_request(strategy, CONVERSATION[plan.start : plan.end])
    assert request.model == "small-model"
    assert request.tools == ()
    assert request.messages[0] == fx.system(fx.sessions.DEFAULT_SUMMARY_PROMPT)
    transcript = str(request.messages[1].content)
    assert "assistant called add" in transcript
    assert "tool result [a]: 2" in transcript
    empty = fx.ModelReply(message=fx.AssistantMessage(content="  "))
    assert fx.sessions.summary_message(strategy, empty) is None
    ok = fx.sessions.summary_message(strategy, fx.ModelReply(message=fx.assistant("they added")))
    assert ok == fx.user("[Previous conversation summary]: they added")
    out = fx.sessions.compact(CONVERSATION, policy, summary="they added")
    assert out[1] == fx.user("[Previous conversation summary]: they added")
    with pytest.raises(fx.sessions.CompactionError, match="needs the summary text"):
        fx.sessions.compact(CONVERSATION, policy)


def test_custom_strategy_gets_the_range_and_must_return_text() -> None:
    seen: list[int] = []

    def shorten(span: tuple[fx.Message, ...]) -> str:
        seen.append(len(span))
        return f"{len(span)} messages about arithmetic"

    policy = fx.sessions.CompactionPolicy(
        max_messages=5, keep_last_turns=3, strategy=fx.sessions.custom_compaction(shorten)
    )
    assert fx.sessions.compact(CONVERSATION, policy)[1] == fx.user("5 messages about arithmetic")
    assert seen == [5]
    bad = fx.sessions.CompactionPolicy(
        max_messages=5,
        strategy=fx.sessions.custom_compaction(lambda span: None),  # type: ignore[arg-type,return-value]
    )
    with pytest.raises(fx.sessions.CompactionError, match="must return the replacement text"):
        fx.sessions.compact(CONVERSATION, bad)


def test_reprs_say_how_they_were_built() -> None:
    assert repr(fx.sessions.drop_oldest()) == "drop_oldest()"
    assert repr(fx.sessions.summarise("m")) == "summarise('m')"
    assert repr(fx.sessions.custom_compaction(render_transcript)) == "custom_compaction(render_transcript)"


policies = st.builds(
    fx.sessions.CompactionPolicy,
    max_messages=st.integers(1, 12),
    keep_last_turns=st.integers(0, 5),
    strategy=st.sampled_from(
        [fx.sessions.drop_oldest(), fx.sessions.custom_compaction(lambda span: f"{len(span)} gone")]
    ),
)


@given(conversations(), policies)
def test_compaction_keeps_a_valid_conversation_valid(
    conversation: tuple[fx.Message, ...], policy: fx.sessions.CompactionPolicy
) -> None:
    check_valid(conversation)
    out = fx.sessions.compact(conversation, policy)
    check_valid(out)
    plan = fx.sessions.plan_compaction(conversation, policy)
    if plan is None:
        assert out == conversation
        return
    assert len(out) < len(conversation)
    assert out[: plan.start] == conversation[: plan.start]
    assert all(isinstance(m, fx.SystemMessage) for m in out[: plan.start])
    assert out[plan.start + 1 :] == conversation[plan.end :]
    last = conversation[plan.end - 1]
    assert not (isinstance(last, fx.AssistantMessage) and last.tool_calls), "the range ends mid tool group"
    kept_turns = len(turn_starts(conversation, plan.end))
    assert kept_turns >= min(policy.keep_last_turns, len(turn_starts(conversation, plan.start)))


@given(conversations(), st.integers(1, 6), st.text(min_size=1, max_size=10))
def test_repeated_compaction_terminates_and_stays_valid(
    conversation: tuple[fx.Message, ...], keep: int, summary: str
) -> None:
    policy = fx.sessions.CompactionPolicy(
        max_messages=2, keep_last_turns=keep, strategy=fx.sessions.summarise("m")
    )
    current = conversation
    for _ in range(len(conversation) + 1):
        nxt = fx.sessions.compact(current, policy, summary=summary)
        check_valid(nxt)
        if nxt == current:
            break
        assert len(nxt) < len(current)
        current = nxt
    else:
        pytest.fail("compaction did not reach a fixed point")

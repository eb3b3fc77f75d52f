"""Input filters (``group/_filters.py``): `check_tool_pairs`, `last_messages`,
`without_tool_calls`, filters one after the other, and the compacting filter
(drop-oldest and summarising)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.sessions
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.group._filters import CompactFilter, ThenFilter, identity_filter


def test_a_summarising_compaction_must_be_outermost() -> None:
    compaction = fx.sessions.CompactionPolicy(max_messages=1, strategy=fx.sessions.summarise("m"))
    policy = fx.group.filtered_handoff(
        fx.group.compacting_handoff(fx.group.handoff_to("b"), compaction), fx.group.last_messages(3)
    )
    f = policy.input_filter(fx.group.HandoffRecord(source="a", target="b", via="handoff_to_b", at=0, step=0))
    assert f is not None
    with pytest.raises(fx.ConfigurationError, match="outermost"):
        f((fx.user("x"),))


# --------------------------------------------------------------------------- filters


def _call(i: int) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=f"c{i}", name="t")


@st.composite
def conversations(draw: st.DrawFn) -> tuple[fx.Message, ...]:
    """Valid conversations: optional system messages, then user / text / tool turns."""
    out: list[fx.Message] = [fx.system("s")] * draw(st.integers(0, 2))
    n = 0
    for kind in draw(st.lists(st.sampled_from(["user", "text", "tools"]), max_size=12)):
        if kind == "user":
            out.append(fx.user("u"))
        elif kind == "text":
            out.append(fx.assistant("a"))
        else:
            calls = [_call(n + i) for i in range(draw(st.integers(1, 3)))]
            n += len(calls)
            out.append(fx.assistant(draw(st.sampled_from([None, "x"])), *calls))
            out.extend(fx.ToolMessage(tool_call_id=c.id, content="r") for c in calls)
    return tuple(out)


@given(conversations(), st.integers(1, 20))
def test_last_messages_keeps_system_prefix_and_tool_pairs(messages: tuple[fx.Message, ...], n: int) -> None:
    kept = fx.group.last_messages(n)(messages)
    assert fx.group.check_tool_pairs(kept) == kept
    system = [m for m in messages if isinstance(m, fx.SystemMessage)]
    assert list(kept[: len(system)]) == system
    rest = kept[len(system) :]
    assert rest == messages[len(messages) - len(rest) :]  # a suffix of the conversation
    assert len(rest) >= min(n, len(messages) - len(system))


@given(conversations())
def test_without_tool_calls_leaves_no_tool_traffic(messages: tuple[fx.Message, ...]) -> None:
    out = fx.group.without_tool_calls(messages)
    assert fx.group.check_tool_pairs(out) == out
    assert not any(isinstance(m, fx.ToolMessage) for m in out)
    assert not any(isinstance(m, fx.AssistantMessage) and m.tool_calls for m in out)
    texts = [m.content for m in messages if not isinstance(m, fx.ToolMessage) and m.content is not None]
    assert [m.content for m in out] == texts


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ((fx.ToolMessage(tool_call_id="c0", content="x"),), "no preceding"),
        ((fx.assistant(None, _call(0)), fx.user("u")), "not answered before messages"),
        ((fx.assistant(None, _call(0)),), "not answered"),
        ((fx.assistant(None, _call(0)), fx.ToolMessage(tool_call_id="c0", content="x"),
          fx.ToolMessage(tool_call_id="c0", content="x")), "no preceding"),
    ],
)  # fmt: skip
def test_check_tool_pairs_diagnoses(messages: tuple[fx.Message, ...], problem: str) -> None:
    with pytest.raises(fx.ConfigurationError, match=problem):
        fx.group.check_tool_pairs(messages)


def test_last_messages_needs_a_positive_count() -> None:
    with pytest.raises(fx.ConfigurationError, match="positive int"):
        fx.group.last_messages(0)
    assert repr(fx.group.last_messages(3)) == "last_messages(3)"


# --------------------------------------------------------------------------- check_tool_pairs

PAIR_KINDS: list[fx.validation.ViolationKind] = [
    "missing_tool_response",
    "orphan_tool_message",
    "unknown_tool_response",
    "duplicate_tool_response",
    "tool_responses_not_contiguous",
    "empty_tool_message_id",
]


def test_check_tool_pairs_returns_a_tuple_and_names_where_it_looked() -> None:
    answered: list[fx.Message] = [
        fx.user("q"),
        fx.assistant(None, _call(1)),
        fx.ToolMessage(tool_call_id="c1", content="r"),
    ]
    assert fx.group.check_tool_pairs(answered) == tuple(answered)
    with pytest.raises(fx.ConfigurationError, match=r"^the view for 'tech': tool call\(s\) \['c1'\]"):
        fx.group.check_tool_pairs(answered[:2], where="the view for 'tech'")


@given(fxst.conversations(tool_call_density=0.8))
def test_conversations_valid_for_the_api_keep_their_tool_pairs(messages: tuple[fx.Message, ...]) -> None:
    """The default policy (the API's rules) forbids every way of splitting a pair."""
    assert fx.group.check_tool_pairs(messages) == messages


@given(fxst.mutations(kinds=PAIR_KINDS))
def test_every_way_of_splitting_a_pair_is_caught(m: fxst.Mutation) -> None:
    with pytest.raises(fx.ConfigurationError, match=r"keep tool call/result pairs together|not answered"):
        fx.group.check_tool_pairs(m.messages)


# --------------------------------------------------------------------------- without_tool_calls, last_messages


def test_without_tool_calls_keeps_the_text_and_refusals_of_assistant_turns() -> None:
    messages = (
        fx.user("q"),
        fx.AssistantMessage(content="Checking.", tool_calls=(_call(1),)),
        fx.ToolMessage(tool_call_id="c1", content="r"),
        fx.AssistantMessage(refusal="No.", tool_calls=(_call(2),)),
        fx.ToolMessage(tool_call_id="c2", content="r"),
        fx.AssistantMessage(tool_calls=(_call(3),)),
        fx.ToolMessage(tool_call_id="c3", content="r"),
    )
    assert fx.group.without_tool_calls(messages) == (
        fx.user("q"),
        fx.AssistantMessage(content="Checking."),
        fx.AssistantMessage(refusal="No."),
    )


def test_last_messages_keeps_short_histories_whole() -> None:
    history = (fx.system("a"), fx.system("b"), fx.user("q"), fx.assistant("r"))
    assert fx.group.last_messages(10)(history) == history
    assert fx.group.last_messages(1)(history) == (fx.system("a"), fx.system("b"), fx.assistant("r"))
    assert fx.group.last_messages(1)(history[:2]) == history[:2]
    assert fx.group.last_messages(1)(()) == ()


@pytest.mark.parametrize("n", [True, -1, 2.0, "3"])
def test_last_messages_rejects_what_is_not_a_positive_int(n: object) -> None:
    with pytest.raises(fx.ConfigurationError, match="positive int"):
        fx.group.last_messages(n)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- composition

CONVERSATION: tuple[fx.Message, ...] = (
    fx.system("rules"),
    fx.user("q1"),
    fx.assistant(None, _call(1)),
    fx.ToolMessage(tool_call_id="c1", content="r"),
    fx.assistant("r1"),
    fx.user("q2"),
    fx.assistant("r2"),
)


def _drop_last(messages: tuple[fx.Message, ...]) -> tuple[fx.Message, ...]:
    return messages[:-1]


def test_the_identity_filter_changes_nothing() -> None:
    assert identity_filter(CONVERSATION) is CONVERSATION


def test_then_filter_applies_the_first_filter_first() -> None:
    last = fx.group.last_messages(1)
    assert ThenFilter(_drop_last, last)(CONVERSATION) == (fx.system("rules"), fx.user("q2"))
    assert ThenFilter(last, _drop_last)(CONVERSATION) == (fx.system("rules"),)


def test_then_filter_accepts_a_drop_oldest_compaction_first() -> None:
    drop = CompactFilter(fx.sessions.CompactionPolicy(max_messages=3, keep_last_turns=1))
    assert ThenFilter(drop, _drop_last)(CONVERSATION) == drop(CONVERSATION)[:-1]


# --------------------------------------------------------------------------- the compacting filter

DROP = fx.sessions.CompactionPolicy(max_messages=3, keep_last_turns=1)
SUMMARISE = fx.sessions.CompactionPolicy(
    max_messages=3, keep_last_turns=1, strategy=fx.sessions.summarise("m-sum")
)


def test_a_drop_oldest_filter_is_compact() -> None:
    view = CompactFilter(DROP)(CONVERSATION)
    assert view == fx.sessions.compact(CONVERSATION, DROP)
    # Everything between the system prompt and the last turn became one notice.
    assert len(view) == 3 and (view[0], view[2]) == (fx.system("rules"), fx.assistant("r2"))
    assert isinstance(view[1], fx.UserMessage) and "5 earlier messages" in view[1].content
    assert CompactFilter(DROP).summary_call(CONVERSATION) is None


def test_the_compacting_filter_applies_its_before_filter_first() -> None:
    f = CompactFilter(DROP, before=fx.group.without_tool_calls)
    view = f(CONVERSATION)
    assert view == fx.sessions.compact(fx.group.without_tool_calls(CONVERSATION), DROP)
    assert isinstance(view[1], fx.UserMessage) and "3 earlier messages" in view[1].content


def test_a_summarising_filter_uses_the_summary_it_is_given() -> None:
    f = CompactFilter(SUMMARISE)
    assert f(CONVERSATION) == CONVERSATION  # no summary yet: the originals
    assert f.apply(CONVERSATION, "") == CONVERSATION  # an empty summary keeps them
    assert f.apply(CONVERSATION, "Asked twice.") == (
        fx.system("rules"),
        fx.user("[Previous conversation summary]: Asked twice."),
        fx.assistant("r2"),
    )


def test_a_summarising_filter_asks_for_the_summary_of_the_range_it_replaces() -> None:
    strategy = SUMMARISE.strategy
    assert isinstance(strategy, fx.sessions.Summarise)
    call = CompactFilter(SUMMARISE).summary_call(CONVERSATION)
    assert call == fx.sessions.summary_request(strategy, CONVERSATION[1:6])
    assert call is not None and call.model == "m-sum"
    filtered = CompactFilter(SUMMARISE, before=fx.group.without_tool_calls)
    assert filtered.summary_call(CONVERSATION) == fx.sessions.summary_request(
        strategy, fx.group.without_tool_calls(CONVERSATION)[1:4]
    )


def test_a_summarising_filter_asks_nothing_when_no_compaction_is_due() -> None:
    short = (fx.user("q"), fx.assistant("r"))
    f = CompactFilter(SUMMARISE)
    assert f.summary_call(short) is None
    assert f.apply(short, "A summary nobody asked for.") == short


@given(conversations(), st.integers(1, 6), st.integers(0, 3))
def test_compacting_views_keep_tool_pairs(messages: tuple[fx.Message, ...], most: int, keep: int) -> None:
    policy = fx.sessions.CompactionPolicy(max_messages=most, keep_last_turns=keep)
    view = CompactFilter(policy)(messages)
    assert fx.group.check_tool_pairs(view) == view
    assert len(view) <= len(messages)

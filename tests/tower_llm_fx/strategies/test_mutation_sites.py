"""Where a mutation can go (``strategies/_mutation_sites.py``): tool-call windows,
quiet insertion points, role and id helpers, and the rebuilders that change one
call or drop its answers, on a fixed conversation and on generated ones."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.strategies import _mutation_sites as sites

STRICT = fx.validation.ValidationPolicy.strict()
DEFAULT = fx.validation.ValidationPolicy()


def _call(id: str, name: str = "add") -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments='{"a": 1, "b": 2}')


def _answer(id: str) -> fx.ToolMessage:
    return fx.ToolMessage(tool_call_id=id, content="3")


BASE: tuple[fx.Message, ...] = (
    fx.system("Be brief."),  # 0
    fx.user("2 + 3, and who wrote Hamlet?"),  # 1
    fx.AssistantMessage(tool_calls=(_call("call_1"), _call("call_2", "search"))),  # 2
    _answer("call_1"),  # 3
    _answer("call_2"),  # 4
    fx.assistant("5; Shakespeare."),  # 5
    fx.user("And 1 + 1?"),  # 6
    fx.AssistantMessage(tool_calls=(_call("call_3"),)),  # 7
    _answer("call_3"),  # 8
    fx.assistant("2."),  # 9
)
TOOLS = (
    fx.ToolSpec(name="add"),
    fx.ToolSpec(name="search"),
)


def test_the_fixed_conversation_is_valid() -> None:
    assert fx.validation.validate_conversation(BASE, STRICT, tools=TOOLS) == ()


def test_windows_span_an_assistants_calls_to_the_next_assistant() -> None:
    first, second = sites.windows(BASE)
    assert (first.index, first.end, first.tools, first.interrupted) == (2, 5, (3, 4), False)
    assert [c.id for c in first.calls] == ["call_1", "call_2"]
    assert (second.index, second.end, second.tools, second.interrupted) == (7, 9, (8,), False)
    assert first.answers(BASE, "call_2") == [4] and first.answers(BASE, "call_3") == []
    assert first.position("call_2") == 1
    assert first.complete(BASE)
    last = sites.windows(BASE[:8])[-1]
    assert (last.end, last.tools) == (8, ()) and not last.complete(BASE[:8])


def test_a_window_interrupted_by_a_user_message_says_so() -> None:
    messages = (
        fx.user("q"),
        fx.assistant(None, _call("c1")),
        fx.user("hurry"),
        _answer("c1"),
        fx.assistant("3"),
    )
    (w,) = sites.windows(messages)
    assert (w.index, w.end, w.tools, w.interrupted) == (1, 4, (3,), True)


def test_quiet_positions_are_outside_every_open_window() -> None:
    ws = sites.windows(BASE)
    assert [p for p in range(len(BASE) + 1) if sites.quiet(BASE, ws, p, STRICT)] == [0, 1, 2, 5, 6, 7, 9, 10]
    dangling = (fx.user("q"), fx.assistant(None, _call("c1"), _call("c2")), _answer("c1"), fx.assistant("x"))
    ws = sites.windows(dangling)
    assert not sites.quiet(dangling, ws, 3, DEFAULT)
    lax = fx.validation.ValidationPolicy(allow_dangling_tool_calls=True)
    assert sites.quiet(dangling, ws, 3, lax)


def test_role_helpers() -> None:
    two_users = [fx.user("a"), fx.user("b")]
    assert sites.repeats_ok(BASE, STRICT)
    assert not sites.repeats_ok(two_users, STRICT) and sites.repeats_ok(two_users, DEFAULT)
    assert sites.repeats_ok(
        [fx.user("q"), fx.assistant(None, _call("a"), _call("b")), _answer("a"), _answer("b")], STRICT
    )
    assert sites.first_non_system_is_assistant((fx.system("s"), fx.assistant("hi")))
    assert not sites.first_non_system_is_assistant(BASE)
    assert not sites.first_non_system_is_assistant((fx.system("s"),))
    assert sites.leading_systems(BASE) == 1
    assert sites.leading_systems((fx.system("a"), fx.system("b"), fx.user("q"), fx.system("c"))) == 2
    assert sites.leading_systems(()) == 0


def test_id_helpers() -> None:
    ids = sites.all_ids((*BASE, _answer("call_stray")))
    assert ids == {"call_1", "call_2", "call_3", "call_stray"}
    assert sites.fresh("call_9", ids) == "call_9"
    assert sites.fresh("call_1", ids) == "call_1_2"
    assert sites.fresh("call_1", {*ids, "call_1_2"}) == "call_1_3"
    assert sites.tool_id(BASE[3]) == "call_1"
    assert sites.answering(BASE[3], "x") == _answer("x")


def test_with_call_changes_one_call_and_nothing_else() -> None:
    w = sites.windows(BASE)[0]
    new = sites.with_call(BASE, w, 1, name="lookup")
    assert [i for i, (a, b) in enumerate(zip(BASE, new, strict=True)) if a != b] == [2]
    changed = new[2]
    assert isinstance(changed, fx.AssistantMessage)
    assert changed.tool_calls == (_call("call_1"), _call("call_2", "lookup"))


def test_with_call_id_renames_the_answers_too() -> None:
    w = sites.windows(BASE)[0]
    new = sites.with_call_id(BASE, w, 0, "call_9")
    assert [i for i, (a, b) in enumerate(zip(BASE, new, strict=True)) if a != b] == [2, 3]
    assert new[3] == _answer("call_9")
    assert fx.validation.validate_conversation(new, STRICT, tools=TOOLS) == ()


def test_without_and_drop_answers() -> None:
    assert sites.without(BASE, [3, 4, 3]) == [*BASE[:3], *BASE[5:]]
    w = sites.windows(BASE)[0]
    assert sites.drop_answers(BASE, w, "call_1", STRICT) == [*BASE[:3], *BASE[4:]]
    single = (fx.user("q"), fx.assistant(None, _call("c1")), _answer("c1"), fx.assistant("3"))
    (w,) = sites.windows(single)
    assert sites.drop_answers(single, w, "c1", STRICT) is None  # two assistant messages in a row
    assert sites.drop_answers(single, w, "c1", DEFAULT) == [single[0], single[1], single[3]]


def test_calls_and_known_answers() -> None:
    first, second = sites.windows(BASE)
    assert sites.calls(BASE) == [(first, 0), (first, 1), (second, 0)]
    messy = (
        fx.user("q"),
        fx.assistant(None, _call("c1"), _call("c2")),
        _answer("c2"),
        _answer("c1"),
        _answer("c2"),  # a second answer
        _answer("zz"),  # an answer to no call of this window
    )
    (w,) = sites.windows(messy)
    assert sites.known_answers(messy, w) == [2, 3]


# --------------------------------------------------------------------------- properties

TOOL_KINDS = {
    "orphan_tool_message",
    "unknown_tool_response",
    "duplicate_tool_response",
    "tool_responses_out_of_order",
    "tool_responses_not_contiguous",
    "missing_tool_response",
}


@st.composite
def drawn(draw: st.DrawFn) -> tuple[fx.validation.ValidationPolicy, tuple[fx.Message, ...]]:
    policy = draw(fxst.validation_policies())
    return policy, draw(fxst.conversations(policy=policy, tools=TOOLS, tool_call_density=0.8))


@given(drawn())
def test_windows_cover_every_call_and_only_its_round(
    case: tuple[fx.validation.ValidationPolicy, tuple[fx.Message, ...]],
) -> None:
    _, messages = case
    ws = sites.windows(messages)
    callers = [i for i, m in enumerate(messages) if isinstance(m, fx.AssistantMessage) and m.tool_calls]
    assert [w.index for w in ws] == callers
    for w in ws:
        between = messages[w.index + 1 : w.end]
        assert not any(isinstance(m, fx.AssistantMessage) for m in between)
        assert w.end == len(messages) or isinstance(messages[w.end], fx.AssistantMessage)
        assert w.tools == tuple(
            i for i in range(w.index + 1, w.end) if isinstance(messages[i], fx.ToolMessage)
        )
    assert len(sites.calls(messages)) == sum(len(w.calls) for w in ws)


@given(drawn(), st.integers(0, 99))
def test_renaming_a_call_to_a_fresh_id_keeps_a_conversation_valid(
    case: tuple[fx.validation.ValidationPolicy, tuple[fx.Message, ...]], pick: int
) -> None:
    policy, messages = case
    every = sites.calls(messages)
    if not every:
        return
    w, j = every[pick % len(every)]
    new = sites.with_call_id(messages, w, j, sites.fresh("call_new", sites.all_ids(messages)))
    assert fx.validation.validate_conversation(new, policy, tools=TOOLS) == ()


@given(drawn(), st.sampled_from([fx.user("Hm?"), fx.system("Note.")]))
def test_inserting_at_a_quiet_position_disturbs_no_tool_round(
    case: tuple[fx.validation.ValidationPolicy, tuple[fx.Message, ...]], m: fx.Message
) -> None:
    policy, messages = case
    ws = sites.windows(messages)
    for p in range(len(messages) + 1):
        if sites.quiet(messages, ws, p, policy):
            new = (*messages[:p], m, *messages[p:])
            kinds = {v.kind for v in fx.validation.validate_conversation(new, policy, tools=TOOLS)}
            assert not kinds & TOOL_KINDS, (p, kinds)


def test_the_tool_kinds_named_here_are_real_rules() -> None:
    assert set(fx.validation.VIOLATION_KINDS) >= TOOL_KINDS

"""tower_llm_fx.validation._report: the explaining reporter: one example per message-level and
tool-message rule, tool-call windows (interruption, anonymous answers, closing), ordering, and
"one defect, one violation" on mutations."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.validation._report import report as _report

from ._helpers import ADD, DEFAULT, VALID, A, P, S, T, U, kinds

# --------------------------------------------------------------------------- examples


def test_adjacent_tool_messages_answering_one_turn_are_valid_even_without_repeated_roles() -> None:
    # tower-llm flagged this as RepeatedRole("tool") under its default policy.
    assert fx.validation.validate_conversation(VALID, P(allow_repeated_roles=False)) == ()


def test_out_of_order_answers_are_fine_by_default_and_flagged_when_order_is_enforced() -> None:
    swapped = (*VALID[:3], VALID[4], VALID[3], VALID[5])
    assert kinds(swapped) == []
    assert kinds(swapped, P(enforce_tool_response_order=True)) == [("tool_responses_out_of_order", 4)]


def test_a_skipped_answer_is_not_out_of_order_when_dangling_calls_are_allowed() -> None:
    # tower-llm compared observed answers with a prefix of the calls: [c1, c3] for
    # [c1, c2, c3] was "out of order". Answers in call order are in order.
    ms: tuple[fx.Message, ...] = (
        U(content="q"),
        A(None, ("c1", "f"), ("c2", "f"), ("c3", "f")),
        T(tool_call_id="c1", content="1"),
    )
    ms = (*ms, T(tool_call_id="c3", content="3"), A("done"))
    policy = P(enforce_tool_response_order=True, allow_dangling_tool_calls=True)
    assert kinds(ms, policy) == []


def test_the_result_is_a_tuple_and_violations_are_sorted_by_index_conversation_wide_last() -> None:
    ms = (A(None, ("c1", "f")), U(content="hi"), U(content="again"))
    out = fx.validation.validate_conversation(ms, attrs.evolve(P.strict(), check_tool_schemas=False))
    assert isinstance(out, tuple)
    assert [(v.kind, v.index) for v in out] == [
        ("assistant_before_user", 0),
        ("missing_tool_response", 0),
        ("repeated_role", 2),
    ]
    assert [(v.kind, v.index) for v in fx.validation.validate_conversation([S(content="x")], P.strict())] == [
        ("no_user_message", None)
    ]


def test_empty_conversation() -> None:
    (v,) = fx.validation.validate_conversation(())
    assert (v.kind, v.index) == ("empty_conversation", None)
    assert "no messages" in v.explanation


def test_unsupported_message_points_at_wire_dicts() -> None:
    (v,) = fx.validation.validate_conversation([U(content="hi"), {"role": "developer", "content": "x"}])
    assert (v.kind, v.index) == ("unsupported_message", 1)
    assert "wire dict" in v.explanation


def test_system_not_first() -> None:
    ms = (U(content="hi"), S(content="late"), A("ok"))
    assert kinds(ms) == []
    assert kinds(ms, P(allow_system_anywhere=False)) == [("system_not_first", 1)]


def test_assistant_before_user() -> None:
    ms = (S(content="s"), A("Hello!"), U(content="hi"), A("ok"))
    assert kinds(ms) == []
    assert kinds(ms, P(require_user_first=True)) == [("assistant_before_user", 1)]


def test_repeated_role_once_per_adjacent_pair() -> None:
    ms = (U(content="a"), U(content="b"), U(content="c"), A("x"), A("y"))
    assert kinds(ms) == []
    assert kinds(ms, P(allow_repeated_roles=False)) == [
        ("repeated_role", 1),
        ("repeated_role", 2),
        ("repeated_role", 4),
    ]


def test_no_user_message() -> None:
    ms = (S(content="s"), A("monologue"))
    assert kinds(ms) == []
    assert kinds(ms, P(require_user_present=True)) == [("no_user_message", None)]


def test_empty_assistant_message_and_bare_refusal() -> None:
    (v,) = fx.validation.validate_conversation([U(content="hi"), fx.AssistantMessage()])
    assert (v.kind, v.index) == ("empty_assistant_message", 1)
    (v,) = fx.validation.validate_conversation([U(content="hi"), fx.AssistantMessage(refusal="No.")])
    assert v.kind == "empty_assistant_message"
    assert "refusal" in v.explanation
    # Content "" is accepted by the API.
    assert kinds([U(content="hi"), A("")]) == []


def test_empty_content() -> None:
    ms = (S(content=""), U(content=""), A(None, ("c1", "f")), T(tool_call_id="c1", content=""), A(""))
    assert kinds(ms) == []
    assert kinds(ms, P(allow_empty_content=False)) == [
        ("empty_content", 0),
        ("empty_content", 1),
        ("empty_content", 3),
        ("empty_content", 4),
    ]


def test_content_too_long() -> None:
    ms = (U(content="x" * 11),)
    assert kinds(ms, P(max_content_length=10)) == [("content_too_long", 0)]
    assert kinds(ms, P(max_content_length=11)) == []
    assert kinds((U(content="x" * (fx.validation.ValidationPolicy().max_content_length or 0)),)) == []


def test_empty_tool_message_id_still_counts_as_an_answer() -> None:
    ms = (U(content="q"), A(None, ("c1", "f")), T(tool_call_id="", content="1"), A("ok"))
    assert kinds(ms) == [("empty_tool_message_id", 2)]


def test_orphan_tool_message() -> None:
    assert kinds([U(content="q"), T(tool_call_id="c1", content="1")]) == [("orphan_tool_message", 1)]
    # after an assistant message without calls, too
    ms = (U(content="q"), A("hi"), T(tool_call_id="c1", content="1"))
    assert kinds(ms) == [("orphan_tool_message", 2)]


def test_unknown_tool_response() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f")),
        T(tool_call_id="c1", content="1"),
        T(tool_call_id="c9", content="9"),
    )
    assert kinds(ms) == [("unknown_tool_response", 3)]
    assert kinds(ms, P(allow_unknown_tool_response=True)) == []


def test_duplicate_tool_response() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f")),
        T(tool_call_id="c1", content="1"),
        T(tool_call_id="c1", content="1"),
    )
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("duplicate_tool_response", 3)
    assert "first is at 2" in v.explanation
    assert kinds(ms, P(allow_duplicate_tool_response=True)) == []


def test_tool_responses_not_contiguous_reported_once_at_the_interruption() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f"), ("c2", "f")),
        T(tool_call_id="c1", content="1"),
        U(content="are you there?"),
        T(tool_call_id="c2", content="2"),
        A("ok"),
    )
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("tool_responses_not_contiguous", 3)
    assert "tool message at 4" in v.explanation
    assert kinds(ms, P(enforce_contiguous_tool_responses=False)) == []


def test_missing_tool_response_lists_the_calls_in_order() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f"), ("c2", "g"), ("c3", "h")),
        T(tool_call_id="c2", content="2"),
        A("ok"),
    )
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("missing_tool_response", 1)
    assert "'c1' (f), 'c3' (h)" in v.explanation
    assert kinds(ms, P(allow_dangling_tool_calls=True)) == []


def test_a_user_message_after_unanswered_calls_is_missing_not_non_contiguous() -> None:
    ms = (U(content="q"), A(None, ("c1", "f")), U(content="hello?"))
    assert kinds(ms) == [("missing_tool_response", 1)]


def test_pending_calls_at_the_end_only_when_allowed() -> None:
    ms = (U(content="q"), A(None, ("c1", "f"), ("c2", "f")), T(tool_call_id="c1", content="1"))
    assert kinds(ms) == [("missing_tool_response", 1)]
    assert kinds(ms, P(allow_pending_tool_calls=True)) == []
    # ... but not once something other than a tool message followed
    assert kinds((*ms, U(content="and?")), P(allow_pending_tool_calls=True)) == [("missing_tool_response", 1)]


# --------------------------------------------------------------------------- windows


def test_the_next_assistant_message_closes_the_window() -> None:
    ms = (U(content="q"), A(None, ("c1", "f")), A("never mind"), T(tool_call_id="c1", content="1"))
    assert kinds(ms) == [("missing_tool_response", 1), ("orphan_tool_message", 3)]


def test_anonymous_answers_cover_as_many_calls_as_there_are() -> None:
    two = (U(content="q"), A(None, ("c1", "f"), ("c2", "f")))
    answered = (*two, T(tool_call_id="", content="1"), T(tool_call_id="", content="2"))
    assert kinds(answered) == [("empty_tool_message_id", 2), ("empty_tool_message_id", 3)]
    short = (*two, T(tool_call_id="", content="1"))
    assert kinds(short) == [("missing_tool_response", 1), ("empty_tool_message_id", 2)]


def test_an_orphan_with_an_empty_id_is_reported_as_both() -> None:
    assert kinds([U(content="q"), T(tool_call_id="", content="1")]) == [
        ("orphan_tool_message", 1),
        ("empty_tool_message_id", 1),
    ]


def test_out_of_order_is_reported_once_per_window() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "f"), ("c2", "f"), ("c3", "f")),
        T(tool_call_id="c3", content="3"),
        T(tool_call_id="c2", content="2"),
        T(tool_call_id="c1", content="1"),
        A(None, ("c4", "f"), ("c5", "f")),
        T(tool_call_id="c5", content="5"),
        T(tool_call_id="c4", content="4"),
    )
    assert kinds(ms, P(enforce_tool_response_order=True)) == [
        ("tool_responses_out_of_order", 3),
        ("tool_responses_out_of_order", 7),
    ]


def test_the_interruption_names_the_interrupting_role() -> None:
    ms = (U(content="q"), A(None, ("c1", "f")), S(content="hurry"), T(tool_call_id="c1", content="1"))
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("tool_responses_not_contiguous", 2)
    assert v.explanation.startswith(
        "system message interrupts the tool messages of the assistant message at 1"
    )


def test_an_unsupported_item_does_not_break_the_messages_around_it() -> None:
    assert kinds([U(content="q"), 5, A("ok")]) == [("unsupported_message", 1)]
    assert kinds([U(content="q"), A(None, ("c1", "f")), None, T(tool_call_id="c1", content="1")]) == [
        ("unsupported_message", 2)
    ]


def test_the_reporter_explains_a_valid_conversation_as_nothing() -> None:
    assert _report(VALID, DEFAULT, ()) == ()
    assert _report(VALID, P.strict(), (ADD,)) == ()


# --------------------------------------------------------------------------- properties


@given(st.data())
def test_the_reporter_finds_exactly_the_mutated_rule(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies(), label="policy")
    m = data.draw(fxst.mutations(policy=policy, tools=(ADD,)), label="mutation")
    assert _report(m.messages, policy, (ADD,)) == (m.violation,)


@given(st.lists(st.one_of(fxst.messages(), st.integers()), max_size=8), fxst.validation_policies())
def test_reports_are_sorted_by_index_with_conversation_wide_violations_last(
    items: list[object], policy: fx.validation.ValidationPolicy
) -> None:
    out = _report(items, policy, (ADD,))
    positions = [len(items) if v.index is None else v.index for v in out]
    assert positions == sorted(positions)
    assert all(v.kind in fx.validation.VIOLATION_KINDS for v in out)
    assert (out == ()) is (fx.validation.validate_conversation(items, policy, tools=(ADD,)) == ())


@given(fxst.conversations(policy=P.strict(), tools=(ADD,)))
def test_appending_a_stray_tool_message_is_one_violation_at_its_index(
    messages: tuple[fx.Message, ...],
) -> None:
    # A strict conversation ends with a text reply: a tool message after it is an orphan.
    ms = (*messages, T(tool_call_id="stray", content="x"))
    assert kinds(ms, attrs.evolve(P.strict(), check_tool_schemas=False)) == [
        ("orphan_tool_message", len(messages))
    ]


# --------------------------------------------------------------------------- developer messages and content parts

D = fx.DeveloperMessage
IMG = fx.image("https://example.com/cat.png")


def test_developer_messages_are_instructions_like_system_messages() -> None:
    ms = (D(content="Be brief."), U(content="hi"), A("hello"))
    assert kinds(ms, P.strict()) == []
    # not first: the same rule as a system message, explained with its role
    late = (U(content="hi"), D(content="Be brief."), A("hello"))
    (v,) = fx.validation.validate_conversation(late, P(allow_system_anywhere=False))
    assert (v.kind, v.index) == ("system_not_first", 1)
    assert v.explanation.startswith("developer message after the start of the conversation")
    # instructions do not start the conversation: the first assistant after them is still first
    assert kinds((S(content="s"), D(content="d"), A("hi")), P(require_user_first=True)) == [
        ("assistant_before_user", 2)
    ]
    # a developer message interrupts a tool-call window like a system message
    interrupted = (*VALID[:4], D(content="Hurry."), *VALID[4:])
    assert kinds(interrupted) == [("tool_responses_not_contiguous", 4)]
    # its name is checked too, and system + developer is not a repeated role
    assert kinds((S(content="s"), D(content="d", name="Ada Lovelace"), U(content="hi")), P.strict()) == [
        ("invalid_name", 1)
    ]


def test_content_parts_of_the_accepted_kinds_are_valid() -> None:
    ms = (
        S(content=(fx.TextPart(text="Be brief."),)),
        D(content=("Answer in French.", fx.OtherPart(kind="x_note"))),
        U(
            content=(
                fx.TextPart(text="What is this?"),
                IMG,
                fx.image("data:image/png;base64,iVBORw0KGgo=", detail="low"),
                fx.audio("UklGRg==", "wav"),
                fx.file(file_id="file-abc"),
                fx.OtherPart(kind="video_url", extra={"video_url": {"url": "https://v/1.mp4"}}),
            )
        ),
        A(None, ("c1", "f")),
        T(tool_call_id="c1", content=(fx.TextPart(text="42"),)),
        fx.AssistantMessage(
            content=(fx.TextPart(text="A cat."), fx.OtherPart(kind="refusal", extra={"refusal": "no"}))
        ),
    )
    assert kinds(ms) == []
    assert kinds(ms, P.strict(), tools=(fx.ToolSpec(name="f"),)) == []


def test_empty_content_parts_is_always_a_violation() -> None:
    ms = (U(content=()), fx.AssistantMessage(content=()))
    lax = P(allow_empty_content=True, check_content_parts=False)
    assert kinds(ms, lax) == [("empty_content_parts", 0), ("empty_content_parts", 1)]
    (v, _) = fx.validation.validate_conversation(ms)
    assert v.explanation == (
        "user message content is an empty tuple of parts; the API needs at least one part: add one, or use a string"
    )
    # an assistant message with () and tool calls: one defect, one violation
    assert kinds((U(content="q"), A(None, ("c1", "f")), T(tool_call_id="c1", content=()), A("ok"))) == [
        ("empty_content_parts", 2)
    ]


def test_parts_a_role_does_not_accept() -> None:
    ms = (
        S(content=("look", IMG)),
        D(content=(fx.audio("UklGRg==", "mp3"),)),
        U(content="hi"),
        fx.AssistantMessage(content=(fx.TextPart(text="ok"), fx.file(file_id="f-1"))),
        U(content="more"),
        A(None, ("c1", "f")),
        T(tool_call_id="c1", content=(IMG,)),
        A("done"),
    )
    assert kinds(ms) == [
        ("unsupported_content_part", 0),
        ("unsupported_content_part", 1),
        ("unsupported_content_part", 3),
        ("unsupported_content_part", 6),
    ]
    first = fx.validation.validate_conversation(ms)[0]
    assert first.explanation == (
        "system message has content part(s) its role does not accept: part 1 (ImagePart); system messages "
        "accept text parts (send images, audio and files in a user message)"
    )
    assert kinds(ms, P(check_content_parts=False)) == []


def test_parts_the_api_rejects() -> None:
    ms = (
        U(
            content=(
                fx.ImagePart(url="https://example.com/a.png", detail="medium"),
                fx.ImagePart(url="ftp://example.com/a.png"),
                fx.ImagePart(url="HTTPS://EXAMPLE.COM/A.PNG"),  # schemes are case-insensitive
                fx.AudioPart(data="x", format="flac"),
                fx.TextPart(text="fine"),
            )
        ),
    )
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("invalid_content_part", 0)
    assert v.explanation == (
        "user message has content part(s) the API rejects: part 0: image detail 'medium' is not 'auto', "
        "'low' or 'high'; part 1: image url 'ftp://example.com/a.png' is neither an http(s) URL nor a "
        "data: URL; part 3: audio format 'flac' is not 'wav' or 'mp3'"
    )
    assert kinds(ms, P(check_content_parts=False)) == []


def test_a_part_of_a_kind_the_role_refuses_is_not_also_invalid() -> None:
    # one defect, one violation: an image in a system message is unsupported, whatever its detail
    ms = (S(content=(fx.ImagePart(url="ftp://x", detail="huge"),)), U(content="hi"))
    assert kinds(ms) == [("unsupported_content_part", 0)]


def test_a_file_part_built_unchecked_without_a_source_and_a_non_part_are_invalid() -> None:
    sourceless = object.__new__(fx.FilePart)
    fields: dict[str, object] = {"file_id": None, "data": None, "filename": "a.pdf", "extra": None}
    for field, value in fields.items():
        object.__setattr__(sourceless, field, value)
    user = object.__new__(fx.UserMessage)
    fields = {"content": (sourceless, 7), "name": None, "extra": None, "role": "user"}
    for field, value in fields.items():
        object.__setattr__(user, field, value)
    (v,) = fx.validation.validate_conversation([user])
    assert v.kind == "invalid_content_part"
    assert "part 0: a file part needs file_id" in v.explanation
    assert "part 1: int is not a content part" in v.explanation


def test_text_parts_count_against_the_length_limit_one_by_one() -> None:
    ms = (U(content=(fx.TextPart(text="x" * 6), fx.TextPart(text="y" * 11))),)
    (v,) = fx.validation.validate_conversation(ms, P(max_content_length=10))
    assert (v.kind, v.index) == ("content_too_long", 0)
    assert v.explanation == "user message text part 1 is 11 characters; at most 10 are accepted"
    assert kinds(ms, P(max_content_length=11)) == []


@given(st.lists(fxst.messages(), max_size=6), fxst.validation_policies())
def test_parts_violations_only_name_messages_with_parts(
    messages: list[fx.Message], policy: fx.validation.ValidationPolicy
) -> None:
    part_kinds = {"empty_content_parts", "unsupported_content_part", "invalid_content_part"}
    for v in _report(messages, policy, ()):
        if v.kind in part_kinds:
            assert v.index is not None and isinstance(messages[v.index].content, tuple)


@given(st.lists(fxst.messages(), max_size=6))
def test_default_message_strategies_draw_only_parts_their_role_accepts(messages: list[fx.Message]) -> None:
    part_kinds = {"empty_content_parts", "unsupported_content_part", "invalid_content_part"}
    assert not part_kinds & {v.kind for v in _report(messages, DEFAULT, ())}

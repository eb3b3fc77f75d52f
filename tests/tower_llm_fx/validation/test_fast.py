"""tower_llm_fx.validation._fast: the fast acceptor only ever says "certainly valid", never
accepts what the reporter rejects, and does accept the shape agents produce."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.validation._fast import accepts as _accepts
from tower_llm_fx.validation._report import report as _report

from ._helpers import ADD, DEFAULT, VALID, A, P, T, U

# --------------------------------------------------------------------------- examples


@given(st.lists(fxst.messages(), max_size=8), fxst.validation_policies())
def test_total_and_the_fast_path_only_accepts_what_the_reporter_accepts(
    messages: list[fx.Message], policy: fx.validation.ValidationPolicy
) -> None:
    report = _report(messages, policy, (ADD,))
    assert fx.validation.validate_conversation(messages, policy, tools=(ADD,)) == report
    if _accepts(messages, policy, (ADD,)):
        assert report == ()
    for v in report:
        assert v.index is None or 0 <= v.index < len(messages)


@given(st.data())
def test_fast_path_accepts_what_agents_produce(data: st.DataObject) -> None:
    # Contiguous, in-order answers: the shape of every agent run. The fast path
    # must accept them (or the benchmark figures would be meaningless).
    policy = P.strict()
    messages = data.draw(fxst.conversations(policy=policy, tools=(ADD,)))
    assert _accepts(messages, policy, (ADD,))


@given(st.data())
def test_the_fast_path_never_accepts_a_mutated_conversation(data: st.DataObject) -> None:
    # Each mutation breaks exactly one rule the policy checks: the full check rejects it,
    # so the fast path must not say "certainly valid".
    policy = data.draw(fxst.validation_policies(), label="policy")
    m = data.draw(fxst.mutations(policy=policy, tools=(ADD,)), label="mutation")
    assert _report(m.messages, policy, (ADD,)) == (m.violation,)
    assert not _accepts(m.messages, policy, (ADD,))


@given(fxst.validation_policies(), fxst.conversations(policy=P.strict(), tools=(ADD,)))
def test_the_fast_path_accepts_agent_shaped_conversations_under_every_policy(
    policy: fx.validation.ValidationPolicy, messages: tuple[fx.Message, ...]
) -> None:
    # Strict is the strictest policy, so what it accepts every policy accepts; and what
    # strict conversations look like is the shape the fast path is built for.
    assert _accepts(messages, policy, (ADD,))


def test_the_fast_path_accepts_the_reference_conversation() -> None:
    assert _accepts(VALID, DEFAULT, ())
    assert _accepts(VALID, P.strict(), (ADD,))


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param((), id="empty"),
        pytest.param((U(content="hi"), 5), id="not-a-message"),
        pytest.param((U(content="hi"), {"role": "user", "content": "x"}), id="wire-dict"),
    ],
)
def test_the_fast_path_rejects_what_is_not_a_list_of_messages(messages: tuple[object, ...]) -> None:
    assert not _accepts(messages, DEFAULT, ())
    assert _report(messages, DEFAULT, ()) != ()


def test_valid_but_unusual_shapes_fall_through_to_the_reporter() -> None:
    # Out-of-order, duplicated and pending answers are valid under laxer policies; the
    # fast path does not decide them, the reporter does (and finds nothing).
    swapped = (*VALID[:3], VALID[4], VALID[3], VALID[5])
    duplicated = (*VALID[:4], VALID[3], *VALID[4:])
    pending = VALID[:4]
    cases = [
        (swapped, DEFAULT),
        (duplicated, P(allow_duplicate_tool_response=True)),
        (pending, P(allow_pending_tool_calls=True)),
    ]
    for messages, policy in cases:
        assert not _accepts(messages, policy, ())
        assert _report(messages, policy, ()) == ()
        assert fx.validation.validate_conversation(messages, policy) == ()


def test_the_fast_path_checks_schemas_only_when_asked() -> None:
    ms = (U(content="q"), A(None, ("c1", "add", '{"a": 1}')), T(tool_call_id="c1", content="1"), A("1"))
    assert _accepts(ms, DEFAULT, (ADD,))
    assert not _accepts(ms, P(check_tool_schemas=True), (ADD,))
    assert not _accepts(ms, P(check_tool_schemas=True), ())  # "add" is not offered


# --------------------------------------------------------------------------- content parts


def test_the_fast_path_accepts_valid_parts_and_developer_messages() -> None:
    ms = (
        fx.developer("Be brief.", fx.OtherPart(kind="x")),
        U(content=("look", fx.image("https://example.com/a.png", detail="low"), fx.audio("AA==", "wav"))),
        A(None, ("c1", "add", '{"a": 1, "b": 2}')),
        T(tool_call_id="c1", content=(fx.TextPart(text="3"),)),
        fx.AssistantMessage(content=(fx.TextPart(text="3"),)),
    )
    assert _accepts(ms, DEFAULT, ())
    assert _accepts(ms, P.strict(), (ADD,))


@pytest.mark.parametrize(
    "messages",
    [
        pytest.param((U(content=()),), id="empty-parts"),
        pytest.param((fx.system(fx.image("https://x/a.png")), U(content="hi")), id="image-in-system"),
        pytest.param((U(content=(fx.ImagePart(url="https://x", detail="tiny"),)),), id="bad-detail"),
        pytest.param((U(content=(fx.TextPart(text="x" * 11),)),), id="long-text-part"),
        pytest.param((fx.SystemMessage(content="s", name="Ada Lovelace"), U(content="hi")), id="system-name"),
    ],
)
def test_the_fast_path_leaves_part_problems_to_the_reporter(messages: tuple[fx.Message, ...]) -> None:
    policy = P(max_content_length=10)
    assert not _accepts(messages, policy, ())
    assert _report(messages, policy, ()) != ()

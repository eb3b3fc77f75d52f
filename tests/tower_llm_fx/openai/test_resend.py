"""tower_llm_fx.openai._resend: `prepare_messages` applies a dialect's re-send rule to a history."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx._json import canonical_json
from tower_llm_fx.openai import DIALECTS, Dialect, dialect, prepare_messages

# --- prepare_messages: examples -----------------------------------------------------------------------


def _reasoning(raw: dict[str, Any], text: str | None = None) -> Any:
    return fx.Reasoning(text=text, raw=canonical_json(raw))


def _call(i: str, extra: dict[str, Any] | None = None) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(
        id=i, name="add", arguments="{}", extra=None if extra is None else canonical_json(extra)
    )


SIGNED = {"extra_content": {"google": {"thought_signature": "c2ln"}}}


def test_deepseek_keeps_reasoning_in_tool_turns_and_strips_it_elsewhere() -> None:
    rc = {"reasoning_content": "think"}
    convo = (
        fx.system("be brief"),
        fx.user("weather?"),
        fx.AssistantMessage(tool_calls=(_call("c1"),), reasoning=_reasoning(rc, "think")),
        fx.ToolMessage(tool_call_id="c1", content="sunny"),
        fx.AssistantMessage(content="sunny", reasoning=_reasoning({"reasoning_content": "done"})),
        fx.user("thanks"),
        fx.AssistantMessage(content="welcome", reasoning=_reasoning({"reasoning_content": "easy"})),
        fx.user("and tomorrow?"),
        fx.AssistantMessage(tool_calls=(_call("c2"),), reasoning=_reasoning(rc)),
    )
    out = prepare_messages(convo, dialect("deepseek"))
    kept = [i for i, m in enumerate(out) if isinstance(m, fx.AssistantMessage) and m.reasoning is not None]
    assert kept == [2, 4, 8]  # both messages of the first tool turn, and the current tool turn
    assert out[2] is convo[2] and out[4] is convo[4] and out[8] is convo[8]
    assert out[6] == attrs.evolve(convo[6], reasoning=None)


def test_deepseek_strips_a_foreign_field_but_keeps_its_own() -> None:
    said = fx.AssistantMessage(
        tool_calls=(_call("c1"),),
        reasoning=_reasoning({"reasoning_content": "a", "reasoning_details": [1]}, "a"),
    )
    out = prepare_messages((fx.user("q"), said), dialect("deepseek"))
    assert out[1].reasoning == fx.Reasoning(text="a", raw='{"reasoning_content":"a"}')  # type: ignore[union-attr]


def test_gemini_gets_its_thought_signatures_back_and_no_one_else_does() -> None:
    call = _call("c1", {**SIGNED, "index": 0})
    said = fx.AssistantMessage(
        content=None, tool_calls=(call, _call("c2", SIGNED)), extra=canonical_json(SIGNED)
    )
    convo = (fx.user("q"), said, fx.ToolMessage(tool_call_id="c1", content="1"))
    assert prepare_messages(convo, dialect("gemini")) is convo
    for name in ("openai", "openrouter", "deepseek"):
        out = prepare_messages(convo, dialect(name))[1]
        assert isinstance(out, fx.AssistantMessage)
        assert out.extra is None
        assert [c.extra for c in out.tool_calls] == ['{"index":0}', None]
        assert [attrs.evolve(c, extra=None) for c in out.tool_calls] == [
            attrs.evolve(c, extra=None) for c in said.tool_calls
        ]


def test_openrouter_gets_reasoning_details_back_verbatim() -> None:
    details = [
        {"type": "reasoning.encrypted", "data": "eyJ"},
        {"type": "reasoning.text", "text": "t", "signature": "s"},
    ]
    said = fx.AssistantMessage(
        tool_calls=(_call("c1"),), reasoning=_reasoning({"reasoning": "t", "reasoning_details": details}, "t")
    )
    convo = (fx.user("q"), said, fx.ToolMessage(tool_call_id="c1", content="1"), fx.user("again"))
    assert prepare_messages(convo, dialect("openrouter")) is convo


def test_groq_never_gets_reasoning_back() -> None:
    said = fx.AssistantMessage(
        content="4", tool_calls=(_call("c1"),), reasoning=_reasoning({"reasoning": "2+2"}, "2+2")
    )
    out = prepare_messages((fx.user("2+2?"), said), dialect("groq"))
    assert out[1] == attrs.evolve(said, reasoning=None)


def test_mistral_thinking_in_content_passes_through() -> None:
    wire = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
            {"type": "text", "text": "4"},
        ],
    }
    said = fx.openai.from_openai_message(wire)
    convo = (fx.user("2+2?"), said)
    assert prepare_messages(convo, dialect("mistral")) is convo
    # a foreign reasoning field (here DeepSeek's) is stripped; the content is not touched
    foreign = attrs.evolve(said, reasoning=_reasoning({"reasoning_content": "x"}))
    out = prepare_messages((fx.user("2+2?"), foreign), dialect("mistral"))[1]
    assert out == said


def test_zai_keeps_every_reasoning_content() -> None:
    convo = (
        fx.user("a"),
        fx.AssistantMessage(content="b", reasoning=_reasoning({"reasoning_content": "r1"})),
        fx.user("c"),
        fx.AssistantMessage(tool_calls=(_call("c1"),), reasoning=_reasoning({"reasoning_content": "r2"})),
    )
    assert prepare_messages(convo, dialect("zai")) is convo


@pytest.mark.parametrize("row", DIALECTS.values(), ids=list(DIALECTS))
def test_a_conversation_without_reasoning_comes_back_as_the_same_object(row: Dialect) -> None:
    convo = (fx.system("s"), fx.user("q"), fx.assistant("a", fx.ToolCallRequest(id="c", name="f")))
    assert prepare_messages(convo, row) is convo
    assert prepare_messages((), row) == ()


# --- prepare_messages: properties ---------------------------------------------------------------------

FIELDS = ("reasoning_content", "reasoning", "reasoning_details", "thinking")
json_values = st.one_of(
    st.text(max_size=6),
    st.lists(
        st.dictionaries(st.sampled_from(["type", "text", "data"]), st.text(max_size=4), max_size=2),
        max_size=2,
    ),
)
extras: st.SearchStrategy[dict[str, Any] | None] = st.one_of(
    st.none(),
    st.just(SIGNED),
    st.just({"extra_content": {"google": {"thought_signature": "x", "other": 1}}}),
    st.just({**SIGNED, "prefix": True}),
    st.just({"annotations": []}),
)
texts = st.text(max_size=8)


def _maybe_json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else canonical_json(value)


@st.composite
def assistants(draw: st.DrawFn, fields: tuple[str, ...] = FIELDS, signatures: bool = True) -> Any:
    calls = draw(
        st.lists(
            st.builds(
                fx.ToolCallRequest,
                id=st.text("abc", min_size=1, max_size=3),
                name=st.just("f"),
                extra=(extras if signatures else st.none()).map(_maybe_json),
            ),
            max_size=2,
        )
    )
    raw = draw(st.none() | st.dictionaries(st.sampled_from(fields), json_values, min_size=1, max_size=3))
    reasoning = draw(
        st.none() | st.builds(fx.Reasoning, text=st.none() | texts, raw=st.just(_maybe_json(raw)))
    )
    return fx.AssistantMessage(
        content=draw(st.none() | texts),
        tool_calls=tuple(calls),
        reasoning=reasoning,
        extra=draw((extras if signatures else st.just(None)).map(_maybe_json)),
    )


def conversations(assistant: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    other = st.one_of(
        st.builds(fx.user, texts),
        st.builds(fx.system, texts),
        st.builds(fx.ToolMessage, tool_call_id=st.just("a"), content=texts),
    )
    return st.lists(st.one_of(other, assistant), max_size=8).map(tuple)


rows = st.sampled_from(list(DIALECTS.values()))


def _unsigned(extra: str | None) -> str | None:
    """Independent of the module: ``extra`` without the thought signature, empty parents pruned."""
    if extra is None:
        return None
    value = json.loads(extra)
    google = value.get("extra_content", {}).get("google", {})
    google.pop("thought_signature", None)
    if "extra_content" in value and not value["extra_content"].get("google", True):
        del value["extra_content"]["google"]
    if value.get("extra_content") == {}:
        del value["extra_content"]
    return canonical_json(value) if value else None


def _erased(message: Any) -> Any:
    """The message with every piece of reasoning data removed."""
    if not isinstance(message, fx.AssistantMessage):
        return message
    return attrs.evolve(
        message,
        reasoning=None,
        extra=_unsigned(message.extra),
        tool_calls=tuple(attrs.evolve(c, extra=_unsigned(c.extra)) for c in message.tool_calls),
    )


@given(conversations(assistants()), rows)
def test_prepare_is_idempotent_and_a_fixed_point_is_returned_as_is(
    convo: tuple[Any, ...], row: Dialect
) -> None:
    once = prepare_messages(convo, row)
    assert prepare_messages(once, row) is once
    assert isinstance(once, tuple)


@given(conversations(assistants()), rows)
def test_prepare_changes_nothing_but_reasoning_data(convo: tuple[Any, ...], row: Dialect) -> None:
    out = prepare_messages(convo, row)
    assert [_erased(m) for m in out] == [_erased(m) for m in convo]
    for before, after in zip(convo, out, strict=True):
        if not isinstance(after, fx.AssistantMessage) or after.reasoning is None:
            continue
        # what is kept is kept verbatim: the text, and a subset of the raw fields with their values
        assert after.reasoning.text == before.reasoning.text
        if after.reasoning.raw is not None:
            kept, was = json.loads(after.reasoning.raw), json.loads(before.reasoning.raw)
            assert kept.items() <= was.items()
            assert set(kept) <= set(row.reasoning_fields)
        if not row.resend_thought_signature:
            for c in after.tool_calls:
                assert c.extra is None or "thought_signature" not in c.extra


@given(st.data())
def test_must_is_the_identity_on_its_own_fields(data: st.DataObject) -> None:
    row = data.draw(st.sampled_from([r for r in DIALECTS.values() if r.resend_reasoning == "must"]))
    own = assistants(fields=row.reasoning_fields, signatures=row.resend_thought_signature)
    convo = data.draw(conversations(own))
    assert prepare_messages(convo, row) is convo


@given(
    conversations(assistants()),
    st.sampled_from([r for r in DIALECTS.values() if r.resend_reasoning == "must_not"]),
)
def test_must_not_leaves_no_reasoning(convo: tuple[Any, ...], row: Dialect) -> None:
    out = prepare_messages(convo, row)
    assert all(m.reasoning is None for m in out if isinstance(m, fx.AssistantMessage))

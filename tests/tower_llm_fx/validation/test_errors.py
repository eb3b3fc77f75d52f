"""tower_llm_fx.validation._errors: InvalidConversation's message (count, context, the first 20
violations) and that it survives pickling (it crosses process boundaries)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx.validation._violations import violation

Error = fx.validation.InvalidConversation

ORPHAN = violation("orphan_tool_message", 1, tool_call_id="c1")
EMPTY = violation("empty_conversation", None)

VIOLATIONS = st.lists(
    st.builds(
        fx.validation.Violation,
        kind=st.sampled_from(fx.validation.VIOLATION_KINDS),
        index=st.none() | st.integers(0, 100),
        explanation=st.text(alphabet="abc xyz.", max_size=20),
    ),
    min_size=1,
    max_size=25,
)


def test_the_message_lists_the_violation_and_the_advice() -> None:
    e = Error([ORPHAN])
    assert str(e) == (
        "the conversation would be rejected by the model API (1 violation):\n"
        f"  {ORPHAN}\n"
        "Fix the step or code that built these messages, or validate with a laxer "
        "ValidationPolicy if your provider accepts them."
    )
    assert e.violations == (ORPHAN,)
    assert e.context == "the conversation"


def test_the_count_is_plural_and_the_context_is_used() -> None:
    e = Error((ORPHAN, EMPTY), context="the ModelCall for 'gpt-4o-mini'")
    assert str(e).startswith(
        "the ModelCall for 'gpt-4o-mini' would be rejected by the model API (2 violations):\n"
    )
    assert f"  {ORPHAN}\n  {EMPTY}\n" in str(e)


def test_only_the_first_twenty_violations_are_shown() -> None:
    vs = [violation("repeated_role", i, role="user", previous=i - 1) for i in range(1, 26)]
    e = Error(vs)
    shown = [line for line in str(e).splitlines() if line.startswith("  messages[")]
    assert shown == [f"  {v}" for v in vs[:20]]
    assert "\n  ... and 5 more\n" in str(e)
    assert "(25 violations)" in str(e)
    assert e.violations == tuple(vs)  # all of them are kept


def test_exactly_twenty_shows_no_more_line() -> None:
    vs = [violation("empty_content", i, role="user") for i in range(20)]
    assert "more" not in str(Error(vs))


def test_it_is_a_value_error_of_the_library() -> None:
    e = Error([ORPHAN])
    assert isinstance(e, ValueError)
    assert isinstance(e, fx.TowerLLMFXError)
    with pytest.raises(ValueError, match="would be rejected"):
        raise e


def test_it_pickles_with_its_violations_and_context() -> None:
    e = Error([ORPHAN, EMPTY], context="the request")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is Error
    assert back.violations == e.violations
    assert back.context == "the request"
    assert str(back) == str(e)


@given(VIOLATIONS, st.text(min_size=1, max_size=10))
def test_pickling_round_trips_any_violations(vs: list[fx.validation.Violation], context: str) -> None:
    e = Error(vs, context)
    back = pickle.loads(pickle.dumps(e))
    assert (back.violations, back.context, str(back)) == (tuple(vs), context, str(e))
    assert str(e).count("\n  ") == min(len(vs), 20) + (len(vs) > 20)

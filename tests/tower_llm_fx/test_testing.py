"""run_sequence: the perform_sequence-style helper, and its diagnostics."""

from __future__ import annotations

import pytest

import tower_llm_fx as fx
import tower_llm_fx.testing
from tower_llm_fx.testing import check_step_output, run_sequence

AGENT = fx.Agent(model="m")
START = fx.RunState.start("hi")
FIRST = AGENT.model_call(START.messages)
HELLO = fx.ModelReply(message=fx.assistant("hello"))


def test_happy_path_records_the_stop_reason() -> None:
    final = run_sequence(AGENT.step, START, [(FIRST, HELLO)])
    assert final.stop is not None and final.stop.kind == "no_tool_calls"


def test_mismatch_shows_log_not_found_next_expected_and_diff() -> None:
    wrong = fx.ModelCall(model="other", messages=START.messages)
    with pytest.raises(fx.testing.SequenceMismatch) as info:
        run_sequence(AGENT.step, START, [(wrong, HELLO)])
    text = str(info.value)
    assert "effect #0 differs" in text
    assert "(nothing matched yet)" in text
    assert "NOT FOUND: ModelCall(model='m'" in text
    assert "NEXT EXPECTED: ModelCall(model='other'" in text
    assert "model: 'other' -> 'm'" in text


def test_unexpected_extra_effect() -> None:
    tool_turn = fx.ModelReply(message=fx.assistant(None, fx.ToolCallRequest(id="c", name="t")))
    with pytest.raises(
        fx.testing.SequenceMismatch, match=r"(?s)#0 sequence.*NOT FOUND: ToolCall.*should have returned Done"
    ):
        run_sequence(AGENT.step, START, [(FIRST, tool_turn)])


def test_unused_expectations_are_an_error() -> None:
    with pytest.raises(fx.testing.SequenceMismatch, match="1 expected effect"):
        run_sequence(AGENT.step, START, [(FIRST, HELLO), (FIRST, HELLO)])


def test_generic_state_with_custom_advance_and_finish() -> None:
    def step(n: int) -> fx.Effect[object] | fx.Done:
        return fx.Done(reason=fx.StopReason(kind="custom")) if n >= 2 else fx.ToolCall(id=str(n), name="inc")

    def adv(n: int, effect: fx.Effect[object], result: object) -> int:
        return n + 1

    expected = [(fx.ToolCall(id="0", name="inc"), None), (fx.ToolCall(id="1", name="inc"), None)]
    assert run_sequence(step, 0, expected, advance=adv) == 2
    assert run_sequence(step, 0, expected, advance=adv, finish=lambda n, d: -n) == -2


async def _async_step(state: object) -> None:
    return None


def test_step_returning_a_coroutine_is_diagnosed() -> None:
    with pytest.raises(fx.StepError, match="steps are plain functions"):
        run_sequence(_async_step, START, [])  # type: ignore[arg-type]


def test_step_returning_junk_is_diagnosed() -> None:
    with pytest.raises(fx.StepError, match="must return an Effect"):
        check_step_output(42, "step")

    def gen() -> object:
        yield 1

    with pytest.raises(fx.StepError, match="generator"):
        check_step_output(gen(), "step")

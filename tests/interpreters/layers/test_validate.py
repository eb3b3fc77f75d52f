"""The validate() layer: invalid model calls never reach the inner interpreter."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import tower_llm_fx as fx
import tower_llm_fx.validation
from interpreters import agent_interpreter, by_type, fixed, run, sequence, stack
from interpreters.layers import validate

pytestmark = pytest.mark.anyio


class Recorder:
    """A real (scripted) inner interpreter that notes what reached it."""

    def __init__(self) -> None:
        self.seen: list[fx.Effect[Any]] = []
        self.model = fixed("ok")

    async def __call__(self, effect: fx.Effect[Any]) -> Any:
        self.seen.append(effect)
        if isinstance(effect, fx.ModelCall):
            return await self.model(effect)
        return fx.ToolResult.success(call_id=effect.id, name=effect.name, content="1")  # type: ignore[attr-defined]


ORPHAN = fx.ModelCall(model="m", messages=(fx.user("hi"), fx.ToolMessage(tool_call_id="c9", content="?")))


async def test_an_invalid_model_call_raises_before_the_inner_interpreter_sees_it() -> None:
    inner = Recorder()
    with pytest.raises(fx.validation.InvalidConversation) as info:
        await validate()(inner)(ORPHAN)
    assert inner.seen == []
    err = info.value
    assert [(v.kind, v.index) for v in err.violations] == [("orphan_tool_message", 1)]
    assert "the ModelCall to 'm' would be rejected" in str(err)
    assert "messages[1]" in str(err)
    assert isinstance(err, ValueError)


async def test_a_valid_model_call_passes_through_unchanged() -> None:
    inner = Recorder()
    call = fx.ModelCall(model="m", messages=(fx.user("hi"),))
    reply = await validate()(inner)(call)
    assert reply.message.content == "ok"
    assert inner.seen == [call]


async def test_other_effects_are_not_checked() -> None:
    inner = Recorder()
    effect = fx.ToolCall(id="", name="not a valid name", arguments="{")
    result = await validate(fx.validation.ValidationPolicy.strict())(inner)(effect)
    assert result.content == "1"
    assert inner.seen == [effect]


async def test_the_policy_decides() -> None:
    call = fx.ModelCall(model="m", messages=(fx.user("a"), fx.user("b")))
    assert (await validate()(Recorder())(call)).message.content == "ok"
    with pytest.raises(fx.validation.InvalidConversation, match="repeated_role"):
        await validate(fx.validation.ValidationPolicy(allow_repeated_roles=False))(Recorder())(call)


async def test_request_level_rules_are_checked_too() -> None:
    call = fx.ModelCall(model="m", messages=(fx.user("hi"),), params=fx.ModelParams(temperature=9))
    with pytest.raises(fx.validation.InvalidConversation, match="temperature is 9"):
        await validate()(Recorder())(call)


async def test_in_a_run_the_error_names_the_message_and_nothing_is_sent() -> None:
    # A conversation resumed from a broken store: the tool result lost its call.
    broken: list[fx.Message] = [fx.user("What is 1 + 1?"), fx.ToolMessage(tool_call_id="call_1", content="2")]
    agent = fx.Agent(model="m")
    model = sequence(["never sent"])
    interp = stack(validate())(agent_interpreter(agent, model=model))
    with pytest.raises(fx.validation.InvalidConversation, match="orphan_tool_message"):
        await run(agent, interp, broken)
    assert model.remaining == 1


async def test_a_run_with_valid_conversations_is_unaffected() -> None:
    call = fx.ToolCallRequest(id="call_1", name="add", arguments='{"a": 1, "b": 1}')

    @fx.tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    agent = fx.Agent(model="m", instructions="calc", tools=(add,))
    model = sequence([fx.assistant(None, call), "2"])
    interp = validate()(agent_interpreter(agent, model=model))
    final = await run(agent, interp, "1 + 1?")
    assert final.output == "2"
    model.assert_consumed()


def test_repr_and_argument_checking() -> None:
    assert repr(validate()) == "validate()"
    assert repr(validate(fx.validation.ValidationPolicy.strict())).startswith("validate(ValidationPolicy(")
    assert repr(stack(validate())) == "stack(validate())"
    with pytest.raises(TypeError, match="ValidationPolicy"):
        validate({"allow_system_anywhere": False})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wraps an interpreter"):
        validate()(42)  # type: ignore[arg-type]
    assert repr(validate()(by_type({}))).startswith("validate(...)(by_type(")


def test_the_error_pickles_with_its_violations() -> None:
    (violation,) = fx.validation.validate_model_call(ORPHAN)
    err = fx.validation.InvalidConversation([violation], "the ModelCall to 'm'")
    back = pickle.loads(pickle.dumps(err))
    assert back.violations == err.violations
    assert str(back) == str(err)


def test_long_lists_are_cut_short() -> None:
    violations = [
        fx.validation.Violation(kind="empty_content", index=i, explanation="empty") for i in range(25)
    ]
    text = str(fx.validation.InvalidConversation(violations))
    assert "(25 violations)" in text
    assert "... and 5 more" in text

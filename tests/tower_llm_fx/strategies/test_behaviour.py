"""Misbehaving-model strategies (``strategies/_behaviour.py``): `model_scripts` ends
with a plain answer (or not, with ``final=None``), honours its bounds, misbehaves
in every documented way, and never names a tool the API would reject."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import Phase, find, given, settings

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst


@given(fxst.model_scripts())
def test_model_scripts_end_with_a_plain_answer(script: tuple[fx.ModelReply, ...]) -> None:
    assert script[-1].message.content == "Done."
    assert not script[-1].message.tool_calls


@pytest.mark.parametrize(
    ("what", "predicate"),
    [
        ("a storm", lambda r: len(r.message.tool_calls) >= 8),
        ("a repeated id", lambda r: len({c.id for c in r.message.tool_calls}) < len(r.message.tool_calls)),
        ("an empty id", lambda r: any(c.id == "" for c in r.message.tool_calls)),
        ("an unknown tool", lambda r: any(c.name == "no_such_tool" for c in r.message.tool_calls)),
        ("truncated arguments", lambda r: any(c.arguments == '{"a": ' for c in r.message.tool_calls)),
        ("a bare refusal", lambda r: r.message.refusal is not None and r.message.content is None),
        ("an empty reply", lambda r: r.message == fx.AssistantMessage()),
    ],
)
def test_model_scripts_misbehave_in_every_documented_way(what: str, predicate: Any) -> None:
    found = find(
        fxst.model_scripts(max_calls=12),
        lambda script: any(predicate(r) for r in script),
        settings=settings(database=None, max_examples=2000, phases=[Phase.generate]),
    )
    assert any(predicate(r) for r in found), what


# --------------------------------------------------------------------------- more of the documented ways

FIND = settings(database=None, max_examples=2000, phases=[Phase.generate])


def _ids(script: tuple[fx.ModelReply, ...]) -> list[list[str]]:
    return [[c.id for c in r.message.tool_calls] for r in script if r.message.tool_calls]


@pytest.mark.parametrize(
    ("what", "predicate"),
    [
        ("ids restarting every reply", lambda s: sum("call_1" in ids for ids in _ids(s)) >= 2),
        ("a blank reply", lambda s: any(r.message.content == "" and not r.message.tool_calls for r in s)),
        ("a reply cut off", lambda s: any(r.finish_reason == "length" for r in s)),
        ("arguments that are not an object", lambda s: any(c.arguments == "[1, 2]" for c in _calls(s))),
        ("blank arguments", lambda s: any(c.arguments == "" for c in _calls(s))),
    ],
)
def test_model_scripts_misbehave_in_the_other_documented_ways(what: str, predicate: Any) -> None:
    assert predicate(find(fxst.model_scripts(), predicate, settings=FIND)), what


def _calls(script: tuple[fx.ModelReply, ...]) -> list[fx.ToolCallRequest]:
    return [c for r in script for c in r.message.tool_calls]


SPECS = (fx.ToolSpec(name="lookup"), fx.ToolSpec(name="refund"))


@given(fxst.model_scripts(tools=SPECS, max_replies=3, max_calls=2, final="Bye."))
def test_model_scripts_honour_their_bounds_and_tools(script: tuple[fx.ModelReply, ...]) -> None:
    assert 1 <= len(script) <= 4
    assert script[-1] == fx.ModelReply(message=fx.assistant("Bye."))
    calls = [r.message.tool_calls for r in script]
    assert all(len(c) <= 2 for c in calls)
    assert {c.name for cs in calls for c in cs} <= {"lookup", "refund", "no_such_tool"}


@given(fxst.model_scripts())
def test_tool_names_always_match_the_api_pattern(script: tuple[fx.ModelReply, ...]) -> None:
    for reply in script:
        kinds = {v.kind for v in fx.validation.validate_conversation((fx.user("hi"), reply.message))}
        assert "invalid_tool_name" not in kinds
    assert fx.from_json(fx.to_json(script)) == script


def test_without_a_final_answer_a_script_may_be_empty_or_end_anyhow() -> None:
    assert find(fxst.model_scripts(final=None), lambda s: True) == ()
    ends_calling = find(
        fxst.model_scripts(final=None), lambda s: bool(s) and bool(s[-1].message.tool_calls), settings=FIND
    )
    assert ends_calling[-1].message.tool_calls

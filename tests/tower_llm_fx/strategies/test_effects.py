"""Effect, result and state strategies (``strategies/_effects.py``): what they draw
is a JSON value, a request valid under the policy asked for, a run state whose
counters match its conversation, and an exchange whose result answers its effect.

(`traces` and `run_items` are exercised by ``tests/tower_llm_fx/trace/`` and
``tests/tower_llm_fx/test_items.py``.)"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
import tower_llm_fx.trace
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst


@given(fxst.effects())
def test_effects_are_json_values(effect: fx.Effect[Any]) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(effect)))) == effect


@given(fxst.model_calls())
def test_model_calls_are_valid_requests(call: fx.ModelCall) -> None:
    assert fx.validation.validate_model_call(call) == ()


@given(st.one_of(fxst.results(), fxst.stop_reasons(), fxst.usages()))
def test_results_are_json_values(result: object) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(result)))) == result


@given(fxst.run_states())
def test_run_states_are_valid_possibly_mid_step(state: fx.RunState) -> None:
    assert (
        fx.validation.validate_conversation(
            state.messages, fx.validation.ValidationPolicy(allow_pending_tool_calls=True)
        )
        == ()
    )
    assert fx.from_json(fx.to_json(state)) == state


@given(fxst.run_states(finished=False))
def test_the_agent_step_accepts_any_unfinished_state(state: fx.RunState) -> None:
    agent = fx.Agent(model="m", tools=())
    out = agent.step(state)
    assert isinstance(out, (fx.Effect, fx.Done))
    if fx.pending_tool_calls(state.messages):
        assert isinstance(out, (fx.ToolCall, fx.Parallel))


# --------------------------------------------------------------------------- requests and their parts

STRICT = fx.validation.ValidationPolicy.strict()


@given(fxst.model_calls(policy=STRICT, model="local-llm"))
def test_model_calls_honour_the_policy_and_model(call: fx.ModelCall) -> None:
    assert call.model == "local-llm"
    assert fx.validation.validate_model_call(call, STRICT) == ()
    assert len({t.name for t in call.tools}) == len(call.tools)


@given(fxst.model_params())
def test_model_params_are_in_the_ranges_the_api_accepts(params: fx.ModelParams) -> None:
    call = fx.ModelCall(model="m", messages=(fx.user("hi"),), params=params)
    assert fx.validation.validate_model_call(call) == ()
    assert fx.from_json(fx.to_json(params)) == params


# --------------------------------------------------------------------------- run states


@given(fxst.run_states(finished=True))
def test_run_state_counters_match_the_conversation(state: fx.RunState) -> None:
    assert state.stop is not None
    assistants = sum(isinstance(m, fx.AssistantMessage) for m in state.messages)
    assert state.model_calls == assistants and 0 <= state.steps <= assistants
    assert state.tool_invocations == sum(isinstance(m, fx.ToolMessage) for m in state.messages)


# --------------------------------------------------------------------------- exchanges


BATCH = fx.Parallel(
    calls=(
        fx.ToolCall(id="call_1", name="add", arguments='{"a": 1, "b": 2}'),
        fx.ToolCall(id="call_2", name="search", arguments='{"query": "x"}'),
    )
)


@given(fxst.exchanges(effect=st.sampled_from([BATCH, BATCH.calls[0]])))
def test_exchanges_answer_the_effect_given_call_by_call(exchange: fx.trace.Exchange) -> None:
    effect, result = exchange.effect, exchange.result
    assert fx.trace.check_result(effect, result) is None
    if isinstance(effect, fx.Parallel):
        calls, results = effect.calls, result
    else:
        assert isinstance(effect, fx.ToolCall)
        calls, results = (effect,), (result,)
    assert [(r.call_id, r.name) for r in results] == [(c.id, c.name) for c in calls]


# --------------------------------------------------------------------------- the widened model

_FIND = settings(database=None, max_examples=500, phases=[Phase.generate])


@pytest.mark.parametrize(
    ("strategy", "found"),
    [
        pytest.param(fxst.usages(), lambda u: u.reported_total_tokens is not None, id="reported-total"),
        pytest.param(fxst.usages(), lambda u: u.cached_tokens is not None, id="cached"),
        pytest.param(fxst.usages(), lambda u: u.reasoning_tokens is not None, id="reasoning-tokens"),
        pytest.param(fxst.usages(), lambda u: u.extra is not None, id="usage-extra"),
        pytest.param(fxst.model_replies(), lambda r: r.extra is not None, id="reply-extra"),
        pytest.param(fxst.model_replies(), lambda r: r.choice_extra is not None, id="choice-extra"),
        pytest.param(fxst.model_calls(), lambda c: c.provider_tools != (), id="provider-tools"),
        pytest.param(
            fxst.model_calls(),
            lambda c: c.params.tool_choice is not None and c.params.tool_choice.mode == "any",
            id="any",
        ),
        pytest.param(
            fxst.model_calls(),
            lambda c: c.params.tool_choice is not None and c.params.tool_choice.mode == "function",
            id="tool-choice-function",
        ),
        pytest.param(
            fxst.model_calls(), lambda c: any(t.extra is not None for t in c.tools), id="spec-extra"
        ),
        pytest.param(
            fxst.run_items(),
            lambda items: any(getattr(i, "role", None) == "developer" for i in items),
            id="items",
        ),
    ],
)
def test_the_widened_model_is_drawn(strategy: st.SearchStrategy[Any], found: Any) -> None:
    assert found(find(strategy, found, settings=_FIND))


@given(fxst.usages())
def test_a_reported_total_differs_from_the_sum(usage: fx.Usage) -> None:
    # A total equal to the sum is what "no total reported" means on the wire.
    if usage.reported_total_tokens is not None:
        assert usage.reported_total_tokens > usage.prompt_tokens + usage.completion_tokens


@given(st.one_of(fxst.usages(details=False), fxst.model_replies(extras=False)))
def test_the_opt_outs_draw_the_plain_model(value: fx.Usage | fx.ModelReply) -> None:
    if isinstance(value, fx.Usage):
        assert value == fx.Usage(prompt_tokens=value.prompt_tokens, completion_tokens=value.completion_tokens)
    else:  # details stay, extras go
        assert value.extra is None and value.choice_extra is None and value.usage.extra is None


@given(fxst.model_replies())
def test_model_replies_survive_the_response_codec(reply: fx.ModelReply) -> None:
    body = json.loads(json.dumps(fx.openai.to_openai_response(reply)))
    back = fx.openai.from_openai_response(body)
    m = reply.message
    if m.content == "" and (m.tool_calls or m.refusal is not None):  # the codec's one normalisation
        m = attrs.evolve(m, content=None)
    assert back == attrs.evolve(reply, message=m)

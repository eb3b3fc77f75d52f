"""Effect, result and state strategies (``strategies/_effects.py``): what they draw
is a JSON value, a request valid under the policy asked for, a run state whose
counters match its conversation, and an exchange whose result answers its effect.

(`traces` and `run_items` are exercised by ``tests/tower_llm_fx/trace/`` and
``tests/tower_llm_fx/test_items.py``.)"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
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

"""Group state as data (``group/_state.py``): `Handoff`, `HandoffRecord`, `GroupState`
and its invariants, `handoff_events`, and the fold's fast copy ``replace_fields``
(which must equal `attrs.evolve`)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
from tower_llm_fx import strategies as fxst
from tower_llm_fx.group import _state


def test_the_fast_fold_copies_every_field() -> None:
    from tower_llm_fx.group._state import _FIELDS, replace_fields

    assert tuple(f.name for f in attrs.fields(fx.group.GroupState)) == _FIELDS
    state = fx.group.GroupState(run=fx.RunState.start("hi"), active="a", turn_start=1)
    assert replace_fields(state, active="b") == attrs.evolve(state, active="b")


def test_group_state_checks_its_invariants() -> None:
    with pytest.raises(ValueError, match="turn_start"):
        fx.group.GroupState(run=fx.RunState.start("hi"), active="a", turn_start=2)
    with pytest.raises(ValueError, match="must name its active agent"):
        fx.group.GroupState(
            run=fx.RunState.start("hi"),
            active=None,
            handoffs=(fx.group.HandoffRecord(source="a", target="b", at=0, step=0),),
        )


# --------------------------------------------------------------------------- values

AGENTS = st.sampled_from(["triage", "billing", "tech"])
CONTEXTS = st.none() | st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=2)
REASONS = st.none() | st.text(max_size=8)
VIAS = st.sampled_from(["", "sequential", "handoff_to_tech"])
HANDOFFS = st.builds(
    fx.group.Handoff,
    target=AGENTS,
    reason=REASONS,
    context=CONTEXTS,
    via=VIAS,
    call_id=st.none() | st.just("call_1"),
)


@st.composite
def group_states(draw: st.DrawFn, run: fx.RunState | None = None) -> fx.group.GroupState:
    """Any valid `GroupState` (over ``run`` if given)."""
    run = run if run is not None else draw(fxst.run_states())
    records = draw(
        st.lists(
            st.builds(
                fx.group.HandoffRecord,
                source=AGENTS,
                target=AGENTS,
                reason=REASONS,
                context=CONTEXTS,
                via=VIAS,
                call_id=st.none() | st.just("call_1"),
                at=st.integers(0, len(run.messages)),
                step=st.integers(0, run.steps),
                summary=st.none() | st.text(max_size=8),
            ),
            max_size=3,
        )
    )
    return fx.group.GroupState(
        run=run,
        active=draw(AGENTS if records else st.none() | AGENTS),
        handoffs=tuple(records),
        turn_start=draw(st.integers(0, len(run.messages))),
        turn_first_step=draw(st.integers(0, run.steps)),
        requested=draw(st.none() | HANDOFFS),
    )


def test_handoff_context_is_canonical_json_text() -> None:
    assert fx.group.Handoff(target="b", context={"b": 1, "a": [True]}).context == '{"a":[true],"b":1}'
    assert fx.group.Handoff(target="b", context='{"b": 1, "a": 2}').context == '{"a":2,"b":1}'
    assert fx.group.Handoff(target="b").context is None
    record = fx.group.HandoffRecord(source="a", target="b", context={"z": 0, "y": None}, at=0, step=0)
    assert record.context == '{"y":null,"z":0}'
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        fx.group.Handoff(target="b", context={"x": float("nan")})
    with pytest.raises(ValueError, match="expected JSON text"):
        fx.group.Handoff(target="b", context="not json")


@pytest.mark.parametrize(
    "changes",
    [{"target": 3}, {"reason": 1}, {"via": None}, {"call_id": 7}],
)
def test_handoff_fields_are_checked(changes: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        fx.group.Handoff(**{"target": "b", **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize("changes", [{"at": -1}, {"step": -1}, {"at": "0"}, {"summary": 1}, {"source": None}])
def test_handoff_record_fields_are_checked(changes: dict[str, object]) -> None:
    with pytest.raises((TypeError, ValueError)):
        fx.group.HandoffRecord(**{"source": "a", "target": "b", "at": 0, "step": 0, **changes})  # type: ignore[arg-type]


def test_group_state_checks_the_rest_of_its_invariants() -> None:
    run = fx.RunState.start("hi")
    with pytest.raises(ValueError, match=r"turn_first_step 1 is after run\.steps 0"):
        fx.group.GroupState(run=run, active="a", turn_first_step=1)
    with pytest.raises(TypeError, match="tuple of HandoffRecord"):
        fx.group.GroupState(run=run, active="a", handoffs=(fx.group.Handoff(target="b"),))
    with pytest.raises(TypeError, match="tuple of HandoffRecord"):
        fx.group.GroupState(run=run, active="a", handoffs="ab")
    with pytest.raises(TypeError):
        fx.group.GroupState(run=run, active="a", requested="b")  # type: ignore[arg-type]
    record = fx.group.HandoffRecord(source="a", target="b", at=1, step=0)
    listed = fx.group.GroupState(run=run, active="b", handoffs=[record])
    assert listed.handoffs == (record,)


def test_the_path_follows_the_records_and_the_views_delegate_to_the_run() -> None:
    run = fx.RunState(
        messages=(fx.user("hi"), fx.assistant("one"), fx.assistant("two")),
        steps=3,
        stop=fx.StopReason(kind="no_tool_calls"),
    )
    records = (
        fx.group.HandoffRecord(source="triage", target="billing", at=2, step=1),
        fx.group.HandoffRecord(source="billing", target="tech", at=3, step=2),
    )
    state = fx.group.GroupState(run=run, active="tech", handoffs=records, turn_start=3, turn_first_step=2)
    assert state.path == ("triage", "billing", "tech")
    assert state.turn_steps == 1
    assert (state.messages, state.output, state.stop) == (run.messages, "two", run.stop)
    assert fx.group.GroupState(run=run, active=None).path == ()


# --------------------------------------------------------------------------- handoff_events


def test_handoff_events_are_the_new_records_in_order() -> None:
    run = fx.RunState.start("hi")
    a_b = fx.group.HandoffRecord(source="a", target="b", at=1, step=0)
    b_c = fx.group.HandoffRecord(source="b", target="c", at=1, step=0)
    start = fx.group.GroupState(run=run, active="a")
    one = attrs.evolve(start, active="b", handoffs=(a_b,))
    two = attrs.evolve(start, active="c", handoffs=(a_b, b_c))
    assert fx.group.handoff_events(start, two) == (
        fx.group.HandedOff(handoff=a_b),
        fx.group.HandedOff(handoff=b_c),
    )
    assert fx.group.handoff_events(one, two) == (fx.group.HandedOff(handoff=b_c),)
    assert fx.group.handoff_events(two, two) == ()
    with pytest.raises(TypeError):
        fx.group.HandedOff(handoff=fx.group.Handoff(target="b"))  # type: ignore[arg-type]


@given(group_states())
def test_path_and_events_agree_with_the_records(state: fx.group.GroupState) -> None:
    empty = attrs.evolve(state, handoffs=(), active=state.active or "triage")
    events = fx.group.handoff_events(empty, state)
    assert tuple(e.handoff for e in events) == state.handoffs
    if state.handoffs:
        assert state.path[1:] == tuple(r.target for r in state.handoffs)
    else:
        assert state.path == (() if state.active is None else (state.active,))


# --------------------------------------------------------------------------- data and the fast copy


@given(group_states())
def test_group_values_round_trip_through_json(state: fx.group.GroupState) -> None:
    assert fx.from_json(fx.to_json(state)) == state
    assert hash(fx.from_json(fx.to_json(state))) == hash(state)
    events = fx.group.handoff_events(attrs.evolve(state, handoffs=(), active="triage"), state)
    assert fx.from_json(fx.to_json(events)) == events
    if state.requested is not None:
        assert fx.from_json(fx.to_json(state.requested)) == state.requested


@given(st.data())
def test_replace_fields_is_attrs_evolve(data: st.DataObject) -> None:
    state = data.draw(group_states(), label="state")
    other = data.draw(group_states(run=state.run) | group_states(), label="other")
    names = data.draw(st.sets(st.sampled_from(_state._FIELDS)), label="fields")
    changes = {name: getattr(other, name) for name in names}
    try:
        expected = attrs.evolve(state, **changes)
    except ValueError:
        assume(False)  # a mix that breaks an invariant: the fold never makes one
        raise
    got = _state.replace_fields(state, **changes)
    assert got == expected
    for name in _state._FIELDS:  # nothing is copied: the very values passed, or kept
        assert getattr(got, name) is (changes[name] if name in changes else getattr(state, name))

"""Group members and pickers (``group/_pick.py``): `GroupMember`, the request a
`ModelPicker` makes, how it reads the model's answer, and `llm_picker`.

How a group uses its picker (the pick is a recorded model call whose reply stays
out of the conversation) is tested with the group, in ``test_group.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.validation

TRIAGE = fx.Agent(model="m", name="triage")
BILLING = fx.Agent(model="m", name="billing")
NAMES = ["triage", "billing", "tech"]


def test_a_member_is_named_after_its_agent() -> None:
    member = fx.group.GroupMember(agent=BILLING, description="Invoices.")
    assert (member.name, member.description) == ("billing", "Invoices.")
    assert fx.group.GroupMember(agent=TRIAGE).description == ""
    with pytest.raises(TypeError):
        fx.group.GroupMember(agent="billing")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fx.group.GroupMember(agent=BILLING, description=None)  # type: ignore[arg-type]


def test_the_picker_asks_with_every_agent_and_the_input() -> None:
    params = fx.ModelParams(temperature=0.0)
    picker = fx.group.llm_picker("m-router", instructions="Route this.", params=params)
    members = (fx.group.GroupMember(agent=TRIAGE, description="Routes."), fx.group.GroupMember(agent=BILLING))
    history = (fx.user("I was charged twice"), fx.assistant("Let me see."), fx.user("Well?"))
    call = picker.model_call(members, history)
    assert (call.model, call.params, call.tools) == ("m-router", params, ())
    system, *rest = call.messages
    assert tuple(rest) == history
    assert isinstance(system, fx.SystemMessage)
    lines = fx.text_of(system.content).splitlines()
    assert lines[0] == "Route this."
    assert lines[lines.index("Agents:") + 1 :][:2] == ["- triage: Routes.", "- billing"]
    assert fx.validation.validate_model_call(call) == ()


@pytest.mark.parametrize(
    ("answer", "chosen"),
    [
        ("billing", "billing"),
        ("  BILLING\n", "billing"),
        ("'Billing'.", "billing"),
        ("`tech`!", "tech"),
        ("I would hand this to billing.", "billing"),
        ("**Tech** (hardware)", "tech"),
        ("Agent: triage", "triage"),
    ],
)
def test_the_answer_names_an_agent(answer: str, chosen: str) -> None:
    assert fx.group.ModelPicker(model="m").choose(answer, NAMES) == chosen


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("triage or billing", "names several"),
        ("billing, then tech", "names several"),
        ("the accounts team", "names none"),
        ("billings", "names none"),
        ("", "names none"),
        (None, "names none"),
    ],
)
def test_an_unclear_answer_selects_the_fallback_or_fails(answer: str | None, problem: str) -> None:
    assert fx.group.llm_picker("m", fallback="triage").choose(answer, NAMES) == "triage"
    with pytest.raises(fx.group.UnknownAgent, match=f"{problem} of the agents triage, billing, tech"):
        fx.group.llm_picker("m").choose(answer, NAMES)


def test_a_clear_answer_wins_over_the_fallback() -> None:
    assert fx.group.llm_picker("m", fallback="triage").choose("tech", NAMES) == "tech"


def test_llm_picker_builds_a_model_picker() -> None:
    assert fx.group.llm_picker("m") == fx.group.ModelPicker(model="m")
    assert fx.group.llm_picker("m").params == fx.ModelParams()
    picker = fx.group.llm_picker("m", fallback="tech", params=fx.ModelParams(seed=3))
    assert (picker.fallback, picker.params.seed) == ("tech", 3)
    with pytest.raises(TypeError):
        fx.group.ModelPicker(model=None)  # type: ignore[arg-type]


AGENT_NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True)
FILLER = {"i", "pick", "answer", "or", "please"}  # words of the decorations below


@given(
    st.lists(AGENT_NAMES, min_size=1, max_size=4, unique_by=str.casefold),
    st.data(),
)
def test_any_agent_is_recognised_however_the_model_dresses_its_name(
    names: list[str], data: st.DataObject
) -> None:
    assume(not FILLER & {n.casefold() for n in names})
    name = data.draw(st.sampled_from(names), label="name")
    cases: list[Callable[[str], str]] = [str, str.upper, str.lower]
    case = data.draw(st.sampled_from(cases), label="case")
    quote = data.draw(st.sampled_from(["", '"', "'", "`", "**"]), label="quote")
    before = data.draw(st.sampled_from(["", "  ", "I pick ", "Answer: "]), label="before")
    after = data.draw(st.sampled_from(["", ".", "!", " please", "\n"]), label="after")
    answer = f"{before}{quote}{case(name)}{quote}{after}"
    assert fx.group.ModelPicker(model="m").choose(answer, names) == name


@given(st.lists(AGENT_NAMES, min_size=2, max_size=4, unique_by=str.casefold), st.data())
def test_an_answer_naming_two_agents_is_never_a_pick(names: list[str], data: st.DataObject) -> None:
    assume(not FILLER & {n.casefold() for n in names})
    first, second = data.draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
    with pytest.raises(fx.group.UnknownAgent, match="names several"):
        fx.group.ModelPicker(model="m").choose(f"{first} or {second}", names)

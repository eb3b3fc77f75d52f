"""tower_llm_fx._repr: ``quiet_repr`` leaves out fields at their default, and only those."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx._repr import quiet_repr


@quiet_repr("note", "tags")
@attrs.frozen
class Point:
    x: int
    note: str | None = None
    tags: tuple[str, ...] = ()


@given(st.integers(), st.none() | st.text(max_size=5), st.lists(st.text(max_size=3), max_size=2).map(tuple))
def test_only_the_named_fields_at_their_default_are_left_out(
    x: int, note: str | None, tags: tuple[str, ...]
) -> None:
    text = repr(Point(x, note, tags))
    assert text.startswith(f"Point(x={x!r}")
    assert ("note=" in text) == (note is not None)
    assert ("tags=" in text) == (tags != ())
    assert eval(text) == Point(x, note, tags)


def test_library_values_hide_their_unset_wire_fields() -> None:
    assert repr(fx.user("hi")) == "UserMessage(content='hi', name=None)"
    assert "extra" in repr(fx.UserMessage(content="hi", extra={"x_a": 1}))
    assert "reasoning=Reasoning(" in repr(fx.AssistantMessage(reasoning=fx.Reasoning(text="t")))
    assert (
        repr(fx.ModelCall(model="m", messages=()))
        == "ModelCall(model='m', messages=(), tools=(), params=ModelParams())"
    )

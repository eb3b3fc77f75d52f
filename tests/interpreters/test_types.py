"""The shell's shapes: the `Interpreter` protocol, `Layer`, `identity` and `stack`.

Covers: what satisfies ``Interpreter`` (a bare ``async def``, a class with ``async __call__``, the
scripted interpreters; checked by mypy), ``identity``, the stack order
``stack(a, b)(i) == a(b(i))`` (as values, and as the order effects and results pass through at run
time), flattening of nested stacks, ``stack()`` as the identity, bad arguments and the repr.
The layer laws over real layers are in ``tests/laws/test_layer_laws.py``. Trio and asyncio.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast, final

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from interpreters import Interpreter, Layer, agent_interpreter, fixed, identity, run, stack
from interpreters.layers import with_store
from interpreters.stores import memory_store

R = TypeVar("R")

CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))


def tagging(name: str, log: list[str]) -> Any:
    def layer(inner: Interpreter) -> Interpreter:
        async def interp(effect: fx.Effect[Any]) -> Any:
            log.append(f"{name}>")
            result = await inner(effect)
            log.append(f"<{name}")
            return result

        return interp

    layer.__name__ = name
    return layer


@final
@attrs.frozen
class Wrapped:
    """What `wrapping` layers build: a value, so two layer applications can be compared with ``==``."""

    name: str
    inner: Interpreter

    async def __call__(self, effect: fx.Effect[R], /) -> R:
        return await self.inner(effect)


def wrapping(name: str) -> Layer:
    def layer(inner: Interpreter) -> Interpreter:
        return Wrapped(name, inner)

    layer.__name__ = name
    return layer


# --- moved verbatim from tests/interpreters/test_run.py ---


@pytest.mark.anyio
async def test_stack_order_outer_sees_effect_first_and_result_last() -> None:
    log: list[str] = []
    interp = stack(tagging("a", log), tagging("b", log))(
        agent_interpreter(fx.Agent(model="m"), model=fixed("x"))
    )
    await run(fx.Agent(model="m"), interp, "x")
    assert log == ["a>", "b>", "<b", "<a"]
    assert repr(stack(tagging("a", log), stack(tagging("b", log), tagging("c", log)))) == "stack(a, b, c)"


@pytest.mark.anyio
async def test_stack_laws_identity_and_associativity() -> None:
    for build in (
        lambda log: stack(identity, tagging("l", log)),
        lambda log: stack(tagging("l", log), identity),
        lambda log: tagging("l", log),
    ):
        log: list[str] = []
        await run(fx.Agent(model="m"), build(log)(fixed("x")), "x")
        assert log == ["l>", "<l"]
    logs: list[list[str]] = []
    for shape in ("left", "right", "flat"):
        log = []
        a, b, c = tagging("a", log), tagging("b", log), tagging("c", log)
        layer = {"left": stack(stack(a, b), c), "right": stack(a, stack(b, c)), "flat": stack(a, b, c)}[shape]
        await run(fx.Agent(model="m"), layer(fixed("x")), "x")
        logs.append(log)
    assert logs[0] == logs[1] == logs[2]
    with pytest.raises(TypeError, match="not a layer"):
        stack(3)  # type: ignore[arg-type]


# --- Interpreter and Layer ---


@pytest.mark.anyio
async def test_a_bare_async_def_and_a_class_are_interpreters() -> None:
    """Each assignment below is checked by mypy against the protocol; the awaits check the behaviour."""

    async def bare(effect: fx.Effect[R], /) -> R:
        return cast("R", fx.ModelReply(message=fx.assistant("bare")))

    class CallableClass:
        async def __call__(self, effect: fx.Effect[R], /) -> R:
            return cast("R", fx.ModelReply(message=fx.assistant("class")))

    interpreters: list[Interpreter] = [bare, CallableClass(), fixed("fixed")]
    replies = [await i(CALL) for i in interpreters]
    assert [r.message.content for r in replies] == ["bare", "class", "fixed"]
    layer: Layer = wrapping("w")
    assert (await layer(bare)(CALL)).message.content == "bare"


def test_identity_returns_the_same_interpreter() -> None:
    interp = fixed("x")
    assert identity(interp) is interp
    assert stack(identity)(interp) is interp


# --- stack ---


def test_stack_a_b_of_i_is_a_of_b_of_i() -> None:
    a, b, inner = wrapping("a"), wrapping("b"), fixed("x")
    assert stack(a, b)(inner) == a(b(inner)) == Wrapped("a", Wrapped("b", inner))
    assert stack(a, b)(inner) != stack(b, a)(inner)


def test_stack_applies_the_innermost_layer_first_when_building() -> None:
    built: list[str] = []

    def noting(name: str) -> Layer:
        def layer(inner: Interpreter) -> Interpreter:
            built.append(name)
            return inner

        return layer

    stack(noting("a"), noting("b"), noting("c"))(fixed("x"))
    assert built == ["c", "b", "a"]


def test_an_empty_stack_changes_nothing() -> None:
    interp = fixed("x")
    assert stack()(interp) is interp
    assert repr(stack()) == "stack()"


@st.composite
def nested_stacks(draw: st.DrawFn, names: list[str]) -> Layer:
    """``names`` as layers, grouped into randomly nested stacks (order kept)."""
    if len(names) == 1 and draw(st.booleans()):
        return wrapping(names[0])
    cut = sorted(draw(st.sets(st.integers(1, max(1, len(names) - 1)), max_size=3)))
    parts = [names[i:j] for i, j in zip([0, *cut], [*cut, len(names)], strict=True) if names[i:j]]
    if len(parts) == 1:
        return stack(*(wrapping(n) for n in parts[0]))
    return stack(*(draw(nested_stacks(p)) for p in parts))


@given(data=st.data(), count=st.integers(1, 6))
def test_any_nesting_of_stacks_is_the_flat_stack(data: st.DataObject, count: int) -> None:
    names = [f"l{i}" for i in range(count)]
    layer = data.draw(nested_stacks(names))
    inner = fixed("x")
    expected: Interpreter = inner
    for name in reversed(names):
        expected = Wrapped(name, expected)
    assert layer(inner) == expected
    assert repr(stack(layer)) == f"stack({', '.join(names)})"  # flattened, whatever the nesting


def test_stack_repr_uses_names_and_falls_back_to_repr() -> None:
    store = memory_store()
    assert (
        repr(stack(identity, with_store(store))) == "stack(identity, with_store(memory_store(<0 sessions>)))"
    )


def test_stack_names_the_argument_that_is_not_a_layer() -> None:
    with pytest.raises(TypeError, match=r"stack\(\) argument 1 is 'retry', not a layer"):
        stack(identity, "retry")  # type: ignore[arg-type]

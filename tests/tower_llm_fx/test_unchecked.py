"""`tower_llm_fx._unchecked`: building frozen attrs values without their checks.

Covers: `unchecked` fills missing init fields from their defaults (plain values, ``attrs.Factory``,
``takes_self``), sets ``init=False`` fields that have defaults, clears an attrs hash cache, works on dict
classes, and refuses unknown fields, missing required fields and non-attrs classes with a ``TypeError``
naming the problem; it runs no validator, converter or ``__attrs_post_init__``. `unchecked_factory`
takes the named fields in the given order and refuses bad names when it is made. For every class the
library builds with either, on valid fields, the unchecked value equals the validated one (``==``,
``repr``, ``hash``, every field), for every field order a call site uses; a scan of the library's
source keeps that list of classes (and orders) complete.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.strategies as fxs
from tower_llm_fx._unchecked import unchecked, unchecked_factory
from tower_llm_fx.durable import Intent, Outcome, RunBegun, ToolContext
from tower_llm_fx.group import GroupState, Handoff, HandoffRecord
from tower_llm_fx.trace import Exchange
from tower_llm_fx.validation import VIOLATION_KINDS, Violation

LIBRARY = Path(__file__).resolve().parents[2] / "tower_llm_fx"
TEXT = st.text(max_size=12)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)

POST_INIT: list[str] = []


def _record(value: str) -> None:
    POST_INIT.append(value)


def _times_ten(value: int) -> int:
    return value * 10


def _fresh() -> tuple[str, ...]:
    return ("fresh",)


def _next(value: Checked) -> int:
    return value.x + 1


@attrs.frozen(kw_only=True)
class Checked:
    """A class whose every check would fail or change the value."""

    x: int = attrs.field(validator=attrs.validators.gt(100), converter=_times_ten)
    tags: tuple[str, ...] = attrs.field(factory=_fresh)
    size: int = attrs.field(init=False, default=attrs.Factory(_next, takes_self=True))
    kind: str = attrs.field(init=False, default="checked")
    unset: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        _record("post_init")


# -- examples ---------------------------------------------------------------------------------------


def test_validators_converters_and_post_init_do_not_run() -> None:
    POST_INIT.clear()
    value = unchecked(Checked, x=1, tags=("a",))
    assert (value.x, value.tags, value.size, value.kind) == (1, ("a",), 2, "checked")
    assert POST_INIT == []
    assert not hasattr(value, "unset")  # init=False without a default: left unset, as attrs does


def test_missing_fields_take_their_defaults_and_factories_are_called_per_instance() -> None:
    a, b = unchecked(Checked, x=1), unchecked(Checked, x=2)
    assert a.tags == b.tags == ("fresh",)
    assert (a.size, b.size) == (2, 3)  # takes_self sees the fields set before it
    assert unchecked(fx.ToolCall, id="c1", name="add") == fx.ToolCall(id="c1", name="add")
    assert unchecked(fx.ModelCall, model="m", messages=()).params == fx.ModelParams()


def test_a_mutable_factory_default_is_fresh_each_time() -> None:
    @attrs.define
    class Bag:
        items: list[int] = attrs.Factory(list)

    first, second = unchecked(Bag), unchecked(Bag)
    first.items.append(1)
    assert second.items == []
    assert unchecked_factory(Bag)().items == []


def test_init_false_fields_with_defaults_are_set() -> None:
    message = unchecked(fx.SystemMessage, content="hi")
    assert message.role == "system"
    assert message == fx.SystemMessage(content="hi")
    agent = unchecked(fx.Agent, model="m", instructions="Be brief.")
    assert agent.tool_specs == () and agent.prompt(()) == (fx.SystemMessage(content="Be brief."),)


def test_a_private_field_is_passed_by_its_alias() -> None:
    @attrs.frozen
    class Secret:
        _key: str

    assert unchecked(Secret, key="k") == Secret(key="k")
    with pytest.raises(TypeError, match="unknown field '_key'"):
        unchecked(Secret, _key="k")


@attrs.frozen(cache_hash=True)
class Cached:
    x: int


@attrs.frozen(cache_hash=True, slots=False)
class CachedDict:
    x: int


@pytest.mark.parametrize("cls", [Cached, CachedDict])
def test_a_hash_cache_is_cleared_like_init_does(cls: type[Cached | CachedDict]) -> None:
    for value in (unchecked(cls, x=1), unchecked_factory(cls)(1)):
        assert hash(value) == hash(cls(1)) and hash(value) == hash(value)


def test_dict_classes_work_too() -> None:
    @attrs.frozen(slots=False)
    class Plain:
        x: int
        y: int = 2

    assert unchecked(Plain, x=1) == Plain(1) and unchecked_factory(Plain, "x")(3) == Plain(3)


def test_the_value_is_frozen_like_any_other() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        unchecked(fx.Usage, prompt_tokens=1).prompt_tokens = 2  # type: ignore[misc]


def test_an_unknown_field_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"unchecked\(ToolCall\): unknown field 'nmae'; its init fields"):
        unchecked(fx.ToolCall, id="c1", nmae="add")
    with pytest.raises(TypeError, match="unknown field 'extra'"):  # same count as the fields
        unchecked(fx.ToolCall, id="c1", name="add", arguments="{}", extra=1)
    with pytest.raises(TypeError, match="unknown field 'role'"):  # init=False fields are not arguments
        unchecked(fx.SystemMessage, content="hi", role="system")


def test_a_missing_required_field_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"unchecked\(ToolCall\): missing field 'name', which has no default"):
        unchecked(fx.ToolCall, id="c1")
    with pytest.raises(TypeError, match="missing field 'id'"):
        unchecked(fx.ToolCall, name="add", arguments="{}", agent=None)


def test_a_required_field_after_a_defaulted_one_is_still_required() -> None:
    @attrs.frozen(kw_only=True)
    class Late:
        a: int = 0
        b: int

    assert unchecked(Late, b=1) == Late(b=1) and unchecked_factory(Late)(b=2) == Late(b=2)
    with pytest.raises(TypeError, match="missing field 'b'"):
        unchecked(Late, a=1)
    with pytest.raises(TypeError, match="missing field 'b'"):
        unchecked_factory(Late)(a=1)


def test_only_attrs_classes() -> None:
    with pytest.raises(TypeError, match="needs an attrs class"):
        unchecked(int)
    with pytest.raises(TypeError, match="needs an attrs class"):
        unchecked_factory(dict)


def test_a_factory_takes_the_named_fields_in_order() -> None:
    make = unchecked_factory(fx.ToolCall, "name", "id")
    assert make("add", "c1") == fx.ToolCall(id="c1", name="add")
    assert make(id="c2", name="mul") == fx.ToolCall(id="c2", name="mul")
    assert unchecked_factory(fx.ToolCall, "name", "id") is make  # cached per (class, names)
    everything = unchecked_factory(fx.ToolCall)
    assert everything("c1", "add") == everything(id="c1", name="add", arguments="{}", agent=None)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nmae'"):
        everything(id="c1", nmae="add")


def test_a_bad_factory_is_refused_when_it_is_made() -> None:
    with pytest.raises(TypeError, match=r"unchecked_factory\(ToolCall, \.\.\.\): unknown field 'ids'"):
        unchecked_factory(fx.ToolCall, "ids", "name")
    with pytest.raises(TypeError, match="named twice"):
        unchecked_factory(fx.ToolCall, "id", "name", "id")
    with pytest.raises(TypeError, match="field 'name' has no default, so it must be named"):
        unchecked_factory(fx.ToolCall, "id")


def test_a_non_init_default_before_an_init_field_keeps_attrs_order() -> None:
    @attrs.frozen
    class Early:
        first: int
        derived: int = attrs.field(init=False, default=attrs.Factory(lambda s: s.first * 2, takes_self=True))
        last: int = 0

    assert unchecked(Early, first=2, last=3) == Early(2, 3)
    assert unchecked(Early, first=2, last=3).derived == 4


# -- every class the library builds unchecked: equal to the validated value ---------------------------


@st.composite
def group_states(draw: st.DrawFn) -> GroupState:
    run = draw(fxs.run_states())
    count, steps = len(run.messages), run.steps
    active = draw(st.none() | NAMES)
    records = st.builds(
        HandoffRecord,
        source=NAMES,
        target=NAMES,
        reason=st.none() | TEXT,
        context=st.none() | st.just({"topic": "billing"}),
        via=TEXT,
        call_id=st.none() | NAMES,
        at=st.integers(0, count),
        step=st.integers(0, steps),
        summary=st.none() | TEXT,
    )
    requested = st.builds(Handoff, target=NAMES, reason=st.none() | TEXT, context=st.none() | st.just("[1]"))
    return GroupState(
        run=run,
        active=active,
        handoffs=() if active is None else tuple(draw(st.lists(records, max_size=3))),
        turn_start=draw(st.integers(0, count)),
        turn_first_step=draw(st.integers(0, steps)),
        requested=draw(st.none() | requested),
    )


VALUES: dict[type[Any], st.SearchStrategy[Any]] = {
    fx.AssistantMessage: fxs.assistant_messages(),
    ToolContext: st.builds(
        ToolContext,
        call_id=st.text(max_size=5),
        run_id=st.none() | st.text(max_size=5),
        idempotency_key=st.none() | st.text(max_size=5),
        attempt=st.integers(1, 5),
    ),
    Exchange: fxs.exchanges(),
    Intent: st.builds(
        Intent,
        at=st.integers(0, 50),
        call=st.none() | st.integers(0, 5),
        attempt=st.integers(1, 4),
        effect=fxs.tool_calls() | fxs.model_calls(),
        idempotency_key=st.none() | NAMES,
    ),
    Outcome: st.builds(
        Outcome,
        at=st.integers(0, 50),
        call=st.none() | st.integers(0, 5),
        attempt=st.integers(1, 4),
        result=fxs.tool_results() | fxs.model_replies(),
    ),
    RunBegun: st.builds(RunBegun, run_id=NAMES, input=TEXT | st.lists(fxs.messages(), max_size=2).map(tuple)),
    GroupState: group_states(),
    fx.ModelCall: fxs.model_calls(),
    fx.ModelReply: fxs.model_replies(),
    fx.RefusalDelta: st.builds(fx.RefusalDelta, step=st.integers(1, 50), text=TEXT),
    fx.ReasoningDelta: st.builds(fx.ReasoningDelta, step=st.integers(1, 50), text=TEXT),
    fx.RunState: fxs.run_states(),
    fx.TokenDelta: st.builds(fx.TokenDelta, step=st.integers(1, 50), text=TEXT),
    fx.ToolCall: st.builds(
        lambda call, agent: attrs.evolve(call, agent=agent), fxs.tool_calls(), st.none() | NAMES
    ),
    fx.ToolCallRequest: fxs.tool_call_requests(),
    fx.Usage: fxs.usages(),
    Violation: st.builds(
        Violation,
        kind=st.sampled_from(VIOLATION_KINDS),
        index=st.none() | st.integers(0, 99),
        explanation=TEXT,
    ),
}


def _sites() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(where, class name, factory field names or None) for every ``unchecked(...)`` and
    ``unchecked_factory(...)`` call in the library; the class must be spelled as a plain name."""
    sites = []
    for path in sorted(LIBRARY.rglob("*.py")):
        if path.name == "_unchecked.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if func not in ("unchecked", "unchecked_factory"):
                continue
            where = f"{path.relative_to(LIBRARY.parent)}:{node.lineno}"
            assert node.args and isinstance(node.args[0], ast.Name), f"{where}: name the class directly"
            names: tuple[str, ...] | None = None
            if func == "unchecked_factory" and len(node.args) > 1:
                values = [a.value for a in node.args[1:] if isinstance(a, ast.Constant)]
                assert len(values) == len(node.args) - 1, f"{where}: spell the field names out"
                assert all(isinstance(n, str) for n in values), where
                names = tuple(str(n) for n in values)
            sites.append((where, node.args[0].id, names))
    return sites


SITES = _sites()


def test_every_class_built_unchecked_has_an_equality_property() -> None:
    covered = {cls.__name__ for cls in VALUES}
    missing = sorted({f"{where} builds {name}" for where, name, _ in SITES if name not in covered})
    assert missing == [], "add a strategy for the class to VALUES in this file"
    assert len(SITES) >= len(VALUES), "the scan found fewer call sites than classes: is it still looking?"
    assert {name for _, name, _ in SITES} == covered, "VALUES lists a class no call site builds any more"


def _init_fields(value: Any) -> dict[str, Any]:
    return {f.alias or f.name: getattr(value, f.name) for f in attrs.fields(type(value)) if f.init}


def _all_fields(value: Any) -> list[Any]:
    return [getattr(value, f.name) for f in attrs.fields(type(value))]


def _same(built: Any, checked: Any) -> None:
    assert type(built) is type(checked)
    assert built == checked
    assert repr(built) == repr(checked)
    assert hash(built) == hash(checked)
    assert _all_fields(built) == _all_fields(checked)  # eq=False fields too


def _orders(cls: type[Any]) -> list[tuple[str, ...]]:
    every = tuple(f.alias or f.name for f in attrs.fields(cls) if f.init)
    return [every, *sorted({names for _, name, names in SITES if name == cls.__name__ and names})]


@pytest.mark.parametrize("cls", list(VALUES), ids=lambda c: c.__name__)
def test_unchecked_builds_what_the_validated_constructor_builds(cls: type[Any]) -> None:
    orders = _orders(cls)

    @given(VALUES[cls])
    def check(value: Any) -> None:
        fields = _init_fields(value)
        checked = cls(**fields)
        _same(unchecked(cls, **fields), checked)
        _same(unchecked_factory(cls)(**fields), checked)
        for names in orders:
            make: Callable[..., Any] = unchecked_factory(cls, *names)
            _same(make(*(fields[n] for n in names)), cls(**{n: fields[n] for n in names}))

    check()


@pytest.mark.parametrize("cls", list(VALUES), ids=lambda c: c.__name__)
def test_leaving_defaulted_fields_out_is_what_the_validated_constructor_does(cls: type[Any]) -> None:
    @given(VALUES[cls], st.data())
    def check(value: Any, data: st.DataObject) -> None:
        required = {f.alias or f.name for f in attrs.fields(cls) if f.init and f.default is attrs.NOTHING}
        fields = {k: v for k, v in _init_fields(value).items() if k in required or data.draw(st.booleans())}
        _same(unchecked(cls, **fields), cls(**fields))

    check()

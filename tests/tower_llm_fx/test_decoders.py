"""`tower_llm_fx._decoders`: the decoders compiled per attrs class behind `Codec.decode`.

Covers: on every library value they build exactly what the careful decoder builds (no fallback
needed for valid data); damaged data decodes, or fails with the careful decoder's message; a field
added to a class is decoded with no change; converters, defaults, factories, ``init=False`` fields
and non-``instance_of`` validators behave as in ``__init__``; classes with their own ``__init__``,
``__attrs_post_init__`` or ``takes_self`` defaults go through ``__init__``; an error in a long
array names the element's path.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx._decoders as decoders_module
import tower_llm_fx._serde as serde_module
import tower_llm_fx.serde
from tower_llm_fx import strategies as fxst
from tower_llm_fx._decoders import fast_decoder

# -- the compiled decoders: fast, and never different from the careful one --------------------


def careful(data: Any, codec: fx.serde.Codec = fx.serde.DEFAULT) -> Any:
    """The reference decoder: ``cls(**fields)`` with paths in errors (what ``decode`` falls back to)."""
    return serde_module._decode(codec, data, "$")


def fast(data: Any, codec: fx.serde.Codec = fx.serde.DEFAULT) -> Any:
    """The compiled decoders alone: raise instead of falling back."""
    return fast_decoder(codec.class_of)(data)


any_value = st.one_of(
    fxst.messages(), fxst.effects(), fxst.results(), fxst.run_states(), fxst.traces(), fxst.usages()
)


@given(any_value)
def test_the_compiled_decoders_build_exactly_what_the_careful_decoder_builds(value: Any) -> None:
    data = json.loads(json.dumps(fx.to_json(value)))
    decoded = fast(data)  # no fallback: the compiled decoders take every valid encoding
    assert decoded == careful(data) == value
    assert type(decoded) is type(value)


@given(fxst.messages(), st.data())
def test_damaged_data_decodes_or_fails_as_the_careful_decoder_says(
    message: fx.Message, data: st.DataObject
) -> None:
    encoded = json.loads(json.dumps(fx.to_json(message)))
    key = data.draw(st.sampled_from(sorted(encoded)))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    junk = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3), st.just([1])))
    if action == "replace":
        encoded[key] = junk
    elif action == "delete":
        del encoded[key]
    else:
        encoded[data.draw(st.sampled_from(["extra", "role", "nope"]))] = junk
    # The same value, or the same error message (path included).
    assert outcome(fx.from_json, encoded) == outcome(careful, encoded)


def outcome(decode: Any, data: Any) -> tuple[str, Any]:
    try:
        return "value", decode(data)
    except fx.DecodeError as exc:
        return "error", str(exc)


def test_a_field_added_to_a_class_is_decoded_without_any_change_to_the_codec() -> None:
    @attrs.frozen(kw_only=True)
    class Note:
        text: str = attrs.field(validator=attrs.validators.instance_of(str))

    @attrs.frozen(kw_only=True)
    class Note2:  # the same class, a release later: one more field, with a default
        text: str = attrs.field(validator=attrs.validators.instance_of(str))
        stars: int = attrs.field(
            default=0, validator=[attrs.validators.instance_of(int), attrs.validators.ge(0)]
        )

    old = fx.serde.DEFAULT.with_types({"test.note": Note})
    new = fx.serde.DEFAULT.with_types({"test.note": Note2})
    assert fast(old.encode(Note(text="a")), new) == Note2(text="a", stars=0)  # old data: the default
    assert new.decode({"type": "test.note", "text": "a", "stars": 3}) == Note2(text="a", stars=3)
    # A validator that is not an instance_of check is called as attrs calls it.
    with pytest.raises(fx.DecodeError, match=r"at \$: invalid Note2: .*stars.* must be >= 0"):
        new.decode({"type": "test.note", "text": "a", "stars": -1})
    with pytest.raises(fx.DecodeError, match=r"Note has no field\(s\) \['stars'\]"):
        old.decode({"type": "test.note", "text": "a", "stars": 3})


def as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def test_converters_defaults_and_factories_run_as_in_init() -> None:
    calls: list[object] = []

    def upper(value: object) -> object:
        calls.append(value)
        return value.upper() if isinstance(value, str) else value

    @attrs.frozen(kw_only=True)
    class Tagged:
        name: str = attrs.field(converter=upper)
        tags: tuple[str, ...] = attrs.field(factory=tuple, converter=as_tuple)
        seen: int = attrs.field(default=0, init=False)

    codec = fx.serde.DEFAULT.with_types({"test.tagged": Tagged})
    assert fast({"type": "test.tagged", "name": "ab", "tags": ["x"]}, codec) == Tagged(name="AB", tags=("x",))
    assert fast({"type": "test.tagged", "name": "ab"}, codec) == Tagged(name="ab", tags=())
    assert fast({"type": "test.tagged", "name": "ab"}, codec).seen == 0
    assert "ab" in calls  # the converter ran on the decoded value


@attrs.frozen(init=False)
class Hand:
    value: int

    def __init__(self, value: int) -> None:
        self.__attrs_init__(value=value * 10)


@attrs.frozen
class Checked:
    low: int
    high: int

    def __attrs_post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low > high")


@attrs.frozen
class SelfDefault:
    a: int
    b: int = attrs.field(default=attrs.Factory(lambda self: self.a + 1, takes_self=True))


@pytest.mark.parametrize(
    ("cls", "data", "expected"),
    [
        (Hand, {"value": 2}, Hand(2)),
        (Checked, {"low": 1, "high": 2}, Checked(1, 2)),
        (SelfDefault, {"a": 1}, SelfDefault(1)),
        (SelfDefault, {"a": 1, "b": 5}, SelfDefault(1, 5)),
    ],
    ids=["own-init", "post-init", "takes-self-default", "takes-self-given"],
)
def test_classes_the_compiled_path_cannot_mirror_go_through_their_init(
    cls: type[Any], data: dict[str, Any], expected: Any
) -> None:
    codec = fx.serde.DEFAULT.with_types({"test.odd": cls})
    tagged = {"type": "test.odd", **data}
    assert fast(tagged, codec) == expected == careful(tagged, codec)


def test_post_init_refusals_are_decode_errors() -> None:
    codec = fx.serde.DEFAULT.with_types({"test.checked": Checked})
    with pytest.raises(fx.DecodeError, match=r"at \$\[1\]: invalid Checked: low > high"):
        codec.decode(
            [{"type": "test.checked", "low": 1, "high": 2}, {"type": "test.checked", "low": 3, "high": 2}]
        )


def test_one_bad_record_in_a_long_array_is_named_by_its_path() -> None:
    data = [fx.to_json(fx.user(f"m{i}")) for i in range(100)]
    data[57] = {**data[57], "content": 5}
    with pytest.raises(fx.DecodeError, match=r"at \$\[57\]"):
        fx.from_json(data)


@given(st.text(), st.sampled_from(sorted(decoders_module._KEEPS, key=lambda c: c.__name__)))
def test_the_converters_the_decoders_skip_return_those_values_as_they_are(text: str, converter: Any) -> None:
    # The generated code skips these converters for the values _KEEPS names (a str, None).
    kept = decoders_module._KEEPS[converter]
    assert "str" in kept
    assert converter(text) is text
    if "None" in kept:
        assert converter(None) is None


# -- how the compiled decoders build instances (a builder subclass), and the skipped converters ----


@given(fxst.messages())
def test_decoded_instances_are_ordinary_frozen_instances_of_their_class(message: fx.Message) -> None:
    decoded = fast(json.loads(json.dumps(fx.to_json(message))))
    assert type(decoded) is type(message) and decoded.__class__ is type(message)
    assert decoded == message and hash(decoded) == hash(message)
    assert attrs.evolve(decoded) == message
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        decoded.extra = "x"  # type: ignore[misc]


class Recording:
    subclasses: ClassVar[list[type[Any]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Recording.subclasses.append(cls)


@attrs.frozen
class Hooked(Recording):
    a: int


@attrs.define(slots=False)
class WithDict:
    a: int
    b: str = "x"


@pytest.mark.parametrize(
    ("cls", "data", "expected"),
    [
        (Hooked, {"a": 1}, Hooked(1)),
        (WithDict, {"a": 1}, WithDict(1)),
        (WithDict, {"a": 2, "b": "y"}, WithDict(2, "y")),
    ],
    ids=["init-subclass", "dict-class", "dict-class-all-fields"],
)
def test_classes_without_a_builder_or_with_a_dict_decode_the_same(
    cls: type[Any], data: dict[str, Any], expected: Any
) -> None:
    before = list(Recording.subclasses)
    codec = fx.serde.DEFAULT.with_types({"test.other": cls})
    tagged = {"type": "test.other", **data}
    decoded = fast(tagged, codec)
    assert decoded == expected == careful(tagged, codec)
    assert type(decoded) is cls
    assert Recording.subclasses == before  # no subclass made behind the class's back


tool_call_requests = st.builds(fx.ToolCallRequest, id=st.text(), name=st.text(), arguments=st.text())


@given(st.lists(tool_call_requests, min_size=1, max_size=1).map(tuple))
def test_the_converters_skipped_for_one_item_return_it_as_it_is(calls: tuple[Any, ...]) -> None:
    for converter, item in decoders_module._KEEPS_ONE.items():
        if all(type(c) is item for c in calls):
            assert converter(calls) is calls


@given(st.lists(tool_call_requests, max_size=3), st.data())
def test_tool_calls_of_any_length_or_kind_decode_as_the_careful_decoder_says(
    calls: list[fx.ToolCallRequest], data: st.DataObject
) -> None:
    encoded = fx.to_json(fx.assistant(None, *calls))
    damage: bool = data.draw(st.booleans())
    if calls and damage:  # one call replaced by something that is not a tool call
        i = data.draw(st.integers(0, len(calls) - 1))
        encoded["tool_calls"][i] = data.draw(st.sampled_from([fx.to_json(fx.user("x")), 3, "x", [], None]))
    assert outcome(fx.from_json, encoded) == outcome(careful, encoded)


@given(
    st.lists(
        st.one_of(
            fxst.messages().map(fx.to_json),
            st.none(),
            st.integers(),
            st.text(max_size=3),
            st.just([]),
            st.just({"type": "no.such.type"}),
            st.just({"content": "no type"}),
        ),
        max_size=6,
    )
)
def test_a_list_of_values_and_junk_decodes_as_the_careful_decoder_says(items: list[Any]) -> None:
    data = json.loads(json.dumps(items))
    assert outcome(fx.from_json, data) == outcome(careful, data)

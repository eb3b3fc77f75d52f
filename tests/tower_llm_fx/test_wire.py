"""`tower_llm_fx._wire`: the one table of stable wire names, and the v1 tag table.

Covers: every wire name is lowercase and dotted, and its ``"module:QualName"`` path imports an attrs
class or enum whose public name is that path; no class has two names; the library's codec maps each
class back to its name; the v1 table maps each old class-name tag to a wire name, one each; every public
effect and its result (what traces record) has a wire name; and the table is read-only.
"""

from __future__ import annotations

import enum
import importlib
import typing

import attrs
import pytest

import tower_llm_fx as fx
from tower_llm_fx._wire import V1_TAGS, WIRE_NAME, WIRE_NAMES
from tower_llm_fx.serde import DEFAULT

NAMESPACES = (
    "tower_llm_fx",
    "tower_llm_fx.group",
    "tower_llm_fx.resilience",
    "tower_llm_fx.sessions",
    "tower_llm_fx.strategies",
    "tower_llm_fx.trace",
    "tower_llm_fx.validation",
)


def resolve(path: str) -> typing.Any:
    module, _, qualname = path.partition(":")
    obj: typing.Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(("name", "path"), sorted(WIRE_NAMES.items()))
def test_every_entry_resolves_to_a_class_that_resolves_back_to_its_name(name: str, path: str) -> None:
    assert WIRE_NAME.fullmatch(name), f"{name!r}: wire names are lowercase and dotted"
    cls = resolve(path)
    assert isinstance(cls, type)
    assert attrs.has(cls) or issubclass(cls, enum.Enum)
    assert f"{cls.__module__}:{cls.__qualname__}" == path, "paths name the public namespace"
    assert DEFAULT.class_of(name) is cls
    assert DEFAULT.name_of(cls) == name


def test_no_class_has_two_names() -> None:
    assert len(set(WIRE_NAMES.values())) == len(WIRE_NAMES)


def test_the_v1_table_maps_each_old_tag_to_one_wire_name() -> None:
    assert set(V1_TAGS.values()) <= set(WIRE_NAMES)
    assert len(set(V1_TAGS.values())) == len(V1_TAGS)
    assert not any("." in tag for tag in V1_TAGS), "v1 tags are class names, never wire names"
    for tag, name in V1_TAGS.items():
        assert DEFAULT.class_of(tag) is DEFAULT.class_of(name)


def test_every_value_v1_could_write_has_a_v1_tag() -> None:
    # v1 wrote a tag for each class it registered, so each v2 entry of those days has one. A class
    # added after v2 has no v1 tag: add it to this list.
    after_v1 = {
        "event.attempt_discarded",
        *("message.developer", "message.reasoning", "event.reasoning_delta", "model.tool_choice"),
        *("content.text", "content.image", "content.audio", "content.file", "content.other"),
        *("journal.begun", "journal.intent", "journal.outcome", "journal.failure", "journal.tool_context"),
        "output.ready",
    }
    assert set(WIRE_NAMES) - set(V1_TAGS.values()) == after_v1


def test_every_public_effect_and_its_result_has_a_wire_name() -> None:
    # Traces record every effect with its result; a public effect without a wire name could not be stored.
    known = set(WIRE_NAMES.values())
    for namespace in NAMESPACES:
        module = importlib.import_module(namespace)
        for attr in module.__all__:
            obj = getattr(module, attr)
            if isinstance(obj, type) and issubclass(obj, fx.Effect) and obj is not fx.Effect:
                assert f"{obj.__module__}:{obj.__qualname__}" in known, obj
                result = obj.result_type
                if attrs.has(result):
                    assert f"{result.__module__}:{result.__qualname__}" in known, result


def test_the_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        WIRE_NAMES["acme.ticket"] = "acme:Ticket"  # type: ignore[index]
    with pytest.raises(TypeError):
        V1_TAGS["Ticket"] = "acme.ticket"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("message.user", True),
        ("acme.ticket_v2", True),
        ("a.b.c", True),
        ("ticket", False),
        ("UserMessage", False),
        ("Acme.ticket", False),
        ("acme..ticket", False),
        ("acme.ticket.", False),
        ("acme.2ticket", False),
        ("acme-corp.ticket", False),
    ],
)
def test_what_a_wire_name_looks_like(name: str, ok: bool) -> None:
    assert bool(WIRE_NAME.fullmatch(name)) is ok


def test_reserved_names_are_well_formed_unused_and_refused_by_a_codec() -> None:
    from tower_llm_fx._wire import RESERVED
    from tower_llm_fx.durable._delta import DELTA_TYPE

    @attrs.frozen
    class Mine:
        x: int = 0

    assert DELTA_TYPE in RESERVED  # the journal's delta rows
    for name in RESERVED:
        assert WIRE_NAME.fullmatch(name)
        assert name not in WIRE_NAMES
        with pytest.raises(
            fx.ConfigurationError, match=rf"wire name '{name}' is reserved: the library writes it"
        ):
            DEFAULT.with_types({name: Mine})

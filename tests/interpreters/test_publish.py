"""`publish` for the shell: exported names show their public namespace, not the private module.

Covers: which objects are renamed (classes and functions from private ``interpreters`` modules) and
which are left alone (other packages, public modules, values that are not classes or functions); that
a published object keeps its first namespace; and that every public shell namespace is published.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable

import pytest

import interpreters
import interpreters.stores
from interpreters._publish import publish

NAMESPACES = ("interpreters", "interpreters.layers", "interpreters.stores", "interpreters.cli")


def make_function(module: str) -> Callable[[], None]:
    def fn() -> None: ...

    fn.__module__ = module
    return fn


def make_class(module: str) -> type:
    cls = types.new_class("Thing")
    cls.__module__ = module
    return cls


@pytest.mark.parametrize(
    "module", ["interpreters._run", "interpreters.layers._retry", "interpreters.cli._main"]
)
def test_classes_and_functions_from_private_modules_take_the_namespace(module: str) -> None:
    fn, cls = make_function(module), make_class(module)
    publish("interpreters.pub", {"fn": fn, "Thing": cls}, ["fn", "Thing"])
    assert (fn.__module__, cls.__module__) == ("interpreters.pub", "interpreters.pub")
    assert repr(cls) == "<class 'interpreters.pub.Thing'>"


@pytest.mark.parametrize(
    "module",
    [
        "tower_llm_fx._effects",  # another package: its own publish handles it
        "interpreters_extra._x",  # a package whose name merely starts the same
        "interpreters.layers",  # already public
        "interpreters",
        "builtins",
    ],
)
def test_objects_from_elsewhere_are_left_alone(module: str) -> None:
    fn, cls = make_function(module), make_class(module)
    publish("interpreters.pub", {"fn": fn, "Thing": cls}, ["fn", "Thing"])
    assert (fn.__module__, cls.__module__) == (module, module)


def test_only_listed_names_and_only_classes_and_functions_are_touched() -> None:
    listed, unlisted = make_function("interpreters._a"), make_function("interpreters._a")
    partial = types.SimpleNamespace(__module__="interpreters._a")
    publish(
        "interpreters.pub", {"listed": listed, "unlisted": unlisted, "value": partial}, ["listed", "value"]
    )
    assert listed.__module__ == "interpreters.pub"
    assert unlisted.__module__ == "interpreters._a"
    assert partial.__module__ == "interpreters._a"


def test_a_published_object_keeps_its_first_namespace() -> None:
    fn = make_function("interpreters._a")
    publish("interpreters.first", {"fn": fn}, ["fn"])
    publish("interpreters.second", {"fn": fn}, ["fn"])
    assert fn.__module__ == "interpreters.first"


def test_an_unknown_name_is_an_error() -> None:
    with pytest.raises(KeyError, match="missing"):
        publish("interpreters.pub", {}, ["missing"])


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_export_of_a_shell_namespace_is_published(namespace: str) -> None:
    module = importlib.import_module(namespace)
    leaked = [
        f"{name}: {obj.__module__}"
        for name in module.__all__
        if isinstance(obj := getattr(module, name), (type, types.FunctionType))
        and obj.__module__.startswith("interpreters")
        and "._" in obj.__module__
    ]
    assert leaked == []


def test_reprs_show_the_public_namespace() -> None:
    assert interpreters.run.__module__ == "interpreters"
    assert repr(interpreters.stores.MemoryStore) == "<class 'interpreters.stores.MemoryStore'>"
    assert interpreters.stores.memory_store.__module__ == "interpreters.stores"

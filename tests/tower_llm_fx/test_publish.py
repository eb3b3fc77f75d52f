"""`tower_llm_fx._publish`: exported names show their public namespace, not the private module.

Covers: which objects are renamed (classes and functions from private modules of the namespace's
own package: ``tower_llm_fx._x`` or ``tower_llm_fx.<family>._x``) and which are left alone (other
packages, including one whose name merely starts the same; public modules; values that are not
classes or functions; names not listed); that a published object keeps its first namespace; and
that the root package is taken from the namespace. That every real namespace is published is
pinned in tests/test_public_api.py.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable

import pytest

from tower_llm_fx._publish import publish


def make_function(module: str) -> Callable[[], None]:
    def fn() -> None: ...

    fn.__module__ = module
    return fn


def make_class(module: str) -> type:
    cls = types.new_class("Thing")
    cls.__module__ = module
    return cls


@pytest.mark.parametrize(
    "module", ["tower_llm_fx._effects", "tower_llm_fx.group._group", "tower_llm_fx.trace._model"]
)
def test_classes_and_functions_from_private_modules_take_the_namespace(module: str) -> None:
    fn, cls = make_function(module), make_class(module)
    publish("tower_llm_fx.pub", {"fn": fn, "Thing": cls}, ["fn", "Thing"])
    assert (fn.__module__, cls.__module__) == ("tower_llm_fx.pub", "tower_llm_fx.pub")
    assert repr(cls) == "<class 'tower_llm_fx.pub.Thing'>"


@pytest.mark.parametrize(
    "module",
    [
        "interpreters._run",  # another package: its own publish handles it
        "tower_llm_fx_extra._x",  # a package whose name merely starts the same
        "tower_llm_fx.trace",  # already public
        "tower_llm_fx",
        "builtins",
    ],
)
def test_objects_from_elsewhere_are_left_alone(module: str) -> None:
    fn, cls = make_function(module), make_class(module)
    publish("tower_llm_fx.pub", {"fn": fn, "Thing": cls}, ["fn", "Thing"])
    assert (fn.__module__, cls.__module__) == (module, module)


def test_only_listed_classes_and_functions_are_touched() -> None:
    listed, unlisted = make_function("tower_llm_fx._a"), make_function("tower_llm_fx._a")
    value = types.SimpleNamespace(__module__="tower_llm_fx._a")
    partial = functools.partial(make_function("tower_llm_fx._a"))
    publish(
        "tower_llm_fx.pub",
        {"listed": listed, "unlisted": unlisted, "value": value, "partial": partial},
        ["listed", "value", "partial"],
    )
    assert listed.__module__ == "tower_llm_fx.pub"
    assert unlisted.__module__ == "tower_llm_fx._a"
    assert value.__module__ == "tower_llm_fx._a"
    assert partial.func.__module__ == "tower_llm_fx._a"


def test_builtin_functions_are_left_alone() -> None:
    publish("tower_llm_fx.pub", {"len": len}, ["len"])
    assert len.__module__ == "builtins"


def test_a_function_without_a_module_is_left_alone() -> None:
    fn = make_function("tower_llm_fx._a")
    fn.__module__ = None  # type: ignore[assignment]
    publish("tower_llm_fx.pub", {"fn": fn}, ["fn"])
    assert fn.__module__ is None


def test_a_published_object_keeps_its_first_namespace() -> None:
    fn = make_function("tower_llm_fx._a")
    publish("tower_llm_fx.first", {"fn": fn}, ["fn"])
    publish("tower_llm_fx.second", {"fn": fn}, ["fn"])
    assert fn.__module__ == "tower_llm_fx.first"


def test_the_package_is_the_root_of_the_namespace() -> None:
    ours, theirs = make_function("pkg.sub._impl"), make_function("tower_llm_fx._a")
    publish("pkg.sub", {"ours": ours, "theirs": theirs}, ["ours", "theirs"])
    assert ours.__module__ == "pkg.sub"
    assert theirs.__module__ == "tower_llm_fx._a"


def test_an_unknown_name_is_an_error() -> None:
    with pytest.raises(KeyError, match="missing"):
        publish("tower_llm_fx.pub", {}, ["missing"])


def test_the_real_namespaces_read_as_public_paths() -> None:
    import tower_llm_fx as fx
    import tower_llm_fx.serde
    import tower_llm_fx.sessions

    assert fx.advance.__module__ == "tower_llm_fx"
    assert tower_llm_fx.serde.compact_json.__module__ == "tower_llm_fx.serde"
    assert repr(tower_llm_fx.sessions.SaveSession) == "<class 'tower_llm_fx.sessions.SaveSession'>"
    # non-exported helpers keep their private module
    from tower_llm_fx._results import trusted_usage

    assert trusted_usage.__module__ == "tower_llm_fx._results"

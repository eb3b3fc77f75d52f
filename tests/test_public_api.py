"""Pin the public namespaces: sorted ``__all__``, every name public and resolvable,
exported classes final, and the core free of I/O imports."""

from __future__ import annotations

import importlib
import subprocess
import sys
import typing

import attrs
import pytest

import interpreters
import tower_llm_fx

PACKAGES = [
    "tower_llm_fx",
    "tower_llm_fx.testing",
    "interpreters",
    "interpreters.layers",
    "tower_llm_fx.strategies",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_unique_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported), "keep __all__ sorted"
    assert len(set(exported)) == len(exported), "duplicate names in __all__"
    for attr in exported:
        assert not attr.startswith("_")
        assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which does not exist"


@pytest.mark.parametrize("name", ["tower_llm_fx", "interpreters", "interpreters.layers"])
def test_every_public_name_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, type(sys)) and n not in {"annotations"}
    }
    assert public == set(module.__all__)


def test_exported_value_classes_are_final_and_frozen() -> None:
    for name in tower_llm_fx.__all__:
        obj = getattr(tower_llm_fx, name)
        if isinstance(obj, type) and attrs.has(obj):
            assert getattr(obj, "__final__", False), f"{name} should be @final"
            assert "__slots__" in vars(obj), f"{name} should be slotted"


def test_public_classes_show_the_package_name() -> None:
    assert repr(tower_llm_fx.ModelCall).startswith("<class 'tower_llm_fx.ModelCall")


def test_core_imports_no_io() -> None:
    code = (
        "import sys, tower_llm_fx, tower_llm_fx.testing\n"
        "bad = {'trio', 'anyio', 'httpx', 'sqlite3', 'interpreters', 'asyncio'} & set(sys.modules)\n"
        "print(sorted(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_typing_of_interpreter_protocol() -> None:
    assert typing.get_type_hints(interpreters.Interpreter.__call__)["return"] is not None

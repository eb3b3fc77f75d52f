"""The layout rules that keep the architecture visible (docs/design.md, "Layout").

import-linter (``pyproject.toml``) checks the layers and that no import cycle exists; these tests check
the rules it cannot express: every private module has a mirrored test file, no ``_name`` crosses a module
boundary, the shell reaches the core only through public namespaces, families reach each other only
through public namespaces, and modules stay small.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tower_llm_fx", "interpreters")
MAX_LINES = 550  # split a module by concept before it grows past this


def _modules() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, absolute module, imported names) for every import in ``path``, lazy ones included."""
    module = _dotted(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target, tuple(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()


def _is_private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def _family(dotted: str) -> str | None:
    """``tower_llm_fx.trace._codec`` → ``trace``; kernel modules and other packages → None."""
    parts = dotted.split(".")
    if parts[0] == "tower_llm_fx" and len(parts) > 1 and not parts[1].startswith("_"):
        return parts[1] if (ROOT / "tower_llm_fx" / parts[1]).is_dir() else None
    return None


PRIVATE_MODULES = [
    p for p in _modules() if p.name.startswith("_") and p.name not in ("__init__.py", "__main__.py")
]


@pytest.mark.parametrize("path", PRIVATE_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_private_module_has_a_mirrored_test_file(path: Path) -> None:
    rel = path.relative_to(ROOT)
    expected = ROOT / "tests" / rel.parent / f"test_{path.stem.removeprefix('_')}.py"
    assert expected.is_file(), f"{rel} has no tests: add {expected.relative_to(ROOT)}"


def test_no_private_name_crosses_a_module_boundary() -> None:
    ours = {_dotted(p) for p in _modules()}
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name} from {target}"
        for path in _modules()
        for line, target, names in _imports(path)
        if target in ours
        for name in names
        if name.startswith("_") and not name.startswith("__") and f"{target}.{name}" not in ours
    ]
    assert offenders == [], "a helper shared between modules gets a public name inside its private module"


def test_the_shell_imports_only_public_namespaces_of_the_core() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in (ROOT / "interpreters").rglob("*.py")
        for line, target, _ in _imports(path)
        if target.startswith("tower_llm_fx") and _is_private(target)
    ]
    assert offenders == []


def test_families_reach_each_other_through_public_namespaces() -> None:
    offenders = []
    for path in (ROOT / "tower_llm_fx").rglob("*.py"):
        home = _family(_dotted(path))
        for line, target, _ in _imports(path):
            other = _family(target)
            if other is not None and other != home and _is_private(target):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert offenders == []


def test_the_top_level_namespace_imports_only_the_kernel() -> None:
    targets = [t for _, t, _ in _imports(ROOT / "tower_llm_fx" / "__init__.py")]
    assert targets and all(_family(t) is None for t in targets), targets


@pytest.mark.parametrize("path", list(_modules()), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concept"

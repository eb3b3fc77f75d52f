"""The README and docs/*.md: every ```python block runs on its own, and the pages hold together.

Each ```python block is executed in a fresh namespace, as if pasted alone into a new file: it must
import everything it uses (use ```text for anything that must not run, e.g. a snippet that needs a
real OpenAI key). A failure names the block's file and line. Top-level ``await`` is not available:
blocks use ``trio.run(main)`` / ``asyncio.run(main())``.

Because all blocks share one process, a block could lean on a module another block imported
(``fx.trace`` exists only once ``tower_llm_fx.trace`` is imported somewhere); a static check
keeps every ``fx.<name>`` either a kernel export or a family the block imports itself.
Also: the README stays under 25 KB, its contents and every relative link resolve, and each
optional extra is documented.
"""

from __future__ import annotations

import ast
import re
import tempfile
import tomllib
from pathlib import Path

import pytest

import tower_llm_fx

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "tests" / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MAX_README_BYTES = 25_000


def _blocks() -> list[tuple[Path, int, str]]:
    """(page, line of the block's first code line, code) for every ```python block."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            found.append((page, text[: m.start(1)].count("\n") + 1, m.group(1)))
    return found


BLOCKS = _blocks()
IDS = [f"{page.relative_to(ROOT)}:{line}" for page, line, _ in BLOCKS]


def test_the_readme_has_python_blocks() -> None:
    assert any(page == README for page, _, _ in BLOCKS), "README.md has no python blocks"


@pytest.mark.parametrize(("page", "line", "code"), BLOCKS, ids=IDS)
def test_python_block_runs_on_its_own(
    page: Path, line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = f"{page.relative_to(ROOT)}:{line}"
    monkeypatch.chdir(tmp_path)  # files a block writes, and its temporary directories, land here
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # Pad with blank lines so tracebacks point at the page's own line numbers.
    compiled = compile("\n" * (line - 1) + code, str(page.relative_to(ROOT)), "exec")
    namespace: dict[str, object] = {"__name__": "__main__"}
    try:
        exec(compiled, namespace)
    except BaseException as exc:
        exc.add_note(f"in the python block at {where} (run alone, in a fresh namespace)")
        raise


def _fx_aliases(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "tower_llm_fx"
    }


def _imported_families(tree: ast.Module) -> set[str]:
    """Families the block imports itself: ``import tower_llm_fx.trace``, ``from tower_llm_fx.trace import ...``."""
    out = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tower_llm_fx" and len(parts) > 1:
                out.add(parts[1])
    return out


def fx_names_a_block_cannot_rely_on(code: str) -> list[str]:
    """``fx.<name>`` uses that work only if some *other* code imported the family first.

    >>> fx_names_a_block_cannot_rely_on("import tower_llm_fx as fx\\nfx.user('hi')")
    []
    >>> fx_names_a_block_cannot_rely_on("import tower_llm_fx as fx\\nfx.trace.Trace()")
    ['line 2: fx.trace']
    >>> fx_names_a_block_cannot_rely_on("import tower_llm_fx as fx\\nimport tower_llm_fx.trace\\nfx.trace.Trace()")
    []
    """
    tree = ast.parse(code)
    aliases = _fx_aliases(tree)
    families = _imported_families(tree)
    exported = set(tower_llm_fx.__all__) | {"__version__"}
    return [
        f"line {node.lineno}: {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in aliases
        and node.attr not in exported
        and node.attr not in families
    ]


@pytest.mark.parametrize(("page", "line", "code"), BLOCKS, ids=IDS)
def test_python_block_uses_only_what_it_imports_from_the_core(page: Path, line: int, code: str) -> None:
    offenders = fx_names_a_block_cannot_rely_on(code)
    assert offenders == [], (
        f"{page.relative_to(ROOT)}:{line}: {offenders} are not in tower_llm_fx.__all__; import the "
        "family in the block (from tower_llm_fx.<family> import Name)"
    )


def test_the_readme_is_at_most_25_kb() -> None:
    size = len(README.read_bytes())
    assert size <= MAX_README_BYTES, f"README.md is {size:,} bytes; move detail to docs/"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading.

    >>> anchor("Set-up from a checkout: two commands")
    'set-up-from-a-checkout-two-commands'
    >>> anchor("tower-llm → tower_llm_fx")
    'tower-llm--tower_llm_fx'
    """
    text = re.sub(r"`", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of ``page`` (headings outside fenced blocks; repeats get ``-1``, ``-2``, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"#{1,6} (.+)", line)
        if m:
            base = anchor(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def _links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in _links(page):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path_text, _, fragment = target.partition("#")
        path = (page.parent / path_text).resolve() if path_text else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif fragment and path.suffix == ".md" and fragment not in anchors(path):
            broken.append(f"{target}: no heading #{fragment} in {path.relative_to(ROOT)}")
    assert broken == []


def test_the_readme_has_a_table_of_contents_covering_every_section() -> None:
    text = FENCE.sub("", README.read_text(encoding="utf-8"))
    sections = {anchor(h) for h in re.findall(r"^## (.+)$", text, re.M)} - {"contents"}
    listed = {link.lstrip("#") for link in _links(README) if link.startswith("#")}
    assert "## Contents" in text
    assert sections - listed == set(), "sections missing from the Contents list"


def test_the_readme_links_every_docs_page() -> None:
    linked = {Path(link.partition("#")[0]).name for link in _links(README) if link.startswith("docs/")}
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {"tower-llm.md", "design.md", "performance.md"} <= pages
    assert pages - linked == set()


def test_the_readme_documents_each_optional_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    text = README.read_text(encoding="utf-8")
    assert f"pip install {project['name']}" in text
    for extra in project.get("optional-dependencies", {}):
        assert f'pip install "{project["name"]}[{extra}]"' in text
        assert re.search(rf"^\| `{extra}` \|", text, re.M), f"the extras table has no row for {extra!r}"

"""Every ```python block in README.md runs, top to bottom, in one namespace.

Blocks fenced as ```python are executed; use ```text or ```bash for anything that
must not run (e.g. a snippet that needs a real OpenAI key).
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_readme_python_blocks_run() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert blocks, "README.md has no python blocks"
    namespace: dict[str, object] = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        line = text[: text.index(block)].count("\n") + 1
        code = compile(block, f"README.md:block{i}:line{line}", "exec")
        exec(code, namespace)

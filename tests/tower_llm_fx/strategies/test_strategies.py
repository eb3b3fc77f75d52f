"""The strategies namespace as a whole: hypothesis is only imported with it.

Each strategy module has its own test file (``test_<module>.py``)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_package_does_not_import_hypothesis() -> None:
    code = "import sys, tower_llm_fx; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

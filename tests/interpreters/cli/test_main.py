"""The command line's entry point and parser; the demo itself is tested in ``test_demo.py``."""

from __future__ import annotations

import pytest

import tower_llm_fx
from interpreters.cli._main import main


def test_unknown_command_exits_with_usage() -> None:
    with pytest.raises(SystemExit) as info:
        main(["nope"])
    assert info.value.code == 2


def test_version_prints_the_library_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"tower-llm-fx {tower_llm_fx.__version__}\n"

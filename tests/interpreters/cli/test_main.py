"""The command line: `tower-llm-fx demo` runs the scripted agent with no network."""

from __future__ import annotations

import subprocess
import sys

import pytest

from interpreters.cli._main import main


def test_demo_via_main(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "tool      ← 5  [call_1]" in out
    assert "tool      ← 20  [call_2]" in out
    assert "stopped: no_tool_calls after 2 steps" in out


def test_demo_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "interpreters", "demo"], capture_output=True, text=True, check=True
    )
    assert "2 + 3 = 5" in done.stdout


def test_unknown_command_exits_with_usage() -> None:
    with pytest.raises(SystemExit) as info:
        main(["nope"])
    assert info.value.code == 2

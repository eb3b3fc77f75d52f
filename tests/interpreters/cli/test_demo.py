"""The demo: the calculator agent on a scripted model, run and printed with no network and no key.

Covers: ``demo()`` itself on trio and asyncio (the tools really run: the script holds only the calls),
its printed transcript, ``transcript()`` for every message role, and the two ways to start it:
``interpreters.cli.main(["demo"])`` and ``python -m interpreters demo`` in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import tower_llm_fx as fx
from interpreters.cli import main
from interpreters.cli._demo import demo, transcript

EXPECTED_OUTPUT = """\
user      : What are 2 + 3 and 4 * 5?
assistant → add({"a": 2, "b": 3})  [call_1]
assistant → multiply({"a": 4, "b": 5})  [call_2]
tool      ← 5  [call_1]
tool      ← 20  [call_2]
assistant: 2 + 3 = 5 and 4 * 5 = 20.

stopped: no_tool_calls after 2 steps, 2 model calls, 2 tool calls
"""


# --- moved verbatim from tests/interpreters/cli/test_main.py ---


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


# --- demo() ---


@pytest.mark.anyio
async def test_demo_runs_the_tools_and_returns_the_final_state(capsys: pytest.CaptureFixture[str]) -> None:
    final = await demo()
    assert final.output == "2 + 3 = 5 and 4 * 5 = 20."
    assert (final.steps, final.model_calls, final.tool_invocations) == (2, 2, 2)
    assert final.stop is not None and final.stop.kind == "no_tool_calls"
    results = {m.tool_call_id: m.content for m in final.messages if isinstance(m, fx.ToolMessage)}
    assert results == {"call_1": "5", "call_2": "20"}  # computed by add and multiply, not scripted
    assert capsys.readouterr().out == EXPECTED_OUTPUT


def test_main_demo_prints_the_whole_transcript_and_nothing_else(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (EXPECTED_OUTPUT, "")


def test_python_dash_m_interpreters_demo_prints_the_same() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "interpreters", "demo"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == EXPECTED_OUTPUT


# --- transcript() ---


def test_transcript_shows_every_role() -> None:
    req = fx.ToolCallRequest(id="c9", name="add", arguments="{}")
    state = fx.RunState(
        messages=(
            fx.system("be brief"),
            fx.user("hi"),
            fx.AssistantMessage(content="thinking", tool_calls=(req,)),
            fx.ToolMessage(tool_call_id="c9", content="0"),
            fx.assistant("bye"),
        )
    )
    assert transcript(state).splitlines() == [
        "system    : be brief",
        "user      : hi",
        "assistant → add({})  [c9]",
        "assistant: thinking",  # the calls come first, then any text of the same message
        "tool      ← 0  [c9]",
        "assistant: bye",
    ]


def test_an_empty_state_has_an_empty_transcript() -> None:
    assert transcript(fx.RunState(messages=())) == ""

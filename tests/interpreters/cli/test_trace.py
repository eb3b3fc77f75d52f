"""``tower-llm-fx replay | show | stats``, through ``main([...])`` and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters import agent_interpreter, run, sequence
from interpreters.cli._demo import AGENT, SCRIPT
from interpreters.cli._main import main
from interpreters.layers import record
from interpreters.stores import DirectoryTraceStore, SqliteTraceStore

QUESTION = "What are 2 + 3 and 4 * 5?"


def record_demo(store: DirectoryTraceStore | SqliteTraceStore, trace_id: str) -> fx.RunState:
    async def go() -> fx.RunState:
        interp = record(into=store, trace_id=trace_id, agent=AGENT, tags={"case": trace_id})(
            agent_interpreter(AGENT, model=sequence(SCRIPT))
        )
        return await run(AGENT, interp, QUESTION)

    return trio.run(go)


@pytest.fixture
def traces(tmp_path: Path) -> Path:
    directory = tmp_path / "traces"
    store = DirectoryTraceStore(directory)
    for i in range(3):
        record_demo(store, f"run-{i}")
    return directory


@pytest.fixture
def changed_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module `changed_agent` in the working directory: the demo agent with one tool argument changed."""
    (tmp_path / "changed_agent.py").write_text(
        textwrap.dedent(
            """
            import attrs
            import tower_llm_fx as fx
            from interpreters import run
            from interpreters.cli._demo import AGENT

            PROMPT = attrs.evolve(AGENT, instructions="You are a calculator. Be terse.")

            class Mutated:  # the demo agent as a program of our own, whose step changes a tool argument

                def start(self, input):
                    return AGENT.start(input)

                def step(self, state):
                    effect = AGENT.step(state)
                    if isinstance(effect, fx.Parallel):
                        first = attrs.evolve(effect.calls[0], arguments='{"a": 2, "b": 30}')
                        return attrs.evolve(effect, calls=(first, *effect.calls[1:]))
                    return effect

                def advance(self, state, effect, result):
                    return AGENT.advance(state, effect, result)

                def finish(self, state, done):
                    return AGENT.finish(state, done)

                def conversation(self, state):
                    return state

                def events(self, before, after):
                    return AGENT.events(before, after)

            async def mutated(interpreter):
                await run(Mutated(), interpreter, "What are 2 + 3 and 4 * 5?")

            NOT_AN_AGENT = 42
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the CLI puts the working directory on it
    monkeypatch.delitem(sys.modules, "changed_agent", raising=False)
    return "changed_agent"


def test_replay_reports_ok_for_each_trace(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(traces), "--agent", "interpreters.cli._demo:AGENT"]) == 0
    out = capsys.readouterr().out
    for i in range(3):
        # a model call, the two tool calls of its parallel batch (one exchange each), a model call
        assert f"OK {traces / f'run-{i}.jsonl'} (4 exchanges)" in out
    assert "3 trace(s): 3 OK" in out


def test_replay_reports_the_divergence_of_a_changed_tool_argument(
    traces: Path, changed_agent: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["replay", str(traces / "run-0.jsonl"), "--agent", f"{changed_agent}:mutated"])
    out = capsys.readouterr().out
    assert status == 1
    assert "DIVERGED" in out
    # The batch's calls were recorded, and are replayed, in whichever order they finished, so the
    # changed call diverges at exchange #1 or #2; the report names it.
    assert "the run diverged from the trace at exchange #" in out
    assert "(of 4)" in out
    assert 'NOT FOUND: ToolCall add({"a": 2, "b": 30}) [call_1]' in out
    assert "NEXT EXPECTED: #" in out and "differences (expected -> actual):" in out
    assert "1 trace(s): 0 OK, 1 failed" in out


def test_replay_reports_a_changed_prompt(
    traces: Path, changed_agent: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(traces), "--agent", f"{changed_agent}:PROMPT"]) == 1
    out = capsys.readouterr().out
    assert out.count("DIVERGED") == 3
    assert (
        "messages[0].content: 'You are a calculator. Use the tools; never do arithmetic yourself.' -> 'You are a calculator. Be terse.'"
        in out
    )


def test_replay_with_a_prefix(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["replay", str(traces / "run-1.jsonl"), "--agent", "interpreters.cli._demo:AGENT", "--prefix", "1"]
    )
    out = capsys.readouterr().out
    assert status == 1, "the agent goes on past the prefix, and nothing takes over"
    assert "past the end (replaying the first 1 of 4 recorded exchanges)" in out


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("nocolon", "use MODULE:ATTRIBUTE"),
        ("no_such_module_xyz:AGENT", "cannot import 'no_such_module_xyz'"),
        ("interpreters.cli._demo:NOPE", "has no attribute 'NOPE'"),
        ("changed_agent:NOT_AN_AGENT", "is a int; name an Agent"),
    ],
)
def test_replay_usage_errors(
    traces: Path, changed_agent: str, agent: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(traces), "--agent", agent]) == 2
    assert message in capsys.readouterr().err


def test_missing_and_empty_inputs_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "nope"), "--agent", "interpreters.cli._demo:AGENT"]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main(["replay", str(tmp_path), "--agent", "interpreters.cli._demo:AGENT"]) == 2
    assert "no traces in" in capsys.readouterr().err


def test_corrupted_traces_are_reported_not_crashed_on(
    traces: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = traces / "run-2.jsonl"
    path.write_text(path.read_text()[:-30])
    assert main(["replay", str(traces), "--agent", "interpreters.cli._demo:AGENT"]) == 1
    out = capsys.readouterr().out
    assert f"UNREADABLE {path}" in out
    assert "the file ends in the middle of exchange 3" in out
    assert "3 trace(s): 2 OK, 1 failed" in out
    assert main(["stats", str(traces)]) == 1
    assert f"UNREADABLE {path}" in capsys.readouterr().out
    assert main(["show", str(path)]) == 1


def test_show_prints_a_transcript(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(traces / "run-0.jsonl")]) == 0
    out = capsys.readouterr().out
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] == f"Trace {traces / 'run-0.jsonl'}"
    assert "#0 ModelCall gpt-4o-mini  (2 messages, 2 tools)" in lines
    assert "   user: What are 2 + 3 and 4 * 5?" in lines
    assert '  ⇒ assistant → add({"a": 2, "b": 3})  [call_1]' in lines
    # the calls of the parallel batch, one exchange each, in the order they finished
    assert {line.split(" ", 1)[1] for line in lines if line.startswith(("#1 ", "#2 "))} == {
        'ToolCall add({"a": 2, "b": 3})  [call_1]',
        'ToolCall multiply({"a": 4, "b": 5})  [call_2]',
    }
    assert "  ⇒ 20  [call_2]" in lines
    assert "   … 2 earlier message(s)" in lines
    assert "  ⇒ assistant: 2 + 3 = 5 and 4 * 5 = 20." in lines
    assert "case=run-0" in out
    assert main(["show", "--full", str(traces / "run-0.jsonl")]) == 0
    assert "earlier message" not in capsys.readouterr().out


def test_show_keeps_brackets_and_masks_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = "sk-abcdefghijklmnopqrstuvwxyz0123"
    call = fx.ModelCall(model="m", messages=(fx.user(f"[bold]not markup[/bold] {key}"),))
    trace = fx.trace.Trace(
        exchanges=(fx.trace.Exchange(effect=call, result=fx.ModelReply(message=fx.assistant("ok"))),)
    )
    (tmp_path / "t.jsonl").write_text(fx.trace.encode_trace(trace))
    assert main(["show", str(tmp_path / "t.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "[bold]not markup[/bold] [REDACTED]" in out
    assert key not in out


def test_stats_counts_traces(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--json", str(traces)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "traces": 3,
        "exchanges": 12,
        "model_calls": 6,
        "tool_calls": 6,
        "tool_errors": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "tools": {"add": 3, "multiply": 3},
        "models": {"gpt-4o-mini": 6},
        "unreadable": [],
    }
    assert main(["stats", str(traces)]) == 0
    out = capsys.readouterr().out
    assert "3 trace(s) in" in out
    assert "model calls" in out
    assert "multiply" in out


def test_a_torn_trace_is_read_with_allow_truncated(traces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = traces / "run-2.jsonl"
    path.write_text(path.read_text()[:-30])
    assert main(["show", str(path)]) == 1
    out = capsys.readouterr().out
    assert "--allow-truncated" in out, "the advice names the command line's flag"
    assert "allow_truncated=True" not in out
    assert main(["show", "--allow-truncated", str(path)]) == 0
    out = capsys.readouterr().out
    assert "#2 " in out and "#3 " not in out  # the three complete exchanges, not the torn fourth
    assert main(["stats", "--json", "--allow-truncated", str(traces)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["traces"], data["exchanges"], data["unreadable"]) == (3, 11, [])
    args = [
        "replay",
        str(path),
        "--agent",
        "interpreters.cli._demo:AGENT",
        "--allow-truncated",
        "--prefix",
        "3",
    ]
    assert main(args) == 1, "read, replayed; the agent goes on past the torn end, as past a prefix"
    out = capsys.readouterr().out
    assert f"DIVERGED {path}" in out and "UNREADABLE" not in out


@pytest.mark.parametrize(
    "name",
    ["x" * 300 + ".jsonl", "d" * 300 + "/t.jsonl", "notatrace.db"],
    ids=["long-file-name", "long-folder-name", "not-a-database"],
)
def test_paths_that_cannot_be_read_get_a_one_line_diagnosis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    if name == "notatrace.db":
        (tmp_path / name).write_text("this is not a database, it is a text file\n" * 50)
    path = str(tmp_path / name)
    for command in (["show", path], ["stats", path]):
        assert main(command) == 1, command
        out, err = capsys.readouterr()
        (line,) = [line for line in out.splitlines() if "UNREADABLE" in line]  # one line, no traceback
        assert line.startswith(f"UNREADABLE {path}"), out
        assert err == ""
    assert "File name too long" in out or "is not a SQLite database" in out
    assert main(["replay", path, "--agent", "interpreters.cli._demo:AGENT"]) == 1
    assert "UNREADABLE" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("99", "--prefix 99: "), ("-1", "-1 is negative"), ("two", "'two' is not a whole number")],
)
def test_a_bad_prefix_is_a_usage_error(
    traces: Path, capsys: pytest.CaptureFixture[str], prefix: str, message: str
) -> None:
    status: object
    try:
        status = main(
            [
                "replay",
                str(traces / "run-1.jsonl"),
                "--agent",
                "interpreters.cli._demo:AGENT",
                "--prefix",
                prefix,
            ]
        )
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    assert status == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "UNREADABLE" not in out
    if prefix == "99":
        assert "has only 4 exchange(s)" in err


def test_sqlite_stores_work_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "traces.db"
    store = SqliteTraceStore(db)
    record_demo(store, "a")
    record_demo(store, "b")
    assert main(["stats", "--json", str(db)]) == 0
    assert json.loads(capsys.readouterr().out)["traces"] == 2
    assert main(["replay", str(db), "--agent", "interpreters.cli._demo:AGENT"]) == 0
    assert f"OK {db}#b (4 exchanges)" in capsys.readouterr().out
    assert main(["show", f"{db}#a"]) == 0
    assert f"Trace {db}#a" in capsys.readouterr().out


def test_the_commands_run_as_a_program(traces: Path, changed_agent: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[3]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "interpreters",
            "replay",
            str(traces),
            "--agent",
            "interpreters.cli._demo:AGENT",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "3 trace(s): 3 OK" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "interpreters", "replay", str(traces), "--agent", f"{changed_agent}:mutated"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1
    assert 'NOT FOUND: ToolCall add({"a": 2, "b": 30}) [call_1]' in bad.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "interpreters", "show", str(traces / "run-0.jsonl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert shown.returncode == 0
    assert "ToolCall multiply" in shown.stdout

"""``tower-llm-fx replay | show | stats``, through ``main([...])`` and as a real subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

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


# -- hostile command lines ------------------------------------------------------------

_ODD = st.sampled_from(["\n", "\x00", "\r", "\x1b[31m", "\udcff", "é", "#", " ", "x" * 300])
_IDS = st.lists(st.one_of(_ODD, st.text(max_size=8)), max_size=4).map("".join)


def _json_values() -> st.SearchStrategy[object]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
        max_leaves=8,
    )


_HEADER = fx.trace.encode_trace(fx.trace.Trace(exchanges=())).splitlines()[0]

_CONTENTS = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([600, 100_000]).map(lambda n: ("[" * n + "]" * n + "\n").encode()),
    st.sampled_from([600, 100_000]).map(
        lambda n: (_HEADER + "\n" + '{"i":' * n + "0" + "}" * n + "\n").encode()
    ),
    st.just(b"\xef\xbb\xbf"),
    st.builds(lambda s: b"\xef\xbb\xbf" + s.encode(), st.text(max_size=40)),
    st.just(('"' + "x" * 2_000_000 + '"\n').encode()),
    st.lists(_json_values(), min_size=1, max_size=3).map(
        lambda docs: "".join(json.dumps(d) + "\n" for d in docs).encode()
    ),
    st.lists(_json_values(), min_size=1, max_size=3).map(
        lambda docs: (_HEADER + "\n" + "".join(json.dumps(d) + "\n" for d in docs)).encode()
    ),
    st.just(b"SQLITE: a foreign database"),  # made a real SQLite file below
)


def _write(path: Path, content: bytes) -> None:
    if content == b"SQLITE: a foreign database":
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
            conn.commit()
    else:
        path.write_bytes(content)


@st.composite
def _command_lines(draw: st.DrawFn, folder: Path) -> list[str]:
    folder = Path(tempfile.mkdtemp(dir=folder))  # a fresh folder per example, not drawn
    name = draw(st.sampled_from(["t.jsonl", "t.json", "t.db", "t.sqlite", "t.txt", "t"]))
    _write(folder / name, draw(_CONTENTS))
    target = draw(
        st.sampled_from(["file", "file#id", "folder", "missing", "nul", "long", "odd-name", "empty-folder"])
    )
    paths = {
        "file": str(folder / name),
        "file#id": f"{folder / name}#{draw(_IDS)}",
        "folder": str(folder),
        "missing": str(folder / "nope.jsonl"),
        "nul": f"{folder}/t\x00.jsonl",
        "long": str(folder / ("x" * 300 + ".jsonl")),
        "odd-name": str(folder / f"{draw(_IDS)}.jsonl"),
        "empty-folder": str(folder / "empty"),
    }
    (folder / "empty").mkdir()
    path = paths[target]
    return draw(
        st.sampled_from(
            [
                ["show", path],
                ["show", "--full", "--allow-truncated", path],
                ["stats", path],
                ["stats", "--json", "--allow-truncated", path],
                ["replay", path, "--agent", "interpreters.cli._demo:AGENT"],
                ["replay", path, "--agent", draw(_IDS)],
                ["replay", path, "--agent", "interpreters.cli._demo:AGENT", "--prefix", draw(_IDS)],
            ]
        )
    )


def _run_main(argv: list[str]) -> tuple[object, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status: object = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            status = exc.code
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@given(data=st.data())
def test_hostile_command_lines_get_a_status_and_a_one_line_message(
    fuzz_folder: Path, data: st.DataObject
) -> None:
    argv = data.draw(_command_lines(fuzz_folder))
    status, out, err = _run_main(argv)  # any other exception fails the test, as a traceback would
    assert "Traceback" not in out + err
    if status == 2:  # a usage error: one line on stderr (argparse adds its usage line first)
        lines = err.splitlines()
        assert lines and lines[-1].startswith(("tower-llm-fx", "usage:")) and ": error: " in lines[-1], err
        assert len(lines) == 1 or lines[0].startswith("usage:"), err
        return
    assert status in (0, 1), (status, out, err)
    assert err == ""
    for line in out.splitlines():
        if line.startswith(("UNREADABLE ", "FAILED ")):  # the name, and for show/stats the diagnosis
            assert line.isprintable()
    if argv[0] == "show" and status == 0:
        assert out.startswith("Trace "), "show succeeds only on a trace"


def test_a_foreign_sqlite_database_is_reported_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "notes.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()
    (tmp_path / "empty.sqlite").write_bytes(b"")
    for path in (str(db), f"{db}#a", str(tmp_path / "empty.sqlite")):
        assert main(["show", path]) == 1
        out = capsys.readouterr().out
        assert "is a SQLite database but not a tower_llm_fx trace store" in out, out
    assert main(["stats", str(tmp_path)]) == 1
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["notes"], "reading never adds the trace store's tables to someone else's database"
    assert (tmp_path / "empty.sqlite").read_bytes() == b""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "a\x00b.jsonl"], "'a\\x00b.jsonl': not a usable path (embedded null byte)"),
        (["show", "{db}#\udcff"], "the trace id is not valid text"),
        (["show", "{empty}"], "no traces in"),
        (["show", "/dev/null"], "/dev/null: not a trace file, a directory of traces or a SQLite store"),
        (["replay", "{db}", "--agent", ".:x"], "importing '.' raised TypeError"),
        (
            ["replay", "{db}", "--agent", "broken_module_xyz:AGENT"],
            "importing 'broken_module_xyz' raised ZeroDivisionError",
        ),
        (["show", "{missing}\n\x1b[31m"], "'"),
    ],
    ids=["nul", "surrogate-id", "empty-folder", "device", "relative-agent", "agent-raises", "control-chars"],
)
def test_hostile_arguments_are_one_line_usage_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    db = tmp_path / "traces.db"
    record_demo(SqliteTraceStore(db), "a")
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken_module_xyz.py").write_text("AGENT = 1 / 0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "broken_module_xyz", raising=False)
    argv = [a.format(db=db, empty=tmp_path / "empty", missing=tmp_path / "nope") for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    (line,) = err.splitlines()
    assert line.startswith(f"tower-llm-fx {argv[0]}: error: ") and message in line, err
    assert line.isprintable() and out == ""


def test_a_replay_that_raises_is_a_failure_not_a_traceback(
    traces: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "raising_agent.py").write_text("async def agent(interpreter):\n    raise KeyError('boom')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "raising_agent", raising=False)
    assert main(["replay", str(traces), "--agent", "raising_agent:agent"]) == 1
    out = capsys.readouterr().out
    assert out.count("FAILED ") == 3
    assert "the replay raised KeyError: 'boom'" in out
    assert "3 trace(s): 0 OK, 3 failed" in out

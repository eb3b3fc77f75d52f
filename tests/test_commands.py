"""Every shell command the README and docs/*.md show works as written after the two set-up commands.

A fresh machine has Python, pip and this checkout; ``./scripts/demo`` and ``./scripts/test`` then
create ``.venv``. uv is *not* on PATH (the scripts run it as ``python3 -m uv``), so a command
must be one of: ``./scripts/<name>`` (an executable script here), ``.venv/bin/<tool>`` (a console
script the project installs, or the venv's python), or ``pip install`` of this project. Commands
are read from ```bash / ```sh / ```console blocks, and from inline code spans that start like a
command. ``./scripts/bench <name>`` and ``bench/<name>.py`` must name an existing bench, and each
``tower-llm-fx`` command line must parse with the real argument parser. The bench scripts take
only a number (no ``--help``), so they are not run here; ``./scripts/bench --help`` and a bad
name are, since they return before the set-up.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest

from interpreters.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "tests" / "README.md"]
SHELL_BLOCK = re.compile(r"^```(bash|sh|console)\n(.*?)^```", re.S | re.M)
ANY_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND_START = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:\./scripts/|\.venv/bin/|uv\s|uvx\s|pip\s)")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CONSOLE_SCRIPTS = set(PYPROJECT["project"].get("scripts", {}))
PLACEHOLDER = re.compile(r"<[^<>]+>")  # <name>, <tool>: prose, not a literal argument
BENCHES = sorted(p.stem for p in (ROOT / "bench").glob("*.py"))


def shell_commands(text: str, console: bool = False) -> list[str]:
    """The commands of a shell block: comments dropped, continuations joined, ``$`` prompts read.

    >>> shell_commands("./scripts/demo    # no key\\n\\n./scripts/bench \\\\\\n  overhead 10\\n")
    ['./scripts/demo', './scripts/bench overhead 10']
    >>> shell_commands("$ ./scripts/test -q\\nsome output\\n", console=True)
    ['./scripts/test -q']
    """
    out = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if console:
            if not line.startswith("$ ") and not pending:
                continue  # output, not a command
            line = line.removeprefix("$ ")
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        words = shlex.split(line, comments=True)
        if words:
            out.append(shlex.join(words))
    return out


def _commands() -> list[tuple[str, str]]:
    """(where, command) for every command on every page."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        name = page.relative_to(ROOT)
        for m in SHELL_BLOCK.finditer(text):
            line = text[: m.start(2)].count("\n") + 1
            for command in shell_commands(m.group(2), console=m.group(1) == "console"):
                found.append((f"{name}:{line}", command))
        prose = ANY_FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # keeps line numbers
        for m in INLINE.finditer(prose):
            if COMMAND_START.match(m.group(1)):
                line = prose.count("\n", 0, m.start()) + 1
                found.append((f"{name}:{line} (inline)", m.group(1)))
    return found


COMMANDS = _commands()


def problems(command: str, *, mention: bool = False) -> list[str]:
    """What is wrong with ``command`` on a machine after the two set-up commands ([] if nothing).

    With ``mention``, a lone path (prose naming a tool, e.g. ``.venv/bin/tower-llm-fx``) is checked
    to exist but not run as a command without arguments.

    >>> problems("uv run python bench/overhead.py")
    ['bare `uv` is not on PATH: use ./scripts/bench <name>, ./scripts/test or .venv/bin/<tool>']
    >>> problems("./scripts/bench no_such_bench")
    ['./scripts/bench no_such_bench: no bench/no_such_bench.py']
    >>> problems(".venv/bin/tower-llm-fx show")
    ['.venv/bin/tower-llm-fx show: the tower-llm-fx parser rejects these arguments (exit status 2)']
    >>> problems("./scripts/bench overhead 100"), problems("./scripts/bench <name>")
    ([], [])
    """
    words = shlex.split(command)
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):
        words = words[1:]  # VAR=value prefixes
    if not words:
        return ["empty command"]
    head, args = words[0], [w for w in words[1:] if not PLACEHOLDER.fullmatch(w)]
    found = []
    if head in ("uv", "uvx"):
        return ["bare `uv` is not on PATH: use ./scripts/bench <name>, ./scripts/test or .venv/bin/<tool>"]
    if "<" in head:
        return []  # a pattern such as ./scripts/<name>, not a command
    if head.startswith("./scripts/"):
        script = ROOT / head
        if not script.is_file():
            found.append(f"{head}: no such script")
        elif not os.access(script, os.X_OK):
            found.append(f"{head}: not executable (chmod +x)")
        if head == "./scripts/bench" and args and not args[0].startswith("-"):
            name = args[0].removeprefix("bench/").removesuffix(".py")
            if name not in BENCHES:
                found.append(f"{command}: no bench/{name}.py")
    elif head.startswith(".venv/bin/"):
        tool = head.removeprefix(".venv/bin/")
        if tool not in CONSOLE_SCRIPTS | {"python", "python3"}:
            found.append(f"{head}: not a console script of this project ({sorted(CONSOLE_SCRIPTS)})")
        if tool == "tower-llm-fx" and not (mention and not args):
            status = _parse_status(args)
            if status != 0:
                found.append(
                    f"{command}: the tower-llm-fx parser rejects these arguments (exit status {status})"
                )
    elif head == "pip":
        found += _pip_problems(args)
    else:
        found.append(f"{head}: not on PATH after set-up; use ./scripts/<name> or .venv/bin/<tool>")
    for word in args:  # bench/<name>.py named anywhere
        m = re.fullmatch(r"bench/(\w+)\.py", word)
        if m and m.group(1) not in BENCHES:
            found.append(f"{word}: no such bench")
    return found


def _parse_status(args: list[str]) -> int:
    """Parse ``tower-llm-fx`` arguments with the real parser (nothing runs); 0 if they are accepted."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            build_parser().parse_args(args)
        except SystemExit as exit:  # --help exits 0, a usage error 2
            return int(exit.code or 0)
    return 0


def _pip_problems(args: list[str]) -> list[str]:
    if args[:1] != ["install"]:
        return [f"pip {' '.join(args)}: only `pip install` of this project is documented"]
    project = PYPROJECT["project"]
    found = []
    for requirement in args[1:]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[([\w,-]+)\])?", requirement)
        if m is None or m.group(1) != project["name"]:
            found.append(f"pip install {requirement}: not {project['name']}")
            continue
        for extra in (m.group(2) or "").split(",") if m.group(2) else []:
            if extra not in project.get("optional-dependencies", {}):
                found.append(f"pip install {requirement}: no extra {extra!r} in pyproject.toml")
    return found


def test_the_pages_show_the_two_set_up_commands() -> None:
    readme = [command for where, command in COMMANDS if where.startswith("README.md")]
    assert "./scripts/demo" in readme
    assert "./scripts/test" in readme


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[f"{w} {c}" for w, c in COMMANDS])
def test_command_works_as_written(where: str, command: str) -> None:
    assert problems(command, mention=where.endswith("(inline)")) == [], where


def test_the_ci_entry_point_runs_the_documented_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^\./scripts/test\b", ci, re.M)


def test_bench_help_lists_every_bench_without_setting_up() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "bench"), "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("benches:", 1)[1].split()
    assert listed == BENCHES


def test_bench_refuses_an_unknown_name_before_setting_up() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "bench"), "no_such_bench"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "no bench named 'no_such_bench'" in done.stderr
    assert "overhead" in done.stderr  # it says what exists


def test_bench_runs_each_bench_through_the_bootstrap_with_uv_run() -> None:
    script = (ROOT / "scripts" / "bench").read_text(encoding="utf-8")
    assert 'source "$(dirname "$0")/_bootstrap.sh"' in script
    assert script.count("uv run --frozen --quiet python") == 2  # one bench, or each of them
    assert os.access(ROOT / "scripts" / "bench", os.X_OK)

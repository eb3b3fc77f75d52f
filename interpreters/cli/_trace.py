"""``tower-llm-fx replay | show | stats``: the trace commands of the command line.

* ``replay TRACE... --agent MODULE:ATTRIBUTE`` re-runs recorded traces against
  the current code and reports, per trace, OK or the first divergence.
* ``show TRACE`` prints a readable transcript.
* ``stats DIR`` counts traces, exchanges, model and tool calls, tool errors and
  tokens.

A TRACE is a ``.jsonl``/``.json`` trace file, a directory of them, or a SQLite
trace store (``.db``, ``.sqlite``, ``.sqlite3``; ``file.db#id`` names one trace).
A durable run's journal in a SQLite file (``open_sqlite_journal``) is a trace
too: ``file.db#run_id`` shows, replays or counts its completed exchanges.
``--allow-truncated`` (all three) reads a trace whose writer crashed mid-line,
without its torn last exchange. Progress bars go to stderr, results to stdout.
Exit status: 0 when all is well; 1 when a trace diverged, could not be read
(one ``UNREADABLE`` line each, on stdout) or its replay raised (``FAILED``);
2 for a usage error (one ``tower-llm-fx COMMAND: error: ...`` line on stderr:
a path that does not exist or is not a trace, ``--prefix`` past a trace's end,
an ``--agent`` that cannot be imported). Names are printed on one line, with
unprintable characters escaped; a SQLite file is only read, never written.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sqlite3
import stat
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import trio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters._replay import replay, replay_run
from interpreters._types import Interpreter
from interpreters.stores._journal_sqlite import journal_runs, load_journal
from interpreters.stores._trace_sqlite import SqliteTraceStore
from interpreters.stores._traces import read_trace
from tower_llm_fx.trace import scrub_text

__all__ = ["register"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_TRACE_SUFFIXES = (".jsonl", ".json")


class UsageError(Exception):
    """A mistake on the command line (exit status 2)."""


_UNREADABLE = (fx.trace.TraceDecodeError, fx.trace.TraceStoreError, fx.ConfigurationError, OSError)
"""What reading a trace may raise; the commands report it (UNREADABLE, exit status 1)."""


def _shown(text: str) -> str:
    """``text`` as it is when printable, else its repr: one line, no control characters."""
    return text if text.isprintable() else repr(text)


def _diagnosis(exc: BaseException) -> str:
    """``exc``'s message in the command line's terms (its options rather than the library's arguments)."""
    if isinstance(exc, OSError) and exc.strerror:  # the name is printed already; it may be long
        return f"cannot read it: {exc.strerror}"
    return " ".join(
        _shown(line) for line in str(exc).replace("allow_truncated=True", "--allow-truncated").splitlines()
    )


def _count(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n} is negative; use a number of exchanges, 0 or more")
    return n


# -- finding and loading traces ----------------------------------------------------


@attrs.frozen
class _Source:
    """One trace to read: a file, or an id in a SQLite store."""

    name: str = attrs.field(converter=_shown)  # printed: one line, no control characters
    path: Path
    trace_id: str | None = None
    error: Exception | None = None  # why it could not even be listed; loading raises it
    journal: bool = False  # a durable run's journal (its completed exchanges are the trace)

    def load(self, allow_truncated: bool = False) -> fx.trace.Trace:
        if self.error is not None:
            raise self.error
        if self.trace_id is None:
            return read_trace(self.path, allow_truncated=allow_truncated)
        return trio.run(self.aload, allow_truncated)

    async def aload(self, allow_truncated: bool = False) -> fx.trace.Trace:
        if self.error is not None:
            raise self.error
        if self.trace_id is None:
            return await trio.to_thread.run_sync(
                lambda: read_trace(self.path, allow_truncated=allow_truncated)
            )
        if self.journal:
            return await trio.to_thread.run_sync(load_journal, self.path, self.trace_id)
        return await SqliteTraceStore(self.path).load(self.trace_id, allow_truncated=allow_truncated)


def _sources(args: list[str]) -> list[_Source]:
    found: list[_Source] = []
    for arg in args:
        path_text, _, trace_id = arg.partition("#")
        path = Path(path_text)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise UsageError(f"{_shown(path_text)}: no such file or directory") from None
        except ValueError as exc:  # a NUL byte in the name
            raise UsageError(f"{_shown(path_text)}: not a usable path ({exc})") from None
        except OSError as exc:  # a name too long, a folder we may not enter, ...
            found.append(_Source(arg, path, error=exc))
            continue
        if stat.S_ISDIR(mode):
            try:
                entries = sorted(p for p in path.iterdir() if p.is_file())
            except OSError as exc:  # a folder we may not list
                found.append(_Source(arg, path, error=exc))
                continue
            found.extend(_Source(str(p), p) for p in entries if p.suffix in _TRACE_SUFFIXES)
            for db in (p for p in entries if p.suffix in _SQLITE_SUFFIXES):
                found.extend(_sqlite_sources(db))
        elif path.suffix in _SQLITE_SUFFIXES and stat.S_ISREG(mode):
            if trace_id and not _encodable(trace_id):
                raise UsageError(f"{_shown(arg)}: the trace id is not valid text (a lone surrogate)")
            if not trace_id:
                found.extend(_sqlite_sources(path))
            elif trace_id in journal_runs(path):
                found.append(_Source(arg, path, trace_id, journal=True))
            else:
                found.append(_Source(arg, path, trace_id, error=_not_a_trace_store(path)))
        elif stat.S_ISREG(mode):
            found.append(_Source(str(path), path))
        else:
            raise UsageError(
                f"{_shown(path_text)}: not a trace file, a directory of traces or a SQLite store"
            )
    return found


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_a_trace_store(db: Path) -> fx.trace.TraceStoreError | None:
    """Why ``db``, a SQLite database, holds no traces; checked read-only, so a stranger's database
    is never written to (opening it as a store would add the store's tables)."""
    uri = "file:" + urllib.parse.quote(str(db.resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            row = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tower_llm_fx_traces'"
            ).fetchone()
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError):  # not a database, locked, ...: the store explains
        return None
    if row is not None:
        return None
    return fx.trace.TraceStoreError(
        f"{db} is a SQLite database but not a tower_llm_fx trace store (it has no "
        "tower_llm_fx_traces table); name a .jsonl trace or a store written by record(into=...)"
    )


def _sqlite_sources(db: Path) -> list[_Source]:
    journals = [_Source(f"{db}#{r}", db, r, journal=True) for r in journal_runs(db)]
    foreign = _not_a_trace_store(db)
    if foreign is not None:
        return journals or [_Source(str(db), db, error=foreign)]
    try:
        ids = trio.run(SqliteTraceStore(db).list)
    except fx.trace.TraceStoreError as exc:  # not a database, locked, ...
        return [_Source(str(db), db, error=exc)]
    return [_Source(f"{db}#{i}", db, i) for i in ids] + journals


def _is_tty(stream: Any) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):  # a notebook's or a test's captured stream
        return False


def _progress(out: Console, err: Console) -> Progress:
    # On a terminal, results and the bar share stdout (rich keeps the bar below
    # the results); when stdout is piped, the bar goes to stderr; with no
    # terminal at all (a pipe, a notebook) there is no bar.
    console = out if _is_tty(sys.stdout) else err
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not _is_tty(sys.stdout if console is out else sys.stderr),
    )


# -- replay ----------------------------------------------------------------------------


def _load_target(spec: str) -> Any:
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"--agent {spec!r}: use MODULE:ATTRIBUTE, e.g. myapp.agents:calculator")
    if os.getcwd() not in sys.path:  # like `python -m`: modules in the current directory are importable
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(
            f"--agent {spec!r}: cannot import {module_name!r} ({_diagnosis(exc)}); run from the directory "
            "that holds it, or add its directory to PYTHONPATH"
        ) from None
    except Exception as exc:  # a relative name (TypeError), or the module raised while importing
        raise UsageError(
            f"--agent {spec!r}: importing {module_name!r} raised {type(exc).__name__}: {_diagnosis(exc)}"
        ) from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UsageError(f"--agent {spec!r}: {module_name!r} has no attribute {attribute!r}") from None
        except Exception as exc:  # a property that raised
            raise UsageError(
                f"--agent {spec!r}: reading {part!r} raised {type(exc).__name__}: {_diagnosis(exc)}"
            ) from None
    if isinstance(target, fx.Program) or inspect.iscoroutinefunction(target):
        return target
    raise UsageError(
        f"--agent {spec!r} is a {type(target).__name__}; name an Agent, a Group (any program), "
        "or an async function that takes an interpreter and runs your program with it"
    )


async def _replay_one(
    target: fx.Program[Any] | Callable[[Interpreter], Awaitable[Any]],
    trace: fx.trace.Trace,
    text: str | None,
    prefix: int | None,
) -> None:
    if isinstance(target, fx.Program):
        await replay_run(target, trace, input=text, prefix=prefix)
        return
    async with replay(trace, prefix=prefix) as interp:
        await target(interp)


def _replay(args: argparse.Namespace) -> int:
    out, err = (
        Console(highlight=False, soft_wrap=True, force_jupyter=False),
        Console(stderr=True, highlight=False, soft_wrap=True, force_jupyter=False),
    )
    target = _load_target(args.agent)
    sources = _sources(args.traces)
    if not sources:
        raise UsageError(f"no traces in {' '.join(map(_shown, args.traces))}")
    failures = 0

    async def main() -> None:
        nonlocal failures
        with _progress(out, err) as progress:
            task = progress.add_task("replaying", total=len(sources))
            for source in sources:
                progress.update(task, description=f"replaying {source.name}")
                try:
                    trace = await source.aload(args.allow_truncated)
                    if args.prefix is not None and args.prefix > len(trace.exchanges):
                        raise UsageError(
                            f"--prefix {args.prefix}: {source.name} has only {len(trace.exchanges)} "
                            f"exchange(s); use a prefix between 0 and {len(trace.exchanges)}"
                        )
                    await _replay_one(target, trace, args.input, args.prefix)
                except fx.trace.ReplayMismatch as exc:
                    failures += 1
                    out.print(Text.assemble(("DIVERGED ", "bold red"), source.name))
                    out.print(Text(_indent(str(exc))))
                except _UNREADABLE as exc:
                    failures += 1
                    out.print(Text.assemble(("UNREADABLE ", "bold red"), source.name))
                    out.print(Text(_indent(_diagnosis(exc))))
                except UsageError:
                    raise
                except Exception as exc:  # the agent (or a function of yours) raised: report, go on
                    failures += 1
                    out.print(Text.assemble(("FAILED ", "bold red"), source.name))
                    out.print(Text(_indent(f"the replay raised {type(exc).__name__}: {_diagnosis(exc)}")))
                else:
                    n = len(trace.exchanges) if args.prefix is None else args.prefix
                    out.print(Text.assemble(("OK ", "bold green"), f"{source.name} ({n} exchanges)"))
                progress.advance(task)

    trio.run(main)
    ok = len(sources) - failures
    summary = f"{len(sources)} trace(s): {ok} OK" + (f", {failures} failed" if failures else "")
    out.print(Text(summary, style="bold red" if failures else "bold green"))
    return 1 if failures else 0


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# -- show ------------------------------------------------------------------------------

_ROLE_STYLE = {"system": "magenta", "user": "cyan", "assistant": "green", "tool": "yellow"}


def _message_lines(m: fx.Message) -> Iterator[Text]:
    role = m.role
    style = _ROLE_STYLE.get(role, "")
    if isinstance(m, fx.AssistantMessage):
        if m.content is not None:
            yield Text.assemble((f"{role}: ", style), scrub_text(fx.text_of(m.content)))
        for c in m.tool_calls:
            yield Text.assemble(
                (f"{role} → ", style), (f"{c.name}", "bold"), scrub_text(f"({c.arguments})  [{c.id}]")
            )
        if m.refusal is not None:
            yield Text.assemble((f"{role} refused: ", "red"), scrub_text(m.refusal))
        if m.content is None and not m.tool_calls and m.refusal is None:
            yield Text.assemble((f"{role}: ", style), ("(empty)", "dim"))
    elif isinstance(m, fx.ToolMessage):
        yield Text.assemble(
            (f"{role} ← ", style), scrub_text(fx.text_of(m.content)), (f"  [{m.tool_call_id}]", "dim")
        )
    else:  # content parts (images, files) show as their text parts
        yield Text.assemble((f"{role}: ", style), scrub_text(fx.text_of(m.content)))


def _result_lines(result: object) -> Iterator[Text]:
    if isinstance(result, fx.ModelReply):
        for line in _message_lines(result.message):
            yield Text("  ⇒ ") + line
        u = result.usage
        yield Text(
            f"     {u.prompt_tokens}+{u.completion_tokens} tokens, finish {result.finish_reason}", style="dim"
        )
    elif isinstance(result, fx.ToolResult):
        style = "red" if result.is_error else ""
        yield Text.assemble("  ⇒ ", (scrub_text(result.content), style), (f"  [{result.call_id}]", "dim"))
    elif isinstance(result, tuple):
        for r in result:
            yield from _result_lines(r)
    else:
        yield Text("  ⇒ " + scrub_text(repr(result)))


def _transcript(trace: fx.trace.Trace, full: bool) -> Iterator[Text]:
    meta = trace.meta
    facts = [f"format {meta.format_version}", f"tower_llm_fx {meta.library_version}"]
    facts += [
        f"{k} {v}"
        for k, v in (("created", meta.created_at), ("agent", meta.agent), ("model", meta.model))
        if v
    ]
    facts += [f"{k}={v}" for k, v in meta.tags]
    yield Text(" · ".join(facts), style="dim")
    previous: tuple[fx.Message, ...] = ()
    for i, ex in enumerate(trace.exchanges):
        effect = ex.effect
        if isinstance(effect, fx.ModelCall):
            shared = len(previous) if not full and effect.messages[: len(previous)] == previous else 0
            knobs = repr(effect.params)[len("ModelParams(") : -1]
            head = (
                f"#{i} ModelCall {effect.model}  ({len(effect.messages)} messages, {len(effect.tools)} tools"
            )
            head += f"{', ' + knobs if knobs else ''})"
            yield Text(head, style="bold")
            if shared:
                yield Text(f"   … {shared} earlier message(s)", style="dim")
            for m in effect.messages[shared:]:
                for line in _message_lines(m):
                    yield Text("   ") + line
            previous = effect.messages
        elif isinstance(effect, fx.ToolCall):
            yield Text.assemble(
                (f"#{i} ToolCall ", "bold"), scrub_text(f"{effect.name}({effect.arguments})  [{effect.id}]")
            )
        elif isinstance(effect, fx.Parallel):
            yield Text(f"#{i} Parallel of {len(effect.calls)} ({effect.join.value})", style="bold")
            for c in effect.calls:
                yield Text("   " + scrub_text(f"{c.name}({c.arguments})  [{c.id}]"))
        else:
            yield Text(f"#{i} " + fx.trace.describe_effect(effect), style="bold")
        yield from _result_lines(ex.result)


def _show(args: argparse.Namespace) -> int:
    out = Console(highlight=False, soft_wrap=True, force_jupyter=False)
    status = 0
    sources = _sources([args.trace])
    if not sources:
        raise UsageError(f"no traces in {_shown(args.trace)}")
    for source in sources:
        try:
            trace = source.load(args.allow_truncated)
        except _UNREADABLE as exc:
            out.print(Text.assemble(("UNREADABLE ", "bold red"), f"{source.name}: {_diagnosis(exc)}"))
            status = 1
            continue
        out.print(Text(f"Trace {source.name}", style="bold underline"))
        for line in _transcript(trace, args.full):
            out.print(line)
    return status


# -- stats -----------------------------------------------------------------------------


def _stats(args: argparse.Namespace) -> int:
    out, err = (
        Console(highlight=False, soft_wrap=True, force_jupyter=False),
        Console(stderr=True, highlight=False, soft_wrap=True, force_jupyter=False),
    )
    sources = _sources(args.dir)
    total = fx.trace.TraceStats()
    unreadable: list[str] = []
    with _progress(out, err) as progress:
        task = progress.add_task("reading", total=len(sources))
        for source in sources:
            try:
                total = total + fx.trace.trace_stats(source.load(args.allow_truncated))
            except _UNREADABLE as exc:
                unreadable.append(f"{source.name}: {_diagnosis(exc)}")
            progress.advance(task)
    if args.json:
        data = attrs.asdict(total)
        data["tools"] = dict(total.tools)
        data["models"] = dict(total.models)
        data["unreadable"] = unreadable
        out.print_json(json.dumps(data))
        return 1 if unreadable else 0
    table = Table(title=f"{total.traces} trace(s) in {' '.join(map(_shown, args.dir))}", show_header=False)
    for label, value in (
        ("exchanges", total.exchanges),
        ("model calls", total.model_calls),
        ("tool calls", total.tool_calls),
        ("tool errors", total.tool_errors),
        ("prompt tokens", total.prompt_tokens),
        ("completion tokens", total.completion_tokens),
        ("total tokens", total.prompt_tokens + total.completion_tokens),
    ):
        table.add_row(label, f"{value:,}")
    out.print(table)
    for title, counts in (("tool", total.tools), ("model", total.models)):
        if counts:
            breakdown = Table(title=f"calls per {title}")
            breakdown.add_column(title)
            breakdown.add_column("calls", justify="right")
            for name, n in sorted(counts, key=lambda kv: (-kv[1], kv[0])):
                breakdown.add_row(name, f"{n:,}")
            out.print(breakdown)
    for line in unreadable:
        out.print(Text.assemble(("UNREADABLE ", "bold red"), line))
    return 1 if unreadable else 0


# -- registration ------------------------------------------------------------------------


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except UsageError as exc:
            Console(stderr=True, highlight=False, soft_wrap=True, force_jupyter=False).print(
                Text(f"tower-llm-fx {args.command}: error: {exc}", style="red")
            )
            return 2

    return run


def register(sub: Any) -> None:
    """Add the ``replay``, ``show`` and ``stats`` sub-commands to ``sub`` (an argparse subparsers action)."""
    p = sub.add_parser(
        "replay",
        help="re-run recorded traces against the current code; report OK or the first divergence",
        description="Replay each trace through the agent: every effect it makes must equal the recorded one.",
    )
    p.add_argument(
        "traces", nargs="+", metavar="TRACE", help="trace file, directory of traces, or SQLite store"
    )
    p.add_argument(
        "--agent",
        required=True,
        metavar="MODULE:ATTRIBUTE",
        help="the Agent or Group to replay (e.g. myapp.agents:calculator), or an async function taking an interpreter",
    )
    p.add_argument("--input", help="the user's text, for traces that do not start with a model call")
    p.add_argument(
        "--prefix", type=_count, metavar="N", help="replay only the first N exchanges of each trace"
    )
    _allow_truncated(p)
    p.set_defaults(func=_guarded(_replay))

    p = sub.add_parser("show", help="print a readable transcript of a trace")
    p.add_argument("trace", metavar="TRACE", help="trace file, or SQLite store (file.db#id for one trace)")
    p.add_argument("--full", action="store_true", help="print each model call's whole conversation")
    _allow_truncated(p)
    p.set_defaults(func=_guarded(_show))

    p = sub.add_parser("stats", help="count traces, exchanges, model and tool calls, errors and tokens")
    p.add_argument("dir", nargs="+", metavar="DIR", help="directory of traces, trace file, or SQLite store")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    _allow_truncated(p)
    p.set_defaults(func=_guarded(_stats))


def _allow_truncated(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-truncated",
        action="store_true",
        help="read a trace whose writer crashed mid-line: drop the torn last exchange instead of refusing",
    )

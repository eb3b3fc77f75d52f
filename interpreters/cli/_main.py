"""The ``tower-llm-fx`` command line (also ``python -m interpreters``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import trio

import tower_llm_fx

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from ._demo import demo

    trio.run(demo)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; each sub-command registers itself here."""
    parser = argparse.ArgumentParser(prog="tower-llm-fx", description="tower_llm_fx command line tools")
    parser.add_argument("--version", action="version", version=f"%(prog)s {tower_llm_fx.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the demo agent on the scripted interpreter (no network)")
    demo.set_defaults(func=_demo)
    from ._trace import register as register_trace_commands

    register_trace_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tower-llm-fx``; returns the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

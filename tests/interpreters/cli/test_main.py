"""The command line's entry point and parser; the demo itself is tested in ``test_demo.py``."""

from __future__ import annotations

import pytest

from interpreters.cli._main import main


def test_unknown_command_exits_with_usage() -> None:
    with pytest.raises(SystemExit) as info:
        main(["nope"])
    assert info.value.code == 2

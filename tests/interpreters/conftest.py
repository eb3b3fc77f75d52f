"""Fixtures shared by the shell's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from interpreters.stores import SessionStore, memory_store, open_sqlite_store


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    """Each session store the library ships: in memory, and a real SQLite file in ``tmp_path``."""
    if request.param == "memory":
        yield memory_store()
    else:
        async with open_sqlite_store(tmp_path / "sessions.db") as s:
            yield s

"""What the SQLite store tests share: a second writer holding the lock, the WAL-retry watch."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from interpreters.stores import _sqlite


def watch_wal_retries(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """An event set when a store, switching a file to WAL, finds it locked and waits to try again."""
    retried = threading.Event()

    def sleep(delay: float) -> None:
        retried.set()
        time.sleep(delay)

    monkeypatch.setattr(_sqlite, "_sleep", sleep)
    return retried


@contextmanager
def another_writer(db: Path, *, new_file: bool = False) -> Iterator[sqlite3.Connection]:
    """A second real connection to ``db`` in a write transaction (``COMMIT`` or ``ROLLBACK`` it).

    ``new_file``: ``db`` does not exist yet; the connection creates it and writes to it,
    so a store opening it has to switch it to WAL while it is locked.
    """
    other = sqlite3.connect(db, isolation_level=None)
    try:
        if new_file:
            other.execute("CREATE TABLE t (x)")
        other.execute("BEGIN IMMEDIATE")
        if new_file:
            other.execute("INSERT INTO t VALUES (1)")
        yield other
    finally:
        other.close()


def journal_mode(db: Path) -> str:
    fresh = sqlite3.connect(db)
    try:
        return str(fresh.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        fresh.close()

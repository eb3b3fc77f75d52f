"""Fixtures for the store tests: a real Postgres database per test (``tests/support/postgres.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import fresh_database, server_dsn


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    """The DSN of a new, empty database on the test Postgres server (dropped after the test)."""
    with fresh_database(server_dsn()) as dsn:
        yield dsn

"""A real Postgres server for the tests: ``TOWER_LLM_FX_POSTGRES_DSN``, or a throwaway cluster.

``server_dsn()`` is the DSN of a server: the one in the environment
variable ``TOWER_LLM_FX_POSTGRES_DSN`` if set (CI starts one with
``scripts/postgres.sh``), else a cluster it starts itself with that script
(in a temp dir, fsync off), once per test process, and stops at exit. ``fresh_database(dsn)``
creates an empty database on it, so each test starts from nothing.
Tests are never skipped: with neither a DSN nor PostgreSQL binaries the
fixture fails, saying what to install.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

ENV = "TOWER_LLM_FX_POSTGRES_DSN"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"


def _have_binaries() -> bool:
    return (shutil.which("initdb") is not None and shutil.which("pg_ctl") is not None) or any(
        (d / "initdb").exists() for d in Path("/usr/lib/postgresql").glob("*/bin")
    )


_STARTED: list[str] = []  # the DSN of the cluster this process started, once


def server_dsn() -> str:
    """The DSN of a running Postgres server (started on first use, and stopped at exit, if need be)."""
    dsn = os.environ.get(ENV)
    if dsn:
        return dsn
    if _STARTED:
        return _STARTED[0]
    if not _have_binaries() and os.geteuid() != 0:
        pytest.fail(
            f"the Postgres tests need a server: set {ENV} to a DSN, or install PostgreSQL "
            "(apt-get install postgresql) so that scripts/postgres.sh can start one",
            pytrace=False,
        )
    done = subprocess.run(
        [str(SCRIPT), "start"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "POSTGRES_OPTIONS": "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
        },
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"scripts/postgres.sh start failed:\n{done.stderr}", pytrace=False)
    dsn, folder = done.stdout.split()[:2]
    atexit.register(subprocess.run, [str(SCRIPT), "stop", folder], capture_output=True, check=False)
    _STARTED.append(dsn)
    return dsn


def with_database(dsn: str, name: str) -> str:
    """``dsn`` with its database replaced by ``name``, as a URL (SQLAlchemy, and so DBOS, wants one)."""
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    user, password = params.get("user") or "postgres", params.get("password")
    auth = f"{user}:{password}" if password else str(user)
    return f"postgresql://{auth}@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{name}"


@contextmanager
def fresh_database(dsn: str) -> Iterator[str]:
    """The DSN of a new, empty database on ``dsn``'s server, dropped on exit."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

"""Shared fixtures: database servers for tests marked `db`.

`pg_url` / `mariadb_url` yield a SQLAlchemy URL for a reachable server. When the server is not
reachable the test is skipped with the reason, except when the environment has CI=true: there a
missing server is a failure, so CI can never pass by skipping. Override the URLs with
TEST_PG_URL / TEST_MARIADB_URL.

Under pytest-xdist (pyproject.toml's addopts run the suite on every core) each worker gets a database
of its own on that server, `test_gw0`, `test_gw1`, ..., created on demand (tests/worker_db.py).
"""
from __future__ import annotations

import os

import pytest

from worker_db import for_worker

PG_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _reachable(url: str) -> str | None:
    """None if a connection can be made, else the first line of the error."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    finally:
        engine.dispose()


def _server(url: str, what: str) -> str:
    problem = _reachable(url)
    if problem is None:
        return for_worker(url)
    message = f"{what} not reachable at {url.split('@')[-1]}: {problem}"
    if in_ci():
        pytest.fail(f"{message} (CI=true: database tests must run, not skip)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of a reachable PostgreSQL server (skip, or fail under CI=true)."""
    return _server(PG_URL, "PostgreSQL")


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """SQLAlchemy URL of a reachable MariaDB / MySQL server (skip, or fail under CI=true)."""
    return _server(MARIADB_URL, "MariaDB")

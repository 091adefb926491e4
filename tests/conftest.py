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
from pathlib import Path

import pytest

from sample_force import copy_sample
from worker_db import for_worker

PG_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


# Environment a worker must see as the controlling pytest process sees it. A pytest-xdist worker is
# started as a child process and inherits the C-level environment, where readline (loaded by
# pytest) has exported COLUMNS=80 / LINES=24 without os.environ knowing: rich's console, built at
# import, would then be fixed at 80 columns in a worker only (test_cli_list_marks_a_deprecated_rule_
# as_not_run sets COLUMNS=250 and fails there). The controller hands its own values over; the worker
# puts them back before any test module is imported.
_CONTROLLER_ENV = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # xdist hook, on the controller
    node.workerinput["controller_env"] = {name: os.environ.get(name) for name in _CONTROLLER_ENV}


def pytest_configure(config) -> None:
    env = getattr(config, "workerinput", {}).get("controller_env")
    for name, value in (env or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


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


@pytest.fixture
def sample_force(tmp_path) -> Path:
    """A force folder with a copy of the bundled sample/ and config.toml, to edit freely."""
    return copy_sample(tmp_path / "force")

"""Store test fixtures: a fresh store on SQLite and on PostgreSQL (own schema per test).

PostgreSQL tests skip with a reason when the server is unreachable, except when CI=true, where
they fail instead. Under pytest-xdist each worker uses a database of its own on that server
(`test_gw0`, ...: tests/worker_db.py); the schemas are made inside it.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # factory.py, sched_helpers.py

from pgschema import scratch_schema  # noqa: E402
from worker_db import for_worker  # noqa: E402

PG_ADMIN = os.environ.get("STORE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL at {PG_ADMIN} is not reachable: {e}"


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    reason = _pg_reachable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return for_worker(PG_ADMIN)


@pytest.fixture
def pg_url(pg_admin_url):
    with scratch_schema(pg_admin_url, "t_store") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


class Clock:
    """A settable clock for the store (suppression expiry, lock age)."""

    def __init__(self, now: datetime | None = None):
        self.now = now or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_url, clock):
    from audit.store import open_store

    st = open_store(store_url, clock=clock)
    yield st
    st.dispose()


@pytest.fixture
def config_file(tmp_path, store_url):
    """A config.toml whose store is this test's database."""
    path = tmp_path / "config.toml"
    path.write_text(f'[audit]\ndata_dir = "{tmp_path / "data"}"\n\n[store]\nurl = "{store_url}"\n\n'
                    f'[schedule]\ncron = "0 2 * * *"\ntimezone = "Europe/London"\nmisfire_grace_days = 7\n')
    return path

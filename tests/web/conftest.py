"""Web app fixtures: a seeded SQLite store, the app over it, signed-in test clients and a seeded
PostgreSQL store (helpers they share with the tests live in webtest.py)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # seed.py

import seed  # noqa: E402
from webtest import login, settings_for, write_outputs  # noqa: E402


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory) -> Path:
    """One seeded SQLite file per test session; each test gets its own copy."""
    path = tmp_path_factory.mktemp("seed") / "store.db"
    seed.seed(f"sqlite:///{path}", n_gifts=60, n_vetting=10).dispose()  # dispose checkpoints the WAL
    return path


@pytest.fixture
def store(seeded_file, tmp_path):
    from audit.store import open_store

    target = tmp_path / "store.db"
    shutil.copyfile(seeded_file, target)
    s = open_store(f"sqlite:///{target}", migrate=False)
    yield s
    s.dispose()


@pytest.fixture
def app(store, tmp_path):
    from audit.web import create_app

    write_outputs(tmp_path / "out")
    return create_app(settings_for(tmp_path / "out"), store)


@pytest.fixture
def client_for(app):
    from starlette.testclient import TestClient

    clients = []

    def make(name: str | None = None):
        c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        clients.append(c)
        c.csrf = login(c, name) if name else ""
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def pg_store(pg_url):
    """A seeded store in a schema of its own on the test PostgreSQL server (dropped after)."""
    from pgschema import scratch_schema

    with scratch_schema(pg_url, "t_web") as url:
        s = seed.seed(url, n_gifts=60, n_vetting=10)
        yield s
        s.dispose()

"""Web app fixtures: a seeded SQLite store, the app over it, signed-in test clients, and the
Chromium helper for browser tests (skip with a reason when absent, fail when CI=true)."""
from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # seed.py

import seed  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_CSRF = re.compile(r'action="/login"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"')


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


def settings_for(out_dir: Path, **web):
    from audit.settings import Settings

    return Settings.model_validate({"exports": {"out_dir": str(out_dir)}, "web": web})


def write_outputs(out_dir: Path, period: str = "2026-10") -> None:
    folder = out_dir / period
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"report-{period}.html").write_text("<p>full report with vetting</p>")
    (folder / f"report-{period}-reviewers.html").write_text("<p>reviewers' report</p>")
    (folder / "alerts.csv").write_text("alert_id\n1\n")
    (folder / "manifest.json").write_text("{}")


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


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


def login_csrf_of(html: str) -> str:
    m = LOGIN_CSRF.search(html)
    assert m, "page has no login form"
    return m.group(1)


def login(client, name: str, password: str = seed.PASSWORD):
    """Sign `client` in as `name`; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post("/login", data={"csrf": login_csrf_of(page.text), "username": name, "password": password},
                    follow_redirects=False)
    assert r.status_code == 303, (name, r.status_code, r.text[:300])
    return csrf_of(client.get(r.headers["location"]).text)


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


def chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: browser tests must run, but {reason}")
    pytest.skip(reason)


@pytest.fixture
def pg_store(pg_url):
    """A seeded store in a schema of its own on the test PostgreSQL server (dropped after)."""
    import uuid

    import psycopg

    schema = f"t_web_{uuid.uuid4().hex[:10]}"
    raw = pg_url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    s = seed.seed(f"{pg_url}?options=-csearch_path%3D{schema}", n_gifts=60, n_vetting=10)
    yield s
    s.dispose()
    with psycopg.connect(raw, autocommit=True) as c:
        c.execute(f'DROP SCHEMA "{schema}" CASCADE')

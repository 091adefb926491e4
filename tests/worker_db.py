"""One database per pytest-xdist worker on a shared test server.

The suite runs on several processes (`-n auto` in pyproject.toml). Each process is told its name in
PYTEST_XDIST_WORKER ("gw0", "gw1", ...); `for_worker(url)` turns the URL of database `test` into the
URL of database `test_gw0` on the same server, creating it the first time, so two workers never share
a database (their tables, schemas, locks and sequences stay apart). In one process (`-n 0`, e.g.
`python -m pytest -n 0 tests/x.py`) the URL is used as given.

The URL may come from TEST_PG_URL / TEST_MARIADB_URL / STORE_TEST_PG: the worker's database is made on
that server next to the one named. A login that may not create databases keeps the database named
(every test there still works in a schema or table of its own) and says so in a warning.

(A module name of its own, importable from every test folder like pgschema.py.)"""
from __future__ import annotations

import os
import warnings

import sqlalchemy as sa


def worker() -> str | None:
    """This process's xdist worker name ("gw0"), or None outside xdist / with -n 0."""
    return os.environ.get("PYTEST_XDIST_WORKER") or None


def worker_url(url: str, name: str) -> str:
    """`url` with its database `db` replaced by `db_<name>` (query, e.g. libpq options, kept)."""
    u = sa.engine.make_url(url)
    return u.set(database=f"{u.database}_{name}").render_as_string(hide_password=False)


def _create(admin_url: str, database: str) -> None:
    """CREATE DATABASE `database` via a connection to `admin_url`, unless it exists (another run of
    the suite on this server may be creating it at the same moment: "already exists" is fine)."""
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            q = engine.dialect.identifier_preparer.quote(database)
            if engine.dialect.name == "postgresql":
                exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"),
                                      {"d": database}).first()
                if not exists:
                    try:
                        conn.exec_driver_sql(f"CREATE DATABASE {q}")
                    except sa.exc.DBAPIError as e:  # a concurrent run created it first
                        if "already exists" not in str(e) and "pg_database_datname_index" not in str(e):
                            raise
            else:  # MariaDB / MySQL
                conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {q}")
    finally:
        engine.dispose()


def for_worker(url: str) -> str:
    """The URL this process should use: `url` itself outside xdist, else its worker's own database
    (created on demand). Call only once `url` is known to be reachable."""
    name = worker()
    if name is None:
        return url
    target = worker_url(url, name)
    try:
        _create(url, sa.engine.make_url(target).database)
    except sa.exc.DBAPIError as e:
        if os.environ.get("CI", "").lower() == "true":  # workers sharing one database race: never in CI
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        warnings.warn(f"xdist worker {name}: could not create its own database on "
                      f"{url.split('@')[-1]} ({first}); using the shared database", stacklevel=2)
        return url
    return target

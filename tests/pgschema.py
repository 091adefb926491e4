"""A throwaway PostgreSQL schema on a shared server: the URL that works inside it, dropped after.

One place for the tests' fixtures and the benchmarks, so runs never see each other's tables.
(A module name of its own, importable from every test folder: tests/ is on sys.path through
tests/conftest.py, and the benchmarks add it themselves.)"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator


def schema_url(url: str, schema: str) -> str:
    """`url` with its search path set to `schema` (libpq `options`)."""
    return f"{url}?options=-csearch_path%3D{schema}"


@contextmanager
def scratch_schema(url: str, prefix: str) -> Iterator[str]:
    """Create a schema named prefix_<random>, yield the URL inside it, drop it with its tables."""
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    raw = url.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True, connect_timeout=5) as c:
        c.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(url, schema)
    finally:
        with psycopg.connect(raw, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')

"""Alembic migrations shipped in the package: upgrade from empty, downgrade one step."""
from __future__ import annotations

from sqlalchemy import inspect

from audit.store import migrate
from audit.store.db import make_engine
from audit.store.models import Base


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_the_models_and_downgrades(store_url):
    assert migrate.current(store_url) is None
    migrate.upgrade(store_url)
    assert migrate.current(store_url) == migrate.head()
    assert tables(store_url) == set(Base.metadata.tables)
    migrate.upgrade(store_url)  # idempotent
    migrate.downgrade(store_url, "-1")
    assert migrate.current(store_url) is None and tables(store_url) == set()
    migrate.upgrade(store_url)
    assert tables(store_url) == set(Base.metadata.tables)


def test_no_model_change_is_missing_a_migration(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrate.upgrade(store_url)
    engine = make_engine(store_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == []

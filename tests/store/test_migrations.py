"""Alembic migrations shipped in the package: upgrade from empty, downgrade one step."""
from __future__ import annotations

import pytest
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


def test_upgrade_from_empty_then_downgrade_one_step_and_to_base(store_url):
    from alembic.script import ScriptDirectory

    assert migrate.current(store_url) is None
    migrate.upgrade(store_url)
    assert migrate.current(store_url) == migrate.head()
    assert set(Base.metadata.tables) <= tables(store_url)
    migrate.upgrade(store_url)  # idempotent
    previous = ScriptDirectory.from_config(migrate._config()).get_revision(migrate.head()).down_revision
    with_head = tables(store_url)
    migrate.downgrade(store_url, "-1")
    assert migrate.current(store_url) == previous
    assert tables(store_url) <= with_head
    migrate.upgrade(store_url)
    assert tables(store_url) == with_head
    migrate.downgrade(store_url, "base")
    assert migrate.current(store_url) is None and tables(store_url) == set()


def test_no_model_change_is_missing_a_migration(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    migrate.upgrade(store_url)
    engine = make_engine(store_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_store_on_mariadb_is_refused_before_anything_is_written(mariadb_url):
    """The store is built for SQLite and PostgreSQL. On MariaDB its migrations stopped part way (the
    ledger's index on text is refused there, and MySQL DDL is not transactional), leaving a half-made
    schema and a driver error. It is refused up front with what to do, the password not shown."""
    import sqlalchemy as sa

    from audit.store import StoreError, open_store

    engine = sa.create_engine(mariadb_url)
    try:
        with engine.connect() as conn:
            before = set(sa.inspect(conn).get_table_names())
        with pytest.raises(StoreError, match="SQLite, the default, or PostgreSQL"):
            open_store(mariadb_url)  # a server it could write to
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) == before
        with_password = sa.make_url(mariadb_url).set(password="hunter2-secret")
        with pytest.raises(StoreError) as refused:
            open_store(with_password.render_as_string(hide_password=False))
        assert "hunter2-secret" not in str(refused.value)
    finally:
        engine.dispose()

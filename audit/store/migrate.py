"""Programmatic schema migrations: upgrade(url), downgrade(url, rev), current(url).

The Alembic scripts live in audit/store/migrations (inside the package, so an installed wheel
can migrate its own database); no alembic.ini is used.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from audit.store.db import make_engine

SCRIPTS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def _run(url: str, action, *args) -> None:
    engine = make_engine(url, immediate=True)
    try:
        with engine.connect() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            action(cfg, *args)
            conn.commit()
    finally:
        engine.dispose()


def upgrade(url: str, rev: str = "head") -> None:
    """Bring the store at `url` up to `rev` (default: the newest schema). Idempotent."""
    _run(url, command.upgrade, rev)


def downgrade(url: str, rev: str) -> None:
    """Take the store back to `rev` ("-1" = one step, "base" = empty)."""
    _run(url, command.downgrade, rev)


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(url: str) -> str | None:
    engine = make_engine(url, immediate=False)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()

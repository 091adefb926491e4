"""Alembic migrations for the store (env.py + versions/), shipped inside the package.

Run them with audit.store.migrate.upgrade(url) / downgrade(url, rev); no alembic.ini is needed.
"""

"""Connecting to the store: engines, sessions, the clock.

Owns how SQLite and PostgreSQL are driven so the same ORM code is safe on both:
- SQLite: WAL, foreign keys on, a 60 s busy timeout, and write transactions that start with
  BEGIN IMMEDIATE (so two writers queue instead of failing half way); reads use a plain BEGIN.
  A page cache of up to SQLITE_CACHE_MIB per connection (SQLite's default is 2 MiB): the row
  ledger's index outgrows a small cache and each insert rereads pages from disk. Measured with
  benchmarks/bench_sqlite_cache.py (1M / 2M random keys, a first run's insert): 10.9 / 26.2 s with
  the default, 6.9 / 17.7 s with this one; both still grow faster than the rows (random keys are
  the worst case for the index). The cache fills only as pages are read.
- PostgreSQL: one engine; isolation per schema is done with the URL
  (`?options=-csearch_path%3Dmy_schema`), so nothing here is PostgreSQL-specific.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

SQLITE_BUSY_SECONDS = 60
SQLITE_CACHE_MIB = 256


class StoreError(Exception):
    """A store problem a user can act on (message says what to fix)."""


#: the databases the store's schema and queries are built and tested for
STORE_BACKENDS = ("sqlite", "postgresql")


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """An engine for `url`; on SQLite `immediate` makes every transaction BEGIN IMMEDIATE.
    Raises StoreError for a database the store does not support, before anything is written to it
    (a MariaDB schema was left half made: its DDL is not transactional, and the ledger's index on
    text columns is refused there)."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in STORE_BACKENDS:
        raise StoreError(f"the store cannot use a {parsed.get_backend_name()} database "
                         f"({parsed.render_as_string(hide_password=True)}): set the store's url (config.toml, store "
                         "section) to SQLite, the default, or PostgreSQL; sources may still be read from MariaDB or MySQL")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    db = parsed.database
    if db and db != ":memory:" and not db.startswith("file:"):
        Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every sqlite test
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        _set_wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_MIB * 1024}")  # negative: KiB, not pages
        cur.close()
        # SQLite's lower() and LIKE fold ASCII letters only ("SIÂN" stays "sIÂn"): searches compare
        # casefold(column) with Python's casefold of what was typed (audit.web.queue)
        dbapi_conn.create_function("casefold", 1, _casefold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _casefold(value):
    return value.casefold() if isinstance(value, str) else value


def _set_wal(cur) -> None:
    """PRAGMA journal_mode=WAL, retried: two processes opening a new file at once can get "database
    is locked" at once from it (it does not wait on the busy timeout)."""
    import sqlite3
    import time

    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Store:
    """A handle on one store database. Use `open_store(url)` to get a migrated one."""

    def __init__(self, url: str, *, clock: Callable[[], datetime] | None = None):
        self.url = url
        self.engine = make_engine(url, immediate=True)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._reader = make_engine(url, immediate=False) if self.is_sqlite else self.engine
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self._reader, expire_on_commit=False) as session, session.begin():
            yield session

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise StoreError("the store clock must return timezone-aware datetimes")
        return now.astimezone(timezone.utc).replace(microsecond=now.microsecond)

    def today(self) -> date:
        return self.now().date()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._reader is not self.engine:
            self._reader.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Store({make_url(self.url).render_as_string(hide_password=True)})"


def open_store(url: str, *, migrate: bool = True, clock: Callable[[], datetime] | None = None) -> Store:
    """Open the store at `url`, bringing its schema up to date first (idempotent)."""
    if migrate:
        from audit.store.migrate import upgrade

        upgrade(url)
    return Store(url, clock=clock)

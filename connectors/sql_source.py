"""SQL connector: a table or a read-only query -> a RawTable (SQLAlchemy; any dialect it supports).

The URL may (and, for a password, must) take credentials from the environment: `${NAME}` is
replaced by the variable NAME when the source is loaded. A URL with a literal password is refused.
`table` ("name" or "schema.name") is reflected and selected with quoted identifiers; `query` must be
one SELECT / WITH statement, run with bound `query_params` inside a read-only transaction where the
dialect has one (PostgreSQL, MySQL/MariaDB, SQLite query_only). Row numbers are the 1-based ordinal
in the result. Errors name the source and the database's first error line, never the password.

(The ${NAME} expansion mirrors audit.settings.expand_env: connectors may only import
audit.registers, so it is repeated here in six lines rather than imported.)
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, SQLAlchemyError

from .config import SourceConfig
from .frame import FileInfo, SourceError
from .mapping import RawTable

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COMMENT = re.compile(r"(--[^\n]*\n?|/\*.*?\*/)", re.S)
_STARTS = re.compile(r"^\s*(select|with)\b", re.I)
_WRITES = re.compile(r"\b(insert|update|delete|merge|drop|alter|create|truncate|grant|revoke|into)\b", re.I)


def _expand(source: SourceConfig, value: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1) not in os.environ:
            raise SourceError(source.name, f"url refers to ${{{m.group(1)}}} but the environment "
                              f"variable {m.group(1)} is not set")
        return os.environ[m.group(1)]

    return _ENV_REF.sub(sub, value)


def check_url(source: SourceConfig) -> sa.URL:
    """The expanded URL; refuses a literal password and a malformed URL."""
    if not source.url:
        raise SourceError(source.name, "a sql source needs `url` (a SQLAlchemy URL)")
    if not _ENV_REF.fullmatch(source.url.strip()):
        try:
            raw = make_url(source.url)
        except ArgumentError:
            raw = None
        if raw is not None and raw.password and not _ENV_REF.fullmatch(str(raw.password)):
            raise SourceError(source.name, "url contains a literal password; put it in an environment "
                              "variable and write it as ${NAME} (e.g. postgresql://user:${DB_PASSWORD}@host/db)")
    try:
        return make_url(_expand(source, source.url))
    except ArgumentError as e:
        raise SourceError(source.name, f"url is not a SQLAlchemy URL ({e})") from None


def _statement(source: SourceConfig) -> tuple[sa.Executable | None, str]:
    if bool(source.table) == bool(source.query):
        raise SourceError(source.name, "a sql source needs exactly one of `table` or `query`")
    if source.table:
        return None, source.table
    body = _COMMENT.sub(" ", source.query).strip().rstrip(";").strip()
    if ";" in body:
        raise SourceError(source.name, "query must be a single statement (found ';' inside it)")
    if not _STARTS.match(body) or _WRITES.search(re.sub(r"'[^']*'", "''", body)):
        raise SourceError(source.name, "query must be a read-only SELECT (or WITH ... SELECT) statement")
    return sa.text(source.query.strip().rstrip(";")), "query"


def _first_line(err: Exception, url: sa.URL) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    line = text.splitlines()[0] if text else type(err).__name__
    if url.password:
        line = line.replace(str(url.password), "***")
    return line


def _infinity_as_far_dates(conn: sa.Connection) -> None:
    """PostgreSQL's 'infinity' / '-infinity' dates and timestamps, read as the furthest dates
    Python holds instead of failing the whole source ("date too large"). 'infinity' then takes
    the usual road of far-future dates: blank (open) and counted in an open-ended field such as a
    leaving date, quarantined with its reason anywhere else. Only for the psycopg (3) driver."""
    if conn.dialect.driver != "psycopg":
        return
    from psycopg.types.datetime import DateLoader, TimestampLoader, TimestamptzLoader

    def tolerant(base, far_future, far_past):
        class Loader(base):
            def load(self, data):
                if bytes(data) == b"infinity":
                    return far_future
                if bytes(data) == b"-infinity":
                    return far_past
                return super().load(data)
        return Loader

    adapters = conn.connection.dbapi_connection.adapters
    adapters.register_loader("date", tolerant(DateLoader, date.max, date.min))
    adapters.register_loader("timestamp", tolerant(TimestampLoader, datetime.max, datetime.min))
    adapters.register_loader("timestamptz", tolerant(TimestamptzLoader, datetime.max.replace(tzinfo=timezone.utc),
                                                     datetime.min.replace(tzinfo=timezone.utc)))


def _read_only(conn: sa.Connection) -> sa.Connection:
    name = conn.dialect.name
    if name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        _infinity_as_far_dates(conn)
    elif name in ("mysql", "mariadb"):
        conn.rollback()
        conn.exec_driver_sql("START TRANSACTION READ ONLY")
    elif name == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
    return conn


def _sqlite_file(source: SourceConfig, url: sa.URL, base_dir: Path | None) -> sa.URL:
    """Anchor a relative SQLite path at the config's folder and open it read-only.

    SQLite creates an empty database when asked for a file that does not exist, which would turn
    a wrong path into a silent "no such table"; a missing file is an error naming the path instead.
    """
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return url
    path = Path(url.database)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise SourceError(source.name, f"SQLite database file {path} not found; check `url` "
                          "(a relative path is relative to the config file's folder)")
    return url.set(database=f"file:{path.resolve()}?mode=ro", query={**url.query, "uri": "true"})


def read(source: SourceConfig, base_dir: Path | None = None) -> tuple[RawTable, FileInfo, str]:
    """Run the source's table/query. Returns the table, its FileInfo and the redacted location."""
    q = open_query(source, base_dir)
    (table,) = tables(q)
    return table, q.info, q.location


@dataclass
class SqlRead:
    """A source's table or query, ready to run; `tables` reads its rows. `info` (rows, and the
    digest of headers and rows) is complete once `tables` is exhausted."""

    source: SourceConfig
    url: sa.URL
    shown: str
    location: str
    label: str
    info: FileInfo


def open_query(source: SourceConfig, base_dir: Path | None = None) -> SqlRead:
    url = _sqlite_file(source, check_url(source), base_dir)
    shown = url.render_as_string(hide_password=True)
    label = _statement(source)[1] if source.query else source.table
    return SqlRead(source, url, shown, f"{shown} {('table ' + source.table) if source.table else 'query'}",
                   label, FileInfo(path=label, sha256="", rows=0))


#: rows fetched at a time by a whole read: its digest and Python rows are made a piece at a time,
#: never as one string or one list of driver rows for the table (a third off reading 2.6 million rows)
FETCH_ROWS = 50_000


def tables(q: SqlRead, rows_per_table: int | None = None) -> Iterator[RawTable]:
    """The rows as RawTables of at most `rows_per_table` rows (None: one table), fetched from the
    server that many at a time (a server-side cursor where the driver has one). The digest is the
    one a whole read makes: sha256 of repr((headers, rows)), fed piece by piece."""
    source, url, shown = q.source, q.url, q.shown
    stmt, _ = _statement(source)
    try:
        engine = sa.create_engine(url)
    except (NoSuchModuleError, ImportError, ArgumentError) as e:
        raise SourceError(source.name, f"cannot use url {shown}: {_first_line(e, url)}") from None
    digest = hashlib.sha256()
    connected, done = False, 0
    try:
        with engine.connect() as conn:
            connected = True
            _read_only(conn)
            if rows_per_table:
                conn = conn.execution_options(stream_results=True, yield_per=rows_per_table)
            if stmt is None:
                schema, _, name = source.table.rpartition(".")
                table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=conn)
                result = conn.execute(sa.select(table))
            else:
                result = conn.execute(stmt, dict(source.query_params))
            headers = [str(k) for k in result.keys()]
            digest.update(f"({headers!r}, [".encode("utf-8", errors="replace"))
            whole: list[list] = []  # a whole read's rows, gathered from its fetches
            for part in result.partitions(rows_per_table or FETCH_ROWS):
                rows = [list(r) for r in part]
                digest.update(((", " if done else "") + ", ".join(map(repr, rows))).encode("utf-8", errors="replace"))
                if rows_per_table:
                    yield RawTable(label=q.label, headers=headers, rows=rows,
                                   row_numbers=list(range(done + 1, done + len(rows) + 1)))
                else:
                    whole += rows
                done += len(rows)
            if not rows_per_table or not done:  # a whole read, or no rows: one table (maybe empty)
                yield RawTable(label=q.label, headers=headers, rows=whole, row_numbers=list(range(1, done + 1)))
            conn.rollback()
    except NoSuchTableError:
        raise SourceError(source.name, f"table {source.table!r} not found at {shown}; check `table` "
                          "(use schema.table for another schema)") from None
    except SQLAlchemyError as e:
        hint = ("check the query (or table) and its query_params" if connected else
                "check the server is running and reachable, and the user name, password "
                "(environment variable) and database name")
        raise SourceError(source.name, f"database error at {shown}: {_first_line(e, url)}; {hint}") from None
    finally:
        engine.dispose()
    digest.update(b"])")
    q.info.sha256, q.info.rows = digest.hexdigest(), done

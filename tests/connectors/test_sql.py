"""SQL connector on SQLite, PostgreSQL and MariaDB: typed values, read-only queries, clear errors."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from connectors import SourceConfig, SourceError, pull

COLUMNS = {"trans_no": "transaction_id", "paid": "transaction_date", "amount": "net_amount",
           "supplier": "supplier_name", "kind": "transaction_type"}
ROWS = [
    {"trans_no": "000417", "paid": date(2024, 1, 31), "amount": Decimal("1234.50"), "supplier": "Acme", "kind": "invoice"},
    {"trans_no": "418", "paid": date(2024, 2, 1), "amount": Decimal("-12.50"), "supplier": "=cmd", "kind": "Credit"},
    {"trans_no": "419", "paid": None, "amount": Decimal("5.00"), "supplier": "Acme", "kind": "invoice"},
]


def make_table(url: str) -> str:
    name = f"ia_test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("trans_no", sa.String(20)), sa.Column("paid", sa.Date),
                     sa.Column("amount", sa.Numeric(12, 2)), sa.Column("supplier", sa.String(50)),
                     sa.Column("kind", sa.String(20)))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [dict(r, id=i) for i, r in enumerate(ROWS, start=1)])
    engine.dispose()
    return name


def drop_table(url: str, name: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        sa.Table(name, sa.MetaData(), autoload_with=conn).drop(conn)
    engine.dispose()


def source(url: str, **kw) -> SourceConfig:
    return SourceConfig(name="finance", register="procurement", kind="sql", url=url, columns=COLUMNS, **kw)


def check_loaded(url: str, name: str, tmp_path) -> None:
    f = pull(source(url, table=name), tmp_path)
    assert f.reconciles()
    assert (f.rows_read, f.rows_accepted, f.rows_quarantined) == (3, 2, 1)
    assert f.df["transaction_id"].tolist() == ["000417", "418"]
    assert f.df["net_amount"].tolist() == [123450, -1250]
    assert f.df["transaction_type"].tolist() == ["invoice", "credit"]
    assert f.df["supplier_name"].tolist() == ["Acme", "=cmd"]
    assert f.df["_row"].tolist() == [1, 2] and f.df["_file"].tolist() == [name, name]
    assert f.quarantine[["row", "column", "reason"]].values.tolist() == [[3, "paid", "required field is blank"]]
    q = pull(source(url, query=f"SELECT * FROM {name} WHERE amount > :minimum ORDER BY id",
                    query_params={"minimum": 0}), tmp_path)
    assert q.df["transaction_id"].tolist() == ["000417"] and q.rows_read == 2
    assert q.df["_file"].tolist() == ["query"]


def test_sqlite_table_and_query(tmp_path):
    url = f"sqlite:///{tmp_path / 'finance.db'}"
    name = make_table(url)
    check_loaded(url, name, tmp_path)


def test_query_must_be_one_select_and_leaves_data_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'finance.db'}"
    name = make_table(url)
    cte = pull(source(url, query=f"-- comment\nWITH x AS (SELECT * FROM {name}) SELECT * FROM x;"), tmp_path)
    assert cte.rows_read == 3
    with pytest.raises(SourceError, match="read-only SELECT"):
        pull(source(url, query=f"DELETE FROM {name}"), tmp_path)
    with pytest.raises(SourceError, match="single statement"):
        pull(source(url, query=f"SELECT * FROM {name}; DROP TABLE {name}"), tmp_path)
    with sa.create_engine(url).connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar() == 3


def test_query_error_names_first_line_and_what_to_check(tmp_path):
    url = f"sqlite:///{tmp_path / 'finance.db'}"
    make_table(url)
    with pytest.raises(SourceError, match=r"database error .*no such table: nowhere; check the query"):
        pull(source(url, query="SELECT * FROM nowhere"), tmp_path)
    with pytest.raises(SourceError, match="table 'nowhere' not found"):
        pull(source(url, table="nowhere"), tmp_path)


def test_literal_password_refused_env_password_expanded_never_shown(tmp_path, monkeypatch):
    with pytest.raises(SourceError, match="literal password"):
        pull(source("postgresql+psycopg://u:hunter2@127.0.0.1:1/db", table="t"), tmp_path)
    with pytest.raises(SourceError, match=r"\$\{NO_SUCH_VAR\} but the environment variable NO_SUCH_VAR is not set"):
        pull(source("postgresql+psycopg://u:${NO_SUCH_VAR}@127.0.0.1:1/db", table="t"), tmp_path)
    monkeypatch.setenv("IA_TEST_PW", "s3cret-pw")
    with pytest.raises(SourceError) as e:  # port 1: nothing listens, connection refused at once
        pull(source("postgresql+psycopg://u:${IA_TEST_PW}@127.0.0.1:1/db", table="t"), tmp_path)
    msg = str(e.value)
    assert "s3cret-pw" not in msg and "***" in msg
    assert "check the server is running and reachable" in msg


def test_whole_url_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "finance.db"
    name = make_table(f"sqlite:///{path}")
    monkeypatch.setenv("FINANCE_DB_URL", f"sqlite:///{path}")
    assert pull(source("${FINANCE_DB_URL}", table=name), tmp_path).rows_read == 3


def test_unreachable_mariadb(tmp_path):
    with pytest.raises(SourceError, match="database error at mysql\\+pymysql://root@127.0.0.1:1/test"):
        pull(source("mysql+pymysql://root@127.0.0.1:1/test", table="t"), tmp_path)


@pytest.mark.db
def test_postgresql_table_query_and_read_only(pg_url, tmp_path):
    name = make_table(pg_url)
    try:
        check_loaded(pg_url, name, tmp_path)
        with pytest.raises(SourceError, match="read-only transaction"):
            # passes the keyword check (a function call), refused by the read-only transaction
            pull(source(pg_url, query=f"SELECT * FROM {name} WHERE setval('{name}_id_seq', 99) > 0"),
                 tmp_path)
    finally:
        drop_table(pg_url, name)


@pytest.mark.db
def test_mariadb_table_and_query(mariadb_url, tmp_path):
    name = make_table(mariadb_url)
    try:
        check_loaded(mariadb_url, name, tmp_path)
    finally:
        drop_table(mariadb_url, name)


def test_a_whole_read_fetched_in_pieces_is_one_table_with_the_digest_of_the_whole(tmp_path, monkeypatch):
    """sql_source reads FETCH_ROWS rows at a time; the table, its row numbers and its digest must be
    those of one fetch: sha256(repr((headers, rows))), what FileInfo has always recorded."""
    import hashlib

    from connectors import sql_source

    url = f"sqlite:///{tmp_path / 'finance.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER, name TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES (:i, :n)"), [{"i": i, "n": f"n{i}"} for i in range(10)])
    engine.dispose()
    rows = [[i, f"n{i}"] for i in range(10)]
    expected = hashlib.sha256(repr((["id", "name"], rows)).encode()).hexdigest()
    for fetch in (3, 5, 10, 50):  # pieces that do and do not divide the rows, one piece, more than all
        monkeypatch.setattr(sql_source, "FETCH_ROWS", fetch)
        q = sql_source.open_query(SourceConfig(name="s", register="procurement", kind="sql", url=url,
                                               query="SELECT id, name FROM t ORDER BY id"), tmp_path)
        (table,) = sql_source.tables(q)
        assert table.rows == rows and table.row_numbers == list(range(1, 11)), fetch
        assert (q.info.sha256, q.info.rows) == (expected, 10), fetch

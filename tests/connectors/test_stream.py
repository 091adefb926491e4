"""connectors.stream reads a large source in tables of a few rows and keeps only what `keep` selects:
the kept rows, quarantine, counts and refusals are those of `pull` on the whole file."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

import connectors
from connectors.config import SourceConfig
from connectors.frame import SourceError

COLUMNS = {"Ref": "access_id", "User": "person_id", "Date": "accessed_date", "App": "system",
           "Action": "action", "Record": "record_id"}


def _source(**kw) -> SourceConfig:
    return SourceConfig(**{"name": "log", "register": "system_access", "kind": "csv", "path": "log*.csv",
                           "columns": COLUMNS, "date_formats": ["%d/%m/%Y"], **kw})


def _write(folder, seed: int, files: int = 2) -> None:
    rnd = random.Random(seed)
    refs = [f"E{i}" for i in range(12)]
    for k in range(files):
        lines = [",".join(COLUMNS)]
        for i in range(rnd.randint(20, 60)):
            ref = rnd.choice(refs) if rnd.random() < 0.3 else f"F{k}-{i}"  # repeats across tables and files
            date = rnd.choice(["03/10/2026", "31/10/2026", "32/10/2026", ""])  # bad and blank dates quarantined
            action = rnd.choice(["view", "view", "search", "print", "peek"])
            lines.append(f"{ref},U{rnd.randint(1, 6)},{date},crime,{action},R{rnd.randint(1, 30)}")
        (folder / f"log{k}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _lines(q: pd.DataFrame) -> pd.DataFrame:
    return q.sort_values(["file", "row", "column", "reason"]).reset_index(drop=True)


def _keep(df: pd.DataFrame) -> np.ndarray:
    return (df["person_id"].isin(["U1", "U2"]) | df["record_id"].str.endswith("7")).to_numpy()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("duplicates", ["warn", "quarantine"])
def test_stream_keeps_what_pull_would_keep(tmp_path, seed, duplicates):
    _write(tmp_path, seed)
    src = _source(duplicate_keys=duplicates)
    whole = connectors.pull(src, tmp_path)
    seen = []
    got = connectors.stream(src, tmp_path, _keep, rows_per_table=7, progress=lambda r, k: seen.append((r, k)))
    want = whole.df[_keep(whole.df)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.df, want)
    pd.testing.assert_frame_equal(_lines(got.quarantine), _lines(whole.quarantine))  # (listed table by table)
    assert (got.rows_read, got.rows_accepted, got.rows_quarantined) == \
        (whole.rows_read, whole.rows_accepted, whole.rows_quarantined)
    assert got.rows_pruned == whole.rows_accepted - len(want) > 0 and got.reconciles()
    assert [i.sha256 for i in got.provenance.files] == [i.sha256 for i in whole.provenance.files]
    assert len(seen) > 4 and seen[-1] == (whole.rows_read, len(want))
    if duplicates == "quarantine":  # repeats found across tables and files, each naming the first row
        assert whole.quarantine["reason"].str.contains("repeats").any()


def test_a_key_repeated_in_a_later_table_refuses_the_source_as_pull_does(tmp_path):
    lines = [",".join(COLUMNS)] + [f"A{i},U1,03/10/2026,crime,view,R1" for i in range(10)] + ["A2,U1,03/10/2026,crime,view,R1"]
    (tmp_path / "log0.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    src = _source(duplicate_keys="refuse")
    with pytest.raises(SourceError) as whole:
        connectors.pull(src, tmp_path)
    with pytest.raises(SourceError) as streamed:
        connectors.stream(src, tmp_path, _keep, rows_per_table=3)
    assert str(streamed.value) == str(whole.value) and "row 4" in str(whole.value)


def test_an_empty_or_cut_off_stream_fails_as_pull_does(tmp_path):
    (tmp_path / "log0.csv").write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match="read 0 rows"):
        connectors.stream(_source(), tmp_path, _keep, rows_per_table=3)
    (tmp_path / "log0.csv").write_text(",".join(COLUMNS) + "\n" + "A1,U1,03/10/2026,crime,view,R1\n" * 0
                                       + "".join(f"A{i},U1,03/10/2026,crime,view,R1\n" for i in range(5)) + "A9,U1",
                                       encoding="utf-8")
    with pytest.raises(SourceError, match="cut off"):
        connectors.stream(_source(), tmp_path, _keep, rows_per_table=2)


def _sql_log(url: str, rows: list[dict]) -> str:
    import uuid

    import sqlalchemy as sa

    name = f"ia_log_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table(name, meta, sa.Column("id", sa.Integer, primary_key=True),
                     *[sa.Column(c, sa.String(40)) for c in COLUMNS])
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [dict(r, id=i) for i, r in enumerate(rows, start=1)])
    engine.dispose()
    return name


def _sql_rows(seed: int) -> list[dict]:
    rnd = random.Random(seed)
    return [{"Ref": rnd.choice(["E1", "E2", f"F{i}"]), "User": f"U{rnd.randint(1, 6)}",
             "Date": rnd.choice(["03/10/2026", "32/10/2026"]), "App": "crime",
             "Action": rnd.choice(["view", "peek"]), "Record": f"R{rnd.randint(1, 30)}"} for i in range(53)]


@pytest.mark.parametrize("db", ["sqlite", "postgresql", "mariadb"])
def test_an_sql_source_is_fetched_a_table_at_a_time_with_pulls_result(tmp_path, request, db):
    url = {"sqlite": lambda: f"sqlite:///{tmp_path / 'log.db'}", "postgresql": lambda: request.getfixturevalue("pg_url"),
           "mariadb": lambda: request.getfixturevalue("mariadb_url")}[db]()
    name = _sql_log(url, _sql_rows(7))
    src = SourceConfig(name="log", register="system_access", kind="sql", url=url,
                       query=f"SELECT * FROM {name} ORDER BY id", columns=COLUMNS, date_formats=["%d/%m/%Y"],
                       duplicate_keys="quarantine")
    whole = connectors.pull(src, tmp_path)
    seen = []
    got = connectors.stream(src, tmp_path, _keep, rows_per_table=5, progress=lambda r, k: seen.append(r))
    pd.testing.assert_frame_equal(got.df, whole.df[_keep(whole.df)].reset_index(drop=True))
    pd.testing.assert_frame_equal(_lines(got.quarantine), _lines(whole.quarantine))
    assert whole.quarantine["reason"].str.contains("repeats").any()
    assert (got.rows_read, got.rows_accepted) == (whole.rows_read, whole.rows_accepted) == (53, whole.rows_accepted)
    assert got.provenance.files[0].sha256 == whole.provenance.files[0].sha256  # the digest fed piece by piece
    assert got.provenance.location == whole.provenance.location and seen == list(range(5, 53, 5)) + [53]


def test_a_second_read_of_a_few_rows_skips_the_others_unparsed_with_the_same_fact_ids(tmp_path):
    _write(tmp_path, 3)
    whole = connectors.pull(_source(), tmp_path)
    record = whole.df["record_id"].value_counts().index[0]
    got = connectors.stream(_source(), tmp_path, lambda df: np.ones(len(df), dtype=bool), rows_per_table=4,
                            wanted=lambda cells: record in cells)
    want = whole.df[whole.df["record_id"] == record].reset_index(drop=True)
    assert len(want) > 2
    pd.testing.assert_frame_equal(got.df, want)  # same rows, row numbers and fact ids

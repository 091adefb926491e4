"""load_sources: failures are isolated, disabled sources skipped, registers always present."""
from __future__ import annotations

import pandas as pd

from audit import registers
from connectors import SourceConfig, load_sources

from connector_helpers import HEADER, procurement_source


def test_one_failing_source_never_stops_the_others(tmp_path, write):
    write(HEADER + "1,1,10/10/2017,5,A,INV,\n2,1,bad,5,A,INV,\n", "a.csv")
    write(HEADER + "3,1,10/10/2017,7,A,INV,\n", "b.csv")
    sources = [procurement_source("a.csv", name="a"), procurement_source("missing.csv", name="broken"),
               procurement_source("b.csv", name="b"),
               procurement_source("b.csv", name="off", enabled=False)]
    seen = []
    result = load_sources(sources, tmp_path, progress=lambda n, d, t: seen.append((n, d, t)))
    assert [f.source for f in result.frames] == ["a", "b"]
    assert [(e.source, e.register) for e in result.failures] == [("broken", "procurement")]
    assert "file not found" in result.failures[0].message
    assert result.skipped == ["off"] and not result.complete
    assert seen == [("a", 1, 3), ("broken", 2, 3), ("b", 3, 3)]
    by = result.by_register()
    assert set(by) == set(registers.names())
    assert by["procurement"]["transaction_id"].tolist() == ["1", "3"]
    assert by["procurement"]["_source"].tolist() == ["a", "b"]
    assert len(result.quarantine) == 1 and result.quarantine["source"].tolist() == ["a"]
    assert result.top_reasons("a")[0][1] == 1


def test_empty_registers_have_canonical_columns_and_dtypes(tmp_path):
    by = load_sources([], tmp_path).by_register()
    gifts = by["gifts_hospitality"]
    assert gifts.empty
    assert str(gifts["offered_date"].dtype) == "datetime64[ns]"
    assert str(gifts["estimated_value"].dtype) == "Int64"
    assert gifts["record_id"].dtype == object
    assert list(gifts.columns[-4:]) == list(registers.META_COLUMNS)
    assert "person_key" not in gifts.columns  # derived later by entity resolution


def test_frames_of_one_register_concatenate_with_stable_dtypes(tmp_path, write):
    write(HEADER + "1,1,10/10/2017,5,A,INV,\n", "a.csv")
    write(HEADER, "empty.csv")
    result = load_sources([procurement_source("a.csv", name="a"),
                           procurement_source("empty.csv", name="e")], tmp_path)
    df = result.by_register()["procurement"]
    assert len(df) == 1 and str(df["net_amount"].dtype) == "Int64"
    assert isinstance(df, pd.DataFrame) and str(df["_row"].dtype) == "Int64"


def test_unknown_register_is_a_source_failure(tmp_path, write):
    write(HEADER, "a.csv")
    result = load_sources([SourceConfig(name="x", register="nope", kind="csv", path="a.csv")], tmp_path)
    assert "unknown register 'nope'" in result.failures[0].message

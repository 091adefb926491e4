"""The layouts corpus (tests/connectors/layouts): `sources suggest`, unedited, on register files in
layouts the generator never writes, scored by benchmarks/bench_suggest.py against each file's
expected mapping. Done when (#15): >= 95% of fields right, every file loads, no row wrongly
quarantined. Takes a couple of seconds."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from audit import registers

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_suggest", ROOT / "benchmarks" / "bench_suggest.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_suggest"] = bench  # its dataclasses look their module up
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def scored():
    return bench.score_corpus()


def test_the_corpus_covers_the_registers_and_its_expectations_are_sound():
    cases = bench.expectations()
    assert len(cases) >= 12
    assert {e["register"] for _, e in cases} >= {"workforce", "gifts_hospitality", "business_interests",
                                                 "notifiable_associations", "expenses", "procurement", "vetting"}
    for path, exp in cases:
        assert path.exists(), path
        reg = registers.get(exp["register"])
        assert set(exp["fields"]) <= {f.name for f in reg.source_fields}, path
        assert exp["quarantined"] == 0 and exp["rows"] > 0
    kinds = {p.suffix for p, _ in cases}
    assert {".csv", ".xlsx"} <= kinds


def test_suggest_unedited_maps_the_fields_loads_every_file_and_quarantines_nothing(scored):
    total, files = scored
    failing = {f.file: f.wrong + f.missing + f.reasons + ([f.error] if f.error else []) for f in files
               if f.wrong or f.missing or f.reasons or not f.loads}
    assert total["fields_right_pct"] >= 95, failing
    assert total["files_loading"] == total["files"], failing
    assert total["rows_loaded"] == total["rows_expected"], failing
    assert total["wrong_quarantines"] == 0, failing

"""The shipped column maps on the three real published spend files: exact pinned counts and totals.

Totals are also recomputed independently here (csv module + Decimal), so a parsing slip fails.
All three files are already cleaned by their publishers: every row is accepted. Oxford's 69 lines
with a blank supplier name (redacted individuals) are accepted with supplier_name missing because
supplier_name is optional in the procurement register: the payment is real spend (63 of the 69 still carry a
Supplier ID) and quarantining it would hide spend from the audit.
"""
from __future__ import annotations

import csv
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from connectors import SourceConfig, SourceError, pull

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "connectors" / "examples"
from realdata_path import REALDATA  # noqa: E402

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"real data folder {REALDATA} not present")


def example(name: str) -> SourceConfig:
    with (EXAMPLES / f"{name}.toml").open("rb") as fh:
        return SourceConfig(**tomllib.load(fh)["sources"][0])


def independent_total(cfg: SourceConfig, column: str) -> int:
    path = ROOT / cfg.path
    with path.open(encoding=cfg.encoding, newline="") as fh:
        return sum(int(Decimal(r[column]) * 100) for r in csv.DictReader(fh))


# (example, rows read, accepted, quarantined, net pence, amount column)
PINNED = [
    ("oxford", 3855, 3855, 0, 1_738_205_590, "Amount"),
    ("calderdale", 1956, 1956, 0, 1_590_150_875, "Net Amount"),
    ("cabinet_office", 633, 633, 0, 13_881_877_673, "Amount"),
]


@pytest.mark.parametrize("name, read, accepted, quarantined, pence, column", PINNED)
def test_pinned_counts_and_total(name, read, accepted, quarantined, pence, column):
    cfg = example(name)
    f = pull(cfg, ROOT)
    assert (f.rows_read, f.rows_accepted, f.rows_quarantined) == (read, accepted, quarantined)
    assert f.reconciles()
    assert int(f.df["net_amount"].sum()) == pence == independent_total(cfg, column)
    assert f.df["fact_id"].is_unique
    assert f.df["transaction_type"].eq("payment").all()
    assert len(f.provenance.files) == 1 and len(f.provenance.files[0].sha256) == 64


def test_oxford_trans_no_split_credits_small_lines_and_redacted_suppliers():
    f = pull(example("oxford"), ROOT)
    df = f.df
    first = df.iloc[0]
    assert (first["transaction_id"], first["line_no"], first["net_amount"]) == ("1040187", "2", 83429)
    assert df["supplier_name"].isna().sum() == 69  # redacted individuals: accepted, supplier missing
    # 63 of them still carry a Supplier ID; 6 have neither (e.g. a 0.01 "Difference A/c" line)
    assert df.loc[df["supplier_name"].isna(), "supplier_id"].isna().sum() == 6
    assert (df["net_amount"] < 0).sum() == 5
    assert df["net_amount"].between(0, 49_999).sum() == 741  # one invoice split into small lines
    assert f.provenance.ignored_columns[0].endswith(": Client")


def test_calderdale_identifiers_stay_text():
    df = pull(example("calderdale"), ROOT).df
    numbers = df["company_number"].dropna()
    assert len(numbers) == 326
    with (ROOT / example("calderdale").path).open(encoding="utf-8-sig", newline="") as fh:
        raw = [r["Supplier Registered Company Number"].strip() for r in csv.DictReader(fh)]
    assert sorted(numbers) == sorted(v for v in raw if v)  # leading zeros kept exactly
    assert df["vat_number"].notna().sum() == sum(
        1 for r in csv.DictReader((ROOT / example("calderdale").path).open(encoding="utf-8-sig"))
        if r["VAT Registration Number"].strip())


def test_cabinet_office_needs_cp1252():
    cfg = example("cabinet_office")
    with pytest.raises(SourceError, match='set encoding = "cp1252"'):
        pull(cfg.model_copy(update={"encoding": "utf-8-sig"}), ROOT)
    df = pull(cfg, ROOT).df
    assert df["transaction_id"].duplicated(keep=False).sum() > 0  # split lines share a number
    assert df.groupby("transaction_id").size().gt(1).sum() == 72


def test_west_mercia_example_is_a_valid_source_config():
    cfg = example("west_mercia")
    assert cfg.values["transaction_type"] == {"INV": "invoice", "CRN": "credit"}
    with pytest.raises(SourceError, match="no file matches"):
        pull(cfg, ROOT)

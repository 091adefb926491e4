"""Helpers shared by the connector tests (imported as a plain module: tests has no packages)."""
from __future__ import annotations

from connectors import SourceConfig

#: A procurement-style layout used by most tests (required: Trans, Amount, Date).
HEADER = "Trans,Line,Date,Amount,Supplier,Type,Bank\n"
COLUMNS = {"Trans": "transaction_id", "Line": "line_no", "Date": "transaction_date",
           "Amount": "net_amount", "Supplier": "supplier_name", "Type": "transaction_type",
           "Bank": "supplier_bank_hash"}


def procurement_source(path: str, **overrides) -> SourceConfig:
    spec = dict(name="spend", register="procurement", kind="csv", path=path, columns=dict(COLUMNS),
                values={"transaction_type": {"INV": "invoice", "CRN": "credit"}})
    spec.update(overrides)
    return SourceConfig(**spec)


def reasons(frame) -> list[tuple[int, str, str]]:
    """(row, column, reason) of every quarantine line, sorted."""
    q = frame.quarantine
    return sorted(zip(q["row"].astype(int), q["column"], q["reason"]))

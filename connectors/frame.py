"""What a connector hands back: the canonical frame, its quarantine and its provenance.

Canonical column dtypes (one convention everywhere downstream):
  string / enum / hash -> object holding str or None   (ids stay strings)
  date                 -> datetime64[ns] (NaT when blank)
  money                -> Int64, integer pence (pd.NA when blank)
  int                  -> Int64
  number               -> Float64
  bool                 -> boolean
plus META_COLUMNS (fact_id, _source, _file, _row) on every row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

QUARANTINE_COLUMNS = ("source", "file", "row", "column", "value", "reason")


class SourceError(Exception):
    """A source that cannot be read at all. The message names the source and what to fix."""

    def __init__(self, source: str, message: str):
        super().__init__(f"source {source!r}: {message}")
        self.source = source
        self.detail = message


@dataclass
class FileInfo:
    path: str
    sha256: str
    rows: int
    #: open-ended date field -> cells of accepted rows read as "no end date" (31/12/9999 ...)
    open_ended: dict[str, int] = field(default_factory=dict)


def open_ended_note(field_name: str, cells: int) -> str:
    """The load note for sentinels read as blank, so that no end date is dropped silently."""
    return f"{cells:,} cell(s) in {field_name} read as open-ended (9999-12-31 and similar)"


@dataclass
class Provenance:
    source: str
    register: str
    kind: str  # csv | xlsx | sql
    location: str  # path / glob / redacted URL + table or query
    files: list[FileInfo] = field(default_factory=list)
    loaded_at: datetime | None = None
    #: source columns no field is mapped from (per file: "file: header")
    ignored_columns: list[str] = field(default_factory=list)
    #: things a reviewer should know that did not stop the load (dev hash key, blank lines, ...)
    warnings: list[str] = field(default_factory=list)


@dataclass
class RegisterFrame:
    """One source's rows mapped onto one register.

    Invariant: rows_read == len(df) + rows_pruned + number of distinct quarantined rows.
    `quarantine` has one line per problem (a row with two bad cells has two lines).
    """

    register: str
    source: str
    df: pd.DataFrame
    quarantine: pd.DataFrame
    provenance: Provenance
    rows_read: int
    #: accepted rows left out of `df` because no enabled rule can use them (a streamed source, see
    #: connectors.stream and rules.prune); they count as accepted: they were read and are valid
    rows_pruned: int = 0

    @property
    def rows_accepted(self) -> int:
        return len(self.df) + self.rows_pruned

    @property
    def rows_quarantined(self) -> int:
        if self.quarantine.empty:
            return 0
        return int(self.quarantine[["file", "row"]].drop_duplicates().shape[0])

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined

    @property
    def open_ended(self) -> dict[str, int]:
        """Open-ended date field -> cells of accepted rows read as "no end date", over all files."""
        total: dict[str, int] = {}
        for info in self.provenance.files:
            for name, n in info.open_ended.items():
                total[name] = total.get(name, 0) + n
        return total


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in QUARANTINE_COLUMNS})

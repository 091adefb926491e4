"""How one source is described in config.toml ([[sources]] tables)."""
from __future__ import annotations

import warnings
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_REDACTED = ["REDACTED PERSONAL DATA", "REDACTED COMMERCIAL CONFIDENTIALITY", "REDACTED"]


# `register` is the natural name of the field; pydantic warns that it shadows a BaseModel
# attribute, which is harmless here (the field is what every caller means).
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class SourceConfig(BaseModel):
    """One source feeding one register. Paths are relative to the config file's folder."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique source name; appears in fact ids, quarantine and reports")
    register: str = Field(description="Canonical register this source feeds")
    kind: Literal["csv", "xlsx", "sql"]
    enabled: bool = True
    # files (csv / xlsx)
    path: str | None = Field(None, description="File path or glob (csv, xlsx)")
    sheet: str | int | None = Field(None, description="xlsx sheet name or 0-based index")
    encoding: str = Field("utf-8-sig", description="utf-8-sig (UTF-8 with or without BOM), cp1252, ...")
    delimiter: str = ","
    skip_rows: int = Field(0, ge=0, description="Preamble lines before the header row")
    # sql
    url: str | None = Field(None, description="SQLAlchemy URL; credentials only via ${ENV_VAR}")
    table: str | None = None
    query: str | None = Field(None, description="Read-only SELECT; use :name placeholders")
    query_params: dict[str, Any] = Field(default_factory=dict)
    # mapping
    columns: dict[str, str] = Field(default_factory=dict, description="source header -> field")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="field -> {source value -> canonical value}")
    extract: dict[str, str] = Field(
        default_factory=dict,
        description="source header -> regex with named groups, each group a field (e.g. 'Trans No')")
    defaults: dict[str, str] = Field(
        default_factory=dict, description="field -> constant used where the source has no column")
    # row identity, for files with no id column (docs/connectors.md, "Row identity")
    row_id: str | None = Field(
        None, description="Field (e.g. record_id, line_id) filled with each row's number in its file, "
                          "counted from the top of the file as `_row` is: appending rows keeps every id; "
                          "inserting, deleting or sorting rows above a row changes it. Under a glob the "
                          "file's path is put in front ('returns/q3.csv#12')")
    composite: dict[str, list[str]] = Field(
        default_factory=dict,
        description="field -> source headers whose cells, joined by ' | ', make the field (e.g. "
                    "record_id = ['Collar No', 'Date Granted']); a row with any part blank leaves it blank")
    duplicate_keys: Literal["warn", "quarantine", "refuse"] = Field(
        "warn", description="What a row repeating the register's natural key (every part filled) of an "
                            "earlier row of the source does: `warn` loads it with a load note (as before "
                            "this check existed), `quarantine` quarantines it with the reason (the first "
                            "row is kept), `refuse` fails the whole source. `sources suggest` proposes "
                            "quarantine")
    date_formats: list[str] = Field(
        default_factory=lambda: ["%d/%m/%Y", "%Y-%m-%d"],
        description="strptime formats tried in order; Excel serial numbers are always accepted")
    redacted: list[str] = Field(default_factory=lambda: list(DEFAULT_REDACTED))
    open_end_dates: list[str] = Field(
        default_factory=list,
        description="Extra dates that mean 'no end date' in open-ended date fields (end, expiry, "
                    "review-due), written in the source's date_formats, e.g. ['01/01/2100']; dates "
                    "from 2262-01-01 on (31/12/9999 ...) are open-ended without listing")
    required: bool = Field(True, description="If this source fails, the audit is incomplete")
    allow_empty: bool = Field(
        False, description="Accept a read of 0 data rows (a header-only file, an empty query result). "
                           "Off by default: an empty extract fails the source, because every rule over "
                           "the register would see nothing (an `absent` rule would accuse everyone)")
    allow_shrink: bool = Field(
        False, description="Accept a read that is much smaller than the last audit's (more than "
                           "[audit] deletion_guard_percent fewer rows, or of the entries earlier audits "
                           "saw). Off by default: such a source fails as a truncated or wrong extract "
                           "(audit.health) and no deletion is inferred from it")

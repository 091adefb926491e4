"""CCU exports of one run: CSV (alerts, evidence, links), one XLSX workbook (same three sheets,
typed columns) and one JSON document, plus manifest.json (files, row counts, SHA-256 each; when
publishing, the audit trail's head: `audit verify --anchor manifest.json` checks the trail against it).

Every string cell bound for a spreadsheet passes through cells.neutralise (no formula injection);
XLSX strings are written with write_string, never as formulas. Output is deterministic: the same
run gives the same bytes (fixed workbook date = the run's time, sorted JSON keys).
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import xlsxwriter

from audit.store.views import RunView

from reports import tables
from reports.atomic import write_atomic
from reports.cells import neutralise, pounds
from reports.pseudonym import Pseudonymiser, pseudonymise

FORMATS = ("csv", "xlsx", "json")
XLSX_MAX_CELL = 32767
MANIFEST = "manifest.json"


@dataclass
class ExportFiles:
    """What one export wrote: files per format, the manifest, and its parsed content."""

    folder: Path
    by_format: dict[str, list[Path]] = field(default_factory=dict)
    manifest_path: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def paths(self) -> list[Path]:
        return [p for ps in self.by_format.values() for p in ps]


def parse_formats(values: Iterable[str]) -> list[str]:
    """["csv", "all", ...] -> the formats in canonical order; unknown names are an error."""
    chosen: set[str] = set()
    for v in values:
        for name in str(v).lower().split(","):
            name = name.strip()
            if name == "all":
                chosen.update(FORMATS)
            elif name in FORMATS:
                chosen.add(name)
            elif name:
                raise ValueError(f"unknown export format {name!r} (use csv, xlsx, json or all)")
    if not chosen:
        raise ValueError("no export format given (use csv, xlsx, json or all)")
    return [f for f in FORMATS if f in chosen]


def _generated_at(run: RunView) -> datetime:
    return run.finished_at or run.started_at


# -- CSV ---------------------------------------------------------------------------------------

def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money" and isinstance(value, int) and not isinstance(value, bool):
        return str(pounds(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and kind in ("int", "float", "money"):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return neutralise(str(value))


def _csv_bytes(table: tables.Table) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.name for c in table.columns])
    for row in table.rows:
        w.writerow([_csv_cell(v, c.kind) for v, c in zip(row, table.columns)])
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel then reads UTF-8 correctly


# -- XLSX --------------------------------------------------------------------------------------

def _xlsx_bytes(tabs: list[tables.Table], created: datetime) -> tuple[bytes, int]:
    """The workbook bytes and how many cells were cut to Excel's 32,767-character limit."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_numbers": False, "strings_to_urls": False,
                                   "remove_timezone": True})
    wb.set_properties({"title": "Integrity audit export", "created": created.replace(tzinfo=None)})
    fmt = {"date": wb.add_format({"num_format": "yyyy-mm-dd"}),
           "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
           "money": wb.add_format({"num_format": "£#,##0.00;-£#,##0.00"}),
           "head": wb.add_format({"bold": True, "bg_color": "#DDE3EA", "border": 1})}
    truncated = 0
    for t in tabs:
        ws = wb.add_worksheet(t.name)
        for c, col in enumerate(t.columns):
            ws.write_string(0, c, col.name, fmt["head"])
            ws.set_column(c, c, max(10, min(40, len(col.name) + 2)))
        for r, row in enumerate(t.rows, start=1):
            for c, (v, col) in enumerate(zip(row, t.columns)):
                if v is None:
                    continue
                if isinstance(v, bool):
                    ws.write_boolean(r, c, v)
                elif isinstance(v, datetime):
                    ws.write_datetime(r, c, v.astimezone(timezone.utc).replace(tzinfo=None)
                                      if v.tzinfo else v, fmt["datetime"])
                elif isinstance(v, date):
                    ws.write_datetime(r, c, datetime(v.year, v.month, v.day), fmt["date"])
                elif col.kind == "money" and isinstance(v, int):
                    ws.write_number(r, c, float(pounds(v)), fmt["money"])
                elif isinstance(v, (int, float)) and col.kind in ("int", "float", "money"):
                    ws.write_number(r, c, v)
                else:
                    text = neutralise(str(v))
                    if len(text) > XLSX_MAX_CELL:
                        truncated += 1
                        text = text[: XLSX_MAX_CELL - 20] + " …[cut: see CSV]"
                    ws.write_string(r, c, text)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(t.rows), 1), len(t.columns) - 1)
    wb.close()
    return buf.getvalue(), truncated


# -- JSON --------------------------------------------------------------------------------------

def _json_default(o: Any) -> Any:
    if isinstance(o, (date, datetime)):
        return o.isoformat()
    if isinstance(o, (set, tuple)):
        return sorted(o) if isinstance(o, set) else list(o)
    return str(o)


def _json_bytes(run: RunView, pseudonymised: bool) -> bytes:
    doc = {"format": "integrity-audit export", "version": 1, "pseudonymised": pseudonymised,
           "units": {"money": "integer pence, as stored", "dates": "ISO 8601"},
           "run": {k: v for k, v in dataclasses.asdict(run).items()
                   if k not in ("alerts", "resolved")},
           "alerts": [dataclasses.asdict(a) for a in run.alerts],
           "resolved": [dataclasses.asdict(a) for a in run.resolved]}
    return json.dumps(doc, default=_json_default, ensure_ascii=False, indent=1,
                      sort_keys=True).encode("utf-8")


# -- the export --------------------------------------------------------------------------------

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export(run: RunView, folder: str | Path, formats: Iterable[str] = FORMATS, *,
           pseudonymise_names: bool = False, pseudonymiser: Pseudonymiser | None = None,
           extra_files: Iterable[Path] = ()) -> ExportFiles:
    """Write the chosen formats and manifest.json into `folder` (each file written atomically,
    the manifest last). extra_files (e.g. the HTML report) are listed in the manifest too."""
    formats = parse_formats(formats)
    if pseudonymise_names:
        run = pseudonymise(run, pseudonymiser or Pseudonymiser.from_env())
    folder = Path(folder)
    tag = f"integrity-audit-{run.period}" + ("-pseudonymised" if pseudonymise_names else "")
    tabs = tables.build(run)
    rows = {t.name: len(t.rows) for t in tabs}
    out = ExportFiles(folder=folder)
    entries: list[dict[str, Any]] = []
    notes: list[str] = []

    def put(fmt: str, name: str, data: bytes, row_counts: dict[str, int] | None) -> None:
        path = write_atomic(folder / name, data)
        out.by_format.setdefault(fmt, []).append(path)
        entries.append({"name": name, "format": fmt, "bytes": len(data), "sha256": _sha256(data),
                        "rows": row_counts})

    for fmt in formats:
        if fmt == "csv":
            for t in tabs:
                put("csv", f"{tag}-{t.name}.csv", _csv_bytes(t), {t.name: len(t.rows)})
        elif fmt == "xlsx":
            data, cut = _xlsx_bytes(tabs, _generated_at(run))
            if cut:
                notes.append(f"{cut} XLSX cell(s) longer than {XLSX_MAX_CELL} characters were cut; "
                             "the CSV and JSON files hold them in full")
            put("xlsx", f"{tag}.xlsx", data, rows)
        elif fmt == "json":
            put("json", f"{tag}.json", _json_bytes(run, pseudonymise_names),
                {"alerts": len(run.alerts), "resolved": len(run.resolved)})
    for extra in extra_files:
        data = Path(extra).read_bytes()
        entries.append({"name": Path(extra).name, "format": Path(extra).suffix.lstrip("."),
                        "bytes": len(data), "sha256": _sha256(data), "rows": None})
    out.manifest = {
        "run_id": run.id, "period": run.period, "run_status": run.status,
        "incomplete": run.incomplete, "generated_at": _generated_at(run).isoformat(),
        "pseudonymised": pseudonymise_names, "rows": rows, "files": entries,
        "rule_versions": run.rule_versions,
        "units": {"csv_xlsx_money": "pounds (2 decimal places)", "json_money": "integer pence",
                  "dates": "ISO 8601 (CSV, JSON); date cells (XLSX)"},
        "notes": notes,
    }
    head = getattr(run, "trail_head", None)  # set by audit.store.anchor.stamp when publishing
    if head:
        out.manifest["trail_head"] = dict(head)
    out.manifest_path = write_atomic(folder / (f"{tag}-{MANIFEST}" if pseudonymise_names else MANIFEST),
                                     manifest_bytes(out.manifest))
    return out


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True,
                      default=_json_default).encode("utf-8")

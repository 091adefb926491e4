"""CCU exports: row counts reconcile with the run, cells cannot carry formulas, XLSX columns are
typed, output is deterministic, and the manifest's SHA-256s match the files."""
from __future__ import annotations

import csv
import hashlib
import json
from datetime import datetime

import openpyxl
import pytest

from report_fixtures import HOSTILE, make_run
from reports import export
from reports.cells import FORMULA_TRIGGERS, neutralise


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def files(run_view, tmp_path):
    return export.export(run_view, tmp_path / "out", ["all"])


def test_neutralise_each_trigger():
    for text in ["=1+1", "+SUM(1)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\n=1"]:
        assert neutralise(text) == "'" + text
    for text in ["Acme", "", "1-2", "café =x", "'already"]:
        assert neutralise(text) == text


def test_csv_rows_reconcile_and_no_cell_starts_a_formula(run_view, files):
    by_name = {p.name.rsplit("-", 1)[-1]: p for p in files.by_format["csv"]}
    with by_name["alerts.csv"].open(encoding="utf-8-sig", newline="") as fh:
        alerts = list(csv.DictReader(fh))
    with by_name["evidence.csv"].open(encoding="utf-8-sig", newline="") as fh:
        evidence = list(csv.reader(fh))
    with by_name["links.csv"].open(encoding="utf-8-sig", newline="") as fh:
        links = list(csv.reader(fh))
    assert len(alerts) == len(run_view.alerts)
    assert len(evidence) - 1 == sum(len(a.facts) for a in run_view.alerts)
    assert len(links) - 1 == sum(len(a.links) for a in run_view.alerts)
    assert {int(r["alert_id"]) for r in alerts} == {a.id for a in run_view.alerts}
    cells = [c for r in evidence + links for c in r] + [c for r in alerts for c in r.values()]
    hostile_seen = 0
    for c in cells:
        if _is_number(c):  # a typed numeric cell such as a credit "-25.00" is data, not a formula
            continue
        assert not c.startswith(FORMULA_TRIGGERS), repr(c)
        hostile_seen += c.startswith("'")
    assert hostile_seen > 20  # the hostile text really was there and was neutralised
    # money in pounds, negative credits survive as numbers (not neutralised as text)
    header = evidence[0]
    net = [r[header.index("net_amount")] for r in evidence[1:] if r[header.index("net_amount")]]
    assert "-25.00" in net and "4999.99" in net


def test_xlsx_has_no_formulas_and_typed_columns(run_view, files):
    (path,) = files.by_format["xlsx"]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["alerts", "evidence", "links"]
    n_hostile = 0
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_TRIGGERS)
                    n_hostile += cell.value.startswith("'=")
    assert n_hostile > 5
    ev = wb["evidence"]
    head = [c.value for c in ev[1]]
    rows = list(ev.iter_rows(min_row=2, values_only=True))
    assert len(rows) == sum(len(a.facts) for a in run_view.alerts)
    money = [r[head.index("net_amount")] for r in rows if r[head.index("net_amount")] is not None]
    assert all(isinstance(v, (int, float)) for v in money) and -25.0 in money and 4999.99 in money
    money_cell = next(c for c in ev[get_col(head, "net_amount")] if isinstance(c.value, (int, float)))
    assert "£" in money_cell.number_format
    offered = [r[head.index("offered_date")] for r in rows if r[head.index("offered_date")]]
    assert offered and all(isinstance(v, datetime) for v in offered)
    assert all(isinstance(r[head.index("row")], int) for r in rows)
    assert all(isinstance(r[head.index("hours_per_week")], (int, float))
               for r in rows if r[head.index("hours_per_week")] is not None)
    al = wb["alerts"]
    assert [c.value for c in al[1]][0] == "alert_id"
    assert all(isinstance(r[0], int) for r in al.iter_rows(min_row=2, values_only=True))


def get_col(head, name):
    return openpyxl.utils.get_column_letter(head.index(name) + 1)


def test_json_is_one_document_with_everything(run_view, files):
    (path,) = files.by_format["json"]
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["run"]["id"] == run_view.id and doc["pseudonymised"] is False
    assert len(doc["alerts"]) == len(run_view.alerts)
    assert sum(len(a["facts"]) for a in doc["alerts"]) == sum(len(a.facts) for a in run_view.alerts)
    texts = json.dumps(doc, ensure_ascii=False)
    assert all(json.dumps(h, ensure_ascii=False)[1:-1] in texts for h in HOSTILE)  # kept verbatim


def test_manifest_matches_files_and_is_deterministic(run_view, files, tmp_path):
    m = json.loads(files.manifest_path.read_text())
    assert m["run_id"] == 42 and m["period"] == "2026-03" and m["pseudonymised"] is False
    assert m["incomplete"] is True and m["generated_at"] == "2026-04-01T02:03:00+00:00"
    assert m["rows"] == {"alerts": 48, "evidence": sum(len(a.facts) for a in run_view.alerts),
                         "links": sum(len(a.links) for a in run_view.alerts)}
    assert len(m["rule_versions"]) == len(run_view.rule_versions)
    assert sorted(e["name"] for e in m["files"]) == sorted(p.name for p in files.paths)
    for e in m["files"]:
        assert _sha(files.folder / e["name"]) == e["sha256"]
    again = export.export(run_view, tmp_path / "again", ["csv", "xlsx", "json"])
    assert {p.name: _sha(p) for p in again.paths} == {p.name: _sha(p) for p in files.paths}
    assert again.manifest_path.read_bytes() == files.manifest_path.read_bytes()


def test_format_selection():
    assert export.parse_formats(["json", "csv"]) == ["csv", "json"]
    assert export.parse_formats(["all"]) == ["csv", "xlsx", "json"]
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        export.parse_formats(["pdf"])


def test_empty_run_exports_headers_only(tmp_path):
    run = make_run(n_alerts=0, failed_source=False)
    out = export.export(run, tmp_path, ["csv", "xlsx"])
    assert json.loads(out.manifest_path.read_text())["rows"] == {"alerts": 0, "evidence": 0, "links": 0}
    wb = openpyxl.load_workbook(out.by_format["xlsx"][0])
    assert wb["alerts"].max_row == 1

"""`integrity-audit sources check` on a temporary config."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from audit.cli import app

from connector_helpers import HEADER


def config(tmp_path, extra: str = "") -> str:
    (tmp_path / "spend.csv").write_text(HEADER + "1,1,10/10/2017,5,A,INV,\n2,1,nope,5,A,INV,\n")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f"""
[[sources]]
name = "spend"
register = "procurement"
kind = "csv"
path = "spend.csv"
[sources.columns]
Trans = "transaction_id"
Date = "transaction_date"
Amount = "net_amount"
{extra}""")
    return str(cfg)


def test_check_prints_table_and_reasons_exit_0(tmp_path):
    result = CliRunner().invoke(app, ["sources", "check", "--config", config(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "spend" in result.output and "procurement" in result.output and "loaded" in result.output
    assert "top quarantine reasons" in result.output and "'nope' is not a date" in result.output


def test_check_json_and_exit_1_when_a_source_fails(tmp_path):
    extra = '\n[[sources]]\nname = "gone"\nregister = "procurement"\nkind = "csv"\npath = "gone.csv"\n' \
            'columns = { Trans = "transaction_id", Date = "transaction_date", Amount = "net_amount" }\n'
    result = CliRunner().invoke(app, ["sources", "check", "--config", config(tmp_path, extra), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    by = {s["source"]: s for s in data["sources"]}
    assert (by["spend"]["rows_read"], by["spend"]["rows_accepted"], by["spend"]["rows_quarantined"]) == (2, 1, 1)
    assert by["gone"]["status"] == "failed" and "file not found" in by["gone"]["error"]
    assert data["complete"] is False

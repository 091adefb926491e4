"""End to end over a real store (SQLite file): record a run with the store's own writer, then
publish (report + exports + deliveries recorded on the run) and the report / export commands."""
from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from audit.cli import app
from audit.settings import load
from audit.store import open_store, record_run
from audit.store.queries import run_view
from report_fixtures import store_run_factory

import reports


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """A store with two recorded runs (2026-02 then 2026-03, one source failed) and a config."""
    factory = store_run_factory()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    record_run(store, factory.build("2026-02", range(1, 6)))
    ri = factory.build("2026-03", range(3, 10), failed_register="expenses",
                       extra_rules=(factory.VET_RULE,))
    summary = record_run(store, ri)
    share = tmp_path / "ccu-share"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[audit]\nforce_name = "Test Constabulary"\ndata_dir = "{tmp_path / "data"}"\n'
        f'[store]\nurl = "{url}"\n[exports]\nout_dir = "{tmp_path / "out"}"\n'
        f'[[exports.destinations]]\nname = "ccu-share"\nkind = "folder"\npath = "{share}"\n'
        f'[[exports.destinations]]\nname = "ccu-pseudo"\nkind = "folder"\npath = "{share}-p"\n'
        f'pseudonymise = true\nformats = ["csv"]\n'
        f'[[exports.destinations]]\nname = "mail-down"\nkind = "smtp"\nhost = "127.0.0.1"\nport = 9\n'
        f'starttls = false\nsender = "a@x.example"\nrecipients = ["b@x.example"]\nretries = 1\n')
    monkeypatch.setenv("INTEGRITY_AUDIT_PSEUDONYM_KEY", "test-key")
    yield store, load(config), summary.run_id, config, tmp_path
    store.dispose()


def test_publish_writes_everything_and_records_deliveries(recorded):
    store, settings, run_id, _, tmp = recorded
    result = reports.publish(store, settings, run_id, backoff=0)
    run = run_view(store, run_id)
    assert result.report_path == tmp / "out" / "2026-03" / "report-2026-03.html"
    html = result.report_path.read_text()
    assert html.count('class="card') == len(run.alerts) == 7
    assert "did not load" in html and "The audit is incomplete." in html
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["run_id"] == run_id and manifest["rows"]["alerts"] == 7
    names = {e["name"] for e in manifest["files"]}
    assert {p.name for p in result.export_paths} | {"report-2026-03.html"} == names
    status = {d.destination: d.status for d in result.deliveries}
    assert status == {"ccu-share": "delivered", "ccu-pseudo": "delivered", "mail-down": "failed"}
    shared = tmp / "ccu-share" / "2026-03"
    for e in manifest["files"]:
        assert hashlib.sha256((shared / e["name"]).read_bytes()).hexdigest() == e["sha256"]
    pseudo = (tmp / "ccu-share-p" / "2026-03")
    pseudo_text = "".join(p.read_text(encoding="utf-8-sig") for p in pseudo.glob("*.csv"))
    assert "PERSON-" in pseudo_text and "Officer 5" not in pseudo_text and "P5," not in pseudo_text
    recorded_deliveries = run_view(store, run_id).deliveries
    assert sorted((d["destination"], d["status"]) for d in recorded_deliveries) == sorted(status.items())
    assert next(d for d in recorded_deliveries if d["destination"] == "mail-down")["attempts"] == 2
    assert result.reviewer_report_path.exists()


def test_report_and_export_commands(recorded):
    _, _, run_id, config, tmp = recorded
    cli = CliRunner()
    res = cli.invoke(app, ["report", "--period", "2026-03", "--config", str(config)])
    assert res.exit_code == 0, res.output
    assert (tmp / "out" / "2026-03" / "report-2026-03.html").exists()
    res = cli.invoke(app, ["export", "--period", "2026-03", "-f", "csv", "-f", "json",
                           "--to", str(tmp / "x"), "--config", str(config)])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp / "x" / "manifest.json").read_text())
    assert sorted(e["format"] for e in m["files"]) == ["csv", "csv", "csv", "json"]
    assert m["run_id"] == run_id and m["incomplete"] is True


def test_command_errors_are_clear(recorded, monkeypatch):
    _, _, _, config, tmp = recorded
    cli = CliRunner()
    res = cli.invoke(app, ["report", "--period", "2025-01", "--config", str(config)])
    assert res.exit_code == 1 and "no run recorded for 2025-01" in res.output
    res = cli.invoke(app, ["export", "--period", "2026-13", "--config", str(config)])
    assert res.exit_code == 2 and "YYYY-MM" in res.output
    monkeypatch.delenv("INTEGRITY_AUDIT_PSEUDONYM_KEY")
    res = cli.invoke(app, ["export", "--period", "2026-03", "--pseudonymise", "--config", str(config)])
    assert res.exit_code == 2 and "INTEGRITY_AUDIT_PSEUDONYM_KEY" in res.output


def test_export_without_a_folder_leaves_the_published_manifest_as_published(recorded):
    _, _, run_id, config, tmp = recorded
    cli = CliRunner()
    assert cli.invoke(app, ["report", "--period", "2026-03", "--config", str(config)]).exit_code == 0
    published = tmp / "out" / "2026-03" / "manifest.json"
    before = published.read_bytes()
    res = cli.invoke(app, ["export", "--period", "2026-03", "-f", "json", "--config", str(config)])
    assert res.exit_code == 0, res.output
    assert published.read_bytes() == before  # the record of what was published, with its trail head
    m = json.loads((tmp / "out" / "2026-03" / "export" / "manifest.json").read_text())
    assert [e["format"] for e in m["files"]] == ["json"] and m["run_id"] == run_id

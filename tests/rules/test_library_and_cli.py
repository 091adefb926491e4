"""The shipped library's embedded tests on both engines, and the `rules` CLI end to end."""
from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from audit.cli import app
from rules.api import LIBRARY, load_rules
from rules.testing import run_rule_tests

FIX = Path(__file__).parent / "fixtures"
runner = CliRunner()


def test_every_library_rule_loads_and_passes_its_tests_on_both_engines():
    rules, problems = load_rules([LIBRARY])
    assert rules and not [str(p) for p in problems if p.severity == "error"]
    outcomes = [o for r in rules for o in run_rule_tests(r, ("durable", "reference"))]
    failed = [f"{o.location} {o.rule} [{o.engine}] {o.test}: {o.detail}" for o in outcomes if not o.passed]
    assert not failed, "\n".join(failed)
    assert len(outcomes) >= 2 * len(rules)


def test_cli_validate_reports_file_line_col_and_exit_code():
    ok = runner.invoke(app, ["rules", "validate", str(FIX / "good")])
    assert ok.exit_code == 0 and "1 valid rule(s), 0 error(s)" in ok.output
    bad = runner.invoke(app, ["rules", "validate", str(FIX / "bad")])
    assert bad.exit_code == 1
    assert f"{FIX / 'bad' / 'many_problems.yaml'}:19:" in bad.output.replace("\n", "")


def test_cli_test_list_and_explain():
    result = runner.invoke(app, ["rules", "test", str(FIX / "good"), "--engine", "both"])
    assert result.exit_code == 0, result.output
    assert "6 passed, 0 failed" in result.output
    listed = runner.invoke(app, ["rules", "list", str(FIX / "good")])
    assert listed.exit_code == 0 and "1 rule(s)" in listed.output
    explained = runner.invoke(app, ["rules", "explain", "gift_from_recent_supplier", "--path", str(FIX / "good")])
    assert explained.exit_code == 0
    assert "key supplier: gift.org_key = purchase.org_key" in explained.output
    assert "param window_days" in explained.output


def test_cli_test_fails_on_a_wrong_expectation(tmp_path):
    src = (FIX / "good" / "gift_from_recent_supplier.yaml").read_text()
    (tmp_path / "gift_from_recent_supplier.yaml").write_text(
        src.replace("      - {gift: [0], purchase: [0]}", "      - {gift: [0], purchase: [1]}"))
    result = runner.invoke(app, ["rules", "test", str(tmp_path), "--engine", "reference"])
    assert result.exit_code == 1 and "FAIL" in result.output and "missing" in result.output


def test_cli_list_marks_a_deprecated_rule_as_not_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one table row per rule, so the row can be checked
    src = (FIX / "good" / "gift_from_recent_supplier.yaml").read_text()
    (tmp_path / "gift_from_recent_supplier.yaml").write_text(src)
    (tmp_path / "old_gift_rule.yaml").write_text(
        src.replace("name: gift_from_recent_supplier", "name: old_gift_rule")
           .replace("id: 0b6f1f3e-8a3c-4a52-9c1e-2b7d5c9d1a01", "id: 0b6f1f3e-8a3c-4a52-9c1e-2b7d5c9d1a02")
           .replace("status: stable", "status: deprecated"))
    listed = runner.invoke(app, ["rules", "list", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[3]: line for line in listed.output.splitlines() if "0b6f1f3e" in line}
    assert "deprecated (not run)" in rows["old_gift_rule"]
    assert "stable" in rows["gift_from_recent_supplier"] and "not run" not in rows["gift_from_recent_supplier"]

"""Shadow rules (issue #21 part C) on a copy of the bundled sample with its own SQLite store.

A shadow rule runs in every run, its findings are stored apart (shadow_findings) and never reach the
alert queue, the report or the exports; `rules list` shows its months in shadow and the overlap with
live alerts; `rules promote` records the auditor's decision in the audit trail and the next run
raises its alerts live. One rule is in shadow by its file (status: shadow), one by [rules] shadow.
"""
from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from audit import settings as settings_mod
from audit import shadow
from audit.cli import app
from audit.period import Period
from audit.pipeline import run_period
from audit.store import trail
from audit.store.db import open_store
from audit.store.models import Alert, RuleVersion, RunRule, ShadowFinding, ShadowRuleRun

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample"
LIVE_TWIN = ROOT / "rules" / "library" / "cross" / "gift_from_recent_supplier.yaml"
OWN = "gift_from_supplier_shadow"  # a copy of gift_from_recent_supplier with status: shadow
BY_CONFIG = "interest_high_risk_type"  # a library rule the force's config puts in shadow
PERIOD = Period(2026, 10)


def cli(*args: str):
    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    res.text = " ".join(res.output.split())  # the console wraps at 80 columns
    return res


@pytest.fixture(scope="module")
def force(tmp_path_factory):
    """The sample with a shadow rule of its own and a library rule in [rules] shadow, run and published."""
    home = tmp_path_factory.mktemp("shadow_force")
    shutil.copytree(SAMPLE, home / "force")
    own = home / "own_rules"
    own.mkdir()
    text = LIVE_TWIN.read_text(encoding="utf-8").replace("name: gift_from_recent_supplier", f"name: {OWN}")
    text = re.sub(r"^id: .*$", "id: 5ad0e000-0000-4000-8000-000000000021", text, count=1, flags=re.M)
    text = re.sub(r"^status: .*$", "status: shadow", text, count=1, flags=re.M)
    (own / f"{OWN}.yaml").write_text(text, encoding="utf-8")
    config = home / "force" / "config.toml"
    with config.open("a", encoding="utf-8") as fh:
        fh.write(f'\n[rules]\nfolders = ["{own}"]\nshadow = ["{BY_CONFIG}"]\n')
    settings = settings_mod.load(config)
    outcome = run_period(settings, PERIOD, engine="reference", actor="test")
    assert outcome.status == "succeeded", outcome.error
    return config, settings, outcome


def _read(settings, fn):
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            return fn(s)
    finally:
        store.dispose()


def by_rule_in(settings, run_id: int) -> list:
    return _read(settings, lambda s: list(s.execute(select(ShadowFinding.id).where(ShadowFinding.run_id == run_id))
                                      .scalars()))


def test_shadow_findings_are_stored_apart_and_never_reach_alerts_report_or_exports(force):
    config, settings, outcome = force
    shadow_rows = _read(settings, lambda s: [(f.rule_name, f.run_id, f.period, f.subject, tuple(f.fact_ids))
                                             for f in s.execute(select(ShadowFinding)).scalars()])
    by_rule = {name: [r for r in shadow_rows if r[0] == name] for name in (OWN, BY_CONFIG)}
    assert by_rule[OWN] and by_rule[BY_CONFIG], shadow_rows  # both match on the sample
    assert all(r[1] == outcome.run_id and r[2] == "2026-10" and r[4] for r in shadow_rows)
    runs = _read(settings, lambda s: {r.rule_name: (r.findings, r.alerts, r.rule_version)
                                      for r in s.execute(select(ShadowRuleRun)).scalars()})
    assert set(runs) == {OWN, BY_CONFIG} and runs[OWN][0] == len(by_rule[OWN])
    assert outcome.shadow == {OWN: len(by_rule[OWN]), BY_CONFIG: len(by_rule[BY_CONFIG])}

    alerted = _read(settings, lambda s: set(s.execute(select(Alert.rule_name)).scalars()))
    assert OWN not in alerted and BY_CONFIG not in alerted
    assert "gift_from_recent_supplier" in alerted  # the live twin still alerts
    assert not any(f.rule_name in (OWN, BY_CONFIG) for f in outcome.evaluation.findings)
    # recorded as shadow versions, not as rules the run evaluated (reports list those)
    versions = _read(settings, lambda s: {rv.name: rv.status for rv in s.execute(select(RuleVersion)).scalars()})
    assert versions[OWN] == "shadow" and versions[BY_CONFIG] == "shadow"
    linked = _read(settings, lambda s: set(s.execute(select(RuleVersion.name).join(RunRule)
                                                     .where(RunRule.run_id == outcome.run_id)).scalars()))
    assert not linked & {OWN, BY_CONFIG}

    assert outcome.report_path and outcome.export_paths
    files = [Path(outcome.report_path), *map(Path, outcome.export_paths)]
    files += list(Path(outcome.report_path).parent.glob("*.html"))
    for path in files:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                text = " ".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        assert OWN not in text and BY_CONFIG not in text, path
        assert "5ad0e000-0000-4000-8000-000000000021" not in text, path


def test_rules_list_shows_months_in_shadow_and_overlap(force):
    config, settings, outcome = force
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            ids = {rv.name: rv.rule_id for rv in s.execute(select(RuleVersion)).scalars()}
        figures = shadow.summary(store, {ids[OWN]: OWN, ids[BY_CONFIG]: BY_CONFIG})
        # the summary reads the live alerts of its months only, not the store's whole history
        from audit import backtest

        every = backtest.stored_alerts_in(store)
        assert every["2026-10"] and backtest.stored_alerts_in(store, {"2026-10"}) == every
        assert backtest.stored_alerts_in(store, {"1999-01"}) == {}
    finally:
        store.dispose()
    own = figures[ids[OWN]]
    assert [m.period for m in own.months] == ["2026-10"]
    # the copy cites the same gifts and subjects as its live twin: every alert overlaps a live one
    assert own.months[0].alerts >= 1 and own.months[0].overlap == own.months[0].alerts
    assert own.months[0].labels["open"] >= 1

    res = cli("rules", "list", "--json", "--config", str(config))
    assert res.exit_code == 0, res.output
    listed = {r["name"]: r for r in json.loads(res.stdout)}
    assert listed[OWN]["shadow"]["runs_as"] == "shadow" and listed[OWN]["shadow"]["shadow_by"] == "rule file"
    assert listed[BY_CONFIG]["shadow"]["shadow_by"] == "config"
    assert listed[OWN]["shadow"]["shadow"]["months"][0]["overlap"] == own.months[0].overlap
    assert "shadow" not in listed["gift_from_recent_supplier"]
    res = cli("rules", "list", "--config", str(config))
    assert res.exit_code == 0 and f"{OWN} in shadow" in res.text and "shadow (config)" in res.text


def test_promote_refuses_unknown_and_live_rules_then_the_next_run_raises_it_live(force):
    config, settings, _ = force
    res = cli("rules", "promote", "no_such_rule", "--config", str(config))
    assert res.exit_code == 1 and "no valid rule named" in res.text
    res = cli("rules", "promote", "gift_from_recent_supplier", "--config", str(config))
    assert res.exit_code == 1 and "is not in shadow" in res.text

    res = cli("rules", "promote", BY_CONFIG, "--backtest", "--config", str(config))
    assert res.exit_code == 0, res.output
    assert "live from the next run" in res.text
    res = cli("rules", "promote", BY_CONFIG, "--config", str(config))
    assert res.exit_code == 1 and "promoted by" in res.text

    store = open_store(settings.store_url)
    try:
        events = trail.events(store, action="rule.promote")
        assert trail.verify(store) is None
    finally:
        store.dispose()
    assert len(events) == 1 and events[0]["object"] == f"rule:{BY_CONFIG}"
    summary = events[0]["details"]["summary"]
    assert summary["shadow_by"] == "config" and summary["shadow"]["totals"]["months"] == 1
    assert summary["shadow"]["months"][0]["alerts"] >= 1
    assert summary["backtest"]["totals"]["alerts"] >= 1 and "added" not in summary["backtest"]["totals"]

    listed = {r["name"]: r for r in json.loads(cli("rules", "list", "--json", "--config", str(config)).stdout)}
    assert listed[BY_CONFIG]["shadow"]["runs_as"] == "live (promoted)"
    assert listed[BY_CONFIG]["shadow"]["promoted"]["by"]

    again = run_period(settings, PERIOD, engine="reference", actor="test", publish=False)
    assert again.status == "succeeded", again.error
    alerted = _read(settings, lambda s: set(s.execute(select(Alert.rule_name)).scalars()))
    assert BY_CONFIG in alerted and OWN not in alerted
    current = _read(settings, lambda s: {r.rule_name for r in s.execute(
        select(ShadowRuleRun).where(ShadowRuleRun.run_id == again.run_id)).scalars()})
    assert current == {OWN}  # the rerun replaced the period's shadow rows; the promoted rule is live
    status = _read(settings, lambda s: {rv.status for rv in s.execute(
        select(RuleVersion).join(RunRule).where(RunRule.run_id == again.run_id, RuleVersion.name == BY_CONFIG))
        .scalars()})
    assert status == {"stable"}  # its file's status: shadowed by config, promoted, live as before
    assert again.shadow == {OWN: len(by_rule_in(settings, again.run_id))}


def test_the_run_table_marks_shadow_rules_as_kept_apart(force):
    from rich.console import Console

    from audit.cli.run_cmd import _findings_table

    _, _, outcome = force
    console = Console(width=200, record=True)
    console.print(_findings_table(outcome))
    lines = console.export_text().splitlines()
    for name in (OWN, BY_CONFIG):
        line = next(x for x in lines if x.strip().startswith(name))
        assert "shadow: kept apart, not alerted" in line, line
    assert not any("shadow" in x for x in lines if x.strip().startswith("gift_from_recent_supplier "))

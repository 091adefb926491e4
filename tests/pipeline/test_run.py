"""The monthly run end to end on a generated force: load -> resolve -> evaluate -> record -> publish."""
from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audit import settings as settings_mod
from audit.entities import resolve
from audit.period import Period
from audit.pipeline import load_rule_set, run_period
from audit.store.db import open_store
from audit.store.locks import acquire, release
from audit.store.models import Alert
from rules import api as rules_api

import connectors

PERIOD = Period(2026, 10)


def _copy(force: Path, tmp_path: Path) -> Path:
    """A private copy of the force, so each test has its own store and outputs."""
    dst = tmp_path / "force"
    shutil.copytree(force, dst, ignore=shutil.ignore_patterns("data"))
    return dst


def _alert_count(settings) -> int:
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            return s.query(Alert).count()
    finally:
        store.dispose()


def _keys_of(truth_records, frames) -> set[str]:
    """fact_ids of the rows named by truth records (natural keys)."""
    ids = set()
    for rec in truth_records:
        df = frames[rec["register"]]
        mask = None
        for field, value in rec["key"].items():
            m = df[field].astype("object") == value
            mask = m if mask is None else mask & m
        ids.update(df.loc[mask, "fact_id"])
    return ids


def test_a_monthly_run_loads_reconciles_finds_the_planted_cases_and_publishes(force, truth, tmp_path):
    settings = settings_mod.load(_copy(force, tmp_path) / "config.toml")
    outcome = run_period(settings, PERIOD)
    assert outcome.status == "succeeded", outcome.error
    for frame in outcome.load.frames:  # nothing lost: every row accepted or quarantined
        assert frame.rows_read == frame.rows_accepted + frame.rows_quarantined, frame.source
    assert sum(f.rows_quarantined for f in outcome.load.frames) == len(truth["dirty_rows"])
    # every scenario planted for this month is found by the rule named after it
    found = {}
    for f in outcome.evaluation.findings:
        found.setdefault(f.rule_name, set()).update(i for ids in f.facts.values() for i in ids)
    planted = [s for s in truth["scenarios"] if s["period"] == str(PERIOD)]
    assert planted, "the generator planted nothing for the period"
    hits = [s for s in planted if _keys_of(s["records"], outcome.resolution.frames) & found.get(s["kind"], set())]
    recall = len(hits) / len(planted)
    missed = sorted({s["kind"] for s in planted} - {s["kind"] for s in hits})
    assert recall >= 0.9, f"recall {recall:.2f}; kinds missed: {missed}"
    report = Path(outcome.report_path).read_text(encoding="utf-8")
    assert "October 2026" in report and "incomplete" not in report.lower()
    manifest = json.loads((Path(outcome.report_path).parent / "manifest.json").read_text())
    assert manifest["run_id"] == outcome.run_id


def test_rerunning_a_period_replaces_it_without_duplicating_alerts(force, tmp_path, monkeypatch):
    from audit.entities.people import Workforce

    settings = settings_mod.load(_copy(force, tmp_path) / "config.toml")
    built = []  # the workforce index costs seconds on a large force: a run builds it once
    original = Workforce.__init__
    monkeypatch.setattr(Workforce, "__init__", lambda self, df: (built.append(1), original(self, df))[1])
    collecting = {}  # stage -> was the cyclic collector on (audit.collector pauses it for a run)
    first = run_period(settings, PERIOD, publish=False,
                       progress=lambda stage, detail: collecting.setdefault(stage, gc.isenabled()))
    assert set(collecting) >= {"load", "ledger", "resolve", "evaluate", "record"}
    assert not any(collecting.values()), collecting
    assert gc.isenabled(), "a run must switch the collector back on"
    assert len(built) == 1
    count = _alert_count(settings)
    second = run_period(settings, PERIOD, publish=False)
    assert _alert_count(settings) == count > 0
    assert second.summary.counts["findings"] == first.summary.counts["findings"]


def test_both_engines_give_the_same_findings_on_a_whole_generated_force(force):
    settings = settings_mod.load(force / "config.toml")
    frames = resolve(connectors.load_sources(settings.sources, settings.base_dir).by_register(),
                     settings.entities).frames
    compiled, _, problems = load_rule_set(settings)
    assert not [p for p in problems if getattr(p, "severity", "error") == "error"]
    for period in (Period(2026, 7), PERIOD):
        ref = rules_api.evaluate(compiled, frames, period, settings.rules.params, "reference")
        dur = rules_api.evaluate(compiled, frames, period, settings.rules.params, "durable")
        assert [f.key() for f in dur.findings] == [f.key() for f in ref.findings]
        assert ref.findings, "nothing to compare"
        for name, st in ref.stats.items():
            assert dur.stats[name].not_evaluable == st.not_evaluable, name


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "audit.cli", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=600)


def test_a_source_that_fails_makes_the_run_incomplete_and_the_report_says_so(force, tmp_path):
    root = _copy(force, tmp_path)
    config = root / "config.toml"
    settings = settings_mod.load(config)
    victim = next(s for s in settings.sources if s.register == "expenses")
    (root / Path(victim.path or victim.url.split("///", 1)[1])).unlink()
    proc = _cli(config, "run", "--period", str(PERIOD), "--json")
    assert proc.returncode == 3, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "partial" and out["incomplete"] and victim.name in out["error"]
    report = Path(out["report"]).read_text(encoding="utf-8")
    assert "did not load" in report and "incomplete" in report


def test_a_period_being_run_elsewhere_is_refused_with_exit_code_4(force, tmp_path):
    config = _copy(force, tmp_path) / "config.toml"
    settings = settings_mod.load(config)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.store_url)
    token = acquire(store, str(PERIOD))
    try:
        proc = _cli(config, "run", "--period", str(PERIOD))
    finally:
        release(store, str(PERIOD), token)
        store.dispose()
    assert proc.returncode == 4
    assert "already being run" in proc.stderr


def test_a_run_that_fails_part_way_is_recorded_failed_with_the_sources_it_loaded(force, tmp_path, monkeypatch):
    from audit.store.models import Run, SourceLoad

    settings = settings_mod.load(_copy(force, tmp_path) / "config.toml")

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation exploded")

    monkeypatch.setattr(rules_api, "evaluate", broken)
    with pytest.raises(RuntimeError, match="evaluation exploded"):
        run_period(settings, PERIOD, engine="reference", publish=False)
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            run = s.query(Run).one()
            loads = s.query(SourceLoad).filter(SourceLoad.run_id == run.id).all()
    finally:
        store.dispose()
    assert run.status == "failed" and "evaluation exploded" in run.error
    assert gc.isenabled(), "a failed run must switch the collector back on too"
    assert {l.source for l in loads} == {src.name for src in settings.sources}

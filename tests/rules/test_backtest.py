"""`integrity-audit rules backtest` (audit/backtest.py) on the bundled sample with a small store:
month by month, alerts against the live version, overlap with stored alerts and their labels."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from audit import backtest as bt
from audit.period import Period
from audit import settings as settings_mod
from audit.cli import app
from audit.store.db import open_store
from audit.store.models import Alert, AlertFact, AlertOccurrence, Disposition, Run

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_RULE = ROOT / "rules" / "library" / "procurement" / "procurement_split_invoices.yaml"


@pytest.fixture(scope="module")
def sample():
    """The sample's sources, loaded and resolved once for the module (a few seconds)."""
    settings = settings_mod.load(None)
    frames, notes = bt._source_frames(settings, None)
    assert notes == []
    return settings, frames


def _rule(tmp_path: Path, name: str, band: str, new_id: bool = False) -> Path:
    text = LIBRARY_RULE.read_text(encoding="utf-8").replace("default: 0.2", f"default: {band}")
    text = text.replace("name: procurement_split_invoices", f"name: {name}")
    if new_id:
        text = re.sub(r"^id: .*$", f"id: {uuid.uuid4()}", text, count=1, flags=re.M)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _store(tmp_path: Path, settings, period: str, subject: str | None, fact_id: str, status: str) -> None:
    """A store with one current run of `period` that raised one alert citing `fact_id`, closed as `status`."""
    settings.store.url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(settings.store_url)
    now = datetime.now(timezone.utc)
    with store.write() as s:
        run = Run(period=period, status="succeeded", engine="reference", actor="test", started_at=now)
        alert = Alert(fingerprint="fp1", rule_id="r", rule_name="procurement_split_invoices", subject=subject,
                      level="medium", title="t", dedup=["x"], first_period=period, last_period=period,
                      status=status, created_at=now)
        s.add_all([run, alert])
        s.flush()
        occ = AlertOccurrence(alert_id=alert.id, run_id=run.id, period=period, novelty="new", rule_version="v",
                              title="t", level="medium")
        s.add(occ)
        s.flush()
        s.add_all([AlertFact(occurrence_id=occ.id, alias="purchase", fact_id=fact_id),
                   Disposition(alert_id=alert.id, status=status, reviewer="rev", at=now, note="n")])
    store.dispose()


def test_changed_library_rule_against_the_live_version_with_labels(sample, tmp_path):
    settings, frames = sample
    settings.store.url = f"sqlite:///{tmp_path / 'absent' / 'store.db'}"  # never the working store
    # the live (library) version alerts on the sample; find one of its alerts to store as a past alert
    live = bt.backtest(settings, LIBRARY_RULE, frames=frames, engine="reference", against=LIBRARY_RULE)
    assert [m.period for m in live.months] == [str(p) for p in bt.months_of_data(frames)]
    assert all(m.added == 0 and m.dropped == 0 and m.changed == 0 for m in live.months)
    raised = [m for m in live.months if m.alerts]
    assert raised, "the sample has a split to backtest"
    month = raised[0].period
    from audit.period import Period
    from rules.api import compile_rule, load_rules
    from rules.evaluate import evaluate_rule

    rule = load_rules([LIBRARY_RULE])[0][0]
    finding = evaluate_rule(compile_rule(rule), frames, Period.parse(month), None, "reference")[0][0]
    _store(tmp_path, settings, month, finding.subject, finding.facts["purchase"][0], "false_positive")

    # a stricter draft (only lines just under the threshold) of the same rule id: compared with the live one
    draft = _rule(tmp_path, "procurement_split_invoices", "0.99")
    got = bt.backtest(settings, draft, frames=frames, engine="reference")
    assert got.against.startswith("live ") and got.store
    m = next(x for x in got.months if x.period == month)
    assert m.live_alerts == raised[0].alerts and m.dropped == raised[0].alerts - m.alerts + m.added
    assert m.dropped >= 1 and m.dropped_labels["false_positive"] == 1  # the reviewers had closed it as FP
    totals = got.totals()  # each alert once over the months
    assert totals["dropped_labels"]["false_positive"] == 1 and totals["dropped"] >= m.dropped
    assert totals["alerts"] == sum(x.new_alerts for x in got.months)
    # the live version itself overlaps the stored alert and carries its label
    again = bt.backtest(settings, LIBRARY_RULE, frames=frames, engine="reference", first=Period.parse(month),
                        last=Period.parse(month))
    assert [(x.period, x.overlap, x.labels["false_positive"]) for x in again.months] == [(month, 1, 1)]
    page = bt.html(got)
    assert "<svg" in page and month in page and "procurement_split_invoices" in page


def test_new_rule_json_months_and_per_1k_staff(sample, tmp_path):
    settings, frames = sample
    settings.store.url = f"sqlite:///{tmp_path / 'none' / 'missing.db'}"  # no store: a note, zeros
    draft = _rule(tmp_path, "draft_split", "0", new_id=True)
    got = bt.backtest(settings, draft, frames=frames, engine="reference")
    data = json.loads(json.dumps(got.to_json()))
    assert data["against"] is None and data["months"] and {"period", "alerts", "findings"} <= set(data["months"][0])
    assert sum(m["findings"] for m in data["months"]) >= sum(m["alerts"] for m in data["months"])
    # staff in post, counted row by row here: started by the month's end, not left before its start
    workforce = frames["workforce"]
    for m in data["months"]:
        first, last = Period.parse(m["period"]).start, Period.parse(m["period"]).end
        in_post = sum(1 for s, e in zip(workforce["start_date"], workforce["end_date"])
                      if (pd.isna(s) or s.date() <= last) and (pd.isna(e) or e.date() >= first))
        assert m["staff"] == in_post > 0
        assert m["per_1k_staff"] == round(1000 * m["alerts"] / in_post, 3)
    assert got.store is None and any("no store to compare with" in n for n in got.notes), got.notes
    assert all(m["overlap"] == 0 for m in data["months"])


def test_cli_refuses_a_bad_rule_file_and_a_reversed_range(tmp_path):
    bad = tmp_path / "bad_rule.yaml"
    bad.write_text("schema_version: 1\nname: bad_rule\n", encoding="utf-8")
    runner = CliRunner()
    out = runner.invoke(app, ["rules", "backtest", str(bad)])
    assert out.exit_code == 2 and "rules validate" in out.output
    out = runner.invoke(app, ["rules", "backtest", str(LIBRARY_RULE), "--from", "2026-05", "--to", "2026-01"])
    assert out.exit_code == 2 and "--from is after --to" in out.output

"""Late and changed register entries on the bundled sample, replayed as the schedule sees them:
a September run, then the force edits its gifts register, then the October run.

The October run must raise the late declaration (a gift of August first seen now), the deleted and
the materially altered gift, and nothing for a typo fix; a re-run must give the same; a source that
comes back truncated must raise no deletions; an event alert not raised again is not "resolved".
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audit.period import Period
from sample_force import settings_of
from audit.pipeline import run_period
from audit.store.db import open_store
from audit.store.models import Alert, AlertOccurrence, AlertResolved, LedgerRow
from audit.store.queries import list_alerts

ROOT = Path(__file__).resolve().parents[2]
GIFTS = "sample/gifts_hospitality_register.csv"
SEP, OCT = Period(2026, 9), Period(2026, 10)
LATE_ROW = ("GH900001,100446,01/08/2026,15/10/2026,Harrisonville Hotel,,Gift,Late hamper,£80.00,Accepted,"
            "100442,16/10/2026")


@pytest.fixture
def force(sample_force) -> Path:
    return sample_force


_settings = settings_of


def _edit_gifts(force: Path, *, drop=(), values=None, typo=None, add=()) -> None:
    path = force / GIFTS
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    out = []
    for line in lines:
        ref = line.split(",", 1)[0]
        if ref in drop:
            continue
        if values and ref in values:
            line = line.replace(*values[ref])
        if typo and ref in typo:
            line = line.replace(*typo[ref])
        out.append(line)
    path.write_text("\n".join(out + list(add)) + "\n", encoding="utf-8-sig")


def _run(settings, period):
    return run_period(settings, period, engine="reference", publish=False)


def _alerts(settings, period, rule=None):
    store = open_store(settings.store_url)
    try:
        return list_alerts(store, period=str(period), rule=rule)
    finally:
        store.dispose()


def _schedule(settings, force):
    """September, then the register is edited, then October (as the schedule would see it)."""
    _run(settings, SEP)
    _edit_gifts(force, drop={"GH000002"}, values={"GH000003": ("£5.64", "£1.50")},
                typo={"GH000001": ("Book on local history", "Book on local histroy (corrected)")},
                add=[LATE_ROW])
    return _run(settings, OCT)


def _check_october(settings) -> None:
    late = [a for a in _alerts(settings, OCT, "gifts_declared_late") if "2026-10-15" in a.title]
    assert len(late) == 1, [a.title for a in _alerts(settings, OCT, "gifts_declared_late")]
    a = late[0]
    assert a.novelty == "late" and a.late["event_period"] == "2026-08" and a.late["months_late"] == 2
    assert "GH900001" in a.late_text and "date declared 2026-10-15" in a.late_text
    assert "reported in the 2026-10 audit, 2 months after the event" in a.late_text

    deleted = _alerts(settings, OCT, "register_entry_deleted")
    assert [x.title for x in deleted] == [
        "100062: gifts_hospitality entry GH000002 deleted after it was audited"]
    altered = _alerts(settings, OCT, "register_entry_altered")
    assert len(altered) == 1 and "GH000003" in altered[0].title and "estimated_value" in altered[0].title
    assert altered[0].values["change.before"] == "Estimated value: 564"
    assert altered[0].values["change.after"] == "Estimated value: 150"
    # the typo fix in a description (not material) raised nothing
    assert not any("GH000001" in x.title for x in deleted + altered)


def test_october_reports_late_deleted_and_altered_entries(force):
    settings = _settings(force)
    outcome = _schedule(settings, force)
    assert outcome.status == "succeeded"
    _check_october(settings)
    assert outcome.late_raised >= 1
    assert {c.change for c in outcome.ledger.changes} == {"altered", "deleted"}


def test_a_rerun_of_october_raises_the_same_and_duplicates_nothing(force):
    settings = _settings(force)
    _schedule(settings, force)
    before = {(a.id, a.novelty) for a in _alerts(settings, OCT)}
    _run(settings, OCT)
    _check_october(settings)
    assert {(a.id, a.novelty) for a in _alerts(settings, OCT)} == before
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            keys = [(r.source, r.natural_key) for r in s.query(LedgerRow).filter(LedgerRow.state == "present")]
            assert len(keys) == len(set(keys))  # one ledger row per entry, however often the month is run
    finally:
        store.dispose()


def test_without_the_ledger_the_late_gift_is_never_reported(force):
    """The defect the ledger fixes: the same schedule with the late pass switched off misses it."""
    settings = _settings(force)
    settings.audit.late_lookback_months = 0
    _schedule(settings, force)
    assert not [a for a in _alerts(settings, OCT, "gifts_declared_late") if "2026-10-15" in a.title]


def test_a_truncated_extract_fails_loud_and_is_caught_up_when_it_returns(force):
    """October runs without 110 gift entries; November, with the file whole again, reports what
    October would have found in them."""
    settings = _settings(force)
    _run(settings, SEP)
    path = force / GIFTS
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    path.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8-sig")  # 39 of 149 rows left
    outcome = _run(settings, OCT)
    # the source fails loud: the run is partial, the gift rules run on the divisional returns only,
    # and nothing is read as deleted
    assert outcome.status == "partial"
    assert "source 'gifts' accepted 38 rows where the audit of 2026-09 accepted 145 (74% fewer)" in outcome.error
    assert "gifts" not in {f.source for f in outcome.load.frames}
    assert _alerts(settings, OCT, "register_entry_deleted") == []
    raised_in_october = {(a.rule_name, a.title) for a in _alerts(settings, OCT)}
    # the full file returns: nothing is deleted, and October's gift findings, which October could
    # not raise, are caught up now as late arrivals, and only those (September saw its own)
    shutil.copy(ROOT / GIFTS, path)
    nov = Period(2026, 11)
    outcome = _run(settings, nov)
    assert outcome.status == "succeeded"
    assert _alerts(settings, nov, "register_entry_deleted") == []
    late = [a for a in _alerts(settings, nov) if a.novelty == "late"]
    assert outcome.late_raised >= len(late) > 0
    assert {a.late["event_period"] for a in late} == {"2026-10"}
    assert all(e["how"] == "returned" for a in late for e in a.late["entries"])
    assert all("back in its source" in a.late_text for a in late)
    # exactly what October would have raised about gifts with the whole file
    full = _settings(force, f"sqlite:///{force / 'full.db'}")
    _run(full, SEP)
    _run(full, OCT)
    gift_rules = {"gifts_declared_late", "gifts_over_threshold_unapproved", "gifts_self_approved",
                  "gifts_cash_or_voucher_accepted", "gifts_high_risk_keywords"}
    expected = {(a.rule_name, a.title) for a in _alerts(full, OCT) if a.rule_name in gift_rules and a.novelty == "new"}
    assert expected - raised_in_october and expected - raised_in_october <= {(a.rule_name, a.title) for a in late}


def test_an_extract_of_the_same_size_but_other_rows_fails_loud(force):
    """The ledger's guard: 40% of the entries September saw are gone (replaced by as many others)."""
    settings = _settings(force)
    _run(settings, SEP)
    path = force / GIFTS
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    swapped = [lines[0]] + [line.replace("GH0000", "GX0000", 1) if i % 5 < 2 else line
                            for i, line in enumerate(lines[1:])]
    path.write_text("\n".join(swapped) + "\n", encoding="utf-8-sig")
    outcome = _run(settings, OCT)
    assert outcome.status == "partial" and "entries earlier audits saw" in outcome.error
    assert _alerts(settings, OCT, "register_entry_deleted") == []


def test_allow_shrink_accepts_a_real_drop(force):
    config = force / "config.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('path = "sample/gifts_hospitality_register.csv"',
                                   'path = "sample/gifts_hospitality_register.csv"\nallow_shrink = true', 1),
                      encoding="utf-8")
    settings = _settings(force)
    before = next(f for f in _run(settings, SEP).load.frames if f.source == "gifts").rows_accepted
    path = force / GIFTS
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    path.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8-sig")
    outcome = _run(settings, OCT)
    assert outcome.status == "succeeded"
    after = next(f for f in outcome.load.frames if f.source == "gifts").rows_accepted
    # every entry gone from a source said to shrink for real is a deletion (145 - 38 on the sample)
    assert len(_alerts(settings, OCT, "register_entry_deleted")) == before - after > 100


def test_a_header_only_file_raises_no_deletions(force):
    settings = _settings(force)
    _run(settings, SEP)
    path = force / GIFTS
    path.write_text(path.read_text(encoding="utf-8-sig").splitlines()[0] + "\n", encoding="utf-8-sig")
    outcome = _run(settings, OCT)
    assert outcome.status == "partial"
    assert _alerts(settings, OCT, "register_entry_deleted") == []


def test_first_run_on_a_single_extract_reports_a_late_declaration_made_in_its_month(force):
    """No history: a row arrives in the month of its declared date (and the run's notes say so)."""
    _edit_gifts(force, add=[LATE_ROW])
    settings = _settings(force)
    outcome = _run(settings, OCT)
    assert [a for a in _alerts(settings, OCT, "gifts_declared_late") if "2026-10-15" in a.title]
    assert "first audit of" in (outcome.error or "")
    # and it does not flood: only entries made in October count as arriving now
    late = [a for a in _alerts(settings, OCT) if a.novelty == "late"]
    assert all(a.late["entries"] and all(e["how"] == "entered" for e in a.late["entries"]) for a in late)


def test_an_event_alert_not_raised_again_is_not_resolved(force):
    settings = _settings(force)
    _run(settings, SEP)
    _run(settings, OCT)
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            resolved = s.query(AlertOccurrence).join(
                AlertResolved, AlertResolved.alert_id == AlertOccurrence.alert_id).filter(
                AlertOccurrence.period == "2026-09").all()
            assert resolved == [] or all(o.as_of is None for o in resolved)
            # September's event alerts that October did not raise again stay open, not resolved
            sep_event = {o.alert_id for o in s.query(AlertOccurrence).filter(
                AlertOccurrence.period == "2026-09", AlertOccurrence.as_of.isnot(None))}
            oct_found = {o.alert_id for o in s.query(AlertOccurrence).filter(AlertOccurrence.period == "2026-10")}
            assert sep_event - oct_found, "the sample should have September event alerts October does not repeat"
            assert not (sep_event - oct_found) & {r.alert_id for r in s.query(AlertResolved)}
            assert {a.status for a in s.query(Alert).filter(Alert.id.in_(sep_event - oct_found))} == {"new"}
    finally:
        store.dispose()


@pytest.mark.db
def test_the_schedule_on_postgresql(force, pg_url):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from pgschema import scratch_schema

    with scratch_schema(pg_url, "t_ledger") as url:
        settings = _settings(force, url)
        _schedule(settings, force)
        _check_october(settings)
        _run(settings, OCT)
        _check_october(settings)


def test_cli_lists_late_arrivals_and_refuses_an_unknown_novelty(force):
    import json

    from typer.testing import CliRunner

    from audit.cli import app

    settings = _settings(force)
    _schedule(settings, force)
    cfg = str(force / "config.toml")
    out = CliRunner().invoke(app, ["alerts", "list", "--config", cfg, "--period", "2026-10", "--novelty", "late",
                                   "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.stdout)
    assert listed and {a["novelty"] for a in listed} == {"late"}
    assert any(a["late"]["entries"][0]["key"] == "GH900001" for a in listed)
    bad = CliRunner().invoke(app, ["alerts", "list", "--config", cfg, "--novelty", "bogus"])
    assert bad.exit_code == 2 and "--novelty must be one of new, late, carried" in bad.output
    shown = CliRunner().invoke(app, ["alerts", "show", "--config", cfg, str(listed[0]["id"])])
    assert "Reported late" in shown.output


def test_a_late_gift_from_a_supplier_cites_every_payment_its_month_would_have(force):
    """One gift, several payments to the donor within the window: the late alert carries them all,
    as the September audit would have had the gift been declared in time."""
    from audit.store.queries import alert_view
    from rules.api import LIBRARY, compile_rule, load_rules
    from rules.evaluate import evaluate_rule

    settings = _settings(force)
    _run(settings, SEP)
    _edit_gifts(force, add=["GH900002,100446,15/09/2026,20/10/2026,Sheppard Locksmiths Ltd,,Gift,Box of biscuits,"
                            "£30.00,Accepted,100442,21/10/2026"])
    outcome = _run(settings, OCT)
    late = [a for a in _alerts(settings, OCT, "gift_from_recent_supplier") if a.novelty == "late"]
    assert len(late) == 1 and late[0].late["event_period"] == "2026-09"
    store = open_store(settings.store_url)
    try:
        cited = {f.fact_id for f in alert_view(store, late[0].id).facts if f.alias == "purchase"}
    finally:
        store.dispose()
    rule = compile_rule(next(r for r in load_rules([LIBRARY])[0] if r.name == "gift_from_recent_supplier"))
    expected = {fid for f in evaluate_rule(rule, outcome.resolution.frames, SEP, None, "reference")[0]
                if f.dedup == ("GH900002",) for fid in f.facts["purchase"]}
    assert len(expected) > 1 and cited == expected

"""record_run: evidence, idempotent reruns, carry-over / resolved, suppressions, failures."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import factory
from audit.store import lifecycle, record_run
from audit.store.models import Alert, AlertFact, AlertOccurrence, QuarantineRow, Run
from audit.store.queries import alert_view, latest_run, list_alerts, run_view


def count(store, model, *where):
    with store.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_records_evidence_counts_and_sources(store):
    summary = record_run(store, factory.build("2026-10", ["a", "b"]))
    assert summary.status == "succeeded"
    assert summary.counts["alerts_new"] == 2 and summary.counts["rows_quarantined"] == 2
    run = run_view(store, summary.run_id)
    assert run.status == "succeeded" and run.finished_at is not None
    assert [s.top_reasons for s in run.sources] == [[("not a money amount", 2)]]
    assert run.sources[0].rows_read == run.sources[0].rows_accepted + run.sources[0].rows_quarantined
    a = next(x for x in run.alerts if x.subject == "Pa")
    assert a.subject_name == "Officer a" and a.department == "Roads Policing"
    assert a.rule_description.startswith("Accepted gift") and a.runbook == "Ask the approver."
    assert a.params == {"threshold": 2500}
    assert [(f.alias, f.file, f.row) for f in a.facts] == [("gift", "gifts_2026.csv", r) for r in (2, 3, 4)]
    values = a.facts[0].values
    assert values["offered_date"] == "2026-10-01" and values["estimated_value"] == 4500
    assert values["declared_date"] is None  # own register's blank kept, shown as null
    assert "post_title" not in values  # other registers' columns are not carried
    assert {(ln.method, ln.score, ln.source_text) for ln in a.links} == {("fuzzy", 93.5, "ACME Security Limited")}
    assert count(store, QuarantineRow, QuarantineRow.run_id == summary.run_id) == 2


def test_rerun_three_times_keeps_alerts_and_dispositions(store):
    first = record_run(store, factory.build("2026-10", ["a", "b", "c"]))
    alert_id = list_alerts(store, period="2026-10", person="Pb")[0].id
    lifecycle.review(store, alert_id, "in_review", "looking at the approver", "analyst1")
    lifecycle.assign(store, alert_id, "analyst2", "lead")
    for _ in range(3):
        again = record_run(store, factory.build("2026-10", ["a", "b", "c"]))
    assert count(store, Alert) == 3
    assert count(store, AlertOccurrence) == 3  # only the current run's occurrences remain
    assert count(store, AlertFact) == 9
    assert count(store, Run, Run.superseded_by.is_(None)) == 1
    assert count(store, QuarantineRow) == 2
    view = alert_view(store, alert_id)
    assert view.status == "in_review" and view.assignee == "analyst2" and view.novelty == "new"
    assert [(d.status, d.note) for d in view.history] == [("in_review", "looking at the approver")]
    assert latest_run(store, "2026-10").id == again.run_id != first.run_id
    assert run_view(store, first.run_id).alerts == []  # replaced results


def test_carry_over_new_and_resolved_across_three_months(store):
    """State findings (a condition that holds): one no longer found is resolved."""
    s1 = record_run(store, factory.build("2026-08", ["a", "b", "c"], state=True))
    s2 = record_run(store, factory.build("2026-09", ["b", "c", "d"], state=True))
    s3 = record_run(store, factory.build("2026-10", ["c", "e", "f", "g"], state=True))
    c = [s.counts for s in (s1, s2, s3)]
    assert [(x["alerts_new"], x["alerts_carried"], x["alerts_resolved"]) for x in c] == [(3, 0, 0), (1, 2, 1), (3, 1, 2)]
    run = run_view(store, s3.run_id)
    assert {(a.subject, a.novelty, a.first_period) for a in run.alerts} == {
        ("Pc", "carried", "2026-08"), ("Pe", "new", "2026-10"), ("Pf", "new", "2026-10"), ("Pg", "new", "2026-10")}
    assert sorted(a.subject for a in run.resolved) == ["Pb", "Pd"]
    assert [(t["period"], t["new"], t["carried"]) for t in run.trend] == [
        ("2026-08", 3, 0), ("2026-09", 1, 2), ("2026-10", 3, 1)]
    assert count(store, Alert) == 7
    # rerunning the middle month does not change any count
    again = record_run(store, factory.build("2026-09", ["b", "c", "d"], state=True))
    assert (again.counts["alerts_new"], again.counts["alerts_carried"], again.counts["alerts_resolved"]) == (1, 2, 1)


def test_an_event_finding_not_raised_again_is_reported_not_resolved(store):
    """An event (a gift, a claim) is reported in its month; the next month not raising it again does
    not make it "resolved" (it stays open for review)."""
    record_run(store, factory.build("2026-08", ["a", "b", "c"]))
    s2 = record_run(store, factory.build("2026-09", ["b", "c", "d"]))
    assert (s2.counts["alerts_new"], s2.counts["alerts_carried"], s2.counts["alerts_resolved"]) == (1, 2, 0)
    assert run_view(store, s2.run_id).resolved == []
    assert {a.status for a in list_alerts(store, person="Pa")} == {"new"}


def test_suppression_applies_until_it_expires(store, clock):
    record_run(store, factory.build("2026-09", ["a", "b"]))
    alert_id = list_alerts(store, person="Pb")[0].id
    lifecycle.suppress(store, alert_id, "agreed with PSD: known supplier event", clock.now.date() + timedelta(days=10),
                       "analyst1")
    s = record_run(store, factory.build("2026-10", ["a", "b"]))
    assert (s.counts["alerts_carried"], s.counts["alerts_suppressed"]) == (1, 1)
    assert [a.subject for a in run_view(store, s.run_id).alerts] == ["Pa"]
    assert [a.subject for a in list_alerts(store, period="2026-10", include_suppressed=True)] == ["Pb", "Pa"]
    clock.now += timedelta(days=11)  # expired: stops applying by itself
    s = record_run(store, factory.build("2026-11", ["a", "b"]))
    assert (s.counts["alerts_carried"], s.counts["alerts_suppressed"]) == (2, 0)


def test_rule_subject_suppression_covers_new_findings_of_that_person(store, clock):
    record_run(store, factory.build("2026-09", ["a"]))
    alert_id = list_alerts(store, person="Pa")[0].id
    lifecycle.suppress(store, alert_id, "authorised undercover role", clock.now.date() + timedelta(days=30),
                       "lead", scope="rule_subject")
    ri = factory.build("2026-10", ["a", "b"])
    ri.findings.append(ri.findings[0].__class__(**{**ri.findings[0].__dict__, "dedup": ("a-other",)}))
    s = record_run(store, ri)
    assert s.counts["alerts_suppressed"] == 2 and s.counts["alerts_new"] == 1


def test_failed_run_keeps_the_previous_results_current(store):
    good = record_run(store, factory.build("2026-10", ["a", "b"]))
    bad = record_run(store, factory.build("2026-10", [], status="failed"))
    assert run_view(store, bad.run_id).status == "failed"
    assert [a.subject for a in list_alerts(store, period="2026-10")] == ["Pb", "Pa"]
    assert run_view(store, good.run_id).alerts  # still there


def test_partial_run_does_not_resolve_alerts_it_could_not_evaluate(store):
    vet = factory.VET_RULE
    record_run(store, factory.build("2026-09", ["a"], rule=vet))
    s = record_run(store, factory.build("2026-10", [], rule=vet, status="partial", failed_register="vetting"))
    assert s.counts["alerts_resolved"] == 0 and s.counts["sources_failed"] == 1
    assert run_view(store, s.run_id).incomplete


def test_failure_inside_the_transaction_leaves_previous_results(store, monkeypatch):
    import audit.store.writer as writer

    good = record_run(store, factory.build("2026-10", ["a", "b"]))

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "_write_evidence", boom)
    with pytest.raises(RuntimeError):
        record_run(store, factory.build("2026-10", ["a", "b", "c"]))
    runs = {r.id: r for r in [run_view(store, good.run_id, evidence=False)]}
    assert runs[good.run_id].status == "succeeded" and len(runs[good.run_id].alerts) == 2
    assert count(store, Alert) == 2 and count(store, QuarantineRow) == 2
    with store.read() as s:
        failed = s.execute(select(Run).where(Run.status == "failed")).scalar_one()
    assert "disk full" in failed.error
    monkeypatch.undo()
    assert record_run(store, factory.build("2026-10", ["a", "b", "c"])).counts["alerts_new"] == 3


def test_bad_input_is_refused_before_writing(store):
    ri = factory.build("2026-10", ["a"])
    ri.facts = ri.facts.iloc[1:]
    with pytest.raises(ValueError, match="not in RunInput.facts"):
        record_run(store, ri)
    assert count(store, Run) == 0

"""Dispositions, suppression rules, assignment, deliveries, and the hash-chained audit trail."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

import factory
from audit.store import lifecycle, record_run, trail
from audit.store.queries import alert_view, list_alerts, list_runs, run_view


@pytest.fixture
def alert_id(store):
    record_run(store, factory.build("2026-10", ["a"]))
    return list_alerts(store)[0].id


def test_disposition_path_reopen_and_refusals(store, alert_id):
    with pytest.raises(lifecycle.LifecycleError, match="note is required"):
        lifecycle.review(store, alert_id, "in_review", "  ", "analyst1")
    lifecycle.review(store, alert_id, "in_review", "checking", "analyst1")
    with pytest.raises(lifecycle.LifecycleError, match="it can move to no_further_action"):
        lifecycle.review(store, alert_id, "new", "back", "analyst1")
    lifecycle.review(store, alert_id, "referred_to_ccu", "donor is a supplier", "analyst1")
    with pytest.raises(lifecycle.LifecycleError, match="is referred_to_ccu; it can move to in_review"):
        lifecycle.review(store, alert_id, "false_positive", "changed my mind", "analyst2")
    lifecycle.review(store, alert_id, "in_review", "new intelligence", "analyst2")  # reopen
    with pytest.raises(lifecycle.LifecycleError, match="unknown status"):
        lifecycle.review(store, alert_id, "closed", "x", "analyst2")
    view = alert_view(store, alert_id)
    assert view.status == "in_review"
    assert [(d.status, d.reviewer) for d in view.history] == [
        ("in_review", "analyst1"), ("referred_to_ccu", "analyst1"), ("in_review", "analyst2")]
    assert [e["action"] for e in trail.events(store, obj=f"alert:{alert_id}")] == [
        "alert.reopen", "alert.review", "alert.review"]
    with pytest.raises(lifecycle.LifecycleError, match="no alert 999"):
        lifecycle.review(store, 999, "in_review", "x", "y")


def test_suppression_needs_reason_and_a_near_future_expiry(store, alert_id, clock):
    today = clock.now.date()
    with pytest.raises(lifecycle.LifecycleError, match="must be in the future"):
        lifecycle.suppress(store, alert_id, "ok", today, "lead")
    with pytest.raises(lifecycle.LifecycleError, match="at most 365 days"):
        lifecycle.suppress(store, alert_id, "ok", today + timedelta(days=366), "lead")
    with pytest.raises(lifecycle.LifecycleError, match="reason is required"):
        lifecycle.suppress(store, alert_id, "", today + timedelta(days=5), "lead")
    sup = lifecycle.suppress(store, alert_id, "known event", today + timedelta(days=5), "lead")
    assert [s.id for s in lifecycle.active_suppressions(store, alert_id)] == [sup.id]
    clock.now += timedelta(days=6)
    assert lifecycle.active_suppressions(store, alert_id) == []


def test_assign_delivery_and_view_are_audit_events(store, alert_id):
    run_id = list_runs(store)[0].id
    lifecycle.assign(store, alert_id, "analyst3", "lead")
    lifecycle.record_delivery(store, run_id, "ccu-folder", "failed", "disk full", attempts=3)
    lifecycle.log_view(store, alert_id, "analyst3")
    actions = [e["action"] for e in trail.events(store)]
    assert actions[:3] == ["alert.view", "delivery", "alert.assign"]
    assert {"run.start", "run.record"} <= set(actions)
    assert run_view(store, run_id).deliveries[0]["error"] == "disk full"
    assert trail.verify(store) is None


def test_verify_finds_the_edited_event(store, alert_id):
    for i in range(5):
        lifecycle.log_view(store, alert_id, f"user{i}")
    assert trail.verify(store) is None
    events = {e["seq"]: e for e in trail.events(store, limit=1000)}
    target = sorted(events)[3]
    with store.write() as s:  # someone edits a row directly in the database
        s.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE seq = :q"), {"q": target})
    assert trail.verify(store) == target


def test_verify_finds_a_deleted_event(store, alert_id):
    for i in range(3):
        lifecycle.log_view(store, alert_id, f"user{i}")
    with store.write() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    assert trail.verify(store) == 2

"""Direct edits to the store are found by `audit verify` and named (SQLite and PostgreSQL).

A populated store (runs with a rerun, a partial and a failed run, reviews with a reopen, an
assignment from the CLI and one from the web queue, a suppression, a delivery, a publish, web
accounts added, disabled, re-enabled and given a new password) verifies with no false alarm; then
each of the twelve edits an insider with write access to the database could make is made with
plain SQL and `audit verify` must fail naming it. The truncation cases rely on the local anchor
file (data/trail-anchor.json), as a deployment does after each publish.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

import factory
from audit.cli import app
from audit.store import anchor, lifecycle, migrate, record_run, trail
from audit.store.models import AlertFact, AlertOccurrence, Disposition, Run
from audit.store.queries import list_alerts
from audit.store.record import mark_published
from audit.store.trail_check import check
from audit.web import users
from audit.web.queue import take_next

runner = CliRunner()
KEY = "tamper-test-key-0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def trail_key(monkeypatch):
    monkeypatch.setenv(trail.KEY_ENV, KEY)
    monkeypatch.delenv(trail.PREVIOUS_KEYS_ENV, raising=False)


def flat(s: str) -> str:
    return " ".join(s.split())


def verify(config, *extra):
    res = runner.invoke(app, ["audit", "verify", "--config", str(config), *extra])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output + res.stderr
    return res.exit_code, flat(res.stdout + " " + res.stderr)


@dataclass
class World:
    alert: int  # reviewed, reopened and assigned: has dispositions
    other: int  # suppressed
    disposition: int
    suppression: int
    run: int  # the 2026-08 run
    occurrence: int  # alert's occurrence in that run
    fact: int  # one of its facts
    fact_id: str
    head: int  # anchored head


def populate(store, clock, data_dir) -> World:
    aug = record_run(store, factory.build("2026-08", ["a", "b"]))
    record_run(store, factory.build("2026-09", ["a", "c"], state=True))
    record_run(store, factory.build("2026-09", ["a", "c", "d"], state=True))  # a rerun replaces the first
    oct_ = record_run(store, factory.build("2026-10", ["e"], status="partial", failed_register="workforce"))
    record_run(store, factory.build("2026-11", [], status="failed"))
    by_subject = {a.subject: a.id for a in list_alerts(store)}
    alert, other = by_subject["Pa"], by_subject["Pb"]
    lifecycle.review(store, alert, "in_review", "checking the approver", "analyst1")
    d = lifecycle.review(store, alert, "referred_to_ccu", "the donor is a supplier", "analyst1")
    lifecycle.review(store, alert, "in_review", "new intelligence", "lead")  # reopen
    lifecycle.assign(store, alert, "analyst2", "lead")
    sup = lifecycle.suppress(store, other, "known hospitality event", clock.now.date() + timedelta(days=30), "lead")
    lifecycle.record_delivery(store, oct_.run_id, "ccu-folder", "delivered")
    mark_published(store, oct_.run_id, details={"folder": "x"})
    users.add_user(store, "admin1", "admin", "a long admin password", actor="setup")
    jo = users.add_user(store, "jo", "reviewer", "a long reviewer password", actor="admin1")
    users.set_active(store, "jo", False, actor="admin1")
    users.set_active(store, "jo", True, actor="admin1")
    users.set_password(store, "jo", "another long password", actor="admin1")
    assert take_next(store, jo) is not None  # the web queue's own assignment
    lifecycle.log_view(store, alert, "analyst2")
    with store.read() as s:
        occ = s.execute(select(AlertOccurrence).where(AlertOccurrence.alert_id == alert,
                                                      AlertOccurrence.run_id == aug.run_id)).scalar_one()
        fact = s.execute(select(AlertFact).where(AlertFact.occurrence_id == occ.id)
                         .order_by(AlertFact.id)).scalars().first()
    head = anchor.record(store, data_dir)
    return World(alert=alert, other=other, disposition=d.id, suppression=sup.id, run=aug.run_id,
                 occurrence=occ.id, fact=fact.id, fact_id=fact.fact_id, head=head["seq"])


@pytest.fixture
def world(store, clock, tmp_path) -> World:
    return populate(store, clock, tmp_path / "data")


def sql(store, statement: str, **params) -> None:
    with store.write() as s:
        s.execute(text(statement), params)


def test_an_untampered_store_verifies_with_no_false_alarm(store, world, config_file, tmp_path):
    report = check(store, anchor.read(anchor.local_file(tmp_path / "data")))
    assert report.intact, report.problems
    assert report.warnings == [] and report.keyed_from == 1 and report.key_id == trail.key_id(KEY.encode())
    assert report.rows > 20 and report.anchors == 1
    code, out = verify(config_file)
    assert code == 0 and "audit trail intact" in out, out
    # the bookkeeping events stay out of the everyday listings
    assert not [e for e in trail.events(store, limit=1000) if e["action"].startswith("trail.")]
    assert trail.events(store, action=trail.DIGESTS, limit=1000)
    assert trail.verify(store) is None


def rehash(store, from_seq: int, key: bytes | None, edit=None) -> None:
    """What an attacker without the key does: edit events, then recompute the chain from there."""
    with store.write() as s:
        rows = list(trail.stream(s))
        prev = next((r.hash for r in rows if r.seq == from_seq - 1), trail.GENESIS)
        for r in rows:
            if r.seq < from_seq:
                continue
            details = edit(r) if edit else r.details
            h = trail.event_hash(prev, r.seq, r.at, r.actor, r.action, r.object, details, key)
            s.execute(text("UPDATE audit_events SET details = :d, prev_hash = :p, hash = :h WHERE seq = :q"),
                      {"d": json.dumps(details), "p": prev, "h": h, "q": r.seq})
            prev = h


def unkey(store) -> int:
    """Rewrite the trail as an unkeyed one with no digests (as code before migration 0007 wrote
    it, or as an attacker without the key could); returns how many events are left."""
    with store.write() as s:
        rows = [r for r in trail.stream(s) if not r.action.startswith("trail.")]
        s.execute(text("DELETE FROM audit_events"))
        prev = trail.GENESIS
        for seq, r in enumerate(rows, start=1):
            details = {k: v for k, v in r.details.items() if k not in ("digests", "values", "supersedes")}
            h = trail.event_hash(prev, seq, r.at, r.actor, r.action, r.object, details)
            s.execute(text("INSERT INTO audit_events (seq, at, actor, action, object, details, prev_hash, hash) "
                           "VALUES (:q, :at, :ac, :a, :o, :d, :p, :h)"),
                      {"q": seq, "at": r.at.replace(tzinfo=None) if store.is_sqlite else r.at, "ac": r.actor,
                       "a": r.action, "o": r.object, "d": json.dumps(details), "p": prev, "h": h})
            prev = h
    return len(rows)


def _review_seq(store, alert: int) -> int:
    return max(e["seq"] for e in trail.events(store, obj=f"alert:{alert}", action="alert.reopen"))


CASES = {
    "alert status": (lambda st, w: sql(st, "UPDATE alerts SET status = 'false_positive' WHERE id = :a", a=w.alert),
                     lambda w: [f"alert {w.alert}: status differs from the trail",
                                "it is 'false_positive', the trail says 'in_review'"]),
    "disposition note": (lambda st, w: sql(st, "UPDATE dispositions SET note = 'nothing in it' WHERE id = :d",
                                           d=w.disposition),
                         lambda w: [f"disposition {w.disposition} of alert {w.alert}: note differs from the trail"]),
    "disposition deleted": (lambda st, w: sql(st, "DELETE FROM dispositions WHERE id = :d", d=w.disposition),
                            lambda w: [f"disposition {w.disposition} (alert {w.alert}) was deleted"]),
    "alert title": (lambda st, w: sql(st, "UPDATE alerts SET title = 'Routine declaration' WHERE id = :a", a=w.alert),
                    lambda w: [f"alert {w.alert}: title differs from the trail"]),
    "fact values": (lambda st, w: sql(st, 'UPDATE alert_facts SET "values" = :v WHERE id = :f', f=w.fact,
                                      v=json.dumps({"estimated_value": 1500, "donor_name": "Acme Security Ltd"})),
                    lambda w: [f"alert {w.alert}, its evidence in run {w.run} (2026-08): fact {w.fact_id} (gift) "
                               "was changed"]),
    "fact deleted": (lambda st, w: sql(st, "DELETE FROM alert_facts WHERE id = :f", f=w.fact),
                     lambda w: [f"alert {w.alert}, its evidence in run {w.run} (2026-08): 1 fact the trail "
                                "recorded is missing (the trail has 3, the store 2)"]),
    "run counts": (lambda st, w: sql(st, "UPDATE runs SET alerts_new = alerts_new - 1 WHERE id = :r", r=w.run),
                   lambda w: [f"run {w.run} (2026-08): alerts_new differs from the trail"]),
    "occurrence values": (lambda st, w: sql(st, 'UPDATE alert_occurrences SET "values" = :v WHERE id = :o',
                                            o=w.occurrence, v=json.dumps({"gift.estimated_value": 100})),
                          lambda w: [f"alert {w.alert}, its evidence in run {w.run} (2026-08): values differs "
                                     "from the trail"]),
    "newest events deleted": (lambda st, w: sql(st, "DELETE FROM audit_events WHERE seq > :n", n=w.head - 3),
                              lambda w: [f"the trail was cut short: event seq {w.head}, anchored in "
                                         f"trail-anchor.json", f"the trail now ends at seq {w.head - 3}"]),
    "whole trail deleted": (lambda st, w: sql(st, "DELETE FROM audit_events"),
                            lambda w: ["the trail was cut short", "the trail is now empty",
                                       f"alert {w.alert} is not in the trail"]),
    "chain recomputed with sha256": (
        lambda st, w: (sql(st, "UPDATE alerts SET status = 'false_positive' WHERE id = :a", a=w.alert),
                       rehash(st, _review_seq(st, w.alert), None,
                              lambda r: {**r.details, "to": "false_positive"} if r.seq == _review_seq(st, w.alert)
                              else r.details)),
        lambda w: ["the audit trail is broken at event seq", "re-hashed without the key"]),
    "chain recomputed with a wrong key": (
        lambda st, w: (sql(st, "UPDATE dispositions SET note = 'nothing in it' WHERE id = :d", d=w.disposition),
                       rehash(st, 1, b"a key the attacker made up")),
        lambda w: ["the audit trail is broken at event seq 1", "re-hashed without the key"]),
    "chain recomputed as never keyed": (
        lambda st, w: (sql(st, "UPDATE alerts SET title = 'Routine declaration' WHERE id = :a", a=w.alert),
                       unkey(st)),
        lambda w: ["none of the trail's", "events is keyed: the trail was rewritten without the key",
                   f"alert {w.alert} is not in the trail", "anchored in trail-anchor.json"]),
    "suppression reason and expiry": (
        lambda st, w: sql(st, "UPDATE suppressions SET reason = 'approved by the chief', expires_on = :e WHERE id = :s",
                          s=w.suppression, e="2099-12-31"),
        lambda w: [f"suppression {w.suppression} of alert {w.other}: expires_on, reason differ from the trail"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_direct_edit_is_found_and_named(store, world, config_file, case):
    tamper, expected = CASES[case]
    tamper(store, world)
    code, out = verify(config_file)
    assert code == 1, out
    for phrase in expected(world):
        assert phrase in out, f"{case}: {phrase!r} not in {out}"


def test_deleting_a_decision_s_events_is_found_without_an_anchor(store, world, config_file, tmp_path):
    anchor.local_file(tmp_path / "data").unlink()
    lifecycle.review(store, world.other, "false_positive", "hospitality was declared", "analyst1")
    newest = trail.events(store, limit=1)[0]["seq"]
    sql(store, "DELETE FROM audit_events WHERE seq = :n", n=newest)  # the decision's event, the newest
    code, out = verify(config_file)
    assert code == 1
    assert f"alert {world.other}: status differs from the trail" in out
    with store.read() as s:
        newest_disposition = max(s.execute(select(Disposition.id)).scalars())
    assert f"disposition {newest_disposition} of alert {world.other} is not in the trail" in out


def test_an_inserted_run_is_not_in_the_trail(store, world, config_file):
    with store.write() as s:  # a row added behind the application's back
        s.add(Run(period="2026-12", status="succeeded", engine="reference", actor="x", started_at=store.now()))
    code, out = verify(config_file)
    assert code == 1 and "(2026-12) is not in the trail" in out


def test_an_anchor_from_a_delivered_manifest_is_checked(store, world, config_file, tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"run_id": 4, "trail_head": {"seq": world.head, "hash": "f" * 64}}))
    code, out = verify(config_file, "--anchor", str(manifest))
    assert code == 1 and f"event seq {world.head} is not the one anchored in manifest manifest.json of run 4" in out
    manifest.write_text(json.dumps({"run_id": 4}))
    res = runner.invoke(app, ["audit", "verify", "--config", str(config_file), "--anchor", str(manifest)])
    assert res.exit_code == 2 and "has no trail head" in flat(res.stderr)


def test_a_change_of_key(store, clock, monkeypatch, tmp_path):
    monkeypatch.delenv(trail.KEY_ENV)  # the quick start: the development key, with a warning
    populate(store, clock, tmp_path / "data")
    report = check(store)
    assert report.intact and report.key_id == trail.DEV_KEY_ID and "development key" in report.warnings[0]
    monkeypatch.setenv(trail.KEY_ENV, KEY)  # going live: the public development key needs no endorsement
    lifecycle.log_view(store, 1, "analyst1")
    report = check(store)
    assert report.intact and report.key_id == trail.key_id(KEY.encode()) and report.warnings == []
    monkeypatch.setenv(trail.KEY_ENV, "the next key, rotated by the administrator")
    monkeypatch.setenv(trail.PREVIOUS_KEYS_ENV, KEY)  # a rotation endorsed by the previous key
    lifecycle.log_view(store, 1, "analyst1")
    assert check(store).intact
    monkeypatch.delenv(trail.PREVIOUS_KEYS_ENV)  # a verifier without the previous key cannot prove it
    report = check(store)
    assert not report.intact and any("which this machine does not have" in p for p in report.problems)
    monkeypatch.setenv(trail.KEY_ENV, "a key nobody was told about")  # switched without the key before it
    lifecycle.log_view(store, 1, "analyst1")
    monkeypatch.setenv(trail.PREVIOUS_KEYS_ENV, f"{KEY},the next key, rotated by the administrator")
    report = check(store)
    assert any("without the endorsement of the key before it" in p for p in report.problems), report.problems


def test_a_trail_written_before_keying_still_verifies_and_is_proved_from_the_upgrade(store, store_url, clock, tmp_path,
                                                                                  config_file):
    """Old, unkeyed events (before migration 0007) keep verifying as sha256; the upgrade keys the
    trail and records a baseline of every row, so an edit after it is found."""
    w = populate(store, clock, tmp_path / "data")
    anchor.local_file(tmp_path / "data").unlink()
    legacy = unkey(store)  # what code before 0007 wrote: unkeyed, no digests
    sql(store, "ALTER TABLE alert_occurrences DROP COLUMN weakest_link")  # added by 0008, after 0006
    for table in ("shadow_findings", "shadow_rule_runs", "rule_promotions",  # added by 0009
                  "ledger_sources", "access_timelines"):  # added by 0010, 0011
        sql(store, f"DROP TABLE {table}")
    sql(store, "UPDATE alembic_version SET version_num = '0006_run_published'")
    assert trail.verify(store) is None
    migrate.upgrade(store_url)
    events = trail.events(store, limit=10_000, internal=True)
    assert [e["action"] for e in events if e["seq"] == legacy + 1] == [trail.MARKER]
    assert any(e["action"] == trail.BASELINE for e in events)
    report = check(store)
    assert report.intact and report.keyed_from == legacy + 1, report.problems
    code, out = verify(config_file)
    assert code == 0, out
    sql(store, "UPDATE alerts SET title = 'Routine declaration' WHERE id = :a", a=w.alert)
    sql(store, "UPDATE alerts SET status = 'new' WHERE id = :a", a=w.alert)
    code, out = verify(config_file)
    assert code == 1 and f"alert {w.alert}: title differs from the trail" in out
    assert f"alert {w.alert}: status differs from the trail" in out and "the trail says 'in_review'" in out

"""Rule versions keep the rule's lifecycle status (migration 0004): upgrade of a store with rows,
round trip through record_run, deprecated rules recorded but not evaluated, a version coming back."""
from __future__ import annotations

from dataclasses import replace

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

import factory
from audit.store import migrate, record_run
from audit.store.db import make_engine
from audit.store.models import RuleVersion, RunRule
from audit.store.rule_versions import current_rule_versions

GIFT = replace(factory.GIFT_RULE, status="stable")


def rule_rows(store) -> list[tuple[str, str, str]]:
    with store.read() as s:
        return [(rv.name, rv.version[:1], rv.status)
                for rv in s.execute(select(RuleVersion).order_by(RuleVersion.id)).scalars()]


def evaluated_by(store, run_id: int) -> set[str]:
    with store.read() as s:
        return set(s.execute(select(RuleVersion.name).join(RunRule, RunRule.rule_version_id == RuleVersion.id)
                             .where(RunRule.run_id == run_id)).scalars())


def current(store) -> dict[str, tuple[str, str]]:
    with store.read() as s:
        return {rv.name: (rv.version[:1], rv.status) for rv in current_rule_versions(s).values()}


def test_migrations_are_one_line_with_0004_after_0003():
    scripts = ScriptDirectory.from_config(migrate._config())
    assert len(scripts.get_heads()) == 1
    assert scripts.get_revision("0004_rule_status").down_revision == "0003"
    chain = [r.revision for r in scripts.walk_revisions("base", "0004_rule_status")]
    assert chain == ["0004_rule_status", "0003", "0002", "0001"]


def test_upgrade_from_0003_keeps_rows_says_unrecorded_and_backfills_the_current_run(store_url):
    migrate.upgrade(store_url, "0003")
    engine = make_engine(store_url)
    try:
        with engine.begin() as c:
            for run_id in (1, 2):
                c.execute(text("INSERT INTO runs (id, period, status, engine, actor, started_at, sources_loaded,"
                               " sources_failed, rows_read, rows_accepted, rows_quarantined, rules_evaluated,"
                               " findings, alerts_new, alerts_carried, alerts_resolved, alerts_suppressed)"
                               " VALUES (:id, '2026-10', 'succeeded', 'reference', 'cli', :at,"
                               " 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"), {"id": run_id, "at": "2026-11-01 02:00:00"})
            for rv_id, version in ((1, "a" * 64), (2, "b" * 64), (3, "c" * 64)):
                c.execute(text("INSERT INTO rule_versions (id, rule_id, name, version, level, title, description,"
                               " runbook, registers, sensitivity) VALUES (:id, 'r1', 'gift_rule', :v, 'high',"
                               " 'Gift', '', '', '[]', 'internal')"), {"id": rv_id, "v": version})
            c.execute(text("INSERT INTO run_rules (run_id, rule_version_id) VALUES (1, 1), (2, 1), (1, 2)"))
        migrate.upgrade(store_url, "0004_rule_status")
        with engine.connect() as c:
            rows = c.execute(text("SELECT id, status, current_since_run FROM rule_versions ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "unrecorded", 2), (2, "unrecorded", 1), (3, "unrecorded", None)]
        migrate.downgrade(store_url, "0003")
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM rule_versions")).scalar() == 3
            columns = c.execute(text("SELECT * FROM rule_versions")).keys()
        assert "status" not in columns and "current_since_run" not in columns
    finally:
        engine.dispose()


def test_status_round_trips_and_deprecated_rules_are_recorded_but_not_evaluated(store):
    old = replace(factory.VET_RULE, status="deprecated")
    summary = record_run(store, replace(factory.build("2026-10", ["a"], rule=GIFT), deprecated_rules=[old]))
    assert rule_rows(store) == [("gifts_over_threshold_unapproved", "a", "stable"),
                                ("vetting_expired", "b", "deprecated")]
    assert evaluated_by(store, summary.run_id) == {"gifts_over_threshold_unapproved"}
    assert summary.counts["rules_evaluated"] == 1


def test_a_status_change_is_a_new_version_and_coming_back_makes_the_old_one_current(store):
    record_run(store, factory.build("2026-09", ["a"], rule=GIFT))
    deprecated = replace(GIFT, version="d" * 64, status="deprecated")
    record_run(store, replace(factory.build("2026-10", [], rule=GIFT), rules=[], deprecated_rules=[deprecated]))
    assert current(store) == {"gifts_over_threshold_unapproved": ("d", "deprecated")}
    record_run(store, factory.build("2026-11", ["a"], rule=GIFT))  # un-deprecated: the same content again
    assert current(store) == {"gifts_over_threshold_unapproved": ("a", "stable")}
    assert len(rule_rows(store)) == 2


def test_an_unrecorded_version_learns_its_status_when_a_run_sees_it_again(store):
    unknown = replace(GIFT, status="unrecorded")  # what migration 0004 leaves on older rows
    record_run(store, factory.build("2026-09", ["a"], rule=unknown))
    assert rule_rows(store) == [("gifts_over_threshold_unapproved", "a", "unrecorded")]
    record_run(store, factory.build("2026-10", ["a"], rule=GIFT))
    assert rule_rows(store) == [("gifts_over_threshold_unapproved", "a", "stable")]


def test_a_rule_both_evaluated_and_deprecated_is_refused(store):
    with pytest.raises(ValueError, match="both evaluated and in RunInput.deprecated_rules"):
        record_run(store, replace(factory.build("2026-10", ["a"], rule=GIFT), deprecated_rules=[GIFT]))


def test_a_rerun_applies_the_newest_sensitivity_to_a_known_version(store):
    """Sensitivity is derived, not part of the version: a corrected derivation reaches old alerts."""
    record_run(store, factory.build("2026-10", ["a"], rule=replace(GIFT, sensitivity="sensitive")))
    record_run(store, factory.build("2026-11", ["a"], rule=replace(GIFT, sensitivity="internal")))
    with store.read() as s:
        assert [rv.sensitivity for rv in s.execute(select(RuleVersion)).scalars()] == ["internal"]

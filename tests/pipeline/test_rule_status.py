"""A run records each rule's lifecycle status; the library's deprecated rules are recorded, not run."""
from __future__ import annotations

import shutil

from sqlalchemy import select

from audit import registers
from audit import settings as settings_mod
from audit.period import Period
from audit.pipeline import run_period
from audit.store.db import open_store
from audit.store.models import Alert, RuleVersion, RunRule
from rules.api import LIBRARY, compile_rule, load_rules

LIBRARY_RULE = LIBRARY / "cross" / "gift_from_recent_supplier.yaml"


def test_a_run_records_statuses_and_the_deprecated_rules_it_did_not_run(force, tmp_path):
    home = tmp_path / "force"
    shutil.copytree(force, home, ignore=shutil.ignore_patterns("data"))
    own = tmp_path / "own_rules"
    own.mkdir()
    (own / "old_gift_from_supplier.yaml").write_text(
        LIBRARY_RULE.read_text(encoding="utf-8")
        .replace("id: 2a9e4203-1e51-4016-a928-9464c95ed3ea", "id: 2a9e4203-1e51-4016-a928-000000000001")
        .replace("name: gift_from_recent_supplier", "name: old_gift_from_supplier")
        .replace("status: stable", "status: deprecated"), encoding="utf-8")
    settings = settings_mod.load(home / "config.toml")
    settings.rules.folders.append(str(own))

    outcome = run_period(settings, Period(2026, 10), engine="reference", publish=False)

    assert outcome.status == "succeeded", outcome.error
    # the library's rules over registers this force has a source for (it exports no access logs)
    sourced = {src.register for src in settings.sources} | {n for n in registers.names() if registers.get(n).generated}
    library = {r.name: r.status for r in load_rules([LIBRARY])[0] if set(compile_rule(r).registers) <= sourced}
    assert len(library) >= 40
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            recorded = {rv.name: rv.status for rv in s.execute(select(RuleVersion)).scalars()}
            evaluated = set(s.execute(select(RuleVersion.name).join(RunRule)
                                      .where(RunRule.run_id == outcome.run_id)).scalars())
            old_alerts = s.execute(select(Alert).where(Alert.rule_name == "old_gift_from_supplier")).all()
    finally:
        store.dispose()
    assert recorded == {**library, "old_gift_from_supplier": "deprecated"}
    assert set(recorded.values()) >= {"stable", "test", "deprecated"}
    assert evaluated == set(library) and old_alerts == []
    assert outcome.summary.counts["rules_evaluated"] == len(library)

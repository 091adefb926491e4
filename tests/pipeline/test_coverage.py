"""A register with no loaded source: the rules that read it are not run, and the run says so.

Without this, an `absent` rule accused everyone: with no vetting source, every member of staff
in a vetted post "held no clearance" (481 alerts on the sample instead of 1)."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from audit import settings as settings_mod
from audit.period import Period
from audit.pipeline import run_period
from audit.store.db import open_store
from audit.store.models import Alert, RuleVersion, RunRule

VETTING_RULES = {"vetting_expired_or_expiring", "vetting_leaver_live_clearance",
                 "vetting_no_review_after_new_association", "vetting_no_review_after_new_interest",
                 "vetting_post_requires_higher_level"}


def _run(force, tmp_path, change):
    home = tmp_path / "force"
    shutil.copytree(force, home, ignore=shutil.ignore_patterns("data"))
    settings = settings_mod.load(home / "config.toml")
    change(settings)
    outcome = run_period(settings, Period(2026, 10), engine="reference", publish=False)
    store = open_store(settings.store_url)
    try:
        with store.read() as s:
            evaluated = set(s.execute(select(RuleVersion.name).join(RunRule)
                                      .where(RunRule.run_id == outcome.run_id)).scalars())
            alerted = set(s.execute(select(Alert.rule_name)).scalars())
    finally:
        store.dispose()
    return outcome, evaluated, alerted


@pytest.mark.parametrize("how", ["not configured", "failed to load"])
def test_rules_over_a_register_without_a_loaded_source_are_not_run_and_said(force, tmp_path, how):
    def change(settings):
        vetting = next(s for s in settings.sources if s.register == "vetting")
        if how == "not configured":
            settings.sources.remove(vetting)
        else:
            vetting.path = "no-such-file.xlsx"

    outcome, evaluated, alerted = _run(force, tmp_path, change)
    assert not evaluated & VETTING_RULES and not alerted & VETTING_RULES
    assert "gift_from_recent_supplier" in evaluated  # the other registers' rules still ran
    assert "5 rule(s) not run because no source for the vetting" in outcome.error
    assert all(name in outcome.error for name in VETTING_RULES)
    assert outcome.status == ("succeeded" if how == "not configured" else "partial")


def test_an_absent_rule_is_not_run_over_a_register_one_of_whose_sources_failed(force, tmp_path):
    """Two vetting sources, one fails: the vetting rules that look for a missing clearance would accuse
    the holders of clearances in the failed source, so they are not run; the others run on what loaded."""
    def change(settings):
        vetting = next(s for s in settings.sources if s.register == "vetting")
        broken = vetting.model_copy(update={"name": "vetting_legacy", "path": "no-such-file.xlsx"})
        settings.sources.append(broken)

    outcome, evaluated, alerted = _run(force, tmp_path, change)
    assert outcome.status == "partial"
    absent = {"vetting_post_requires_higher_level", "vetting_no_review_after_new_association",
              "vetting_no_review_after_new_interest"}
    assert not evaluated & absent and not alerted & absent
    assert "vetting_expired_or_expiring" in evaluated  # a presence rule still runs on the loaded source
    assert "the vetting clearances and aftercare register is incomplete (source vetting_legacy did not load) " \
           "and they look for what is missing from it" in outcome.error

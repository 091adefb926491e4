"""The access-log generator (audit/generator/access_logs.py) on a small generated force: its files
load through the real connectors with nothing quarantined, its truth names rows that exist, and the
access rules (rules/library/access) find every planted case they can express and no decoy, on both
engines with identical findings."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from audit.generator import generate
from audit.generator.access_logs import generate_access_logs
from audit.period import Period
from rules.api import LIBRARY, compile_rule, load_rules
from rules.evaluate import evaluate_rule

RULES = [r for r in load_rules([LIBRARY])[0] if Path(r.file).parent.name == "access"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[dict, dict[str, pd.DataFrame]]:
    """A small force with a month of access logs (5% of the realistic rates), its access truth, and
    the registers the access rules read, loaded through the connectors and entity resolution."""
    import connectors
    from audit import settings
    from audit.entities import resolve

    out = tmp_path_factory.mktemp("access_force")
    generate(out, seed=3, months=12, end="2026-10", scale=0.15)
    generate_access_logs(out, seed=3, rate=0.05, add_sources=True)
    truth = json.loads((out / "access_truth.json").read_text(encoding="utf-8"))
    cfg = settings.load(out / "config.toml")
    wanted = {"workforce", "absence", "notifiable_associations", "system_access", "record_subjects"}
    load = connectors.load_sources([s for s in cfg.sources if s.register in wanted], cfg.base_dir)
    assert not load.failures
    by_register: dict[str, list[pd.DataFrame]] = {}
    for f in load.frames:
        by_register.setdefault(f.register, []).append(f.df)
        if f.register in ("system_access", "record_subjects"):
            assert len(f.quarantine) == 0, f.quarantine.head()
    raw = {k: pd.concat(v, ignore_index=True) for k, v in by_register.items()}
    return truth, resolve(raw, cfg.entities).frames


def test_truth_names_rows_of_the_log(world):
    truth, frames = world
    log = frames["system_access"]
    assert truth["rows"]["system_access"] == len(log)
    ids = set(log["access_id"])
    staff = set(frames["workforce"]["person_id"])
    kinds = {s["kind"] for s in truth["scenarios"]}
    assert {"no_work_reason", "associate_record_viewed", "self_search", "colleague_search",
            "after_assignment_ended", "during_long_sickness"} <= kinds, truth["not_planted"]
    for item in truth["scenarios"] + truth["decoys"]:
        assert item["access_count"] >= 1 and set(item["access_ids"]) <= ids, item["id"]
        assert set(item["people"]) <= staff
        rows = log[log["access_id"].isin(item["access_ids"])]
        assert set(rows["person_id"]) == {item["people"][0]}, item["id"]


def test_no_work_reason_views_are_of_vulnerable_records_the_user_has_no_link_to(world):
    truth, frames = world
    log, subj = frames["system_access"], frames["record_subjects"]
    victims = subj[(subj["role"] == "victim")]
    flagged = victims[victims[["domestic_abuse", "sexual_offence", "child"]].fillna(False).any(axis=1)]
    for item in (s for s in truth["scenarios"] if s["kind"] == "no_work_reason"):
        rows = log[log["access_id"].isin(item["access_ids"])]
        assert set(rows["record_id"]) <= set(flagged["record_id"])
        linked = subj[subj["person_id"] == item["people"][0]]["record_id"]
        assert not set(rows["record_id"]) & set(linked)


def _found(rule, frames, engine) -> tuple[set[str], list]:
    """The access ids of the log rows the findings cite (under whichever alias reads the log)."""
    compiled = compile_rule(rule)
    findings, _ = evaluate_rule(compiled, frames, Period.parse("2026-10"), engine=engine)
    log = frames["system_access"]
    access_id = dict(zip(log["fact_id"], log["access_id"]))
    aliases = [i.alias for i in compiled.inputs if i.register == "system_access"]
    cited = {access_id[x] for f in findings for a in aliases for x in f.facts.get(a, ())}
    return cited, sorted(((f.dedup, f.facts) for f in findings), key=repr)


def test_access_rules_find_every_planted_case_and_no_decoy_on_both_engines(world):
    truth, frames = world
    for rule in RULES:
        ref_ids, ref = _found(rule, frames, "reference")
        dur_ids, dur = _found(rule, frames, "durable")
        assert ref == dur, rule.name
        for s in (s for s in truth["scenarios"] if s["rule"] == rule.name):
            assert set(s["access_ids"]) & ref_ids, f"{rule.name} missed {s['id']} {s['kind']}"
        for d in truth["decoys"]:
            assert not set(d["access_ids"]) & ref_ids, f"{rule.name} alerted decoy {d['id']} {d['kind']}"

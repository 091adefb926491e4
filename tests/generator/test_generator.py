"""The generator: determinism, truth consistent with the files, loads through the real
connectors with exactly the planted quarantine, every catalogue rule planted, background clean."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from audit.generator import generate
from audit.generator.scenarios import catalogue_rule_names

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "rule-catalogue.md"


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_different_seed_differs(tiny, tmp_path):
    again = tmp_path / "again"
    generate(again, seed=11, months=12, end="2026-10", scale=0.05)
    first = _hashes(tiny)
    assert len(first) == 12  # 10 sources, config.toml, truth.json
    assert _hashes(again) == first
    other = tmp_path / "other"
    generate(other, seed=12, months=12, end="2026-10", scale=0.05)
    changed = {k for k, v in _hashes(other).items() if first[k] != v}
    assert changed >= {"hr_establishment.csv", "finance.sqlite", "vetting_register.xlsx", "truth.json"}


def test_every_catalogue_rule_is_planted_with_a_period_in_the_window(truth):
    names = catalogue_rule_names(CATALOGUE)
    assert len(names) >= 40
    planted = {s["kind"] for s in truth["scenarios"]}
    # a rule about a register's history (an entry altered or deleted after a run saw it) cannot fire on
    # one final extract: it is planted in the monthly extracts (truth `schedule`, test_schedule.py)
    history = {e["kind"] for e in truth["schedule"] if e["case"] in ("altered", "deleted")}
    assert set(names) - planted - history == set()
    assert history <= set(names)
    assert {s["kind"] for s in truth["scenarios"] + truth["decoys"]} <= set(names)
    assert all(s["period"] in truth["periods"] for s in truth["scenarios"] + truth["decoys"])
    assert len({s["id"] for s in truth["scenarios"]}) == len(truth["scenarios"])


def test_sources_load_with_exactly_the_planted_quarantine(loaded, truth):
    assert loaded.failures == [], [f.message for f in loaded.failures]
    for frame in loaded.frames:
        assert frame.reconciles(), frame.source
    got = {(q.source, int(q.row)) for q in loaded.quarantine.itertuples()}
    want = {(d["source"], d["row"]) for d in truth["dirty_rows"]}
    assert got == want
    rows = {f.source: f.rows_read for f in loaded.frames}
    assert rows == {s["name"]: s["rows"] for s in truth["sources"]}


def _find(frames: dict[str, pd.DataFrame], register: str, key: dict) -> pd.DataFrame:
    df = frames[register]
    mask = pd.Series(True, index=df.index)
    for k, v in key.items():
        mask &= df[k].astype(str) == str(v)
    return df[mask]


def test_every_record_in_truth_is_an_accepted_row(loaded, truth):
    frames = loaded.by_register()
    missing = [(s["id"], r) for s in truth["scenarios"] + truth["decoys"] for r in s["records"]
               if len(_find(frames, r["register"], r["key"])) != 1]
    assert missing == []


def test_org_mentions_cover_every_org_name_written(loaded, truth):
    from audit import registers

    frames = loaded.by_register()
    mentioned = {(m["register"], tuple(sorted(m["key"].items())), m["field"]): m["text"] for m in truth["org_mentions"]}
    written = 0
    for reg in registers.names():
        r = registers.get(reg)
        for f in r.fields.values():
            if f.entity != "org":
                continue
            df = frames[reg]
            for _, row in df[df[f.name].notna()].iterrows():
                key = tuple(sorted((k, str(row[k])) for k in r.natural_key))
                assert mentioned.get((reg, key, f.name)) == row[f.name], (reg, key, f.name)
                written += 1
    assert written > 100
    orgs = {o["org"] for o in truth["organisations"]}
    assert {m["org"] for m in truth["org_mentions"]} <= orgs
    decoys = [o for o in truth["organisations"] if o["decoy_of"]]
    assert decoys and all(o["decoy_of"] in orgs and o["company_number"] for o in decoys)


def test_name_only_rows_are_person_mentions(loaded, truth):
    gifts = loaded.by_register()["gifts_hospitality"]
    named = gifts[gifts["person_id"].isna()]
    assert len(named) > 0
    mentions = {m["key"]["record_id"]: m for m in truth["person_mentions"]}
    assert set(named["record_id"]) <= set(mentions)
    assert any(m["person"] is None for m in mentions.values())  # ambiguous or not staff
    wf = loaded.by_register()["workforce"].set_index("person_id")
    for m in mentions.values():
        if m["person"]:
            p = wf.loc[m["person"]]
            assert p["last_name"] in m["text"]


def _scenario_keys(truth, kind, register, decoys=False):
    items = truth["decoys" if decoys else "scenarios"]
    return {tuple(sorted(r["key"].items())) for s in items if s["kind"] == kind
            for r in s["records"] if r["register"] == register}


def _keys(df, cols):
    return {tuple(sorted((c, str(v)) for c, v in zip(cols, row))) for row in df[list(cols)].itertuples(index=False)}


def test_expense_rules_fire_only_on_planted_lines(loaded, truth):
    """Background is clean: the catalogue's single-row expense tests hit exactly the scenarios."""
    e = loaded.by_register()["expenses"]
    nk = ("claim_id", "line_id")
    checks = {
        "expenses_mileage_over_rate": (e["expense_type"] == "mileage") & (e["amount"] > (e["miles"] * 45).round() + 1),
        "expenses_subsistence_over_scale": (e["expense_type"] == "subsistence") & (e["amount"] > 3500),
        "expenses_weekend_claim": e["expense_type"].isin(["subsistence", "other"]) & (e["expense_date"].dt.day_of_week >= 5),
        "expenses_self_approved": e["approver"] == e["person_id"],
        "expenses_round_amount": e["expense_type"].isin(["other", "subsistence"]) & (e["amount"] >= 5000)
        & (e["amount"] % 1000 == 0),
    }
    for kind, mask in checks.items():
        hits = _keys(e[mask.fillna(False).astype(bool)], nk)
        assert hits == _scenario_keys(truth, kind, "expenses"), kind
        assert not hits & _scenario_keys(truth, kind, "expenses", decoys=True), kind
    dup = e.duplicated(["person_id", "expense_type", "amount", "expense_date"], keep=False)
    assert _keys(e[dup], nk) == _scenario_keys(truth, "expenses_duplicate_claim", "expenses")


def test_gift_rules_fire_only_on_planted_gifts(loaded, truth):
    g = loaded.by_register()["gifts_hospitality"]
    acc = g["outcome"] == "accepted"
    checks = {
        "gifts_declared_late": (g["declared_date"] - g["offered_date"]).dt.days > 28,
        "gifts_over_threshold_unapproved": acc & (g["estimated_value"] > 2500) & g["approver"].isna(),
        "gifts_self_approved": acc & (g["approver"] == g["person_id"]),
        "gifts_cash_or_voucher_accepted": acc & g["description"].str.contains("cash|voucher|gift card", case=False),
        "gifts_high_risk_keywords": acc & g["description"].str.contains(
            "tickets|match|concert|alcohol|wine|dinner|evening", case=False),
    }
    for kind, mask in checks.items():
        hits = _keys(g[mask.fillna(False).astype(bool)], ("record_id",))
        assert hits == _scenario_keys(truth, kind, "gifts_hospitality"), kind


def test_vetting_background_is_clean(loaded, truth):
    frames = loaded.by_register()
    v, w = frames["vetting"], frames["workforce"]
    end = pd.Timestamp("2026-10-31")
    active = v[v["status"] == "active"]
    expiring = _keys(active[active["expiry_date"] <= end + pd.Timedelta(days=90)], ("record_id",))
    assert expiring == _scenario_keys(truth, "vetting_expired_or_expiring", "vetting")
    levels = ["none", "nppv1", "nppv2", "rv", "nppv3", "mv", "ctc", "sc", "dv"]
    best = active.assign(r=active["level"].map(levels.index)).groupby("person_id")["r"].max()
    staff = w[w["end_date"].isna()].set_index("person_id")
    need = staff["post_vetting_level"].map(levels.index)
    short = need[best.reindex(need.index).fillna(-1) < need].index
    planted = {dict(k)["person_id"] for k in _scenario_keys(truth, "vetting_post_requires_higher_level", "workforce")}
    assert set(short) == planted


def test_sqlite_and_cp1252_sources_are_what_config_says(tiny):
    con = sqlite3.connect(tiny / "finance.sqlite")
    n = con.execute("SELECT count(*) FROM expense_lines").fetchone()[0]
    con.close()
    assert n > 500
    raw = (tiny / "divisional_gifts_returns.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("cp1252").splitlines()[2].startswith("Return Ref,Name,Dept")


def test_cli_generate_prints_rows_per_source(tmp_path):
    from typer.testing import CliRunner

    from audit.cli import app

    res = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "f"), "--seed", "3", "--scale", "0.05",
                                   "--embedded-config", str(tmp_path / "config.toml")])
    assert res.exit_code == 0, res.output
    assert "expenses" in res.output and "procurement" in res.output and "scenarios" in res.output
    from audit import settings
    cfg = settings.load(tmp_path / "config.toml")
    assert {s.name for s in cfg.sources} == {"workforce", "vetting", "absence", "gifts", "gifts_divisional",
                                             "business_interests", "associations", "expenses", "procurement",
                                             "barred_list"}
    assert all((tmp_path / s.path).exists() for s in cfg.sources if s.path)


def test_cli_embedded_config_may_live_outside_the_generated_folder(tmp_path):
    """Config paths are relative to the config's folder, which need not contain --out."""
    from typer.testing import CliRunner

    import connectors
    from audit import settings
    from audit.cli import app

    config = tmp_path / "elsewhere" / "new" / "config.toml"
    res = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "force"), "--seed", "3", "--scale", "0.05",
                                   "--embedded-config", str(config)])
    assert res.exit_code == 0, res.output
    cfg = settings.load(config)
    workforce = next(s for s in cfg.sources if s.name == "workforce")
    assert workforce.path.startswith("../../force/")
    assert connectors.pull(workforce, config.parent).rows_accepted > 0

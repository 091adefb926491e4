"""A run over the three real published spend files plus a hand-written gifts register: no alert rests
on a catch-all supplier id (issue #14, "done when").

Calderdale files every purchase-card merchant (Argos, Jet2.com, Appliance World, Landlord Supplies,
Direct Discounts ...) under one supplier id, "Purchase Card Supplier", and 22 care categories under
"Personal Budgets". Before those ids were demoted, a gift from "Argos Ltd" raised a high
gift_from_recent_supplier alert naming a card payment to Direct Discounts. Here officers declare
gifts from those merchants, from a shop that is in no spend file, and from two real Calderdale
suppliers; the run (audit.pipeline.run_period, reference engine, a temporary SQLite store) must
raise the genuine ones and link nothing through a bucket id: in every alert, two facts that share an
organisation key where one of them sits under a demoted id are the same organisation by name.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from audit import settings as settings_mod
from audit.entities.normalise import org_names
from audit.period import Period
from audit.pipeline import run_period
from audit.store import open_store
from audit.store.queries import run_view

ROOT = Path(__file__).resolve().parents[2]
from realdata_path import REALDATA  # noqa: E402
EXAMPLES = ("calderdale", "oxford", "cabinet_office")
BUCKETS = {"calderdale_spend|Purchase Card Supplier", "calderdale_spend|Personal Budgets"}

pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"real data folder {REALDATA} not present")

WORKFORCE = """Employee No,Forename,Surname,Department
900001,Alice,Brearley,Procurement
900002,Bilal,Hussain,Estates
900003,Carol,Sutcliffe,Fleet
900004,Dev,Mistry,Finance
"""
# Calderdale's file covers August 2022; the gifts are offered in the same month, so the run of August 2022 also evaluates the
# procurement rules that group payments by supplier (split invoices, duplicates) over the real rows.
GIFTS = """Ref,Employee No,Date Offered,Date Declared,Offered By,Donor Co. Reg,Gift/Hospitality,Description,Estimated Value,Accepted/Declined
G01,900001,2022-08-05,2022-08-06,Argos Ltd,,Gift,Gift card,£50.00,Accepted
G02,900001,2022-08-07,2022-08-08,Jet2.com Ltd,,Hospitality,Flight upgrade,£120.00,Accepted
G03,900002,2022-08-09,2022-08-10,Appliance World,,Gift,Kettle,£35.00,Accepted
G04,900002,2022-08-12,2022-08-13,Direct Discounts Ltd,,Gift,Vouchers,£40.00,Accepted
G05,900003,2022-08-14,2022-08-15,Landlord Supplies,,Gift,Tool set,£60.00,Accepted
G06,900003,2022-08-16,2022-08-17,Currys PC World,,Gift,Headphones,£80.00,Accepted
G07,900004,2022-08-19,2022-08-20,Andrew Greenwood Electrical Ltd,,Hospitality,Race day,£150.00,Accepted
G08,900004,2022-08-21,2022-08-22,E Feather Ltd,03350709,Hospitality,Dinner,£90.00,Accepted
"""
#: gift -> the supplier names its gift_from_recent_supplier alert may cite (its own, by name or number)
GENUINE = {"G07": {"Andrew Greenwood Electrical Ltd"}, "G08": {"E Feather Ltd"}}
#: card merchants Calderdale did pay: a gift from one may alert, but only on that merchant's payments
CARD = {"G01": "argos", "G02": "jet2 com", "G03": "appliance world", "G04": "direct discounts", "G05": "landlord supplies"}

CONFIG = """[audit]
force_name = "Real spend files with a hand-written gifts register"

[[sources]]
name = "workforce"
register = "workforce"
kind = "csv"
path = "workforce.csv"
[sources.columns]
"Employee No" = "person_id"
"Forename" = "first_name"
"Surname" = "last_name"
"Department" = "department"

[[sources]]
name = "gifts"
register = "gifts_hospitality"
kind = "csv"
path = "gifts.csv"
date_formats = ["%Y-%m-%d"]
[sources.columns]
"Ref" = "record_id"
"Employee No" = "person_id"
"Date Offered" = "offered_date"
"Date Declared" = "declared_date"
"Offered By" = "donor_name"
"Donor Co. Reg" = "donor_company_number"
"Gift/Hospitality" = "kind"
"Description" = "description"
"Estimated Value" = "estimated_value"
"Accepted/Declined" = "outcome"
[sources.values.kind]
"Gift" = "gift"
"Hospitality" = "hospitality"
[sources.values.outcome]
"Accepted" = "accepted"
"Declined" = "declined"
"""


def _spend_sources() -> str:
    """The shipped column maps of the real files, pointed at them by absolute path."""
    out = []
    for name in EXAMPLES:
        text = (ROOT / "connectors" / "examples" / f"{name}.toml").read_text(encoding="utf-8")
        rel = tomllib.loads(text)["sources"][0]["path"]
        out.append(text.replace(f'path = "{rel}"', f'path = "{(ROOT / rel).resolve().as_posix()}"'))
    return "\n".join(out)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real_spend_run")
    (folder / "workforce.csv").write_text(WORKFORCE, encoding="utf-8")
    (folder / "gifts.csv").write_text(GIFTS, encoding="utf-8")
    (folder / "config.toml").write_text(CONFIG + "\n" + _spend_sources(), encoding="utf-8")
    settings = settings_mod.load(folder / "config.toml")
    outcome = run_period(settings, Period(2022, 8), engine="reference", publish=False)
    store = open_store(settings.store_url)
    alerts = run_view(store, outcome.run_id).alerts
    store.dispose()
    return outcome, alerts


def _rows(outcome) -> dict[str, dict]:
    """fact_id -> (register, written organisation name, supplier id as the resolver saw it, org_key)."""
    out = {}
    for register, name_col in (("procurement", "supplier_name"), ("gifts_hospitality", "donor_name")):
        df = outcome.resolution.frames[register]
        sid = df["_source"] + "|" + df["supplier_id"].fillna("") if "supplier_id" in df else [""] * len(df)
        for fid, text, s, key in zip(df["fact_id"], df[name_col], sid, df["org_key"]):
            out[fid] = {"register": register, "name": text, "sid": s, "key": key}
    return out


def test_the_bucket_ids_are_demoted_in_the_run(run):
    outcome, _ = run
    assert outcome.status == "succeeded", outcome.error
    assert set(outcome.resolution.stats["org_demoted_ids"]) == BUCKETS


def test_no_alert_links_two_facts_through_a_bucket_id(run):
    outcome, _ = run
    rows, links = _rows(outcome), outcome.resolution.links
    bucket_facts = {fid for fid, r in rows.items() if r["sid"] in BUCKETS}
    through_id = links[links["fact_id"].isin(bucket_facts) & (links["method"] == "identifier")]
    assert through_id.empty, through_id.head()
    checked = 0
    for f in outcome.evaluation.findings:
        facts = [rows[fid] | {"fid": fid} for ids in f.facts.values() for fid in ids if fid in rows]
        for a in facts:
            if a["fid"] not in bucket_facts:
                continue
            for b in facts:
                if b is not a and isinstance(a["key"], str) and a["key"] == b["key"]:
                    checked += 1
                    assert set(org_names(a["name"])) & set(org_names(b["name"])), (f.rule_name, a, b)
        if f.weakest_link:
            assert not (f.weakest_link.get("fact_id") in bucket_facts and f.weakest_link.get("method") == "identifier")
    assert checked > 0  # the card-merchant gifts did meet their own merchants' payments


def _gift_alerts(outcome) -> dict[str, list]:
    rows = _rows(outcome)
    gift_ids = {fid: r for fid, r in rows.items() if r["register"] == "gifts_hospitality"}
    df = outcome.resolution.frames["gifts_hospitality"].set_index("fact_id")
    out: dict[str, list] = {}
    for f in outcome.evaluation.findings:
        if f.rule_name != "gift_from_recent_supplier":
            continue
        (gift,) = f.facts["gift"]
        out.setdefault(df.loc[gift, "record_id"], []).append([rows[p] for p in f.facts["purchase"]])
    assert set(gift_ids) == set(df.index)
    return out


def test_genuine_supplier_gifts_alert_and_card_merchant_gifts_cite_only_their_own_merchant(run):
    outcome, alerts = run
    by_gift = _gift_alerts(outcome)
    for record, names in GENUINE.items():
        assert record in by_gift, f"{record} should alert: a gift from a supplier Calderdale paid in August"
        cited = {p["name"] for purchases in by_gift[record] for p in purchases}
        assert cited <= names, cited
    for record, merchant in CARD.items():
        for purchases in by_gift.get(record, []):
            for p in purchases:  # the case: Argos' gift must never cite Direct Discounts' payment
                assert merchant in org_names(p["name"]), (record, p)
    assert "G06" not in by_gift  # a shop Calderdale never paid
    recorded = [a for a in alerts if a.rule_name == "gift_from_recent_supplier"]
    assert len(recorded) == len(by_gift)

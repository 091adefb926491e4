"""The monthly extracts (generate(..., schedule=True), docs/generator-truth.md "Monthly extracts"):
one folder per month holding the sources as that month's run saw them, with truth `schedule`
naming the late, altered and deleted entries and the near misses."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from audit.generator import generate
from audit.generator.layouts import LAYOUTS
from audit.generator.scenarios import catalogue_rule_names

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "rule-catalogue.md"
NEW_RULES = {"register_entry_altered", "register_entry_deleted", "association_entry_altered",
             "association_entry_deleted"}
#: register -> the field whose date says when a row entered it (the first non-blank of the fields)
ENTRY = {"gifts_hospitality": ("declared_date", "offered_date"), "business_interests": ("submitted_date",),
         "notifiable_associations": ("declared_date",), "expenses": ("claim_date",),
         "procurement": ("posted_date",), "workforce": ("start_date",), "vetting": ("granted_date",),
         "absence": ("start_date",), "barred_list": ("listed_date",)}
NATURAL = {"expenses": ["claim_id", "line_id"], "procurement": ["transaction_id", "line_no"]}


@pytest.fixture(scope="module")
def force(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scheduled")
    generate(out, seed=13, months=12, end="2026-10", scale=0.1, schedule=True)
    return out


@pytest.fixture(scope="module")
def truth(force) -> dict:
    return json.loads((force / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def months(force, truth) -> dict[str, object]:
    """period -> that month's extract through audit.settings + connectors (its own config.toml)."""
    import connectors
    from audit import settings

    out = {}
    for period in truth["periods"]:
        cfg = settings.load(force / "schedule" / period / "config.toml")
        out[period] = connectors.load_sources(cfg.sources, cfg.base_dir)
    return out


@pytest.fixture(scope="module")
def final(force):
    import connectors
    from audit import settings

    cfg = settings.load(force / "config.toml")
    return connectors.load_sources(cfg.sources, cfg.base_dir)


def _key(register: str) -> list[str]:
    return NATURAL.get(register, ["person_id"] if register == "workforce" else ["record_id"])


def _keys(frame: pd.DataFrame, register: str) -> set[tuple]:
    cols = _key(register)
    return set(frame[cols].astype(str).itertuples(index=False, name=None))


def _has(load, record: dict) -> bool:
    df = load.by_register()[record["register"]]
    return tuple(str(record["key"][k]) for k in _key(record["register"])) in _keys(df, record["register"])


def _row(load, record: dict) -> pd.Series:
    df = load.by_register()[record["register"]]
    mask = pd.Series(True, index=df.index)
    for k, v in record["key"].items():
        mask &= df[k].astype(str) == str(v)
    assert mask.sum() == 1, record
    return df[mask].iloc[0]


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_one_folder_per_period_each_with_its_config_and_sources(force, truth, months):
    folders = sorted(p.name for p in (force / "schedule").iterdir())
    assert folders == truth["periods"]
    missing = {(f["period"], f["source"]) for f in truth["schedule_failed_sources"] if f["how"] == "missing"}
    files = {layout.name: layout.file for layout in LAYOUTS}
    for period in truth["periods"]:
        folder = force / "schedule" / period
        assert (folder / "config.toml").read_bytes() == (force / "config.toml").read_bytes()
        for name, file in files.items():
            assert (folder / file).exists() == ((period, name) not in missing), (period, file)
        load = months[period]
        # a header-only extract fails as empty (connectors: allow_empty is off); so does the first
        # month's expenses, since every claim is made in the month after its expense
        empty = {f["source"] for f in truth["schedule_failed_sources"] if f["how"] == "header_only" and f["period"] == period}
        first = {"expenses"} if period == truth["periods"][0] else set()
        assert {f.source for f in load.failures} == {s for p, s in missing if p == period} | empty | first


def test_the_last_extract_is_the_main_output(force, truth):
    last = force / "schedule" / truth["periods"][-1]
    for layout in LAYOUTS:
        assert (last / layout.file).read_bytes() == (force / layout.file).read_bytes(), layout.file


def test_a_row_is_in_every_extract_from_its_entry_month_on_with_its_final_values(truth, months, final):
    """Natural keys are stable: every row of a month's extract is the same row, same values, in the final
    output (or a planted deleted / edited one); every final row entered by the month end is there."""
    deleted = {(r["register"], tuple(str(r["key"][k]) for k in _key(r["register"])))
               for e in truth["schedule"] if e["case"] == "deleted" for r in e["records"]}
    edited = {}  # (register, key) -> the month from which the final values show
    for e in truth["schedule"]:
        if e["case"] in ("altered", "decoy") and e["kind"].endswith("altered"):
            for r in e["records"]:
                edited[(r["register"], tuple(str(r["key"][k]) for k in _key(r["register"])))] = e["arrival_period"]
    failed = {(f["period"], f["source"]) for f in truth["schedule_failed_sources"]}
    end_of = {p: pd.Timestamp(p + "-01") + pd.offsets.MonthEnd(0) for p in truth["periods"]}
    fin = final.by_register()
    checked = 0
    for period, load in months.items():
        frames = load.by_register()
        for register, entry in ENTRY.items():
            df, ref = frames[register], fin[register]
            when = df[entry[0]]
            for f in entry[1:]:
                when = when.fillna(df[f])
            assert (when.isna() | (when <= end_of[period])).all(), (period, register)  # nothing from the future
            cols = _key(register)
            fields = [c for c in df.columns if c in ref.columns and c not in cols and c != "fact_id"
                      and not c.startswith("_")]
            both = df.merge(ref, on=cols, how="left", suffixes=("", "@final"), indicator=True)
            keys = [(register, k) for k in both[cols].astype(str).itertuples(index=False, name=None)]
            skip = pd.Series([k in deleted or (k in edited and period < edited[k]) for k in keys], index=both.index)
            lost = both["_merge"].eq("left_only") & ~pd.Series([k in deleted for k in keys], index=both.index)
            assert not lost.any(), (period, register, both.loc[lost, cols].head(3).to_dict("records"))
            for c in fields:
                a, b = both[c], both[f"{c}@final"]
                diff = ~((a.isna() & b.isna()) | (a == b)) & ~skip
                assert not diff.any(), (period, register, c, both.loc[diff, cols].head(3).to_dict("records"))
            checked += int((~skip).sum())
            # completeness: final rows entered by this month end are in the extract (a failed source is not)
            if any((period, s.name) in failed for s in LAYOUTS if s.register == register):
                continue
            when_ref = ref[entry[0]]
            for f in entry[1:]:
                when_ref = when_ref.fillna(ref[f])
            due = _keys(ref[when_ref.isna() | (when_ref <= end_of[period])], register)
            assert due <= _keys(df, register), (period, register, sorted(due - _keys(df, register))[:3])
    assert checked > 10_000


def test_every_schedule_record_is_where_truth_says(truth, months):
    periods = truth["periods"]
    for e in truth["schedule"]:
        i = periods.index(e["arrival_period"])
        assert i >= 1, e  # a previous run exists
        assert e["event_period"] <= e["arrival_period"]
        arrived, before = months[periods[i]], months[periods[i - 1]]
        for r in e["records"]:
            if e["case"] == "deleted":
                assert _has(before, r) and not _has(arrived, r), (e["id"], r)
                assert not any(_has(months[p], r) for p in periods[i:]), (e["id"], r)
            elif e["case"] == "decoy" and e["kind"].endswith("deleted"):  # a failed source's rows, back in full
                assert _has(months[periods[i - 2]], r) and _has(arrived, r), (e["id"], r)
            else:
                assert _has(arrived, r), (e["id"], r)


def test_late_entries_are_absent_before_their_arrival_and_present_after(truth, months):
    periods = truth["periods"]
    late = [e for e in truth["schedule"] if e["case"] == "late"]
    assert {e["kind"] for e in late} >= {"gifts_declared_late", "procurement_duplicate_invoice"}
    assert any(e["kind"].startswith("expenses_") for e in late)
    for e in late:
        i = periods.index(e["arrival_period"])
        newest = e["records"][-1]  # the row that arrives late (a backdated invoice: the second)
        assert not any(_has(months[p], newest) for p in periods[:i]), e["id"]
        assert all(_has(months[p], newest) for p in periods[i:]), e["id"]
        row = _row(months[periods[i]], newest)
        if e["kind"] == "gifts_declared_late":
            assert (row["declared_date"] - row["offered_date"]).days > 28
            assert periods.index(e["event_period"]) < i
        elif e["kind"].startswith("expenses_"):
            assert (row["claim_date"] - row["expense_date"]).days >= 30
        else:
            assert 30 <= (row["posted_date"] - row["transaction_date"]).days <= 92


def test_late_cases_are_also_scenarios_of_the_final_data(truth):
    scenarios = {(s["kind"], json.dumps(s["records"], sort_keys=True)) for s in truth["scenarios"]}
    for e in truth["schedule"]:
        if e["case"] == "late":
            assert (e["kind"], json.dumps(e["records"], sort_keys=True)) in scenarios, e["id"]


def test_edits_change_a_material_field_and_decoys_do_not(truth, months):
    from audit import registers

    periods = truth["periods"]
    edits = [e for e in truth["schedule"] if e["kind"].endswith("altered")]
    assert {e["case"] for e in edits} == {"altered", "decoy"}
    for e in edits:
        i = periods.index(e["arrival_period"])
        (r,) = e["records"]
        old, new = _row(months[periods[i - 1]], r), _row(months[periods[i]], r)
        reg = registers.get(r["register"])
        changed = [f for f in reg.fields if f in old.index and not (pd.isna(old[f]) and pd.isna(new[f]))
                   and old[f] != new[f]]
        assert changed, e["id"]
        material = [f for f in changed if reg.fields[f].material and not pd.isna(old[f])
                    and old[f] not in (reg.fields[f].unsettled or ())]
        assert bool(material) == (e["case"] == "altered"), (e["id"], changed, material)
        assert (e["kind"].startswith("association_")) == (r["register"] == "notifiable_associations")


def test_failed_source_months(force, truth, months):
    periods = truth["periods"]
    failed = truth["schedule_failed_sources"]
    assert {f["how"] for f in failed} == {"missing", "header_only"}
    files = {layout.name: layout for layout in LAYOUTS}
    for f in failed:
        i = periods.index(f["period"])
        assert 1 <= i < len(periods) - 1
        layout = files[f["source"]]
        path = force / "schedule" / f["period"] / layout.file
        rows = {p: next((x.rows_read for x in months[p].frames if x.source == f["source"]), None)
                for p in periods[i - 1:i + 2]}
        if f["how"] == "missing":
            assert not path.exists()
            assert rows[f["period"]] is None
        else:
            lines = path.read_text(encoding=layout.encoding).splitlines()
            assert len(lines) == layout.skip_rows + 1  # preamble and header, no data
            assert rows[f["period"]] is None  # an empty extract fails the source
            assert any(x.source == f["source"] and "read 0 rows" in x.message for x in months[f["period"]].failures)
        before, after = rows[periods[i - 1]], rows[periods[i + 1]]
        assert before and after >= before
        decoy = [e for e in truth["schedule"] if e["case"] == "decoy" and e["event_period"] == f["period"]
                 and e["kind"].endswith("deleted")]
        assert len(decoy) == 1 and decoy[0]["arrival_period"] == periods[i + 1] and decoy[0]["records"]
        # no planted change touches the failed source around its failure
        register = layout.register
        for e in truth["schedule"]:
            if e["case"] in ("altered", "deleted") and e["arrival_period"] in periods[i:i + 2]:
                assert all(r["register"] != register for r in e["records"]) or \
                    register == "gifts_hospitality", e["id"]


def test_schedule_truth_is_complete(truth):
    names = set(catalogue_rule_names(CATALOGUE))
    cases = {e["case"] for e in truth["schedule"]}
    assert cases == {"late", "altered", "deleted", "decoy"}
    assert len({e["id"] for e in truth["schedule"]}) == len(truth["schedule"])
    for e in truth["schedule"]:
        assert e["kind"] in (NEW_RULES if e["case"] != "late" else names), e
        assert e["event_period"] in truth["periods"] and e["arrival_period"] in truth["periods"]
    kinds = {(e["case"], e["kind"]) for e in truth["schedule"]}
    assert {("altered", "association_entry_altered"), ("deleted", "association_entry_deleted"),
            ("altered", "register_entry_altered"), ("deleted", "register_entry_deleted"),
            ("decoy", "register_entry_altered"), ("decoy", "register_entry_deleted")} <= kinds
    ids = {s["id"] for s in truth["scenarios"] + truth["decoys"]}
    arrivals = {a["id"]: a["arrival_period"] for a in truth["scenario_arrivals"]}
    assert set(arrivals) == ids
    by_id = {s["id"]: s for s in truth["scenarios"] + truth["decoys"]}
    assert all(a is None or a >= by_id[i]["period"] for i, a in arrivals.items())


def test_same_arguments_same_bytes_and_the_main_output_does_not_depend_on_schedule(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, seed=4, months=6, end="2026-10", scale=0.05, schedule=True)
    generate(b, seed=4, months=6, end="2026-10", scale=0.05, schedule=True)
    generate(c, seed=4, months=6, end="2026-10", scale=0.05)
    first = _hashes(a)
    assert sum(k.startswith("schedule/") for k in first) == 6 * 11 - 1  # one source missing one month
    assert _hashes(b) == first
    assert _hashes(c) == {k: v for k, v in first.items() if not k.startswith("schedule/")}


def test_cli_generate_schedule(tmp_path):
    from typer.testing import CliRunner

    from audit.cli import app

    res = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "f"), "--seed", "3", "--scale", "0.05",
                                   "--months", "4", "--schedule"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "f" / "schedule").iterdir()) == ["2026-07", "2026-08", "2026-09",
                                                                                "2026-10"]

"""Entity-resolution benchmark: quality against truth and real data, cost at scale.

  .venv/bin/python benchmarks/bench_entities.py                 # real data + scale 1 (3 seeds) + scale 10
  .venv/bin/python benchmarks/bench_entities.py --skip-scale10
  .venv/bin/python benchmarks/bench_entities.py --realdata-only
  .venv/bin/python benchmarks/bench_entities.py --catch-all 1341   # fast paths vs the pairwise ones

Prints, per generated force (integrity-audit generate ...; loaded through connectors.load_sources):
pairwise precision / recall of organisation links (all, strong links only, distinct written forms),
decoy pairs linked (and how many of them strong), person-name accuracy and pairwise scores, candidate
pairs compared vs all pairs, resolve() time and the process's peak memory.
On ../shared/realdata: Calderdale's "Supplier Registered Company Number" is the truth for names
written differently; names are linked with the numbers hidden. Then all three files are resolved
together and suppliers found in more than one file are counted, and the files are loaded through the
shipped column maps, resolved and scored against the hand-labelled pairs of
tests/entities/real_pairs.csv (precision; recall over the pairs the files decide and over all).
The last lines print the real-pair and generated-truth figures side by side.
--catch-all N puts N distinct supplier names of the real files under one supplier id (a purchase-card
bucket) and times, in CPU seconds, supplier_ids.name_groups and similarity.fuzzy_edges against the
pairwise versions they replaced (issue #16), checking the results are identical.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit.entities.orgs import resolve_orgs  # noqa: E402
from audit.entities.quality import pairwise, resolve_real_files, score_pairs  # noqa: E402
from audit.settings import EntitiesSection  # noqa: E402

REALDATA = ROOT.parent / "shared" / "realdata"
REAL_PAIRS = ROOT / "tests" / "entities" / "real_pairs.csv"
FILES = {  # file -> (encoding, supplier name column, company number column, supplier id column)
    "calderdale-council_spend-over-500_2022-08_odileeds-clean.csv":
        ("utf-8-sig", "Supplier(Beneficiary) Name", "Supplier Registered Company Number", "Supplier ID"),
    "oxford-city-council_expenditure-over-500_2017-10-to-12.csv": ("utf-8-sig", "Supplier Name", None, "Supplier ID"),
    "cabinet-office_spend-over-25k_2020-06_odileeds-clean.csv": ("cp1252", "Supplier", None, None),
}


def _mentions(df: pd.DataFrame, name: str, cn: str | None, sid: str | None, source: str) -> pd.DataFrame:
    blank = pd.Series([None] * len(df), index=df.index, dtype="object")
    return pd.DataFrame({
        "text": df[name].astype("object"),
        "company_number": df[cn].astype("object") if cn else blank,
        "vat_number": blank,
        "supplier_id": (source + "|" + df[sid].astype("object")).where(df[sid].notna(), None) if sid else blank,
        "file": source,
    })


def realdata(fuzzy: float, weak: float) -> dict:
    out: dict = {}
    enc, name, cn, sid = FILES["calderdale-council_spend-over-500_2022-08_odileeds-clean.csv"]
    cal = pd.read_csv(REALDATA / "calderdale-council_spend-over-500_2022-08_odileeds-clean.csv",
                      dtype=str, encoding=enc, keep_default_na=False, na_values=[""])
    numbered = cal[cal[cn].notna() & cal[name].notna()]
    from audit.entities.normalise import company_number
    truth = [company_number(v) for v in numbered[cn]]
    for label, use_sid in (("names_only", False), ("names_and_supplier_id", True)):
        m = _mentions(numbered, name, None, sid if use_sid else None, "calderdale")
        res = resolve_orgs(m, fuzzy_threshold=fuzzy, weak_threshold=weak).mentions
        rows = pairwise(list(res["key"]), truth).as_dict()
        d = pd.DataFrame({"text": numbered[name].to_numpy(), "truth": truth, "pred": res["key"].to_numpy()})
        d = d.drop_duplicates(["text", "truth"])
        out[f"calderdale_{label}"] = {"rows": len(numbered), "distinct_names": int(d["text"].nunique()),
                                      "companies": len(set(truth)), "row_pairs": rows,
                                      "distinct_name_pairs": pairwise(list(d["pred"]), list(d["truth"])).as_dict()}
    parts = []
    for file, (enc, name, cn, sid) in FILES.items():
        df = pd.read_csv(REALDATA / file, dtype=str, encoding=enc, keep_default_na=False, na_values=[""])
        df = df[df[name].notna()]
        parts.append(_mentions(df, name, cn, sid, file.split("_")[0]))
    allm = pd.concat(parts, ignore_index=True)
    started = time.perf_counter()
    res = resolve_orgs(allm, fuzzy_threshold=fuzzy, weak_threshold=weak)
    allm["key"] = res.mentions["key"].to_numpy()
    allm["method"] = res.mentions["method"].to_numpy()
    per_key = allm.groupby("key")["file"].nunique()
    cross = per_key[per_key > 1].index
    examples = (allm[allm["key"].isin(cross)].groupby("key")["text"].unique().map(lambda v: sorted(set(v))[:3]))
    out["three_files"] = {
        "mentions": len(allm), "organisations": int(allm["key"].nunique()),
        "in_more_than_one_file": len(cross), "in_all_three": int((per_key == 3).sum()),
        "fuzzy_links": res.stats["org_fuzzy_links"], "candidate_pairs": res.stats["org_candidate_pairs"],
        "all_pairs": res.stats["org_all_pairs"], "seconds": round(time.perf_counter() - started, 2),
        "demoted_ids": res.stats["org_demoted_ids"], "examples": [list(v) for v in examples.head(12)],
    }
    out["real_pairs"] = real_pairs(fuzzy, weak)
    return out


def real_pairs(fuzzy: float, weak: float) -> dict:
    """The three files through the shipped column maps, resolved together, scored on real_pairs.csv."""
    pairs = pd.read_csv(REAL_PAIRS, dtype=str, keep_default_na=False)
    res = resolve_real_files(ROOT, EntitiesSection(fuzzy_threshold=fuzzy, weak_threshold=weak))
    s = score_pairs(res, pairs)
    return {**{k: v for k, v in s.items() if k not in ("false_links", "missed", "not_found")},
            "false_links": [(x["name_a"], x["name_b"]) for x in s["false_links"]],
            "missed": [(x["name_a"], x["name_b"], x["kind"]) for x in s["missed"]],
            "demoted_ids": res.stats["org_demoted_ids"],
            "unresolved_by_reason": res.stats["unresolved_by_reason"]}


def summary(real: dict, runs: list[dict]) -> str:
    """Real-pair and generated-truth organisation figures, one line each."""
    lines = ["org links: precision / recall",
             f"  real pairs ({real['pairs']} hand-labelled, {real['positives']} same): P {real['precision']} "
             f"R {real['recall']} (of {real['positives_decided_by_files']} the files decide) / "
             f"{real['recall_all']} (all)"
             f"; strong only P {real['strong']['precision']} R {real['strong']['recall']}"]
    for r in runs:
        if "orgs" not in r:
            lines.append(f"  generated scale {r['scale']} seed {r['seed']}: {r.get('error')}")
            continue
        rows, strong = r["orgs"]["rows"], r["orgs"]["rows_strong_only"]
        lines.append(f"  generated scale {r['scale']} seed {r['seed']}: rows P {rows['precision']} R {rows['recall']}"
                     f"; strong only P {strong['precision']} R {strong['recall']}; decoys linked "
                     f"{r['orgs']['decoy_pairs_linked']}")
    return "\n".join(lines)


def generated(scale: float, seed: int, fuzzy: float, weak: float) -> dict:
    """Generate a force, load it, resolve it, score it (run in a child process: memory is its own)."""
    from audit import settings as settings_mod
    from audit.entities import resolve
    from audit.entities.quality import score_orgs, score_people
    from audit.settings import EntitiesSection
    import connectors

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from audit.cli import main; main()", "generate", "--out", tmp, "--seed", str(seed),
                        "--months", "12", "--end", "2026-10", "--scale", str(scale)],
                       check=True, cwd=ROOT, capture_output=True)
        t_gen = time.perf_counter() - t0
        s = settings_mod.load(Path(tmp) / "config.toml")
        with contextlib.chdir(tmp):  # the generated sqlite URL is relative to the force's folder
            loaded = connectors.load_sources(s.sources, s.base_dir)
        if loaded.failures:
            raise SystemExit(f"sources failed: {loaded.failures}")
        frames = {r: df for r, df in loaded.by_register().items() if not df.empty}
        rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        res = resolve(frames, EntitiesSection(fuzzy_threshold=fuzzy, weak_threshold=weak))
        t_resolve = time.perf_counter() - t0
        truth = json.loads((Path(tmp) / "truth.json").read_text())
        return {
            "scale": scale, "seed": seed, "rows": int(sum(len(df) for df in frames.values())),
            "generate_s": round(t_gen, 1), "resolve_s": round(t_resolve, 2),
            "peak_rss_mb_after_load": round(rss_loaded / 1024), "peak_rss_mb": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "orgs": score_orgs(res, truth), "people": score_people(res, truth),
            "candidate_pairs": res.stats["org_candidate_pairs"], "all_pairs": res.stats["org_all_pairs"],
            "links_by_method": res.stats["links_by_method"], "unresolved": res.stats["unresolved_by_reason"],
        }


def catch_all(n: int, fuzzy: float, weak: float) -> dict:
    """N distinct written supplier names under one id: the fast paths against the pairwise ones."""
    from audit.entities import normalise, supplier_ids
    from audit.entities.similarity import (agree_candidates, fuzzy_edges, fuzzy_edges_pairwise, fuzzy_eligible,
                                           names_agree)

    texts: set[str] = set()
    for file, (enc, name, _, _) in FILES.items():
        df = pd.read_csv(REALDATA / file, dtype=str, encoding=enc, keep_default_na=False, na_values=[""])
        texts |= set(df[name].dropna())
    units = sorted({normalise.org_names(t) for t in sorted(texts)[:n]} - {()})
    members = list(range(len(units)))

    def agree(a, b):
        return names_agree(a, b, weak)

    def timed(f, *args):
        t0 = time.process_time()
        return f(*args), round(time.process_time() - t0, 2)

    fast, fast_s = timed(supplier_ids.name_groups, members, units.__getitem__, agree,
                         lambda d: agree_candidates(d, weak))
    slow, slow_s = timed(supplier_ids.name_groups, members, units.__getitem__, agree)
    names = sorted({x for u in units for x in u if fuzzy_eligible(x)})
    (edges, pairs), edges_s = timed(fuzzy_edges, names, weak, fuzzy)
    (slow_edges, slow_pairs), slow_edges_s = timed(fuzzy_edges_pairwise, names, weak, fuzzy)
    return {"written_names": min(n, len(texts)), "units": len(units), "name_groups": len(fast),
            "name_groups_cpu_s": fast_s, "name_groups_pairwise_cpu_s": slow_s, "name_groups_identical": fast == slow,
            "fuzzy_names": len(names), "block_pairs": pairs, "fuzzy_edges": len(edges), "fuzzy_edges_cpu_s": edges_s,
            "fuzzy_edges_pairwise_cpu_s": slow_edges_s, "fuzzy_edges_identical": (edges, pairs) == (slow_edges, slow_pairs)}


def _child(scale: float, seed: int, fuzzy: float, weak: float) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", str(scale), str(seed), "--fuzzy", str(fuzzy),
                          "--weak", str(weak)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        return {"scale": scale, "seed": seed, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuzzy", type=float, default=92.0)
    ap.add_argument("--weak", type=float, default=85.0)
    ap.add_argument("--realdata-only", action="store_true")
    ap.add_argument("--skip-scale10", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--one", type=float, nargs=2, metavar=("SCALE", "SEED"))
    ap.add_argument("--catch-all", type=int, metavar="N")
    a = ap.parse_args()
    if a.catch_all:
        print(json.dumps(catch_all(a.catch_all, a.fuzzy, a.weak), indent=1))
        return
    if a.one:
        print(json.dumps(generated(a.one[0], int(a.one[1]), a.fuzzy, a.weak), default=str))
        return
    real = realdata(a.fuzzy, a.weak)
    print(json.dumps({"realdata": real}, indent=1))
    runs = [] if a.realdata_only else [(1.0, s) for s in a.seeds] + ([] if a.skip_scale10 else [(10.0, a.seeds[0])])
    results = []
    for scale, seed in runs:
        results.append(_child(scale, seed, a.fuzzy, a.weak))
        print(json.dumps(results[-1], indent=1), flush=True)
    print(summary(real["real_pairs"], results))


if __name__ == "__main__":
    main()

"""One generation run: build the force, plant scenarios (and the late / altered / deleted entries
of audit/generator/schedule.py), write the sources, config.toml and truth.json, and with
`schedule` the monthly extracts. Order matters: scenario people are reserved before the background
is drawn, so the background never touches them.
"""
from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from audit.generator import declarations, expenses, hr_records, keys, people, writers
from audit.generator import schedule as sched
from audit.generator.config_writer import write_mapping
from audit.generator.core import FORCE_NAME, VERSION, Gen
from audit.generator.layouts import LAYOUTS
from audit.generator.orgs import Orgs
from audit.generator.procurement import Procurement
from audit.generator.scenarios import plant_all


@dataclass
class Result:
    out: Path
    rows: dict[str, int]  # source -> data rows written
    dirty: dict[str, int]
    seconds: float
    scenarios: int
    decoys: int
    schedule: int = 0  # truth `schedule` entries (late, altered, deleted, decoys)


def generate(out: Path, seed: int = 1, months: int = 12, end: str = "2026-10", scale: float = 1.0,
             step: Callable[[str], None] = lambda name: None, schedule: bool = False) -> Result:
    """Write the force to `out`; with `schedule`, also `out/schedule/<YYYY-MM>/` for every month
    (the sources as each month's run saw them, docs/generator-truth.md). The main output does not
    depend on `schedule`."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    g = Gen(seed, scale, months, end)
    frames, handle_keys = build(g, step)
    protected = {h for e in g.truth.scenarios + g.truth.decoys + g.schedule for _, h in e["records"]}
    rows, dirty, main, dirty_handles = {}, {}, {}, set()
    extracts = sched.Extracts(g)
    rng = g.rng("dirty")
    for layout in LAYOUTS:
        step(f"write {layout.file}")
        every = frames[layout.name]
        kept = extracts.add(layout, every)  # deleted rows are only in the monthly extracts
        df = every[kept].reset_index(drop=True)
        eligible = None
        if layout.name == "vetting":
            eligible = (df["status"] == "expired").reset_index(drop=True)
        elif layout.name == "workforce":
            eligible = ~df["person_id"].isin(g.reserved) & df["line_manager_id"].notna()
            eligible &= ~df["person_id"].isin({p.line_manager_id for p in g.people})
        if schedule:  # the extracts need every row's cells
            all_cells = writers.format_frame(every, layout, for_xlsx=layout.kind == "xlsx")
            cells = all_cells[kept].reset_index(drop=True)
            entries = writers.plant_dirty(cells, df, layout, protected, rng, eligible)
            writers.write(cells, layout, out)
            extracts.set_cells(layout.name, all_cells, cells)
        else:  # the same file, formatted a chunk of rows at a time
            picks = writers.pick_dirty(df, layout, protected, rng, eligible)
            entries = [entry for *_, entry in picks]
            writers.write_in_chunks(df, layout, out, picks)
        dirty_handles |= {int(df["_h"].iat[i]) for i in writers.planted_rows(layout, entries)}
        main[layout.name] = df
        rows[layout.name], dirty[layout.name] = len(df), len(entries)
        g.truth.dirty_rows += entries
        g.truth.sources.append({"name": layout.name, "register": layout.register, "file": layout.file,
                                "rows": len(df), "dirty_rows": len(entries)})
    step("truth")
    write_mapping(LAYOUTS, out / "config.toml", FORCE_NAME)
    _write_truth(out / "truth.json", _truth(g, main, handle_keys, extracts, dirty_handles))
    if schedule:
        step("monthly extracts")
        extracts.write(out)
    return Result(out, rows, dirty, time.perf_counter() - t0, len(g.truth.scenarios), len(g.truth.decoys),
                  len(g.schedule) + len(g.failed_sources))


def build(g: Gen, step: Callable[[str], None] = lambda name: None):
    """Every register's rows, planted and background -> keys.assign's (frames, handle -> key)."""
    step("workforce")
    people.build_workforce(g)
    people.workforce_rows(g)
    hr_records.build(g)
    orgs = Orgs(g)
    forces = orgs.forces()
    proc = Procurement(g, orgs)
    step("scenarios")
    plant_all(g, orgs, proc)
    step("late, altered and deleted entries")
    sched.plant(g, orgs, proc)
    step("background registers")
    people.barred_rows(g, forces)
    barred = {(r["first_name"], r["last_name"], r["date_of_birth"]) for r in g.rows["barred_list"]}
    declarations.gifts(g, orgs)
    declarations.interests(g, orgs)
    declarations.associations(g, orgs, barred)
    step("procurement")
    proc.background()
    proc.post()
    step("expenses")
    g.expenses_bg = expenses.background(g)
    step("keys")
    return keys.assign(g)


_NONE = object()


def _write_truth(path: Path, truth: dict) -> None:
    """JSON with one list item per line: readable, diffable, and fast (the C encoder, no indent);
    written item by item, so a large force's truth is never one string in memory."""
    def dump(v) -> str:
        return json.dumps(v, ensure_ascii=False, default=str)

    with open(path, "w", encoding="utf-8") as fh:
        fh.write("{\n")
        for i, (k, v) in enumerate(truth.items()):
            fh.write(",\n" if i else "")
            if isinstance(v, Iterator):  # written as it is made: a list, the same bytes
                first = next(v, _NONE)
                v = [] if first is _NONE else itertools.chain([first], v)
            if isinstance(v, Iterator) or (isinstance(v, list) and v):
                fh.write(f"{dump(k)}: [\n  ")
                for j, x in enumerate(v):
                    fh.write(",\n  " + dump(x) if j else dump(x))
                fh.write("\n]")
            else:
                fh.write(f"{dump(k)}: {dump(v)}")
        fh.write("\n}\n")


def _truth(g: Gen, frames, handle_keys, extracts: sched.Extracts, dirty_handles: set[int]) -> dict:
    arrivals = []

    def entries(items, prefix):
        items = sorted(items, key=lambda e: (e["kind"], e["period"], json.dumps(
            [handle_keys[h] for _, h in e["records"]], sort_keys=True, default=str)))
        for i, e in enumerate(items, start=1):
            arrivals.append({"id": f"{prefix}{i:04d}", "arrival_period": extracts.arrival(
                [h for _, h in e["records"]], e["period"])})
        return [{"id": f"{prefix}{i:04d}", "kind": e["kind"], "period": e["period"], "people": e["people"],
                 "orgs": e["orgs"], "records": [{"register": handle_keys[h][0], "key": handle_keys[h][1]}
                                                 for _, h in e["records"]], "note": e["note"]}
                for i, e in enumerate(items, start=1)]

    scenarios, decoys = entries(g.truth.scenarios, "S"), entries(g.truth.decoys, "D")
    schedule, failed = sched.truth(g, extracts, handle_keys, dirty_handles)

    def org_mentions():  # every row's organisation names (a generator: a large force has millions)
        for layout in LAYOUTS:
            df = frames[layout.name]
            for col in [c for c in df.columns if c.startswith("_org:")]:
                fld = col.split(":", 1)[1]
                sub = df[df[col].notna() & df[fld].notna()]
                for h, text, org in sub[["_h", fld, col]].itertuples(index=False):
                    reg, key = handle_keys[int(h)]
                    yield {"register": reg, "key": key, "field": fld, "text": text, "org": org}

    def person_mentions():
        for layout in LAYOUTS:
            df = frames[layout.name]
            if "_person:person_name" in df.columns:
                for h, text, pid in df[["_h", "person_name", "_person:person_name"]].itertuples(index=False):
                    reg, key = handle_keys[int(h)]
                    yield {"register": reg, "key": key, "field": "person_name", "text": text,
                           "person": pid if isinstance(pid, str) else None}

    return {
        "generator": {"seed": g.seed, "scale": g.scale, "months": g.months, "end": str(g.end_period), "version": VERSION},
        "force": FORCE_NAME,
        "periods": [str(p) for p in g.periods],
        "sources": g.truth.sources,
        "scenarios": scenarios,
        "decoys": decoys,
        "dirty_rows": g.truth.dirty_rows,
        "organisations": [{"org": o.org, "name": o.name, "company_number": o.company_number, "decoy_of": o.decoy_of}
                          for o in g.orgs],
        "org_mentions": org_mentions(),
        "person_mentions": person_mentions(),
        "schedule": schedule,
        "schedule_failed_sources": failed,
        "scenario_arrivals": arrivals,
    }

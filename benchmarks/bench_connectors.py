"""Time and memory to load a generated 100k-row procurement CSV through the CSV connector.

Run: .venv/bin/python benchmarks/bench_connectors.py [rows] [repeats]
Prints rows read / accepted / quarantined, seconds (best of `repeats`, wall clock and CPU: the CPU
figure is the steadier one on a shared machine), rows per second, peak traced memory, and the same
for a bare `pd.read_csv(dtype=str)` of the file with the ratio connector / bare read.

Per source of a generated force (`integrity-audit generate -o DIR --scale 5`):

    .venv/bin/python benchmarks/bench_connectors.py --force DIR [repeats]

prints, for every enabled source, its kind, rows, the CPU seconds of `pull` and of a bare pandas read
of the same input (read_csv / read_excel / read_sql, dtype=str; best of `repeats` each) and their
ratio; then where the load's CPU goes over all sources: reading (per format), mapping, cell parsing,
validation, row identity (fact ids), the unique-key check, and the rest of assembling. An xlsx
source also gets its load with the openpyxl reader only (`read_file(fast=False)`, the reference the
fast path is tested against), in runs alternating with the fast path.
"""
from __future__ import annotations

import contextlib
import importlib.util
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from connectors import SourceConfig, pull  # noqa: E402


def best(fn, repeats: int) -> tuple[float, float, object]:
    """(best wall seconds, best CPU seconds, last result) over `repeats` calls."""
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), out


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    suppliers = [f"Supplier {i} Ltd" for i in range(2000)]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("Trans No,Paid Date,Amount,Supplier ID,Supplier Name,Service Area,Category,Bank\n")
        for i in range(rows):
            s = rnd.randrange(len(suppliers))
            amount = f"{rnd.randint(-5000, 5_000_000) / 100:.2f}"
            date = f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/2024"
            if i % 1000 == 0:
                date = "not a date"  # 0.1% dirty rows
            fh.write(f"{1000000 + i // 3} - {i % 3},{date},\"£{amount}\",S{s:05d},{suppliers[s]},"
                     f"Area {s % 40},Cat {s % 90},{s:08d}\n")


def main(rows: int = 100_000, repeats: int = 3) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, "spend.csv")
        write_csv(path, rows)
        src = SourceConfig(
            name="bench", register="procurement", kind="csv", path="spend.csv",
            columns={"Paid Date": "transaction_date", "Amount": "net_amount", "Supplier ID": "supplier_id",
                     "Supplier Name": "supplier_name", "Service Area": "department", "Category": "category",
                     "Bank": "supplier_bank_hash"},
            extract={"Trans No": r"(?P<transaction_id>\d+)\s*-\s*(?P<line_no>\d+)"},
            defaults={"transaction_type": "payment"})
        w0, c0 = time.perf_counter(), time.process_time()
        pull(src, Path(d))  # first load: includes one-off imports (pandera backends)
        first_wall, first_cpu = time.perf_counter() - w0, time.process_time() - c0
        wall, cpu, frame = best(lambda: pull(src, Path(d)), repeats)
        bare_wall, bare_cpu, _ = best(lambda: pd.read_csv(path, dtype=str), repeats)
        tracemalloc.start()  # a further load, traced (tracing slows it, so it is not timed)
        pull(src, Path(d))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"file size        {path.name}: {rows:,} rows")
    print(f"rows read        {frame.rows_read:,}")
    print(f"rows accepted    {frame.rows_accepted:,}")
    print(f"rows quarantined {frame.rows_quarantined:,}")
    print(f"first load       {first_wall:.2f} s wall, {first_cpu:.2f} s CPU")
    print(f"seconds          {wall:.2f} wall, {cpu:.2f} CPU (best of {repeats})")
    print(f"rows per second  {frame.rows_read / wall:,.0f} wall, {frame.rows_read / cpu:,.0f} CPU")
    print(f"peak traced MB   {peak / 1e6:.0f}")
    print(f"bare read_csv    {bare_wall:.3f} s wall, {bare_cpu:.3f} s CPU (pd.read_csv dtype=str)")
    print(f"ratio            {wall / bare_wall:.1f}x wall, {cpu / bare_cpu:.1f}x CPU (connector / bare read)")


def bare_read(settings, src, engine: str = "openpyxl") -> None:
    """A source's rows read with plain pandas, every cell as text: the floor a connector is held to
    (`engine`: pandas' xlsx reader)."""
    import sqlalchemy as sa

    if src.kind == "csv":
        pd.read_csv(settings.resolve_path(src.path), dtype=str, encoding=src.encoding, skiprows=src.skip_rows,
                    sep=src.delimiter, keep_default_na=False)
    elif src.kind == "xlsx":
        pd.read_excel(settings.resolve_path(src.path), sheet_name=src.sheet or 0, dtype=str, skiprows=src.skip_rows,
                      engine=engine)
    else:
        engine = sa.create_engine(src.url)
        with engine.connect() as conn:
            pd.read_sql(sa.text(src.query or f"SELECT * FROM {src.table}"), conn, dtype=str)
        engine.dispose()


def alternating(first, second, repeats: int) -> tuple[float, float]:
    """Best CPU seconds of `first` and of `second`, run one after the other `repeats` times (a busy
    spell of the machine then weighs on both)."""
    a, b = [], []
    for _ in range(repeats):
        for fn, out in ((first, a), (second, b)):
            c = time.process_time()
            fn()
            out.append(time.process_time() - c)
    return min(a), min(b)


def reference_xlsx_pull(src, base_dir):
    """`pull` with the xlsx files read by openpyxl only (the reference path, as before the fast one)."""
    import connectors

    saved = connectors._FILE_READERS["xlsx"]
    connectors._FILE_READERS["xlsx"] = lambda s, p, b: connectors.xlsx_source.read_file(s, p, b, fast=False)
    try:
        return pull(src, base_dir)
    finally:
        connectors._FILE_READERS["xlsx"] = saved


@contextlib.contextmanager
def stage_clock():
    """CPU seconds spent in each part of a load, by wrapping the connector functions for a while."""
    import connectors

    assemble = importlib.import_module("connectors.assemble")  # the package re-exports the function
    parts = {"read csv": (connectors.csv_source, "read_file"), "read xlsx": (connectors.xlsx_source, "read_file"),
             "read sql": (connectors.sql_source, "read"), "assemble": (connectors, "assemble"),
             "mapping": (assemble, "map_table"), "cell parsing": (assemble, "parse_column"),
             "validation": (assemble, "problems"), "row identity": (assemble, "_fact_ids"),
             "unique keys": (assemble, "_unique_keys")}
    spent: dict[str, float] = dict.fromkeys(parts, 0.0)
    saved = []

    def clocked(label, fn):
        def run(*a, **k):
            t = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[label] += time.process_time() - t
        return run

    for label, (module, name) in parts.items():
        saved.append((module, name, getattr(module, name)))
        setattr(module, name, clocked(label, getattr(module, name)))
    readers = dict(connectors._FILE_READERS)
    connectors._FILE_READERS.update(csv=connectors.csv_source.read_file, xlsx=connectors.xlsx_source.read_file)
    try:
        yield spent
    finally:
        for module, name, fn in saved:
            setattr(module, name, fn)
        connectors._FILE_READERS.update(readers)


def force(folder: Path, repeats: int = 2) -> None:
    from audit.settings import load as load_settings

    settings = load_settings(folder / "config.toml")
    sources = [s for s in settings.sources if s.enabled]
    calamine = importlib.util.find_spec("python_calamine") is not None
    total_load = total_bare = 0.0
    print(f"{'source':20s} {'kind':4s} {'rows':>9s} {'load CPU s':>10s} {'bare CPU s':>10s} {'load/bare':>9s}")
    with contextlib.chdir(folder):
        pull(sources[0], settings.base_dir)  # one-off imports (pandera backends) are not a source's cost
        for src in sources:
            _, load_cpu, frame = best(lambda: pull(src, settings.base_dir), repeats)
            _, bare_cpu, _ = best(lambda: bare_read(settings, src), repeats)
            total_load, total_bare = total_load + load_cpu, total_bare + bare_cpu
            print(f"{src.name:20s} {src.kind:4s} {frame.rows_read:9,} {load_cpu:10.2f} {bare_cpu:10.2f} "
                  f"{load_cpu / max(bare_cpu, 1e-3):8.1f}x")
            if src.kind == "xlsx":  # the reader before the fast path, in runs alternating with it
                fast_load, ref_load = alternating(lambda: pull(src, settings.base_dir), lambda: reference_xlsx_pull(
                    src, settings.base_dir), repeats)
                print(f"{'':20s} {'':4s} {'':9s} {ref_load:10.2f} {'':10s} {'':9s} (load with the openpyxl reader; "
                      f"fast path {fast_load:.2f} in the same alternating runs: {ref_load / max(fast_load, 1e-3):.1f}x)")
            if src.kind == "xlsx" and calamine:  # the fastest xlsx reader pandas has, when it is installed
                _, fast_cpu, _ = best(lambda: bare_read(settings, src, "calamine"), repeats)
                print(f"{'':20s} {'':4s} {'':9s} {'':10s} {fast_cpu:10.2f} {load_cpu / max(fast_cpu, 1e-3):8.1f}x"
                      " (bare read with python-calamine)")
        print(f"{'all':20s} {'':4s} {'':9s} {total_load:10.2f} {total_bare:10.2f} {total_load / total_bare:8.1f}x")
        with stage_clock() as spent:
            w, c = time.perf_counter(), time.process_time()
            for src in sources:
                pull(src, settings.base_dir)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
    within = ("mapping", "cell parsing", "validation", "row identity", "unique keys")  # parts of assemble
    spent["rest of assembling"] = spent.pop("assemble") - sum(spent[k] for k in within)
    spent["outside these"] = cpu - sum(spent.values())  # finding files, gc switching, ...
    print(f"\nwhere one load of every source goes ({cpu:.2f} s CPU, {wall:.2f} s wall in all):")
    for label, seconds in spent.items():
        print(f"  {label:20s} {seconds:6.2f} s CPU")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--force"]:
        force(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)

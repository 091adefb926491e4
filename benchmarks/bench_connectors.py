"""Time and memory to load a generated 100k-row procurement CSV through the CSV connector.

Run: .venv/bin/python benchmarks/bench_connectors.py [rows] [repeats]
Prints rows read / accepted / quarantined, seconds (best of `repeats`, wall clock and CPU: the CPU
figure is the steadier one on a shared machine), rows per second, peak traced memory, and the same
for a bare `pd.read_csv(dtype=str)` of the file with the ratio connector / bare read.
"""
from __future__ import annotations

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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)

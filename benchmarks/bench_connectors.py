"""Time and memory to load a generated 100k-row procurement CSV through the CSV connector.

Run: .venv/bin/python benchmarks/bench_connectors.py [rows]
Prints rows read / accepted / quarantined, seconds, rows per second and peak traced memory.
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

from connectors import SourceConfig, pull  # noqa: E402


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


def main(rows: int = 100_000) -> None:
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
        t0 = time.perf_counter()
        frame = pull(src, Path(d))
        seconds = time.perf_counter() - t0
        tracemalloc.start()  # a second load, traced (tracing slows it, so it is not timed)
        pull(src, Path(d))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"file size        {path.name}: {rows:,} rows")
    print(f"rows read        {frame.rows_read:,}")
    print(f"rows accepted    {frame.rows_accepted:,}")
    print(f"rows quarantined {frame.rows_quarantined:,}")
    print(f"seconds          {seconds:.2f}")
    print(f"rows per second  {frame.rows_read / seconds:,.0f}")
    print(f"peak traced MB   {peak / 1e6:.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

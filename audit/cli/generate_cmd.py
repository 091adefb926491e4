"""`integrity-audit generate`: write a fictional force's registers, their config.toml and truth.json."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from audit.cli.common import console, friendly_errors


def register(app: typer.Typer) -> None:
    @app.command("generate")
    def generate(
        out: Path = typer.Option(..., "--out", "-o", help="Folder to write the sources, config.toml and truth.json"),
        seed: int = typer.Option(1, help="Random seed: the same seed and options give byte-identical files"),
        months: int = typer.Option(12, help="Months of event data, ending with --end"),
        end: str = typer.Option("2026-10", help="Last month of data, YYYY-MM"),
        scale: float = typer.Option(1.0, help="Size of the force: 1 = about 2,000 staff (officers, staff, specials, "
                                               "contractors, volunteers); every register grows in proportion "
                                               "(rows per source at scales 1, 5, 20 and 100 above)"),
        embedded_config: Optional[Path] = typer.Option(
            None, help="Also write a documented config.toml here whose sources point at --out"),
        schedule: bool = typer.Option(
            False, "--schedule",
            help="Also write OUT/schedule/YYYY-MM/: each month's sources as that month's run saw them "
                 "(late, changed and deleted entries; see docs/generator-truth.md)"),
    ) -> None:
        """Generate a realistic fictional force with planted scenarios, decoys and dirty rows.

        \b
        Rows written per source (seed 1, 12 months; measured with
        benchmarks/bench_generator.py --scale 1 5 20 100 on a shared 2-core machine):
          source                scale 1   scale 5   scale 20   scale 100
          workforce (staff)       2,005    10,003     40,006     200,007
          vetting                 2,232    11,252     45,072     225,451
          absence                 7,312    36,110    144,777     724,172
          gifts                     613     3,052     12,416      61,701
          gifts_divisional           78       418      1,844       9,149
          business_interests        345     1,766      7,040      35,650
          associations              191       944      3,720      18,900
          expenses               26,494   131,381    520,736   2,603,183
          procurement             9,051    43,884    176,448     882,360
          barred_list               311     1,559      6,240      31,496
          total                  48,632   240,369    958,299   4,792,069
          on disk                  8 MB     41 MB     164 MB      832 MB
          CPU time                  3 s      13 s       49 s       236 s
          peak memory            143 MB    368 MB   1,085 MB    4,526 MB
        --schedule adds the twelve monthly extracts: at scale 5, 244 MB on disk in all against 41 MB."""
        from audit.generator import generate as run
        from audit.generator.config_writer import write_embedded
        from audit.generator.layouts import LAYOUTS

        with friendly_errors(ValueError, RuntimeError), Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                console=console, transient=True) as progress:
            task = progress.add_task("starting", total=None)
            result = run(out, seed=seed, months=months, end=end, scale=scale, schedule=schedule,
                         step=lambda name: progress.update(task, description=name))
        table = Table(title=f"Generated {out} (seed {seed}, scale {scale:g}, {months} months to {end})")
        for col in ("source", "rows", "dirty rows"):
            table.add_column(col, justify="left" if col == "source" else "right")
        for name, n in result.rows.items():
            table.add_row(name, f"{n:,}", str(result.dirty[name]))
        table.add_row("total", f"{sum(result.rows.values()):,}", str(sum(result.dirty.values())))
        console.print(table)
        console.print(f"{result.scenarios} scenarios, {result.decoys} decoys, {result.schedule} late / altered / "
                      f"deleted entries and near misses; {result.seconds:.1f} s")
        if schedule:
            console.print(f"monthly extracts in {Path(out) / 'schedule'} (one folder per month, each with its "
                          f"config.toml)")
        if embedded_config:
            # config paths are relative to the config's folder, which need not contain --out
            embedded_config.parent.mkdir(parents=True, exist_ok=True)
            rel = Path(os.path.relpath(Path(out).resolve(), embedded_config.resolve().parent))
            write_embedded(LAYOUTS, embedded_config, prefix=f"{rel.as_posix()}/")
            console.print(f"wrote {embedded_config}")

"""Connectors: sources (CSV, XLSX, SQL) -> canonical register frames, with quarantine.

Owns reading, mapping and validating source data. May import only audit.registers and audit.collector.
Public API: `pull(source, base_dir)` for one source, `stream(source, base_dir, keep)` for a large one read
in chunks and pruned as it is read, and `load_sources(sources, base_dir)` for a run.
A source that reads 0 data rows fails (SourceError "... read 0 rows ...") unless its config says
`allow_empty = true`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from audit import collector, registers

from . import csv_source, files, sql_source, xlsx_source
from .assemble import assemble, assemble_stream
from .config import SourceConfig
from .frame import FileInfo, Provenance, RegisterFrame, SourceError, empty_quarantine
from .mapping import RawTable
from .validate import empty_frame

__all__ = ["pull", "stream", "is_streamed", "load_sources", "LoadResult", "SourceFailure", "SourceError", "RegisterFrame",
           "SourceConfig", "Provenance", "empty_frame"]

_FILE_READERS = {"csv": csv_source.read_file, "xlsx": xlsx_source.read_file}


def pull(source: SourceConfig, base_dir: Path) -> RegisterFrame:
    """Read one source onto its register. Raises SourceError when the source cannot be read."""
    # A load builds millions of small objects that all stay alive until it ends; the cyclic
    # garbage collector would rescan them again and again (a third of the CPU time of a CSV
    # load), and there are no cycles to find.
    with collector.paused():
        return _pull(source, base_dir)


def _register(source: SourceConfig):
    try:
        register = registers.get(source.register)
    except KeyError as e:
        raise SourceError(source.name, str(e.args[0])) from None
    if register.generated:
        raise SourceError(source.name, f"register {register.name!r} is made by each run from the store's "
                                       "ledger of earlier runs, not read from a source: remove this source")
    return register


def _pull(source: SourceConfig, base_dir: Path) -> RegisterFrame:
    register = _register(source)
    tables: list[RawTable] = []
    infos: list[FileInfo] = []
    warnings: list[str] = []
    if source.kind == "sql":
        table, info, location = sql_source.read(source, Path(base_dir))
        tables.append(table)
        infos.append(info)
    else:
        location = source.path or ""
        for path in files.resolve(source, Path(base_dir)):
            table, info, notes = _FILE_READERS[source.kind](source, path, Path(base_dir))
            tables.append(table)
            infos.append(info)
            warnings += notes
        if len(tables) > 1:  # one empty file of a glob is worth a word even when the others have rows
            warnings += [f"{t.label}: header only (0 rows)" for t in tables if not t.rows]
    frame = assemble(source, register, tables, infos, location, warnings)  # config errors first
    return _refuse_empty(source, register, frame)


def is_streamed(source: SourceConfig) -> bool:
    """The source feeds a register marked `streamed` (an access log): read it with `stream`."""
    try:
        return registers.get(source.register).streamed
    except KeyError:
        return False  # pull says the register is unknown


#: rows a streamed source reads at a time (connectors.stream): ~200 MB of Python objects per table
STREAM_ROWS = 200_000


def stream(source: SourceConfig, base_dir: Path, keep: Callable[[pd.DataFrame], np.ndarray], *,
           rows_per_table: int | None = None, progress: Callable[[int, int], None] | None = None,
           wanted: Callable[[list[str]], bool] | None = None) -> RegisterFrame:
    """Read a (large) source keeping only the accepted rows `keep` selects, the rest counted as
    rows_pruned: every check, count and quarantine of `pull` is the same. A CSV source is read one
    table of `rows_per_table` (default STREAM_ROWS) rows at a time, so memory holds one file's text, one table and the
    kept rows; an SQL source is fetched as many rows at a time (a server-side cursor); an Excel
    source is read whole and then pruned. Raises SourceError as pull.
    `wanted(cells)`: a CSV record whose raw cells fail it is skipped unparsed (a second read for a few
    rows); the counts then cover the rows parsed only, so use it for such reads, never a run's load."""
    with collector.paused():
        if source.kind == "xlsx":  # (a sheet holds at most 1,048,576 rows, read whole)
            frame = _pull(source, base_dir)
            mask = np.asarray(keep(frame.df), dtype=bool)
            frame.rows_pruned, frame.df = int((~mask).sum()), frame.df[mask].reset_index(drop=True)
            return frame
        return _stream(source, base_dir, keep, rows_per_table or STREAM_ROWS, progress, wanted)


def _stream(source: SourceConfig, base_dir: Path, keep, rows_per_table: int, progress, wanted=None) -> RegisterFrame:
    register = _register(source)
    infos: list[FileInfo] = []
    warnings: list[str] = []  # the files' notes, complete once their tables are read

    def csv_tables():
        for path in files.resolve(source, Path(base_dir)):
            f = csv_source.open_file(source, path, Path(base_dir))
            infos.append(f.info)
            for table in csv_source.tables(f, rows_per_table, wanted):
                yield table, f.info
            warnings.extend(f.warnings)
            del f  # the file's text goes before the next file is read

    if source.kind == "sql":
        q = sql_source.open_query(source, Path(base_dir))
        infos.append(q.info)
        tables, location = ((t, q.info) for t in sql_source.tables(q, rows_per_table)), q.location
    else:
        tables, location = csv_tables(), source.path or ""
    frame = assemble_stream(source, register, tables, infos, location, [], keep, progress)
    frame.provenance.warnings += warnings
    if len(infos) > 1:
        frame.provenance.warnings += [f"{i.path}: header only (0 rows)" for i in infos if not i.rows]
    return _refuse_empty(source, register, frame)


def _refuse_empty(source: SourceConfig, register, frame: RegisterFrame) -> RegisterFrame:
    """Why an empty read fails the source: an empty extract is far more often a broken export
    than an empty register, and every rule over the register would see nothing (an `absent` rule
    would accuse every row it checks)."""
    if frame.rows_read:
        return frame
    if source.allow_empty:
        frame.provenance.warnings.append("read 0 rows (allowed: allow_empty = true)")
        return frame
    labels = [i.path for i in frame.provenance.files]
    if source.kind == "sql":
        what = "the query returned no rows, so the source read 0 rows"
    elif len(labels) == 1:
        what = f"{labels[0]} has a header row but read 0 rows"
    else:
        what = f"its {len(labels)} files have header rows but read 0 rows"
    raise SourceError(source.name, f"{what}; an empty extract would leave the {register.label.lower()} register "
                      "empty and the rules over it would see nothing. If the register really has no entries, set "
                      "allow_empty = true for this source")


@dataclass
class SourceFailure:
    source: str
    register: str
    message: str
    required: bool = True


@dataclass
class LoadResult:
    frames: list[RegisterFrame] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # disabled sources

    def by_register(self) -> dict[str, pd.DataFrame]:
        """Every register in the dictionary -> its sources' rows (empty, typed, if none)."""
        out: dict[str, pd.DataFrame] = {}
        for name in registers.names():
            parts = [f.df for f in self.frames if f.register == name and not f.df.empty]
            out[name] = pd.concat(parts, ignore_index=True) if parts else empty_frame(name)
        return out

    @property
    def quarantine(self) -> pd.DataFrame:
        parts = [f.quarantine for f in self.frames if not f.quarantine.empty]
        return pd.concat(parts, ignore_index=True) if parts else empty_quarantine()

    @property
    def complete(self) -> bool:
        """False when a required source failed: the audit of this run is incomplete."""
        return not any(f.required for f in self.failures)

    def top_reasons(self, source: str, n: int = 5) -> list[tuple[str, int]]:
        frame = next((f for f in self.frames if f.source == source), None)
        if frame is None or frame.quarantine.empty:
            return []
        return Counter(frame.quarantine["reason"]).most_common(n)


def load_sources(sources: Iterable[SourceConfig], base_dir: Path,
                 progress: Callable[[str, int, int], None] | None = None, *, counts_only_streamed: bool = False
                 ) -> LoadResult:
    """Pull every enabled source; a failing source is recorded and never stops the others.

    `progress(source_name, done, total)` is called after each enabled source. `counts_only_streamed`:
    a source of a streamed register (an access log of millions of rows) is read a table at a time
    and keeps no rows, only its counts, quarantine and notes (for `sources check`).
    """
    sources = list(sources)
    enabled = [s for s in sources if s.enabled]
    result = LoadResult(skipped=[s.name for s in sources if not s.enabled])
    for done, source in enumerate(enabled, start=1):
        try:
            if counts_only_streamed and is_streamed(source):
                result.frames.append(stream(source, base_dir, lambda df: np.zeros(len(df), dtype=bool)))
            else:
                result.frames.append(pull(source, base_dir))
        except SourceError as e:
            result.failures.append(SourceFailure(source.name, source.register, str(e), source.required))
        if progress:
            progress(source.name, done, len(enabled))
    return result

"""A folder of a force's exports -> one config: the register of each file guessed, then suggested.

    outcome = suggest_folder(Path("exports"))        # every CSV / xlsx file in the folder
    print(folder_toml(outcome))                      # one [[sources]] block per recognised file

The register of a file is guessed by proposing its mapping onto every register that is read from
sources and keeping the one that explains it best (`guess`): every required field found (a missing
record id counts as found when the row number can stand in) and at least MIN_COLUMNS and
MIN_COLUMN_SHARE of the file's columns mapped, then the most columns mapped, then the best mean
score. A file where no register has its required fields is not recognised: it is listed
with the closest register and what that one lacks, never given a block that cannot load.

Workforce files are done first: the person ids they load (through their own proposal, dry-run)
are then the known ids that let the other files' person-id columns be recognised by their values.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from audit import registers

from .. import SourceError, pull
from . import DryRun, ReadFile, Suggestion, default_name, dry_run, propose, proposed_config, read
from .render import _comment, to_toml
from .sniff import SuggestError

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
#: a guess must map at least this share of the file's columns, and MIN_COLUMNS of them (published
#: spend files carry many columns no register holds: Calderdale maps 10 of its 23)
MIN_COLUMN_SHARE = 0.3
MIN_COLUMNS = 3


@dataclass
class Guess:
    suggestion: Suggestion | None  # None: no register fits
    reason: str
    ranking: list[tuple[str, int, int, float]] = field(default_factory=list)  # (register, missing, mapped, mean)


@dataclass
class FileOutcome:
    path: Path
    guess: Guess | None = None
    error: str | None = None  # the file cannot be read
    dry_run: DryRun | None = None

    @property
    def suggestion(self) -> Suggestion | None:
        return self.guess.suggestion if self.guess else None

    @property
    def loads(self) -> bool:
        s = self.suggestion
        return bool(s and s.complete and self.dry_run and self.dry_run.error is None)


@dataclass
class FolderOutcome:
    folder: Path
    files: list[FileOutcome]
    known_ids: int = 0  # workforce person ids used to recognise person-id columns

    @property
    def all_load(self) -> bool:
        return bool(self.files) and all(f.loads for f in self.files)


def _fit(s: Suggestion, columns: int) -> tuple[int, int, float]:
    missing = len(s.missing_required) + len(s.missing_groups)
    mapped = len(s.columns) + len(s.extract)
    mean = sum(c.score for c in s.candidates) / len(s.candidates) if s.candidates else 0.0
    return missing, mapped, mean


def guess(f: ReadFile, known_ids: set[str] | None = None, name: str | None = None,
          path_text: str | None = None) -> Guess:
    """The register whose proposal explains the file best, with the reason."""
    columns = len(f.profiles) or 1
    tried = []
    for reg_name in registers.names():
        reg = registers.get(reg_name)
        if reg.generated:
            continue
        s = propose(f, reg, name=name, known_ids=known_ids, path_text=path_text)
        tried.append((s, *_fit(s, columns)))
    tried.sort(key=lambda t: (t[1], -t[2], -t[3]))
    ranking = [(s.register.name, missing, mapped, round(mean, 1)) for s, missing, mapped, mean in tried]
    best, missing, mapped, mean = tried[0]
    runner = next(((s, m, n) for s, m, n, _ in tried[1:]), None)
    if missing or mapped < max(MIN_COLUMNS, MIN_COLUMN_SHARE * columns):
        lacks = ", ".join(best.missing_required + [" / ".join(g) for g in best.missing_groups])
        why = (f"no register fits: closest is {best.register.name} ({mapped} of {columns} columns"
               + (f"; lacks {lacks}" if lacks else "; too few columns mapped") + ")")
        return Guess(None, why, ranking)
    why = (f"{best.register.name}: {mapped} of {columns} columns mapped (mean score {mean:.0f}), every "
           "required field found")
    if best.row_id:
        why += f" ({best.row_id} from the row number)"
    if runner is not None:
        other, m, n = runner
        why += (f"; next: {other.register.name} ({n} columns" + (f", lacks {m} required" if m else "") + ")")
    return Guess(best, why, ranking)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith((".", "~$")))


def _unique_name(path: Path, taken: set[str]) -> str:
    base = default_name(path)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _path_text(path: Path, base: Path | None) -> str:
    """The path as the config will hold it: relative to the config file's folder when known."""
    if base is None:
        return path.as_posix()
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def _workforce_ids(s: Suggestion) -> set[str]:
    try:
        df = pull(proposed_config(s), s.plan.path.resolve().parent).df
    except SourceError:
        return set()
    return set(df["person_id"].dropna().astype(str))


def suggest_folder(folder: Path, known_ids: set[str] | None = None, config_dir: Path | None = None,
                   register: str | None = None) -> FolderOutcome:
    """Guess and suggest every CSV / xlsx file in `folder` (not its subfolders).

    `config_dir`: the folder of the config the blocks go in (paths are written relative to it);
    None writes them as found under `folder`. `register`: every file is this register (no guess).
    Raises SuggestError when the folder holds no such file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SuggestError(f"{folder} is not a folder")
    paths = _files(folder)
    if not paths:
        raise SuggestError(f"{folder}: no CSV or xlsx files ({', '.join(SUFFIXES)}) in this folder")
    ids = set(known_ids or ())
    taken: set[str] = set()
    read_files: list[tuple[Path, ReadFile | None, str | None]] = []
    for p in paths:
        try:
            read_files.append((p, read(p), None))
        except SuggestError as e:
            read_files.append((p, None, str(e)))
    outcomes: dict[Path, FileOutcome] = {}
    # workforce first: its ids recognise the person-id columns of the others
    for rounds in ("workforce", "others"):
        for p, f, error in read_files:
            if p in outcomes:
                continue
            if f is None:
                outcomes[p] = FileOutcome(p, error=error)
                continue
            g = _guess_or_force(f, register, ids, p, config_dir)
            if rounds == "workforce" and (g.suggestion is None or g.suggestion.register.name != "workforce"):
                continue
            s = g.suggestion
            if s is not None:
                s.name = _unique_name(p, taken)
            out = FileOutcome(p, guess=g, dry_run=dry_run(s) if s is not None and s.complete else None)
            outcomes[p] = out
            if rounds == "workforce" and out.loads:
                ids |= _workforce_ids(s)
    return FolderOutcome(folder, [outcomes[p] for p in paths], known_ids=len(ids))


def _guess_or_force(f: ReadFile, register: str | None, ids: set[str], p: Path, config_dir: Path | None) -> Guess:
    text = _path_text(p, config_dir)
    if register is None:
        return guess(f, ids or None, path_text=text)
    reg = registers.get(register)
    s = propose(f, reg, known_ids=ids or None, path_text=text)
    return Guess(s, f"{register}: given with --register")


def folder_toml(outcome: FolderOutcome) -> str:
    """One config: a block per recognised file (workforce first), unrecognised files as comments."""
    lines = [f"# Suggested by `integrity-audit sources suggest {_comment(outcome.folder.as_posix())}`: one "
             "[[sources]] block per file it recognised. Check every line.",
             "# Paths are relative to this file's folder when it was written with --output."]
    if outcome.known_ids:
        lines.append(f"# {outcome.known_ids:,} workforce person id(s) were used to recognise person-id columns.")
    ordered = sorted(outcome.files, key=lambda f: (not (f.suggestion and f.suggestion.register.name == "workforce"),
                                                   f.path.name))
    for f in ordered:
        if f.error:
            lines += ["", f"# not read: {_comment(f.path.name)}: {_comment(f.error)}"]
        elif f.suggestion is None:
            lines += ["", f"# not recognised: {_comment(f.path.name)}: {_comment(f.guess.reason)}"]
    for f in ordered:
        if f.suggestion is not None:
            lines += ["", f"# {_comment(f.path.name)} -> {_comment(f.guess.reason)}", to_toml(f.suggestion).rstrip("\n")]
    return "\n".join(lines) + "\n"

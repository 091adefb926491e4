"""Score `sources suggest` on the layouts corpus (tests/connectors/layouts): unedited output only.

Run: .venv/bin/python benchmarks/bench_suggest.py [--files] [--json]

The corpus is a folder per force, each holding register files in layouts the project's generator
never writes, and next to each file `<file>.expect.toml`: its register, the right field -> column
map (`"(row number)"` where the row number is the record's identity, `"(composite: A + B)"` for a
key made of named columns), the rows it holds and `quarantined = 0`. The files are clean: every
row should load, so every quarantined row is a wrong quarantine.

For each file, suggest runs with the expected register (and the force's workforce ids, read from
its workforce file through the suggested mapping, when suggest accepts them); the proposal is then
dry-run through the real connector as it is. Scores:

- fields right: expected pairs reproduced / (expected pairs + wrong extra pairs);
- files loading: the proposal is complete and the dry run loads;
- rows loaded: rows accepted / rows expected (over all files);
- wrong quarantines: rows the dry run quarantined;
- hand edits: what a person would still change: each missing or wrong pair, plus one per distinct
  quarantine reason, plus one per file that does not load for another reason.

Prints one line per file with --files; prints the totals always (and as JSON with --json). The
same is printed for benchmarks/layouts_holdout: files written after suggest was tuned on the
corpus and scored without tuning, so the corpus figure (whose aliases were written knowing it) has
an honest companion.
"""
from __future__ import annotations

import inspect
import json
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.suggest import dry_run, suggest  # noqa: E402

CORPUS = ROOT / "tests" / "connectors" / "layouts"
#: layouts written after suggest was tuned on the corpus, scored without tuning (printed, not asserted)
HOLDOUT = ROOT / "benchmarks" / "layouts_holdout"


@dataclass
class FileScore:
    file: str
    register: str
    expected: int  # expected field -> column pairs
    right: int
    wrong: list[str] = field(default_factory=list)  # "field: got X, want Y" / "field: extra X"
    missing: list[str] = field(default_factory=list)
    loads: bool = False
    rows: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def hand_edits(self) -> int:
        return len(self.wrong) + len(self.missing) + len(self.reasons) + (
            0 if self.loads or self.missing or self.wrong or self.reasons else 1)


def expectations(folder: Path = CORPUS) -> list[tuple[Path, dict]]:
    return [(p.with_name(p.name[: -len(".expect.toml")]), tomllib.loads(p.read_text(encoding="utf-8")))
            for p in sorted(folder.rglob("*.expect.toml"))]


def proposed_pairs(s) -> dict[str, str]:
    """field -> column as the corpus writes it, over columns, extract, row_id and composite."""
    pairs = dict(s.mapped_fields)
    for fname in [getattr(s, "row_id", None)] if getattr(s, "row_id", None) else []:
        pairs[fname] = "(row number)"
    for fname, headers in (getattr(s, "composite", None) or {}).items():
        pairs[fname] = "(composite: " + " + ".join(headers) + ")"
    return pairs


def _workforce_ids(folder: Path, cases: list[tuple[Path, dict]]) -> set[str]:
    """Person ids of the force's workforce file(s), read through their own suggested mapping."""
    from connectors import pull
    from connectors.suggest import proposed_config

    ids: set[str] = set()
    for path, exp in cases:
        if path.parent == folder and exp["register"] == "workforce":
            s = suggest(path, "workforce", sheet=exp.get("sheet"))
            if s.complete:
                try:
                    ids |= set(pull(proposed_config(s), path.parent).df["person_id"].dropna().astype(str))
                except Exception:  # noqa: BLE001 - a failing workforce file just gives no ids
                    pass
    return ids


def score_file(path: Path, exp: dict, known_ids: set[str] | None = None) -> FileScore:
    kwargs = {"sheet": exp.get("sheet")}
    if known_ids and "known_ids" in inspect.signature(suggest).parameters:
        kwargs["known_ids"] = known_ids
    base = next((b for b in (CORPUS, HOLDOUT) if path.is_relative_to(b)), path.parent)
    out = FileScore(file=path.relative_to(base).as_posix(),
                    register=exp["register"], expected=len(exp["fields"]), right=0, rows=exp["rows"])
    try:
        s = suggest(path, exp["register"], **kwargs)
    except Exception as e:  # noqa: BLE001 - a crash scores as nothing right
        out.error = f"{type(e).__name__}: {e}"
        out.missing = list(exp["fields"])
        return out
    got = proposed_pairs(s)
    for fname, want in exp["fields"].items():
        have = got.get(fname)
        if have == want:
            out.right += 1
        elif have is None:
            out.missing.append(f"{fname}: want {want!r}")
        else:
            out.wrong.append(f"{fname}: got {have!r}, want {want!r}")
    out.wrong += [f"{fname}: extra {col!r}" for fname, col in got.items() if fname not in exp["fields"]]
    if s.complete:
        result = dry_run(s)
        out.error = result.error
        out.loads = result.error is None
        out.accepted, out.quarantined = result.accepted, result.quarantined
        out.reasons = [reason for reason, _ in result.top_reasons]
    else:
        out.error = "incomplete: " + ", ".join(s.missing_required + [" / ".join(g) for g in s.missing_groups])
    return out


def score_corpus(folder: Path = CORPUS) -> tuple[dict, list[FileScore]]:
    cases = expectations(folder)
    forces = sorted({p.parent for p, _ in cases})
    ids = {f: _workforce_ids(f, cases) for f in forces}
    files = [score_file(p, e, ids.get(p.parent)) for p, e in cases]
    expected = sum(f.expected for f in files)
    wrong = sum(len(f.wrong) for f in files)
    total = {
        "files": len(files),
        "fields_right": sum(f.right for f in files),
        "fields_expected": expected,
        "fields_wrong": wrong,
        "fields_right_pct": round(100 * sum(f.right for f in files) / (expected + sum(
            1 for f in files for w in f.wrong if ": extra " in w)), 1),
        "files_loading": sum(f.loads for f in files),
        "rows_expected": sum(f.rows for f in files),
        "rows_loaded": sum(f.accepted for f in files),
        "wrong_quarantines": sum(f.quarantined for f in files),
        "hand_edits": sum(f.hand_edits for f in files),
    }
    return total, files


def main(argv: list[str]) -> None:
    _report("corpus", CORPUS, argv)
    for folder in sorted(p for p in HOLDOUT.iterdir() if p.is_dir()) if HOLDOUT.is_dir() else []:
        _report(f"held-out {folder.name}", folder, argv)


def _report(label: str, folder: Path, argv: list[str]) -> None:
    total, files = score_corpus(folder)
    if "--json" in argv:
        print(json.dumps({"set": label, "total": total, "files": [asdict(f) for f in files]}, indent=2))
        return
    if "--files" in argv:
        for f in files:
            state = "loads" if f.loads else f"FAILS ({f.error})"
            print(f"{f.file}: {f.right}/{f.expected} right, {state}, {f.accepted}/{f.rows} rows, "
                  f"{f.quarantined} quarantined")
            for line in f.wrong + f.missing + [f"quarantine: {r}" for r in f.reasons]:
                print(f"    {line}")
    print(f"{label}: fields right {total['fields_right_pct']}% ({total['fields_right']}/{total['fields_expected']}, "
          f"{total['fields_wrong']} wrong); files loading {total['files_loading']}/{total['files']}; rows loaded "
          f"{total['rows_loaded']}/{total['rows_expected']}; wrong quarantines {total['wrong_quarantines']}; "
          f"hand edits {total['hand_edits']}")


if __name__ == "__main__":
    main(sys.argv[1:])

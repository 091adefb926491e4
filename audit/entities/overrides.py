"""Analysts' decisions on links: the overrides CSV ([entities] overrides in config.toml).

Columns: kind (org | person), left, right, decision (same | different), who, when, why.
  org:    left / right are organisation names or company numbers as written anywhere;
          `same` joins them (method override, score 100, strong); `different` keeps them apart
          even when a company number, VAT number or name says otherwise.
  person: left is the text as written in a register (a name, or an id not in the workforce),
          right is a workforce person_id; `same` resolves that text to that person; `different`
          stops that text from ever resolving to that person.
Every run reads the file again, so decisions hold in later runs. A malformed line fails loudly
with the file and line number.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from audit.entities import names, normalise

COLUMNS = ("kind", "left", "right", "decision", "who", "when", "why")


class OverridesError(ValueError):
    pass


@dataclass(frozen=True)
class Override:
    kind: str
    left: str
    right: str
    decision: str
    who: str = ""
    when: str = ""
    why: str = ""


def org_tag(text: str) -> str:
    """What an org override side refers to: "cn:01234567" for a company number, else "name:<canonical>"."""
    cn = normalise.company_number(text)
    if cn and any(ch.isdigit() for ch in text):
        return "cn:" + cn
    names = normalise.org_names(text)  # as the mentions are named: "X Ltd (Rent)" is "x", "X t/a Y" is "x"
    return "name:" + (names[0] if names else normalise.org_name(text))


def person_text(text: str) -> str:
    """What a person override's left side matches: the canonical written name (or the id as written)."""
    parsed = names.parse(text)
    return parsed.text if parsed.tokens else text.strip()


@dataclass
class Overrides:
    items: list[Override] = field(default_factory=list)

    def org(self, decision: str) -> list[tuple[str, str]]:
        return [(org_tag(o.left), org_tag(o.right)) for o in self.items if o.kind == "org" and o.decision == decision]

    def org_tags(self) -> set[str]:
        return {t for pair in self.org("same") + self.org("different") for t in pair}

    def person_same(self) -> dict[str, str]:
        return {person_text(o.left): o.right.strip() for o in self.items if o.kind == "person" and o.decision == "same"}

    def person_different(self) -> set[tuple[str, str]]:
        return {(person_text(o.left), o.right.strip()) for o in self.items
                if o.kind == "person" and o.decision == "different"}


def load(path: str | Path | None) -> Overrides:
    """Read the overrides CSV; None -> no overrides. A missing file is an error (it was configured)."""
    if path is None:
        return Overrides()
    path = Path(path)
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise OverridesError(f"{path}: entity overrides file not found (check [entities] overrides)") from None
    items: list[Override] = []
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise OverridesError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
        for row in reader:
            line = reader.line_num
            o = Override(**{c: (row.get(c) or "").strip() for c in COLUMNS})
            if o.kind not in ("org", "person"):
                raise OverridesError(f"{path}:{line}: kind must be org or person, got {o.kind!r}")
            if o.decision not in ("same", "different"):
                raise OverridesError(f"{path}:{line}: decision must be same or different, got {o.decision!r}")
            if not o.left or not o.right:
                raise OverridesError(f"{path}:{line}: left and right must both be filled in")
            if not o.who or not o.why:
                raise OverridesError(f"{path}:{line}: who and why must be filled in (the decision is evidence)")
            items.append(o)
    return Overrides(items)


def append(path: str | Path, item: Override) -> None:
    """Add one decision to the overrides CSV (created with its header if new), flushed to disk: the
    next run reads it. The decision is checked as `load` checks a line."""
    if item.kind not in ("org", "person") or item.decision not in ("same", "different"):
        raise OverridesError(f"kind must be org or person and decision same or different, got {item!r}")
    if not (item.left.strip() and item.right.strip() and item.who.strip() and item.why.strip()):
        raise OverridesError("left, right, who and why must all be filled in (the decision is evidence)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(COLUMNS)
        w.writerow([getattr(item, c) for c in COLUMNS])
        fh.flush()
        os.fsync(fh.fileno())

"""`alerts prove`: replay an alert's rule over exactly its stored facts, on both engines.

For an alert's stored occurrence (audit.store.proof: rule version, parameters in force, facts with
their stored values, and what the audit trail recorded about them):

1. the rule: the file in the shipped library or the force's rule folders whose rule id is the
   alert's; its compiled sha256 must be the stored rule_version. If the file changed since, the
   stored version is not available: the current version is used, and the proof says so;
2. the frames: one per register the rule reads, rebuilt from the stored fact values with the
   register's canonical dtypes (dates datetime64, money and int Int64, ...), nothing else in them;
3. rules.evaluate.evaluate_rule for the occurrence's period (a late finding: its event month), with
   the stored parameters, on the reference and the durable engine;
4. the verdict: "reproduced" when both engines raise the same finding (same facts, same dedup key
   and so the same fingerprint, same title, values and as-of date) and the stored evidence matches
   the digest the trail recorded for it; otherwise "differs", with each difference in words.

Imports rules and the store (an orchestration module, like audit.pipeline).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from audit import registers
from audit.period import Period
from audit.settings import Settings
from audit.store.db import Store
from audit.store.evidence import jsonable
from audit.store.proof import BUNDLE_FORMAT, StoredOccurrence, stored_occurrence
from audit.store.record import fingerprint
from rules import api as rules_api
from rules.evaluate import evaluate_rule
from rules.testing import canonical_column

ENGINES = ("reference", "durable")
REPRODUCED, DIFFERS = "reproduced", "differs"


@dataclass
class EngineReplay:
    engine: str
    reproduced: bool = False
    findings: int = 0  # all findings on these facts
    differences: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Proof:
    stored: StoredOccurrence
    rule_name: str
    rule_file: str | None = None
    rule_text: str | None = None
    version_stored: str = ""
    version_used: str | None = None
    version_note: str = ""  # set when the stored version is not available
    period: str = ""
    engines: list[EngineReplay] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    verdict: str = DIFFERS

    @property
    def reproduced(self) -> bool:
        return self.verdict.startswith(REPRODUCED)


_loaded: dict[tuple, list] = {}  # the rule set, by its files' paths, sizes and times (one process proves many)


def _find_rule(settings: Settings, rule_id: str):
    folders = [f for f in settings.rule_folders if Path(f).exists()]
    files = rules_api.rule_files(folders)
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    if stamp not in _loaded:
        _loaded.clear()
        _loaded[stamp] = rules_api.load_rules(folders)[0]
    return next((r for r in _loaded[stamp] if r.id == rule_id), None)


def _column(values: list[Any], ftype: str) -> pd.Series:
    if ftype == "date":
        return pd.to_datetime(pd.Series(values, dtype="object"), format="ISO8601")
    return canonical_column(values, ftype)


def _readable(value: Any, ftype: str) -> bool:
    try:
        _column([value], ftype)
        return True
    except (ValueError, TypeError, OverflowError):
        return False


def frames_from_facts(facts: list[dict[str, Any]], register_names: list[str]
                      ) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """One canonical frame per register, holding exactly the stored facts of that register, and
    the stored values that could not be read as their field's type (evaluated as blank)."""
    frames, unreadable = {}, []
    for name in register_names:
        reg = registers.get(name)
        rows = list({f["fact_id"]: f for f in facts if f["register"] == name}.values())
        data = {"fact_id": pd.Series([r["fact_id"] for r in rows], dtype="object"),
                "_source": pd.Series([r["source"] for r in rows], dtype="object"),
                "_file": pd.Series([r["file"] for r in rows], dtype="object"),
                "_row": pd.Series([r["row"] for r in rows], dtype="Int64")}
        for f in reg.fields.values():
            values = [(r["values"] or {}).get(f.name) for r in rows]
            try:
                data[f.name] = _column(values, f.type)
            except (ValueError, TypeError, OverflowError):
                for r, v in zip(rows, values):
                    if v is not None and not _readable(v, f.type):
                        unreadable.append(f"fact {r['fact_id']}: the stored {f.name} {v!r} is not a {f.type}; "
                                          "evaluated as blank")
                data[f.name] = _column([v if v is None or _readable(v, f.type) else None for v in values], f.type)
        frames[name] = pd.DataFrame(data)
    return frames, unreadable


def _by_alias(facts: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for f in facts:
        out.setdefault(f["alias"], set()).add(str(f["fact_id"]))
    return {a: sorted(ids) for a, ids in sorted(out.items())}


def _compare(findings, stored: StoredOccurrence) -> list[str]:
    """What differs between the findings raised on the stored facts and the stored occurrence."""
    alert, occ = stored.alert, stored.occurrence
    same = [f for f in findings if fingerprint(f.rule_id, f.dedup) == alert["fingerprint"]]
    if not same:
        return [f"the rule raises no finding with this alert's dedup key on the stored facts "
                f"({len(findings)} other finding(s))"]
    union: dict[str, set[str]] = {}
    for f in same:
        for alias, ids in f.facts.items():
            union.setdefault(alias, set()).update(map(str, ids))
    got = {a: sorted(ids) for a, ids in sorted(union.items())}
    want = _by_alias(stored.facts)
    out = []
    if got != want:
        extra = sorted({i for ids in got.values() for i in ids} - {i for ids in want.values() for i in ids})
        lost = sorted({i for ids in want.values() for i in ids} - {i for ids in got.values() for i in ids})
        out.append("the finding's facts differ: " + "; ".join(
            [f"not cited now: {', '.join(lost)}"] * bool(lost) + [f"cited now: {', '.join(extra)}"] * bool(extra)
            or ["same facts under other aliases"]))
    checks = [("title", lambda f: f.title, occ["title"]),
              ("values", lambda f: jsonable(dict(f.values)), occ["values"]),
              ("as-of date", lambda f: f.as_of.isoformat() if f.as_of else None, occ["as_of"]),
              ("subject", lambda f: f.subject, alert["subject"])]
    for what, get, stored_value in checks:
        if not any(get(f) == stored_value for f in same):
            out.append(f"{what} differs: stored {stored_value!r}, now {get(same[0])!r}")
    return out


def prove(store: Store, settings: Settings, alert_id: int, run_id: int | None = None,
          engines: tuple[str, ...] = ENGINES) -> Proof:
    """Replay the alert's stored occurrence (see the module docstring). Raises NotFound."""
    stored = stored_occurrence(store, alert_id, run_id)
    occ, alert = stored.occurrence, stored.alert
    proof = Proof(stored=stored, rule_name=alert["rule_name"], version_stored=occ["rule_version"])
    if not stored.trail.matches:
        proof.differences.append(stored.trail.why)
    rule = _find_rule(settings, alert["rule_id"])
    if rule is None:
        proof.differences.append(f"the rule {alert['rule_name']} ({alert['rule_id']}) is in neither the library "
                                 "nor the force's rule folders: it cannot be re-evaluated")
        proof.verdict = "not reproducible"
        return proof
    compiled = rules_api.compile_rule(rule)
    proof.rule_file, proof.version_used = str(rule.file), compiled.version
    try:
        proof.rule_text = Path(rule.file).read_text(encoding="utf-8")
    except OSError:
        proof.rule_text = None
    if compiled.version != occ["rule_version"]:
        proof.version_note = (f"the stored rule version {occ['rule_version'][:12]} is not available (the rule file "
                              f"{rule.file} changed since); compared with its current version "
                              f"{compiled.version[:12]}")
    late = occ.get("late") or {}
    proof.period = str(late.get("event_period") or occ["period"])
    frames, unreadable = frames_from_facts(stored.facts, compiled.registers)
    proof.differences += unreadable
    for engine in engines:
        er = EngineReplay(engine)
        try:
            found, _ = evaluate_rule(compiled, frames, Period.parse(proof.period), occ["params"], engine)
            er.findings = len(found)
            er.differences = _compare(found, stored)
            er.reproduced = not er.differences
        except Exception as e:  # noqa: BLE001 - an engine that cannot replay is a difference, said in words
            er.error = f"{type(e).__name__}: {e}"
            er.differences = [f"the {engine} engine could not evaluate the rule: {er.error}"]
        proof.engines.append(er)
        proof.differences += [f"{engine} engine: {d}" for d in er.differences]
    if not proof.differences:
        proof.verdict = REPRODUCED + (" with the current rule version (the stored version is not available)"
                                      if proof.version_note else "")
    return proof


def bundle(proof: Proof, actor: str | None = None) -> dict[str, Any]:
    """The proof as a document for a hearing (audit.store.proof.write_bundle signs it)."""
    tr = proof.stored.trail
    return {
        "format": BUNDLE_FORMAT, "version": 1,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "created_by": actor or os.environ.get("USER") or getpass.getuser(),
        "alert": proof.stored.alert, "occurrence": proof.stored.occurrence, "facts": proof.stored.facts,
        "rule": {"id": proof.stored.alert["rule_id"], "name": proof.rule_name, "file": proof.rule_file,
                 "text": proof.rule_text, "version_stored": proof.version_stored,
                 "version_used": proof.version_used, "note": proof.version_note or None},
        "params": proof.stored.occurrence.get("params"), "period_evaluated": proof.period,
        "engines": [asdict(e) for e in proof.engines],
        "verdict": proof.verdict, "differences": proof.differences,
        "trail": {"key": tr.key, "event_seq": tr.seq, "event_hash": tr.hash, "event_action": tr.action,
                  "digest": tr.digest, "digest_now": tr.current, "event_verifies": tr.authentic},
    }

"""Rule versions: recording the ones a run saw, and finding each rule's current version.

A version is the compiled rule's content hash, and the rule's lifecycle status is part of that
content: a status change is a new version row. A rule can come back to an older version (a change
reverted, a rule un-deprecated), which reuses the older row; `current_since_run` is then moved to
the run that brought it back, so "current" is always the version of the newest run that saw the rule.
Versions recorded before migration 0004 say "unrecorded" until a run sees the same version again.

A run records two kinds of versions: the rules it evaluated (linked to the run in run_rules) and the
library's deprecated rules, which no run evaluates but whose status the store must still know.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.store.models import UNRECORDED_STATUS as UNRECORDED
from audit.store.models import RuleVersion, RunRule

if TYPE_CHECKING:
    from audit.store.record import RuleInfo


def current_rule_versions(s: Session, rule_ids: Iterable[str] | None = None) -> dict[str, RuleVersion]:
    """rule id -> its current version (of all rules, or of `rule_ids`)."""
    q = select(RuleVersion).order_by(func.coalesce(RuleVersion.current_since_run, 0), RuleVersion.id)
    if rule_ids is not None:
        q = q.where(RuleVersion.rule_id.in_(list(rule_ids)))
    return {rv.rule_id: rv for rv in s.execute(q).scalars()}  # the last row of each rule wins


def record_rule_versions(s: Session, run_id: int, evaluated: list["RuleInfo"],
                         not_evaluated: list["RuleInfo"]) -> None:
    """Upsert the versions `run_id` saw; link the evaluated ones to the run."""
    seen = [(r, True) for r in evaluated] + [(r, False) for r in not_evaluated]
    current = current_rule_versions(s, {r.id for r, _ in seen})
    for r, was_evaluated in seen:
        rv = s.execute(select(RuleVersion).where(RuleVersion.rule_id == r.id,
                                                 RuleVersion.version == r.version)).scalar_one_or_none()
        if rv is None:
            rv = RuleVersion(rule_id=r.id, name=r.name, version=r.version, level=r.level, title=r.title,
                             description=r.description or "", runbook=r.runbook or "",
                             registers=list(r.registers), sensitivity=r.sensitivity or "internal",
                             status=r.status, current_since_run=run_id)
            s.add(rv)
            s.flush()
        else:
            if r.id in current and current[r.id].id != rv.id:
                rv.current_since_run = run_id  # an older version is back
            if rv.status == UNRECORDED and r.status != UNRECORDED:
                rv.status = r.status  # exact, not a guess: the status is part of the version hash
            if r.sensitivity and rv.sensitivity != r.sensitivity:
                # not part of the version: derived from the register dictionary by the pipeline, so
                # the newest derivation decides who may see this version's alerts
                rv.sensitivity = r.sensitivity
        if was_evaluated:
            s.add(RunRule(run_id=run_id, rule_version_id=rv.id))
    s.flush()

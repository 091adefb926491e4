"""What an engine produces: one Finding per match, explaining itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Finding:
    rule_id: str  # the rule's UUID
    rule_name: str
    rule_version: str  # sha256 of the compiled form
    level: str
    title: str  # rendered alert title
    subject: str | None  # person_key the alert is about
    facts: dict[str, tuple[str, ...]]  # alias -> fact_ids (sorted), aggregates may hold many
    dedup: tuple[str, ...]  # values of alert.dedup, in order (fingerprint = rule_id + these)
    params: dict[str, Any]  # params in force
    values: dict[str, Any] = field(default_factory=dict)  # alert.fields "alias.field" -> value
    as_of: date | None = None  # latest event date among the facts, None for state-only
    #: set by the pipeline on a finding of an earlier month raised because a row it cites arrived
    #: or changed since the previous run (audit.store.ledger): event month, arrival, lateness
    late: dict[str, Any] | None = field(default=None, compare=False)
    #: set by the pipeline (audit.reliance): the weakest entity link the finding rests on, and the
    #: level it was lowered from when that link is below strong
    weakest_link: dict[str, Any] | None = field(default=None, compare=False)

    def key(self) -> tuple:
        """Engine-independent identity used by the differential tests."""
        return (self.rule_id, tuple(sorted((a, tuple(sorted(f))) for a, f in self.facts.items())))

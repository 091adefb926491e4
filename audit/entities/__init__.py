"""Entity resolution: people, organisations and addresses resolved across registers, with evidence.

Owns the derived key columns of the register dictionary (person_key, approver_key, org_key,
address_key, name_dob_key, ...). Imports audit.registers only (plus pandas, cleanco, rapidfuzz);
audit.pipeline calls `resolve(frames, settings.entities)`. See docs/entities.md.
"""
from audit.entities.overrides import Override, Overrides, OverridesError
from audit.entities.resolve import LINK_COLUMNS, UNRESOLVED_COLUMNS, Resolution, RowKeys, resolve

__all__ = ["resolve", "RowKeys", "Resolution", "Override", "Overrides", "OverridesError", "LINK_COLUMNS", "UNRESOLVED_COLUMNS"]

"""A keyed seal over each source's row ledger, so that an edit made to the ledger between runs is found.

The ledger decides what a run reports as late, altered or deleted (audit.store.ledger). Someone who
can write to the database could hide a deletion by deleting the ledger's row too, or an alteration
by writing the new material hash over the old one. The trail cannot prove the ledger row by row
(millions of rows), so each source's ledger carries a seal (`ledger_sources.seal`): the sum, modulo
2**64, of a keyed hash of every row's sealed columns. The hash is pandas' SipHash-2-4 (`hash_array`),
keyed from the trail key, so nobody without the key can compute the seal of an edited ledger; a sum
is order-free, so a run computes the seal it leaves from the seal it checked and the rows it writes,
without reading the ledger again.

- A run checks the seal of every source it reviews against the rows it reads anyway, before it
  trusts them (`check`); a broken seal makes the run partial and says which source and how.
- Each run that writes the ledger records every source's seal in the trail (a `ledger.seal` event,
  in its transaction), and the seal must be the one the latest such event recorded: so putting a
  ledger back to an earlier state together with its seal (last month's copy of the database) is
  found too, unless the trail is cut back as well (`audit verify` finds that with its anchors).
- `audit verify` reads every source's rows and checks their seals (`verify`).

Not sealed: the material values kept to show before and after (`material`, `before`), `event_date`,
`content_period`, the runs' ids. They are shown, not decided on.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.core.util.hashing import combine_hash_arrays
from sqlalchemy import select

from audit.store import trail
from audit.store.models import AuditEvent, LedgerRow, LedgerSource

#: the sealed columns: (the ledger review's name, row_ledger's column)
SEALED = (("nk", "natural_key"), ("content", "content_hash"), ("mhash", "material_hash"),
          ("first_period", "first_period"), ("last_period", "last_period"), ("changed_period", "changed_period"),
          ("state", "state"), ("gone_period", "gone_period"), ("returned_period", "returned_period"),
          ("returned_since", "returned_since"))
SHORT = [short for short, _ in SEALED]
_SHORT_OF = {column: short for short, column in SEALED}
_DISTINCT = {"nk", "content", "mhash"}
_MOD = 1 << 64
EVENT = "ledger.seal"


def _hash_key(key: bytes) -> str:
    """SipHash's 16-byte key for pandas (16 ASCII characters, 96 bits) derived from a trail key."""
    digest = hmac.new(key, b"integrity-audit ledger seal", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")[:16]


def current_key() -> tuple[str, str]:
    """(hash key, key id) of the trail key new seals are made with."""
    key, _ = trail.trail_key()
    return _hash_key(key), trail.key_id(key)


def key_for(key_id: str | None) -> str | None:
    """The hash key of a trail key id this machine holds, else None."""
    key = trail.keyring().get(str(key_id))
    return None if key is None else _hash_key(key)


def seal(rows: pd.DataFrame, hash_key: str) -> int:
    """The seal of ledger rows (a frame with the SHORT columns, in any order of rows): an integer < 2**64."""
    if not len(rows):
        return 0
    # a column of (nearly) distinct texts is hashed text by text; the periods and states, a few
    # distinct values each, are factorised first (each way is 5-10x slower on the other kind)
    columns = (pd.util.hash_array(rows[c].to_numpy(dtype=object), hash_key=hash_key, categorize=c not in _DISTINCT)
               for c in SHORT)
    return int(combine_hash_arrays(columns, len(SHORT)).sum(dtype=np.uint64))


def as_text(value: int) -> str:
    return f"{value % _MOD:016x}"


def after_writes(sealed: int, led: pd.DataFrame, updates: list[list[dict]], inserted: pd.DataFrame,
                 hash_key: str, period: str) -> int:
    """The seal the ledger will have once a run's writes are made: `sealed` (the seal of `led`, the rows
    as read, with an `id` column) less the rows the updates touch as they were, plus those rows as the
    updates leave them (each list of update dicts applied in the order write() runs them), plus the
    inserted rows (natural_key, content_hash, material_hash; first and last seen in `period`, present)."""
    ids = sorted({u["id"] for batch in updates for u in batch})
    if ids:
        before = led.set_index("id").loc[ids, SHORT]
        after = before.copy()
        for batch in updates:
            for u in batch:
                for column, value in u.items():
                    short = _SHORT_OF.get(column)
                    if short is not None:
                        after.at[u["id"], short] = value
        sealed = sealed - seal(before, hash_key) + seal(after, hash_key)
    if len(inserted):
        n = len(inserted)
        new = pd.DataFrame({"nk": inserted["natural_key"].to_numpy(dtype=object),
                            "content": inserted["content_hash"].to_numpy(dtype=object),
                            "mhash": inserted["material_hash"].to_numpy(dtype=object),
                            "first_period": [period] * n, "last_period": [period] * n, "changed_period": [None] * n,
                            "state": ["present"] * n, "gone_period": [None] * n, "returned_period": [None] * n,
                            "returned_since": [None] * n}, dtype=object)
        sealed += seal(new, hash_key)
    return sealed % _MOD


@dataclass
class Stored:
    """A source's seal as the store holds it (ledger_sources)."""

    seal: str | None
    key_id: str | None
    rows: int | None
    last_run: int | None


@dataclass
class Recorded:
    """The seals the latest `ledger.seal` event of the trail recorded (none yet: seq None)."""

    seq: int | None = None
    run: str = ""
    seals: dict[str, str | None] = field(default_factory=dict)
    #: why the event cannot be trusted (its keyed hash, trail.event_hash, is not its key's), if so
    untrusted: str | None = None

    def differs(self, source: str, stored: Stored | None) -> str | None:
        if self.seq is None:
            return None
        if self.untrusted:
            return (f"the row ledger of source {source} cannot be checked: the trail's record of the ledger seals "
                    f"(event seq {self.seq}, {self.run}) {self.untrusted}")
        if source not in self.seals:
            return None
        if (stored.seal if stored else None) == self.seals[source]:
            return None
        return (f"the row ledger of source {source} has a seal that is not the one the trail recorded last (event "
                f"seq {self.seq}, {self.run}): the ledger and its seal were put back to an earlier state, or the "
                "seal was edited; entries deleted, altered or back since then may be missed")


def record(s, store, run_id: int, actor: str) -> None:
    """Record every source's seal in the trail (within the run's transaction)."""
    seals = dict(s.execute(select(LedgerSource.source, LedgerSource.seal).order_by(LedgerSource.source)).all())
    trail.append(s, store, actor=actor, action=EVENT, obj=f"run:{run_id}", details={"seals": seals})


def recorded(s) -> Recorded:
    """The latest `ledger.seal` event, its own keyed hash checked (the whole chain is `audit verify`'s)."""
    ev = s.execute(select(AuditEvent).where(AuditEvent.action == EVENT).order_by(AuditEvent.seq.desc())
                   .limit(1)).scalars().first()
    if ev is None:
        return Recorded()
    marker = s.execute(select(AuditEvent.details).where(AuditEvent.action == trail.MARKER, AuditEvent.seq < ev.seq)
                       .order_by(AuditEvent.seq.desc()).limit(1)).scalar()
    key_id = str((marker or {}).get("key_id"))
    key = trail.keyring().get(key_id)
    details = ev.details if isinstance(ev.details, dict) else {}
    if key is None:
        untrusted = (f"is keyed with trail key id {key_id}, which this machine does not have (set "
                     f"{trail.PREVIOUS_KEYS_ENV} to every key ever used)")
    elif not hmac.compare_digest(str(ev.hash), trail.event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action,
                                                                ev.object, ev.details, key)):
        untrusted = "was changed after it was written: run `integrity-audit audit verify`"
    else:
        untrusted = None
    return Recorded(ev.seq, ev.object, dict(details.get("seals") or {}), untrusted)


def check(source: str, led: pd.DataFrame, stored: Stored | None,
          trail_says: Recorded | None = None) -> tuple[str | None, int | None, str]:
    """Check the ledger rows a run read (`led`, SHORT columns as stored) against their seal, and the
    seal against the trail's latest record of it.

    Returns (what is wrong, in words, or None; the seal of `led` under the current key; that key)."""
    key, _ = current_key()
    now = seal(led, key)
    rolled_back = (trail_says or Recorded()).differs(source, stored)
    if rolled_back:
        return rolled_back, now, key
    if stored is None or stored.seal is None:
        if not len(led):
            return None, now, key
        return (f"the row ledger of source {source} holds {len(led):,} row(s) but no seal: the seal was removed "
                "outside a run"), now, key
    check_key = key_for(stored.key_id)
    if check_key is None:
        return (f"the row ledger of source {source} is sealed with trail key id {stored.key_id}, which this "
                f"machine does not have (set {trail.PREVIOUS_KEYS_ENV} to every key ever used): it cannot be "
                "checked"), now, key
    found = now if check_key == key else seal(led, check_key)
    if as_text(found) != stored.seal:
        return (f"the row ledger of source {source} was changed outside a run: it holds {len(led):,} row(s) "
                f"that do not match the seal run {stored.last_run} left on "
                f"{'an unrecorded number of' if stored.rows is None else f'{stored.rows:,}'} row(s). Entries "
                "deleted, altered or back since then may be missed or misreported; find who wrote to the "
                "store's row_ledger table"), now, key
    return None, now, key


def stored(s, source: str) -> Stored | None:
    row = s.execute(select(LedgerSource.seal, LedgerSource.seal_key_id, LedgerSource.sealed_rows,
                           LedgerSource.last_run).where(LedgerSource.source == source)).first()
    return None if row is None else Stored(*row)


def read(s, source: str) -> pd.DataFrame:
    """A source's ledger rows: the sealed columns as stored."""
    result = s.connection().execute(select(*(getattr(LedgerRow, c) for _, c in SEALED))
                                    .where(LedgerRow.source == source))
    rows = pd.DataFrame(result.cursor.fetchall(), dtype=object, columns=SHORT)
    result.close()
    return rows


def verify(s) -> list[str]:
    """Every source's ledger checked against its seal (for `audit verify`): what is wrong, in words."""
    sources = set(s.execute(select(LedgerSource.source)).scalars())
    sources |= set(s.execute(select(LedgerRow.source).distinct()).scalars())
    trail_says = recorded(s)
    sources |= set(trail_says.seals)
    problems = []
    for source in sorted(sources):
        why, _, _ = check(source, read(s, source), stored(s, source), trail_says)
        if why:
            problems.append(why)
    return problems


def seal_existing(s) -> None:
    """Seal every source's ledger as it is now, with the current key (migration 0012: a store from
    before the seals). A source with ledger rows and no ledger_sources row gets none: the next run
    says so."""
    key, key_id = current_key()
    for source in s.execute(select(LedgerSource.source)).scalars().all():
        rows = read(s, source)
        s.execute(LedgerSource.__table__.update().where(LedgerSource.source == source)
                  .values(seal=as_text(seal(rows, key)), seal_key_id=key_id, sealed_rows=len(rows)))

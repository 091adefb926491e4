"""Per-process cache of what the queue computes over every alert: the ordered alert ids a filter
matches for one kind of user, and the filter drop-downs. It turns a queue page from a scan and
sort of all alerts into one indexed look-up (the change stamp) and a primary-key fetch of 50 rows.

Validity: an entry belongs to a *change stamp*, the sequence number of the newest audit event
whose action changes what the queue lists (CHANGES: a run recorded or failed; an alert reviewed,
reopened, assigned or suppressed). The store appends that event in the same transaction as the
change (audit.store.record, audit.store.lifecycle, audit.web.queue.take_next), so while the stamp
has not moved, neither have the alerts. Callers read the stamp first, in the same read
transaction as the data, so a change landing in between costs one extra recomputation, never a
stale entry. Each uvicorn worker keeps its own cache; all of them read the stamp from the store.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from audit.store.models import AuditEvent

CHANGES = ("run.record", "run.fail", "alert.review", "alert.reopen", "alert.assign", "alert.suppress")
MAX_ENTRIES = 512


_PER_ACTION = union_all(*(select(func.max(AuditEvent.seq).label("seq")).where(AuditEvent.action == a)
                         for a in CHANGES)).subquery()
_STAMP = select(func.max(_PER_ACTION.c.seq))


def change_stamp(s: Session) -> int:
    """The seq of the newest change event (0 when there is none): one index probe per action."""
    return s.execute(_STAMP).scalar() or 0


class ListingCache:
    """A bounded, thread-safe map of (kind, key) -> value for the current change stamp."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._stamp: int | None = None
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, stamp: int, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value of `key` at `stamp` (change_stamp read first in the transaction that
        compute() then reads in), cached while no newer stamp has been seen."""
        with self._lock:
            if self._stamp is None or stamp > self._stamp:
                self._entries.clear()
                self._stamp = stamp
            if stamp == self._stamp and key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            self.misses += 1
        value = compute()
        with self._lock:
            if self._stamp == stamp:
                self._entries[key] = value
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._stamp = None

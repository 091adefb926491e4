"""The period lock: two processes never run the same period at once.

A row in `run_locks` (primary key = period) inserted and committed in its own transaction names
the owner (pid, host, time). A second process gets RunLocked. A stale lock (its owner pid is dead
on this host, or it is older than STALE_HOURS) is broken with a warning. The lock is re-entrant
inside one thread, so the scheduler, the pipeline and record_run can each take it.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from audit.store.db import Store
from audit.store.models import RunLock

log = logging.getLogger(__name__)
STALE_HOURS = 12


class RunLocked(Exception):
    def __init__(self, period: str, pid: int, host: str, since: datetime):
        super().__init__(f"period {period} is already being run by pid {pid} on host {host} "
                         f"since {since:%Y-%m-%d %H:%M:%S} UTC")
        self.period, self.pid, self.host, self.since = period, pid, host, since


_held: dict[tuple[str, str, int], list] = {}  # (store url, period, thread) -> [token, depth]
_held_guard = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_reason(lock: RunLock, now: datetime, stale_hours: float) -> str | None:
    if lock.host == socket.gethostname() and lock.pid != os.getpid() and not _pid_alive(lock.pid):
        return f"its owner pid {lock.pid} is no longer running on {lock.host}"
    if now - lock.acquired_at > timedelta(hours=stale_hours):
        return f"it is older than {stale_hours:g} hours"
    return None


def acquire(store: Store, period: str, stale_hours: float = STALE_HOURS) -> str:
    """Take the lock or raise RunLocked; returns the token that releases it."""
    token = secrets.token_hex(16)
    for _ in range(3):
        try:
            with store.write() as s:
                s.add(RunLock(period=period, token=token, pid=os.getpid(),
                              host=socket.gethostname(), acquired_at=store.now()))
            return token
        except IntegrityError:
            pass
        with store.write() as s:
            lock = s.get(RunLock, period)
            if lock is None:
                continue  # released meanwhile: try again
            reason = _stale_reason(lock, store.now(), stale_hours)
            if reason is None:
                raise RunLocked(period, lock.pid, lock.host, lock.acquired_at)
            log.warning("breaking the stale lock on period %s held by pid %s on %s since %s: %s",
                        period, lock.pid, lock.host, lock.acquired_at, reason)
            s.execute(delete(RunLock).where(RunLock.period == period, RunLock.token == lock.token))
    raise RunLocked(period, 0, "?", store.now())  # pragma: no cover - contention on every retry


def release(store: Store, period: str, token: str) -> None:
    with store.write() as s:
        s.execute(delete(RunLock).where(RunLock.period == period, RunLock.token == token))


@contextmanager
def period_lock(store: Store, period: str, stale_hours: float = STALE_HOURS) -> Iterator[None]:
    """Hold the period lock for the block (re-entrant within this process)."""
    key = (store.url, str(period), threading.get_ident())
    with _held_guard:
        held = _held.get(key)
        if held:
            held[1] += 1
    if held:
        try:
            yield
        finally:
            with _held_guard:
                held[1] -= 1
        return
    token = acquire(store, str(period), stale_hours)
    with _held_guard:
        _held[key] = [token, 1]
    try:
        yield
    finally:
        with _held_guard:
            del _held[key]
        release(store, str(period), token)


def holder(store: Store, period: str) -> RunLock | None:
    with store.read() as s:
        return s.execute(select(RunLock).where(RunLock.period == str(period))).scalar_one_or_none()

"""The period lock: two processes never run the same period at once.

A row in `run_locks` (primary key = period) inserted and committed in its own transaction names
the owner (pid, host, time). A second process gets RunLocked. The lock is re-entrant inside one
thread, so the scheduler, the pipeline, record_run and publishing can each take it.

Liveness: while period_lock holds the lock, a daemon thread refreshes the row's heartbeat_at every
HEARTBEAT_SECONDS. A lock is dead (`dead_reason`) when
- its host is this host and its pid is not running (or is this process's pid, but this process
  does not hold that token: an earlier process that had the same pid, as in a restarted container);
- its heartbeat is older than HEARTBEAT_STALE_SECONDS (the only test possible from another host;
  on this host it also catches a recycled pid);
- it has no heartbeat (taken by an older version) and is older than STALE_HOURS.
A dead lock is broken with a warning by the next acquire. Right after a process takes a period's
lock, every run of that period still marked "running" is known to be dead (only the lock's holder
runs a period) and is marked failed as interrupted (audit.store.record.mark_crashed_runs).
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

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from audit.store.db import Store
from audit.store.models import RunLock

log = logging.getLogger(__name__)
STALE_HOURS = 12
HEARTBEAT_SECONDS = 30.0
# Generous: on SQLite a heartbeat waits while another connection holds the write lock (a big
# run's record transaction), and a false verdict would let a second process run the period.
HEARTBEAT_STALE_SECONDS = 15 * 60


class RunLocked(Exception):
    def __init__(self, period: str, pid: int, host: str, since: datetime):
        super().__init__(f"period {period} is already being run by pid {pid} on host {host} "
                         f"since {since:%Y-%m-%d %H:%M:%S} UTC")
        self.period, self.pid, self.host, self.since = period, pid, host, since


_held: dict[tuple[str, str, int], list] = {}  # (store url, period, thread) -> [token, depth, heartbeat]
_held_guard = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tokens_held() -> set[str]:
    with _held_guard:
        return {h[0] for h in _held.values()}


def held_token(store: Store, period: str) -> str | None:
    """The token of `period`'s lock if this thread holds it (through period_lock), else None."""
    with _held_guard:
        held = _held.get((store.url, str(period), threading.get_ident()))
        return held[0] if held else None


def dead_reason(lock: RunLock, now: datetime, stale_hours: float = STALE_HOURS) -> str | None:
    """Why the lock's owner is gone, or None while it may still be alive (see the module doc)."""
    if lock.host == socket.gethostname():
        if lock.pid == os.getpid():
            if lock.token not in _tokens_held():
                return (f"its owner pid {lock.pid} on {lock.host} is gone (this process has the same "
                        "pid but does not hold the lock)")
        elif not _pid_alive(lock.pid):
            return f"its owner pid {lock.pid} is no longer running on {lock.host}"
    beat = lock.heartbeat_at
    if beat is not None:
        if now - beat > timedelta(seconds=HEARTBEAT_STALE_SECONDS):
            return (f"its owner pid {lock.pid} on {lock.host} has sent no heartbeat since "
                    f"{beat:%Y-%m-%d %H:%M:%S} UTC")
    elif now - lock.acquired_at > timedelta(hours=stale_hours):
        return f"it is older than {stale_hours:g} hours"
    return None


def acquire(store: Store, period: str, stale_hours: float = STALE_HOURS) -> str:
    """Take the lock or raise RunLocked; returns the token that releases it."""
    token = secrets.token_hex(16)
    for _ in range(3):
        try:
            with store.write() as s:
                now = store.now()
                s.add(RunLock(period=period, token=token, pid=os.getpid(),
                              host=socket.gethostname(), acquired_at=now, heartbeat_at=now))
            return token
        except IntegrityError:
            pass
        with store.write() as s:
            lock = s.get(RunLock, period)
            if lock is None:
                continue  # released meanwhile: try again
            reason = dead_reason(lock, store.now(), stale_hours)
            if reason is None:
                raise RunLocked(period, lock.pid, lock.host, lock.acquired_at)
            log.warning("breaking the stale lock on period %s held by pid %s on %s since %s: %s",
                        period, lock.pid, lock.host, lock.acquired_at, reason)
            s.execute(delete(RunLock).where(RunLock.period == period, RunLock.token == lock.token))
    raise RunLocked(period, 0, "?", store.now())  # pragma: no cover - contention on every retry


def release(store: Store, period: str, token: str) -> None:
    with store.write() as s:
        s.execute(delete(RunLock).where(RunLock.period == period, RunLock.token == token))


def beat(store: Store, period: str, token: str) -> bool:
    """Refresh the lock's heartbeat; False when the lock is no longer ours."""
    with store.write() as s:
        return s.execute(update(RunLock).where(RunLock.period == str(period), RunLock.token == token)
                         .values(heartbeat_at=store.now())).rowcount == 1


class _Heartbeat(threading.Thread):
    """Refreshes one held lock's heartbeat until stopped; a failed beat is retried next time."""

    def __init__(self, store: Store, period: str, token: str):
        super().__init__(name=f"period-lock-heartbeat-{period}", daemon=True)
        self.store, self.period, self.token = store, period, token
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(HEARTBEAT_SECONDS):
            try:
                if not beat(self.store, self.period, self.token):
                    if not self.halt.is_set():
                        log.warning("the lock on period %s is no longer held by this process", self.period)
                    return
            except Exception as e:  # noqa: BLE001 - never fail the run for a missed heartbeat
                log.debug("heartbeat of the lock on period %s failed: %r", self.period, e)

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join(timeout=2)


@contextmanager
def period_lock(store: Store, period: str, stale_hours: float = STALE_HOURS) -> Iterator[None]:
    """Hold the period lock for the block (re-entrant within this thread).

    Taking it afresh also marks the period's runs left "running" by dead processes as failed."""
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
    heart = _Heartbeat(store, str(period), token)
    with _held_guard:
        _held[key] = [token, 1, heart]
    try:
        heart.start()
        from audit.store.record import mark_crashed_runs

        mark_crashed_runs(store, str(period))
        yield
    finally:
        heart.stop()
        with _held_guard:
            del _held[key]
        release(store, str(period), token)


def holder(store: Store, period: str) -> RunLock | None:
    with store.read() as s:
        return s.execute(select(RunLock).where(RunLock.period == str(period))).scalar_one_or_none()


def live_holder(store: Store, period: str) -> RunLock | None:
    """The period's lock if its owner may still be alive, else None (no lock, or a dead one)."""
    lock = holder(store, period)
    return lock if lock is not None and dead_reason(lock, store.now()) is None else None

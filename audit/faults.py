"""Test-only fault injection: make this process die (SIGKILL, like `kill -9`) at a named point.

Set INTEGRITY_AUDIT_TEST_KILL_AT=<point> in the environment of a process under test; unset (always,
outside tests) every `kill_point` call is one dictionary lookup and returns. Points:

- the stages of audit.pipeline.run_period, at their start: "load", "ledger", "resolve", "evaluate",
  "publish" (the run recorded, nothing of its outputs written yet);
- "record": inside the run's one recording transaction, just before it commits (the first commit
  of this thread after the record stage starts), so the writes are made but not committed;
- reports.publishing: "publish.write" (the new set half written in the temporary folder),
  "publish.swap" (the new folder swapped in, the run not yet marked published),
  "publish.aside" (the portable swap only: the old folder moved aside, the new one not yet in).

Tests use it to check that a run killed at each point leaves the store and the output folder
consistent (tests/store/test_killed_runs.py).
"""
from __future__ import annotations

import os
import signal

ENV = "INTEGRITY_AUDIT_TEST_KILL_AT"
COMMIT_POINTS = ("record",)  # die at the next commit rather than at once


def die() -> None:  # pragma: no cover - the process ends here
    os.kill(os.getpid(), signal.SIGKILL)


def kill_point(name: str) -> None:
    """Die here if INTEGRITY_AUDIT_TEST_KILL_AT names this point (see the module docstring)."""
    wanted = os.environ.get(ENV)
    if not wanted or wanted != name:
        return
    if name in COMMIT_POINTS:  # at the next commit of this thread (not, say, a lock heartbeat's)
        import threading

        from sqlalchemy import event
        from sqlalchemy.orm import Session

        armed = threading.get_ident()
        event.listen(Session, "before_commit",
                     lambda session: die() if threading.get_ident() == armed else None)
        return
    die()

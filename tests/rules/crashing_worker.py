"""Worker loops for tests of rules.engines.isolated (importable by the spawned workers).

The "crash once" marker lives at a fixed path the test clears first, so the worker finds it
however it was started.
"""
import os
import signal
import tempfile
from pathlib import Path

CRASH_MARKER = Path(tempfile.gettempdir()) / f"integrity-audit-crash-once-{os.getuid()}"


def segfault_always(conn):
    conn.recv()
    os.kill(os.getpid(), signal.SIGSEGV)


def segfault_once(conn):
    """Dies on its first request if the marker file does not exist yet, then behaves."""
    from rules.engines.isolated import _serve

    if not CRASH_MARKER.exists():
        CRASH_MARKER.touch()
        conn.recv()
        os.kill(os.getpid(), signal.SIGSEGV)
    _serve(conn)

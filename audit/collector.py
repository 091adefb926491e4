"""The cyclic garbage collector, paused while a run builds millions of long-lived objects.

A load or a run keeps nearly everything it creates until it ends (frames of Python strings, row
keys, tuples for the ledger), and holds few reference cycles. Python's collector is triggered by
the number of container objects made, and each of its full passes walks every container still
alive: on a large force it rescans the same frames again and again. Measured with
`benchmarks/bench_detection.py --cost` at scale 20 (a first run): the resolve stage took 13.1 s
with the collector on and 8.9 s with it off, for about 3% more peak memory.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused() -> Iterator[None]:
    """Switch the collector off for the block and back on (if it was on) however the block ends.
    Nested pauses are harmless: only the outermost one switches it back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

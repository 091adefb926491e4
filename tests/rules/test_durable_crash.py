"""Reproducer of an open durable-rules 2.0.28 defect (see rules/engines/durable.py, _Session).

Many small join evaluations in one process segfault inside assert_facts. Run in a child process
so the crash cannot take the test run down. Expected to fail until the defect is worked around;
when it stops crashing, this xfail turns into an XPASS and tells us.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import random, sys
sys.path.insert(0, {here!r})
from test_differential import JOIN, gift_rows, purchase_rows
from audit.period import Period
from rules.evaluate import evaluate_rule
rnd = random.Random(1)
K = ["O1", "O2", None]
for it in range(1500):
    g = [(rnd.choice(K), rnd.choice(["P1", "P2"]), rnd.randint(0, 120), rnd.randint(0, 900), "accepted") for _ in range(rnd.randint(0, 8))]
    p = [(rnd.choice(K), rnd.choice(["P1", "P2"]), rnd.randint(0, 120), rnd.randint(0, 200000), rnd.choice(["tender", "single_tender_waiver"])) for _ in range(rnd.randint(0, 12))]
    evaluate_rule(JOIN, {{"gifts_hospitality": gift_rows(g), "procurement": purchase_rows(p)}}, Period(2026, 3), None, "durable")
print("survived")
"""


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="durable-rules 2.0.28 segfaults on many small join evaluations (open)")
def test_many_small_join_evaluations_do_not_crash():
    here = str(Path(__file__).parent)
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT.format(here=here)], capture_output=True,
                          text=True, cwd=str(Path(here).parent.parent), timeout=600)
    assert proc.returncode == 0 and "survived" in proc.stdout

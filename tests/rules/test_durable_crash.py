"""The durable-rules 2.0.28 crash, and the process boundary that contains it.

Many small join evaluations in one process segfault inside assert_facts (history dependent).
The in-process engine ("durable-inprocess") still does: that reproducer is a strict xfail, so the
day the C core stops crashing it turns into an XPASS and tells us the boundary can go. The
production engine ("durable", rules.engines.isolated) must survive the same workload with the
reference engine's results, and a worker that dies must fail loudly or be retried, never be
silent.
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
ENGINE = {engine!r}
rnd = random.Random(1)
K = ["O1", "O2", None]
for it in range({iterations}):
    g = [(rnd.choice(K), rnd.choice(["P1", "P2"]), rnd.randint(0, 120), rnd.randint(0, 900), "accepted") for _ in range(rnd.randint(0, 8))]
    p = [(rnd.choice(K), rnd.choice(["P1", "P2"]), rnd.randint(0, 120), rnd.randint(0, 200000), rnd.choice(["tender", "single_tender_waiver"])) for _ in range(rnd.randint(0, 12))]
    frames = {{"gifts_hospitality": gift_rows(g), "procurement": purchase_rows(p)}}
    got = evaluate_rule(JOIN, frames, Period(2026, 3), None, ENGINE)[0]
    if ENGINE == "durable":
        want = evaluate_rule(JOIN, frames, Period(2026, 3), None, "reference")[0]
        assert [f.key() for f in got] == [f.key() for f in want], it
print("survived")
"""


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="durable-rules 2.0.28 segfaults on many small join evaluations (open)")
def test_many_small_join_evaluations_do_not_crash_in_process():
    proc = _run("durable-inprocess", 1500)
    assert proc.returncode == 0 and "survived" in proc.stdout


@pytest.mark.slow
def test_the_isolated_engine_survives_the_same_workload_with_the_reference_results():
    proc = _run("durable", 800)  # the in-process engine dies after a few hundred
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]


def _run(engine: str, iterations: int) -> subprocess.CompletedProcess:
    here = str(Path(__file__).parent)
    script = "if __name__ == '__main__':\n" + "\n".join(
        "    " + line for line in SCRIPT.format(here=here, engine=engine, iterations=iterations).splitlines())
    return subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True,
                          text=True, cwd=str(Path(here).parent.parent), timeout=900)


def test_a_worker_that_always_dies_fails_the_rule_loudly():
    from crashing_worker import segfault_always
    from helpers import SEQUENCE_BODY, compiled

    from rules.engines.base import EngineCrash
    from rules.engines.isolated import _Pool

    pool = _Pool(serve=segfault_always)
    rule = compiled(SEQUENCE_BODY)
    with pytest.raises(EngineCrash, match=r"crashed evaluating rule 'test_rule'.*exit codes \[-11, -11\]"):
        pool.run({"name": rule.name, "definition": {}, "states": []}, rule.name)
    pool.close()


def test_a_rule_whose_worker_always_dies_is_evaluated_by_the_reference_engine_and_says_so(monkeypatch):
    import numpy as np
    from crashing_worker import segfault_always
    from helpers import SEQUENCE_BODY, compiled, gifts, purchases

    from audit.period import Period
    from rules.engines import isolated
    from rules.evaluate import evaluate

    monkeypatch.setattr(isolated, "_POOL", isolated._Pool(serve=segfault_always))
    rng = np.random.default_rng(8)
    frames = {"gifts_hospitality": gifts(100, 10, 90, rng), "procurement": purchases(200, 10, 90, rng)}
    rule = compiled(SEQUENCE_BODY)
    got = evaluate([rule], frames, Period(2026, 3), None, "durable")
    want = evaluate([rule], frames, Period(2026, 3), None, "reference")
    assert [f.key() for f in got.findings] == [f.key() for f in want.findings] and want.findings
    st = got.stats[rule.name]
    assert st.engine == "reference" and "crashed evaluating rule 'test_rule'" in st.fallback


def test_a_worker_that_dies_once_is_replaced_and_the_rule_evaluated_again(monkeypatch):
    import numpy as np
    from crashing_worker import CRASH_MARKER, segfault_once
    from helpers import SEQUENCE_BODY, compiled, gifts, purchases

    from audit.period import Period
    from rules.engines import isolated
    from rules.evaluate import evaluate_rule

    CRASH_MARKER.unlink(missing_ok=True)
    monkeypatch.setattr(isolated, "_POOL", isolated._Pool(serve=segfault_once))
    rng = np.random.default_rng(3)
    frames = {"gifts_hospitality": gifts(300, 20, 90, rng), "procurement": purchases(600, 20, 90, rng)}
    rule = compiled(SEQUENCE_BODY)
    got = evaluate_rule(rule, frames, Period(2026, 3), None, "durable")[0]
    isolated._POOL.close()
    assert CRASH_MARKER.exists()  # the first worker really died
    CRASH_MARKER.unlink()
    want = evaluate_rule(rule, frames, Period(2026, 3), None, "reference")[0]
    assert [f.key() for f in got] == [f.key() for f in want] and want


def test_a_large_evaluation_is_cut_into_whole_partition_batches_with_the_same_findings(monkeypatch):
    import json

    import numpy as np
    from helpers import SEQUENCE_BODY, compiled, gifts, purchases

    from audit.period import Period
    from rules.engines import isolated
    from rules.evaluate import evaluate_rule

    jobs = []
    real = isolated._Pool.run
    monkeypatch.setattr(isolated._Pool, "run", lambda self, job, rule: (jobs.append(job), real(self, job, rule))[1])
    monkeypatch.setattr(isolated, "BATCH_FACTS", 150)
    rng = np.random.default_rng(5)
    frames = {"gifts_hospitality": gifts(300, 40, 120, rng), "procurement": purchases(900, 40, 120, rng)}
    rule = compiled(SEQUENCE_BODY)
    got = evaluate_rule(rule, frames, Period(2026, 3), None, "durable")[0]
    want = evaluate_rule(rule, frames, Period(2026, 3), None, "reference")[0]
    assert [f.key() for f in got] == [f.key() for f in want] and want
    assert len(jobs) > 3
    owners = {}
    for i, job in enumerate(jobs):  # every partition (k) in exactly one job, no job over 150 facts
        facts = [f for _, _, texts in job["states"] for text in texts for f in json.loads(text)]
        assert len(facts) <= 150
        for f in facts:
            assert owners.setdefault(f["k"], i) == i

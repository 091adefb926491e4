"""The durable engine's cheaper paths give the reference engine's results exactly.

- partitions packed into one durable state (sid) never match across key values;
- durable's `cap` hands an action up to CAP matches at once, and none is lost;
- only candidate partitions are sent to the worker, and the pruned count is unchanged;
- the worker process takes requests of at most BATCH_FACTS facts and is replaced before it would
  assert more than WORKER_FACTS (the C core never frees a fact); a partition over the engine's
  largest is cut into chunk tuples in the parent, and an absent's present fact split over several
  requests is a finding only if none matched it.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from helpers import SEQUENCE_BODY, compiled, gifts, purchases
from test_engines import ABSENT_BODY, frame

from audit.period import Period
from rules.engines import durable as durable_mod
from rules.engines import isolated
from rules.engines.base import candidates
from rules.evaluate import evaluate_rule

PERIOD = Period(2026, 3)


def keys(c, frames, engine, params=None):
    found, stats = evaluate_rule(c, frames, PERIOD, params, engine)
    return [f.key() for f in found], stats


def in_process_and_reference(n_gifts: int, n_purchases: int, orgs: int, seed: int):
    """The sequence rule over random March gifts and purchases: frames, reference keys, in-process
    durable keys and its stats."""
    rng = np.random.default_rng(seed)
    frames = {"gifts_hospitality": gifts(n_gifts, orgs, 20, rng, start="2026-03-01"),
              "procurement": purchases(n_purchases, orgs, 20, rng, start="2026-03-01")}
    c = compiled(SEQUENCE_BODY)
    want, _ = keys(c, frames, "reference")
    got, stats = keys(c, frames, "durable-inprocess")
    return frames, want, got, stats


def test_partitions_sharing_a_state_never_match_across_keys(monkeypatch):
    """Each org's gift and every other org's purchase are within the window: only same-org pairs may
    match, though the partitions go into a few states."""
    sids = []
    real = durable_mod._assert
    monkeypatch.setattr(durable_mod, "_assert", lambda session, sid, text: (sids.append(sid), real(session, sid, text)))
    frames, want, got, stats = in_process_and_reference(80, 400, 40, seed=21)
    assert got == want and len(want) > 100
    both = set(frames["gifts_hospitality"]["org_key"]) & set(frames["procurement"]["org_key"])
    assert stats.partitions == len(both) > 30 and len(set(sids)) < 5  # packed: far fewer states than partitions


def test_an_action_given_many_matches_at_once_loses_none(monkeypatch):
    monkeypatch.setattr(durable_mod, "CAP", 7)
    _, want, got, stats = in_process_and_reference(5, 300, 1, seed=22)
    assert got == want and stats.matches == 5 * 300  # every pair is a match: 1,500 over batches of 7


def test_candidates_keep_exactly_the_keys_every_required_input_has():
    c = compiled(SEQUENCE_BODY)
    g = pd.DataFrame({"fact_id": ["g1", "g2", "g3"], "key:supplier": ["A", "B", "B"]})
    p = pd.DataFrame({"fact_id": ["t1", "t2", "t3", "t4"], "key:supplier": ["B", "C", "C", "D"]})
    out, pruned = candidates(c, {"gift": g, "purchase": p})
    assert list(out["gift"]["fact_id"]) == ["g2", "g3"] and list(out["purchase"]["fact_id"]) == ["t1"]
    assert pruned == 3  # A, C and D cannot fire
    absent = compiled(ABSENT_BODY, alias="post")
    w = pd.DataFrame({"fact_id": ["w1", "w2"], "key:person": ["P1", "P2"]})
    v = pd.DataFrame({"fact_id": ["v1", "v3"], "key:person": ["P1", "P3"]})
    out, pruned = candidates(absent, {"post": w, "clearance": v})
    assert list(out["post"]["fact_id"]) == ["w1", "w2"] and list(out["clearance"]["fact_id"]) == ["v1"]
    assert pruned == 1  # P3: a clearance nobody's post needs


def test_the_worker_gets_only_candidates_in_bounded_requests_and_is_replaced_in_time(monkeypatch):
    """Sequence: 40 orgs with gifts, 40 without; requests of at most 60 facts; a worker takes at most
    150 facts. Absent: one person's 12 posts and 12 clearances, over the engine's largest partition
    (8): cut into chunk tuples in this process, and a post is a finding only if no tuple matched it."""
    requests, workers = [], {}  # workers: facts each one was given, by worker
    real_run, real_evaluate = isolated._Pool.run, isolated._Worker.evaluate
    monkeypatch.setattr(isolated._Pool, "run",
                        lambda self, req, rule: (requests.append(req), real_run(self, req, rule))[1])
    monkeypatch.setattr(isolated._Worker, "evaluate",
                        lambda self, req: (real_evaluate(self, req), workers.__setitem__(id(self), self.facts))[0])
    monkeypatch.setattr(isolated, "_POOL", isolated._Pool())
    monkeypatch.setattr(isolated, "BATCH_FACTS", 60)
    monkeypatch.setattr(isolated, "WORKER_FACTS", 150)
    monkeypatch.setattr(durable_mod, "MAX_PARTITION_FACTS", 8)
    rng = np.random.default_rng(23)
    g = gifts(80, 40, 30, rng, start="2026-03-01")
    p = purchases(240, 80, 30, rng, start="2026-03-01")
    seq = compiled(SEQUENCE_BODY)
    frames = {"gifts_hospitality": g, "procurement": p}
    want, want_stats = keys(seq, frames, "reference")
    got, stats = keys(seq, frames, "durable")
    orgs = [set(g["org_key"]), set(p["org_key"])]
    assert got == want and want
    # a partition over 8 facts counts once per chunk tuple
    assert stats.partitions >= len(orgs[0] & orgs[1]) and stats.pruned == len(orgs[0] ^ orgs[1]) > 0
    facts = [[f for _, _, texts in job["states"] for text in texts for f in json.loads(text)] for job in requests]
    assert all(len(f) <= 60 for f in facts) and len(facts) >= 4
    sent = {f["id"] for job in facts for f in job}
    with_gift = p["org_key"].isin(set(g["org_key"]))
    assert len(sent) == len(g) + with_gift.sum() < len(g) + len(p)  # candidates only, each once

    posts = frame([{"fact_id": f"w{i}", "person_id": "P1", "person_key": "P1", "post_vetting_level": lvl}
                   for i, lvl in enumerate(["mv", "sc", "dv"] * 4)])
    clear = frame([{"fact_id": f"v{i}", "record_id": f"V{i}", "person_key": "P1", "level": "sc",
                    "status": "active" if i == 11 else "expired"} for i in range(12)])
    absent = compiled(ABSENT_BODY, alias="post")
    frames = {"workforce": posts, "vetting": clear}
    requests.clear()
    want, _ = keys(absent, frames, "reference")
    got, _ = keys(absent, frames, "durable")
    isolated._POOL.close()
    assert got == want and len(want) == 4  # the dv posts: the one active sc clearance covers mv and sc
    assert len(requests) > 1  # the one partition went in several chunk tuples
    assert len(workers) >= 2 and max(workers.values()) <= 150  # each worker given at most its share


def test_the_worker_side_imports_neither_pandas_nor_the_audit():
    """A worker is replaced often (WORKER_FACTS, WORKER_EVALUATIONS): what it imports is paid each
    time. rules.engines.isolated and .durable import pandas and the compiler only when planning."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, rules.engines.isolated, rules.engines.durable, durable.engine\n"
            "print(sorted(m for m in ('pandas', 'numpy', 'rules.compiler', 'audit.cli') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"

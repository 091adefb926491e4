"""The queue's fast paths stay correct: the cached listing equals a fresh one for every kind of
user and filter, any change to the alerts (a review, an assignment, a new run, a rerun) shows on
the very next page load, page views do not invalidate it, and each alert is listed once at its
latest occurrence (the last_period join)."""
from __future__ import annotations

import re

import pytest

import seed
from audit.store import lifecycle, trail
from audit.store.record import record_run
from audit.web import queue, users
from audit.web.listing_cache import ListingCache, change_stamp

FILTERS = [queue.QueueFilter(), queue.QueueFilter(page=2, sort="newest"), queue.QueueFilter(status="new", sort="status"),
           queue.QueueFilter(level="high", person="officer"), queue.QueueFilter(register="vetting"),
           queue.QueueFilter(department="Custody", sort="oldest"), queue.QueueFilter(assignee="none", sort="id")]


def _total(html: str) -> int:
    return int(re.search(r'id="total">(\d+)<', html).group(1))


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-alert-id="(\d+)"', html)]


@pytest.mark.parametrize("name", ["rob", "cara", "dora", "rita"])
def test_the_cached_listing_equals_a_fresh_one_for_every_user_and_filter(store, name):
    user, cache = users.get_user(store, name), ListingCache()
    for f in FILTERS:
        fresh = queue.search(store, user, f, page_size=20)
        for _ in range(2):  # a miss that fills the cache, then a hit
            cached = queue.search(store, user, f, page_size=20, cache=cache)
            assert (cached.rows, cached.total, cached.counts, cached.choices) == \
                   (fresh.rows, fresh.total, fresh.counts, fresh.choices), (name, f)
    assert cache.hits >= len(FILTERS) and cache.misses >= len(FILTERS)


def test_a_review_or_an_assignment_made_elsewhere_shows_on_the_next_page_load(client_for, store):
    cara = client_for("cara")
    before = cara.get("/alerts?status=new").text
    assert _total(before) == 70 and 5 in _ids(cara.get("/alerts?assignee=none&sort=id").text)
    lifecycle.review(store, 5, "false_positive", "checked: a declared family gift", "rob")  # e.g. from the CLI
    assert _total(cara.get("/alerts?status=new").text) == 69
    assert _total(cara.get("/alerts?status=false_positive").text) == 1
    lifecycle.assign(store, 6, "rob", "cara")
    assert 6 not in _ids(cara.get("/alerts?assignee=none&sort=id").text)


def test_views_do_not_move_the_change_stamp_but_changes_do(client_for, store):
    with store.read() as s:
        start = change_stamp(s)
    client_for("rob").get("/alerts/3")
    trail.log(store, actor="rob", action="web.view", obj="page:/alerts")
    with store.read() as s:
        assert change_stamp(s) == start
    lifecycle.assign(store, 3, "rob", "rob")
    with store.read() as s:
        assert change_stamp(s) > start


def test_each_alert_is_listed_once_at_its_latest_occurrence_across_runs_and_reruns(client_for, store):
    cara = client_for("cara")
    record_run(store, seed.run_input("2026-11", 40, 5))  # alerts 1-40 and 61-65 found again in November
    page = cara.get("/alerts?sort=id").text
    assert _total(page) == 70 and _ids(page) == list(range(1, 51))  # once each, not once per run
    assert _total(cara.get("/alerts?period=2026-11").text) == 45
    newest = _ids(cara.get("/alerts?sort=newest").text)
    assert set(newest[:45]) == set(range(1, 41)) | set(range(61, 66))  # their November occurrence
    # a rerun of November that no longer finds alert 1: it is listed at its October occurrence again
    rerun = seed.run_input("2026-11", 40, 5)
    rerun.findings = rerun.findings[1:]
    record_run(store, rerun)
    newest = _ids(cara.get("/alerts?sort=newest").text)
    assert 1 not in newest[:44] and len(set(newest)) == len(newest) == 50
    assert _total(cara.get("/alerts").text) == 70 and _total(cara.get("/alerts?period=2026-11").text) == 44


def test_the_period_filter_offers_no_period_whose_every_run_failed(store):
    from dataclasses import replace as changed

    from audit.web.queue import QueueFilter

    import pandas as pd

    record_run(store, changed(seed.run_input("2026-11", 1, 1), status="failed", error="source gifts failed",
                              rules=[], findings=[], facts=pd.DataFrame(), links=pd.DataFrame()))  # as audit.pipeline records one
    choices = queue.search(store, users.get_user(store, "cara"), QueueFilter(), page_size=5).choices
    assert choices["periods"] == ["2026-10"]

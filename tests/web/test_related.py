"""Related alerts on the alert page: every other alert about the same person or the same
organisation, across registers and months, filtered by need-to-know. Checked against a reference
built independently from each alert's evidence (audit.store.queries.alert_view)."""
from __future__ import annotations

import pytest

from audit.store.queries import alert_view
from audit.web import access, queue, users

ALERTS = range(1, 71)  # the seed: 60 gift alerts (internal), 10 vetting alerts (sensitive)


def _reference(store, user, alert_id: int) -> set[int]:
    views = {i: alert_view(store, i) for i in ALERTS}
    me = views[alert_id]
    orgs = {ln.key for ln in me.links if ln.field == "org_key"}
    return {i for i, v in views.items() if i != alert_id
            and ((me.subject and v.subject == me.subject) or orgs & {ln.key for ln in v.links if ln.field == "org_key"})
            and access.can_see(user, sensitivity=v.sensitivity, department=v.department, subject=v.subject)}


def _related(store, user, alert_id: int) -> set[int]:
    a = alert_view(store, alert_id)
    org_keys = sorted({ln.key for ln in a.links if ln.field == "org_key" and ln.key})
    return {r.id for r in queue.related(store, user, alert_id, a.subject, org_keys, limit=1000)}


def _check(store):
    by_name = {u.name: u for u in users.list_users(store)}
    for name in ("cara", "rob", "dora"):  # everything; force-wide reviewer; Custody-only reviewer
        for alert_id in (1, 2, 6, 41, 55, 61):
            expected = _reference(store, by_name[name], alert_id)
            assert _related(store, by_name[name], alert_id) == expected, (name, alert_id)
    cara, rob = by_name["cara"], by_name["rob"]
    assert 62 in _reference(store, cara, 2)  # alert 62 is P1's vetting alert: related for the CCU...
    assert not _related(store, rob, 2) & set(range(61, 71))  # ...and never shown to a reviewer


def test_related_alerts_match_the_reference_on_sqlite(store):
    _check(store)


def test_related_alerts_match_the_reference_on_postgresql(pg_store):
    _check(pg_store)


def test_related_alerts_are_capped_newest_first(store):
    cara = next(u for u in users.list_users(store) if u.name == "cara")
    a = alert_view(store, 1)
    org_keys = sorted({ln.key for ln in a.links if ln.field == "org_key"})
    rows = queue.related(store, cara, 1, a.subject, org_keys, limit=3)
    assert len(rows) == 3 and {r.id for r in rows} <= _reference(store, cara, 1)
    assert [r.period for r in rows] == sorted((r.period for r in rows), reverse=True)


@pytest.mark.parametrize("subject, org_keys", [(None, []), ("nobody", []), (None, ["O:nothing"])])
def test_no_related_alerts_when_nothing_is_shared(store, subject, org_keys):
    cara = next(u for u in users.list_users(store) if u.name == "cara")
    assert queue.related(store, cara, 1, subject, org_keys) == []

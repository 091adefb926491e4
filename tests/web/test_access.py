"""Need-to-know, segregation of duties, take next under concurrency, the actions end to end,
and an audit event for every view, download and action."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import seed
from audit.store import trail
from audit.store.queries import alert_view
from audit.web import queue, users

VETTING_ALERT = 61  # alerts 1-60 are gifts (internal), 61-70 vetting (sensitive)


def test_a_reviewer_cannot_open_a_ccu_only_alert_and_the_attempt_is_logged(client_for, store):
    assert alert_view(store, VETTING_ALERT).sensitivity == "sensitive"
    assert client_for("cara").get(f"/alerts/{VETTING_ALERT}").status_code == 200
    for name in ("rob", "aude"):
        r = client_for(name).get(f"/alerts/{VETTING_ALERT}")
        assert r.status_code == 404 and "Vetting expired" not in r.text
    denied = trail.events(store, action="web.denied", obj=f"alert:{VETTING_ALERT}")
    assert {e["actor"] for e in denied} == {"rob", "aude"}


def test_lists_and_searches_never_show_what_a_user_may_not_see(client_for):
    rob, cara, dora = client_for("rob"), client_for("cara"), client_for("dora")
    assert "Vetting expired" not in rob.get("/alerts?register=vetting").text
    assert 'id="total">0<' in rob.get("/alerts?register=vetting").text
    assert 'id="total">10<' in cara.get("/alerts?register=vetting").text
    assert "Vetting expired" not in rob.get("/people/P3").text and "Vetting expired" in cara.get("/people/P3").text
    assert "vetting_expired_in_post" not in rob.get("/alerts").text
    # dora is scoped to Custody: P5 is Custody, P1 is Roads Policing
    assert "Officer 1<" not in dora.get("/alerts?sort=id").text
    assert dora.get("/alerts/6").status_code == 200 and dora.get("/alerts/2").status_code == 404
    # the published files (report, reviewers' variant, exports, manifest) are the CCU's; a reviewer
    # gets the report rendered for them, of the alerts they may see
    for name in ("report-2026-10-reviewers.html", "manifest.json", "report-2026-10.html", "alerts.csv",
                 "../../etc/passwd", "..%2f..%2fetc%2fpasswd"):
        assert rob.get(f"/runs/1/files/{name}").status_code in (403, 404), name
    assert "/runs/1/files/" not in rob.get("/runs/1").text and "/runs/1/report" in rob.get("/runs/1").text
    mine, theirs = dora.get("/runs/1/report"), cara.get("/runs/1/report")
    assert mine.status_code == 200 and "Vetting expired" not in mine.text and "Vetting expired" in theirs.text
    assert "Officer 1<" not in mine.text  # dora's report: Custody's alerts only
    assert cara.get("/runs/1/files/alerts.csv").headers["content-disposition"].startswith("attachment")


def test_nobody_sees_alerts_about_themselves_or_disposes_of_their_reports_alerts(client_for, store):
    rita, boss = client_for("rita"), client_for("boss")  # rita is P1; boss is P0, P1's line manager
    assert rita.get("/alerts/2").status_code == 404  # alert 2 is about P1
    assert "Officer 1<" not in rita.get("/alerts?sort=id").text
    page = boss.get("/alerts/2")
    assert page.status_code == 200 and "someone you line-manage" in page.text
    for action, data in (("status", {"status": "false_positive", "note": "fine"}), ("assign", {}),
                         ("suppress", {"reason": "x", "until": "2099-01-01"})):
        r = boss.post(f"/alerts/2/{action}", data={"csrf": boss.csrf, **data})
        assert r.status_code == 400 and "line-manage" in r.text, action
    a = alert_view(store, 2)
    assert (a.status, a.assignee, a.history) == ("new", None, [])
    # a second-level report: P9 manages S50; someone whose person id is P9's manager is conflicted too
    from audit.store.models import Person
    with store.write() as s:
        s.get(Person, "P9").line_manager_id = "P0"
    assert boss.post("/alerts/51/assign", data={"csrf": boss.csrf}).status_code == 400  # S50 <- P9 <- P0
    # the CCU may act on it
    cara = client_for("cara")
    assert cara.post("/alerts/2/status", data={"csrf": cara.csrf, "status": "in_review", "note": "ok"}).status_code == 303


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, store):
    if request.param == "sqlite":
        return store
    return request.getfixturevalue("pg_store")


def test_take_next_gives_each_alert_to_one_reviewer_only(any_store):
    store = any_store
    names = [f"rev{i}" for i in range(6)]
    for n in names:
        users.add_user(store, n, "reviewer", seed.PASSWORD, actor="test")
    reviewers = [users.get_user(store, n) for n in names]
    claimed: dict[str, list[int]] = {n: [] for n in names}
    barrier = threading.Barrier(len(names))

    def work(user):
        barrier.wait()
        while (alert_id := queue.take_next(store, user)) is not None:
            claimed[user.name].append(alert_id)

    threads = [threading.Thread(target=work, args=(u,)) for u in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    all_ids = [i for ids in claimed.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 60  # every internal alert once; no vetting alert
    for name, ids in claimed.items():
        for i in ids[:5]:
            assert alert_view(store, i).assignee == name
    events = trail.events(store, action="alert.assign", limit=500)
    assert len(events) == 60 and trail.verify(store) is None


def test_take_next_skips_alerts_the_reviewer_may_not_work(store):
    boss = users.get_user(store, "boss")  # P0 manages P1..P4
    got = []
    while (i := queue.take_next(store, boss)) is not None:
        got.append(alert_view(store, i).subject)
    assert got and not {"P0", "P1", "P2", "P3", "P4"} & set(got)


def test_actions_go_through_the_lifecycle_and_show_in_history_and_trail(client_for, store):
    rob = client_for("rob")
    r = rob.post("/alerts/55/status", data={"csrf": rob.csrf, "status": "in_review", "note": ""})
    assert r.status_code == 400 and "note is required" in r.text
    assert rob.post("/alerts/55/assign", data={"csrf": rob.csrf, "assignee": "rob"}).status_code == 303
    assert rob.post("/alerts/55/status", data={"csrf": rob.csrf, "status": "false_positive",
                                               "note": "Donor is a <b>charity</b>"}).status_code == 303
    page = rob.get("/alerts/55").text
    assert "Donor is a &lt;b&gt;charity&lt;/b&gt;" in page and "alert.review" in page
    assert rob.post("/alerts/55/reopen", data={"csrf": rob.csrf, "note": "new facts"}).status_code == 303
    r = rob.post("/alerts/55/suppress", data={"csrf": rob.csrf, "reason": "known", "until": "1999-01-01"})
    assert r.status_code == 400 and "must be in the future" in r.text
    until = (store.today() + timedelta(days=30)).isoformat()
    assert rob.post("/alerts/55/suppress", data={"csrf": rob.csrf, "reason": "known", "until": until}).status_code == 303
    # the assignee must be able to see the alert: a vetting alert cannot go to a reviewer
    cara = client_for("cara")
    r = cara.post(f"/alerts/{VETTING_ALERT}/assign", data={"csrf": cara.csrf, "assignee": "rob"})
    assert r.status_code == 400
    a = alert_view(store, 55)
    assert [d.status for d in a.history] == ["false_positive", "in_review"] and a.assignee == "rob"
    actions = [e["action"] for e in trail.events(store, obj="alert:55")]
    assert {"alert.assign", "alert.review", "alert.reopen", "alert.suppress", "alert.view"} <= set(actions)
    assert trail.verify(store) is None


def test_auditor_reads_but_cannot_act(client_for, store):
    aude = client_for("aude")
    assert aude.get("/alerts/55").status_code == 200
    assert aude.post("/alerts/55/status", data={"csrf": aude.csrf, "status": "in_review", "note": "x"}).status_code == 403
    assert alert_view(store, 55).status == "new"


@pytest.mark.parametrize("url", ["/alerts", "/alerts/55", "/people/S55", "/runs", "/runs/1", "/rules", "/trail",
                                 "/runs/1/files/alerts.csv", "/alerts?status=new&sort=newest"])
def test_every_view_and_download_is_an_audit_event(client_for, store, url):
    cara = client_for("cara")
    before = trail.events(store, limit=1)[0]["seq"]
    assert cara.get(url).status_code == 200
    new = [e for e in trail.events(store, limit=20) if e["seq"] > before]
    assert len(new) == 1 and new[0]["actor"] == "cara", new
    path = url.split("?")[0]
    assert path.rsplit("/", 1)[-1] in new[0]["object"] or new[0]["object"].endswith(path)


def test_a_reviewer_sees_a_procurement_alert_without_its_need_to_know_values(tmp_path, client_for, store):
    """The second month cites procurement lines carrying the supplier's bank hash: the alert is
    the reviewer's to work, the hash is the CCU's to see (page, person page, reviewers' report)."""
    import dataclasses

    from audit.store.queries import latest_run
    from audit.store.record import record_run
    from reports.summary import without_sensitive

    ri = seed.run_input("2026-11", 3, 0, hostile=False)
    facts = ri.facts.copy()
    facts["supplier_bank_hash"] = facts["register"].map(lambda r: "BANKHASH42" if r == "procurement" else None)
    record_run(store, dataclasses.replace(ri, facts=facts))
    alert_id = next(a.id for a in latest_run(store, "2026-11").alerts)
    rob, cara = client_for("rob"), client_for("cara")
    page = rob.get(f"/alerts/{alert_id}")
    assert page.status_code == 200 and "Supplier" in page.text
    assert "BANKHASH42" not in page.text and "BANKHASH42" not in rob.get("/people/P1").text
    assert "BANKHASH42" in cara.get(f"/alerts/{alert_id}").text
    shown = without_sensitive(latest_run(store, "2026-11"))
    assert shown.alerts and all("supplier_bank_hash" not in f.values for a in shown.alerts for f in a.facts)

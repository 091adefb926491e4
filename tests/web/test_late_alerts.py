"""Late arrivals in the web app: the queue filters on them and marks them, the alert page says in
words why a finding of an earlier month is reported now; the reviewers' report groups them."""
from __future__ import annotations

import dataclasses
from datetime import date

import seed
from audit.store.queries import latest_run
from audit.store.record import record_run
from reports import html as report_html

LATE = {"event_date": "2026-08-01", "event_period": "2026-08", "reported_period": "2026-11", "months_late": 3,
        "entries": [{"register": "gifts_hospitality", "key": "G0", "how": "first seen", "entry_field": "declared_date",
                     "entry_date": "2026-11-03", "event_date": "2026-08-01"}]}


def _november_with_one_late(store) -> int:
    ri = seed.run_input("2026-11", 3, 0, hostile=False)
    findings = list(ri.findings)
    findings[0] = dataclasses.replace(findings[0], dedup=("late-0",), title="Gift from a supplier, offered in August",
                                      as_of=date(2026, 8, 1), late=LATE)
    record_run(store, dataclasses.replace(ri, findings=findings))
    return next(a.id for a in latest_run(store, "2026-11").alerts if a.novelty == "late")


def test_queue_filters_and_marks_late_arrivals(client_for, store):
    alert_id = _november_with_one_late(store)
    rob = client_for("rob")
    page = rob.get("/alerts", params={"period": "2026-11", "novelty": "late"}).text
    assert f'data-alert-id="{alert_id}"' in page and page.count("data-alert-id=") == 1
    assert "late arrival" in page
    others = rob.get("/alerts", params={"period": "2026-11", "novelty": "carried"}).text
    assert f'data-alert-id="{alert_id}"' not in others and others.count("data-alert-id=") == 2


def test_alert_page_says_why_it_is_reported_now(client_for, store):
    alert_id = _november_with_one_late(store)
    page = client_for("rob").get(f"/alerts/{alert_id}").text
    assert "Reported late" in page
    assert ("Gifts and hospitality entry G0: date declared 2026-11-03 for an event on 2026-08-01: "
            "reported in the 2026-11 audit, 3 months after the event (2026-08)") in page


def test_report_lists_late_arrivals_as_their_own_group(store):
    _november_with_one_late(store)
    page = report_html.render(latest_run(store, "2026-11"))
    assert 'id="late-arrivals"' in page and "reported in the 2026-11 audit, 3 months after the event" in page
    assert '<div class="kpi"><b>1</b>late arrivals</div>' in page

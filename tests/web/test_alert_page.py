"""Long evidence on the alert page: the first facts and links show, the rest sit behind a
"Show all" toggle that works without script; the report itself keeps every row visible."""
from __future__ import annotations

import dataclasses
import re

import pandas as pd

import seed
from audit.store.queries import alert_view, latest_run
from audit.store.record import record_run
from reports import html as report_html


def _alert_with_many_payments(store) -> int:
    ri = seed.run_input("2026-11", 1, 0, hostile=False)
    facts, findings = ri.facts, list(ri.findings)
    extra = [{**facts[facts["register"] == "procurement"].iloc[0].to_dict(), "fact_id": f"proc:x{i}", "_row": 100 + i}
             for i in range(5)]
    facts = pd.concat([facts, pd.DataFrame(extra)], ignore_index=True)
    f = findings[0]
    findings[0] = dataclasses.replace(f, facts={**f.facts, "purchase": f.facts["purchase"] + tuple(e["fact_id"] for e in extra)})
    record_run(store, dataclasses.replace(ri, facts=facts, findings=findings))
    return latest_run(store, "2026-11").alerts[0].id


def test_long_evidence_is_folded_on_the_page_and_complete_in_the_report(client_for, store):
    alert_id = _alert_with_many_payments(store)
    assert len(alert_view(store, alert_id).facts) == 7
    page = client_for("cara").get(f"/alerts/{alert_id}").text
    assert 'class="more-toggle"' in page and "Show all 7 entries (4 more)" in page
    assert len(re.findall(r'<tr class="fact more">', page)) == 4 and len(re.findall(r'<tr class="fact">', page)) == 3
    report = report_html.render(latest_run(store, "2026-11"), force_name="Test", include_sensitive=True)
    assert 'class="more-toggle"' not in report and len(re.findall(r'<tr class="fact">', report)) == 7

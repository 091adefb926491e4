"""The HTML report without a browser: untrusted register text is escaped, sections and counts
match the run, the reviewer variant drops sensitive alerts, output is deterministic and offline."""
from __future__ import annotations

import re

from report_fixtures import make_run
from reports import html, summary


def test_hostile_text_is_escaped_and_nothing_external(run_view):
    page = html.render(run_view, force_name="Force <X>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "Force &lt;X&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page, re.I)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)  # only in-page refs
    assert "@media print" in page


def test_counts_and_sections(run_view):
    page = html.render(run_view)
    assert page.count('<article class="card') == len(run_view.alerts)
    for aid in (a.id for a in run_view.alerts):
        assert f'id="alert-{aid}"' in page
    for section in ("run", "overview", "by-level", "by-rule", "by-register", "by-department",
                    "trend", "novelty", "top-risk", "alerts", "data-quality", "versions"):
        assert f'id="{section}"' in page, section
    assert "Expenses (expenses_sql) did not load: could not connect" in page
    n = summary.novelty(run_view, run_view.alerts, run_view.resolved)
    assert n == {"new": 36, "late": 0, "carried": 12, "resolved": 3}
    assert "£1,200.50" in page  # money shown in pounds from pence
    assert page.count("<svg") == 1  # the trend only: the counts are tables (#18)
    # every fact's source file and row is shown
    f = run_view.alerts[3].facts[0]
    assert f"{f.file}, row {f.row}" in page


def test_complete_run_has_no_banner():
    page = html.render(make_run(failed_source=False))
    assert 'id="incomplete"' not in page and "incomplete" not in page.split("</header>")[0]


def test_reviewer_variant_excludes_sensitive(run_view):
    page = html.render(run_view, include_sensitive=False)
    kept = [a for a in run_view.alerts if a.sensitivity != "sensitive"]
    assert page.count('<article class="card') == len(kept) < len(run_view.alerts)
    assert "Vincent Crane" not in page  # associate name lives only in sensitive evidence
    assert f"leaves out {len(run_view.alerts) - len(kept)} alerts" in page


def test_deterministic(run_view):
    assert html.render(run_view) == html.render(make_run())


def test_combined_risk_ranks_by_level_weight(run_view):
    people = summary.top_people(run_view.alerts)
    scores = [p.score for p in people]
    assert scores == sorted(scores, reverse=True)
    top = people[0]
    expected = sum(summary.LEVEL_WEIGHTS[a.level] for a in run_view.alerts if a.subject == top.key)
    assert top.score == expected and len(top.registers) >= 2


def test_charts_of_a_month_without_alerts_have_no_negative_axis():
    from reports import charts

    for svg in (charts.bar_chart([("critical", 0), ("high", 0)], "Alerts by level"),
                charts.bar_chart([], "Alerts by rule"),
                charts.trend_chart([{"period": "2026-10", "new": 0, "carried": 0}], "Alerts per month")):
        assert "−0." not in svg and "-0." not in svg


def test_a_trawling_alert_draws_its_peer_baseline_for_the_ccu_only(run_view):
    """A peers alert's stored figures become a chart after its card in the full (CCU) report; the
    reviewers' report leaves the alert, and so the chart, out (it reads need-to-know registers)."""
    import dataclasses

    base = run_view.alerts[0]
    trawl = dataclasses.replace(
        base, id=4242, rule_name="access_peer_trawling", registers=["system_access", "record_subjects", "workforce"],
        sensitivity="sensitive", values={"value": 63, "peers.group": "Response / Constable", "peers.count": 310,
                                         "peers.mean": 25.59, "peers.sd": 6.66, "peers.threshold": 45.57})
    run = dataclasses.replace(run_view, alerts=[*run_view.alerts, trawl])
    full = html.render(run, include_sensitive=True)
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', full, flags=re.S)
    (chart,) = [f for f in figures if "#4242: this user" in f]
    assert chart.startswith("<svg") and "Response / Constable" in chart
    assert full.count("their peers' mean and spread") == 1  # only the alert carrying figures draws one
    assert "#4242" not in html.render(run, include_sensitive=False)


def test_a_peer_baseline_that_cannot_be_drawn_says_why(run_view):
    import dataclasses

    broken = dataclasses.replace(run_view.alerts[0], id=4343, values={"peer_baseline": {
        "user_count": 9, "group": "Response", "peer_mean": "n/a", "peer_sd": 1, "peer_count": 6}})
    page = html.render(dataclasses.replace(run_view, alerts=[*run_view.alerts, broken]), include_sensitive=True)
    assert "#4343: the peer baseline could not be drawn: the peer baseline&#39;s peer_mean is not a number" in page

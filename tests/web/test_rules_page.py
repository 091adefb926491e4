"""The rules page shows each rule's lifecycle status, marks deprecated rules and filters by status."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

import seed
from audit.store.record import RuleInfo, record_run

OLD_RULE = RuleInfo(id="11111111-0000-4000-8000-000000000003", name="gift_over_old_limit",
                    version="c" * 64, level="medium", title="Gift over the old limit",
                    description="Replaced by gift_from_supplier.", runbook="", registers=["gifts_hospitality"],
                    sensitivity="internal", status="deprecated")


@pytest.fixture
def statuses_recorded(store):
    """A second month: the gift rule now says stable, an old rule deprecated; vetting not seen again."""
    ri = seed.run_input("2026-11", 5, 0, hostile=False)
    record_run(store, replace(ri, rules=[replace(seed.GIFT_RULE, status="stable")], deprecated_rules=[OLD_RULE]))
    return store


def rows_by_rule(html: str) -> dict[str, str]:
    """rule name -> the text of its table row."""
    rows = re.findall(r"<tr class=\"status-[^\"]*\">(.*?)</tr>", html, flags=re.S)
    return {re.search(r"<code>([a-z_]+)</code>", row).group(1): re.sub(r"<[^>]+>", " ", row) for row in rows}


def test_rules_page_shows_each_rules_status_and_marks_deprecated(statuses_recorded, client_for):
    page = client_for("aude").get("/rules")
    assert page.status_code == 200
    assert "<th>Status</th>" in page.text
    rows = rows_by_rule(page.text)
    assert set(rows) == {"gift_from_supplier", "vetting_expired_in_post", "gift_over_old_limit"}
    assert " stable " in rows["gift_from_supplier"]
    assert "deprecated" in rows["gift_over_old_limit"] and "no longer run" in rows["gift_over_old_limit"]
    assert "not recorded" in rows["vetting_expired_in_post"]  # recorded before the store kept status
    assert not any("deprecated" in rows[name] for name in ("gift_from_supplier", "vetting_expired_in_post"))


def test_rules_page_filters_by_status(statuses_recorded, client_for):
    client = client_for("aude")
    page = client.get("/rules", params={"status": "deprecated"})
    assert page.status_code == 200
    assert set(rows_by_rule(page.text)) == {"gift_over_old_limit"}
    assert '<option value="deprecated" selected>deprecated</option>' in page.text
    options = re.findall(r"<option value=\"([a-z]+)\"(?: selected)?>([a-z ]+)</option>", page.text)
    assert options == [("deprecated", "deprecated"), ("stable", "stable"), ("unrecorded", "not recorded")]
    hostile = client.get("/rules", params={"status": "<b>x"})
    assert hostile.status_code == 200 and rows_by_rule(hostile.text) == {}
    assert "No rule has status &lt;b&gt;x." in hostile.text


def test_sensitive_rules_alert_figures_are_for_the_ccu_only(client_for):
    """Everyone may read what the vetting rule is; only the CCU sees how many alerts it raised."""
    cara_row = rows_by_rule(client_for("cara").get("/rules").text)["vetting_expired_in_post"]
    assert re.search(r"grace_days\s*=\s*30", cara_row) and " 10 " in cara_row  # 10 vetting alerts, all open
    for name in ("rob", "aude"):
        rows = rows_by_rule(client_for(name).get("/rules").text)
        vetting, gifts = rows["vetting_expired_in_post"], rows["gift_from_supplier"]
        assert "CCU only" in vetting and "grace_days" not in vetting and " 10 " not in vetting, name
        assert "min_value" in gifts and " 60 " in gifts, name  # internal rules keep their figures

"""Plain language in a real browser (#18): the queue, an alert, the person page and the report at
1280 and 390 px wide. Screenshots go to docs/img/ (shown in the README). Each page must show:

- no pence: every money value of the alert's evidence appears in pounds ("£50.03") and its stored
  pence ("5003") appears nowhere in the visible text;
- no machine rule id in the queue's Rule column (the rule's title instead);
- no internal key (resolved organisation ids, name + date of birth keys, fact ids, version hashes,
  rule UUIDs) in the visible text outside the "Technical detail" fold;
- no page wider than the screen at 390 px, and no table cell allowed to break a word mid-word;
- the report's first critical alert within the first 900 px at 1280 wide.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from audit import display
from audit.store.queries import alert_view, latest_run
from reports import html as report_html
from test_browser import browser, open_page, server, sign_in  # noqa: F401 (the existing browser fixtures)

IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
WIDTHS = (1280, 390)
INTERNAL_KEYS = {
    "resolved organisation id": re.compile(r"\bORG:[0-9a-f]{6,}"),
    "name + date of birth key": re.compile(r"\w\|\w\|\d{4}-\d\d-\d\d"),
    "fact id": re.compile(r"\b\w+:\d+:[0-9a-f]{12}\b"),
    "version hash": re.compile(r"\b[0-9a-f]{40,64}\b"),
    "rule uuid": re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
}
# What the reader sees, folds like "Show all fields" opened: the page's text without the technical
# fold (innerText leaves out title attributes, where a rule's machine name may sit).
VISIBLE = """() => { document.querySelectorAll('details.technical').forEach(d => d.remove());
                     document.querySelectorAll('details').forEach(d => { d.open = true; });
                     document.querySelectorAll('.more-toggle').forEach(t => { t.checked = true; });
                     return document.body.innerText; }"""
LAYOUT = """() => ({
    width: document.documentElement.scrollWidth,
    breaking: [...document.querySelectorAll('td, th')].filter(c => {
        const s = getComputedStyle(c);
        return s.overflowWrap === 'anywhere' || s.wordBreak === 'break-all' || s.hyphens === 'auto'; }).length,
    wrapping: [...document.querySelectorAll('.level')].filter(b => getComputedStyle(b).whiteSpace !== 'nowrap').length,
})"""


def _money(alert) -> list[int]:
    """The stored pence of every money value in the alert's evidence."""
    return [int(v) for f in alert.facts for k, v in f.values.items()
            if v not in (None, "") and display.field_type(f.register, k) == "money"]


def _check(page, width: int, name: str, pence: list[int] = ()) -> str:
    page.set_viewport_size({"width": width, "height": 900})
    page.screenshot(path=str(IMG / f"{name}-{width}.png"))
    layout = page.evaluate(LAYOUT)
    assert layout["width"] <= width, f"{name} at {width} px is {layout['width']} px wide"
    assert layout["breaking"] == 0 and layout["wrapping"] == 0, (name, layout)
    text = page.evaluate(VISIBLE)
    page.reload()  # the fold is back for the next width
    for what, pattern in INTERNAL_KEYS.items():
        assert not pattern.search(text), f"{name}: {what} {pattern.search(text).group(0)!r} outside the fold"
    for p in pence:
        assert display.pounds(p) in text, f"{name}: {display.pounds(p)} not shown"
        assert not re.search(rf"(?<![\d.,£]){p}(?![\d.,])", text), f"{name}: {p} pence shown as a bare number"
    return text


@pytest.mark.browser
def test_queue_alert_and_person_pages_speak_plainly(server, browser, store):  # noqa: F811
    IMG.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page = open_page(browser, errors)
    sign_in(page, server, "rob")
    page.wait_for_url(f"{server}/alerts")
    titles = {a.rule_name: a.rule_title for a in latest_run(store, "2026-10").alerts}
    for width in WIDTHS:
        _check(page, width, "queue")
        cells = page.locator("table.queue td.rule").all_inner_texts()
        assert cells and all(c.strip() == titles["gift_from_supplier"] for c in cells), cells[:3]
        assert not any(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", c.strip()) for c in cells)
        options = page.locator("select[name=rule] option").all_inner_texts()
        assert "gift_from_supplier" not in options and titles["gift_from_supplier"] in options

    a = alert_view(store, 2)
    page.goto(f"{server}/alerts/{a.id}")
    for width in WIDTHS:
        text = _check(page, width, "alert", _money(a))
        assert text.index("Why it matters") < text.index("The facts that prove it") < text.index("Act on this alert")
        assert "are the same organisation" in text and "Closes the alert" in text
    assert page.locator("details.technical").count() == 1 and "gift_from_supplier" in page.locator(
        "details.technical").text_content()

    page.goto(f"{server}/people/{a.subject}")
    for width in WIDTHS:
        text = _check(page, width, "person", [p for r in (alert_view(store, i) for i in (2, 12)) for p in _money(r)])
        assert display.person(a.subject_name, a.subject) in text
    assert errors == []


@pytest.mark.browser
def test_report_starts_with_what_to_do(browser, store, tmp_path):  # noqa: F811
    IMG.mkdir(parents=True, exist_ok=True)
    run = latest_run(store, "2026-10")
    report = report_html.write_report(run, tmp_path / "report.html", force_name="Sample Constabulary")
    errors: list[str] = []
    page = open_page(browser, errors)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(report.as_uri())
    first = page.locator("#start-here .level-critical").first
    assert first.bounding_box()["y"] + first.bounding_box()["height"] <= 900
    target = first.locator("xpath=..").get_attribute("href")
    assert page.locator(f"article{target}").count() == 1  # linked to its card
    critical = [a for a in run.alerts if a.level == "critical"]
    for width in WIDTHS:
        _check(page, width, "report", _money(next(a for a in run.alerts if a.facts and _money(a))))
    assert critical and errors == []


def test_the_display_layer_in_words():
    """What the pages above rely on, without a browser: limits by their rule file's declared type,
    codes by their labels, titles led by the person, statuses that say whether they close."""
    types = display.param_types("gifts_cumulative_value_from_donor")
    assert display.params({"cumulative_limit": 30000, "window_days": 365}, types) == [
        ("cumulative limit", "£300.00"), ("window days", "365")]
    assert display.fact_value("business_interests", "interest_type", "self_employed") == "Self-employed"
    assert display.fact_value("vetting", "level", "mv") == "Management vetting (MV)"
    assert display.fact_value("gifts_hospitality", "estimated_value", 3322) == "£33.22"
    assert display.fact_value("gifts_hospitality", "estimated_value", "not a number") == "not a number"
    assert display.title("100364's self_employed interest: (blank)", "100364", "Jo Bloggs") == \
        "Jo Bloggs (100364)'s self-employed interest"
    assert display.title("100 (Fleet Manager) needs mv vetting", "100", None) == "100 (Fleet Manager) needs MV vetting"
    assert display.title("Association NA1 of 100458 overdue", "100458", "Mark Blake") == \
        "Mark Blake (100458): Association NA1 of Mark Blake overdue"
    assert "Closes the alert" in display.status_meaning("false_positive")
    assert "Closes the alert" not in display.status_meaning("in_review")
    assert display.code("private_investigation") == "private investigation"  # the CLI's, unchanged

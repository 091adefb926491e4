"""Plain language in a real browser (#18), on the bundled sample force audited for 2026-10 (once for
the module): the queue and the report's first screen at 1280, 768 and 390 px wide, an alert of each
register the run's alerts cite and a person's page at 1280 and 390 px. Screenshots go to
test-artifacts/plain-language/, or with INTEGRITY_AUDIT_SCREENSHOTS=docs/img to docs/img/ (docs/web.md's
gallery; the README shows the queue, an alert, the person page and the report). Each
page must show (the checks are _check's, shared by every page):

- no pence: every money value of its alerts' evidence appears in pounds ("£50.03") and its stored
  pence ("5003") appears nowhere in the visible text;
- no machine rule id as visible text (the rule's title instead; the id sits in a title attribute
  and the technical fold);
- no internal key (resolved organisation ids, company-number keys, name + date of birth keys, fact
  ids, version hashes, rule UUIDs) in the visible text outside the "Technical detail" fold;
- no page wider than the screen, no table cell allowed to break a word mid-word, no wrapping badge;
- the report's first critical alert within the first 900 px at 1280 wide.
"""
from __future__ import annotations

import os

import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

import seed
from audit import display
from audit import settings as settings_mod
from audit.period import Period
from audit.pipeline import run_period
from audit.store import open_store
from audit.store.queries import latest_run
from audit.web import create_app, users
from reports import html as report_html
from test_browser import browser, open_page, sign_in  # noqa: F401 (browser: one Chromium for the module)
from webtest import reserve_port, serving

ROOT = Path(__file__).resolve().parents[2]
#: the screenshots go to test-artifacts/plain-language/ (a test run leaves the checkout as it was);
#: INTEGRITY_AUDIT_SCREENSHOTS=docs/img refreshes the documentation's gallery
IMG = ROOT / os.environ.get("INTEGRITY_AUDIT_SCREENSHOTS", "test-artifacts/plain-language")
PERIOD = "2026-10"
WIDTHS = (1280, 390)
THREE_WIDTHS = (1280, 768, 390)  # the queue and the report's first screen
#: a register's name in a screenshot's file name (docs/img/alert-<short>-<width>.png)
SHORT = {"gifts_hospitality": "gifts", "business_interests": "interests", "notifiable_associations": "associations",
         "barred_list": "barred-list", "register_changes": "register-changes"}
INTERNAL_KEYS = {
    "resolved organisation id": re.compile(r"\bORG:[0-9a-f]{6,}"),
    "company number key": re.compile(r"\bCN:\w+"),
    "name + date of birth key": re.compile(r"\w\|\w\|\d{4}-\d\d-\d\d"),
    "fact id": re.compile(r"\b\w+:\d+:[0-9a-f]{12}\b"),
    "version hash": re.compile(r"\b[0-9a-f]{40,64}\b"),
    "rule uuid": re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
}
# What the reader sees, folds like "Show all fields" opened: the page's text without the technical
# fold (innerText leaves out hidden elements and title attributes, where a rule's machine name may
# sit); the page is left as it was, for the next width's screenshot.
VISIBLE = """() => {
    const tech = [...document.querySelectorAll('details.technical')];
    const shut = [...document.querySelectorAll('details:not([open])')];
    const toggles = [...document.querySelectorAll('.more-toggle:not(:checked)')];
    tech.forEach(d => { d.style.display = 'none'; }); shut.forEach(d => { d.open = true; });
    toggles.forEach(t => { t.checked = true; });
    const text = document.body.innerText;
    tech.forEach(d => { d.style.display = ''; }); shut.forEach(d => { d.open = false; });
    toggles.forEach(t => { t.checked = false; });
    return text; }"""
LAYOUT = """() => ({
    width: document.documentElement.scrollWidth,
    breaking: [...document.querySelectorAll('td, th')].filter(c => {
        const s = getComputedStyle(c);
        return s.overflowWrap === 'anywhere' || s.wordBreak === 'break-all' || s.hyphens === 'auto'; }).length,
    wrapping: [...document.querySelectorAll('.level')].filter(b => getComputedStyle(b).whiteSpace !== 'nowrap').length,
})"""


@pytest.fixture(scope="module")
def force(tmp_path_factory):
    """The bundled sample force and its configuration, audited for 2026-10 (reference engine), with a
    CCU user, who sees every alert."""
    folder = tmp_path_factory.mktemp("force")
    shutil.copytree(ROOT / "sample", folder / "sample", ignore=shutil.ignore_patterns("data"))
    shutil.copy(ROOT / "config.toml", folder / "config.toml")
    settings = settings_mod.load(folder / "config.toml")
    run_period(settings, Period.parse(PERIOD), engine="reference", publish=False)
    store = open_store(settings.store_url)
    users.add_user(store, "cara", "ccu", seed.PASSWORD, actor="test")
    yield settings, store, latest_run(store, PERIOD)
    store.dispose()


@pytest.fixture(scope="module")
def site(force):
    settings, store, _ = force
    port = reserve_port()
    with serving(create_app(settings, store), port):
        yield f"http://127.0.0.1:{port}"


def _money(*alerts) -> list[int]:
    """The stored pence of every money value in the alerts' evidence."""
    return [int(v) for a in alerts for f in a.facts for k, v in f.values.items()
            if v not in (None, "") and display.field_type(f.register, k) == "money"]


def _check(page, widths, name: str, run, pence: list[int] = ()) -> list[str]:
    """Screenshot docs/img/<name>-<width>.png at each width and check the page there (the module's
    docstring); returns the visible text at each width."""
    machine = {a.rule_name for a in run.alerts}
    texts = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(IMG / f"{name}-{width}.png"))
        layout = page.evaluate(LAYOUT)
        assert layout["width"] <= width, f"{name} at {width} px is {layout['width']} px wide"
        assert layout["breaking"] == 0 and layout["wrapping"] == 0, (name, width, layout)
        text = page.evaluate(VISIBLE)
        for what, pattern in INTERNAL_KEYS.items():
            assert not pattern.search(text), f"{name}: {what} {pattern.search(text).group(0)!r} outside the fold"
        ids = [r for r in machine if re.search(rf"(?<!\w){r}(?!\w)", text)]
        assert not ids, f"{name}: machine rule id(s) {ids} shown as text"
        for p in pence:
            assert display.pounds(p) in text, f"{name}: {display.pounds(p)} not shown"
            assert not re.search(rf"(?<![\d.,£]){p}(?![\d.,])", text), f"{name}: {p} pence shown as a bare number"
        texts.append(text)
    return texts


def one_alert_per_register(alerts) -> dict[str, object]:
    """An alert citing each register the alerts cite, a different alert for each where there is one
    (the register with the fewest alerts chooses first)."""
    cited = {r for a in alerts for r in a.registers}
    chosen: dict[str, object] = {}
    for reg in sorted(cited, key=lambda r: (sum(r in a.registers for a in alerts), r)):
        those = [a for a in alerts if reg in a.registers]
        chosen[reg] = next((a for a in those if a not in chosen.values()), those[0])
    return dict(sorted(chosen.items()))


@pytest.fixture(scope="module")
def page(browser, site):  # noqa: F811
    errors: list[str] = []
    p = open_page(browser, errors)
    sign_in(p, site, "cara")
    p.wait_for_url(f"{site}/alerts")
    IMG.mkdir(parents=True, exist_ok=True)
    yield p
    assert errors == []


@pytest.mark.browser
def test_the_queue_speaks_plainly(page, site, force):
    _, _, run = force
    page.goto(f"{site}/alerts")
    titles = {a.rule_title for a in run.alerts}
    for width in THREE_WIDTHS:
        _check(page, [width], "queue", run)
        cells = [c.strip() for c in page.locator("table.queue td.rule").all_inner_texts()]
        assert len(cells) == len(run.alerts) and set(cells) == titles, cells[:3]
        options = page.locator("select[name=rule] option").all_inner_texts()
        assert titles <= set(options) and not {a.rule_name for a in run.alerts} & set(options)


@pytest.mark.browser
def test_an_alert_of_each_register_speaks_plainly(page, site, force):
    _, _, run = force
    chosen = one_alert_per_register(run.alerts)
    assert {"gifts_hospitality", "business_interests", "notifiable_associations", "expenses", "procurement",
            "vetting"} <= set(chosen)
    for reg, a in chosen.items():
        page.goto(f"{site}/alerts/{a.id}")
        for text in _check(page, WIDTHS, f"alert-{SHORT.get(reg, reg)}", run, _money(a)):
            assert text.index("Why it matters") < text.index("The facts that prove it") < text.index(
                "Act on this alert"), reg
            assert display.title(a.title, a.subject, a.subject_name) in text, reg
            assert "Closes the alert" in text
        assert page.locator("details.technical").count() == 1 and a.rule_name in page.locator(
            "details.technical").text_content()
    supplier = chosen["procurement"]
    page.goto(f"{site}/alerts/{supplier.id}")
    assert "are the same organisation" in page.evaluate(VISIBLE)


@pytest.mark.browser
def test_a_persons_page_speaks_plainly(page, site, force):
    _, _, run = force
    a = one_alert_per_register(run.alerts)["gifts_hospitality"]
    page.goto(f"{site}/people/{a.subject}")
    theirs = [x for x in run.alerts if x.subject == a.subject]
    for text in _check(page, WIDTHS, "person", run, _money(*theirs)):
        assert display.person(a.subject_name, a.subject) in text


@pytest.mark.browser
def test_report_starts_with_what_to_do(browser, force, tmp_path):  # noqa: F811
    _, _, run = force
    report = report_html.write_report(run, tmp_path / "report.html", force_name="Sample Constabulary")
    errors: list[str] = []
    page = open_page(browser, errors)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(report.as_uri())
    first = page.locator("#start-here .level-critical").first
    assert first.bounding_box()["y"] + first.bounding_box()["height"] <= 900
    target = first.locator("xpath=..").get_attribute("href")
    assert page.locator(f"article{target}").count() == 1  # linked to its card
    assert any(a.level == "critical" for a in run.alerts)
    _check(page, THREE_WIDTHS, "report", run, _money(*run.alerts))
    page.close()
    assert errors == []


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
    assert display.title("100322 accepted £351.14 from Jones Ltd (CN:11409371) in 2 items", "100322", "Gordon Davis") \
        == "Gordon Davis (100322) accepted £351.14 from Jones Ltd (company no. 11409371) in 2 items"
    assert display.title("3 lines to ACME (ORG:1fdabce6f335) totalling £9", None, None) == \
        "3 lines to ACME totalling £9"
    assert display.fact_value("procurement", "supplier_bank_hash", "f3" * 32) == "f3f3f3f3\u2026"
    initials = {"field": "org_key", "source_text": "PWC", "matched_text": "Price Waterhouse Coopers", "key": "CN:1",
                "method": "initials", "score": 100.0, "strength": "weak", "lowered_from": "high"}
    assert display.link_method("initials") == "the other name's initials"
    assert (display.entry("assoc"), display.entry("gift")) == ("association", "gift")
    assert display.weakest_link(initials).startswith(
        "The organisation \u201cPWC\u201d is linked to \u201cPrice Waterhouse Coopers\u201d: the other name's initials "
        "(a weak link). The alert rests on this weak link, so it is raised one level below its rule's (high)")
    gift = SimpleNamespace(fact_id="g1", alias="gift", register="gifts_hospitality", values={})
    pwc = SimpleNamespace(fact_id="g1", field="org_key", key="CN:1", method="initials", score=100.0, strength="weak",
                          source_text="PWC", matched_text="Price Waterhouse Coopers")
    assert display.link_sentences(SimpleNamespace(facts=[gift], links=[pwc])) == [
        "The gift's donor 'PWC' is read as 'Price Waterhouse Coopers': the other name's initials "
        "(a weak link: check it)."]
    by_dob = {"field": "name_dob_key", "source_text": "Martyn Perry 1979-01-31", "matched_text": "perry|m|1979-01-31",
              "key": "perry|m|1979-01-31", "method": "name_dob", "score": 100.0, "strength": "strong"}
    assert display.weakest_link(by_dob) == \
        "The person \u201cMartyn Perry 1979-01-31\u201d: the same name and date of birth (a strong link)"

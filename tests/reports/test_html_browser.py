"""The rendered report in real headless Chromium: no console errors, no network, the expected
sections and counts, and a full-page screenshot kept in test-artifacts/."""
from __future__ import annotations

from pathlib import Path

import pytest

from reports import html

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _open(chromium_path: str, report: Path, shot: Path, media: str = "screen") -> dict:
    from playwright.sync_api import sync_playwright

    console, requests, errors = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(180_000)  # a shared, loaded CI machine; a tall page
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.emulate_media(media=media)
            page.goto(report.as_uri(), wait_until="load")
            found = page.evaluate("""() => ({
                cards: document.querySelectorAll('article.card').length,
                sections: [...document.querySelectorAll('section[id], header[id]')].map(s => s.id),
                banner: (document.querySelector('#incomplete') || {}).innerText || '',
                svgs: document.querySelectorAll('svg').length,
                scripts: document.querySelectorAll('script').length,
                title: document.title,
            })""")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    found.update(console=console, requests=requests, errors=errors)
    return found


def test_report_opens_offline_in_chromium(chromium_path, run_view, tmp_path):
    report = html.write_report(run_view, tmp_path / "report.html", force_name="Sample Constabulary")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-fixture.png"
    found = _open(chromium_path, report, shot)

    assert found["errors"] == [] and [c for c in found["console"] if c[0] in ("error", "warning")] == []
    assert found["requests"] == [report.as_uri()], "the report fetched something besides itself"
    assert found["cards"] == len(run_view.alerts) == 48
    assert {"summary", "run", "overview", "trend", "top-risk", "alerts", "data-quality",
            "versions"} <= set(found["sections"])
    assert "Expenses (expenses_sql) did not load" in found["banner"]
    assert "The audit is incomplete." in found["banner"]
    assert found["scripts"] == 0  # hostile <script> text stayed text
    assert found["svgs"] >= 1  # the trend (the counts are tables, #18)
    assert shot.stat().st_size > 50_000


def test_reviewer_variant_and_print_media(chromium_path, run_view, tmp_path):
    report = html.write_report(run_view, tmp_path / "r.html", include_sensitive=False)
    ARTIFACTS.mkdir(exist_ok=True)
    found = _open(chromium_path, report, ARTIFACTS / "report-reviewer-print.png", media="print")
    expected = sum(a.sensitivity != "sensitive" for a in run_view.alerts)
    assert 0 < expected < len(run_view.alerts)
    assert found["cards"] == expected
    assert found["errors"] == [] and found["requests"] == [report.as_uri()]

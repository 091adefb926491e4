"""Headless Chromium against the real app (uvicorn on a free 127.0.0.1 port): sign in, work the
queue, record a disposition and see it in the history and the audit trail; a reviewer cannot
open a CCU-only alert by URL; hostile register text does not run; no console errors.
Screenshots go to test-artifacts/web/."""
from __future__ import annotations

from pathlib import Path

import pytest

import seed
from webtest import chromium_or_skip, reserve_port, serving

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture
def server(app):
    port = reserve_port()
    with serving(app, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (each test's page has a context, cookies and all, of its
    own: browser.new_page), not one per test: a launch costs about a second."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        yield b
        b.close()


def open_page(browser, errors):
    page = browser.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def sign_in(page, base, name):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", seed.PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


def test_a_reviewer_works_an_alert_in_the_browser(server, browser, store):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page = open_page(browser, errors)
    sign_in(page, server, "rob")
    page.wait_for_url(f"{server}/alerts")
    assert page.locator("table.queue tbody tr").count() == 50  # one page of the 60 internal alerts
    page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)
    page.click("#take-next")
    page.wait_for_url(f"{server}/alerts/*")
    alert_id = int(page.url.rsplit("/", 1)[-1])
    assert page.locator("dd", has_text="rob").count() >= 1  # assigned to me
    page.select_option("#status-form select[name=status]", "false_positive")
    page.fill("#status-form textarea[name=note]", "Supplier relationship declared in advance.")
    page.click("#status-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("table.history").inner_text().count("False positive") == 1
    assert "Supplier relationship declared in advance." in page.locator("table.history").inner_text()
    trail_text = page.locator("table.trail").inner_text()
    assert "status changed" in trail_text and "assigned" in trail_text and "rob" in trail_text  # alert.review, alert.assign
    page.screenshot(path=str(ARTIFACTS / "alert-disposed.png"), full_page=True)

    page.goto(f"{server}/alerts/1")  # the hostile donor name
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned=1</script>" in page.locator("article.card").inner_text()

    response = page.goto(f"{server}/alerts/61")  # a vetting alert: CCU only
    assert response.status == 404 and "Vetting expired" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "reviewer-denied.png"))
    assert errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]  # that page

    from audit.store import trail
    assert trail.events(store, action="web.denied", obj="alert:61")[0]["actor"] == "rob"
    assert alert_id and trail.verify(store) is None


def test_the_ccu_sees_sensitive_alerts_and_runs(server, browser):
    errors: list[str] = []
    page = open_page(browser, errors)
    sign_in(page, server, "cara")
    page.goto(f"{server}/alerts?register=vetting")
    assert page.locator("#total").inner_text() == "10"
    page.goto(f"{server}/runs/1")
    assert page.locator("a", has_text="alerts.csv").count() == 1
    page.screenshot(path=str(ARTIFACTS / "run.png"), full_page=True)
    page.goto(f"{server}/alerts/61")
    assert "Sensitive: need-to-know" in page.content()
    assert errors == []

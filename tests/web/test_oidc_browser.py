"""Single sign-on in headless Chromium, with real HTTP: the app on 127.0.0.1 and the mock provider
on localhost (another site), so the browser applies its cross-site cookie rules. The way back
starts with a click on the provider's page (as after a real sign-in form), so the SameSite=Lax
flow cookie must come back on a cross-site navigation, and the SameSite=Strict session cookie is
only sent once the "Signed in" page refreshes to the destination (a same-site navigation)."""
from __future__ import annotations


import pytest

from mock_idp import SECRET, SECRET_ENV, MockIdP, oidc_config
from test_browser import ARTIFACTS, browser, open_page  # noqa: F401 (browser is a fixture)
from webtest import reserve_port, serving, settings_for, write_outputs

pytestmark = pytest.mark.browser


def test_sso_sign_in_in_a_real_browser_across_sites(browser, store, tmp_path, monkeypatch):  # noqa: F811
    from audit.store import trail
    from audit.web import create_app

    monkeypatch.setenv(SECRET_ENV, SECRET)
    idp_port, app_port = reserve_port(), reserve_port()
    issuer = f"http://localhost:{idp_port}"
    write_outputs(tmp_path / "out")
    web = create_app(settings_for(tmp_path / "out", oidc=oidc_config(issuer=issuer)), store)
    errors: list[str] = []
    idp = MockIdP(issuer=issuer)
    idp.interactive = True
    with serving(idp.app, idp_port), serving(web, app_port):
        base = f"http://127.0.0.1:{app_port}"
        page = open_page(browser, errors)
        page.goto(f"{base}/login?next=/alerts")
        page.click("a[href^='/login/oidc']")
        page.wait_for_url(f"{issuer}/authorize?*")
        page.click("#continue")
        page.wait_for_url(f"{base}/alerts")
        assert page.locator("table.queue tbody tr").count() == 50  # rob's queue: the session cookie was sent
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sso-signed-in.png"))
    assert errors == []
    [login] = trail.events(store, action="auth.login")
    assert (login["actor"], login["details"]["method"], login["details"]["issuer"]) == ("rob", "oidc", issuer)
    assert trail.events(store, action="auth.sso_refused") == []

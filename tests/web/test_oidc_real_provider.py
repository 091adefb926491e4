"""Single sign-on in headless Chromium against a real OpenID Connect provider: oidc-provider (OpenID
Certified) on Node.js, started by real_oidc.py from tests/web/real_idp. The person signs in on the
provider's own login page (a wrong password first: the provider checks it), allows the app on its
consent page and comes back signed in; someone the provider knows but who has no account here is
refused with the app's plain message. The provider keeps to OIDC Core 5.4, so the user name
(preferred_username) is not in the ID token: the app reads it from the UserInfo endpoint.
Skipped without Node.js, except with CI=true."""
from __future__ import annotations

import pytest

from real_oidc import ACCOUNTS, CLIENT_ID, SECRET, SECRET_ENV, RealIdP, node_idp  # noqa: F401 (a fixture)
from test_browser import ARTIFACTS, browser, open_page  # noqa: F401 (browser is a fixture)
from webtest import reserve_port, serving, settings_for, write_outputs

pytestmark = pytest.mark.browser


@pytest.fixture
def sso(node_idp, store, tmp_path, monkeypatch):
    """The app on 127.0.0.1 configured for a real provider on localhost: (app base URL, provider)."""
    from audit.web import create_app

    monkeypatch.setenv(SECRET_ENV, SECRET)
    app_port = reserve_port()
    base = f"http://127.0.0.1:{app_port}"
    with RealIdP.start(node_idp, f"{base}/login/oidc/callback", tmp_path / "idp.log") as idp:
        write_outputs(tmp_path / "out")
        oidc = {"issuer": idp.issuer, "client_id": CLIENT_ID, "client_secret": "${%s}" % SECRET_ENV,
                "button_label": "Force account"}
        web = create_app(settings_for(tmp_path / "out", oidc=oidc), store)
        with serving(web, app_port):
            yield base, idp


def sign_in_at_the_provider(page, base, idp, name):
    page.goto(f"{base}/login?next=/alerts")
    page.click("a[href^='/login/oidc']")
    page.wait_for_url(f"{idp.issuer}/interaction/*")
    page.fill("#login input[name=username]", name)
    page.fill("#login input[name=password]", "not the password")
    page.click("#login button[type=submit]")
    assert page.locator("#error").inner_text() == "Wrong user name or password."
    page.fill("#login input[name=username]", name)
    page.fill("#login input[name=password]", ACCOUNTS[name])
    page.click("#login button[type=submit]")
    page.wait_for_selector("#consent")  # the provider asks whether to let the app know who this is
    assert page.locator("#scopes").inner_text().split() == ["openid", "profile", "email"]
    page.click("#consent button[type=submit]")


def test_sso_sign_in_through_a_real_provider(browser, sso, store):  # noqa: F811
    from audit.store import trail

    base, idp = sso
    errors: list[str] = []
    page = open_page(browser, errors)
    sign_in_at_the_provider(page, base, idp, "rob")
    page.wait_for_url(f"{base}/alerts")
    assert page.locator("table.queue tbody tr").count() == 50  # rob's queue: the session cookie was sent
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sso-real-provider-signed-in.png"))
    assert errors == [], idp.output()
    [login] = trail.events(store, action="auth.login")
    assert (login["actor"], login["details"]["method"], login["details"]["issuer"]) == ("rob", "oidc", idp.issuer)
    assert trail.events(store, action="auth.sso_refused") == []


def test_a_provider_user_without_an_account_here_is_refused(browser, sso, store):  # noqa: F811
    from audit.store import trail

    base, idp = sso
    errors: list[str] = []
    page = open_page(browser, errors)
    sign_in_at_the_provider(page, base, idp, "stranger")
    page.wait_for_url(f"{base}/login/oidc/callback?*")
    assert "There is no account here for stranger. Ask an administrator to add one." in page.content()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sso-real-provider-refused.png"))
    assert errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    assert page.goto(f"{base}/alerts").url.startswith(f"{base}/login")  # not signed in
    [refused] = trail.events(store, action="auth.sso_refused")
    assert (refused["details"]["reason"], refused["details"]["username"]) == ("unknown account", "stranger")
    assert refused["details"]["issuer"] == idp.issuer
    assert trail.events(store, action="auth.login") == []


def test_userinfo_must_be_about_the_id_tokens_subject(monkeypatch):
    """The UserInfo answer the user name may come from is refused when its sub is not the ID
    token's, and an insecure userinfo_endpoint in discovery is refused (no Node.js needed)."""
    import httpx

    from audit.settings import OidcSection
    from audit.web.oidc import OidcClient, OidcError

    monkeypatch.setenv(SECRET_ENV, SECRET)
    issuer = "https://idp.example"
    discovery = {"issuer": issuer, "authorization_endpoint": f"{issuer}/auth", "token_endpoint": f"{issuer}/token",
                 "jwks_uri": f"{issuer}/jwks", "userinfo_endpoint": f"{issuer}/me"}
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=discovery)
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"sub": "someone-else", "preferred_username": "rob"})

    cfg = OidcSection(issuer=issuer, client_id=CLIENT_ID, client_secret="${%s}" % SECRET_ENV)
    client = OidcClient(cfg, http=httpx.Client(transport=httpx.MockTransport(answer)))
    with pytest.raises(OidcError) as refused:
        client._userinfo("the-access-token", "sub-rob")
    assert (refused.value.reason, refused.value.status, seen) == (
        "userinfo sub differs from the id token's", 403, ["Bearer the-access-token"])

    discovery["userinfo_endpoint"] = "http://idp.example/me"
    with pytest.raises(OidcError, match="insecure userinfo_endpoint"):
        OidcClient(cfg, http=httpx.Client(transport=httpx.MockTransport(answer))).provider()

"""OpenID Connect single sign-on against the in-process mock provider (mock_idp.py): the happy path
for both client authentication methods and both signature algorithms, every way an ID token or a
callback can be wrong, accounts that are unknown, disabled or SSO-only, provider errors, the rate
limit, settings validation and the `users add --sso` command."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from mock_idp import CLIENT_ID, ISSUER, SECRET, SECRET_ENV, MockIdP, attach, oidc_config, rsa_key
from webtest import login_csrf_of, settings_for, write_outputs
from audit.store import trail
from audit.web import users
from audit.web.oidc import FLOW_COOKIE, OidcClient


@pytest.fixture
def sso_app(store, tmp_path, monkeypatch):
    from audit.web import create_app

    monkeypatch.setenv(SECRET_ENV, SECRET)
    write_outputs(tmp_path / "out")
    return create_app(settings_for(tmp_path / "out", oidc=oidc_config()), store)


@pytest.fixture
def idp(sso_app):
    provider = MockIdP()
    provider.http = attach(sso_app, provider)
    yield provider
    provider.http.close()


@pytest.fixture
def browser(sso_app):
    with TestClient(sso_app, follow_redirects=False) as client:
        yield client


def start(browser, idp, query: str = "") -> str:
    """Begin a sign-in and let the provider sign in idp.user: the callback URL it sends back."""
    r = browser.get("/login/oidc" + query)
    assert r.status_code == 303, r.text[:300]
    assert r.headers["location"].startswith(f"{ISSUER}/authorize?")
    at_provider = idp.http.get(r.headers["location"])
    assert at_provider.status_code == 302
    return at_provider.headers["location"]


def refusals(store) -> list[dict]:
    return [e["details"] for e in trail.events(store, action="auth.sso_refused")]


def assert_not_signed_in(browser, store):
    assert browser.get("/alerts").headers.get("location", "").startswith("/login")
    assert trail.events(store, action="auth.login") == []


@pytest.mark.parametrize("method,alg", [("client_secret_basic", "RS256"), ("client_secret_post", "ES256")])
def test_sso_signs_in_the_local_account_with_a_session_and_an_audit_event(browser, idp, store, method, alg):
    idp.auth_method, idp.alg = method, alg
    start_response = browser.get("/login/oidc?next=/alerts/55")
    flow_cookie = start_response.headers["set-cookie"]
    assert f"{FLOW_COOKIE}=" in flow_cookie and "HttpOnly" in flow_cookie and "Path=/login/oidc" in flow_cookie
    assert "samesite=lax" in flow_cookie.lower()  # Strict would not come back on the provider's redirect
    sent = parse_qs(urlsplit(start_response.headers["location"]).query)
    assert sent["code_challenge_method"] == ["S256"] and sent["redirect_uri"] == ["http://testserver/login/oidc/callback"]
    callback = idp.http.get(start_response.headers["location"]).headers["location"]

    r = browser.get(callback)
    assert r.status_code == 200 and "signed in as <strong>rob</strong>" in r.text
    assert r.headers["refresh"] == "0; url=/alerts/55"  # a same-site refresh, so the Strict cookie is sent
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("ia_session="))
    assert "HttpOnly" in session and "samesite=strict" in session.lower()
    assert any(c.startswith(f'{FLOW_COOKIE}=""') or "Max-Age=0" in c for c in cookies if FLOW_COOKIE in c)
    page = browser.get("/alerts/55")
    assert page.status_code == 200 and "rob" in page.text
    [login] = trail.events(store, action="auth.login", obj="user:rob")
    assert login["actor"] == "rob" and login["details"]["method"] == "oidc" and login["details"]["issuer"] == ISSUER
    [token_request] = idp.token_requests
    assert token_request["code_verifier"] and token_request["grant_type"] == "authorization_code"
    assert ("client_secret" in token_request) == (method == "client_secret_post")
    assert refusals(store) == []


def _other_key_same_kid(idp):
    from joserfc.jwk import RSAKey

    idp.sign_with = RSAKey.generate_key(2048, parameters={"kid": rsa_key().kid})


def _hs256_with_public_key(idp):
    public_pem = rsa_key().as_pem(private=False)
    idp.make_token = lambda nonce: idp.handmade_token(nonce, "HS256", public_pem)


BAD_TOKENS = {
    "wrong nonce": (lambda idp: idp.claims.update(nonce="someone-elses-nonce"), "nonce"),
    "wrong audience": (lambda idp: idp.claims.update(aud="another-client"), "aud"),
    "two audiences, no azp": (lambda idp: idp.claims.update(aud=[CLIENT_ID, "another-client"]), "azp"),
    "wrong issuer": (lambda idp: idp.claims.update(iss="https://evil.example"), "iss"),
    "expired": (lambda idp: idp.claims.update(exp=1_700_000_000, iat=1_699_999_000), "ExpiredTokenError"),
    "no nonce": (lambda idp: idp.claims.update(nonce=None), "nonce"),
    "bad signature": (_other_key_same_kid, "BadSignatureError"),
    "alg none": (lambda idp: setattr(idp, "make_token", lambda n: idp.handmade_token(n, "none")),
                 "Algorithm of 'none' is not allowed"),
    "HS256 keyed with the public key": (_hs256_with_public_key, "Algorithm of 'HS256' is not allowed"),
    "unknown key id": (lambda idp: idp.header.update(kid="not-in-jwks"), "InvalidKeyIdError"),
    "garbage": (lambda idp: setattr(idp, "make_token", lambda n: "not.a.token"), "DecodeError"),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_an_id_token_that_does_not_verify_is_refused(browser, idp, store, case):
    spoil, reason = BAD_TOKENS[case]
    spoil(idp)
    r = browser.get(start(browser, idp))
    assert r.status_code == 403 and "could not be verified" in r.text
    assert "Traceback" not in r.text and "Error" not in r.text  # a plain message, no exception names
    [refused] = refusals(store)
    assert reason in refused["reason"] and refused["method"] == "oidc" and "username" not in refused
    assert_not_signed_in(browser, store)


def test_a_state_that_does_not_match_or_a_forged_flow_cookie_is_refused(browser, idp, store):
    callback = start(browser, idp)
    r = browser.get(callback.replace("state=", "state=x"))
    assert r.status_code == 400 and "did not come back as it was sent" in r.text
    callback = start(browser, idp)
    body, mac = browser.cookies[FLOW_COOKIE].split(".")
    flow = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**flow, "next": "/admin/users"}).encode()).decode().rstrip("=")
    browser.cookies.set(FLOW_COOKIE, f"{forged}.{mac}", path="/login/oidc")
    assert browser.get(callback).status_code == 400
    assert [d["reason"] for d in refusals(store)] == ["no valid flow cookie", "state mismatch"]
    assert idp.token_requests == []  # neither reached the provider's token endpoint
    assert_not_signed_in(browser, store)


def test_a_flow_cookie_must_be_untouched_and_unexpired():
    from audit.web.oidc import FLOW_SECONDS, Flow, seal, unseal

    key, now = b"k" * 32, 1_800_000_000
    flow = Flow.start("/alerts", now)
    sealed = seal(flow, key)
    assert unseal(sealed, key, now + FLOW_SECONDS - 1) == flow
    assert unseal(sealed, key, now + FLOW_SECONDS) is None  # expired
    assert unseal(sealed, b"another key" * 3, now) is None
    assert unseal(sealed[:-2] + "é" + sealed[-1], key, now) is None  # non-ASCII: refused, not a crash
    assert all(unseal(v, key, now) is None for v in (None, "", "a.b.c", "nodot", "x" * 3000))


def test_a_non_ascii_state_is_refused_not_a_crash(browser, idp, store):
    callback = start(browser, idp)
    r = browser.get(callback.split("state=")[0] + "state=%C3%A9t%C3%A9")
    assert r.status_code == 400 and refusals(store)[0]["reason"] == "state mismatch"


def test_a_used_callback_cannot_be_replayed_with_or_without_its_cookie(browser, idp, store, sso_app):
    start(browser, idp)  # a first flow, so the cookie below is the second one's
    callback = start(browser, idp)
    flow_cookie = browser.cookies[FLOW_COOKIE]
    assert browser.get(callback).status_code == 200
    assert browser.get(callback).status_code == 400  # the flow cookie was cleared
    with TestClient(sso_app, follow_redirects=False) as thief:
        thief.cookies.set(FLOW_COOKIE, flow_cookie, path="/login/oidc")
        r = thief.get(callback)
        assert r.status_code == 400 and "already been used" in r.text
        assert thief.get("/alerts").headers["location"].startswith("/login")
    assert [d["reason"] for d in refusals(store)] == ["flow used twice", "no valid flow cookie"]
    assert len(idp.token_requests) == 1 and len(trail.events(store, action="auth.login")) == 1


@pytest.mark.db
def test_on_postgresql_two_concurrent_uses_of_one_callback_sign_in_once(pg_store, tmp_path, monkeypatch):
    import threading

    from audit.web import create_app

    monkeypatch.setenv(SECRET_ENV, SECRET)
    web = create_app(settings_for(tmp_path / "out", oidc=oidc_config()), pg_store)
    idp = MockIdP()
    idp.http = attach(web, idp)
    with TestClient(web, follow_redirects=False) as first, TestClient(web, follow_redirects=False) as second:
        callback = start(first, idp)
        second.cookies.set(FLOW_COOKIE, first.cookies[FLOW_COOKIE], path="/login/oidc")
        together, statuses = threading.Barrier(2), []

        def use(client):
            together.wait()
            statuses.append(client.get(callback).status_code)

        threads = [threading.Thread(target=use, args=(c,)) for c in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    idp.http.close()
    assert sorted(statuses) == [200, 400]
    assert [d["reason"] for d in refusals(pg_store)] == ["flow used twice"]
    assert len(idp.token_requests) == 1 and len(trail.events(pg_store, action="auth.login")) == 1
    assert trail.verify(pg_store) is None


def test_an_unknown_account_is_refused_with_a_clear_page_and_an_audit_event(browser, idp, store):
    idp.user = "nobody"
    r = browser.get(start(browser, idp))
    assert r.status_code == 403 and "There is no account here for nobody" in r.text
    [refused] = refusals(store)
    assert (refused["reason"], refused["username"], refused["issuer"]) == ("unknown account", "nobody", ISSUER)
    assert_not_signed_in(browser, store)


def test_a_disabled_account_is_refused(browser, idp, store):
    users.set_active(store, "rob", False, actor="test")
    r = browser.get(start(browser, idp))
    assert r.status_code == 403 and "This account is disabled" in r.text
    assert [(d["reason"], d["username"]) for d in refusals(store)] == [("account disabled", "rob")]
    assert_not_signed_in(browser, store)


def test_an_error_from_the_provider_is_shown_as_a_plain_message(browser, idp, store):
    browser.get("/login/oidc")
    r = browser.get("/login/oidc/callback?" + urlencode({"error": "access_denied", "state": "whatever"}))
    assert r.status_code == 401 and "did not sign you in (access_denied)" in r.text
    assert [d["reason"] for d in refusals(store)] == ["provider error: access_denied"]
    assert idp.token_requests == []
    assert_not_signed_in(browser, store)


def test_refused_single_sign_ins_are_rate_limited_per_address(browser, idp, store):
    for _ in range(5):
        assert browser.get("/login/oidc/callback?error=access_denied").status_code == 401
    r = browser.get("/login/oidc")
    assert r.status_code == 429 and "Too many refused single sign-ins" in r.text
    assert browser.get("/login/oidc/callback?code=x&state=y").status_code == 429
    assert refusals(store)[0]["reason"] == "too many refused single sign-ins"


def test_an_account_locked_for_passwords_at_this_address_is_locked_for_sso_too(browser, idp, store):
    for _ in range(5):
        page = browser.get("/login")
        browser.post("/login", data={"csrf": login_csrf_of(page.text), "username": "rob", "password": "wrong password!"})
    r = browser.get(start(browser, idp))
    assert r.status_code == 429 and refusals(store)[0]["reason"] == "account locked at this address"
    assert_not_signed_in(browser, store)


def test_an_sso_only_account_has_no_password_but_signs_in_by_sso(browser, idp, store):
    users.add_user(store, "sam", "ccu", None, actor="test", sso_only=True)
    assert users.get_user(store, "sam").sso_only
    assert users.authenticate(store, "sam", users.SSO_ONLY) is None
    assert users.authenticate(store, "sam", "") is None
    page = browser.get("/login")
    r = browser.post("/login", data={"csrf": login_csrf_of(page.text), "username": "sam", "password": users.SSO_ONLY})
    assert r.status_code == 401
    idp.user = "sam"
    assert browser.get(start(browser, idp)).status_code == 200
    assert browser.get("/alerts").status_code == 200
    with pytest.raises(users.UserError, match="no password"):
        users.add_user(store, "sue", "ccu", "a long enough password", actor="test", sso_only=True)


def test_the_username_claim_is_configurable_and_may_be_an_email_address(browser, idp, sso_app, store):
    sso_app.state.settings.web.oidc.username_claim = "email"
    users.add_user(store, "jo.smith@force.example", "reviewer", None, actor="test", sso_only=True)
    idp.claims = {"email": "jo.smith@force.example"}  # preferred_username is still "rob"
    r = browser.get(start(browser, idp))
    assert r.status_code == 200 and "jo.smith@force.example" in r.text
    assert trail.events(store, action="auth.login")[0]["actor"] == "jo.smith@force.example"


def test_next_is_kept_only_when_it_is_a_same_site_path(browser, idp):
    r = browser.get(start(browser, idp, "?next=//evil.example/x"))
    assert r.headers["refresh"] == "0; url=/alerts"


def test_login_page_offers_sso_only_when_configured_and_the_routes_404_otherwise(client_for, browser):
    anonymous = client_for()
    assert "/login/oidc" not in anonymous.get("/login").text
    assert anonymous.get("/login/oidc").status_code == 404
    assert anonymous.get("/login/oidc/callback?code=x&state=y").status_code == 404
    page = browser.get("/login?next=/runs").text
    assert '<a href="/login/oidc?next=%2Fruns">Sign in with Force account</a>' in page
    login_csrf_of(page)  # the password form is still there


def test_a_provider_that_cannot_be_reached_gives_a_plain_message(browser, sso_app, store):
    def down(request):
        raise httpx.ConnectError("connection refused")

    sso_app.state.oidc = OidcClient(sso_app.state.settings.web.oidc, http=httpx.Client(transport=httpx.MockTransport(down)))
    r = browser.get("/login/oidc")
    assert r.status_code == 502 and "could not be reached" in r.text and "ConnectError" not in r.text


def test_a_discovery_document_for_another_issuer_is_refused(browser, idp, caplog):
    idp.advertised_issuer = ISSUER + "/"
    r = browser.get("/login/oidc")
    assert r.status_code == 502 and "not set up correctly" in r.text
    assert "set [web.oidc] issuer to exactly that" in caplog.text  # the administrator is told what to fix


def test_an_unset_client_secret_is_a_plain_message(browser, idp, monkeypatch):
    monkeypatch.delenv(SECRET_ENV)
    r = browser.get("/login/oidc")
    assert r.status_code == 502 and "not set up correctly" in r.text and SECRET_ENV not in r.text


# -- settings and the command line ---------------------------------------------------------------

def _load(tmp_path, table: str):
    from audit.settings import load

    cfg = tmp_path / "config.toml"
    cfg.write_text("[web.oidc]\n" + table)
    return load(cfg)


def test_settings_refuse_a_literal_client_secret_and_insecure_urls(tmp_path):
    from audit.settings import SettingsError

    good = f'issuer = "{ISSUER}"\nclient_id = "ia"\nclient_secret = "${{{SECRET_ENV}}}"\n'
    oidc = _load(tmp_path, good).web.oidc
    assert (oidc.username_claim, oidc.scopes, oidc.redirect_url) == ("preferred_username", "openid profile email", None)
    with pytest.raises(SettingsError, match="client_secret must be an environment reference"):
        _load(tmp_path, good.replace(f"${{{SECRET_ENV}}}", "hunter2-literal"))
    with pytest.raises(SettingsError, match="issuer must be an https URL"):
        _load(tmp_path, good.replace(ISSUER, "http://idp.example"))
    with pytest.raises(SettingsError, match="redirect_url must be an https URL"):
        _load(tmp_path, good + 'redirect_url = "http://audit.example/login/oidc/callback"\n')
    with pytest.raises(SettingsError, match="scopes must include openid"):
        _load(tmp_path, good + 'scopes = "profile email"\n')
    with pytest.raises(SettingsError, match="unknown key"):
        _load(tmp_path, good + 'client_secrets = "x"\n')
    assert _load(tmp_path, good.replace(ISSUER, "http://127.0.0.1:9000/realms/t")).web.oidc  # a local test provider


def test_an_incomplete_oidc_table_is_refused(tmp_path):
    from audit.settings import SettingsError, load

    with pytest.raises(SettingsError, match="client_id"):
        _load(tmp_path, f'issuer = "{ISSUER}"\nclient_secret = "${{X}}"\n')
    with pytest.raises(SettingsError, match="issuer"):
        _load(tmp_path, "")  # an empty table is a mistake, not "SSO off"
    assert load().web.oidc is None  # the embedded config.toml: SSO off


def test_users_add_sso_from_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from audit.cli import app
    from audit.store import open_store

    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n')
    run = CliRunner().invoke
    r = run(app, ["users", "add", "sam", "--role", "reviewer", "--sso", "-c", str(cfg)])
    assert r.exit_code == 0 and "single sign-on only" in r.output, r.output
    r = run(app, ["users", "add", "kim", "--role", "ccu", "--sso", "--password-stdin", "-c", str(cfg)],
            input="a long enough password\n")
    assert r.exit_code == 2 and "no password" in r.output
    assert "sso only" in run(app, ["users", "list", "-c", str(cfg)]).output
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    assert users.get_user(store, "sam").sso_only and users.get_user(store, "kim") is None
    assert trail.events(store, obj="user:sam")[0]["details"]["sso_only"] is True
    store.dispose()


def test_the_admin_page_adds_an_sso_only_account_that_can_then_sign_in(sso_app, idp, store):
    from webtest import login

    with TestClient(sso_app, follow_redirects=False) as admin:
        csrf = login(admin, "adam")
        page = admin.get("/admin/users")
        assert 'value="sso"' in page.text
        r = admin.post("/admin/users", data={"csrf": csrf, "name": "sam.sso", "role": "reviewer", "sign_in": "sso",
                                             "password": "", "password2": ""})
        assert r.status_code == 303 and r.headers["location"] == "/admin/users?notice=user_added&user=sam.sso"
        assert "User sam.sso added as reviewer (single sign-on only)." in admin.get(r.headers["location"]).text
    sam = next(u for u in users.list_users(store) if u.name == "sam.sso")
    assert sam.sso_only and sam.role == "reviewer"
    assert users.authenticate(store, "sam.sso", "") is None  # no password sign-in, ever
    idp.user = "sam.sso"
    with TestClient(sso_app, follow_redirects=False) as browser:
        r = browser.get(start(browser, idp))
        assert r.status_code == 200 and browser.get("/alerts").status_code == 200


def test_without_sso_configured_the_admin_page_only_adds_password_accounts(client_for, store):
    admin = client_for("adam")
    assert 'value="sso"' not in admin.get("/admin/users").text
    r = admin.post("/admin/users", data={"csrf": admin.csrf, "name": "sam", "role": "reviewer", "sign_in": "sso"})
    assert r.status_code == 400 and "not configured" in r.text
    assert "sam" not in {u.name for u in users.list_users(store)}

"""Browser-facing security: CSRF on every POST, inert hostile text, headers, error pages without
traces, cookie flags, login rate limit, session expiry and ending, no open redirect."""
from __future__ import annotations

from datetime import timedelta

from starlette.routing import Route

import seed
from webtest import login_csrf_of, settings_for
from audit.store import trail
from audit.store.queries import alert_view


def post_routes(app):
    return sorted({r.path for r in app.routes if isinstance(r, Route) and "POST" in r.methods})


def test_posts_without_or_with_a_wrong_csrf_token_are_refused_and_logged(app, client_for, store):
    from test_route_matrix import concrete

    ccu, admin = client_for("cara"), client_for("adam")
    before = len(trail.events(store, action="web.denied", limit=1000))
    paths = post_routes(app)
    assert len(paths) >= 9
    for path in paths:
        client = admin if path.startswith("/admin") else ccu
        for token in (None, "forged-" + client.csrf[:10]):
            data = {"status": "no_further_action", "note": "n", "username": "cara", "password": seed.PASSWORD}
            if token:
                data["csrf"] = token
            r = client.post(concrete(path), data=data)
            assert r.status_code == 403, (path, token, r.status_code)
    assert len(trail.events(store, action="web.denied", limit=1000)) - before == 2 * len(paths)
    a = alert_view(store, 55)
    assert (a.status, a.history, a.assignee) == ("new", [], None)  # nothing was changed
    assert ccu.get("/alerts").status_code == 200  # and the session still works


def test_hostile_register_text_is_shown_inert(client_for):
    ccu = client_for("cara")
    for url in ("/alerts/1", "/alerts?sort=id", "/people/P0"):
        html = ccu.get(url).text
        assert seed.HOSTILE not in html and "<script>window" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html, url
    assert "<script" not in ccu.get("/alerts/1").text  # not even our own: no scripts at all


def test_security_headers_on_pages_errors_and_static(client_for):
    ccu = client_for("cara")
    for url in ("/alerts", "/alerts/999999", "/static/app.css", "/login"):
        r = ccu.get(url)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff", url
        assert r.headers["referrer-policy"] == "same-origin", url
    assert ccu.get("/alerts").headers["cache-control"] == "no-store"


def test_a_server_error_shows_a_generic_page_and_logs_the_trace(client_for, monkeypatch, caplog):
    from audit.web import queue

    def boom(*a, **k):
        raise RuntimeError("secret-internal-detail-4711")

    client = client_for("cara")
    monkeypatch.setattr(queue, "search", boom)
    r = client.get("/alerts")
    assert r.status_code == 500
    assert "secret-internal-detail" not in r.text and "Traceback" not in r.text
    assert "Something went wrong" in r.text and r.headers["x-frame-options"] == "DENY"
    assert any("secret-internal-detail-4711" in str(rec.exc_info) for rec in caplog.records)


def test_session_cookie_flags_loopback_and_beyond(store, tmp_path):
    from starlette.testclient import TestClient

    from audit.web import create_app

    for host, secure in (("127.0.0.1", False), ("0.0.0.0", True)):
        app = create_app(settings_for(tmp_path, host=host, session_minutes=7), store)
        base = "https://testserver" if secure else "http://testserver"  # Secure cookies need https
        with TestClient(app, follow_redirects=False, base_url=base) as c:
            token = login_csrf_of(c.get("/login").text)
            r = c.post("/login", data={"csrf": token, "username": "rob", "password": seed.PASSWORD})
            cookie = r.headers["set-cookie"].split(", ia_login_csrf")[0].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=420" in cookie
            assert ("secure" in cookie) is secure, host


def _attempt(client, name, password):
    token = login_csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "username": name, "password": password})


def test_login_is_rate_limited_per_user_and_address(client_for, store):
    c = client_for(None)
    for _ in range(5):
        assert _attempt(c, "rob", "wrong password!").status_code == 401
    r = _attempt(c, "rob", seed.PASSWORD)
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert _attempt(c, "rita", seed.PASSWORD).status_code == 303  # another account is not locked
    assert len(trail.events(store, action="auth.login_failed")) == 5
    assert trail.events(store, action="auth.login_locked")[0]["object"] == "login:rob@testclient"
    later = store.now() + timedelta(minutes=16)
    store.clock = lambda: later
    assert _attempt(c, "rob", seed.PASSWORD).status_code == 303


def test_sessions_expire_end_on_logout_and_on_disable(client_for, store, app):
    from audit.web import users

    c = client_for("rob")
    assert c.get("/alerts").status_code == 200
    later = store.now() + timedelta(minutes=31)
    store.clock = lambda: later
    assert c.get("/alerts").headers["location"].startswith("/login")
    store.clock = lambda: later - timedelta(minutes=31)
    c2 = client_for("rob")
    users.set_active(store, "rob", False, actor="test")
    assert c2.get("/alerts").status_code == 303
    c3 = client_for("rita")
    assert c3.post("/logout", data={"csrf": c3.csrf}).status_code == 303
    assert c3.get("/alerts").status_code == 303
    assert _attempt(client_for(None), "rob", seed.PASSWORD).status_code == 401  # disabled


def test_login_never_redirects_off_site(client_for):
    c = client_for(None)
    for target, expected in (("//evil.example/x", "/alerts"), ("https://evil.example", "/alerts"),
                             ("/alerts/55", "/alerts/55")):
        token = login_csrf_of(c.get("/login").text)
        r = c.post("/login", data={"csrf": token, "username": "rob", "password": seed.PASSWORD, "next": target})
        assert r.headers["location"] == expected, target


def test_rule_names_wrap_after_underscores_and_stay_escaped():
    from audit.web.render import breakable

    assert str(breakable("gift_from_supplier")) == "gift_<wbr>from_<wbr>supplier"
    assert str(breakable("<b>x_y</b>")) == "&lt;b&gt;x_<wbr>y&lt;/b&gt;"
